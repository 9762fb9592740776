//! A write transaction on either backend.

use sqlx::{Postgres, Sqlite, Transaction};

use super::deferred::{self, AppendTable, Cell, CounterTable, Deferred};
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
    /// The matter number sequences this transaction has taken, counted on in memory like
    /// the event counter (`matter::store::next_seq`); [`Tx::commit`] stores the last of each.
    pub(crate) sequences: Vec<SeqCounter>,
    /// Matters the engine created in this transaction with no clock (their first transition
    /// needs not look for one); a savepoint rolled back to forgets those created after it.
    pub(crate) fresh_matters: Vec<i64>,
    /// The rows held back when deferral is on ([`Tx::defer_appends`]).
    deferred: Deferred,
    /// Set when held rows could not be written: the depth of the savepoint level they
    /// belonged to. Only a rollback to a savepoint at or above it (or of the whole
    /// transaction) makes the transaction usable again; a commit is refused.
    poisoned: Option<u32>,
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

/// One matter number sequence (prefix and year) taken by a transaction: the last number
/// handed out and the value its `matter_sequences` row holds in the transaction.
#[derive(Debug, Clone)]
pub(crate) struct SeqCounter {
    pub(crate) prefix: String,
    pub(crate) year: i32,
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
    sequences: Vec<SeqCounter>,
    fresh_matters: usize,
}

