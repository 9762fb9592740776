//! The SQL of the contract part, on both backends: reports (each also a matter of kind
//! `contract_report`), their confirmation, the export of confirmed clauses, model contracts.
//!
//! Jurisdiction: officers' reads and writes are filtered by the report's or model's
//! `division` ([`Scope::division_filter`]); outside it is [`AppError::NotFound`].
//! Events: `consumer.contract.reported` and `.confirmed` are internal (they may quote a
//! reporter's text); `consumer.contract.model_saved` is public (industry, title, version).
//! Each write has its audit entry, in the same transaction as its rows and the matter's.

use std::sync::OnceLock;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use amr_kernel::audit::{self, Actor, Change};
use amr_kernel::auth::Scope;
use amr_kernel::codes::division::Jurisdiction;
use amr_kernel::codes::uscc::Uscc;
use amr_kernel::db::{Db, Tx};
use amr_kernel::error::AppError;
use amr_kernel::events::{self, NewEvent};
use amr_kernel::matter::{ActInput, Acting, Engine, Matter, NewMatter};
use amr_kernel::{on_conn, on_tx};

use super::report::CONTRACT_REPORT;

/// The matter engine over this part's kind (the embedded working-day calendar).
pub fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| match Engine::new(&[&CONTRACT_REPORT]) {
        Ok(e) => e,
        Err(p) => panic!("contract_report kind: {}", p.join("; ")),
    })
}

fn now() -> DateTime<Utc> {
    use chrono::SubsecRound;
    Utc::now().trunc_subsecs(6)
}

/// Checks a text field: trimmed, `min..=max` characters, no control characters but line
/// breaks and tabs.
fn text(field: &str, value: &str, min: usize, max: usize, what: &str) -> Result<String, AppError> {
    let v = value.replace("\r\n", "\n");
    let v = v.trim();
    let n = v.chars().count();
    if n < min || n > max || v.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        let range = if min == 0 {
            format!("不超过 {max} 字 (at most {max} characters)")
        } else {
            format!("为 {min}–{max} 字 (from {min} to {max} characters)")
        };
        return Err(AppError::bad_request(field, format!("{what}{range}")));
    }
    Ok(v.to_string())
}

// ----- reports ----------------------------------------------------------------------------

/// A "你提我点" report as filed.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ReportInput {
    pub business_name: String,
    pub uscc: String,
    /// The county (or town) of the business: a division code.
    pub division: String,
    pub clause: String,
    pub contract_text: String,
    pub contact: String,
}

/// A report as officers see it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Report {
    pub id: i64,
    pub matter_number: String,
    pub division: String,
    pub business_name: String,
    pub uscc: Option<String>,
    pub clause: String,
    pub contract_text: String,
    pub findings: String,
    pub contact: Option<String>,
    pub confirmed_rule: Option<String>,
    pub confirmed_clause: Option<String>,
    pub confirmed_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

const REPORT_COLUMNS: &str = "id, matter_number, division, business_name, uscc, clause, \
     contract_text, findings, contact, confirmed_rule, confirmed_clause, confirmed_at, created_at";

