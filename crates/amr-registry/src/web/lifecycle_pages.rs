//! The lifecycle pages: the enterprise portal (`/portal/entities/{uscc}`), the filing forms
//! both the enterprise and officers post to (`/manage/entities/{uscc}/...`), the officers'
//! decisions (`/office/...`) and the public objection form (`/entities/{uscc}/objections`).
//! Every form carries its CSRF token; a refusal is an error page stating the rule.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use amr_kernel::auth::{Permission, Role, Scope};
use amr_kernel::error::AppError;
use amr_web::AppState;
use amr_web::csrf;
use amr_web::extract::PageForm;
use amr_web::page::{PageError, Viewer, render};

use super::lifecycle::{Act, entity_scope, path_uscc, run_act, run_objection};
use crate::lifecycle::deregistration::{self, DeregInput, ObjectionInput};
use crate::lifecycle::rules::Bars;
use crate::lifecycle::suspension::SuspendInput;
use crate::lifecycle::view;
use crate::model::OfficerEntity;
use crate::premises::PremisesInput;
use crate::store;

/// `GET /portal`: the enterprise's own entity.
pub async fn portal(viewer: Viewer) -> Result<Response, PageError> {
    let s = viewer.require_login()?;
    match (s.account.role(), s.account.uscc.as_deref()) {
        (Role::Enterprise, Some(u)) => {
            Ok(Redirect::to(&format!("/portal/entities/{u}")).into_response())
        }
        _ => Err(AppError::forbidden().into()),
    }
}

/// The scope the viewer acts in for `uscc` and the page to return to.
async fn acting(
    state: &AppState,
    viewer: &Viewer,
    uscc: &str,
) -> Result<(Scope, String), PageError> {
    let s = viewer.require_login()?;
    let role = s.account.role();
    let scope = entity_scope(state, role, Some(s.account.id), &s.account.scope(), uscc).await?;
    let back = match role {
        Role::Enterprise => format!("/portal/entities/{uscc}"),
        _ => format!("/office/entities/{uscc}"),
    };
    Ok((scope, back))
}

/// The service-guide items beside each of the portal's forms (`suspension`, `extension`,
/// `premises`, `deregistration`), as boxes; each list empty when the catalogue has not been
/// imported.
async fn lifecycle_guide(
    state: &AppState,
    entity_type: crate::model::EntityType,
) -> Result<serde_json::Value, AppError> {
    use crate::guide::{Stage, web::boxes};
    let simplified = match entity_type {
        crate::model::EntityType::IndividualBusiness => "exit.individual_simplified_deregistration",
        _ => "exit.simplified_deregistration",
    };
    Ok(serde_json::json!({
        "suspension": boxes(&state.db, Some(Stage::Operation), &["operation.suspension"]).await?,
        "extension": boxes(&state.db, Some(Stage::Operation), &["operation.suspension_extension"]).await?,
        "premises": boxes(&state.db, Some(Stage::Operation), &["operation.extra_premises"]).await?,
        "deregistration": boxes(&state.db, Some(Stage::Exit), &["exit.deregistration", simplified]).await?,
    }))
}

