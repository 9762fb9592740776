//! The lifecycle API and the acts shared with the pages.
//!
//! Who may act: the enterprise itself (a session of role `enterprise` whose account is bound
//! to the entity's USCC) or an officer with `record_lifecycle` within the jurisdiction (window
//! service on the entity's behalf) files suspensions, extensions, resumptions, premises and
//! deregistrations; only officers decide deregistrations, resolve objections and set flags;
//! anyone may object to a simplified deregistration during its notice.

use super::body;
use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use amr_kernel::audit::Actor;
use amr_kernel::auth::{Permission, Role, Scope};
use amr_kernel::codes::uscc::Uscc;
use amr_kernel::error::AppError;
use amr_web::AppState;
use amr_web::auth::{ApiCaller, MaybeSession};
use amr_web::error::ApiError;

use crate::lifecycle::deregistration::{self, DeregInput, ObjectionInput};
use crate::lifecycle::rules::Bars;
use crate::lifecycle::suspension::{self, SuspendInput};
use crate::lifecycle::view;

use crate::premises::{self, PremisesInput};
use crate::store;

/// A code from a path: malformed is not found.
pub(crate) fn path_uscc(uscc: &str) -> Result<String, AppError> {
    Ok(Uscc::parse(uscc)
        .map_err(|_| AppError::NotFound)?
        .as_str()
        .to_string())
}

/// The scope a person acts in for the entity `uscc`: everything for the enterprise bound to
/// it, the jurisdiction for an officer who records lifecycle acts; 404 for another entity's
/// enterprise account, 403 for other roles.
pub(crate) async fn entity_scope(
    state: &AppState,
    role: Role,
    account_id: Option<i64>,
    officer_scope: &Scope,
    uscc: &str,
) -> Result<Scope, AppError> {
    match role {
        Role::Enterprise => {
            let id = account_id.ok_or(AppError::Unauthenticated)?;
            let a = amr_kernel::auth::store::get_account(&state.db, &Scope::all(), id).await?;
            if a.uscc.as_deref() == Some(uscc) {
                Ok(Scope::all())
            } else {
                Err(AppError::NotFound)
            }
        }
        r if r.can(Permission::RecordLifecycle) => Ok(officer_scope.clone()),
        _ => Err(AppError::forbidden()),
    }
}

async fn caller_scope(state: &AppState, c: &ApiCaller, uscc: &str) -> Result<Scope, AppError> {
    let role = c.role.ok_or_else(AppError::forbidden)?;
    entity_scope(state, role, c.actor.id, &c.scope, uscc).await
}

fn officer_scope(c: &ApiCaller) -> Result<Scope, ApiError> {
    c.require(Permission::RecordLifecycle)?;
    Ok(c.scope.clone())
}

/// `GET /api/v1/entities/{uscc}/lifecycle`: everything, for the entity itself or an officer.
pub async fn get_lifecycle(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(uscc): Path<String>,
) -> Result<Json<view::LifecycleDetail>, ApiError> {
    let uscc = path_uscc(&uscc)?;
    let scope = match caller.role {
        Some(r) if r.can(Permission::ReadRecords) => caller.scope.clone(),
        _ => caller_scope(&state, &caller, &uscc).await?,
    };
    let e = store::get_scoped(&state.db, &scope, &uscc).await?;
    Ok(Json(view::detail(&state.db, &e).await?))
}

/// The one act behind each filing route.
pub(crate) enum Act {
    Suspend(SuspendInput),
    Extend(String),
    Resume,
    AddPremises(PremisesInput),
    ClosePremises(i64),
    Deregister(DeregInput),
    Apply,
}

/// Runs an act in one transaction and answers the stored result as JSON.
pub(crate) async fn run_act(
    state: &AppState,
    actor: &Actor,
    scope: &Scope,
    uscc: &str,
    act: Act,
) -> Result<Value, AppError> {
    let today = state.config.today();
    let mut tx = state.db.begin().await?;
    let v = match act {
        Act::Suspend(i) => {
            json!(suspension::suspend(&mut tx, actor, scope, uscc, &i, today).await?)
        }
        Act::Extend(end) => {
            json!(suspension::extend(&mut tx, actor, scope, uscc, &end, today).await?)
        }
        Act::Resume => json!(suspension::resume(&mut tx, actor, scope, uscc, today).await?),
        Act::AddPremises(i) => json!(premises::add(&mut tx, actor, scope, uscc, &i, today).await?),
        Act::ClosePremises(id) => {
            json!(premises::close(&mut tx, actor, scope, uscc, id, today).await?)
        }
        Act::Deregister(i) => {
            json!(deregistration::file(&mut tx, actor, scope, uscc, &i, today).await?)
        }
        Act::Apply => json!(deregistration::apply(&mut tx, actor, scope, uscc, today).await?),
    };
    tx.commit().await?;
    Ok(v)
}

