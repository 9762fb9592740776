//! The log in the database: leaves, complete subtree hashes and signed checkpoints.
//!
//! - `translog_leaves`: one row a leaf (index, leaf hash, entry text, the timepoint of the
//!   event it came from, when it was appended).
//! - `translog_nodes`: the hash of every complete aligned subtree of level ≥ [`STORED_LEVEL`]
//!   (16 leaves and up), keyed by `level << 40 | index`, written once when its last leaf is
//!   appended: about one row for every 8 leaves. Smaller subtrees are computed from at most 8
//!   leaf hashes read in the same query, so any tree head or proof of a tree of `n` leaves
//!   reads O(log n) rows in two queries, whatever `n` is.
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

fn in_list(from: usize, n: usize) -> String {
    (from..from + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(",")
}

async fn fetch_leaf_hashes(
    r: &mut Reader<'_>,
    idx: &[i64],
) -> Result<HashMap<u64, Hash>, AppError> {
    let mut out = HashMap::new();
    for chunk in idx.chunks(500) {
        let sql = format!(
            "SELECT idx, leaf_hash FROM translog_leaves WHERE idx IN ({})",
            in_list(1, chunk.len())
        );
        let rows: Vec<(i64, Vec<u8>)> = match r {
            Reader::Db(db) => on_conn!(*db, c => {
                let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql));
                for i in chunk { q = q.bind(*i); }
                q.fetch_all(c).await?
            }),
            Reader::Tx(tx) => on_tx!(tx, c => {
                let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql));
                for i in chunk { q = q.bind(*i); }
                q.fetch_all(&mut *c).await?
            }),
        };
        for (i, h) in rows {
            out.insert(i as u64, to_hash(&h, "leaf hash")?);
        }
    }
    Ok(out)
}

async fn fetch_nodes(r: &mut Reader<'_>, ids: &[i64]) -> Result<HashMap<i64, Hash>, AppError> {
    let mut out = HashMap::new();
    for chunk in ids.chunks(500) {
        let sql = format!(
            "SELECT id, hash FROM translog_nodes WHERE id IN ({})",
            in_list(1, chunk.len())
        );
        let rows: Vec<(i64, Vec<u8>)> = match r {
            Reader::Db(db) => on_conn!(*db, c => {
                let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql));
                for i in chunk { q = q.bind(*i); }
                q.fetch_all(c).await?
            }),
            Reader::Tx(tx) => on_tx!(tx, c => {
                let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql));
                for i in chunk { q = q.bind(*i); }
                q.fetch_all(&mut *c).await?
            }),
        };
        for (i, h) in rows {
            out.insert(i, to_hash(&h, "node hash")?);
        }
    }
    Ok(out)
}

/// The hashes of complete subtrees (all within the stored tree), in two queries.
async fn subtree_hashes(
    r: &mut Reader<'_>,
    subtrees: &[Subtree],
) -> Result<HashMap<Subtree, Hash>, AppError> {
    let mut ids: Vec<i64> = Vec::new();
    let mut leaves: Vec<i64> = Vec::new();
    for s in subtrees {
        if s.level >= STORED_LEVEL {
            ids.push(node_id(*s));
        } else {
            leaves.extend((s.start()..s.end()).map(|i| i as i64));
        }
    }
    ids.sort_unstable();
    ids.dedup();
    leaves.sort_unstable();
    leaves.dedup();
    let nodes = if ids.is_empty() {
        HashMap::new()
    } else {
        fetch_nodes(r, &ids).await?
    };
    let leaf_hashes = if leaves.is_empty() {
        HashMap::new()
    } else {
        fetch_leaf_hashes(r, &leaves).await?
    };
    let missing = |s: &Subtree| {
        AppError::Internal(anyhow::anyhow!(
            "translog: subtree level {} index {} is not stored",
            s.level,
            s.index
        ))
    };
    let mut out = HashMap::with_capacity(subtrees.len());
    for s in subtrees {
        let h = if s.level >= STORED_LEVEL {
            *nodes.get(&node_id(*s)).ok_or_else(|| missing(s))?
        } else {
            let hs = (s.start()..s.end())
                .map(|i| leaf_hashes.get(&i).copied().ok_or_else(|| missing(s)))
                .collect::<Result<Vec<Hash>, AppError>>()?;
            merkle::root_of(&hs)
        };
        out.insert(*s, h);
    }
    Ok(out)
}

/// The tree hashes of `ranges`, in order.
async fn range_hashes(r: &mut Reader<'_>, ranges: &[(u64, u64)]) -> Result<Vec<Hash>, AppError> {
    let pieces: Vec<Vec<Subtree>> = ranges
        .iter()
        .map(|&(a, b)| merkle::range_subtrees(a, b))
        .collect();
    let all: Vec<Subtree> = pieces.iter().flatten().copied().collect();
    let known = subtree_hashes(r, &all).await?;
    pieces
        .iter()
        .map(|p| {
            let hs: Vec<Hash> = p.iter().map(|s| known[s]).collect();
            merkle::fold_range(&hs)
                .ok_or_else(|| AppError::Internal(anyhow::anyhow!("translog: empty range")))
        })
        .collect()
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

/// Checks `size` against the stored tree.
async fn check_size(db: &Db, field: &str, size: u64) -> Result<(), AppError> {
    let n = self::size(db).await?;
    if size > n {
        return Err(size_error(
            field,
            format!("树大小 {size} 超出日志当前大小 {n} (the log has {n} entries)"),
        ));
    }
    Ok(())
}

/// The root of the tree of the first `size` leaves.
pub async fn root_at(db: &Db, size: u64) -> Result<Hash, AppError> {
    check_size(db, "size", size).await?;
    if size == 0 {
        return Ok(merkle::empty_root());
    }
    let mut r = Reader::Db(db);
    Ok(range_hashes(&mut r, &[(0, size)]).await?[0])
}

/// The audit path of leaf `index` in the tree of `size` leaves (RFC 6962 §2.1.1).
pub async fn inclusion_proof(db: &Db, index: u64, size: u64) -> Result<Vec<Hash>, AppError> {
    if index >= size {
        return Err(size_error(
            "index",
            format!("序号 {index} 应小于树大小 {size} (the index must be below the tree size)"),
        ));
    }
    check_size(db, "size", size).await?;
    let mut r = Reader::Db(db);
    range_hashes(&mut r, &merkle::inclusion_ranges(index, size)).await
}

/// The consistency proof from the tree of `from` leaves to the tree of `to` leaves
/// (RFC 6962 §2.1.2); `1 ≤ from ≤ to`.
pub async fn consistency_proof(db: &Db, from: u64, to: u64) -> Result<Vec<Hash>, AppError> {
    if from == 0 || from > to {
        return Err(size_error(
            "from",
            format!("from 应在 1 到 to（{to}）之间 (from must be 1..=to)"),
        ));
    }
    check_size(db, "to", to).await?;
    let mut r = Reader::Db(db);
    range_hashes(&mut r, &merkle::consistency_ranges(from, to)).await
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
    let edge = merkle::range_subtrees(0, n);
    let known = {
        let mut r = Reader::Tx(tx);
        subtree_hashes(&mut r, &edge).await?
    };
    let mut frontier: Vec<(Subtree, Hash)> = edge.iter().map(|s| (*s, known[s])).collect();
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
