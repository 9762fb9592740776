//! The routes of the credit-risk classes (officers within their jurisdiction; never public).
//!
//! Pages: `/office/risk` (distribution by class and city with server-drawn SVG bars, the
//! latest runs, a recompute form for administrators), `/office/risk/entities/{uscc}` (class,
//! score, each reason, the observations), `/office/risk/model` (the model; administrators
//! replace it). API: `GET /api/v1/office/risk/entities/{uscc}`,
//! `GET /api/v1/office/risk/summary`, `POST /api/v1/office/risk/recompute` (administrators;
//! `{"scope": "3701"}` optional, 202 with the run id; the run goes on in the background).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use amr_kernel::audit::Actor;
use amr_kernel::auth::{Permission, Role, Scope};
use amr_kernel::codes::division::Jurisdiction;
use amr_kernel::codes::uscc::Uscc;
use amr_kernel::db::Db;
use amr_kernel::error::AppError;
use amr_web::auth::ApiCaller;
use amr_web::error::ApiError;
use amr_web::extract::{PageForm, PageQuery};
use amr_web::page::{PageError, Viewer, render};
use amr_web::{AppState, WebModule};

use super::batch::{self, RunGuard};
use super::model::Model;
use super::store;
use crate::draw::model::RiskClass;
use crate::targets::RegistrySource;

/// The templates and texts of the credit-risk pages.
pub fn module() -> WebModule {
    WebModule {
        name: "supervision.risk",
        templates: &[
            (
                "risk/summary.html",
                include_str!("../../templates/risk/summary.html"),
            ),
            (
                "risk/entity.html",
                include_str!("../../templates/risk/entity.html"),
            ),
            (
                "risk/model.html",
                include_str!("../../templates/risk/model.html"),
            ),
        ],
        zh: include_str!("../../locales/risk.zh.json"),
        en: include_str!("../../locales/risk.en.json"),
    }
}

/// The registry, for the routes (an extension of the risk routers).
#[derive(Debug, Clone)]
pub struct Registry(pub Arc<dyn RegistrySource>);

/// The JSON routes.
pub fn api_routes(registry: Arc<dyn RegistrySource>) -> Router<AppState> {
    Router::new()
        .route("/api/v1/office/risk/entities/{uscc}", get(api_entity))
        .route("/api/v1/office/risk/summary", get(api_summary))
        .route("/api/v1/office/risk/recompute", post(api_recompute))
        .layer(Extension(Registry(registry)))
}

/// The page routes.
pub fn page_routes(registry: Arc<dyn RegistrySource>) -> Router<AppState> {
    Router::new()
        .route("/office/risk", get(summary_page))
        .route("/office/risk/recompute", post(post_recompute))
        .route("/office/risk/model", get(model_page).post(post_model))
        .route("/office/risk/entities", get(find_entity))
        .route("/office/risk/entities/{uscc}", get(entity_page))
        .layer(Extension(Registry(registry)))
}

fn officer(viewer: &Viewer) -> Result<(Scope, bool), PageError> {
    let session = viewer.require_login()?;
    let role = session.account.role();
    if !role.can(Permission::ReadRecords) {
        return Err(AppError::forbidden().into());
    }
    Ok((session.account.scope(), role == Role::Admin))
}

fn api_officer(caller: &ApiCaller) -> Result<Scope, ApiError> {
    caller.require(Permission::ReadRecords)?;
    Ok(caller.scope.clone())
}

// ----- one entity -------------------------------------------------------------------------

/// An entity's class as officers see it; 404 outside the scope or unknown.
async fn entity_view(
    db: &Db,
    registry: &dyn RegistrySource,
    scope: &Scope,
    uscc: &str,
) -> Result<Value, AppError> {
    let uscc = Uscc::parse(uscc).map_err(|_| AppError::NotFound)?;
    let uscc = uscc.as_str();
    let facts = registry.get(uscc).await?.ok_or(AppError::NotFound)?;
    if !scope.contains(Some(&facts.division)) {
        return Err(AppError::NotFound);
    }
    let stored = store::get(db, scope, uscc).await?;
    let model = store::model(db).await?;
    let observations = store::observation_rows(db, uscc).await?;
    let class = stored.as_ref().map_or(RiskClass::B, |s| s.class);
    Ok(json!({
        "uscc": facts.uscc,
        "name": facts.name,
        "division": facts.division,
        "status": facts.status,
        "industry": facts.industry,
        "established": facts.established,
        "scored": stored.is_some(),
        "class": class,
        "score": stored.as_ref().map(|s| s.score),
        "reasons": stored.as_ref().map(|s| s.reasons.clone()).unwrap_or_default(),
        "not_counted": model.unsourced(),
        "model_version": stored.as_ref().map(|s| s.model_version.clone()),
        "current_model_version": model.version,
        "computed_at": stored.as_ref().map(|s| s.computed_at),
        "observations": observations,
    }))
}

