//! Keeping the index current: upserts from the event log ([`SearchFollower`]) and the full
//! rebuild ([`reindex`], [`reindex_command`]).

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tantivy::indexer::{LogMergePolicy, NoMergePolicy};
use tantivy::{IndexWriter, Term};

use amr_kernel::db::{Db, Tx};
use amr_kernel::error::AppError;
use amr_kernel::events::Event;
use amr_kernel::events::runner::Consumer;
use amr_kernel::on_conn;
use amr_kernel::search as ks;

use super::{BUILD_MEMORY, CONSUMER, EntityIndex, FOLLOW_MEMORY, Row, document, internal, schema};
use crate::model::Entity;
use crate::store::{COLUMNS, EntityRow, rows_to_entities};

impl EntityIndex {
    /// Re-reads the entities the events of `batch` touched (imports, registrations,
    /// changes) and replaces their documents; commits when anything was touched.
    /// Idempotent by USCC. Returns the number of entities touched.
    pub async fn apply_events(&self, db: &Db, batch: &[Event]) -> Result<usize, AppError> {
        let usccs = touched(batch);
        if usccs.is_empty() {
            return Ok(0);
        }
        let mut entities = Vec::with_capacity(usccs.len());
        let list: Vec<&String> = usccs.iter().collect();
        for chunk in list.chunks(500) {
            entities.extend(read_entities(db, chunk).await?);
        }
        self.upsert(&usccs, &entities)?;
        Ok(usccs.len())
    }

    fn upsert(&self, usccs: &BTreeSet<String>, entities: &[Entity]) -> Result<(), AppError> {
        let mut guard = self.writer.lock().map_err(internal)?;
        if guard.is_none() {
            let writer = ks::writer(&self.index, 1, FOLLOW_MEMORY).map_err(AppError::Internal)?;
            // Merge the small segments the follower's commits make, never the big ones of a
            // rebuild (merging those would take minutes of the server's CPU for nothing a
            // search needs).
            let mut policy = LogMergePolicy::default();
            policy.set_max_docs_before_merge(FOLLOW_MERGE_MAX_DOCS);
            writer.set_merge_policy(Box::new(policy));
            *guard = Some(writer);
        }
        let writer = guard.as_mut().expect("writer was just created");
        for u in usccs {
            writer.delete_term(Term::from_field_text(self.f.uscc, u));
        }
        for e in entities {
            writer
                .add_document(document(&self.f, &Row::from(e)))
                .map_err(internal)?;
        }
        writer.commit().map_err(internal)?;
        self.reader.reload().map_err(internal)
    }
}

/// The USCCs the events of `batch` touched.
fn touched(batch: &[Event]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for e in batch {
        match e.kind.as_str() {
            "registry.entities.imported" => {
                if let Some(list) = e.payload_json().get("usccs").and_then(|v| v.as_array()) {
                    out.extend(list.iter().filter_map(|u| u.as_str().map(str::to_string)));
                }
            }
            k if crate::lifecycle::ENTITY_EVENTS.contains(&k) => {
                let payload = e.payload_json();
                let from_payload = payload.get("uscc").and_then(|v| v.as_str());
                if let Some(u) = from_payload.or(e.uscc.as_deref()) {
                    out.insert(u.to_string());
                }
            }
            _ => {}
        }
    }
    out
}

async fn read_entities(db: &Db, usccs: &[&String]) -> Result<Vec<Entity>, AppError> {
    let marks: Vec<String> = (1..=usccs.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "SELECT {COLUMNS} FROM entities WHERE uscc IN ({})",
        marks.join(", ")
    );
    let rows: Vec<EntityRow> = on_conn!(db, c => {
        let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql));
        for u in usccs {
            q = q.bind(u.as_str());
        }
        q.fetch_all(c).await?
    });
    rows_to_entities(rows)
}

/// The largest segment the follower's writer merges.
const FOLLOW_MERGE_MAX_DOCS: usize = 200_000;

/// Rows read per page by [`reindex`].
const BUILD_PAGE: i64 = 10_000;

type IndexedRow = (String, String, String, String, String, String);

/// One row of a SQLite page: `[uscc, name, scope, division, entity_type, status]`, borrowed
/// from the page's JSON text unless a value had to be unescaped.
#[derive(serde::Deserialize)]
struct JsonRow<'a>(
    #[serde(borrow)] Cow<'a, str>,
    #[serde(borrow)] Cow<'a, str>,
    #[serde(borrow)] Cow<'a, str>,
    #[serde(borrow)] Cow<'a, str>,
    #[serde(borrow)] Cow<'a, str>,
    #[serde(borrow)] Cow<'a, str>,
);

