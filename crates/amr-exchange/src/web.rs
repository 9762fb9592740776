//! Routes.
//!
//! JSON (`docs/API.md`): administrators `GET|POST /api/v1/exchange/agencies`,
//! `PUT /api/v1/exchange/agencies/{name}`, `POST /api/v1/exchange/agencies/{name}/disable`;
//! agencies `POST /api/v1/exchange/acks` (their API key + `X-AMR-Signature`); the enterprise
//! and officers `GET /api/v1/exchange/entities/{uscc}` (each fan-out and each agency's status);
//! officers `GET /api/v1/exchange/stuck`.
//!
//! Pages: `/exchange/entities/{uscc}` (the applicant and officers), `/office/exchange/stuck`,
//! `/admin/exchange/agencies`.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use amr_kernel::audit::Actor;
use amr_kernel::auth::{Permission, Role, Scope};
use amr_kernel::db::Db;
use amr_kernel::error::AppError;
use amr_web::auth::ApiCaller;
use amr_web::error::ApiError;
use amr_web::extract::PageForm;
use amr_web::page::{PageError, Viewer, render};
use amr_web::{AppState, WebModule};

use crate::agency::{self, AgencyInput};
use crate::delivery::{self, Delivery};
use crate::proto;

pub const TEMPLATES: &[(&str, &str)] = &[
    (
        "exchange/entity.html",
        include_str!("../templates/exchange/entity.html"),
    ),
    (
        "exchange/stuck.html",
        include_str!("../templates/exchange/stuck.html"),
    ),
    (
        "exchange/agencies.html",
        include_str!("../templates/exchange/agencies.html"),
    ),
    (
        "exchange/consent.html",
        include_str!("../templates/exchange/consent.html"),
    ),
    (
        "exchange/banks.html",
        include_str!("../templates/exchange/banks.html"),
    ),
    (
        "exchange/bank_figures.html",
        include_str!("../templates/exchange/bank_figures.html"),
    ),
];

pub fn module() -> WebModule {
    WebModule {
        name: "exchange",
        templates: TEMPLATES,
        zh: include_str!("../locales/exchange.zh.json"),
        en: include_str!("../locales/exchange.en.json"),
    }
}

pub fn api_routes() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/exchange/agencies",
            get(get_agencies).post(post_agency),
        )
        .route("/api/v1/exchange/agencies/{name}", put(put_agency))
        .route(
            "/api/v1/exchange/agencies/{name}/disable",
            post(post_disable),
        )
        .route("/api/v1/exchange/acks", post(post_ack))
        .route("/api/v1/exchange/entities/{uscc}", get(get_entity))
        .route("/api/v1/exchange/stuck", get(get_stuck))
}

pub fn page_routes() -> Router<AppState> {
    Router::new()
        .route("/exchange/entities/{uscc}", get(entity_page))
        .route("/office/exchange/stuck", get(stuck_page))
        .route(
            "/admin/exchange/agencies",
            get(agencies_page).post(agencies_post),
        )
}

// ----- administrators ---------------------------------------------------------------------

fn admin(caller: &ApiCaller) -> Result<(), ApiError> {
    caller.require(Permission::ManageApiKeys)
}

async fn get_agencies(
    State(state): State<AppState>,
    caller: ApiCaller,
) -> Result<Response, ApiError> {
    admin(&caller)?;
    let list = agency::list(&state.db).await?;
    Ok(
        Json(json!({"agencies": list.iter().map(|a| a.to_json()).collect::<Vec<_>>()}))
            .into_response(),
    )
}

