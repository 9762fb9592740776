//! Bulk insertion, for the importer and the demo generator.
//!
//! A batch is one transaction: its rows, one internal event `registry.entities.imported`
//! (`{count, usccs}`: the rows actually inserted) and one audit entry `entity.import`. Rows
//! whose USCC is already registered are skipped (`ON CONFLICT (uscc) DO NOTHING`), so
//! running an interrupted import again inserts only what is missing. A batch that inserts
//! nothing writes no event and no audit entry (nothing changed).
//!
//! - SQLite: multi-row `INSERT ... VALUES (...), (...)` of [`SQLITE_CHUNK`] rows; every full
//!   chunk has the same SQL text, so the prepared statement is reused from sqlx's cache.
//! - PostgreSQL: `COPY` (text format) into a temporary staging table, then one
//!   `INSERT ... SELECT ... ON CONFLICT DO NOTHING RETURNING uscc`.
//!
//! Rows are not validated here: callers validate them first ([`NewEntity::validate`]).

use std::collections::HashSet;
use std::fmt::Write as _;
use std::sync::{Arc, LazyLock};

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::json;
use sqlx::Arguments as _;
use sqlx::sqlite::SqliteArguments;

use amr_kernel::audit::{self, Actor};
use amr_kernel::db::{Backend, Db, Tx, TxInner};
use amr_kernel::error::AppError;
use amr_kernel::events::{self, NewEvent};
use amr_kernel::on_conn;

use super::COLUMNS;
use crate::model::NewEntity;

/// What a batch did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchOutcome {
    pub inserted: u64,
    /// Rows whose USCC was already registered (or repeated within the batch).
    pub skipped_existing: u64,
}

/// Rows per multi-row INSERT on SQLite: 15 parameters a row stays under SQLite's limit of
/// 32,766 parameters.
pub const SQLITE_CHUNK: usize = 1_000;
const PER_ROW: usize = 15;
const _: () = assert!(
    SQLITE_CHUNK * PER_ROW <= 32_766,
    "SQLite allows 32,766 parameters"
);

/// A batch encoded for its backend, ready to insert. Encoding (the SQLite arguments, the
/// PostgreSQL COPY text) is most of the CPU cost of a bulk insert that is not the database's
/// own, so producers (the demo generator, the importer's reader) build it on their thread and
/// the inserting task only sends it.
#[derive(Debug)]
pub struct PreparedBatch {
    /// `(uscc, division)` of every row, in order: what the batch's event and audit entry need.
    keys: Vec<(String, String)>,
    encoded: Encoded,
}

#[derive(Debug)]
enum Encoded {
    /// One argument list per multi-row INSERT, with its number of rows.
    Sqlite(Vec<(usize, sqlx::sqlite::SqliteArguments)>),
    /// COPY text, and the creation time every row gets.
    Postgres(String, DateTime<Utc>),
}

