//! The SQL of inspection plans, on both backends: drafts and their tasks, publication
//! (frozen lists, hashes, the seed commitment), the draw (visits, samples, report) and the
//! reads of officers and the public.
//!
//! Jurisdiction: officers see and change only plans whose scope lies within theirs
//! (`insp_plans.scope` filtered by their prefix); any other plan is [`AppError::NotFound`].
//! The public sees published and drawn plans, never drafts, and the seed's secret only after
//! the draw.
//!
//! Every change runs in one transaction with its audit entry and its event:
//! `supervision.plan.created`, `.updated`, `.task_saved`, `.task_removed`, `.task_joined`
//! (internal); `supervision.plan.published` and `supervision.plan.drawn` (public; their
//! payloads hold counts, not names, since free text could carry personal data).

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;

use amr_kernel::audit::{self, Actor};
use amr_kernel::auth::Scope;
use amr_kernel::db::{Db, Tx, TxInner};
use amr_kernel::error::AppError;
use amr_kernel::events::{self, NewEvent};
use amr_kernel::{on_conn, on_tx};

use super::chunks;
use super::engine::{self, JointProposal, TargetSet};
use super::freeze;
use super::model::{DRAFT, DRAWN, PUBLISHED, PlanInput, TaskInput, next_task_id};
use crate::draw::model::{Crew, Inspector, ItemRef, PerClass, Plan, Report, Shortfall};
use crate::targets::RegistrySource;

/// A plan as officers see it.
#[derive(Debug, Clone, Serialize)]
pub struct PlanRecord {
    pub id: i64,
    pub name: String,
    pub period: String,
    pub scope: String,
    pub state: String,
    pub plan: Plan,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub published_at: Option<DateTime<Utc>>,
    pub published_by: Option<String>,
    pub targets_hash: Option<String>,
    pub targets_count: Option<i64>,
    pub inspectors_hash: Option<String>,
    pub inspectors_count: Option<i64>,
    pub seed_commitment: Option<String>,
    /// Shown only once the plan is drawn.
    pub seed_secret: Option<String>,
    pub public_value_source: Option<String>,
    pub public_value: Option<String>,
    pub seed: Option<String>,
    pub drawn_at: Option<DateTime<Utc>>,
    pub drawn_by: Option<String>,
    pub report: Option<Report>,
}

impl PlanRecord {
    /// What the public sees: no draft, no officer names, the secret only after the draw.
    pub fn public_view(&self) -> serde_json::Value {
        json!({
            "id": self.id,
            "name": self.name,
            "period": self.period,
            "scope": self.scope,
            "state": self.state,
            "plan": self.plan,
            "algorithm": crate::draw::model::ALGORITHM,
            "published_at": self.published_at,
            "targets_hash": self.targets_hash,
            "targets_count": self.targets_count,
            "inspectors_hash": self.inspectors_hash,
            "inspectors_count": self.inspectors_count,
            "seed_commitment": self.seed_commitment,
            "public_value_source": self.public_value_source,
            "public_value": self.public_value,
            "seed_secret": self.seed_secret,
            "seed": self.seed,
            "drawn_at": self.drawn_at,
            "report": self.report,
        })
    }
}

const COLUMNS: &str = "id, name, period, scope, state, plan_json, created_by, created_at, \
     updated_at, published_at, published_by, targets_hash, targets_count, inspectors_hash, \
     inspectors_count, seed_commitment, seed_secret, public_value_source, public_value, seed, \
     drawn_at, drawn_by, report_json";

#[derive(sqlx::FromRow)]
struct PlanRow {
    id: i64,
    name: String,
    period: String,
    scope: String,
    state: String,
    plan_json: String,
    created_by: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    published_at: Option<DateTime<Utc>>,
    published_by: Option<String>,
    targets_hash: Option<String>,
    targets_count: Option<i64>,
    inspectors_hash: Option<String>,
    inspectors_count: Option<i64>,
    seed_commitment: Option<String>,
    seed_secret: Option<String>,
    public_value_source: Option<String>,
    public_value: Option<String>,
    seed: Option<String>,
    drawn_at: Option<DateTime<Utc>>,
    drawn_by: Option<String>,
    report_json: Option<String>,
}