fn json_input(body: &Bytes) -> Result<AgencyInput, ApiError> {
    let v: Value = serde_json::from_slice(body).map_err(|e| {
        ApiError(AppError::bad_request(
            "body",
            format!("请求体不是合法的 JSON (the body is not valid JSON): {e}"),
        ))
    })?;
    let mut input: AgencyInput = serde_json::from_value(v.clone()).unwrap_or_default();
    let field = |k: &str| {
        v.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    input.name = field("name");
    input.display_name = field("display_name");
    input.kind = field("kind");
    input.endpoint = field("endpoint");
    input.public_key = field("public_key");
    match v.get("subscriptions") {
        Some(Value::Array(items)) => {
            input.subscription_list = Some(
                items
                    .iter()
                    .map(|i| i.as_str().unwrap_or("").to_string())
                    .collect(),
            )
        }
        Some(Value::String(s)) => input.subscriptions = s.clone(),
        _ => {}
    }
    Ok(input)
}

async fn post_agency(
    State(state): State<AppState>,
    caller: ApiCaller,
    body: Bytes,
) -> Result<Response, ApiError> {
    admin(&caller)?;
    let input = json_input(&body)?;
    let mut tx = state.db.begin().await?;
    let (a, secret) = agency::add(&mut tx, &caller.actor, &input).await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"agency": a.to_json(), "api_key": secret})),
    )
        .into_response())
}

async fn put_agency(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    admin(&caller)?;
    let input = json_input(&body)?;
    let mut tx = state.db.begin().await?;
    let a = agency::change(&mut tx, &caller.actor, &name, &input).await?;
    tx.commit().await?;
    Ok(Json(json!({"agency": a.to_json()})).into_response())
}

async fn post_disable(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    admin(&caller)?;
    let mut tx = state.db.begin().await?;
    let a = agency::disable(&mut tx, &caller.actor, &name).await?;
    tx.commit().await?;
    Ok(Json(json!({"agency": a.to_json()})).into_response())
}

// ----- agencies -------------------------------------------------------------------------------

/// `POST /api/v1/exchange/acks`: an agency's later acknowledgement. The API key must be the
/// one issued to the agency the acknowledgement names, and the signature must verify against
/// that agency's registered key.
async fn post_ack(
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
        ApiError(AppError::bad_request(
            "body",
            "请求体不是 UTF-8 文本 (the body is not UTF-8)",
        ))
    })?;
    let sig = headers
        .get(proto::HEADER_SIGNATURE)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| {
            ApiError(AppError::bad_request(
                "signature",
                "缺少 X-AMR-Signature 签名 (the X-AMR-Signature header is missing)",
            ))
        })?;
    let named = proto::Ack::parse(&body).map_err(|m| ApiError(AppError::bad_request("ack", m)))?;
    let a = agency::by_name(&state.db, &named.agency)
        .await?
        .filter(|a| a.active && a.api_key_id == Some(key.id))
        .ok_or_else(|| {
            ApiError(AppError::Forbidden(
                "该 API 密钥不属于回执中的机构 (this API key does not belong to the agency the acknowledgement names)".into(),
            ))
        })?;
    let applied = delivery::apply_answer(&state.db, &a, &body, sig, &caller.actor, None).await?;
    Ok(Json(json!({"applied": applied})).into_response())
}

// ----- status -------------------------------------------------------------------------------

/// Who may see an entity's fan-outs: the enterprise's own account, or an officer whose
/// jurisdiction covers the division of the deliveries.
fn may_see(
    role: Option<Role>,
    uscc_of_account: Option<&str>,
    scope: &Scope,
    uscc: &str,
    divisions: &[&str],
) -> bool {
    match role {
        Some(Role::Enterprise) => uscc_of_account == Some(uscc),
        Some(r) if r.can(Permission::ReadRecords) => divisions.iter().all(|d| scope.covers(d)),
        _ => false,
    }
}

