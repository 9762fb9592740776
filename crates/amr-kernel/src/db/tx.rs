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
}

impl Tx {
    pub(crate) fn new(inner: TxInner) -> Tx {
        Tx {
            inner,
            last_event: None,
        }
    }

    /// Commits, then wakes the event followers of this process if events were written.
    pub async fn commit(self) -> Result<(), AppError> {
        match self.inner {
            TxInner::Sqlite(t) => t.commit().await?,
            TxInner::Postgres(t) => t.commit().await?,
        }
        if let Some(tp) = self.last_event {
            crate::events::announce(tp);
        }
        Ok(())
    }

    pub async fn rollback(self) -> Result<(), AppError> {
        match self.inner {
            TxInner::Sqlite(t) => t.rollback().await?,
            TxInner::Postgres(t) => t.rollback().await?,
        }
        Ok(())
    }
}