fn internal(id: i64, what: &str, e: impl std::fmt::Display) -> AppError {
    AppError::Internal(anyhow::anyhow!("plan {id}: {what}: {e}"))
}

impl TryFrom<PlanRow> for PlanRecord {
    type Error = AppError;
    fn try_from(r: PlanRow) -> Result<PlanRecord, AppError> {
        let plan: Plan =
            serde_json::from_str(&r.plan_json).map_err(|e| internal(r.id, "plan_json", e))?;
        let report = match &r.report_json {
            Some(s) => Some(serde_json::from_str(s).map_err(|e| internal(r.id, "report", e))?),
            None => None,
        };
        let drawn = r.state == DRAWN;
        Ok(PlanRecord {
            id: r.id,
            name: r.name,
            period: r.period,
            scope: r.scope,
            state: r.state,
            plan,
            created_by: r.created_by,
            created_at: r.created_at,
            updated_at: r.updated_at,
            published_at: r.published_at,
            published_by: r.published_by,
            targets_hash: r.targets_hash,
            targets_count: r.targets_count,
            inspectors_hash: r.inspectors_hash,
            inspectors_count: r.inspectors_count,
            seed_commitment: r.seed_commitment,
            seed_secret: r.seed_secret.filter(|_| drawn),
            public_value_source: r.public_value_source,
            public_value: r.public_value,
            seed: r.seed,
            drawn_at: r.drawn_at,
            drawn_by: r.drawn_by,
            report,
        })
    }
}

fn lock(tx: &Tx) -> &'static str {
    match tx.inner {
        TxInner::Postgres(_) => " FOR UPDATE",
        TxInner::Sqlite(_) => "",
    }
}

/// The plan within the officer's jurisdiction, or 404.
pub async fn get(db: &Db, scope: &Scope, id: i64) -> Result<PlanRecord, AppError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM insp_plans WHERE id = $1 AND {}",
        scope.division_filter("scope", 2)
    );
    let row: Option<PlanRow> = on_conn!(db, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(scope.like_pattern())
        .fetch_optional(c)
        .await?);
    row.ok_or(AppError::NotFound)?.try_into()
}

async fn get_in_tx(tx: &mut Tx, scope: &Scope, id: i64) -> Result<PlanRecord, AppError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM insp_plans WHERE id = $1 AND {}{}",
        scope.division_filter("scope", 2),
        lock(tx)
    );
    let row: Option<PlanRow> = on_tx!(tx, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(scope.like_pattern())
        .fetch_optional(&mut *c)
        .await?);
    row.ok_or(AppError::NotFound)?.try_into()
}

/// The raw secret (the server's own use, for the draw).
async fn secret_of(db: &Db, id: i64) -> Result<Option<String>, AppError> {
    let s: Option<Option<String>> = on_conn!(db, c => sqlx::query_scalar(
        "SELECT seed_secret FROM insp_plans WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(c)
    .await?);
    Ok(s.flatten())
}

fn frozen() -> AppError {
    AppError::Conflict(
        "计划已发布，计划和名单不能再修改 (the plan is published; it and its lists can no longer change)"
            .into(),
    )
}

/// A published or drawn plan, for anyone; drafts are 404.
pub async fn public_get(db: &Db, id: i64) -> Result<PlanRecord, AppError> {
    let rec = get(db, &Scope::all(), id).await?;
    if rec.state == DRAFT {
        return Err(AppError::NotFound);
    }
    Ok(rec)
}

/// One line of a plan list.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct PlanSummary {
    pub id: i64,
    pub name: String,
    pub period: String,
    pub scope: String,
    pub state: String,
    pub updated_at: DateTime<Utc>,
    pub targets_count: Option<i64>,
}

/// Lines of a list page.
pub const LIST_PAGE: i64 = 50;

/// The plans within the officer's jurisdiction (`public`: published and drawn ones of every
/// region), newest first, with ids below `before`.
pub async fn list(
    db: &Db,
    scope: &Scope,
    public: bool,
    before: Option<i64>,
) -> Result<Vec<PlanSummary>, AppError> {
    let sql = format!(
        "SELECT id, name, period, scope, state, updated_at, targets_count FROM insp_plans \
         WHERE {} AND id < $2 {} ORDER BY id DESC LIMIT $3",
        scope.division_filter("scope", 1),
        if public { "AND state <> 'draft'" } else { "" }
    );
    let rows: Vec<PlanSummary> = on_conn!(db, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(scope.like_pattern())
        .bind(before.unwrap_or(i64::MAX))
        .bind(LIST_PAGE)
        .fetch_all(c)
        .await?);
    Ok(rows)
}

