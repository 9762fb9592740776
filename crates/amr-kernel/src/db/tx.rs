//! A write transaction on either backend.

use sqlx::{Postgres, Sqlite, Transaction};

use crate::error::AppError;

/// The backend-specific transaction inside a [`Tx`]; reach it through [`on_tx!`](crate::on_tx).
#[derive(Debug)]
pub enum TxInner {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

/// An open write transaction. Dropping it without [`Tx::commit`] rolls everything back, so an
/// early `?` return can never leave half a change behind.
#[derive(Debug)]
pub struct Tx {
    #[doc(hidden)]
    pub inner: TxInner,
    /// The highest event timepoint written in this transaction, announced after commit.
    pub(crate) last_event: Option<i64>,
    /// SQLite: this process's write gate for the database file, held until the transaction
    /// ends (dropped after `inner`, so after its commit or rollback).
    pub(crate) gate: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl Tx {
    pub(crate) fn new(inner: TxInner, gate: Option<tokio::sync::OwnedMutexGuard<()>>) -> Tx {
        Tx {
            inner,
            last_event: None,
            gate,
        }
    }

    /// Commits, then wakes the event followers of this process if events were written.
    pub async fn commit(self) -> Result<(), AppError> {
        let Tx {
            inner,
            last_event,
            gate,
        } = self;
        match inner {
            TxInner::Sqlite(t) => t.commit().await?,
            TxInner::Postgres(t) => t.commit().await?,
        }
        drop(gate);
        if let Some(tp) = last_event {
            crate::events::announce(tp);
        }
        Ok(())
    }

    pub async fn rollback(self) -> Result<(), AppError> {
        let Tx { inner, gate, .. } = self;
        match inner {
            TxInner::Sqlite(t) => t.rollback().await?,
            TxInner::Postgres(t) => t.rollback().await?,
        }
        drop(gate);
        Ok(())
    }
}
