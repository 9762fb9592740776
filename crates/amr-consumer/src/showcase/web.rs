//! The routes of demonstration units.
//!
//! Public: `GET /showcase` (awarded units and those on notice; search by name and area),
//! `GET /showcase/{id}` (a unit; while on notice, the objection form), `POST
//! /showcase/{id}/objections`; JSON `GET /api/v1/showcase`, `GET /api/v1/showcase/{id}`,
//! `POST /api/v1/showcase/{id}/objections`.
//! The business (enterprise account): `GET/POST /portal/showcase`; JSON `POST
//! /api/v1/portal/showcase`.
//! Officers (their jurisdiction): `GET /office/showcase`, `GET /office/showcase/{id}`, `POST
//! /office/showcase/{id}/decide`, `POST /office/showcase/{id}/objections/{oid}`; JSON `GET
//! /api/v1/office/showcase`, `GET /api/v1/office/showcase/{id}`, `POST
//! /api/v1/office/showcase/{id}/decide`, `POST /api/v1/office/showcase/{id}/objections/{oid}`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use amr_kernel::auth::Scope;
use amr_kernel::error::AppError;
use amr_kernel::matter::{Acting, Matter};
use amr_web::AppState;
use amr_web::auth::{ApiCaller, MaybeSession};
use amr_web::error::ApiError;
use amr_web::extract::{PageForm, PageQuery};
use amr_web::page::{PageError, Viewer, render};

use super::store::{self, ApplyInput, DecideInput, ListQuery, ObjectInput, ResolveInput, Unit};
use super::{CATEGORIES, NOTICE_DAYS, category_zh};
use crate::complaint::{Deps, today};
use crate::pledge::input::{self, Caller};
use crate::pledge::web::{business_for, parse_id};

pub fn api_routes(deps: Deps) -> Router<AppState> {
    Router::new()
        .route("/api/v1/showcase", get(api_list))
        .route("/api/v1/showcase/{id}", get(api_get))
        .route("/api/v1/showcase/{id}/objections", post(api_object))
        .route("/api/v1/portal/showcase", post(api_apply))
        .route("/api/v1/office/showcase", get(api_office_list))
        .route("/api/v1/office/showcase/{id}", get(api_office_get))
        .route("/api/v1/office/showcase/{id}/decide", post(api_decide))
        .route(
            "/api/v1/office/showcase/{id}/objections/{oid}",
            post(api_resolve),
        )
        .layer(Extension(deps))
}

pub fn page_routes(deps: Deps) -> Router<AppState> {
    Router::new()
        .route("/showcase", get(list_page))
        .route("/showcase/{id}", get(show_page))
        .route("/showcase/{id}/objections", post(post_object))
        .route("/portal/showcase", get(portal_page).post(post_apply))
        .route("/office/showcase", get(office_list))
        .route("/office/showcase/{id}", get(office_item))
        .route("/office/showcase/{id}/decide", post(post_decide))
        .route("/office/showcase/{id}/objections/{oid}", post(post_resolve))
        .layer(Extension(deps))
}

fn division_name(code: &str) -> String {
    amr_kernel::codes::division::divisions()
        .full_name(code)
        .unwrap_or_else(|| code.to_string())
}

/// A unit as the public sees it.
pub fn public_view(u: &Unit, today: chrono::NaiveDate) -> Value {
    json!({
        "id": u.id, "uscc": u.uscc, "name": u.name,
        "division": {"code": u.division, "name": division_name(&u.division)},
        "category": {"code": u.category, "zh": category_zh(&u.category)},
        "address": u.address, "state": u.state, "state_zh": store::state_zh(&u.state),
        "notice_from": u.notice_from, "notice_until": u.notice_until,
        "objections_open": u.state == "notice" && u.notice_until.is_some_and(|d| today <= d),
        "award_no": u.award_no, "awarded_on": u.awarded_on,
        "recheck_due": u.recheck_due, "last_recheck": u.last_recheck,
        "ended_on": u.ended_on,
        "removal_complaints": u.removal_complaints,
    })
}

/// A unit as its officers (and its own business) see it.
pub fn full_view(u: &Unit, today: chrono::NaiveDate) -> Value {
    let mut v = public_view(u, today);
    v["statement"] = json!(u.statement);
    v["end_reason"] = json!(u.end_reason);
    v["recheck_overdue"] = json!(u.state == "awarded" && u.recheck_due.is_some_and(|d| d < today));
    v["notice_over"] = json!(u.state == "notice" && u.notice_until.is_some_and(|d| today > d));
    v
}

