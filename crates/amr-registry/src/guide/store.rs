//! The guide's SQL, on both backends. Every change runs in the caller's [`Tx`] with its audit
//! entry and its public event (`registry.guide.item.added` / `.changed` / `.retired`,
//! `registry.guide.imported`); the catalogue is public, so its events are too.
//!
//! Maintenance is bounded by jurisdiction: an officer adds, changes and retires items whose
//! area (`division`) lies within the officer's own (a city officer keeps the city's items, a
//! provincial officer the province's).

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Value, json};

use amr_kernel::audit::{self, Actor};
use amr_kernel::auth::Scope;
use amr_kernel::db::{Db, Tx};
use amr_kernel::error::AppError;
use amr_kernel::events::{self, NewEvent};
use amr_kernel::{on_conn, on_tx};

use super::model::{GuideItem, ItemInput, NewItem, Stage};
use crate::model::{FieldError, field_errors_to_app};

const COLUMNS: &str = "id, item_key, name, stage, department, division, conditions, materials, \
     time_limit_days, legal_basis, online_url, keywords, status, retired_reason, created_at, \
     updated_at, updated_by";

#[derive(sqlx::FromRow)]
struct ItemRow {
    id: i64,
    item_key: String,
    name: String,
    stage: String,
    department: String,
    division: String,
    conditions: String,
    materials: String,
    time_limit_days: Option<i64>,
    legal_basis: String,
    online_url: Option<String>,
    keywords: String,
    status: String,
    retired_reason: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    updated_by: String,
}

impl TryFrom<ItemRow> for GuideItem {
    type Error = AppError;
    fn try_from(r: ItemRow) -> Result<GuideItem, AppError> {
        let stage = Stage::parse(&r.stage).ok_or_else(|| {
            AppError::Internal(anyhow::anyhow!(
                "guide_items {}: unknown stage {:?}",
                r.item_key,
                r.stage
            ))
        })?;
        Ok(GuideItem {
            id: r.id,
            item_key: r.item_key,
            name: r.name,
            stage,
            stage_name: stage.name_zh(),
            department: r.department,
            division: r.division,
            conditions: r.conditions,
            materials: r.materials,
            time_limit_days: r.time_limit_days,
            legal_basis: r.legal_basis,
            online_url: r.online_url,
            keywords: r.keywords,
            status: r.status,
            retired_reason: r.retired_reason,
            created_at: r.created_at,
            updated_at: r.updated_at,
            updated_by: r.updated_by,
        })
    }
}

fn items(rows: Vec<ItemRow>) -> Result<Vec<GuideItem>, AppError> {
    rows.into_iter().map(GuideItem::try_from).collect()
}

/// The summary an event and an audit entry carry.
fn view(i: &NewItem) -> Value {
    serde_json::to_value(i).unwrap_or(Value::Null)
}

fn outside(division: &str) -> AppError {
    AppError::Forbidden(format!(
        "适用区域 {division} 不在您的辖区内 (the item's area {division} is outside your jurisdiction)"
    ))
}

/// An item by its key, active or retired ([`AppError::NotFound`] if unknown).
pub async fn get(db: &Db, key: &str) -> Result<GuideItem, AppError> {
    let sql = format!("SELECT {COLUMNS} FROM guide_items WHERE item_key = $1");
    let row: Option<ItemRow> = on_conn!(db, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(key.trim())
        .fetch_optional(c)
        .await?);
    row.ok_or(AppError::NotFound)?.try_into()
}

async fn get_in_tx(tx: &mut Tx, key: &str) -> Result<Option<GuideItem>, AppError> {
    let sql = format!("SELECT {COLUMNS} FROM guide_items WHERE item_key = $1");
    let row: Option<ItemRow> = on_tx!(tx, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(key)
        .fetch_optional(&mut *c)
        .await?);
    row.map(GuideItem::try_from).transpose()
}

