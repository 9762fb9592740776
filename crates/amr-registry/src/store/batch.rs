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
use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use serde_json::json;

use amr_kernel::audit::{self, Actor};
use amr_kernel::db::{Db, Tx, TxInner};
use amr_kernel::error::AppError;
use amr_kernel::events::{self, NewEvent};

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

/// Inserts a batch in its own transaction (see [`insert_batch_in`]).
pub async fn insert_batch(
    db: &Db,
    actor: &Actor,
    batch: &[NewEntity],
) -> Result<BatchOutcome, AppError> {
    if batch.is_empty() {
        return Ok(BatchOutcome::default());
    }
    let mut tx = db.begin().await?;
    let out = insert_batch_in(&mut tx, actor, batch).await?;
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
    if batch.is_empty() {
        return Ok(BatchOutcome::default());
    }
    let now = super::now();
    let mut inserted = match &mut tx.inner {
        TxInner::Sqlite(t) => insert_sqlite(t, batch, now).await?,
        TxInner::Postgres(t) => insert_postgres(t, batch, now).await?,
    };
    let outcome = BatchOutcome {
        inserted: inserted.len() as u64,
        skipped_existing: (batch.len() - inserted.len()) as u64,
    };
    if inserted.is_empty() {
        return Ok(outcome);
    }
    inserted.sort_unstable();
    let set: HashSet<&str> = inserted.iter().map(String::as_str).collect();
    let division = common_division(
        batch
            .iter()
            .filter(|e| set.contains(e.uscc.as_str()))
            .map(|e| e.division.as_str()),
    );
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
    sql.push_str(" ON CONFLICT (uscc) DO NOTHING RETURNING uscc");
    sql
}

static SQLITE_FULL_CHUNK: LazyLock<String> = LazyLock::new(|| sqlite_sql(SQLITE_CHUNK));

async fn insert_sqlite(
    c: &mut sqlx::SqliteConnection,
    batch: &[NewEntity],
    now: DateTime<Utc>,
) -> Result<Vec<String>, AppError> {
    let mut inserted = Vec::with_capacity(batch.len());
    for chunk in batch.chunks(SQLITE_CHUNK) {
        let sql = if chunk.len() == SQLITE_CHUNK {
            SQLITE_FULL_CHUNK.as_str().to_string()
        } else {
            sqlite_sql(chunk.len())
        };
        let mut q = sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql));
        for e in chunk {
            q = q
                .bind(&e.uscc)
                .bind(&e.name)
                .bind(e.entity_type.as_str())
                .bind(&e.legal_rep)
                .bind(&e.legal_rep_id)
                .bind(&e.phone)
                .bind(e.capital_yuan)
                .bind(e.established)
                .bind(&e.address)
                .bind(&e.division)
                .bind(&e.scope)
                .bind(&e.industry)
                .bind(e.status.as_str())
                .bind(now)
                .bind(now);
        }
        inserted.extend(q.fetch_all(&mut *c).await?);
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
    batch: &[NewEntity],
    now: DateTime<Utc>,
) -> Result<Vec<String>, AppError> {
    sqlx::query(
        "CREATE TEMP TABLE registry_staging (uscc TEXT, name TEXT, entity_type TEXT, \
         legal_rep TEXT, legal_rep_id TEXT, phone TEXT, capital_yuan BIGINT, established DATE, \
         address TEXT, division TEXT, scope TEXT, industry TEXT, status TEXT) ON COMMIT DROP",
    )
    .execute(&mut *c)
    .await?;
    let data = copy_data(batch);
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
            ") VALUES {row},{row} ON CONFLICT (uscc) DO NOTHING RETURNING uscc"
        )));
    }

    #[test]
    fn copy_text_escapes_reserved_characters() {
        let mut b = String::new();
        copy_text(&mut b, "a\tb\nc\\d\re");
        assert_eq!(b, "a\\tb\\nc\\\\d\\re");
    }
}
