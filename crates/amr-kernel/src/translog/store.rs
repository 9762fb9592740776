//! The log in the database: leaves, complete subtree hashes and signed checkpoints.
//!
//! - `translog_leaves`: one row a leaf (index, leaf hash, entry text, the timepoint of the
//!   event it came from, when it was appended).
//! - `translog_nodes`: the hash of every complete aligned subtree of level ≥ [`STORED_LEVEL`]
//!   (16 leaves and up), keyed by `level << 40 | index`, written once when its last leaf is
//!   appended: about one row for every 8 leaves. Smaller subtrees are computed from their
//!   leaf hashes (at most 15 a range), read in the same statement, so any tree head or proof
//!   of a tree of `n` leaves reads O(log n) rows in **one** statement, whatever `n` is. That
//!   statement also checks the tree size (it reads leaf `size - 1`: no `MAX(idx)`) and, for
//!   an inclusion proof, can bring the leaf's own row. On SQLite it reads the leaves as
//!   ranges and pads the node ids to a multiple of [`SQLITE_NODE_SLOTS`], so a few statement
//!   shapes stay prepared; on PostgreSQL it is one prepared statement over arrays.
//! - `translog_checkpoints`: every signed checkpoint, by tree size, kept.
//!
//! Rows are only ever inserted. One writer appends at a time (the follower's cursor lock).

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, SecondsFormat, SubsecRound, Utc};
use sqlx::{PgConnection, SqliteConnection};

use super::merkle::{self, Hash, Subtree};
use super::note::Checkpoint;
use crate::db::{Db, Tx, TxInner};
use crate::error::AppError;
use crate::signing::Keyring;
use crate::{on_conn, on_tx};

/// The lowest level kept in `translog_nodes` (2^4 = 16 leaves).
pub const STORED_LEVEL: u32 = 4;
/// Leaves inserted by one SQLite statement (5 values bound a leaf; SQLite allows 32,766).
const SQLITE_LEAF_CHUNK: usize = 1000;
/// Subtree hashes inserted by one SQLite statement (2 values bound a row).
const SQLITE_NODE_CHUNK: usize = 2000;
/// Rows inserted by one PostgreSQL statement (from arrays: 5 values bound a statement).
const PG_CHUNK: usize = 5000;

fn node_id(s: Subtree) -> i64 {
    ((s.level as i64) << 40) | s.index as i64
}

fn to_hash(bytes: &[u8], what: &str) -> Result<Hash, AppError> {
    bytes
        .try_into()
        .map_err(|_| AppError::Internal(anyhow::anyhow!("translog: {what} is not 32 bytes")))
}

/// A leaf as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leaf {
    pub index: u64,
    pub timepoint: i64,
    pub leaf_hash: Hash,
    /// The entry's bytes (canonical JSON, UTF-8).
    pub entry: String,
    pub appended_at: DateTime<Utc>,
}

/// A stored checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCheckpoint {
    pub size: u64,
    pub root: Hash,
    pub note: String,
    pub key_id: String,
    pub created_at: DateTime<Utc>,
}