/// Checks a plan's tasks against the library (departments exist; each department's items are
/// its own) and then with the engine's `validate_plan`.
pub async fn check_plan(db: &Db, plan: &Plan) -> Result<Vec<ItemRef>, AppError> {
    let departments = crate::library::store::departments(db).await?;
    let library = crate::library::items_for_draw(db).await?;
    let known = |d: &str| departments.iter().any(|x| x.code == d);
    for t in &plan.tasks {
        let mut parts = vec![(t.department.as_str(), &t.items)];
        parts.extend(t.joined.iter().map(|p| (p.department.as_str(), &p.items)));
        for (dept, items) in parts {
            if !known(dept) {
                return Err(AppError::bad_request(
                    "department",
                    format!(
                        "任务 {}：部门 {dept} 不在部门库中 (task {}: unknown department {dept})",
                        t.id, t.id
                    ),
                ));
            }
            for code in items.iter() {
                match library.iter().find(|i| &i.code == code) {
                    None => {
                        return Err(AppError::bad_request(
                            "items",
                            format!(
                                "任务 {}：抽查事项 {code} 不在事项清单中 (task {}: item {code} is not in the item list)",
                                t.id, t.id
                            ),
                        ));
                    }
                    Some(i) if i.department != dept => {
                        return Err(AppError::bad_request(
                            "items",
                            format!(
                                "任务 {}：抽查事项 {code} 属于部门 {}，不属于 {dept} (task {}: item {code} belongs to department {}, not {dept})",
                                t.id, i.department, t.id, i.department
                            ),
                        ));
                    }
                    Some(_) => {}
                }
            }
        }
    }
    let items = freeze::items(db, plan).await?;
    engine::validate(plan, &items)?;
    Ok(items)
}

async fn write_plan(
    tx: &mut Tx,
    actor: &Actor,
    rec: &PlanRecord,
    plan: &Plan,
    action: &str,
    event: &str,
    detail: serde_json::Value,
) -> Result<(), AppError> {
    let json = serde_json::to_string(plan).map_err(|e| internal(rec.id, "encode", e))?;
    let n = on_tx!(tx, c => sqlx::query(
        "UPDATE insp_plans SET name = $1, period = $2, scope = $3, plan_json = $4, \
         public_value_source = $5, updated_at = $6 WHERE id = $7 AND state = 'draft'",
    )
    .bind(&plan.name)
    .bind(&plan.period)
    .bind(&plan.scope)
    .bind(&json)
    .bind(&plan.public_value_source)
    .bind(Utc::now())
    .bind(rec.id)
    .execute(&mut *c)
    .await?
    .rows_affected());
    if n != 1 {
        return Err(frozen());
    }
    audit::record(
        tx,
        actor,
        audit::Change {
            action,
            target_kind: "inspection_plan",
            target_id: rec.id.to_string(),
            division: Some(plan.scope.clone()),
            before: Some(json!(rec.plan)),
            after: Some(json!(plan)),
        },
    )
    .await?;
    let mut payload = json!({ "plan_id": rec.id });
    if let (Some(p), serde_json::Value::Object(d)) = (payload.as_object_mut(), detail) {
        p.extend(d);
    }
    events::append(
        tx,
        NewEvent::internal(event, payload)
            .division(plan.scope.clone())
            .actor(actor.label()),
    )
    .await?;
    Ok(())
}