async fn insert(tx: &mut Tx, actor: &Actor, i: &NewItem) -> Result<(), AppError> {
    let now = crate::store::now();
    on_tx!(tx, c => sqlx::query(
        "INSERT INTO guide_items (item_key, name, stage, department, division, conditions, \
         materials, time_limit_days, legal_basis, online_url, keywords, status, created_at, \
         updated_at, updated_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'active', $12, $12, $13)",
    )
    .bind(&i.item_key)
    .bind(&i.name)
    .bind(i.stage.as_str())
    .bind(&i.department)
    .bind(&i.division)
    .bind(&i.conditions)
    .bind(&i.materials)
    .bind(i.time_limit_days)
    .bind(&i.legal_basis)
    .bind(&i.online_url)
    .bind(&i.keywords)
    .bind(now)
    .bind(&actor.name)
    .execute(&mut *c)
    .await?
    .rows_affected());
    Ok(())
}

async fn overwrite(tx: &mut Tx, actor: &Actor, i: &NewItem) -> Result<(), AppError> {
    let now = crate::store::now();
    on_tx!(tx, c => sqlx::query(
        "UPDATE guide_items SET name = $2, stage = $3, department = $4, division = $5, \
         conditions = $6, materials = $7, time_limit_days = $8, legal_basis = $9, \
         online_url = $10, keywords = $11, status = 'active', retired_reason = NULL, \
         updated_at = $12, updated_by = $13 WHERE item_key = $1",
    )
    .bind(&i.item_key)
    .bind(&i.name)
    .bind(i.stage.as_str())
    .bind(&i.department)
    .bind(&i.division)
    .bind(&i.conditions)
    .bind(&i.materials)
    .bind(i.time_limit_days)
    .bind(&i.legal_basis)
    .bind(&i.online_url)
    .bind(&i.keywords)
    .bind(now)
    .bind(&actor.name)
    .execute(&mut *c)
    .await?
    .rows_affected());
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn record(
    tx: &mut Tx,
    actor: &Actor,
    action: &'static str,
    event: &str,
    key: &str,
    division: &str,
    before: Option<Value>,
    after: Option<Value>,
) -> Result<(), AppError> {
    events::append(
        tx,
        NewEvent::public(
            event,
            json!({"item_key": key, "before": before, "after": after}),
        )
        .division(division)
        .actor(actor.label()),
    )
    .await?;
    audit::record(
        tx,
        actor,
        audit::Change {
            action,
            target_kind: "guide_item",
            target_id: key.to_string(),
            division: Some(division.to_string()),
            before,
            after,
        },
    )
    .await?;
    Ok(())
}

/// Adds an item (its area within `scope`); a key already used is [`AppError::Conflict`].
pub async fn add(
    tx: &mut Tx,
    actor: &Actor,
    scope: &Scope,
    input: &ItemInput,
) -> Result<GuideItem, AppError> {
    let default = scope.as_prefix().unwrap_or_default().to_string();
    let item = input
        .validate(&default)
        .map_err(|e| field_errors_to_app(&e))?;
    if !scope.covers(&item.division) {
        return Err(outside(&item.division));
    }
    if get_in_tx(tx, &item.item_key).await?.is_some() {
        return Err(AppError::Conflict(format!(
            "事项编码 {} 已存在 (the item key {} is taken)",
            item.item_key, item.item_key
        )));
    }
    insert(tx, actor, &item).await?;
    record(
        tx,
        actor,
        "guide.item.add",
        "registry.guide.item.added",
        &item.item_key,
        &item.division,
        None,
        Some(view(&item)),
    )
    .await?;
    get_in_tx(tx, &item.item_key)
        .await?
        .ok_or(AppError::NotFound)
}

/// Changes the item `key` (the input's key must be the same; both the old and the new area
/// within `scope`). A change that changes nothing is refused and writes nothing.
pub async fn change(
    tx: &mut Tx,
    actor: &Actor,
    scope: &Scope,
    key: &str,
    input: &ItemInput,
) -> Result<GuideItem, AppError> {
    let old = get_in_tx(tx, key.trim()).await?.ok_or(AppError::NotFound)?;
    if !scope.covers(&old.division) {
        return Err(outside(&old.division));
    }
    let mut input = input.clone();
    if input.item_key.trim().is_empty() {
        input.item_key = old.item_key.clone();
    }
    let item = input
        .validate(&old.division)
        .map_err(|e| field_errors_to_app(&e))?;
    if item.item_key != old.item_key {
        return Err(AppError::bad_request(
            "item_key",
            "事项编码不能修改 (the item key cannot be changed)",
        ));
    }
    if !scope.covers(&item.division) {
        return Err(outside(&item.division));
    }
    if item == old.to_new() && old.status == "active" {
        return Err(AppError::rejected(
            "没有变更：新内容与现有事项相同 (nothing to change: the item is the same)",
        ));
    }
    overwrite(tx, actor, &item).await?;
    record(
        tx,
        actor,
        "guide.item.change",
        "registry.guide.item.changed",
        &item.item_key,
        &item.division,
        Some(view(&old.to_new())),
        Some(view(&item)),
    )
    .await?;
    get_in_tx(tx, &item.item_key)
        .await?
        .ok_or(AppError::NotFound)
}

/// Retires the item `key` with a reason (it leaves the public guide; its record stays).
pub async fn retire(
    tx: &mut Tx,
    actor: &Actor,
    scope: &Scope,
    key: &str,
    reason: &str,
) -> Result<GuideItem, AppError> {
    let old = get_in_tx(tx, key.trim()).await?.ok_or(AppError::NotFound)?;
    if !scope.covers(&old.division) {
        return Err(outside(&old.division));
    }
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(AppError::bad_request(
            "reason",
            "请填写停用理由（不超过 500 字）(give the reason for retiring, at most 500 characters)",
        ));
    }
    if old.status != "active" {
        return Err(AppError::rejected(
            "该事项已停用 (the item is already retired)",
        ));
    }
    let now = crate::store::now();
    on_tx!(tx, c => sqlx::query(
        "UPDATE guide_items SET status = 'retired', retired_reason = $2, updated_at = $3, \
         updated_by = $4 WHERE item_key = $1",
    )
    .bind(&old.item_key)
    .bind(reason)
    .bind(now)
    .bind(&actor.name)
    .execute(&mut *c)
    .await?
    .rows_affected());
    record(
        tx,
        actor,
        "guide.item.retire",
        "registry.guide.item.retired",
        &old.item_key,
        &old.division,
        Some(json!({"status": "active"})),
        Some(json!({"status": "retired", "reason": reason})),
    )
    .await?;
    get_in_tx(tx, &old.item_key)
        .await?
        .ok_or(AppError::NotFound)
}