impl Tx {
    pub(crate) fn new(inner: TxInner, gate: Option<tokio::sync::OwnedMutexGuard<()>>) -> Tx {
        Tx {
            inner,
            last_event: None,
            event_counter: None,
            sequences: Vec::new(),
            fresh_matters: Vec::new(),
            deferred: Deferred::default(),
            poisoned: None,
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

    /// From now on, holds back the append-only rows and counters written through
    /// [`Tx::append`] and [`Tx::add_counts`] (events, audit entries written with
    /// [`audit::append`](crate::audit::append), matter timeline entries and clocks, and
    /// those of the contexts that use them) and writes them, a table in few multi-row
    /// statements, when the transaction commits, when a savepoint is opened or released, or
    /// when [`Tx::flush_appends`] is called — which every reader of those tables inside a
    /// transaction calls first (the kernel's do). For a transaction that writes many such
    /// rows, e.g. the complaint intake's batch; see `db::deferred`.
    pub fn defer_appends(&mut self) {
        self.deferred.on = true;
    }

    /// Whether this transaction holds rows back ([`Tx::defer_appends`]).
    pub fn defers_appends(&self) -> bool {
        self.deferred.on
    }

    /// Appends a row to `table`: held back if this transaction defers ([`Tx::defer_appends`]),
    /// else written now. A row appended this way is read back in this transaction only after
    /// [`Tx::flush_appends`].
    pub async fn append(
        &mut self,
        table: &'static AppendTable,
        row: Vec<Cell>,
    ) -> Result<(), AppError> {
        check_width(table, &row)?;
        if self.deferred.on {
            self.deferred.push_row(table, row);
            Ok(())
        } else {
            deferred::insert_now(&mut self.inner, table, row).await
        }
    }

    /// Writes a row to `table` at once and returns the `id` it was given, for a caller that
    /// needs it (an audit entry's id, a message's timeline entry). The rows held back so far
    /// are written first, so ids keep the order the rows were made in.
    pub async fn insert_returning_id(
        &mut self,
        table: &'static AppendTable,
        row: Vec<Cell>,
    ) -> Result<i64, AppError> {
        check_width(table, &row)?;
        self.flush_appends().await?;
        deferred::insert_returning_id(&mut self.inner, table, row).await
    }

    /// Adds `add` to the counters of `key` in `table` (a new row if there is none): summed
    /// in memory per key if this transaction defers ([`Tx::defer_appends`]), else written
    /// now.
    pub async fn add_counts(
        &mut self,
        table: &'static CounterTable,
        key: Vec<Cell>,
        add: &[i64],
    ) -> Result<(), AppError> {
        if key.len() != table.keys.len() || add.len() != table.counts.len() {
            return Err(AppError::Internal(anyhow::anyhow!(
                "{}: counts of the wrong shape",
                table.name
            )));
        }
        if self.deferred.on {
            self.deferred.add_counts(table, key, add);
            Ok(())
        } else {
            deferred::add_now(&mut self.inner, table, key, add).await
        }
    }

    /// Writes the rows held back so far (nothing to do when none are). Called before a
    /// statement that reads a table with rows held back, or writes one a returned id is
    /// taken from (ids keep their order). Should the rows not be written, the transaction
    /// can only be rolled back: to the innermost savepoint (whose part the rows were), or
    /// whole.
    pub async fn flush_appends(&mut self) -> Result<(), AppError> {
        if let Some(depth) = self.poisoned {
            return Err(poisoned(depth));
        }
        if self.deferred.is_empty() {
            return Ok(());
        }
        let pending = self.deferred.take();
        let written = deferred::write(&mut self.inner, pending).await;
        if written.is_err() {
            self.poisoned = Some(self.savepoints);
        }
        written
    }

    /// Opens a savepoint (`SAVEPOINT`, the same on both backends). Everything written after it
    /// is undone by [`Tx::rollback_to`] and kept by [`Tx::release`]; either way the
    /// transaction goes on and commits or rolls back as a whole. Savepoints nest; each must be
    /// ended, innermost first. On PostgreSQL a failed statement spoils the transaction until
    /// the rollback to a savepoint, so a caller that wants to go on after an error in a part
    /// wraps the part in one. Rows held back ([`Tx::defer_appends`]) are written first, so
    /// the rows held inside a savepoint are always its own.
    pub async fn savepoint(&mut self) -> Result<Savepoint, AppError> {
        self.flush_appends().await?;
        let depth = self.savepoints + 1;
        self.execute(format!("SAVEPOINT amr_sp{depth}")).await?;
        self.savepoints = depth;
        Ok(Savepoint {
            depth,
            last_event: self.last_event,
            event_counter: self.event_counter,
            sequences: self.sequences.clone(),
            fresh_matters: self.fresh_matters.len(),
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

    /// Keeps what was written since `sp` (`RELEASE SAVEPOINT`), writing the rows held back
    /// since it first. Should they not be written, the transaction can only be rolled back
    /// whole (the savepoint stays open); a caller that wants such a failure to be the part's
    /// alone calls [`Tx::flush_appends`] before and [`Tx::rollback_to`] on its error.
    pub async fn release(&mut self, sp: Savepoint) -> Result<(), AppError> {
        self.check_innermost(&sp)?;
        self.flush_appends().await?;
        self.execute(format!("RELEASE SAVEPOINT amr_sp{}", sp.depth))
            .await?;
        self.savepoints = sp.depth - 1;
        Ok(())
    }

    /// Undoes what was written since `sp` (rows, events: the event counter goes back too, so
    /// timepoints stay gapless; matter numbers likewise; the rows held back since it are
    /// dropped) and ends the savepoint; the transaction goes on.
    pub async fn rollback_to(&mut self, sp: Savepoint) -> Result<(), AppError> {
        self.check_innermost(&sp)?;
        self.execute(format!("ROLLBACK TO SAVEPOINT amr_sp{}", sp.depth))
            .await?;
        self.execute(format!("RELEASE SAVEPOINT amr_sp{}", sp.depth))
            .await?;
        self.savepoints = sp.depth - 1;
        // Everything held back was written after the savepoint (opening it wrote what was
        // held before), so it all goes.
        self.deferred.clear();
        if self.poisoned.is_some_and(|p| p >= sp.depth) {
            self.poisoned = None;
        }
        // The counters as they were at the savepoint: had a row been taken after it, the
        // rollback gave the row its value back and the next use takes it again.
        self.last_event = sp.last_event;
        self.event_counter = sp.event_counter;
        self.sequences = sp.sequences;
        self.fresh_matters.truncate(sp.fresh_matters);
        Ok(())
    }

    /// Commits: writes the rows held back, stores the matter sequences and the event
    /// counter's last timepoint (when more than one number or event took one), commits, then
    /// wakes the event followers of this process if events were written.
    pub async fn commit(mut self) -> Result<(), AppError> {
        self.flush_appends().await?;
        crate::matter::store::store_sequences(&mut self).await?;
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

fn poisoned(depth: u32) -> AppError {
    AppError::Internal(anyhow::anyhow!(
        "rows held back by this transaction could not be written (savepoint level {depth}); \
         only a rollback can follow"
    ))
}

/// A row must have a value for every column of its table.
fn check_width(table: &AppendTable, row: &[Cell]) -> Result<(), AppError> {
    if row.len() != table.columns.len() {
        return Err(AppError::Internal(anyhow::anyhow!(
            "{}: a row of {} values for {} columns",
            table.name,
            row.len(),
            table.columns.len()
        )));
    }
    Ok(())
}