/// Where reads go: the pool, or the transaction of an append.
enum Reader<'a> {
    Db(&'a Db),
    Tx(&'a mut Tx),
}

/// One row of a proof read: `(kind, key, hash, entry, timepoint, appended_at)`, kind
/// [`ROW_LEAF`] (key = leaf index), [`ROW_NODE`] (key = node id) or [`ROW_FULL`] (a whole leaf
/// row; the last three columns are set only for it).
type FetchRow = (
    i64,
    i64,
    Vec<u8>,
    Option<String>,
    Option<i64>,
    Option<DateTime<Utc>>,
);
const ROW_LEAF: i64 = 0;
const ROW_NODE: i64 = 1;
const ROW_FULL: i64 = 2;

/// Node ids bound by a SQLite read are padded to a multiple of this with `-1` (no node has a
/// negative id), so that a handful of statement shapes serve every proof and stay prepared in
/// the connection's statement cache.
const SQLITE_NODE_SLOTS: usize = 16;
/// Leaves needed by a SQLite read are read as ranges `idx >= ? AND idx < ?`; a leaf within
/// this distance of the previous range extends it (one B-tree seek and a few rows on the same
/// page rather than one seek a leaf).
const SQLITE_RANGE_GAP: u64 = 16;

/// What one read returned.
#[derive(Default)]
struct Fetched {
    leaves: HashMap<u64, Hash>,
    nodes: HashMap<i64, Hash>,
    row: Option<Leaf>,
}

/// The leaf ranges `[a, b)` that cover the sorted leaf indices `leaves` (see
/// [`SQLITE_RANGE_GAP`]).
fn leaf_ranges(leaves: &[u64]) -> Vec<(i64, i64)> {
    let mut out: Vec<(i64, i64)> = Vec::new();
    for &i in leaves {
        let i = i as i64;
        match out.last_mut() {
            Some((_, b)) if i < *b + SQLITE_RANGE_GAP as i64 => *b = (*b).max(i + 1),
            _ => out.push((i, i + 1)),
        }
    }
    out
}

/// The SQLite statement of a read: `ranges` leaf ranges, `slots` node ids, the whole row of
/// one leaf with `row`. Anonymous `?` parameters (see [`sqlite_insert`]).
fn sqlite_fetch_sql(ranges: usize, slots: usize, row: bool) -> String {
    let mut parts: Vec<String> = Vec::with_capacity(ranges + 2);
    for _ in 0..ranges {
        parts.push(format!(
            "SELECT {ROW_LEAF}, idx, leaf_hash, NULL, NULL, NULL FROM translog_leaves \
             WHERE idx >= ? AND idx < ?"
        ));
    }
    if slots > 0 {
        let mut list = "?,".repeat(slots);
        list.pop();
        parts.push(format!(
            "SELECT {ROW_NODE}, id, hash, NULL, NULL, NULL FROM translog_nodes WHERE id IN ({list})"
        ));
    }
    if row {
        parts.push(format!(
            "SELECT {ROW_FULL}, idx, leaf_hash, entry, timepoint, appended_at \
             FROM translog_leaves WHERE idx = ?"
        ));
    }
    parts.join(" UNION ALL ")
}

/// The PostgreSQL statement of a read: one prepared statement for every read (arrays).
const PG_FETCH: &str = "SELECT 0::int8, idx, leaf_hash, NULL::text, NULL::int8, NULL::timestamptz \
     FROM translog_leaves WHERE idx = ANY($1::int8[]) \
     UNION ALL SELECT 1, id, hash, NULL, NULL, NULL FROM translog_nodes WHERE id = ANY($2::int8[]) \
     UNION ALL SELECT 2, idx, leaf_hash, entry, timepoint, appended_at FROM translog_leaves \
     WHERE idx = $3";

/// Reads in one statement the hashes of the leaves `leaves` and of the stored subtrees `nodes`
/// (both sorted, without duplicates), and with `row` the whole row of that leaf. What is not
/// stored is simply not in the answer.
async fn fetch(
    r: &mut Reader<'_>,
    leaves: &[u64],
    nodes: &[i64],
    row: Option<u64>,
) -> Result<Fetched, AppError> {
    if leaves.is_empty() && nodes.is_empty() && row.is_none() {
        return Ok(Fetched::default());
    }
    let sqlite = match r {
        Reader::Db(db) => db.backend() == crate::db::Backend::Sqlite,
        Reader::Tx(tx) => matches!(tx.inner, TxInner::Sqlite(_)),
    };
    let rows: Vec<FetchRow> = if sqlite {
        let ranges = leaf_ranges(leaves);
        let slots = nodes.len().div_ceil(SQLITE_NODE_SLOTS) * SQLITE_NODE_SLOTS;
        let sql = sqlite_fetch_sql(ranges.len(), slots, row.is_some());
        let mut q = sqlx::query_as::<sqlx::Sqlite, FetchRow>(sqlx::AssertSqlSafe(sql));
        for (a, b) in &ranges {
            q = q.bind(*a).bind(*b);
        }
        for k in 0..slots {
            q = q.bind(nodes.get(k).copied().unwrap_or(-1));
        }
        if let Some(i) = row {
            q = q.bind(i as i64);
        }
        match r {
            Reader::Db(Db::Sqlite(p, _)) => q.fetch_all(p).await?,
            Reader::Tx(tx) => match &mut tx.inner {
                TxInner::Sqlite(c) => q.fetch_all(&mut **c).await?,
                TxInner::Postgres(_) => unreachable!("checked above"),
            },
            Reader::Db(Db::Postgres(_)) => unreachable!("checked above"),
        }
    } else {
        let leaves: Vec<i64> = leaves.iter().map(|&i| i as i64).collect();
        let q = sqlx::query_as::<sqlx::Postgres, FetchRow>(PG_FETCH)
            .bind(leaves)
            .bind(nodes)
            .bind(row.map_or(-1, |i| i as i64));
        match r {
            Reader::Db(Db::Postgres(p)) => q.fetch_all(p).await?,
            Reader::Tx(tx) => match &mut tx.inner {
                TxInner::Postgres(c) => q.fetch_all(&mut **c).await?,
                TxInner::Sqlite(_) => unreachable!("checked above"),
            },
            Reader::Db(Db::Sqlite(..)) => unreachable!("checked above"),
        }
    };
    let mut out = Fetched {
        leaves: HashMap::with_capacity(leaves.len() + 16),
        nodes: HashMap::with_capacity(nodes.len()),
        row: None,
    };
    for (kind, key, hash, entry, timepoint, appended_at) in rows {
        match kind {
            ROW_LEAF => {
                out.leaves.insert(key as u64, to_hash(&hash, "leaf hash")?);
            }
            ROW_NODE => {
                out.nodes.insert(key, to_hash(&hash, "node hash")?);
            }
            _ => {
                let (Some(entry), Some(timepoint), Some(appended_at)) =
                    (entry, timepoint, appended_at)
                else {
                    return Err(AppError::Internal(anyhow::anyhow!(
                        "translog: leaf {key} has an incomplete row"
                    )));
                };
                out.row = Some(leaf_of((key, timepoint, hash, entry, appended_at))?);
            }
        }
    }
    Ok(out)
}

/// A read of the subtrees behind some ranges of a tree of `size` leaves.
struct Read {
    /// The complete subtrees of each range, biggest first.
    pieces: Vec<Vec<Subtree>>,
    fetched: Fetched,
}

/// Reads, in one statement, the subtree hashes behind `ranges` (all within the first `size`
/// leaves) and with `row` the whole row of that leaf. With `check = Some(field)`, the read
/// also includes leaf `size - 1` and fails with a bad request on `field` when the log is
/// smaller than `size` (leaves are numbered from 0 without gaps, so that leaf exists exactly
/// when the log has at least `size` leaves).
async fn read(
    r: &mut Reader<'_>,
    ranges: &[(u64, u64)],
    size: u64,
    row: Option<u64>,
    check: Option<&str>,
) -> Result<Read, AppError> {
    let pieces: Vec<Vec<Subtree>> = ranges
        .iter()
        .map(|&(a, b)| merkle::range_subtrees(a, b))
        .collect();
    let mut ids: Vec<i64> = Vec::new();
    let mut leaves: Vec<u64> = Vec::new();
    for s in pieces.iter().flatten() {
        if s.level >= STORED_LEVEL {
            ids.push(node_id(*s));
        } else {
            leaves.extend(s.start()..s.end());
        }
    }
    if check.is_some() && size > 0 {
        leaves.push(size - 1);
    }
    ids.sort_unstable();
    ids.dedup();
    leaves.sort_unstable();
    leaves.dedup();
    let fetched = fetch(r, &leaves, &ids, row).await?;
    if let Some(field) = check
        && size > 0
        && !fetched.leaves.contains_key(&(size - 1))
    {
        // Only on this refusal is the log's size read, for the message.
        let n = match r {
            Reader::Db(db) => self::size(db).await?,
            Reader::Tx(tx) => size_in(tx).await?,
        };
        if size > n {
            return Err(size_error(
                field,
                format!("树大小 {size} 超出日志当前大小 {n} (the log has {n} entries)"),
            ));
        }
        return Err(AppError::Internal(anyhow::anyhow!(
            "translog: leaf {} is not stored",
            size - 1
        )));
    }
    Ok(Read { pieces, fetched })
}

impl Read {
    /// The hash of the complete subtree `s` (one of those read).
    fn subtree_hash(&self, s: &Subtree) -> Result<Hash, AppError> {
        let missing = || {
            AppError::Internal(anyhow::anyhow!(
                "translog: subtree level {} index {} is not stored",
                s.level,
                s.index
            ))
        };
        if s.level >= STORED_LEVEL {
            self.fetched
                .nodes
                .get(&node_id(*s))
                .copied()
                .ok_or_else(missing)
        } else {
            let hs = (s.start()..s.end())
                .map(|i| self.fetched.leaves.get(&i).copied().ok_or_else(missing))
                .collect::<Result<Vec<Hash>, AppError>>()?;
            Ok(merkle::root_of(&hs))
        }
    }

    /// The tree hashes of the ranges read, in order.
    fn range_hashes(&self) -> Result<Vec<Hash>, AppError> {
        self.pieces
            .iter()
            .map(|p| {
                let hs = p
                    .iter()
                    .map(|s| self.subtree_hash(s))
                    .collect::<Result<Vec<Hash>, AppError>>()?;
                merkle::fold_range(&hs)
                    .ok_or_else(|| AppError::Internal(anyhow::anyhow!("translog: empty range")))
            })
            .collect()
    }
}

/// The number of leaves.
pub async fn size(db: &Db) -> Result<u64, AppError> {
    let n: i64 = on_conn!(db, c => sqlx::query_scalar(
        "SELECT COALESCE(MAX(idx) + 1, 0) FROM translog_leaves"
    )
    .fetch_one(c)
    .await?);
    Ok(n as u64)
}

async fn size_in(tx: &mut Tx) -> Result<u64, AppError> {
    let n: i64 = on_tx!(tx, c => sqlx::query_scalar(
        "SELECT COALESCE(MAX(idx) + 1, 0) FROM translog_leaves"
    )
    .fetch_one(&mut *c)
    .await?);
    Ok(n as u64)
}

fn size_error(field: &str, msg: String) -> AppError {
    AppError::bad_request(field, msg)
}

/// The root of the tree of the first `size` leaves (one statement).
pub async fn root_at(db: &Db, size: u64) -> Result<Hash, AppError> {
    if size == 0 {
        return Ok(merkle::empty_root());
    }
    let mut r = Reader::Db(db);
    let read = read(&mut r, &[(0, size)], size, None, Some("size")).await?;
    Ok(read.range_hashes()?[0])
}

fn check_index(index: u64, size: u64) -> Result<(), AppError> {
    if index >= size {
        return Err(size_error(
            "index",
            format!("序号 {index} 应小于树大小 {size} (the index must be below the tree size)"),
        ));
    }
    Ok(())
}

/// The audit path of leaf `index` in the tree of `size` leaves (RFC 6962 §2.1.1), read in one
/// statement.
pub async fn inclusion_proof(db: &Db, index: u64, size: u64) -> Result<Vec<Hash>, AppError> {
    check_index(index, size)?;
    let mut r = Reader::Db(db);
    read(
        &mut r,
        &merkle::inclusion_ranges(index, size),
        size,
        None,
        Some("size"),
    )
    .await?
    .range_hashes()
}

/// Leaf `index` and its audit path in the tree of `size` leaves, read together in one
/// statement (what a proof endpoint answers).
pub async fn inclusion_proof_with_leaf(
    db: &Db,
    index: u64,
    size: u64,
) -> Result<(Leaf, Vec<Hash>), AppError> {
    check_index(index, size)?;
    let mut r = Reader::Db(db);
    let mut read = read(
        &mut r,
        &merkle::inclusion_ranges(index, size),
        size,
        Some(index),
        Some("size"),
    )
    .await?;
    let path = read.range_hashes()?;
    let leaf = read.fetched.row.take().ok_or_else(|| {
        AppError::Internal(anyhow::anyhow!("translog: leaf {index} is not stored"))
    })?;
    Ok((leaf, path))
}

/// The consistency proof from the tree of `from` leaves to the tree of `to` leaves
/// (RFC 6962 §2.1.2); `1 ≤ from ≤ to`. One statement.
pub async fn consistency_proof(db: &Db, from: u64, to: u64) -> Result<Vec<Hash>, AppError> {
    if from == 0 || from > to {
        return Err(size_error(
            "from",
            format!("from 应在 1 到 to（{to}）之间 (from must be 1..=to)"),
        ));
    }
    let mut r = Reader::Db(db);
    read(
        &mut r,
        &merkle::consistency_ranges(from, to),
        to,
        None,
        Some("to"),
    )
    .await?
    .range_hashes()
}

type LeafRow = (i64, i64, Vec<u8>, String, DateTime<Utc>);

fn leaf_of(r: LeafRow) -> Result<Leaf, AppError> {
    Ok(Leaf {
        index: r.0 as u64,
        timepoint: r.1,
        leaf_hash: to_hash(&r.2, "leaf hash")?,
        entry: r.3,
        appended_at: r.4,
    })
}

/// Leaves `[start, end)` (those that exist), in order.
pub async fn entries(db: &Db, start: u64, end: u64) -> Result<Vec<Leaf>, AppError> {
    let rows: Vec<LeafRow> = on_conn!(db, c => sqlx::query_as(
        "SELECT idx, timepoint, leaf_hash, entry, appended_at FROM translog_leaves \
         WHERE idx >= $1 AND idx < $2 ORDER BY idx",
    )
    .bind(start as i64)
    .bind(end.min(i64::MAX as u64) as i64)
    .fetch_all(c)
    .await?);
    rows.into_iter().map(leaf_of).collect()
}

/// The leaf that came from the event at `timepoint`, if the event is in the log.
pub async fn by_timepoint(db: &Db, timepoint: i64) -> Result<Option<Leaf>, AppError> {
    let row: Option<LeafRow> = on_conn!(db, c => sqlx::query_as(
        "SELECT idx, timepoint, leaf_hash, entry, appended_at FROM translog_leaves WHERE timepoint = $1",
    )
    .bind(timepoint)
    .fetch_optional(c)
    .await?);
    row.map(leaf_of).transpose()
}

type CheckpointRow = (i64, Vec<u8>, String, String, DateTime<Utc>);

fn checkpoint_of(r: CheckpointRow) -> Result<StoredCheckpoint, AppError> {
    Ok(StoredCheckpoint {
        size: r.0 as u64,
        root: to_hash(&r.1, "root hash")?,
        note: r.2,
        key_id: r.3,
        created_at: r.4,
    })
}

/// The newest checkpoint, if any.
pub async fn latest_checkpoint(db: &Db) -> Result<Option<StoredCheckpoint>, AppError> {
    let row: Option<CheckpointRow> = on_conn!(db, c => sqlx::query_as(
        "SELECT tree_size, root_hash, note, key_id, created_at FROM translog_checkpoints \
         ORDER BY tree_size DESC LIMIT 1",
    )
    .fetch_optional(c)
    .await?);
    row.map(checkpoint_of).transpose()
}

/// The checkpoint of tree size `size`, if one was made.
pub async fn checkpoint_at(db: &Db, size: u64) -> Result<Option<StoredCheckpoint>, AppError> {
    let row: Option<CheckpointRow> = on_conn!(db, c => sqlx::query_as(
        "SELECT tree_size, root_hash, note, key_id, created_at FROM translog_checkpoints \
         WHERE tree_size = $1",
    )
    .bind(size as i64)
    .fetch_optional(c)
    .await?);
    row.map(checkpoint_of).transpose()
}

/// An entry to append: its bytes and the timepoint of the event it records.
#[derive(Debug, Clone)]
pub struct NewEntry {
    pub timepoint: i64,
    pub entry: String,
}

/// The tree after an append.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TreeHead {
    pub size: u64,
    pub root: Hash,
}

