//! Routes of the bank push.
//!
//! JSON (`docs/API.md`): the enterprise `GET|POST /api/v1/exchange/consents/{uscc}`;
//! administrators `GET /api/v1/exchange/banks`, `PUT /api/v1/exchange/banks/{name}/criteria`,
//! `POST /api/v1/exchange/banks/{name}/push`, `GET /api/v1/exchange/banks/{name}/runs`;
//! banks `POST /api/v1/exchange/banks/loans` (their API key + `X-AMR-Signature`); officers
//! and administrators `GET /api/v1/exchange/banks/figures?level=city|county&region=PREFIX`.
//!
//! Pages: `/exchange/consent/{uscc}` (the enterprise), `/admin/exchange/banks`,
//! `/office/exchange/banks`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post, put};
use axum::{Extension, Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use amr_kernel::audit::Actor;
use amr_kernel::auth::{Permission, Role, Scope};
use amr_kernel::db::Db;
use amr_kernel::error::AppError;
use amr_kernel::sharing::{ENTITY_TYPES, EntityFactsSource, SharedFacts};
use amr_kernel::signing::Keyring;
use amr_web::AppState;
use amr_web::auth::ApiCaller;
use amr_web::error::ApiError;
use amr_web::extract::{PageForm, PageQuery};
use amr_web::page::{PageError, Viewer, render};

use super::figures::{self, Level};
use super::{Criteria, consent, criteria, loans, push};
use crate::agency;
use crate::proto;

/// What the routes need from outside the context: the facts port and the deployment key.
#[derive(Clone)]
pub struct Deps {
    pub facts: Arc<dyn EntityFactsSource>,
    pub keys: Arc<Keyring>,
}

pub fn api_routes(deps: Deps) -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/exchange/consents/{uscc}",
            get(get_consent).post(post_consent),
        )
        .route("/api/v1/exchange/banks", get(get_banks))
        .route("/api/v1/exchange/banks/figures", get(get_figures))
        .route("/api/v1/exchange/banks/loans", post(post_loans))
        .route("/api/v1/exchange/banks/{name}/criteria", put(put_criteria))
        .route("/api/v1/exchange/banks/{name}/push", post(post_push))
        .route("/api/v1/exchange/banks/{name}/runs", get(get_runs))
        .layer(Extension(deps))
}

pub fn page_routes(deps: Deps) -> Router<AppState> {
    Router::new()
        .route(
            "/exchange/consent/{uscc}",
            get(consent_page).post(consent_post),
        )
        .route("/admin/exchange/banks", get(banks_page).post(banks_post))
        .route("/office/exchange/banks", get(figures_page))
        .layer(Extension(deps))
}

// ----- consent ----------------------------------------------------------------------------

/// The facts of `uscc` (404 when the registry has no such entity).
async fn entity(deps: &Deps, uscc: &str) -> Result<SharedFacts, AppError> {
    let list = [uscc.to_string()];
    deps.facts
        .facts_of(&list)
        .await?
        .into_iter()
        .find(|f| f.uscc == uscc)
        .ok_or(AppError::NotFound)
}

async fn consent_view(db: &Db, uscc: &str) -> Result<Value, AppError> {
    let c = consent::get(db, uscc).await?;
    let history = consent::history(db, uscc).await?;
    Ok(
        json!({"uscc": uscc, "granted": c.as_ref().is_some_and(|c| c.granted),
              "updated_at": c.as_ref().map(|c| c.updated_at), "history": history}),
    )
}

/// Only the enterprise's own account (bound to this USCC) may see or change its consent.
fn own(role: Option<Role>, bound: Option<&str>, uscc: &str) -> Result<(), AppError> {
    if role == Some(Role::Enterprise) && bound == Some(uscc) {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "只有该企业本身可以管理其共享授权 (only the enterprise itself manages its consent)"
                .into(),
        ))
    }
}

async fn bound_uscc(db: &Db, caller: &ApiCaller) -> Result<Option<String>, AppError> {
    if caller.role != Some(Role::Enterprise) {
        return Ok(None);
    }
    let Some(id) = caller.actor.id else {
        return Ok(None);
    };
    Ok(amr_kernel::auth::store::get_account(db, &Scope::all(), id)
        .await?
        .uscc)
}