async fn act(
    state: &AppState,
    caller: &ApiCaller,
    uscc: &str,
    act: Act,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let uscc = path_uscc(uscc)?;
    let scope = caller_scope(state, caller, &uscc).await?;
    let v = run_act(state, &caller.actor, &scope, &uscc, act).await?;
    Ok((StatusCode::CREATED, Json(v)))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct EndBody {
    end: String,
}

/// `POST /api/v1/entities/{uscc}/suspension` `{reason, start?, end, service_address}`.
pub async fn post_suspension(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(uscc): Path<String>,
    b: Result<Json<Value>, JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    act(&state, &caller, &uscc, Act::Suspend(body(b)?)).await
}

/// `POST /api/v1/entities/{uscc}/suspension/extension` `{end}`.
pub async fn post_extension(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(uscc): Path<String>,
    b: Result<Json<Value>, JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let b: EndBody = body(b)?;
    act(&state, &caller, &uscc, Act::Extend(b.end)).await
}

/// `POST /api/v1/entities/{uscc}/suspension/resumption`.
pub async fn post_resumption(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(uscc): Path<String>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    act(&state, &caller, &uscc, Act::Resume).await
}

/// `POST /api/v1/entities/{uscc}/premises` `{address}`.
pub async fn post_premises(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(uscc): Path<String>,
    b: Result<Json<Value>, JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    act(&state, &caller, &uscc, Act::AddPremises(body(b)?)).await
}

/// `POST /api/v1/entities/{uscc}/premises/{id}/closure`.
pub async fn post_premises_closure(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path((uscc, id)): Path<(String, String)>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let id = id.parse::<i64>().map_err(|_| AppError::NotFound)?;
    act(&state, &caller, &uscc, Act::ClosePremises(id)).await
}

/// `POST /api/v1/entities/{uscc}/deregistration` `{kind, reason, liquidation_group_on?,
/// creditor_notice_on?, liquidation_report_on?}`.
pub async fn post_deregistration(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(uscc): Path<String>,
    b: Result<Json<Value>, JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    act(&state, &caller, &uscc, Act::Deregister(body(b)?)).await
}

/// `POST /api/v1/entities/{uscc}/deregistration/application`: after a simplified notice.
pub async fn post_application(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(uscc): Path<String>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    act(&state, &caller, &uscc, Act::Apply).await
}

/// The actor of an anonymous objector (their name is kept with the objection, not here).
pub(crate) fn public_actor(session: &MaybeSession) -> Actor {
    session.actor().unwrap_or(Actor {
        kind: "public",
        id: None,
        name: "public".into(),
        ip: Some(session.1.clone()),
    })
}

/// Files an objection, in one transaction.
pub(crate) async fn run_objection(
    state: &AppState,
    actor: &Actor,
    uscc: &str,
    input: &ObjectionInput,
) -> Result<deregistration::Objection, AppError> {
    let mut tx = state.db.begin().await?;
    let o = deregistration::object(&mut tx, actor, uscc, input, state.config.today()).await?;
    tx.commit().await?;
    Ok(o)
}

/// `POST /api/v1/entities/{uscc}/objections` `{objector, contact, reason}`: anyone, during a
/// simplified-deregistration notice. Answers 201 with the objection's number only.
pub async fn post_objection(
    State(state): State<AppState>,
    session: MaybeSession,
    Path(uscc): Path<String>,
    b: Result<Json<Value>, JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let uscc = path_uscc(&uscc)?;
    let input: ObjectionInput = body(b)?;
    let o = run_objection(&state, &public_actor(&session), &uscc, &input).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"id": o.id, "state": o.state, "filed_at": o.filed_at})),
    ))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct DecisionBody {
    pub decision: String,
    pub note: String,
}

/// `POST /api/v1/office/deregistrations/{id}/decision` `{decision: approve|refuse, note}`.
pub async fn post_decision(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    b: Result<Json<Value>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let scope = officer_scope(&caller)?;
    let id = id.parse::<i64>().map_err(|_| AppError::NotFound)?;
    let b: DecisionBody = body(b)?;
    let mut tx = state.db.begin().await?;
    let d = deregistration::decide(
        &mut tx,
        &caller.actor,
        &scope,
        id,
        &b.decision,
        &b.note,
        state.config.today(),
    )
    .await?;
    tx.commit().await?;
    Ok(Json(json!(d)))
}

/// `POST /api/v1/office/objections/{id}/resolution` `{decision: upheld|dismissed, note}`.
pub async fn post_resolution(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    b: Result<Json<Value>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let scope = officer_scope(&caller)?;
    let id = id.parse::<i64>().map_err(|_| AppError::NotFound)?;
    let b: DecisionBody = body(b)?;
    let mut tx = state.db.begin().await?;
    let o =
        deregistration::resolve_objection(&mut tx, &caller.actor, &scope, id, &b.decision, &b.note)
            .await?;
    tx.commit().await?;
    Ok(Json(json!(o)))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct FlagsBody {
    pub abnormal_list: bool,
    pub serious_list: bool,
    pub equity_frozen: bool,
    pub equity_pledged: bool,
    pub note: String,
}

/// `POST /api/v1/office/entities/{uscc}/flags` `{abnormal_list, serious_list, equity_frozen,
/// equity_pledged, note}`.
pub async fn post_flags(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(uscc): Path<String>,
    b: Result<Json<Value>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let scope = officer_scope(&caller)?;
    let uscc = path_uscc(&uscc)?;
    let b: FlagsBody = body(b)?;
    let mut tx = state.db.begin().await?;
    let f = deregistration::set_flags(
        &mut tx,
        &caller.actor,
        &scope,
        &uscc,
        Bars {
            abnormal_list: b.abnormal_list,
            serious_list: b.serious_list,
            equity_frozen: b.equity_frozen,
            equity_pledged: b.equity_pledged,
        },
        &b.note,
    )
    .await?;
    tx.commit().await?;
    Ok(Json(json!(f)))
}