/// Creates a draft plan (no tasks yet) within the officer's jurisdiction; its id.
pub async fn create(
    db: &Db,
    actor: &Actor,
    scope: &Scope,
    input: &PlanInput,
) -> Result<i64, AppError> {
    let plan = input.to_plan(scope, Vec::new())?;
    let json = serde_json::to_string(&plan).map_err(|e| internal(0, "encode", e))?;
    let now = Utc::now();
    let mut tx = db.begin().await?;
    let id: i64 = on_tx!(tx, c => sqlx::query_scalar(
        "INSERT INTO insp_plans (name, period, scope, state, plan_json, created_by, created_at, \
         updated_at, public_value_source) VALUES ($1, $2, $3, 'draft', $4, $5, $6, $6, $7) RETURNING id",
    )
    .bind(&plan.name)
    .bind(&plan.period)
    .bind(&plan.scope)
    .bind(&json)
    .bind(&actor.name)
    .bind(now)
    .bind(&plan.public_value_source)
    .fetch_one(&mut *c)
    .await?);
    audit::record(
        &mut tx,
        actor,
        audit::Change {
            action: "inspection.plan.create",
            target_kind: "inspection_plan",
            target_id: id.to_string(),
            division: Some(plan.scope.clone()),
            before: None,
            after: Some(json!(plan)),
        },
    )
    .await?;
    events::append(
        &mut tx,
        NewEvent::internal("supervision.plan.created", json!({ "plan_id": id }))
            .division(plan.scope.clone())
            .actor(actor.label()),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

async fn draft_in_tx(tx: &mut Tx, scope: &Scope, id: i64) -> Result<PlanRecord, AppError> {
    let rec = get_in_tx(tx, scope, id).await?;
    if rec.state != DRAFT {
        return Err(frozen());
    }
    Ok(rec)
}

/// Changes a draft's own fields (its tasks stay). The plan is checked again as a whole.
pub async fn update(
    db: &Db,
    actor: &Actor,
    scope: &Scope,
    id: i64,
    input: &PlanInput,
) -> Result<PlanRecord, AppError> {
    let mut tx = db.begin().await?;
    let rec = draft_in_tx(&mut tx, scope, id).await?;
    let plan = input.to_plan(scope, rec.plan.tasks.clone())?;
    if !plan.tasks.is_empty() {
        check_plan(db, &plan).await?;
    }
    write_plan(
        &mut tx,
        actor,
        &rec,
        &plan,
        "inspection.plan.update",
        "supervision.plan.updated",
        json!({}),
    )
    .await?;
    tx.commit().await?;
    get(db, scope, id).await
}

/// Adds a task (empty `id`) or replaces the task with that id; the task's id.
pub async fn save_task(
    db: &Db,
    actor: &Actor,
    scope: &Scope,
    id: i64,
    input: &TaskInput,
) -> Result<String, AppError> {
    let mut tx = db.begin().await?;
    let rec = draft_in_tx(&mut tx, scope, id).await?;
    let mut plan = rec.plan.clone();
    let wanted = input.id.trim();
    let task_id = if wanted.is_empty() {
        next_task_id(&plan.tasks)
    } else if plan.tasks.iter().any(|t| t.id == wanted) {
        wanted.to_string()
    } else {
        return Err(AppError::NotFound);
    };
    let task = input.to_task(task_id.clone())?;
    match plan.tasks.iter_mut().find(|t| t.id == task_id) {
        Some(t) => *t = task,
        None => {
            if plan.tasks.len() >= 500 {
                return Err(AppError::bad_request(
                    "tasks",
                    "一个计划至多 500 个任务 (a plan has at most 500 tasks)",
                ));
            }
            plan.tasks.push(task);
        }
    }
    check_plan(db, &plan).await?;
    write_plan(
        &mut tx,
        actor,
        &rec,
        &plan,
        "inspection.plan.task_save",
        "supervision.plan.task_saved",
        json!({ "task": task_id }),
    )
    .await?;
    tx.commit().await?;
    Ok(task_id)
}

/// Removes a task of a draft.
pub async fn remove_task(
    db: &Db,
    actor: &Actor,
    scope: &Scope,
    id: i64,
    task_id: &str,
) -> Result<(), AppError> {
    let mut tx = db.begin().await?;
    let rec = draft_in_tx(&mut tx, scope, id).await?;
    let mut plan = rec.plan.clone();
    let before = plan.tasks.len();
    plan.tasks.retain(|t| t.id != task_id);
    if plan.tasks.len() == before {
        return Err(AppError::NotFound);
    }
    write_plan(
        &mut tx,
        actor,
        &rec,
        &plan,
        "inspection.plan.task_remove",
        "supervision.plan.task_removed",
        json!({ "task": task_id }),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Makes the lead department of task `from` (with its items) join task `into`, and removes
/// `from`: one joint task instead of two (the proposals' button).
pub async fn join_task(
    db: &Db,
    actor: &Actor,
    scope: &Scope,
    id: i64,
    from: &str,
    into: &str,
) -> Result<(), AppError> {
    if from == into {
        return Err(AppError::bad_request(
            "into",
            "任务不能并入自身 (a task cannot join itself)",
        ));
    }
    let mut tx = db.begin().await?;
    let rec = draft_in_tx(&mut tx, scope, id).await?;
    let mut plan = rec.plan.clone();
    let source = plan
        .tasks
        .iter()
        .find(|t| t.id == from)
        .cloned()
        .ok_or(AppError::NotFound)?;
    let target = plan
        .tasks
        .iter_mut()
        .find(|t| t.id == into)
        .ok_or(AppError::NotFound)?;
    let mut joining = vec![crate::draw::model::Participant {
        department: source.department.clone(),
        items: source.items.clone(),
    }];
    joining.extend(source.joined.iter().cloned());
    for p in joining {
        if p.department == target.department {
            for i in p.items {
                if !target.items.contains(&i) {
                    target.items.push(i);
                }
            }
            target.items.sort();
            continue;
        }
        match target
            .joined
            .iter_mut()
            .find(|q| q.department == p.department)
        {
            Some(q) => {
                for i in p.items {
                    if !q.items.contains(&i) {
                        q.items.push(i);
                    }
                }
                q.items.sort();
            }
            None => target.joined.push(p),
        }
    }
    plan.tasks.retain(|t| t.id != from);
    check_plan(db, &plan).await?;
    write_plan(
        &mut tx,
        actor,
        &rec,
        &plan,
        "inspection.plan.task_join",
        "supervision.plan.task_joined",
        json!({ "task": from, "into": into }),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The current targets of a scope (not stored), for previews and proposals.
pub async fn current_targets(
    db: &Db,
    registry: &dyn RegistrySource,
    scope: &str,
) -> Result<TargetSet, AppError> {
    freeze::targets(db, registry, scope, &mut freeze::Sink::None, &mut |_| {}).await
}

/// The size per class of a population expression over the current targets of the plan's
/// scope (the task form's live count).
pub async fn preview(
    db: &Db,
    registry: &dyn RegistrySource,
    rec: &PlanRecord,
    expr: &str,
) -> Result<PerClass<u64>, AppError> {
    if expr.chars().count() > 500 {
        return Err(AppError::bad_request(
            "population",
            "抽查对象范围表达式不超过 500 字 (the population expression is at most 500 characters)",
        ));
    }
    let expr = match expr.trim() {
        "" => "*",
        e => e,
    };
    let set = current_targets(db, registry, &rec.scope).await?;
    engine::population(&rec.plan, expr, &set)
}

/// The engine's joint-task proposals over the current targets.
pub async fn proposals(
    db: &Db,
    registry: &dyn RegistrySource,
    rec: &PlanRecord,
) -> Result<Vec<JointProposal>, AppError> {
    if rec.plan.tasks.len() < 2 {
        return Ok(Vec::new());
    }
    let set = current_targets(db, registry, &rec.scope).await?;
    engine::propose_joint(&rec.plan, &set)
}

fn new_secret() -> String {
    use rand::RngExt;
    let mut bytes = [0u8; 32];
    rand::rng().fill(&mut bytes);
    hex::encode(bytes)
}

/// Publishes a draft: freezes the targets, inspectors and items as chunks, stores their
/// hashes, generates the 32-byte secret and stores its commitment. One transaction; after it
/// the plan and its lists cannot change. `progress` gets the targets frozen so far.
pub async fn publish(
    db: &Db,
    registry: &dyn RegistrySource,
    actor: &Actor,
    scope: &Scope,
    id: i64,
    progress: &mut (dyn FnMut(u64) + Send),
) -> Result<PlanRecord, AppError> {
    let mut tx = db.begin().await?;
    let rec = draft_in_tx(&mut tx, scope, id).await?;
    let plan = rec.plan.clone();
    if plan.tasks.is_empty() {
        return Err(AppError::rejected(
            "计划还没有任务，不能发布 (the plan has no task yet and cannot be published)",
        ));
    }
    if plan.public_value_source.is_none() {
        return Err(AppError::bad_request(
            "public_value_source",
            "发布前须写明公开随机值的来源 (name the public value's source before publishing)",
        ));
    }
    let items = check_plan(db, &plan).await?;
    let set = freeze::targets(
        db,
        registry,
        &plan.scope,
        &mut freeze::Sink::Plan(&mut tx, id),
        progress,
    )
    .await?;
    let targets_hash = engine::targets_hash(&set)?;
    let targets_count = set.len() as i64;
    drop(set);
    let inspectors = crate::library::inspectors_for_draw(db, &plan.scope).await?;
    let inspectors_hash = engine::inspectors_hash(&inspectors)?;
    chunks::write_all(&mut tx, id, chunks::INSPECTORS, &inspectors).await?;
    chunks::write_all(&mut tx, id, chunks::ITEMS, &items).await?;
    let secret = new_secret();
    let commitment = engine::commitment(&secret)?;
    let now = Utc::now();
    let n = on_tx!(tx, c => sqlx::query(
        "UPDATE insp_plans SET state = 'published', published_at = $1, published_by = $2, \
         targets_hash = $3, targets_count = $4, inspectors_hash = $5, inspectors_count = $6, \
         seed_commitment = $7, seed_secret = $8, updated_at = $1 WHERE id = $9 AND state = 'draft'",
    )
    .bind(now)
    .bind(&actor.name)
    .bind(&targets_hash)
    .bind(targets_count)
    .bind(&inspectors_hash)
    .bind(inspectors.len() as i64)
    .bind(&commitment)
    .bind(&secret)
    .bind(id)
    .execute(&mut *c)
    .await?
    .rows_affected());
    if n != 1 {
        return Err(frozen());
    }
    audit::record(
        &mut tx,
        actor,
        audit::Change {
            action: "inspection.plan.publish",
            target_kind: "inspection_plan",
            target_id: id.to_string(),
            division: Some(plan.scope.clone()),
            before: Some(json!({ "state": DRAFT })),
            after: Some(json!({
                "state": PUBLISHED,
                "targets_hash": targets_hash,
                "targets_count": targets_count,
                "inspectors_hash": inspectors_hash,
                "inspectors_count": inspectors.len(),
                "seed_commitment": commitment,
            })),
        },
    )
    .await?;
    events::append(
        &mut tx,
        NewEvent::public(
            "supervision.plan.published",
            json!({
                "plan_id": id,
                "scope": plan.scope,
                "period": plan.period,
                "tasks": plan.tasks.len(),
                "targets_count": targets_count,
                "inspectors_count": inspectors.len(),
            }),
        )
        .division(plan.scope.clone())
        .actor(actor.label()),
    )
    .await?;
    tx.commit().await?;
    get(db, scope, id).await
}

/// The frozen lists of a published plan, read back chunk by chunk.
pub struct FrozenLists {
    pub items: Vec<ItemRef>,
    pub inspectors: Vec<Inspector>,
    pub targets: TargetSet,
}

impl std::fmt::Debug for FrozenLists {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FrozenLists")
            .field("items", &self.items.len())
            .field("inspectors", &self.inspectors.len())
            .field("targets", &self.targets.len())
            .finish()
    }
}

/// Reads the frozen lists of a plan and checks them against the hashes published with it.
pub async fn frozen_lists(db: &Db, rec: &PlanRecord) -> Result<FrozenLists, AppError> {
    let items = chunks::read_all(db, rec.id, chunks::ITEMS).await?;
    let inspectors: Vec<Inspector> = chunks::read_all(db, rec.id, chunks::INSPECTORS).await?;
    let mut targets = TargetSet::new();
    chunks::for_each(db, rec.id, chunks::TARGETS, |t| {
        engine::push(&mut targets, &t)
    })
    .await?;
    if Some(engine::targets_hash(&targets)?) != rec.targets_hash
        || Some(engine::inspectors_hash(&inspectors)?) != rec.inspectors_hash
    {
        return Err(AppError::Internal(anyhow::anyhow!(
            "plan {}: the stored lists do not match their published hashes",
            rec.id
        )));
    }
    Ok(FrozenLists {
        items,
        inspectors,
        targets,
    })
}

/// Checks the observed public value an officer enters.
pub fn parse_public_value(s: &str) -> Result<String, AppError> {
    let s = s.trim();
    let n = s.chars().count();
    if n == 0 || n > 200 {
        return Err(AppError::bad_request(
            "public_value",
            "请填写观测到的公开随机值（不超过 200 字） (enter the observed public value, at most 200 characters)",
        ));
    }
    Ok(s.to_string())
}

/// Visits a statement (9 columns: 900 parameters, within both backends' limits).
const VISIT_BATCH: usize = 100;

/// Draws a published plan with the observed public value: the seed from the committed secret
/// and the value, the engine's draw on a blocking thread, then visits, samples and report in
/// one transaction; the plan becomes `drawn` and its secret and seed public.
pub async fn draw(
    db: &Db,
    actor: &Actor,
    scope: &Scope,
    id: i64,
    public_value: &str,
) -> Result<PlanRecord, AppError> {
    let public_value = parse_public_value(public_value)?;
    let rec = get(db, scope, id).await?;
    if rec.state != PUBLISHED {
        return Err(AppError::Conflict(match rec.state.as_str() {
            DRAFT => "计划尚未发布，不能抽取 (the plan is not published yet)".into(),
            _ => "计划已抽取 (the plan has been drawn already)".into(),
        }));
    }
    let secret = secret_of(db, id)
        .await?
        .ok_or_else(|| internal(id, "secret", "missing"))?;
    let seed = engine::derive_seed(&secret, &public_value)?;
    let lists = frozen_lists(db, &rec).await?;
    let plan = rec.plan.clone();
    let seed_for_draw = seed.clone();
    let outcome = tokio::task::spawn_blocking(move || {
        engine::draw(
            &plan,
            &lists.items,
            &lists.targets,
            &lists.inspectors,
            &seed_for_draw,
            &|_| {},
        )
    })
    .await
    .map_err(|e| internal(id, "draw thread", e))??;
    let report_json =
        serde_json::to_string(&outcome.report).map_err(|e| internal(id, "report", e))?;
    let mut tx = db.begin().await?;
    let now = Utc::now();
    let n = on_tx!(tx, c => sqlx::query(
        "UPDATE insp_plans SET state = 'drawn', public_value = $1, seed = $2, drawn_at = $3, \
         drawn_by = $4, report_json = $5, updated_at = $3 WHERE id = $6 AND state = 'published'",
    )
    .bind(&public_value)
    .bind(&seed)
    .bind(now)
    .bind(&actor.name)
    .bind(&report_json)
    .bind(id)
    .execute(&mut *c)
    .await?
    .rows_affected());
    if n != 1 {
        return Err(AppError::Conflict(
            "计划已抽取 (the plan has been drawn already)".into(),
        ));
    }
    insert_visits(&mut tx, id, &outcome.visits).await?;
    chunks::write_all(&mut tx, id, chunks::SAMPLES, &outcome.samples).await?;
    let r = &outcome.report;
    audit::record(
        &mut tx,
        actor,
        audit::Change {
            action: "inspection.plan.draw",
            target_kind: "inspection_plan",
            target_id: id.to_string(),
            division: Some(rec.scope.clone()),
            before: Some(json!({ "state": PUBLISHED })),
            after: Some(json!({
                "state": DRAWN,
                "public_value": public_value,
                "seed": seed,
                "visits": outcome.visits.len(),
                "report": r,
            })),
        },
    )
    .await?;
    events::append(
        &mut tx,
        NewEvent::public(
            "supervision.plan.drawn",
            json!({
                "plan_id": id,
                "scope": rec.scope,
                "visits": outcome.visits.len(),
                "joint_visits": r.coordinated.joint_visits,
                "unstaffed_visits": r.unstaffed_visits,
            }),
        )
        .division(rec.scope.clone())
        .actor(actor.label()),
    )
    .await?;
    tx.commit().await?;
    get(db, scope, id).await
}

async fn insert_visits(
    tx: &mut Tx,
    plan_id: i64,
    visits: &[crate::draw::model::Visit],
) -> Result<(), AppError> {
    for batch in visits.chunks(VISIT_BATCH) {
        let mut sql = String::from(
            "INSERT INTO insp_visits (plan_id, visit_no, uscc, division, tasks, departments, \
             crews, unstaffed, joint) VALUES ",
        );
        for i in 0..batch.len() {
            let b = i * 9;
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!(
                "(${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}, ${})",
                b + 1,
                b + 2,
                b + 3,
                b + 4,
                b + 5,
                b + 6,
                b + 7,
                b + 8,
                b + 9
            ));
        }
        on_tx!(tx, c => {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.clone()));
            for v in batch {
                q = q
                    .bind(plan_id)
                    .bind(v.no as i64)
                    .bind(&v.uscc)
                    .bind(&v.division)
                    .bind(enc(&v.tasks))
                    .bind(enc(&v.departments))
                    .bind(enc(&v.crews))
                    .bind(enc(&v.unstaffed))
                    .bind(v.tasks.len() > 1);
            }
            q.execute(&mut *c).await?;
        });
    }
    Ok(())
}

/// JSON text of a visit column.
fn enc<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "[]".into())
}