/// Files a report: the matter (number, clock, timeline, its event and audit entry) and the
/// report's row, with its own event and audit entry, in `tx`. Every field is checked first.
pub async fn file_report(
    tx: &mut Tx,
    acting: &Acting,
    input: &ReportInput,
    today: NaiveDate,
) -> Result<Matter, AppError> {
    let business = text("business_name", &input.business_name, 2, 100, "经营者名称")?;
    let uscc = match input.uscc.trim() {
        "" => None,
        u => Some(
            Uscc::parse(u)
                .map_err(|e| AppError::bad_request("uscc", e))?
                .as_str()
                .to_string(),
        ),
    };
    let division = match Jurisdiction::parse(input.division.trim()) {
        Ok(j) if j.prefix().len() >= 6 => j.prefix().to_string(),
        _ => {
            return Err(AppError::bad_request(
                "division",
                "请填写经营者所在县（区）的 6 位行政区划代码 (the 6-digit code of the business's county)",
            ));
        }
    };
    let clause = text("clause", &input.clause, 5, 2000, "条款原文")?;
    let contract_text = text("contract_text", &input.contract_text, 0, 20000, "合同全文")?;
    let contact = text("contact", &input.contact, 0, 100, "联系方式")?;
    let found: Vec<String> = {
        let mut ids: Vec<String> = super::check(&clause)
            .into_iter()
            .chain(super::check(&contract_text))
            .map(|f| f.rule)
            .collect();
        ids.sort();
        ids.dedup();
        ids
    };
    let title = format!("格式条款线索：{}", super::short(&business, 60));
    let matter = engine()
        .create(
            tx,
            acting,
            &NewMatter {
                kind: CONTRACT_REPORT.name.to_string(),
                title,
                division: division.clone(),
                uscc: uscc.clone(),
                payload: json!({"business_name": business, "findings": found}),
                assignee_account: None,
                assignee_unit: None,
            },
            today,
        )
        .await?;
    let at = now();
    let findings = serde_json::to_string(&found).map_err(|e| AppError::Internal(e.into()))?;
    on_tx!(tx, c => sqlx::query(
        "INSERT INTO contract_reports (matter_number, division, business_name, uscc, clause, \
         contract_text, findings, contact, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&matter.number)
    .bind(&division)
    .bind(&business)
    .bind(&uscc)
    .bind(&clause)
    .bind(&contract_text)
    .bind(&findings)
    .bind(Some(contact).filter(|c| !c.is_empty()))
    .bind(at)
    .execute(&mut *c)
    .await?
    .rows_affected());
    events::append(
        tx,
        NewEvent::internal(
            "consumer.contract.reported",
            json!({"number": matter.number, "findings": found}),
        )
        .division(&division)
        .actor(acting.actor.label()),
    )
    .await?;
    audit::record(
        tx,
        &acting.actor,
        Change {
            action: "contract.report",
            target_kind: "contract_report",
            target_id: matter.number.clone(),
            division: Some(division),
            before: None,
            after: Some(json!({"business_name": business, "uscc": uscc, "clause": clause, "findings": found})),
        },
    )
    .await?;
    Ok(matter)
}

/// A report within `scope`, by its matter number (as stored by the engine).
pub async fn report(db: &Db, scope: &Scope, number: &str) -> Result<Report, AppError> {
    let sql = format!(
        "SELECT {REPORT_COLUMNS} FROM contract_reports WHERE matter_number = $1 AND {}",
        scope.division_filter("division", 2)
    );
    let row: Option<Report> = on_conn!(db, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(number)
        .bind(scope.like_pattern())
        .fetch_optional(c)
        .await?);
    row.ok_or(AppError::NotFound)
}

/// Takes an officer's action on a report (`review`, `confirm`, `dismiss`, `reopen`) through
/// the matter engine. Confirming also records the rule and the clause on the report's row
/// (checked first: the rule must be one of the rule file's). Reopening clears them.
pub async fn act(
    tx: &mut Tx,
    acting: &Acting,
    number: &str,
    input: &ActInput,
    today: NaiveDate,
) -> Result<Matter, AppError> {
    let transition = input.transition.trim();
    if transition == "confirm" {
        let rule = input.fields.get("rule").map(|r| r.trim()).unwrap_or("");
        if !super::rules().rules().iter().any(|r| r.id() == rule) {
            return Err(AppError::bad_request(
                "rule",
                "请选择规则文件中的一条规则 (choose a rule of the rule file)",
            ));
        }
        let clause = input.fields.get("clause").map(|c| c.trim()).unwrap_or("");
        text("clause", clause, 5, 2000, "确认的条款原文")?;
    }
    let m = engine().act(tx, acting, number, input, today).await?;
    match transition {
        "confirm" => {
            let rule = input.fields.get("rule").map(|r| r.trim().to_string());
            let clause = input.fields.get("clause").map(|c| c.trim().to_string());
            let n = on_tx!(tx, c => sqlx::query(
                "UPDATE contract_reports SET confirmed_rule = $1, confirmed_clause = $2, \
                 confirmed_at = $3 WHERE matter_number = $4",
            )
            .bind(&rule)
            .bind(&clause)
            .bind(now())
            .bind(&m.number)
            .execute(&mut *c)
            .await?
            .rows_affected());
            if n != 1 {
                return Err(AppError::Internal(anyhow::anyhow!(
                    "matter {} has no contract report row",
                    m.number
                )));
            }
            events::append(
                tx,
                NewEvent::internal(
                    "consumer.contract.confirmed",
                    json!({"number": m.number, "rule": rule}),
                )
                .division(&m.division)
                .actor(acting.actor.label()),
            )
            .await?;
            audit::record(
                tx,
                &acting.actor,
                Change {
                    action: "contract.confirm",
                    target_kind: "contract_report",
                    target_id: m.number.clone(),
                    division: Some(m.division.clone()),
                    before: None,
                    after: Some(json!({"rule": rule, "clause": clause})),
                },
            )
            .await?;
        }
        "reopen" => {
            on_tx!(tx, c => sqlx::query(
                "UPDATE contract_reports SET confirmed_rule = NULL, confirmed_clause = NULL, \
                 confirmed_at = NULL WHERE matter_number = $1",
            )
            .bind(&m.number)
            .execute(&mut *c)
            .await?
            .rows_affected());
        }
        _ => {}
    }
    Ok(m)
}

/// The confirmed clauses within `scope` as labelled JSONL lines (the format of
/// `crates/amr-consumer/data/contract-clauses.jsonl` and of `eval_review.py`), oldest first.
pub async fn confirmed_jsonl(db: &Db, scope: &Scope) -> Result<String, AppError> {
    let sql = format!(
        "SELECT matter_number, confirmed_rule, confirmed_clause, business_name FROM contract_reports \
         WHERE confirmed_at IS NOT NULL AND {} ORDER BY confirmed_at, id",
        scope.division_filter("division", 1)
    );
    let rows: Vec<(String, Option<String>, Option<String>, String)> = on_conn!(db, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(scope.like_pattern())
            .fetch_all(c)
            .await?);
    let mut out = String::new();
    for (number, rule, clause, business) in rows {
        let line = json!({
            "text": clause.unwrap_or_default(),
            "label": "violation",
            "rule": rule,
            "source": format!("你提我点 {number}（{business}），经执法人员确认 (a report confirmed by an officer)"),
        });
        out.push_str(&line.to_string());
        out.push('\n');
    }
    Ok(out)
}

// ----- model contracts --------------------------------------------------------------------

/// A model contract (合同示范文本) of an industry.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Model {
    pub id: i64,
    pub industry: String,
    pub title: String,
    pub body: String,
    pub source: String,
    pub division: String,
    pub version: i64,
    pub updated_at: DateTime<Utc>,
    pub updated_by: String,
}

