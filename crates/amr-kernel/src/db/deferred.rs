//! Rows a transaction writes late, all of a table in few statements.
//!
//! A transaction that turned deferral on ([`Tx::defer_appends`](super::Tx::defer_appends))
//! keeps two kinds of rows in memory rather than sending one statement a row:
//!
//! - **append-only rows** ([`AppendTable`], [`Tx::append`](super::Tx::append)): rows that
//!   nothing in the transaction reads back and whose generated id nobody needs (events,
//!   audit entries, matter timeline entries and clocks, a context's notices, ...);
//! - **additive counters** ([`CounterTable`], [`Tx::add_counts`](super::Tx::add_counts)):
//!   `INSERT ... ON CONFLICT (key) DO UPDATE SET n = n + excluded.n` rows, summed per key in
//!   memory first.
//!
//! They are written as multi-row `INSERT`s (SQLite: anonymous `?` parameters, which sqlx
//! binds in one pass; PostgreSQL: `$n`) when the transaction commits, when a savepoint is
//! opened or released, and whenever a statement is about to read (or write with a returned
//! id) one of those tables: the kernel's readers call
//! [`Tx::flush_appends`](super::Tx::flush_appends) first. Without deferral the same calls
//! write their row at once, one statement each, as before.
//!
//! Tables are written in the order they were first used, each table's rows in the order
//! they were given, so generated ids come out in the same order as when each row was
//! written at once.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};

use super::TxInner;
use crate::error::AppError;

/// One value of a deferred row, typed as it is bound.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Cell {
    I64(Option<i64>),
    I32(Option<i32>),
    Text(Option<String>),
    Bool(bool),
    Time(Option<DateTime<Utc>>),
    Date(Option<NaiveDate>),
}

impl From<i64> for Cell {
    fn from(v: i64) -> Cell {
        Cell::I64(Some(v))
    }
}

impl From<Option<i64>> for Cell {
    fn from(v: Option<i64>) -> Cell {
        Cell::I64(v)
    }
}

impl From<i32> for Cell {
    fn from(v: i32) -> Cell {
        Cell::I32(Some(v))
    }
}

impl From<Option<i32>> for Cell {
    fn from(v: Option<i32>) -> Cell {
        Cell::I32(v)
    }
}

impl From<&str> for Cell {
    fn from(v: &str) -> Cell {
        Cell::Text(Some(v.to_string()))
    }
}

impl From<String> for Cell {
    fn from(v: String) -> Cell {
        Cell::Text(Some(v))
    }
}

impl From<Option<&str>> for Cell {
    fn from(v: Option<&str>) -> Cell {
        Cell::Text(v.map(str::to_string))
    }
}

impl From<Option<String>> for Cell {
    fn from(v: Option<String>) -> Cell {
        Cell::Text(v)
    }
}

impl From<bool> for Cell {
    fn from(v: bool) -> Cell {
        Cell::Bool(v)
    }
}

impl From<DateTime<Utc>> for Cell {
    fn from(v: DateTime<Utc>) -> Cell {
        Cell::Time(Some(v))
    }
}

impl From<Option<DateTime<Utc>>> for Cell {
    fn from(v: Option<DateTime<Utc>>) -> Cell {
        Cell::Time(v)
    }
}

impl From<NaiveDate> for Cell {
    fn from(v: NaiveDate) -> Cell {
        Cell::Date(Some(v))
    }
}

impl From<Option<NaiveDate>> for Cell {
    fn from(v: Option<NaiveDate>) -> Cell {
        Cell::Date(v)
    }
}

/// A table that takes append-only rows ([`Tx::append`](super::Tx::append)): a row is one
/// [`Cell`] per column, in this order.
#[derive(Debug)]
pub struct AppendTable {
    pub name: &'static str,
    pub columns: &'static [&'static str],
}

/// A table of additive counters ([`Tx::add_counts`](super::Tx::add_counts)): `keys` are the
/// columns of its primary key (or of a unique index), `counts` the columns each row adds to.
#[derive(Debug)]
pub struct CounterTable {
    pub name: &'static str,
    pub keys: &'static [&'static str],
    pub counts: &'static [&'static str],
}

#[derive(Debug)]
enum Pending {
    Rows {
        table: &'static AppendTable,
        /// The rows, one after the other (`table.columns.len()` cells each).
        cells: Vec<Cell>,
    },
    Counts {
        table: &'static CounterTable,
        rows: Vec<(Vec<Cell>, Vec<i64>)>,
        index: HashMap<Vec<Cell>, usize>,
    },
}

/// The rows a [`Tx`](super::Tx) holds back (see the module notes).
#[derive(Debug, Default)]
pub(crate) struct Deferred {
    pub(crate) on: bool,
    pending: Vec<Pending>,
}