/// A stored visit.
#[derive(Debug, Clone, Serialize)]
pub struct VisitRecord {
    pub no: i64,
    pub uscc: String,
    pub division: String,
    pub tasks: Vec<String>,
    pub departments: Vec<String>,
    pub crews: Vec<Crew>,
    pub unstaffed: Vec<Shortfall>,
    pub joint: bool,
}

#[derive(sqlx::FromRow)]
struct VisitRow {
    visit_no: i64,
    uscc: String,
    division: String,
    tasks: String,
    departments: String,
    crews: String,
    unstaffed: String,
    joint: bool,
}

impl TryFrom<VisitRow> for VisitRecord {
    type Error = AppError;
    fn try_from(r: VisitRow) -> Result<VisitRecord, AppError> {
        let bad = |what: &str, e: serde_json::Error| {
            AppError::Internal(anyhow::anyhow!("visit {}: {what}: {e}", r.visit_no))
        };
        Ok(VisitRecord {
            no: r.visit_no,
            tasks: serde_json::from_str(&r.tasks).map_err(|e| bad("tasks", e))?,
            departments: serde_json::from_str(&r.departments).map_err(|e| bad("departments", e))?,
            crews: serde_json::from_str(&r.crews).map_err(|e| bad("crews", e))?,
            unstaffed: serde_json::from_str(&r.unstaffed).map_err(|e| bad("unstaffed", e))?,
            uscc: r.uscc,
            division: r.division,
            joint: r.joint,
        })
    }
}

