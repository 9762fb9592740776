//! A visit as results are recorded against it: its plan, the tasks that drew it, the items
//! those tasks check (lead department's and joined departments'), the crews. Read from
//! `insp_visits` and the plan's `plan_json` (`draw::model::Plan`).
//!
//! Jurisdiction: a visit whose `division` is outside the officer's scope is
//! [`AppError::NotFound`], as if it did not exist.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::Serialize;

use amr_kernel::auth::Scope;
use amr_kernel::db::{Db, Tx, TxInner};
use amr_kernel::error::AppError;
use amr_kernel::{on_conn, on_tx};

use crate::draw::model::{Crew, Plan, Shortfall};

/// One item checked on a visit.
#[derive(Debug, Clone, Serialize)]
pub struct VisitItem {
    pub code: String,
    /// The department that checks it.
    pub department: String,
    /// The tasks of the visit that include it.
    pub tasks: Vec<String>,
    /// From the item library (the code when the library lacks it).
    pub name: String,
    pub department_name: String,
}

/// A task of the visit.
#[derive(Debug, Clone, Serialize)]
pub struct VisitTask {
    pub id: String,
    pub name: String,
    pub department: String,
}

/// An inspector of a crew, with the name from the inspector library.
#[derive(Debug, Clone, Serialize)]
pub struct CrewMember {
    pub id: String,
    pub name: String,
}

/// A department's crew on the visit.
#[derive(Debug, Clone, Serialize)]
pub struct CrewView {
    pub department: String,
    pub department_name: String,
    pub inspectors: Vec<CrewMember>,
}

/// A visit with what recording needs.
#[derive(Debug, Clone, Serialize)]
pub struct VisitContext {
    pub plan_id: i64,
    pub plan_name: String,
    /// `draft`, `published` or `drawn`; results are recorded on drawn plans only.
    pub plan_state: String,
    pub inspection_start: NaiveDate,
    pub inspection_end: NaiveDate,
    pub visit_no: i64,
    pub uscc: String,
    pub division: String,
    pub tasks: Vec<VisitTask>,
    pub items: Vec<VisitItem>,
    pub crews: Vec<CrewView>,
    pub unstaffed: Vec<Shortfall>,
}

impl VisitContext {
    pub fn item(&self, code: &str) -> Option<&VisitItem> {
        self.items.iter().find(|i| i.code == code)
    }
}

#[derive(sqlx::FromRow)]
struct VisitRow {
    plan_id: i64,
    visit_no: i64,
    uscc: String,
    division: String,
    tasks: String,
    crews: String,
    unstaffed: String,
    plan_name: String,
    plan_state: String,
    plan_json: String,
}

fn visit_sql(scope: &Scope, lock: bool) -> String {
    format!(
        "SELECT v.plan_id, v.visit_no, v.uscc, v.division, v.tasks, v.crews, v.unstaffed, \
         p.name AS plan_name, p.state AS plan_state, p.plan_json \
         FROM insp_visits v JOIN insp_plans p ON p.id = v.plan_id \
         WHERE v.plan_id = $1 AND v.visit_no = $2 AND {}{}",
        scope.division_filter("v.division", 3),
        if lock { " FOR UPDATE OF v" } else { "" }
    )
}

fn internal(m: String) -> AppError {
    AppError::Internal(anyhow::anyhow!(m))
}

/// Names of items, departments and inspectors, from the library.
#[derive(Debug, Default)]
pub struct Names {
    pub items: BTreeMap<String, String>,
    pub departments: BTreeMap<String, String>,
    pub inspectors: BTreeMap<String, String>,
}

impl Names {
    pub fn item(&self, code: &str) -> String {
        self.items.get(code).cloned().unwrap_or_else(|| code.into())
    }
    pub fn department(&self, code: &str) -> String {
        self.departments
            .get(code)
            .cloned()
            .unwrap_or_else(|| code.into())
    }
}

const ITEM_NAMES: &str = "SELECT code, name FROM insp_items";
const DEPARTMENT_NAMES: &str = "SELECT code, name FROM insp_departments";

/// The names of every item and department (the library holds a few hundred of each).
pub async fn names(db: &Db) -> Result<Names, AppError> {
    let items: Vec<(String, String)> =
        on_conn!(db, c => sqlx::query_as(ITEM_NAMES).fetch_all(c).await?);
    let departments: Vec<(String, String)> =
        on_conn!(db, c => sqlx::query_as(DEPARTMENT_NAMES).fetch_all(c).await?);
    Ok(Names {
        items: items.into_iter().collect(),
        departments: departments.into_iter().collect(),
        inspectors: BTreeMap::new(),
    })
}