/// Appends `entries` in `tx`: the leaves, and the hash of every subtree of level ≥
/// [`STORED_LEVEL`] they complete. Returns the new tree head.
///
/// The hashes are computed in memory from the right edge of the stored tree, then written
/// with a few large statements: on SQLite multi-row INSERTs of [`SQLITE_LEAF_CHUNK`] leaves
/// with anonymous parameters (the time formatted once a batch), on PostgreSQL one
/// INSERT … SELECT FROM UNNEST of arrays per [`PG_CHUNK`] leaves (five values bound a
/// statement, the same prepared statement whatever the batch size).
pub async fn append(tx: &mut Tx, entries: &[NewEntry]) -> Result<TreeHead, AppError> {
    let n = size_in(tx).await?;
    // The right edge of the tree (one complete subtree per set bit of n).
    let mut frontier: Vec<(Subtree, Hash)> = {
        let mut r = Reader::Tx(tx);
        let edge = read(&mut r, &[(0, n)], n, None, None).await?;
        edge.pieces[0]
            .iter()
            .map(|s| Ok((*s, edge.subtree_hash(s)?)))
            .collect::<Result<_, AppError>>()?
    };
    let mut node_ids: Vec<i64> = Vec::with_capacity(entries.len() / 8 + 8);
    let mut node_hashes: Vec<Hash> = Vec::with_capacity(entries.len() / 8 + 8);
    let mut hashes: Vec<Hash> = Vec::with_capacity(entries.len());
    for (i, e) in entries.iter().enumerate() {
        let h = merkle::leaf_hash(e.entry.as_bytes());
        hashes.push(h);
        frontier.push((
            Subtree {
                level: 0,
                index: n + i as u64,
            },
            h,
        ));
        while frontier.len() >= 2
            && frontier[frontier.len() - 1].0.level == frontier[frontier.len() - 2].0.level
        {
            let (rs, rh) = frontier.pop().expect("two on the frontier");
            let (_, lh) = frontier.pop().expect("two on the frontier");
            let s = Subtree {
                level: rs.level + 1,
                index: rs.index / 2,
            };
            let h = merkle::node_hash(&lh, &rh);
            if s.level >= STORED_LEVEL {
                node_ids.push(node_id(s));
                node_hashes.push(h);
            }
            frontier.push((s, h));
        }
    }
    let now = Utc::now().trunc_subsecs(6);
    match &mut tx.inner {
        TxInner::Sqlite(c) => {
            insert_leaves_sqlite(c, n, entries, &hashes, now).await?;
            insert_nodes_sqlite(c, &node_ids, &node_hashes).await?;
        }
        TxInner::Postgres(c) => {
            insert_leaves_pg(c, n, entries, &hashes, now).await?;
            insert_nodes_pg(c, &node_ids, &node_hashes).await?;
        }
    }
    let hs: Vec<Hash> = frontier.iter().map(|(_, h)| *h).collect();
    Ok(TreeHead {
        size: n + entries.len() as u64,
        root: merkle::fold_range(&hs).unwrap_or_else(merkle::empty_root),
    })
}