/// Which visits to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum VisitFilter {
    #[default]
    All,
    Joint,
    Unstaffed,
}

impl VisitFilter {
    pub fn parse(s: &str) -> Result<VisitFilter, AppError> {
        match s.trim() {
            "" | "all" => Ok(VisitFilter::All),
            "joint" => Ok(VisitFilter::Joint),
            "unstaffed" => Ok(VisitFilter::Unstaffed),
            _ => Err(AppError::bad_request(
                "filter",
                "筛选应为 all、joint 或 unstaffed (the filter is all, joint or unstaffed)",
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            VisitFilter::All => "all",
            VisitFilter::Joint => "joint",
            VisitFilter::Unstaffed => "unstaffed",
        }
    }
}

/// Visits of a drawn plan with numbers above `after`, in order, at most `limit`.
pub async fn visits(
    db: &Db,
    plan_id: i64,
    filter: VisitFilter,
    after: i64,
    limit: i64,
) -> Result<Vec<VisitRecord>, AppError> {
    let cond = match filter {
        VisitFilter::All => "",
        VisitFilter::Joint => " AND joint = TRUE",
        VisitFilter::Unstaffed => " AND unstaffed <> '[]'",
    };
    let sql = format!(
        "SELECT visit_no, uscc, division, tasks, departments, crews, unstaffed, joint \
         FROM insp_visits WHERE plan_id = $1 AND visit_no > $2{cond} ORDER BY visit_no LIMIT $3"
    );
    let rows: Vec<VisitRow> = on_conn!(db, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(plan_id)
        .bind(after)
        .bind(limit.clamp(1, 10_000))
        .fetch_all(c)
        .await?);
    rows.into_iter().map(VisitRecord::try_from).collect()
}

/// The frozen inspectors of a plan.
pub async fn inspectors(db: &Db, plan_id: i64) -> Result<Vec<Inspector>, AppError> {
    chunks::read_all(db, plan_id, chunks::INSPECTORS).await
}