impl PreparedBatch {
    /// Encodes `batch` for `backend`, taking its strings without copying them.
    pub fn new(backend: Backend, batch: Vec<NewEntity>) -> Result<Self, AppError> {
        let now = super::now();
        let keys = batch
            .iter()
            .map(|e| (e.uscc.clone(), e.division.clone()))
            .collect();
        let encoded = match backend {
            Backend::Sqlite => Encoded::Sqlite(sqlite_arguments(batch, now)?),
            Backend::Postgres => Encoded::Postgres(copy_data(&batch), now),
        };
        Ok(Self { keys, encoded })
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// Inserts a batch in its own transaction (see [`insert_batch_in`]).
pub async fn insert_batch(
    db: &Db,
    actor: &Actor,
    batch: &[NewEntity],
) -> Result<BatchOutcome, AppError> {
    insert_prepared(db, actor, PreparedBatch::new(db.backend(), batch.to_vec())?).await
}

/// Inserts a prepared batch in its own transaction.
pub async fn insert_prepared(
    db: &Db,
    actor: &Actor,
    batch: PreparedBatch,
) -> Result<BatchOutcome, AppError> {
    if batch.is_empty() {
        return Ok(BatchOutcome::default());
    }
    let mut tx = db.begin().await?;
    let out = insert_prepared_in(&mut tx, actor, batch).await?;
    tx.commit().await?;
    Ok(out)
}

/// Inserts a batch inside the caller's transaction, so that an importer can record its
/// progress ([`super::job_progress`]) in the same commit.
pub async fn insert_batch_in(
    tx: &mut Tx,
    actor: &Actor,
    batch: &[NewEntity],
) -> Result<BatchOutcome, AppError> {
    let backend = match &tx.inner {
        TxInner::Sqlite(_) => Backend::Sqlite,
        TxInner::Postgres(_) => Backend::Postgres,
    };
    insert_prepared_in(tx, actor, PreparedBatch::new(backend, batch.to_vec())?).await
}

/// Inserts a prepared batch inside the caller's transaction.
pub async fn insert_prepared_in(
    tx: &mut Tx,
    actor: &Actor,
    batch: PreparedBatch,
) -> Result<BatchOutcome, AppError> {
    if batch.is_empty() {
        return Ok(BatchOutcome::default());
    }
    let total = batch.len();
    let mut inserted = match (&mut tx.inner, batch.encoded) {
        (TxInner::Sqlite(t), Encoded::Sqlite(chunks)) => {
            insert_sqlite(t, chunks, &batch.keys).await?
        }
        (TxInner::Postgres(t), Encoded::Postgres(data, now)) => {
            insert_postgres(t, &data, now).await?
        }
        _ => {
            return Err(AppError::Internal(anyhow::anyhow!(
                "a batch prepared for one database backend was inserted into the other"
            )));
        }
    };
    let outcome = BatchOutcome {
        inserted: inserted.len() as u64,
        skipped_existing: (total - inserted.len()) as u64,
    };
    if inserted.is_empty() {
        return Ok(outcome);
    }
    inserted.sort_unstable();
    let division = if inserted.len() == total {
        common_division(batch.keys.iter().map(|(_, d)| d.as_str()))
    } else {
        let set: HashSet<&str> = inserted.iter().map(String::as_str).collect();
        common_division(
            batch
                .keys
                .iter()
                .filter(|(u, _)| set.contains(u.as_str()))
                .map(|(_, d)| d.as_str()),
        )
    };
    let target_id = match (inserted.first(), inserted.last()) {
        (Some(a), Some(b)) if a != b => format!("{a}..{b}"),
        (Some(a), _) => a.clone(),
        _ => String::new(),
    };
    let count = inserted.len();
    let mut event = NewEvent::internal(
        "registry.entities.imported",
        json!({"count": count, "usccs": inserted}),
    )
    .actor(actor.label());
    if let Some(d) = &division {
        event = event.division(d);
    }
    events::append(tx, event).await?;
    audit::record(
        tx,
        actor,
        audit::Change {
            action: "entity.import",
            target_kind: "entity",
            target_id,
            division,
            before: None,
            after: Some(json!({"count": count})),
        },
    )
    .await?;
    Ok(outcome)
}

/// The secondary indexes of `entities`, as created by the migrations. A bulk load into an
/// empty table drops them and creates them again at the end ([`bulk_load_begin`],
/// [`ensure_indexes`]): building an index from the finished table is a sort, several times
/// faster than maintaining it row by row.
const SECONDARY_INDEXES: [(&str, &str); 2] = [
    ("entities_division", "entities (division, uscc)"),
    ("entities_name", "entities (name)"),
];

/// Starts a bulk load: if `entities` is empty, or a secondary index is already missing (a
/// bulk load that was killed), drops the secondary indexes and returns `true`; the caller
/// calls [`ensure_indexes`] when it is done. Queries stay correct meanwhile, only slower.
pub async fn bulk_load_begin(db: &Db) -> Result<bool, AppError> {
    let empty: bool = on_conn!(db, c => sqlx::query_scalar::<_, bool>(
        "SELECT NOT EXISTS (SELECT 1 FROM entities)"
    )
    .fetch_one(c)
    .await)?;
    let present = index_count(db).await?;
    if !empty && present == SECONDARY_INDEXES.len() {
        return Ok(false);
    }
    for (name, _) in SECONDARY_INDEXES {
        let sql = format!("DROP INDEX IF EXISTS {name}");
        on_conn!(db, c => sqlx::query(sqlx::AssertSqlSafe(sql)).execute(c).await.map(|r| r.rows_affected()))?;
    }
    Ok(true)
}

async fn index_count(db: &Db) -> Result<usize, AppError> {
    let names: Vec<String> = match db {
        Db::Sqlite(p, _) => {
            sqlx::query_scalar(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'entities'",
            )
            .fetch_all(p)
            .await?
        }
        Db::Postgres(p) => {
            sqlx::query_scalar(
                "SELECT indexname::text FROM pg_indexes WHERE tablename = 'entities'",
            )
            .fetch_all(p)
            .await?
        }
    };
    Ok(SECONDARY_INDEXES
        .iter()
        .filter(|(n, _)| names.iter().any(|m| m == n))
        .count())
}

/// Creates whichever secondary indexes are missing; cheap when none is. Run at the end of a
/// bulk load and when the server starts (after a bulk load that did not finish).
pub async fn ensure_indexes(db: &Db) -> Result<bool, AppError> {
    if index_count(db).await? == SECONDARY_INDEXES.len() {
        return Ok(false);
    }
    for (name, on) in SECONDARY_INDEXES {
        let sql = format!("CREATE INDEX IF NOT EXISTS {name} ON {on}");
        on_conn!(db, c => sqlx::query(sqlx::AssertSqlSafe(sql)).execute(c).await.map(|r| r.rows_affected()))?;
    }
    Ok(true)
}

/// The longest common prefix of the divisions, cut to a whole division level (2, 4, 6 or 9
/// digits) so that jurisdiction filters match it; `None` if the rows share no province.
fn common_division<'a>(mut divisions: impl Iterator<Item = &'a str>) -> Option<String> {
    let first = divisions.next()?;
    let mut len = first.len();
    for d in divisions {
        len = first
            .bytes()
            .zip(d.bytes())
            .take(len)
            .take_while(|(a, b)| a == b)
            .count();
        if len < 2 {
            return None;
        }
    }
    [9, 6, 4, 2]
        .into_iter()
        .find(|&l| l <= len)
        .map(|l| first[..l].to_string())
}

/// The multi-row INSERT of `rows` rows. Its parameters are anonymous (`?`), not `$n`: SQLite
/// looks a named parameter's name up by a linear scan, which makes binding a chunk of 15,000
/// named parameters quadratic (50 times slower at 1,000 rows).
fn sqlite_sql(rows: usize) -> String {
    let mut sql = format!("INSERT INTO entities ({COLUMNS}) VALUES ");
    let row = format!("({}?)", "?,".repeat(PER_ROW - 1));
    for r in 0..rows {
        if r > 0 {
            sql.push(',');
        }
        sql.push_str(&row);
    }
    sql.push_str(" ON CONFLICT (uscc) DO NOTHING");
    sql
}

static SQLITE_FULL_CHUNK: LazyLock<String> = LazyLock::new(|| sqlite_sql(SQLITE_CHUNK));

/// The arguments of each multi-row INSERT. Strings move into the arguments; the repeated
/// values (type, status, timestamps) are shared `Arc<str>`s.
fn sqlite_arguments(
    batch: Vec<NewEntity>,
    now: DateTime<Utc>,
) -> Result<Vec<(usize, SqliteArguments)>, AppError> {
    let now: Arc<str> = Arc::from(now.to_rfc3339_opts(SecondsFormat::AutoSi, false));
    let mut shared: Vec<(&'static str, Arc<str>)> = Vec::new();
    let mut intern = |s: &'static str| -> Arc<str> {
        if let Some((_, a)) = shared.iter().find(|(k, _)| *k == s) {
            return a.clone();
        }
        let a: Arc<str> = Arc::from(s);
        shared.push((s, a.clone()));
        a
    };
    let mut out = Vec::with_capacity(batch.len().div_ceil(SQLITE_CHUNK));
    let mut args = SqliteArguments::default();
    let mut rows = 0;
    let encode = |e: sqlx::error::BoxDynError| AppError::Internal(anyhow::anyhow!(e));
    for e in batch {
        if rows == SQLITE_CHUNK {
            out.push((rows, std::mem::take(&mut args)));
            rows = 0;
        }
        if rows == 0 {
            args.reserve(SQLITE_CHUNK * PER_ROW, 0);
        }
        args.add(e.uscc).map_err(encode)?;
        args.add(e.name).map_err(encode)?;
        args.add(intern(e.entity_type.as_str())).map_err(encode)?;
        args.add(e.legal_rep).map_err(encode)?;
        args.add(e.legal_rep_id).map_err(encode)?;
        args.add(e.phone).map_err(encode)?;
        args.add(e.capital_yuan).map_err(encode)?;
        args.add(e.established).map_err(encode)?;
        args.add(e.address).map_err(encode)?;
        args.add(e.division).map_err(encode)?;
        args.add(e.scope).map_err(encode)?;
        args.add(e.industry).map_err(encode)?;
        args.add(intern(e.status.as_str())).map_err(encode)?;
        args.add(now.clone()).map_err(encode)?;
        args.add(now.clone()).map_err(encode)?;
        rows += 1;
    }
    if rows > 0 {
        out.push((rows, args));
    }
    Ok(out)
}

async fn insert_sqlite(
    c: &mut sqlx::SqliteConnection,
    chunks: Vec<(usize, SqliteArguments)>,
    keys: &[(String, String)],
) -> Result<Vec<String>, AppError> {
    let mut inserted = Vec::with_capacity(keys.len());
    let mut offset = 0;
    for (rows, args) in chunks {
        let sql = if rows == SQLITE_CHUNK {
            SQLITE_FULL_CHUNK.as_str().to_string()
        } else {
            sqlite_sql(rows)
        };
        // New rows of a rowid table each get the largest rowid so far plus one, so the rows
        // one INSERT added are the `done` rowids ending at `last_insert_rowid`: when some were
        // skipped, those are the ones inserted. (Cheaper than RETURNING, which costs a result
        // row per inserted row.)
        let result = sqlx::query_with(sqlx::AssertSqlSafe(sql), args)
            .execute(&mut *c)
            .await?;
        let done = result.rows_affected();
        if done as usize == rows {
            inserted.extend(keys[offset..offset + rows].iter().map(|(u, _)| u.clone()));
        } else if done > 0 {
            inserted.extend(
                sqlx::query_scalar::<_, String>("SELECT uscc FROM entities WHERE rowid > $1")
                    .bind(result.last_insert_rowid() - done as i64)
                    .fetch_all(&mut *c)
                    .await?,
            );
        }
        offset += rows;
    }
    Ok(inserted)
}

/// Appends `s` to a COPY text-format row, escaping what the format reserves.
fn copy_text(buf: &mut String, s: &str) {
    for ch in s.chars() {
        match ch {
            '\\' => buf.push_str("\\\\"),
            '\t' => buf.push_str("\\t"),
            '\n' => buf.push_str("\\n"),
            '\r' => buf.push_str("\\r"),
            c => buf.push(c),
        }
    }
}

fn copy_opt(buf: &mut String, s: Option<&str>) {
    match s {
        Some(s) => copy_text(buf, s),
        None => buf.push_str("\\N"),
    }
}

/// The batch in COPY text format, one line per row, columns as in the staging table.
fn copy_data(batch: &[NewEntity]) -> String {
    let mut buf = String::with_capacity(batch.len() * 400);
    for e in batch {
        copy_text(&mut buf, &e.uscc);
        buf.push('\t');
        copy_text(&mut buf, &e.name);
        buf.push('\t');
        buf.push_str(e.entity_type.as_str());
        buf.push('\t');
        copy_text(&mut buf, &e.legal_rep);
        buf.push('\t');
        copy_opt(&mut buf, e.legal_rep_id.as_deref());
        buf.push('\t');
        copy_opt(&mut buf, e.phone.as_deref());
        buf.push('\t');
        match e.capital_yuan {
            Some(c) => {
                let _ = write!(buf, "{c}");
            }
            None => buf.push_str("\\N"),
        }
        let _ = write!(buf, "\t{}\t", e.established.format("%Y-%m-%d"));
        copy_text(&mut buf, &e.address);
        buf.push('\t');
        copy_text(&mut buf, &e.division);
        buf.push('\t');
        copy_text(&mut buf, &e.scope);
        buf.push('\t');
        copy_text(&mut buf, &e.industry);
        buf.push('\t');
        buf.push_str(e.status.as_str());
        buf.push('\n');
    }
    buf
}

const STAGED: &str = "uscc, name, entity_type, legal_rep, legal_rep_id, phone, capital_yuan, \
                      established, address, division, scope, industry, status";

async fn insert_postgres(
    c: &mut sqlx::PgConnection,
    data: &str,
    now: DateTime<Utc>,
) -> Result<Vec<String>, AppError> {
    sqlx::query(
        "CREATE TEMP TABLE registry_staging (uscc TEXT, name TEXT, entity_type TEXT, \
         legal_rep TEXT, legal_rep_id TEXT, phone TEXT, capital_yuan BIGINT, established DATE, \
         address TEXT, division TEXT, scope TEXT, industry TEXT, status TEXT) ON COMMIT DROP",
    )
    .execute(&mut *c)
    .await?;
    let mut copy = c
        .copy_in_raw(&format!(
            "COPY registry_staging ({STAGED}) FROM STDIN (FORMAT text)"
        ))
        .await?;
    copy.send(data.as_bytes()).await?;
    copy.finish().await?;
    let inserted: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "INSERT INTO entities ({COLUMNS}) SELECT {STAGED}, $1, $1 FROM registry_staging \
         ON CONFLICT (uscc) DO NOTHING RETURNING uscc"
    )))
    .bind(now)
    .fetch_all(&mut *c)
    .await?;
    // Dropped now rather than at commit, so a second batch in the same transaction can
    // create it again.
    sqlx::query("DROP TABLE registry_staging")
        .execute(&mut *c)
        .await?;
    Ok(inserted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_division_is_cut_to_a_level() {
        let cd = |v: &[&str]| common_division(v.iter().copied());
        assert_eq!(cd(&[]), None);
        assert_eq!(cd(&["370102001"]).as_deref(), Some("370102001"));
        assert_eq!(cd(&["370102001", "370102002"]).as_deref(), Some("370102"));
        assert_eq!(cd(&["370102001", "370103"]).as_deref(), Some("3701"));
        assert_eq!(cd(&["370102", "370102003"]).as_deref(), Some("370102"));
        assert_eq!(cd(&["370102", "371002"]).as_deref(), Some("37"));
        assert_eq!(cd(&["370102", "110101"]), None);
    }

    #[test]
    fn sqlite_chunks_stay_under_the_parameter_limit() {
        let sql = sqlite_sql(2);
        let row = "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)";
        assert!(sql.ends_with(&format!(
            ") VALUES {row},{row} ON CONFLICT (uscc) DO NOTHING"
        )));
    }

    #[test]
    fn copy_text_escapes_reserved_characters() {
        let mut b = String::new();
        copy_text(&mut b, "a\tb\nc\\d\re");
        assert_eq!(b, "a\\tb\\nc\\\\d\\re");
    }
}