/// The most rows one statement takes: SQLite binds at most 32,766 parameters, PostgreSQL
/// 65,535.
fn rows_per_statement(columns: usize) -> usize {
    (30_000 / columns.max(1)).clamp(1, 256)
}

impl Deferred {
    pub(crate) fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    pub(crate) fn clear(&mut self) {
        self.pending.clear();
    }

    pub(crate) fn push_row(&mut self, table: &'static AppendTable, row: Vec<Cell>) {
        for p in &mut self.pending {
            if let Pending::Rows { table: t, cells } = p
                && t.name == table.name
            {
                cells.extend(row);
                return;
            }
        }
        self.pending.push(Pending::Rows { table, cells: row });
    }

    pub(crate) fn add_counts(&mut self, table: &'static CounterTable, key: Vec<Cell>, add: &[i64]) {
        for p in &mut self.pending {
            if let Pending::Counts {
                table: t,
                rows,
                index,
            } = p
                && t.name == table.name
            {
                match index.get(&key) {
                    Some(&i) => {
                        for (sum, a) in rows[i].1.iter_mut().zip(add) {
                            *sum += a;
                        }
                    }
                    None => {
                        index.insert(key.clone(), rows.len());
                        rows.push((key, add.to_vec()));
                    }
                }
                return;
            }
        }
        let mut index = HashMap::new();
        index.insert(key.clone(), 0);
        self.pending.push(Pending::Counts {
            table,
            rows: vec![(key, add.to_vec())],
            index,
        });
    }

    /// The rows held, to be written (the buffer is left empty).
    pub(crate) fn take(&mut self) -> Vec<PendingWrite> {
        std::mem::take(&mut self.pending)
            .into_iter()
            .map(PendingWrite)
            .collect()
    }
}

/// Rows of one table on their way to the database.
#[derive(Debug)]
pub(crate) struct PendingWrite(Pending);

/// `(?, ?), (?, ?)` (SQLite) or `($1, $2), ($3, $4)` (PostgreSQL).
fn values(inner: &TxInner, rows: usize, columns: usize) -> String {
    let numbered = matches!(inner, TxInner::Postgres(_));
    let mut s = String::with_capacity(rows * (columns * 5 + 4));
    let mut n = 0;
    for r in 0..rows {
        if r > 0 {
            s.push_str(", ");
        }
        s.push('(');
        for c in 0..columns {
            if c > 0 {
                s.push_str(", ");
            }
            n += 1;
            if numbered {
                s.push('$');
                s.push_str(&n.to_string());
            } else {
                s.push('?');
            }
        }
        s.push(')');
    }
    s
}

fn insert_sql(inner: &TxInner, table: &AppendTable, rows: usize) -> String {
    format!(
        "INSERT INTO {} ({}) VALUES {}",
        table.name,
        table.columns.join(", "),
        values(inner, rows, table.columns.len())
    )
}

fn upsert_sql(inner: &TxInner, table: &CounterTable, rows: usize) -> String {
    let sets: Vec<String> = table
        .counts
        .iter()
        .map(|c| format!("{c} = {}.{c} + excluded.{c}", table.name))
        .collect();
    format!(
        "INSERT INTO {} ({}, {}) VALUES {} ON CONFLICT ({}) DO UPDATE SET {}",
        table.name,
        table.keys.join(", "),
        table.counts.join(", "),
        values(inner, rows, table.keys.len() + table.counts.len()),
        table.keys.join(", "),
        sets.join(", ")
    )
}

macro_rules! bind_cell {
    ($q:expr, $cell:expr) => {
        match $cell {
            Cell::I64(v) => $q.bind(v),
            Cell::I32(v) => $q.bind(v),
            Cell::Text(v) => $q.bind(v),
            Cell::Bool(v) => $q.bind(v),
            Cell::Time(v) => $q.bind(v),
            Cell::Date(v) => $q.bind(v),
        }
    };
}

/// Runs `sql` with `cells` bound in order. A statement of one row is kept prepared (it
/// recurs); a multi-row one, whose shape depends on the batch, is not, so it does not push
/// the recurring statements out of the connection's cache.
async fn execute(
    inner: &mut TxInner,
    sql: String,
    cells: Vec<Cell>,
    rows: usize,
) -> Result<(), AppError> {
    let persistent = rows == 1;
    match inner {
        TxInner::Sqlite(t) => {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).persistent(persistent);
            for cell in cells {
                q = bind_cell!(q, cell);
            }
            q.execute(&mut **t).await?;
        }
        TxInner::Postgres(t) => {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).persistent(persistent);
            for cell in cells {
                q = bind_cell!(q, cell);
            }
            q.execute(&mut **t).await?;
        }
    }
    Ok(())
}