fn categories() -> Vec<Value> {
    CATEGORIES
        .iter()
        .map(|(c, zh, en)| json!({"code": c, "zh": zh, "en": en}))
        .collect()
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ListParams {
    state: String,
    name: String,
    area: String,
    before: String,
}

impl ListParams {
    fn parse(&self, public: bool, limit: i64) -> Result<ListQuery, AppError> {
        let state = match self.state.trim() {
            "" if public => Some("awarded".to_string()),
            "" => None,
            s @ ("notice" | "awarded" | "removed") => Some(s.to_string()),
            s @ ("applied" | "rejected") if !public => Some(s.to_string()),
            _ => {
                return Err(AppError::bad_request(
                    "state",
                    "状态应为 notice（公示中）、awarded（已命名）或 removed（已撤销） (the state is notice, awarded or removed)",
                ));
            }
        };
        Ok(ListQuery {
            state,
            name: input::text("name", &self.name, 0, 50, "单位名称")?,
            area: input::area(&self.area)?,
            before: match self.before.trim() {
                "" => None,
                b => Some(b.parse::<i64>().ok().filter(|n| *n > 0).ok_or_else(|| {
                    AppError::bad_request(
                        "before",
                        "翻页参数应为正整数 (before is a positive whole number)",
                    )
                })?),
            },
            limit,
        })
    }

    fn echo(&self) -> Value {
        json!({"state": self.state.trim(), "name": self.name.trim(), "area": self.area.trim()})
    }
}

// ----- public -----------------------------------------------------------------------------

async fn public_list(state: &AppState, p: &ListParams, limit: i64) -> Result<Value, AppError> {
    let q = p.parse(true, limit)?;
    let page = store::list(&state.db, &Scope::all(), &q).await?;
    let today = today(state);
    Ok(json!({
        "items": page.items.iter().map(|u| public_view(u, today)).collect::<Vec<_>>(),
        "next": page.next,
    }))
}

/// `GET /api/v1/showcase`: `state` (awarded by default, notice, removed), `name`, `area`,
/// `before`.
pub async fn api_list(
    State(state): State<AppState>,
    axum::extract::Query(p): axum::extract::Query<ListParams>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(public_list(&state, &p, 50).await?))
}

/// `GET /api/v1/showcase/{id}`: a public unit and the counts of its objections.
pub async fn api_get(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let u = store::public(&state.db, parse_id(&id)?).await?;
    let mut v = public_view(&u, today(&state));
    let objections = store::objections(&state.db, u.id).await?;
    v["objections"] = json!({
        "total": objections.len(),
        "open": objections.iter().filter(|o| o.status == "open").count(),
    });
    Ok(Json(v))
}

async fn object(
    state: &AppState,
    ip: String,
    id: &str,
    input: &ObjectInput,
) -> Result<i64, AppError> {
    let id = parse_id(id)?;
    let mut acting = Acting::system();
    acting.actor.ip = Some(ip);
    let mut tx = state.db.begin().await?;
    let oid = store::object(&mut tx, &acting.actor, id, input, today(state)).await?;
    tx.commit().await?;
    Ok(oid)
}

/// `POST /api/v1/showcase/{id}/objections`: `{"reason", "contact"}` (201).
pub async fn api_object(
    State(state): State<AppState>,
    session: MaybeSession,
    Path(id): Path<String>,
    Json(input): Json<ObjectInput>,
) -> Result<Response, ApiError> {
    let oid = object(&state, session.1.clone(), &id, &input).await?;
    Ok((StatusCode::CREATED, Json(json!({"objection": oid}))).into_response())
}

/// `GET /showcase`: the list and the search.
pub async fn list_page(
    viewer: Viewer,
    State(state): State<AppState>,
    PageQuery(p): PageQuery<ListParams>,
) -> Result<Response, PageError> {
    let mut ctx = public_list(&state, &p, 20).await?;
    ctx["q"] = p.echo();
    ctx["notice_days"] = json!(NOTICE_DAYS);
    render(&state, &viewer, StatusCode::OK, "showcase/list.html", ctx)
}

/// `GET /showcase/{id}`: a unit; the objection form while it is on notice.
pub async fn show_page(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let u = store::public(&state.db, parse_id(&id)?).await?;
    let (token, cookie) = input::form_token(&viewer);
    let ctx = json!({"u": public_view(&u, today(&state)), "form_csrf": token, "filed": false});
    let resp = render(&state, &viewer, StatusCode::OK, "showcase/show.html", ctx)?;
    Ok(input::with_cookie(resp, cookie))
}

#[derive(Debug, Default, Deserialize)]
pub struct ObjectForm {
    #[serde(default)]
    csrf: String,
    #[serde(flatten)]
    input: ObjectInput,
}