/// `GET /portal/entities/{uscc}`: the enterprise's record, lifecycle and filing forms, each
/// form with the service-guide items that apply to it.
pub async fn portal_entity(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(uscc): Path<String>,
) -> Result<Response, PageError> {
    let uscc = path_uscc(&uscc)?;
    let s = viewer.require_login()?;
    if s.account.role() != Role::Enterprise {
        return Err(AppError::forbidden().into());
    }
    let (scope, _) = acting(&state, &viewer, &uscc).await?;
    let e = store::get_scoped(&state.db, &scope, &uscc).await?;
    let detail = view::detail(&state.db, &e).await?;
    let public = view::public_record(&state.db, &e, state.config.today()).await?;
    let guide = lifecycle_guide(&state, e.entity_type).await?;
    let page = serde_json::json!({
        "guide": guide,
        "entity": OfficerEntity::from(&e),
        "detail": detail,
        "public": public,
        "base": format!("/manage/entities/{uscc}"),
        "today": state.config.today(),
        "changes": crate::change::store::list_for_entity(&state.db, &e.uscc).await?,
        "annual": crate::annual::web::portal_item(&state, &e).await?,
        "links": state.portal_links.as_ref(),
    });
    render(
        &state,
        &viewer,
        StatusCode::OK,
        "registry/portal.html",
        page,
    )
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ManageForm {
    csrf: String,
    reason: String,
    start: String,
    end: String,
    service_address: String,
    address: String,
    kind: String,
    liquidation_group_on: String,
    creditor_notice_on: String,
    liquidation_report_on: String,
    #[serde(flatten)]
    agencies: crate::lifecycle::suspension::AgencyFields,
}

/// `POST /manage/entities/{uscc}/{act}`: `suspension`, `extension`, `resumption`, `premises`,
/// `deregistration`, `application`.
pub async fn post_manage(
    viewer: Viewer,
    State(state): State<AppState>,
    Path((uscc, what)): Path<(String, String)>,
    PageForm(f): PageForm<ManageForm>,
) -> Result<Response, PageError> {
    let uscc = path_uscc(&uscc)?;
    viewer.require_login()?;
    viewer.check_csrf(&f.csrf)?;
    let (scope, back) = acting(&state, &viewer, &uscc).await?;
    let act = match what.as_str() {
        "suspension" => Act::Suspend(SuspendInput {
            reason: f.reason,
            start: f.start,
            end: f.end,
            service_address: f.service_address,
            agencies: f.agencies,
        }),
        "extension" => Act::Extend(f.end),
        "resumption" => Act::Resume,
        "premises" => Act::AddPremises(PremisesInput { address: f.address }),
        "deregistration" => Act::Deregister(DeregInput {
            kind: f.kind,
            reason: f.reason,
            liquidation_group_on: f.liquidation_group_on,
            creditor_notice_on: f.creditor_notice_on,
            liquidation_report_on: f.liquidation_report_on,
        }),
        "application" => Act::Apply,
        _ => return Err(PageError::not_found()),
    };
    let actor = viewer.actor().ok_or(AppError::Unauthenticated)?;
    run_act(&state, &actor, &scope, &uscc, act).await?;
    Ok(Redirect::to(&format!("{back}?done={what}")).into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CsrfForm {
    csrf: String,
}

/// `POST /manage/entities/{uscc}/premises/{id}/closure`.
pub async fn post_close_premises(
    viewer: Viewer,
    State(state): State<AppState>,
    Path((uscc, id)): Path<(String, String)>,
    PageForm(f): PageForm<CsrfForm>,
) -> Result<Response, PageError> {
    let uscc = path_uscc(&uscc)?;
    viewer.require_login()?;
    viewer.check_csrf(&f.csrf)?;
    let id = id.parse::<i64>().map_err(|_| AppError::NotFound)?;
    let (scope, back) = acting(&state, &viewer, &uscc).await?;
    let actor = viewer.actor().ok_or(AppError::Unauthenticated)?;
    run_act(&state, &actor, &scope, &uscc, Act::ClosePremises(id)).await?;
    Ok(Redirect::to(&format!("{back}?done=closure")).into_response())
}

/// The officer's scope for decisions; 403 for roles that do not record lifecycle acts.
fn officer(viewer: &Viewer) -> Result<Scope, PageError> {
    let s = viewer.require_login()?;
    if !s.account.role().can(Permission::RecordLifecycle) {
        return Err(AppError::forbidden().into());
    }
    Ok(s.account.scope())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct FlagsForm {
    csrf: String,
    abnormal_list: Option<String>,
    serious_list: Option<String>,
    equity_frozen: Option<String>,
    equity_pledged: Option<String>,
    note: String,
}

/// `POST /office/entities/{uscc}/flags`: checkboxes (present = set).
pub async fn post_flags(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(uscc): Path<String>,
    PageForm(f): PageForm<FlagsForm>,
) -> Result<Response, PageError> {
    let scope = officer(&viewer)?;
    viewer.check_csrf(&f.csrf)?;
    let uscc = path_uscc(&uscc)?;
    let actor = viewer.actor().ok_or(AppError::Unauthenticated)?;
    let to = Bars {
        abnormal_list: f.abnormal_list.is_some(),
        serious_list: f.serious_list.is_some(),
        equity_frozen: f.equity_frozen.is_some(),
        equity_pledged: f.equity_pledged.is_some(),
    };
    let mut tx = state.db.begin().await?;
    deregistration::set_flags(&mut tx, &actor, &scope, &uscc, to, &f.note).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/office/entities/{uscc}?done=flags")).into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct DecisionForm {
    csrf: String,
    decision: String,
    note: String,
    uscc: String,
}

fn back_to(uscc: &str, done: &str) -> Response {
    match path_uscc(uscc) {
        Ok(u) => Redirect::to(&format!("/office/entities/{u}?done={done}")).into_response(),
        Err(_) => Redirect::to("/office/deregistrations").into_response(),
    }
}

/// `POST /office/deregistrations/{id}/decision`.
pub async fn post_decision(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(id): Path<String>,
    PageForm(f): PageForm<DecisionForm>,
) -> Result<Response, PageError> {
    let scope = officer(&viewer)?;
    viewer.check_csrf(&f.csrf)?;
    let id = id.parse::<i64>().map_err(|_| AppError::NotFound)?;
    let actor = viewer.actor().ok_or(AppError::Unauthenticated)?;
    let mut tx = state.db.begin().await?;
    let d = deregistration::decide(
        &mut tx,
        &actor,
        &scope,
        id,
        &f.decision,
        &f.note,
        state.config.today(),
    )
    .await?;
    tx.commit().await?;
    Ok(back_to(&d.uscc, "decision"))
}

/// `POST /office/objections/{id}/resolution`.
pub async fn post_resolution(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(id): Path<String>,
    PageForm(f): PageForm<DecisionForm>,
) -> Result<Response, PageError> {
    let scope = officer(&viewer)?;
    viewer.check_csrf(&f.csrf)?;
    let id = id.parse::<i64>().map_err(|_| AppError::NotFound)?;
    let actor = viewer.actor().ok_or(AppError::Unauthenticated)?;
    let mut tx = state.db.begin().await?;
    let o = deregistration::resolve_objection(&mut tx, &actor, &scope, id, &f.decision, &f.note)
        .await?;
    tx.commit().await?;
    let _ = &f.uscc;
    Ok(back_to(&o.uscc, "resolution"))
}

/// `GET /office/deregistrations`: the deregistrations awaiting a decision or with open
/// objections, within the jurisdiction.
pub async fn get_queue(
    viewer: Viewer,
    State(state): State<AppState>,
) -> Result<Response, PageError> {
    let scope = officer(&viewer)?;
    let items = deregistration::queue(&state.db, &scope).await?;
    render(
        &state,
        &viewer,
        StatusCode::OK,
        "registry/office_deregistrations.html",
        serde_json::json!({ "items": items }),
    )
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ObjectionForm {
    csrf: String,
    objector: String,
    contact: String,
    reason: String,
}

/// `POST /entities/{uscc}/objections`: anyone, during a simplified-deregistration notice
/// (CSRF: the session's token, or before login the `amr_csrf` cookie's).
pub async fn post_objection(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(uscc): Path<String>,
    PageForm(f): PageForm<ObjectionForm>,
) -> Result<Response, PageError> {
    let uscc = path_uscc(&uscc)?;
    match &viewer.session {
        Some(_) => viewer.check_csrf(&f.csrf)?,
        None => csrf::check(&f.csrf, viewer.login_csrf.as_deref())?,
    }
    let actor = viewer.actor().unwrap_or(amr_kernel::audit::Actor {
        kind: "public",
        id: None,
        name: "public".into(),
        ip: Some(viewer.ip.clone()),
    });
    let input = ObjectionInput {
        objector: f.objector,
        contact: f.contact,
        reason: f.reason,
    };
    let o = run_objection(&state, &actor, &uscc, &input).await?;
    Ok(Redirect::to(&format!("/entities/{uscc}?objection={}", o.id)).into_response())
}