/// Writes one append-only row now.
pub(crate) async fn insert_now(
    inner: &mut TxInner,
    table: &'static AppendTable,
    row: Vec<Cell>,
) -> Result<(), AppError> {
    let sql = insert_sql(inner, table, 1);
    execute(inner, sql, row, 1).await
}

/// Writes one append-only row now and returns the `id` the table gave it.
pub(crate) async fn insert_returning_id(
    inner: &mut TxInner,
    table: &'static AppendTable,
    row: Vec<Cell>,
) -> Result<i64, AppError> {
    let sql = format!("{} RETURNING id", insert_sql(inner, table, 1));
    Ok(match inner {
        TxInner::Sqlite(t) => {
            let mut q = sqlx::query_scalar(sqlx::AssertSqlSafe(sql));
            for cell in row {
                q = bind_cell!(q, cell);
            }
            q.fetch_one(&mut **t).await?
        }
        TxInner::Postgres(t) => {
            let mut q = sqlx::query_scalar(sqlx::AssertSqlSafe(sql));
            for cell in row {
                q = bind_cell!(q, cell);
            }
            q.fetch_one(&mut **t).await?
        }
    })
}

/// Adds one row of counts now.
pub(crate) async fn add_now(
    inner: &mut TxInner,
    table: &'static CounterTable,
    key: Vec<Cell>,
    add: &[i64],
) -> Result<(), AppError> {
    let sql = upsert_sql(inner, table, 1);
    let mut cells = key;
    cells.extend(add.iter().map(|&n| Cell::I64(Some(n))));
    execute(inner, sql, cells, 1).await
}

/// Writes what was held: each table in the order it was first used, in statements of up to
/// [`rows_per_statement`] rows.
pub(crate) async fn write(inner: &mut TxInner, pending: Vec<PendingWrite>) -> Result<(), AppError> {
    for PendingWrite(p) in pending {
        match p {
            Pending::Rows { table, cells } => {
                let width = table.columns.len();
                let per = rows_per_statement(width);
                let mut left = cells.len() / width;
                let mut cells = cells.into_iter();
                while left > 0 {
                    let k = left.min(per);
                    let chunk: Vec<Cell> = cells.by_ref().take(k * width).collect();
                    let sql = insert_sql(inner, table, k);
                    execute(inner, sql, chunk, k).await?;
                    left -= k;
                }
            }
            Pending::Counts { table, rows, .. } => {
                let per = rows_per_statement(table.keys.len() + table.counts.len());
                for chunk in rows.chunks(per) {
                    let sql = upsert_sql(inner, table, chunk.len());
                    let mut cells =
                        Vec::with_capacity(chunk.len() * (table.keys.len() + table.counts.len()));
                    for (key, add) in chunk {
                        cells.extend(key.iter().cloned());
                        cells.extend(add.iter().map(|&n| Cell::I64(Some(n))));
                    }
                    execute(inner, sql, cells, chunk.len()).await?;
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    static T: AppendTable = AppendTable {
        name: "t",
        columns: &["a", "b"],
    };
    static C: CounterTable = CounterTable {
        name: "c",
        keys: &["k"],
        counts: &["n", "m"],
    };

    #[test]
    fn rows_of_a_table_stay_together_in_order_and_counts_add_up_per_key() {
        let mut d = Deferred::default();
        d.push_row(&T, vec![Cell::from(1i64), Cell::from("x")]);
        d.add_counts(&C, vec![Cell::from("p")], &[1, 0]);
        d.push_row(&T, vec![Cell::from(2i64), Cell::from("y")]);
        d.add_counts(&C, vec![Cell::from("q")], &[1, 5]);
        d.add_counts(&C, vec![Cell::from("p")], &[1, 2]);
        let w = d.take();
        assert!(d.is_empty());
        assert_eq!(w.len(), 2);
        match &w[0].0 {
            Pending::Rows { table, cells } => {
                assert_eq!(table.name, "t");
                assert_eq!(
                    cells,
                    &vec![
                        Cell::from(1i64),
                        Cell::from("x"),
                        Cell::from(2i64),
                        Cell::from("y")
                    ]
                );
            }
            other => panic!("{other:?}"),
        }
        match &w[1].0 {
            Pending::Counts { rows, .. } => assert_eq!(
                rows,
                &vec![
                    (vec![Cell::from("p")], vec![2, 2]),
                    (vec![Cell::from("q")], vec![1, 5])
                ]
            ),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn statements_stay_within_the_parameter_limits() {
        assert_eq!(rows_per_statement(8), 256);
        assert!(rows_per_statement(200) * 200 <= 30_000);
        assert_eq!(rows_per_statement(100_000), 1);
    }
}