/// `GET /api/v1/office/risk/entities/{uscc}`.
pub async fn api_entity(
    State(state): State<AppState>,
    Extension(Registry(registry)): Extension<Registry>,
    caller: ApiCaller,
    Path(uscc): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let scope = api_officer(&caller)?;
    Ok(Json(
        entity_view(&state.db, registry.as_ref(), &scope, &uscc).await?,
    ))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct FindQuery {
    uscc: String,
}

/// `GET /office/risk/entities?uscc=...`: the lookup form's target (works without scripts).
pub async fn find_entity(
    viewer: Viewer,
    PageQuery(q): PageQuery<FindQuery>,
) -> Result<Response, PageError> {
    officer(&viewer)?;
    let uscc = Uscc::parse(q.uscc.trim()).map_err(|e| AppError::bad_request("uscc", e))?;
    Ok(Redirect::to(&format!("/office/risk/entities/{}", uscc.as_str())).into_response())
}

/// `GET /office/risk/entities/{uscc}`.
pub async fn entity_page(
    viewer: Viewer,
    State(state): State<AppState>,
    Extension(Registry(registry)): Extension<Registry>,
    Path(uscc): Path<String>,
) -> Result<Response, PageError> {
    let (scope, _) = officer(&viewer)?;
    let page = entity_view(&state.db, registry.as_ref(), &scope, &uscc).await?;
    render(&state, &viewer, StatusCode::OK, "risk/entity.html", page)
}

// ----- the distribution ---------------------------------------------------------------------

/// The summary with the bars of an SVG chart (stacked by class, one bar per city).
async fn summary_view(db: &Db, scope: &Scope) -> Result<Value, AppError> {
    let s = store::summary(db, scope).await?;
    let runs = store::runs(db, 5).await?;
    let model = store::model_text(db).await?;
    const LABEL: i64 = 90;
    const WIDTH: i64 = 420;
    const ROW: i64 = 26;
    let max = s.by_city.iter().map(|c| c.total).max().unwrap_or(0).max(1);
    let mut bars = Vec::new();
    for (i, city) in s.by_city.iter().enumerate() {
        let mut x = LABEL;
        let mut segments = Vec::new();
        for class in RiskClass::ALL {
            let n = city.by_class.get(class);
            if n == 0 {
                continue;
            }
            let w = (n * WIDTH / max).max(1);
            segments.push(json!({"x": x, "w": w, "class": class.as_str(), "count": n}));
            x += w;
        }
        bars.push(json!({
            "y": 10 + i as i64 * ROW,
            "city": city.city,
            "total": city.total,
            "end": x + 6,
            "segments": segments,
        }));
    }
    let shares: BTreeMap<&str, String> = RiskClass::ALL
        .iter()
        .map(|c| {
            let n = s.by_class.get(*c);
            let pct = if s.total > 0 {
                format!("{:.1}%", n as f64 * 100.0 / s.total as f64)
            } else {
                "—".into()
            };
            (c.as_str(), pct)
        })
        .collect();
    Ok(json!({
        "summary": s,
        "shares": shares,
        "classes": ["A", "B", "C", "D"],
        "runs": runs,
        "model_version": model.version,
        "chart": {
            "width": LABEL + WIDTH + 60,
            "height": 40 + s.by_city.len() as i64 * ROW,
            "legend_y": 20 + s.by_city.len() as i64 * ROW,
            "bars": bars,
        },
    }))
}

/// `GET /api/v1/office/risk/summary`: counts by class and city within the caller's scope,
/// the latest runs and the model version.
pub async fn api_summary(
    State(state): State<AppState>,
    caller: ApiCaller,
) -> Result<Json<Value>, ApiError> {
    let scope = api_officer(&caller)?;
    let mut v = summary_view(&state.db, &scope).await?;
    if let Some(o) = v.as_object_mut() {
        o.remove("chart");
    }
    Ok(Json(v))
}

/// `GET /office/risk`.
pub async fn summary_page(
    viewer: Viewer,
    State(state): State<AppState>,
) -> Result<Response, PageError> {
    let (scope, admin) = officer(&viewer)?;
    let mut page = summary_view(&state.db, &scope).await?;
    if let Some(o) = page.as_object_mut() {
        o.insert("admin".into(), json!(admin));
        o.insert("scope".into(), json!(scope.as_prefix().unwrap_or_default()));
    }
    render(&state, &viewer, StatusCode::OK, "risk/summary.html", page)
}

// ----- recompute ----------------------------------------------------------------------------

/// The scope asked for: empty = the caller's whole jurisdiction; otherwise a division code
/// the caller's jurisdiction covers.
fn requested_scope(caller_scope: &Scope, asked: &str) -> Result<String, AppError> {
    let own = caller_scope.as_prefix().ok_or_else(AppError::forbidden)?;
    let asked = asked.trim();
    if asked.is_empty() {
        return Ok(own.to_string());
    }
    let j = Jurisdiction::parse(asked).map_err(|e| AppError::bad_request("scope", e))?;
    let p = j.prefix().to_string();
    if !caller_scope.covers(&p) {
        return Err(AppError::bad_request(
            "scope",
            "只能重新计算本辖区 (only within your jurisdiction)",
        ));
    }
    Ok(p)
}

/// Starts a run in the background; its id.
async fn start_recompute(
    db: &Db,
    registry: Arc<dyn RegistrySource>,
    actor: Actor,
    scope: String,
    today: chrono::NaiveDate,
) -> Result<i64, AppError> {
    let guard = RunGuard::acquire()?;
    let trigger = if scope.is_empty() {
        format!("manual {}", actor.label())
    } else {
        format!("manual {} scope={scope}", actor.label())
    };
    let run = batch::begin_run(db, &trigger).await?;
    let db = db.clone();
    tokio::spawn(async move {
        let _guard = guard;
        match batch::recompute_all(&db, registry.as_ref(), &scope, run, &actor, today, |_| {}).await
        {
            Ok(s) => tracing::info!(run, entities = s.entities, "credit-risk recompute done"),
            Err(e) => tracing::warn!(run, error = %e, "credit-risk recompute failed"),
        }
    });
    Ok(run)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RecomputeBody {
    scope: String,
}

/// `POST /api/v1/office/risk/recompute` (administrators): 202 `{run_id, scope}`.
pub async fn api_recompute(
    State(state): State<AppState>,
    Extension(Registry(registry)): Extension<Registry>,
    caller: ApiCaller,
    body: Option<Json<RecomputeBody>>,
) -> Result<Response, ApiError> {
    if caller.role != Some(Role::Admin) {
        return Err(AppError::forbidden().into());
    }
    let asked = body.map(|Json(b)| b.scope).unwrap_or_default();
    let scope = requested_scope(&caller.scope, &asked)?;
    let run = start_recompute(
        &state.db,
        registry,
        caller.actor.clone(),
        scope.clone(),
        state.config.today(),
    )
    .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"run_id": run, "scope": scope})),
    )
        .into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RecomputeForm {
    csrf: String,
    scope: String,
}