/// One refused row of an import.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RowError {
    /// The line in the file (the header is line 1).
    pub row: u64,
    pub field: String,
    pub message: String,
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ImportReport {
    pub rows: u64,
    pub added: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub errors: Vec<RowError>,
}

/// Imports rows read by [`super::table::read`]: a new key is added, a known one updated (a
/// retired one comes back), an identical one counted as unchanged. Each bad row is reported
/// with its line, field and reason, and nothing of it is written; a key twice in the file is
/// an error on its second line. The good rows go in together in one transaction with one
/// audit entry (`guide.import`) and one public event (`registry.guide.imported`) that lists
/// the keys added and updated.
pub async fn import(
    db: &Db,
    actor: &Actor,
    scope: &Scope,
    default_division: &str,
    source: &str,
    rows: &[(u64, ItemInput)],
) -> Result<ImportReport, AppError> {
    let mut report = ImportReport::default();
    let mut seen: HashMap<String, u64> = HashMap::new();
    let mut tx = db.begin().await?;
    let (mut added, mut updated) = (Vec::new(), Vec::new());
    let push = |report: &mut ImportReport, row: u64, errs: Vec<FieldError>| {
        for e in errs {
            report.errors.push(RowError {
                row,
                field: e.field.to_string(),
                message: e.message,
            });
        }
    };
    for (line, input) in rows {
        report.rows += 1;
        let item = match input.validate(default_division) {
            Ok(i) => i,
            Err(errs) => {
                push(&mut report, *line, errs);
                continue;
            }
        };
        if let Some(first) = seen.get(&item.item_key) {
            push(
                &mut report,
                *line,
                vec![FieldError::new(
                    "item_key",
                    format!(
                        "事项编码 {} 在第 {first} 行已出现 (the key {} is already on line {first})",
                        item.item_key, item.item_key
                    ),
                )],
            );
            continue;
        }
        seen.insert(item.item_key.clone(), *line);
        if !scope.covers(&item.division) {
            push(
                &mut report,
                *line,
                vec![FieldError::new(
                    "division",
                    format!(
                        "适用区域 {} 不在您的辖区内 (the area is outside your jurisdiction)",
                        item.division
                    ),
                )],
            );
            continue;
        }
        match get_in_tx(&mut tx, &item.item_key).await? {
            None => {
                insert(&mut tx, actor, &item).await?;
                added.push(item.item_key.clone());
            }
            Some(old) if !scope.covers(&old.division) => push(
                &mut report,
                *line,
                vec![FieldError::new(
                    "item_key",
                    format!(
                        "事项 {} 属于 {}，不在您的辖区内 (the existing item is outside your jurisdiction)",
                        old.item_key, old.division
                    ),
                )],
            ),
            Some(old) if old.to_new() == item && old.status == "active" => report.unchanged += 1,
            Some(_) => {
                overwrite(&mut tx, actor, &item).await?;
                updated.push(item.item_key.clone());
            }
        }
    }
    report.added = added.len() as u64;
    report.updated = updated.len() as u64;
    if report.added + report.updated > 0 {
        let summary = json!({
            "source": source,
            "rows": report.rows,
            "added": added,
            "updated": updated,
            "unchanged": report.unchanged,
            "refused_rows": report.errors.iter().map(|e| e.row).collect::<HashSet<_>>().len(),
        });
        let division = scope.as_prefix().unwrap_or_default().to_string();
        events::append(
            &mut tx,
            NewEvent::public("registry.guide.imported", summary.clone())
                .division(division.clone())
                .actor(actor.label()),
        )
        .await?;
        audit::record(
            &mut tx,
            actor,
            audit::Change {
                action: "guide.import",
                target_kind: "guide",
                target_id: source.to_string(),
                division: Some(division),
                before: None,
                after: Some(summary),
            },
        )
        .await?;
    }
    tx.commit().await?;
    Ok(report)
}