/// `POST /showcase/{id}/objections`: files an objection; the unit's page says it was
/// received.
pub async fn post_object(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(id): Path<String>,
    PageForm(f): PageForm<ObjectForm>,
) -> Result<Response, PageError> {
    input::check_form_csrf(&viewer, &f.csrf)?;
    object(&state, viewer.ip.clone(), &id, &f.input).await?;
    let u = store::public(&state.db, parse_id(&id)?).await?;
    let (token, cookie) = input::form_token(&viewer);
    let ctx = json!({"u": public_view(&u, today(&state)), "form_csrf": token, "filed": true});
    let resp = render(&state, &viewer, StatusCode::OK, "showcase/show.html", ctx)?;
    Ok(input::with_cookie(resp, cookie))
}

// ----- the business -----------------------------------------------------------------------

async fn apply(
    state: &AppState,
    deps: &Deps,
    c: &Caller,
    input: &ApplyInput,
) -> Result<Unit, AppError> {
    let business = business_for(deps, c, "").await?;
    let mut tx = state.db.begin().await?;
    let u = store::apply(&mut tx, c, &business, input, today(state)).await?;
    tx.commit().await?;
    Ok(u)
}

/// `POST /api/v1/portal/showcase`: `{"category", "address", "statement"}` (201).
pub async fn api_apply(
    State(state): State<AppState>,
    Extension(deps): Extension<Deps>,
    caller: ApiCaller,
    session: MaybeSession,
    Json(input): Json<ApplyInput>,
) -> Result<Response, ApiError> {
    let c = input::enterprise_api(&caller, session)?;
    let u = apply(&state, &deps, &c, &input).await?;
    Ok((StatusCode::CREATED, Json(full_view(&u, today(&state)))).into_response())
}

/// `GET /portal/showcase`: the business's applications and the form.
pub async fn portal_page(
    viewer: Viewer,
    State(state): State<AppState>,
) -> Result<Response, PageError> {
    let c = input::enterprise_page(&viewer)?;
    let mine = store::of_uscc(&state.db, c.uscc().unwrap_or_default()).await?;
    let today = today(&state);
    let ctx = json!({
        "units": mine.iter().map(|u| full_view(u, today)).collect::<Vec<_>>(),
        "categories": categories(),
    });
    render(&state, &viewer, StatusCode::OK, "showcase/portal.html", ctx)
}

#[derive(Debug, Default, Deserialize)]
pub struct ApplyForm {
    #[serde(default)]
    csrf: String,
    #[serde(flatten)]
    input: ApplyInput,
}

/// `POST /portal/showcase`: applies; back to the portal.
pub async fn post_apply(
    viewer: Viewer,
    State(state): State<AppState>,
    Extension(deps): Extension<Deps>,
    PageForm(f): PageForm<ApplyForm>,
) -> Result<Response, PageError> {
    let c = input::enterprise_page(&viewer)?;
    viewer.check_csrf(&f.csrf)?;
    apply(&state, &deps, &c, &f.input).await?;
    Ok(Redirect::to("/portal/showcase").into_response())
}

// ----- officers ---------------------------------------------------------------------------

async fn decide(
    state: &AppState,
    c: &Caller,
    id: &str,
    input: &DecideInput,
) -> Result<Unit, AppError> {
    let id = parse_id(id)?;
    let mut complaints: Vec<Matter> = Vec::new();
    if input.action.trim() == "remove" {
        for n in store::complaint_numbers(&input.complaints) {
            complaints.push(input::complaint_matter(&state.db, &c.acting, "complaints", &n).await?);
        }
    }
    let mut tx = state.db.begin().await?;
    let u = store::decide(&mut tx, c, id, input, &complaints, today(state)).await?;
    tx.commit().await?;
    Ok(u)
}

async fn resolve(
    state: &AppState,
    c: &Caller,
    id: &str,
    oid: &str,
    input: &ResolveInput,
) -> Result<Unit, AppError> {
    let (id, oid) = (parse_id(id)?, parse_id(oid)?);
    let mut tx = state.db.begin().await?;
    let u = store::resolve(&mut tx, c, id, oid, input, today(state)).await?;
    tx.commit().await?;
    Ok(u)
}

async fn office_detail(state: &AppState, scope: &Scope, id: i64) -> Result<Value, AppError> {
    let u = store::for_scope(&state.db, scope, id).await?;
    let objections = store::objections(&state.db, id).await?;
    let history = store::history(&state.db, id).await?;
    Ok(json!({
        "u": full_view(&u, today(state)),
        "objections": objections,
        "history": history,
    }))
}