/// `POST /office/risk/recompute` (administrators).
pub async fn post_recompute(
    viewer: Viewer,
    State(state): State<AppState>,
    Extension(Registry(registry)): Extension<Registry>,
    PageForm(f): PageForm<RecomputeForm>,
) -> Result<Response, PageError> {
    let session = viewer.require_admin()?;
    viewer.check_csrf(&f.csrf)?;
    let scope = requested_scope(&session.account.scope(), &f.scope)?;
    let actor = viewer.actor().ok_or(AppError::Unauthenticated)?;
    start_recompute(&state.db, registry, actor, scope, state.config.today()).await?;
    Ok(Redirect::to("/office/risk").into_response())
}

// ----- the model ----------------------------------------------------------------------------

/// `GET /office/risk/model`: the model in force; administrators get the editor.
pub async fn model_page(
    viewer: Viewer,
    State(state): State<AppState>,
) -> Result<Response, PageError> {
    let (_, admin) = officer(&viewer)?;
    let text = store::model_text(&state.db).await?;
    let model = Model::parse(&text.toml)?;
    let page = json!({
        "text": text,
        "model": model,
        "kinds": super::model::OBSERVATION_KINDS,
        "admin": admin,
    });
    render(&state, &viewer, StatusCode::OK, "risk/model.html", page)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ModelForm {
    csrf: String,
    toml: String,
}

/// `POST /office/risk/model`: an administrator replaces the model; a bad text is refused
/// (400, with the line) and changes nothing.
pub async fn post_model(
    viewer: Viewer,
    State(state): State<AppState>,
    PageForm(f): PageForm<ModelForm>,
) -> Result<Response, PageError> {
    viewer.require_admin()?;
    viewer.check_csrf(&f.csrf)?;
    let actor = viewer.actor().ok_or(AppError::Unauthenticated)?;
    let mut tx = state.db.begin().await?;
    store::set_model(&mut tx, &actor, &f.toml.replace("\r\n", "\n")).await?;
    tx.commit().await?;
    Ok(Redirect::to("/office/risk/model").into_response())
}