/// What the public guide asks for.
#[derive(Debug, Clone, Default)]
pub struct GuideQuery {
    /// Free text, cut into words by jieba; empty: every item.
    pub q: String,
    pub stage: Option<Stage>,
    pub department: Option<String>,
    /// Only these keys (empty: any).
    pub keys: Vec<String>,
    /// Include retired items (the officer list).
    pub include_retired: bool,
}

/// Query words that say nothing about which item is meant.
const STOP_WORDS: &[&str] = &[
    "办理", "如何", "怎么", "怎样", "申请", "需要", "什么", "哪些", "哪里", "流程", "手续", "我",
    "要", "想", "的", "了", "吗", "在", "去", "和", "与", "及", "请问",
];

/// The words of a query: jieba's search-mode words without punctuation, stop words and (beside
/// longer words) single characters, lower-cased, at most 12; the whole query when nothing
/// else is left.
pub fn query_words(q: &str) -> Vec<String> {
    let q = q.trim();
    if q.is_empty() {
        return Vec::new();
    }
    let mut out: Vec<String> = Vec::new();
    for w in amr_kernel::search::words(q) {
        let w = w.trim().to_lowercase();
        if w.is_empty()
            || !w.chars().any(char::is_alphanumeric)
            || STOP_WORDS.contains(&w.as_str())
            || out.contains(&w)
        {
            continue;
        }
        out.push(w);
        if out.len() == 12 {
            break;
        }
    }
    // A single character (开, 办) says little beside longer words: keep it only when it is
    // all there is.
    if out.iter().any(|w| w.chars().count() > 1) {
        out.retain(|w| w.chars().count() > 1);
    }
    if out.is_empty() {
        out.push(q.to_lowercase());
    }
    out
}

/// How well an item answers the words: (words found, weighted score). A word in the name
/// weighs 4, in the keywords 3, in the department 2, elsewhere 1.
fn score(item: &GuideItem, words: &[String]) -> (usize, u32) {
    let fields = [
        (item.name.to_lowercase(), 4),
        (item.keywords.to_lowercase(), 3),
        (item.department.to_lowercase(), 2),
        (item.conditions.to_lowercase(), 1),
        (item.materials.to_lowercase(), 1),
        (item.legal_basis.to_lowercase(), 1),
    ];
    let mut found = 0;
    let mut total = 0;
    for w in words {
        let best = fields
            .iter()
            .filter(|(f, _)| f.contains(w.as_str()))
            .map(|(_, s)| *s)
            .max();
        if let Some(s) = best {
            found += 1;
            total += s;
        }
    }
    (found, total)
}