async fn get_consent(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(uscc): Path<String>,
) -> Result<Response, ApiError> {
    own(
        caller.role,
        bound_uscc(&state.db, &caller).await?.as_deref(),
        &uscc,
    )?;
    Ok(Json(consent_view(&state.db, &uscc).await?).into_response())
}

fn granted_of(v: &Value) -> Result<bool, AppError> {
    match v.get("granted") {
        Some(Value::Bool(b)) => Ok(*b),
        _ => Err(AppError::bad_request(
            "granted",
            "granted 应为 true（同意）或 false（撤回） (granted is true to consent, false to withdraw)",
        )),
    }
}

async fn post_consent(
    State(state): State<AppState>,
    Extension(deps): Extension<Deps>,
    caller: ApiCaller,
    Path(uscc): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    own(
        caller.role,
        bound_uscc(&state.db, &caller).await?.as_deref(),
        &uscc,
    )?;
    let v: Value = serde_json::from_slice(&body).map_err(|e| {
        AppError::bad_request(
            "body",
            format!("请求体不是合法的 JSON (the body is not valid JSON): {e}"),
        )
    })?;
    let granted = granted_of(&v)?;
    let f = entity(&deps, &uscc).await?;
    let mut tx = state.db.begin().await?;
    let changed = consent::set(&mut tx, &caller.actor, &uscc, &f.division, granted).await?;
    tx.commit().await?;
    Ok(Json(json!({"consent": changed.consent, "changed": changed.changed})).into_response())
}

async fn consent_page(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(uscc): Path<String>,
) -> Result<Response, PageError> {
    let s = viewer.require_login()?;
    own(Some(s.account.role()), s.account.uscc.as_deref(), &uscc)?;
    let page = consent_view(&state.db, &uscc).await?;
    render(
        &state,
        &viewer,
        StatusCode::OK,
        "exchange/consent.html",
        page,
    )
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ConsentForm {
    csrf: String,
    action: String,
}

async fn consent_post(
    viewer: Viewer,
    State(state): State<AppState>,
    Extension(deps): Extension<Deps>,
    Path(uscc): Path<String>,
    PageForm(f): PageForm<ConsentForm>,
) -> Result<Response, PageError> {
    let s = viewer.require_login()?;
    viewer.check_csrf(&f.csrf)?;
    own(Some(s.account.role()), s.account.uscc.as_deref(), &uscc)?;
    let granted = match f.action.as_str() {
        "grant" => true,
        "withdraw" => false,
        _ => {
            return Err(AppError::bad_request(
                "action",
                "action 应为 grant 或 withdraw (action is grant or withdraw)",
            )
            .into());
        }
    };
    let actor: Actor = amr_web::auth::session_actor(s, &viewer.ip);
    let e = entity(&deps, &uscc).await?;
    let mut tx = state.db.begin().await?;
    consent::set(&mut tx, &actor, &uscc, &e.division, granted).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/exchange/consent/{uscc}")).into_response())
}

// ----- administrators ---------------------------------------------------------------------

async fn banks_view(db: &Db) -> Result<Vec<Value>, AppError> {
    let mut out = Vec::new();
    for a in agency::list(db)
        .await?
        .into_iter()
        .filter(|a| a.kind == "bank")
    {
        let c = criteria::get(db, a.id).await?;
        let runs = push::runs(db, a.id, 10).await?;
        out.push(json!({"agency": a.to_json(), "criteria": c.map(|c| c.to_json()), "runs": runs}));
    }
    Ok(out)
}

async fn get_banks(State(state): State<AppState>, caller: ApiCaller) -> Result<Response, ApiError> {
    caller.require(Permission::ManageApiKeys)?;
    let banks = banks_view(&state.db).await?;
    let totals = figures::figures(&state.db, &caller.scope, Level::City, "")
        .await?
        .totals;
    let consents = consent::count_granted(&state.db).await?;
    Ok(Json(json!({"banks": banks, "totals": totals, "consents": consents})).into_response())
}

async fn put_criteria(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    caller.require(Permission::ManageApiKeys)?;
    let v: Value = serde_json::from_slice(&body).map_err(|e| {
        AppError::bad_request(
            "body",
            format!("请求体不是合法的 JSON (the body is not valid JSON): {e}"),
        )
    })?;
    let c = Criteria::from_value(&v)?;
    let a = super::bank_named(&state.db, &name).await?;
    let mut tx = state.db.begin().await?;
    criteria::set(&mut tx, &caller.actor, &a, &c).await?;
    tx.commit().await?;
    Ok(Json(json!({"bank": a.name, "criteria": c.to_json()})).into_response())
}

/// Starts a run and carries it on in the background; the answer names the run.
async fn spawn_run(
    state: &AppState,
    deps: &Deps,
    name: &str,
    actor: &Actor,
) -> Result<i64, AppError> {
    let started = push::start(&state.db, name, "manual", actor).await?;
    let run_id = started.run_id;
    let (db, keys, facts, today) = (
        state.db.clone(),
        deps.keys.clone(),
        deps.facts.clone(),
        state.config.today(),
    );
    tokio::spawn(async move {
        if let Err(e) = push::execute(&db, &keys, facts.as_ref(), &started, today, &|_| {}).await {
            tracing::warn!(error = %e, run = run_id, "bank push run failed");
        }
    });
    Ok(run_id)
}

async fn post_push(
    State(state): State<AppState>,
    Extension(deps): Extension<Deps>,
    caller: ApiCaller,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    caller.require(Permission::ManageApiKeys)?;
    let run = spawn_run(&state, &deps, &name, &caller.actor).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"bank": name, "run": run})),
    )
        .into_response())
}