/// Where a page of [`read_page`] ends: the SQLite rowid, or the PostgreSQL USCC.
#[derive(Debug, Clone)]
enum PageKey {
    Rowid(i64),
    Uscc(String),
}

/// A page of entities with only the columns the index takes.
enum Page {
    /// SQLite: the whole page as one JSON array of [`JsonRow`]s, built by SQLite itself: one
    /// value a page rather than six a row. (sqlx copies every value on its worker thread and
    /// hands each row over a channel; row by row, the read cost a third of the build's CPU.)
    Json(String),
    Rows(Vec<IndexedRow>),
}

/// The next [`BUILD_PAGE`] entities after `after`, how many there are, and the key to
/// continue from. SQLite pages by rowid, the table's own order, so the read is sequential;
/// PostgreSQL by the primary key.
async fn read_page(db: Db, after: PageKey) -> Result<(Page, i64, PageKey), AppError> {
    match (&db, after) {
        (Db::Sqlite(p, _), PageKey::Rowid(after)) => {
            let (count, last, json): (i64, Option<i64>, String) = sqlx::query_as(
                "SELECT count(*), max(r), json_group_array(json_array(uscc, name, scope, \
                 division, entity_type, status)) FROM (SELECT rowid AS r, uscc, name, scope, \
                 division, entity_type, status FROM entities WHERE rowid > $1 ORDER BY rowid \
                 LIMIT $2)",
            )
            .bind(after)
            .bind(BUILD_PAGE)
            .fetch_one(p)
            .await?;
            let next = PageKey::Rowid(last.unwrap_or(after));
            Ok((Page::Json(json), count, next))
        }
        (Db::Postgres(p), PageKey::Uscc(after)) => {
            let rows: Vec<IndexedRow> = sqlx::query_as(
                "SELECT uscc, name, scope, division, entity_type, status FROM entities \
                 WHERE uscc > $1 ORDER BY uscc LIMIT $2",
            )
            .bind(&after)
            .bind(BUILD_PAGE)
            .fetch_all(p)
            .await?;
            let next = rows.last().map_or(after, |r| r.0.clone());
            let count = rows.len() as i64;
            Ok((Page::Rows(rows), count, PageKey::Uscc(next)))
        }
        _ => Err(AppError::Internal(anyhow::anyhow!(
            "a page key of the other backend"
        ))),
    }
}

/// Follows the event log into an [`EntityIndex`] (cursor [`CONSUMER`]). Reads go through
/// its own [`Db`]; the index is committed before the batch's cursor is.
pub struct SearchFollower {
    pub db: Db,
    pub index: Arc<EntityIndex>,
}

impl Consumer for SearchFollower {
    fn name(&self) -> &str {
        CONSUMER
    }

    fn wants(&self, e: &Event) -> bool {
        e.kind == "registry.entities.imported"
            || crate::lifecycle::ENTITY_EVENTS.contains(&e.kind.as_str())
    }

    async fn handle(&self, _tx: &mut Tx, batch: &[Event]) -> Result<(), AppError> {
        self.index.apply_events(&self.db, batch).await.map(|_| ())
    }
}

fn sibling(dir: &Path, suffix: &str) -> PathBuf {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    dir.with_file_name(format!("{name}.{suffix}"))
}

/// Whether `dir` holds an index built with another schema than this version's (an index
/// from before an upgrade that changed how entities are indexed). A folder without an
/// index, or one that cannot be read at all, is not: [`EntityIndex::open`] reports those.
pub fn built_by_another_version(dir: &Path) -> bool {
    if !dir.join("meta.json").exists() {
        return false;
    }
    match tantivy::Index::open_in_dir(dir) {
        Ok(index) => index.schema() != schema().0,
        Err(_) => false,
    }
}

/// Opens the index in `dir` for a server. When the folder holds an index that another
/// version of AMR built ([`built_by_another_version`]), it is rebuilt from the database
/// first ([`reindex`], progress in the log every million entities), so an upgrade that
/// changes the index needs no separate step; the server starts answering when it is done.
pub async fn open_current(db: &Db, dir: &Path) -> Result<EntityIndex, AppError> {
    // The usual start opens the index once; the schema is compared only when that fails.
    let refused = match EntityIndex::open(dir) {
        Ok(index) => return Ok(index),
        Err(e) => e,
    };
    if !built_by_another_version(dir) {
        return Err(refused);
    }
    tracing::warn!(
        dir = %dir.display(),
        "检索索引由其他版本建立，正在重建 (the search index was built by another version of AMR; rebuilding it)"
    );
    let n = reindex(db, dir, |n| {
        if n.is_multiple_of(1_000_000) {
            tracing::info!(entities = n, "rebuilding the search index");
        }
    })
    .await?;
    tracing::info!(entities = n, "search index rebuilt");
    EntityIndex::open(dir)
}