/// Escapes `%`, `_` and `\` for a LIKE pattern with `ESCAPE '\'`.
fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Longest answer.
pub const MAX_RESULTS: usize = 500;

/// The items that answer `query`, best first. With words, an item must hold every word
/// somewhere; when no item does, those that hold the most words are returned. Without
/// words, all matching items in stage order, then by key.
pub async fn search(db: &Db, query: &GuideQuery) -> Result<Vec<GuideItem>, AppError> {
    let words = query_words(&query.q);
    let mut conds: Vec<String> = Vec::new();
    let mut binds: Vec<String> = Vec::new();
    let param = |binds: &mut Vec<String>, v: String| {
        binds.push(v);
        format!("${}", binds.len())
    };
    if !query.include_retired {
        conds.push("status = 'active'".into());
    }
    if let Some(s) = query.stage {
        let p = param(&mut binds, s.as_str().into());
        conds.push(format!("stage = {p}"));
    }
    if let Some(d) = &query.department {
        let p = param(&mut binds, d.clone());
        conds.push(format!("department = {p}"));
    }
    if !query.keys.is_empty() {
        let ps: Vec<String> = query
            .keys
            .iter()
            .take(200)
            .map(|k| param(&mut binds, k.trim().to_string()))
            .collect();
        conds.push(format!("item_key IN ({})", ps.join(", ")));
    }
    if !words.is_empty() {
        let mut any = Vec::new();
        for w in &words {
            let p = param(&mut binds, format!("%{}%", like_escape(w)));
            for col in [
                "name",
                "keywords",
                "department",
                "conditions",
                "materials",
                "legal_basis",
            ] {
                any.push(format!("LOWER({col}) LIKE {p} ESCAPE '\\'"));
            }
        }
        conds.push(format!("({})", any.join(" OR ")));
    }
    let filter = if conds.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", conds.join(" AND "))
    };
    let sql = format!("SELECT {COLUMNS} FROM guide_items{filter} ORDER BY item_key");
    let rows: Vec<ItemRow> = on_conn!(db, c => {
        let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql));
        for b in &binds {
            q = q.bind(b.as_str());
        }
        q.fetch_all(c).await?
    });
    let mut found = items(rows)?;
    if words.is_empty() {
        found.sort_by(|a, b| (a.stage, &a.item_key).cmp(&(b.stage, &b.item_key)));
    } else {
        let mut scored: Vec<((usize, u32), GuideItem)> =
            found.into_iter().map(|i| (score(&i, &words), i)).collect();
        let best = scored.iter().map(|(s, _)| s.0).max().unwrap_or(0);
        scored.retain(|(s, _)| s.0 == best && best > 0);
        scored.sort_by(|(sa, a), (sb, b)| {
            sb.1.cmp(&sa.1)
                .then(a.stage.cmp(&b.stage))
                .then(a.item_key.cmp(&b.item_key))
        });
        found = scored.into_iter().map(|(_, i)| i).collect();
    }
    found.truncate(MAX_RESULTS);
    Ok(found)
}

/// The active items that apply at a step of another page: those of `stage` (if given),
/// narrowed to the keys named (if any), in stage order, then by key. This is what the
/// registration pages call.
pub async fn applicable(
    db: &Db,
    stage: Option<Stage>,
    keys: &[&str],
) -> Result<Vec<GuideItem>, AppError> {
    search(
        db,
        &GuideQuery {
            stage,
            keys: keys.iter().map(|k| k.to_string()).collect(),
            ..GuideQuery::default()
        },
    )
    .await
}

/// The departments of the active items, for the filter.
pub async fn departments(db: &Db) -> Result<Vec<String>, AppError> {
    Ok(on_conn!(db, c => sqlx::query_scalar(
        "SELECT DISTINCT department FROM guide_items WHERE status = 'active' ORDER BY department",
    )
    .fetch_all(c)
    .await?))
}

#[cfg(test)]
mod tests {
    use super::query_words;

    #[test]
    fn query_words_drop_question_words_and_lone_characters() {
        assert_eq!(query_words("怎么办理简易注销"), ["简易", "注销"]);
        assert_eq!(query_words("开饭店"), ["饭店"]);
        assert_eq!(query_words("  "), Vec::<String>::new());
        assert_eq!(query_words("名"), ["名"]);
    }
}