async fn get_runs(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    caller.require(Permission::ManageApiKeys)?;
    let a = agency::by_name(&state.db, &name)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(
        Json(json!({"bank": a.name, "runs": push::runs(&state.db, a.id, 50).await?}))
            .into_response(),
    )
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct BanksForm {
    csrf: String,
    action: String,
    bank: String,
    entity_types: String,
    industries: String,
    regions: String,
    risk_classes: String,
    min_age_years: String,
    max_age_years: String,
    exclude_abnormal: String,
    active_only: String,
}

async fn banks_render(
    state: &AppState,
    viewer: &Viewer,
    status: StatusCode,
    scope: &Scope,
    message: Value,
    errors: Value,
) -> Result<Response, PageError> {
    let banks = banks_view(&state.db).await?;
    let totals = figures::figures(&state.db, scope, Level::City, "")
        .await?
        .totals;
    let consents = consent::count_granted(&state.db).await?;
    let types: Vec<Value> = ENTITY_TYPES
        .iter()
        .map(|(c, zh, en)| json!({"code": c, "zh": zh, "en": en}))
        .collect();
    render(
        state,
        viewer,
        status,
        "exchange/banks.html",
        json!({"banks": banks, "totals": totals, "consents": consents, "types": types,
               "message": message, "errors": errors}),
    )
}

async fn banks_page(viewer: Viewer, State(state): State<AppState>) -> Result<Response, PageError> {
    let s = viewer.require_admin()?;
    let scope = s.account.scope();
    banks_render(
        &state,
        &viewer,
        StatusCode::OK,
        &scope,
        Value::Null,
        json!({}),
    )
    .await
}

async fn banks_post(
    viewer: Viewer,
    State(state): State<AppState>,
    Extension(deps): Extension<Deps>,
    PageForm(f): PageForm<BanksForm>,
) -> Result<Response, PageError> {
    let s = viewer.require_admin()?;
    viewer.check_csrf(&f.csrf)?;
    let scope = s.account.scope();
    let actor: Actor = amr_web::auth::session_actor(s, &viewer.ip);
    let outcome: Result<Value, AppError> = match f.action.as_str() {
        "push" => spawn_run(&state, &deps, &f.bank, &actor)
            .await
            .map(|run| json!({"run": run, "bank": f.bank})),
        "criteria" => {
            let v = json!({"entity_types": f.entity_types, "industries": f.industries,
                "regions": f.regions, "risk_classes": f.risk_classes, "min_age_years": f.min_age_years,
                "max_age_years": f.max_age_years, "exclude_abnormal": f.exclude_abnormal,
                "active_only": f.active_only});
            match Criteria::from_value(&v) {
                Err(e) => Err(e),
                Ok(c) => match super::bank_named(&state.db, &f.bank).await {
                    Err(e) => Err(e),
                    Ok(a) => {
                        let mut tx = state.db.begin().await?;
                        criteria::set(&mut tx, &actor, &a, &c).await?;
                        tx.commit().await?;
                        Ok(json!({"saved": a.name}))
                    }
                },
            }
        }
        _ => Err(AppError::bad_request(
            "action",
            "action 应为 criteria 或 push (action is criteria or push)",
        )),
    };
    match outcome {
        Ok(m) => banks_render(&state, &viewer, StatusCode::OK, &scope, m, json!({})).await,
        Err(AppError::BadRequest { message, .. }) => {
            banks_render(
                &state,
                &viewer,
                StatusCode::UNPROCESSABLE_ENTITY,
                &scope,
                Value::Null,
                json!({"bank": f.bank, "message": message}),
            )
            .await
        }
        Err(AppError::Conflict(message)) | Err(AppError::Rejected { message }) => {
            banks_render(
                &state,
                &viewer,
                StatusCode::CONFLICT,
                &scope,
                Value::Null,
                json!({"bank": f.bank, "message": message}),
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

// ----- banks --------------------------------------------------------------------------------

/// `POST /api/v1/exchange/banks/loans`: a bank's loan report. The API key must be the one
/// issued to the bank the report names, and the signature must verify against its key.
async fn post_loans(
    State(state): State<AppState>,
    caller: ApiCaller,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let key = caller
        .api_key
        .as_ref()
        .ok_or(ApiError(AppError::forbidden()))?;
    let body = String::from_utf8(body.to_vec()).map_err(|_| {
        AppError::bad_request("body", "请求体不是 UTF-8 文本 (the body is not UTF-8)")
    })?;
    let sig = headers
        .get(proto::HEADER_SIGNATURE)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| {
            AppError::bad_request(
                "signature",
                "缺少 X-AMR-Signature 签名 (the X-AMR-Signature header is missing)",
            )
        })?;
    let named: Value = serde_json::from_str(&body).map_err(|e| {
        AppError::bad_request(
            "body",
            format!("贷款报告不是合法的 JSON (the loan report is not valid JSON): {e}"),
        )
    })?;
    let name = named
        .get("agency")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let a = agency::by_name(&state.db, name)
        .await?
        .filter(|a| a.active && a.kind == "bank" && a.api_key_id == Some(key.id))
        .ok_or_else(|| {
            AppError::Forbidden(
                "该 API 密钥不属于报告中的银行 (this API key does not belong to the bank the report names)".into(),
            )
        })?;
    let out = loans::apply(
        &state.db,
        &a,
        &body,
        sig,
        &caller.actor,
        state.config.today(),
    )
    .await?;
    let status = if out.repeat {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(json!({"report": out}))).into_response())
}

// ----- figures ------------------------------------------------------------------------------

/// The level and the region prefix asked for. A region outside the caller's jurisdiction
/// shows nothing: the jurisdiction's filter always applies as well.
fn narrowed(q: &HashMap<String, String>) -> Result<(Level, String), AppError> {
    let level = Level::parse(q.get("level").map(String::as_str).unwrap_or(""))?;
    let region = q
        .get("region")
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    if region.len() > 9 || !region.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AppError::bad_request(
            "region",
            "region 应为不超过 9 位的区划代码前缀 (region is a division-code prefix of at most 9 digits)",
        ));
    }
    Ok((level, region))
}

async fn get_figures(
    State(state): State<AppState>,
    caller: ApiCaller,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    caller.require(Permission::ReadRecords)?;
    let (level, region) = narrowed(&q)?;
    let f = figures::figures(&state.db, &caller.scope, level, &region).await?;
    Ok(
        Json(json!({"level": f.level, "region": region, "rows": f.rows, "totals": f.totals}))
            .into_response(),
    )
}

async fn figures_page(
    viewer: Viewer,
    State(state): State<AppState>,
    PageQuery(q): PageQuery<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let s = viewer.require_login()?;
    if !s.account.role().can(Permission::ReadRecords) {
        return Err(AppError::forbidden().into());
    }
    let scope = s.account.scope();
    let (level, region) = narrowed(&q)?;
    let f = figures::figures(&state.db, &scope, level, &region).await?;
    render(
        &state,
        &viewer,
        StatusCode::OK,
        "exchange/bank_figures.html",
        json!({"level": f.level, "region": region, "rows": f.rows, "totals": f.totals}),
    )
}