/// Rebuilds the index in `dir` from every entity in the database: streams them page by page
/// into a fresh index in `DIR.building`, then swaps it in (the old one is removed) and sets
/// the follower's cursor to the log head read before the stream began (later events are
/// replayed, harmlessly). Calls `progress` with the count every 10,000 entities and at the
/// end. A failure leaves the current index as it was. Run it with the server stopped (a
/// running server keeps its open index until restarted).
pub async fn reindex(db: &Db, dir: &Path, progress: impl Fn(u64)) -> Result<u64, AppError> {
    let head = amr_kernel::events::head(db).await?;
    let building = sibling(dir, "building");
    if building.exists() {
        std::fs::remove_dir_all(&building).map_err(internal)?;
    }
    let (schema, f) = schema();
    let index = super::open_index(&building, schema)?;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut writer: IndexWriter =
        ks::writer(&index, threads, BUILD_MEMORY).map_err(AppError::Internal)?;
    // No merges while building: each indexing thread's segment is flushed when its share of
    // BUILD_MEMORY is full (about a million entities) and kept as it is. Merging them as
    // they came (tantivy's log policy) cost the build half its speed past the first million,
    // and a merge at the end as long again; searches over a dozen segments stay well within
    // their target (docs/PERFORMANCE.md).
    writer.set_merge_policy(Box::new(NoMergePolicy));
    let mut n = 0u64;
    let first = match db {
        Db::Sqlite(..) => PageKey::Rowid(0),
        Db::Postgres(_) => PageKey::Uscc(String::new()),
    };
    // The next page is read while this one is indexed.
    let mut next = Some(tokio::spawn(read_page(db.clone(), first)));
    while let Some(reading) = next.take() {
        let (page, count, key) = reading
            .await
            .map_err(|e| AppError::Internal(anyhow::anyhow!("reading entities: {e}")))??;
        if count == BUILD_PAGE {
            next = Some(tokio::spawn(read_page(db.clone(), key)));
        }
        // add_document blocks only while tantivy's queue is full; the read of the next page
        // goes on meanwhile on another worker thread.
        let mut add = |row: Row<'_>| -> Result<(), AppError> {
            writer.add_document(document(&f, &row)).map_err(internal)?;
            n += 1;
            if n.is_multiple_of(10_000) {
                progress(n);
            }
            Ok(())
        };
        match &page {
            Page::Json(json) => {
                let rows: Vec<JsonRow<'_>> = serde_json::from_str(json).map_err(internal)?;
                for JsonRow(uscc, name, scope, division, entity_type, status) in &rows {
                    add(Row {
                        uscc,
                        name,
                        scope,
                        division,
                        entity_type,
                        status,
                    })?;
                }
            }
            Page::Rows(rows) => {
                for (uscc, name, scope, division, entity_type, status) in rows {
                    add(Row {
                        uscc,
                        name,
                        scope,
                        division,
                        entity_type,
                        status,
                    })?;
                }
            }
        }
    }
    writer.commit().map_err(internal)?;
    writer.wait_merging_threads().map_err(internal)?;
    drop(index);
    let old = sibling(dir, "old");
    if old.exists() {
        std::fs::remove_dir_all(&old).map_err(internal)?;
    }
    if dir.exists() {
        std::fs::rename(dir, &old).map_err(internal)?;
    }
    std::fs::rename(&building, dir).map_err(internal)?;
    if old.exists() {
        std::fs::remove_dir_all(&old).map_err(internal)?;
    }
    let mut tx = db.begin().await?;
    amr_kernel::events::runner::set_cursor(&mut tx, CONSUMER, head).await?;
    tx.commit().await?;
    progress(n);
    Ok(n)
}

/// `amr search reindex`: rebuilds the index in `dir` and prints progress to standard error.
pub async fn reindex_command(db: &Db, dir: &Path) -> anyhow::Result<u64> {
    let started = std::time::Instant::now();
    let n = reindex(db, dir, |n| {
        let secs = started.elapsed().as_secs_f64().max(1e-3);
        eprint!(
            "\r已索引 {n} 个主体 (indexed {n} entities, {:.0}/s)   ",
            n as f64 / secs
        );
    })
    .await
    .map_err(|e| anyhow::anyhow!("reindex into {} failed: {e}", dir.display()))?;
    eprintln!();
    Ok(n)
}