/// `INSERT INTO {head} VALUES (?,…),…`: `rows` rows of `width` anonymous parameters.
///
/// SQLite statements here use `?` rather than `$N`: SQLite looks a named parameter up in a
/// list, so binding the n named parameters of a statement costs O(n²) (for a 2,500-value
/// insert it was most of the time of the bind), anonymous ones O(n).
fn sqlite_insert(head: &str, rows: usize, width: usize) -> String {
    let mut tuple = String::with_capacity(2 * width + 1);
    tuple.push('(');
    for i in 0..width {
        if i > 0 {
            tuple.push(',');
        }
        tuple.push('?');
    }
    tuple.push(')');
    let mut sql = String::with_capacity(head.len() + 8 + rows * (tuple.len() + 1));
    sql.push_str("INSERT INTO ");
    sql.push_str(head);
    sql.push_str(" VALUES ");
    for k in 0..rows {
        if k > 0 {
            sql.push(',');
        }
        sql.push_str(&tuple);
    }
    sql
}

async fn insert_leaves_sqlite(
    c: &mut SqliteConnection,
    n: u64,
    entries: &[NewEntry],
    hashes: &[Hash],
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    // The time as sqlx writes a `DateTime<Utc>` to SQLite, formatted once for the batch.
    let now: Arc<str> = Arc::from(now.to_rfc3339_opts(SecondsFormat::AutoSi, false));
    for (c_i, chunk) in entries.chunks(SQLITE_LEAF_CHUNK).enumerate() {
        let base = c_i * SQLITE_LEAF_CHUNK;
        let sql = sqlite_insert(
            "translog_leaves (idx, leaf_hash, entry, timepoint, appended_at)",
            chunk.len(),
            5,
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (i, e) in chunk.iter().enumerate() {
            q = q
                .bind((n + (base + i) as u64) as i64)
                .bind(&hashes[base + i][..])
                .bind(e.entry.as_str())
                .bind(e.timepoint)
                .bind(now.clone());
        }
        q.execute(&mut *c).await?;
    }
    Ok(())
}

async fn insert_nodes_sqlite(
    c: &mut SqliteConnection,
    ids: &[i64],
    hashes: &[Hash],
) -> Result<(), AppError> {
    for (ids, hashes) in ids
        .chunks(SQLITE_NODE_CHUNK)
        .zip(hashes.chunks(SQLITE_NODE_CHUNK))
    {
        let sql = sqlite_insert("translog_nodes (id, hash)", ids.len(), 2);
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (id, h) in ids.iter().zip(hashes) {
            q = q.bind(*id).bind(&h[..]);
        }
        q.execute(&mut *c).await?;
    }
    Ok(())
}

async fn insert_leaves_pg(
    c: &mut PgConnection,
    n: u64,
    entries: &[NewEntry],
    hashes: &[Hash],
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    for (c_i, chunk) in entries.chunks(PG_CHUNK).enumerate() {
        let base = c_i * PG_CHUNK;
        let idx: Vec<i64> = (0..chunk.len())
            .map(|i| (n + (base + i) as u64) as i64)
            .collect();
        let texts: Vec<&str> = chunk.iter().map(|e| e.entry.as_str()).collect();
        let timepoints: Vec<i64> = chunk.iter().map(|e| e.timepoint).collect();
        sqlx::query(
            "INSERT INTO translog_leaves (idx, leaf_hash, entry, timepoint, appended_at) \
             SELECT i, h, e, t, $5 FROM UNNEST($1::int8[], $2::bytea[], $3::text[], $4::int8[]) \
             AS u(i, h, e, t)",
        )
        .bind(&idx)
        .bind(&hashes[base..base + chunk.len()])
        .bind(&texts)
        .bind(&timepoints)
        .bind(now)
        .execute(&mut *c)
        .await?;
    }
    Ok(())
}

async fn insert_nodes_pg(
    c: &mut PgConnection,
    ids: &[i64],
    hashes: &[Hash],
) -> Result<(), AppError> {
    for (ids, hashes) in ids.chunks(PG_CHUNK).zip(hashes.chunks(PG_CHUNK)) {
        sqlx::query(
            "INSERT INTO translog_nodes (id, hash) SELECT * FROM UNNEST($1::int8[], $2::bytea[])",
        )
        .bind(ids)
        .bind(hashes)
        .execute(&mut *c)
        .await?;
    }
    Ok(())
}

/// Signs a checkpoint of `head` with the current key and keeps it (a checkpoint of that size
/// made before is kept as it is). Returns the note.
pub async fn write_checkpoint(
    tx: &mut Tx,
    keys: &Keyring,
    origin: &str,
    head: TreeHead,
) -> Result<String, AppError> {
    let note = Checkpoint {
        origin: origin.to_string(),
        size: head.size,
        root: head.root,
    }
    .sign(keys);
    on_tx!(tx, c => sqlx::query(
        "INSERT INTO translog_checkpoints (tree_size, root_hash, note, key_id, created_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tree_size) DO NOTHING",
    )
    .bind(head.size as i64)
    .bind(head.root.to_vec())
    .bind(&note)
    .bind(keys.key_id().to_string())
    .bind(Utc::now().trunc_subsecs(6))
    .execute(&mut *c)
    .await?
    .rows_affected());
    Ok(note)
}