/// The fan-outs of an entity: one group per event, each agency's status, and whether all are
/// done (同步办结).
pub async fn entity_view(db: &Db, uscc: &str) -> Result<Vec<Value>, AppError> {
    let rows = delivery::for_entity(db, uscc, 500).await?;
    let agencies: BTreeMap<i64, agency::Agency> = agency::list(db)
        .await?
        .into_iter()
        .map(|a| (a.id, a))
        .collect();
    let mut groups: Vec<(i64, Vec<Delivery>)> = Vec::new();
    for d in rows {
        match groups.last_mut() {
            Some((tp, list)) if *tp == d.timepoint => list.push(d),
            _ => groups.push((d.timepoint, vec![d])),
        }
    }
    Ok(groups
        .into_iter()
        .map(|(tp, list)| {
            let all_done = list.iter().all(|d| d.status == "done");
            let kind = list[0].kind.clone();
            let (zh, en) = match kind.as_str() {
                "registry.suspension.filed" => ("歇业备案", "suspension filed"),
                "registry.suspension.ended" => ("恢复营业", "business resumed"),
                _ => ("", ""),
            };
            json!({
                "timepoint": tp,
                "kind": kind,
                "label": {"zh": zh, "en": en},
                "created_at": list[0].created_at,
                "all_done": all_done,
                "agencies": list.iter().map(|d| {
                    let a = agencies.get(&d.agency_id);
                    let (kzh, ken) = agency::kind_name(a.map(|a| a.kind.as_str()).unwrap_or(""));
                    json!({
                        "agency": a.map(|a| a.name.clone()), "display_name": a.map(|a| a.display_name.clone()),
                        "kind_name": {"zh": kzh, "en": ken},
                        "status": d.status, "reason": d.reason, "attempts": d.attempts,
                        "last_error": if d.status == "pending" { d.last_error.clone() } else { None },
                        "escalated": d.escalated_at.is_some(), "answered_at": d.answered_at,
                        "message_id": d.idempotency_key,
                    })
                }).collect::<Vec<_>>(),
            })
        })
        .collect())
}

async fn entity_divisions(db: &Db, uscc: &str) -> Result<Vec<String>, AppError> {
    Ok(delivery::for_entity(db, uscc, 500)
        .await?
        .into_iter()
        .filter_map(|d| d.division)
        .collect())
}

async fn get_entity(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(uscc): Path<String>,
) -> Result<Response, ApiError> {
    let divisions = entity_divisions(&state.db, &uscc).await?;
    let refs: Vec<&str> = divisions.iter().map(String::as_str).collect();
    let own = own_uscc(&state.db, &caller).await?;
    if !may_see(caller.role, own.as_deref(), &caller.scope, &uscc, &refs) {
        return Err(ApiError(AppError::forbidden()));
    }
    let groups = entity_view(&state.db, &uscc).await?;
    Ok(Json(json!({"uscc": uscc, "fanouts": groups})).into_response())
}