const MODEL_COLUMNS: &str =
    "id, industry, title, body, source, division, version, updated_at, updated_by";

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ModelInput {
    pub industry: String,
    pub title: String,
    pub body: String,
    pub source: String,
    /// The jurisdiction that maintains it (within the officer's); the officer's own if empty.
    pub division: String,
}

/// Every model contract, by industry (public).
pub async fn models(db: &Db) -> Result<Vec<Model>, AppError> {
    let sql = format!("SELECT {MODEL_COLUMNS} FROM contract_models ORDER BY industry, id");
    Ok(on_conn!(db, c => sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(c).await?))
}

/// One model contract (public).
pub async fn model(db: &Db, id: i64) -> Result<Model, AppError> {
    let sql = format!("SELECT {MODEL_COLUMNS} FROM contract_models WHERE id = $1");
    let row: Option<Model> = on_conn!(db, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(c)
        .await?);
    row.ok_or(AppError::NotFound)
}

/// Adds (`id` = None) or replaces a model contract. Editing needs the model's division in
/// the officer's scope; a new one is placed in the officer's jurisdiction (or a part of it).
pub async fn save_model(
    tx: &mut Tx,
    actor: &Actor,
    scope: &Scope,
    own_division: &str,
    id: Option<i64>,
    input: &ModelInput,
) -> Result<Model, AppError> {
    let industry = text("industry", &input.industry, 2, 40, "行业")?;
    let title = text("title", &input.title, 2, 100, "标题")?;
    let body = text("body", &input.body, 20, 60000, "示范文本")?;
    let source = text("source", &input.source, 2, 300, "来源")?;
    let division = match input.division.trim() {
        "" => own_division.to_string(),
        d => Jurisdiction::parse(d)
            .map_err(|e| AppError::bad_request("division", e))?
            .prefix()
            .to_string(),
    };
    let prefix = scope.like_pattern();
    if prefix == "-" || !division.starts_with(prefix.trim_end_matches('%')) {
        return Err(AppError::bad_request(
            "division",
            "该行政区划不在您的辖区内 (the division is outside your jurisdiction)",
        ));
    }
    let at = now();
    let before: Option<Model> = match id {
        None => None,
        Some(id) => {
            let sql = format!(
                "SELECT {MODEL_COLUMNS} FROM contract_models WHERE id = $1 AND {}",
                scope.division_filter("division", 2)
            );
            let row: Option<Model> = on_tx!(tx, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(id)
                .bind(scope.like_pattern())
                .fetch_optional(&mut *c)
                .await?);
            Some(row.ok_or(AppError::NotFound)?)
        }
    };
    let saved_id: i64 = match &before {
        None => on_tx!(tx, c => sqlx::query_scalar(
            "INSERT INTO contract_models (industry, title, body, source, division, version, \
             updated_at, updated_by) VALUES ($1, $2, $3, $4, $5, 1, $6, $7) RETURNING id",
        )
        .bind(&industry)
        .bind(&title)
        .bind(&body)
        .bind(&source)
        .bind(&division)
        .bind(at)
        .bind(&actor.name)
        .fetch_one(&mut *c)
        .await?),
        Some(b) => {
            on_tx!(tx, c => sqlx::query(
                "UPDATE contract_models SET industry = $1, title = $2, body = $3, source = $4, \
                 division = $5, version = version + 1, updated_at = $6, updated_by = $7 WHERE id = $8",
            )
            .bind(&industry)
            .bind(&title)
            .bind(&body)
            .bind(&source)
            .bind(&division)
            .bind(at)
            .bind(&actor.name)
            .bind(b.id)
            .execute(&mut *c)
            .await?
            .rows_affected());
            b.id
        }
    };
    let sql = format!("SELECT {MODEL_COLUMNS} FROM contract_models WHERE id = $1");
    let saved: Model = on_tx!(tx, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(saved_id)
        .fetch_one(&mut *c)
        .await?);
    events::append(
        tx,
        NewEvent::public(
            "consumer.contract.model_saved",
            json!({"id": saved.id, "industry": saved.industry, "title": saved.title, "version": saved.version}),
        )
        .division(&saved.division)
        .actor(actor.label()),
    )
    .await?;
    audit::record(
        tx,
        actor,
        Change {
            action: "contract.model.save",
            target_kind: "contract_model",
            target_id: saved.id.to_string(),
            division: Some(saved.division.clone()),
            before: before.as_ref().map(|b| json!({"industry": b.industry, "title": b.title, "version": b.version})),
            after: Some(json!({"industry": saved.industry, "title": saved.title, "version": saved.version, "source": saved.source})),
        },
    )
    .await?;
    Ok(saved)
}

/// The report rows of a page of matters (officers' queue), by number.
pub async fn reports_of(
    db: &Db,
    scope: &Scope,
    numbers: &[String],
) -> Result<Vec<Report>, AppError> {
    let mut out = Vec::with_capacity(numbers.len());
    for n in numbers {
        match report(db, scope, n).await {
            Ok(r) => out.push(r),
            Err(AppError::NotFound) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

/// Findings of a stored report's `findings` column.
pub fn findings_of(r: &Report) -> Value {
    serde_json::from_str(&r.findings).unwrap_or(Value::Null)
}