/// The same, read inside a transaction.
pub async fn names_in_tx(tx: &mut Tx) -> Result<Names, AppError> {
    let items: Vec<(String, String)> =
        on_tx!(tx, c => sqlx::query_as(ITEM_NAMES).fetch_all(&mut *c).await?);
    let departments: Vec<(String, String)> =
        on_tx!(tx, c => sqlx::query_as(DEPARTMENT_NAMES).fetch_all(&mut *c).await?);
    Ok(Names {
        items: items.into_iter().collect(),
        departments: departments.into_iter().collect(),
        inspectors: BTreeMap::new(),
    })
}

fn build(row: VisitRow, names: &Names) -> Result<VisitContext, AppError> {
    let what = |m: &str, e: serde_json::Error| {
        internal(format!("visit {}/{}: {m}: {e}", row.plan_id, row.visit_no))
    };
    let plan: Plan = serde_json::from_str(&row.plan_json).map_err(|e| what("plan_json", e))?;
    let task_ids: Vec<String> = serde_json::from_str(&row.tasks).map_err(|e| what("tasks", e))?;
    let crews: Vec<Crew> = serde_json::from_str(&row.crews).map_err(|e| what("crews", e))?;
    let unstaffed: Vec<Shortfall> =
        serde_json::from_str(&row.unstaffed).map_err(|e| what("unstaffed", e))?;
    let mut tasks = Vec::new();
    let mut items: Vec<VisitItem> = Vec::new();
    let mut add = |code: &str, department: &str, task: &str| match items
        .iter_mut()
        .find(|i| i.code == code)
    {
        Some(i) => {
            if !i.tasks.iter().any(|t| t == task) {
                i.tasks.push(task.to_string());
            }
        }
        None => items.push(VisitItem {
            code: code.to_string(),
            department: department.to_string(),
            tasks: vec![task.to_string()],
            name: names.item(code),
            department_name: names.department(department),
        }),
    };
    for id in &task_ids {
        let Some(t) = plan.tasks.iter().find(|t| &t.id == id) else {
            return Err(internal(format!(
                "visit {}/{}: task {id} is not in the plan",
                row.plan_id, row.visit_no
            )));
        };
        tasks.push(VisitTask {
            id: t.id.clone(),
            name: t.name.clone(),
            department: t.department.clone(),
        });
        for code in &t.items {
            add(code, &t.department, &t.id);
        }
        for p in &t.joined {
            for code in &p.items {
                add(code, &p.department, &t.id);
            }
        }
    }
    let crews = crews
        .into_iter()
        .map(|c| CrewView {
            department_name: names.department(&c.department),
            inspectors: c
                .inspectors
                .iter()
                .map(|id| CrewMember {
                    id: id.clone(),
                    name: names.inspectors.get(id).cloned().unwrap_or_default(),
                })
                .collect(),
            department: c.department,
        })
        .collect();
    Ok(VisitContext {
        plan_id: row.plan_id,
        plan_name: row.plan_name,
        plan_state: row.plan_state,
        inspection_start: plan.inspection_start,
        inspection_end: plan.inspection_end,
        visit_no: row.visit_no,
        uscc: row.uscc,
        division: row.division,
        tasks,
        items,
        crews,
        unstaffed,
    })
}

/// The visit within the jurisdiction, with the names of its items, departments and
/// inspectors.
pub async fn get(
    db: &Db,
    scope: &Scope,
    plan_id: i64,
    visit_no: i64,
) -> Result<VisitContext, AppError> {
    let sql = visit_sql(scope, false);
    let row: Option<VisitRow> = on_conn!(db, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(plan_id)
        .bind(visit_no)
        .bind(scope.like_pattern())
        .fetch_optional(c)
        .await?);
    let row = row.ok_or(AppError::NotFound)?;
    let mut names = names(db).await?;
    let crews: Vec<Crew> = serde_json::from_str(&row.crews).unwrap_or_default();
    let ids: Vec<String> = crews.into_iter().flat_map(|c| c.inspectors).collect();
    if !ids.is_empty() {
        let marks: Vec<String> = (1..=ids.len()).map(|n| format!("${n}")).collect();
        let sql = format!(
            "SELECT id, name FROM insp_inspectors WHERE id IN ({})",
            marks.join(", ")
        );
        let rows: Vec<(String, String)> = on_conn!(db, c => {
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql));
            for id in &ids {
                q = q.bind(id.as_str());
            }
            q.fetch_all(c).await?
        });
        names.inspectors = rows.into_iter().collect();
    }
    build(row, &names)
}

/// The visit within the jurisdiction, read (and on PostgreSQL locked) in the transaction.
pub async fn get_in_tx(
    tx: &mut Tx,
    scope: &Scope,
    plan_id: i64,
    visit_no: i64,
) -> Result<VisitContext, AppError> {
    let sql = visit_sql(scope, matches!(tx.inner, TxInner::Postgres(_)));
    let row: Option<VisitRow> = on_tx!(tx, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(plan_id)
        .bind(visit_no)
        .bind(scope.like_pattern())
        .fetch_optional(&mut *c)
        .await?);
    let row = row.ok_or(AppError::NotFound)?;
    let names = names_in_tx(tx).await?;
    build(row, &names)
}