/// `GET /api/v1/office/showcase`: units of the jurisdiction (`state`, `name`, `area`,
/// `before`).
pub async fn api_office_list(
    State(state): State<AppState>,
    caller: ApiCaller,
    session: MaybeSession,
    axum::extract::Query(p): axum::extract::Query<ListParams>,
) -> Result<Json<Value>, ApiError> {
    let c = input::officer_api(&caller, session)?;
    let q = p.parse(false, 100)?;
    let page = store::list(&state.db, &c.scope(), &q).await?;
    let today = today(&state);
    Ok(Json(json!({
        "items": page.items.iter().map(|u| full_view(u, today)).collect::<Vec<_>>(),
        "next": page.next,
    })))
}

/// `GET /api/v1/office/showcase/{id}`: a unit with its objections (contacts included) and
/// history.
pub async fn api_office_get(
    State(state): State<AppState>,
    caller: ApiCaller,
    session: MaybeSession,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let c = input::officer_api(&caller, session)?;
    Ok(Json(
        office_detail(&state, &c.scope(), parse_id(&id)?).await?,
    ))
}

/// `POST /api/v1/office/showcase/{id}/decide`: `{"action", "reason", "result",
/// "complaints"}`.
pub async fn api_decide(
    State(state): State<AppState>,
    caller: ApiCaller,
    session: MaybeSession,
    Path(id): Path<String>,
    Json(input): Json<DecideInput>,
) -> Result<Json<Value>, ApiError> {
    let c = input::officer_api(&caller, session)?;
    let u = decide(&state, &c, &id, &input).await?;
    Ok(Json(full_view(&u, today(&state))))
}

/// `POST /api/v1/office/showcase/{id}/objections/{oid}`: `{"decision", "resolution"}`.
pub async fn api_resolve(
    State(state): State<AppState>,
    caller: ApiCaller,
    session: MaybeSession,
    Path((id, oid)): Path<(String, String)>,
    Json(input): Json<ResolveInput>,
) -> Result<Json<Value>, ApiError> {
    let c = input::officer_api(&caller, session)?;
    let u = resolve(&state, &c, &id, &oid, &input).await?;
    Ok(Json(full_view(&u, today(&state))))
}

/// `GET /office/showcase`: the units of the jurisdiction by state.
pub async fn office_list(
    viewer: Viewer,
    State(state): State<AppState>,
    PageQuery(p): PageQuery<ListParams>,
) -> Result<Response, PageError> {
    let c = input::officer_page(&viewer)?;
    let q = p.parse(false, 50)?;
    let page = store::list(&state.db, &c.scope(), &q).await?;
    let today = today(&state);
    let ctx = json!({
        "items": page.items.iter().map(|u| full_view(u, today)).collect::<Vec<_>>(),
        "next": page.next,
        "q": p.echo(),
    });
    render(
        &state,
        &viewer,
        StatusCode::OK,
        "showcase/office_list.html",
        ctx,
    )
}

/// `GET /office/showcase/{id}`: a unit with its objections, history and the decision forms.
pub async fn office_item(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let c = input::officer_page(&viewer)?;
    let ctx = office_detail(&state, &c.scope(), parse_id(&id)?).await?;
    render(
        &state,
        &viewer,
        StatusCode::OK,
        "showcase/office_item.html",
        ctx,
    )
}

#[derive(Debug, Default, Deserialize)]
pub struct DecideForm {
    #[serde(default)]
    csrf: String,
    #[serde(flatten)]
    input: DecideInput,
}

/// `POST /office/showcase/{id}/decide`.
pub async fn post_decide(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(id): Path<String>,
    PageForm(f): PageForm<DecideForm>,
) -> Result<Response, PageError> {
    let c = input::officer_page(&viewer)?;
    viewer.check_csrf(&f.csrf)?;
    let u = decide(&state, &c, &id, &f.input).await?;
    Ok(Redirect::to(&format!("/office/showcase/{}", u.id)).into_response())
}

#[derive(Debug, Default, Deserialize)]
pub struct ResolveForm {
    #[serde(default)]
    csrf: String,
    #[serde(flatten)]
    input: ResolveInput,
}

/// `POST /office/showcase/{id}/objections/{oid}`.
pub async fn post_resolve(
    viewer: Viewer,
    State(state): State<AppState>,
    Path((id, oid)): Path<(String, String)>,
    PageForm(f): PageForm<ResolveForm>,
) -> Result<Response, PageError> {
    let c = input::officer_page(&viewer)?;
    viewer.check_csrf(&f.csrf)?;
    let u = resolve(&state, &c, &id, &oid, &f.input).await?;
    Ok(Redirect::to(&format!("/office/showcase/{}", u.id)).into_response())
}
