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
    /// The event counter once this transaction has taken it (its row is then this
    /// transaction's until the end): the last timepoint handed out, and the value the
    /// `event_seq` row holds in this transaction. The events after the first take their
    /// timepoints here, and [`Tx::commit`] stores the last one (one statement for a
    /// transaction's events rather than one an event).
    pub(crate) event_counter: Option<EventCounter>,
    /// SQLite: this process's write gate for the database file, held until the transaction
    /// ends (dropped after `inner`, so after its commit or rollback).
    pub(crate) gate: Option<tokio::sync::OwnedMutexGuard<()>>,
    /// How many savepoints are open (their names are `amr_sp1`, `amr_sp2`, ... by depth).
    savepoints: u32,
}

/// See [`Tx::event_counter`](Tx).
#[derive(Debug, Clone, Copy)]
pub(crate) struct EventCounter {
    pub(crate) handed: i64,
    pub(crate) stored: i64,
}

/// A savepoint inside a [`Tx`] (see [`Tx::savepoint`]): what was written after it can be
/// undone alone with [`Tx::rollback_to`], or kept with [`Tx::release`].
#[derive(Debug)]
#[must_use = "a savepoint is released or rolled back to"]
pub struct Savepoint {
    depth: u32,
    last_event: Option<i64>,
    event_counter: Option<EventCounter>,
}

impl Tx {
    pub(crate) fn new(inner: TxInner, gate: Option<tokio::sync::OwnedMutexGuard<()>>) -> Tx {
        Tx {
            inner,
            last_event: None,
            event_counter: None,
            gate,
            savepoints: 0,
        }
    }

    async fn execute(&mut self, sql: String) -> Result<(), AppError> {
        match &mut self.inner {
            TxInner::Sqlite(t) => {
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .execute(&mut **t)
                    .await?;
            }
            TxInner::Postgres(t) => {
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .execute(&mut **t)
                    .await?;
            }
        }
        Ok(())
    }

    /// Opens a savepoint (`SAVEPOINT`, the same on both backends). Everything written after it
    /// is undone by [`Tx::rollback_to`] and kept by [`Tx::release`]; either way the
    /// transaction goes on and commits or rolls back as a whole. Savepoints nest; each must be
    /// ended, innermost first. On PostgreSQL a failed statement spoils the transaction until
    /// the rollback to a savepoint, so a caller that wants to go on after an error in a part
    /// wraps the part in one.
    pub async fn savepoint(&mut self) -> Result<Savepoint, AppError> {
        let depth = self.savepoints + 1;
        self.execute(format!("SAVEPOINT amr_sp{depth}")).await?;
        self.savepoints = depth;
        Ok(Savepoint {
            depth,
            last_event: self.last_event,
            event_counter: self.event_counter,
        })
    }

    fn check_innermost(&self, sp: &Savepoint) -> Result<(), AppError> {
        if sp.depth != self.savepoints {
            return Err(AppError::Internal(anyhow::anyhow!(
                "savepoint {} ended while {} is the innermost",
                sp.depth,
                self.savepoints
            )));
        }
        Ok(())
    }

    /// Keeps what was written since `sp` (`RELEASE SAVEPOINT`).
    pub async fn release(&mut self, sp: Savepoint) -> Result<(), AppError> {
        self.check_innermost(&sp)?;
        self.execute(format!("RELEASE SAVEPOINT amr_sp{}", sp.depth))
            .await?;
        self.savepoints = sp.depth - 1;
        Ok(())
    }

    /// Undoes what was written since `sp` (rows, events: the event counter goes back too, so
    /// timepoints stay gapless) and ends the savepoint; the transaction goes on.
    pub async fn rollback_to(&mut self, sp: Savepoint) -> Result<(), AppError> {
        self.check_innermost(&sp)?;
        self.execute(format!("ROLLBACK TO SAVEPOINT amr_sp{}", sp.depth))
            .await?;
        self.execute(format!("RELEASE SAVEPOINT amr_sp{}", sp.depth))
            .await?;
        self.savepoints = sp.depth - 1;
        // The counter as it was at the savepoint: had the row been taken after it, the
        // rollback gave the row its value back and the next event takes it again.
        self.last_event = sp.last_event;
        self.event_counter = sp.event_counter;
        Ok(())
    }

    /// Commits (storing the event counter's last timepoint first, when more than one event
    /// took one), then wakes the event followers of this process if events were written.
    pub async fn commit(mut self) -> Result<(), AppError> {
        if let Some(c) = self.event_counter
            && c.handed > c.stored
        {
            crate::events::store_counter(&mut self, c.handed).await?;
        }
        let Tx {
            inner,
            last_event,
            gate,
            ..
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