async fn own_uscc(db: &Db, caller: &ApiCaller) -> Result<Option<String>, AppError> {
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

async fn get_stuck(State(state): State<AppState>, caller: ApiCaller) -> Result<Response, ApiError> {
    caller.require(Permission::ReadRecords)?;
    let rows = stuck_view(&state.db, &caller.scope).await?;
    Ok(Json(json!({"stuck": rows})).into_response())
}

async fn stuck_view(db: &Db, scope: &Scope) -> Result<Vec<Value>, AppError> {
    let agencies: BTreeMap<i64, agency::Agency> = agency::list(db)
        .await?
        .into_iter()
        .map(|a| (a.id, a))
        .collect();
    Ok(delivery::stuck(db, 500)
        .await?
        .into_iter()
        .filter(|d| scope.covers(d.division.as_deref().unwrap_or("")))
        .map(|d| {
            json!({"message_id": d.idempotency_key, "agency": agencies.get(&d.agency_id).map(|a| a.display_name.clone()),
                   "uscc": d.uscc, "kind": d.kind, "status": d.status, "attempts": d.attempts,
                   "last_error": d.last_error, "created_at": d.created_at, "escalated_at": d.escalated_at})
        })
        .collect())
}

// ----- pages -------------------------------------------------------------------------------

async fn entity_page(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(uscc): Path<String>,
) -> Result<Response, PageError> {
    let s = viewer.require_login()?;
    let divisions = entity_divisions(&state.db, &uscc).await?;
    let refs: Vec<&str> = divisions.iter().map(String::as_str).collect();
    if !may_see(
        Some(s.account.role()),
        s.account.uscc.as_deref(),
        &s.account.scope(),
        &uscc,
        &refs,
    ) {
        return Err(AppError::forbidden().into());
    }
    let groups = entity_view(&state.db, &uscc).await?;
    render(
        &state,
        &viewer,
        StatusCode::OK,
        "exchange/entity.html",
        json!({"uscc": uscc, "fanouts": groups}),
    )
}

async fn stuck_page(viewer: Viewer, State(state): State<AppState>) -> Result<Response, PageError> {
    let s = viewer.require_login()?;
    if !s.account.role().can(Permission::ReadRecords) {
        return Err(AppError::forbidden().into());
    }
    let rows = stuck_view(&state.db, &s.account.scope()).await?;
    render(
        &state,
        &viewer,
        StatusCode::OK,
        "exchange/stuck.html",
        json!({"rows": rows}),
    )
}

async fn agencies_page(
    viewer: Viewer,
    State(state): State<AppState>,
) -> Result<Response, PageError> {
    viewer.require_admin()?;
    agencies_render(&state, &viewer, StatusCode::OK, None, json!({}), json!({})).await
}

async fn agencies_render(
    state: &AppState,
    viewer: &Viewer,
    status: StatusCode,
    new_key: Option<Value>,
    form: Value,
    errors: Value,
) -> Result<Response, PageError> {
    // Every field of the form is defined (empty when not entered): the templates print them.
    let mut filled = json!({"name": "", "display_name": "", "kind": "", "endpoint": "",
        "subscriptions": "", "public_key": ""});
    if let (Some(f), Value::Object(given)) = (filled.as_object_mut(), form) {
        f.extend(given);
    }
    let form = filled;
    let list: Vec<Value> = agency::list(&state.db)
        .await?
        .iter()
        .map(|a| a.to_json())
        .collect();
    let kinds: Vec<Value> = agency::KINDS
        .iter()
        .map(|(k, zh, en)| json!({"code": k, "zh": zh, "en": en}))
        .collect();
    render(
        state,
        viewer,
        status,
        "exchange/agencies.html",
        json!({"agencies": list, "kinds": kinds, "new_key": new_key, "form": form, "errors": errors}),
    )
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct AgencyForm {
    csrf: String,
    action: String,
    name: String,
    display_name: String,
    kind: String,
    endpoint: String,
    subscriptions: String,
    public_key: String,
}

async fn agencies_post(
    viewer: Viewer,
    State(state): State<AppState>,
    PageForm(f): PageForm<AgencyForm>,
) -> Result<Response, PageError> {
    let s = viewer.require_admin()?;
    viewer.check_csrf(&f.csrf)?;
    let actor: Actor = amr_web::auth::session_actor(s, &viewer.ip);
    let mut tx = state.db.begin().await?;
    if f.action == "disable" {
        agency::disable(&mut tx, &actor, &f.name).await?;
        tx.commit().await?;
        return agencies_render(&state, &viewer, StatusCode::OK, None, json!({}), json!({})).await;
    }
    let input = AgencyInput {
        name: f.name.clone(),
        display_name: f.display_name.clone(),
        kind: f.kind.clone(),
        endpoint: f.endpoint.clone(),
        subscriptions: f.subscriptions.clone(),
        subscription_list: None,
        public_key: f.public_key.clone(),
    };
    let form = json!({"name": f.name, "display_name": f.display_name, "kind": f.kind, "endpoint": f.endpoint,
                      "subscriptions": f.subscriptions, "public_key": f.public_key});
    match agency::add(&mut tx, &actor, &input).await {
        Ok((a, secret)) => {
            tx.commit().await?;
            agencies_render(
                &state,
                &viewer,
                StatusCode::OK,
                Some(json!({"name": a.name, "secret": secret})),
                json!({}),
                json!({}),
            )
            .await
        }
        Err(AppError::BadRequest { field, message }) => {
            tx.rollback().await?;
            let mut errors = serde_json::Map::new();
            errors.insert(field, Value::String(message));
            agencies_render(
                &state,
                &viewer,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                form,
                Value::Object(errors),
            )
            .await
        }
        Err(AppError::Conflict(message)) => {
            tx.rollback().await?;
            agencies_render(
                &state,
                &viewer,
                StatusCode::CONFLICT,
                None,
                form,
                json!({"name": message}),
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_template_key_is_in_the_catalog() {
        amr_web::templates::assert_keys_in_catalog(super::TEMPLATES, &[super::module()]);
    }
}
