//! The routes of no-reason-return pledges.
//!
//! Public: `GET /pledges` (search by name, area, category; keyset pages), `GET
//! /pledges/{id}` (the pledge with its breaches); JSON `GET /api/v1/pledges`, `GET
//! /api/v1/pledges/{id}`.
//! The shop (enterprise account, its own USCC): `GET/POST /portal/pledge`, `POST
//! /portal/pledge/{id}/withdraw`; JSON `POST /api/v1/portal/pledges`, `POST
//! /api/v1/portal/pledges/{id}/withdraw`.
//! Officers (their jurisdiction): `GET/POST /office/pledges` (list; record one at the
//! window), `GET /office/pledges/{id}`, `POST /office/pledges/{id}/breaches`, `POST
//! /office/pledges/{id}/withdraw`; JSON `GET/POST /api/v1/office/pledges`, `POST
//! /api/v1/office/pledges/{id}/breaches`, `POST /api/v1/office/pledges/{id}/withdraw`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use amr_kernel::auth::Scope;
use amr_kernel::codes::uscc::Uscc;
use amr_kernel::error::AppError;
use amr_web::auth::{ApiCaller, MaybeSession};
use amr_web::error::ApiError;
use amr_web::extract::{PageForm, PageQuery};
use amr_web::page::{PageError, Viewer, render};
use amr_web::{AppState, WebModule};

use super::input::{self, Caller, MultiForm};
use super::store::{self, BreachInput, Pledge, PledgeInput, Search, WithdrawInput};
use crate::complaint::{Business, Deps, today};

/// The templates and texts of the pledge, showcase and compensation parts.
pub fn module() -> WebModule {
    WebModule {
        name: "consumer.confidence",
        templates: TEMPLATES,
        zh: include_str!("../../locales/confidence.zh.json"),
        en: include_str!("../../locales/confidence.en.json"),
    }
}

macro_rules! template {
    ($name:literal) => {
        ($name, include_str!(concat!("../../templates/", $name)))
    };
}

pub const TEMPLATES: &[(&str, &str)] = &[
    template!("pledge/_form.html"),
    template!("pledge/search.html"),
    template!("pledge/show.html"),
    template!("pledge/portal.html"),
    template!("pledge/office_list.html"),
    template!("pledge/office_item.html"),
    template!("showcase/list.html"),
    template!("showcase/show.html"),
    template!("showcase/portal.html"),
    template!("showcase/office_list.html"),
    template!("showcase/office_item.html"),
    template!("compensation/_pledge_fields.html"),
    template!("compensation/office.html"),
    template!("compensation/portal.html"),
];

pub fn api_routes(deps: Deps) -> Router<AppState> {
    Router::new()
        .route("/api/v1/pledges", get(api_search))
        .route("/api/v1/pledges/{id}", get(api_get))
        .route("/api/v1/portal/pledges", post(api_portal_make))
        .route("/api/v1/portal/pledges/{id}/withdraw", post(api_withdraw))
        .route(
            "/api/v1/office/pledges",
            get(api_office_list).post(api_office_make),
        )
        .route(
            "/api/v1/office/pledges/{id}/withdraw",
            post(api_withdraw_office),
        )
        .route("/api/v1/office/pledges/{id}/breaches", post(api_breach))
        .layer(Extension(deps))
}

pub fn page_routes(deps: Deps) -> Router<AppState> {
    Router::new()
        .route("/pledges", get(search_page))
        .route("/pledges/{id}", get(show_page))
        .route("/portal/pledge", get(portal_page).post(post_portal_make))
        .route("/portal/pledge/{id}/withdraw", post(post_portal_withdraw))
        .route("/office/pledges", get(office_list).post(post_office_make))
        .route("/office/pledges/{id}", get(office_item))
        .route("/office/pledges/{id}/withdraw", post(post_office_withdraw))
        .route("/office/pledges/{id}/breaches", post(post_office_breach))
        .layer(Extension(deps))
}

// ----- shared -----------------------------------------------------------------------------

/// An id in a path: a positive integer, else 404.
pub fn parse_id(id: &str) -> Result<i64, AppError> {
    id.trim()
        .parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or(AppError::NotFound)
}

/// The business a pledge is for: the enterprise's own, or the USCC an officer typed, read
/// from the registry.
pub async fn business_for(deps: &Deps, caller: &Caller, typed: &str) -> Result<Business, AppError> {
    let uscc = if caller.is_officer() {
        Uscc::parse(typed.trim())
            .map_err(|e| AppError::bad_request("uscc", e))?
            .as_str()
            .to_string()
    } else {
        caller.uscc().ok_or_else(AppError::forbidden)?.to_string()
    };
    deps.registry.lookup(&uscc).await?.ok_or_else(|| {
        AppError::bad_request(
            "uscc",
            format!("登记机关没有统一社会信用代码为 {uscc} 的经营者 (no registered business has this code)"),
        )
    })
}

fn division_name(code: &str) -> String {
    amr_kernel::codes::division::divisions()
        .full_name(code)
        .unwrap_or_else(|| code.to_string())
}

/// A pledge as pages and the API show it (with its area's name and whether it is in force
/// on `today`).
pub fn view(p: &Pledge, today: chrono::NaiveDate) -> Value {
    let in_force = p.status == "active" && p.valid_from <= today;
    json!({
        "id": p.id, "uscc": p.uscc, "shop_name": p.shop_name,
        "division": {"code": p.division, "name": division_name(&p.division)},
        "categories": p.categories, "days": p.days, "exclusions": p.exclusions,
        "valid_from": p.valid_from, "status": p.status, "in_force": in_force,
        "withdrawn_on": p.withdrawn_on, "withdraw_reason": p.withdraw_reason,
        "recorded_via": p.recorded_via, "breaches": p.breaches,
    })
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SearchQuery {
    name: String,
    area: String,
    category: String,
    withdrawn: String,
    before: String,
}

impl SearchQuery {
    fn parse(&self, limit: i64) -> Result<Search, AppError> {
        let category = match self.category.trim() {
            "" => None,
            c => Some(super::parse_category("category", c)?),
        };
        let name = input::text("name", &self.name, 0, 50, "店铺名称")?;
        Ok(Search {
            name,
            area: input::area(&self.area)?,
            category,
            include_withdrawn: matches!(self.withdrawn.trim(), "1" | "true" | "on"),
            before: amr_web::extract::parse_before(Some(&self.before)).map_err(|e| match e {
                PageError::App(e) => e,
                PageError::Login { .. } => AppError::Unauthenticated,
            })?,
            limit,
        })
    }

    fn echo(&self) -> Value {
        json!({"name": self.name.trim(), "area": self.area.trim(), "category": self.category.trim(), "withdrawn": self.withdrawn.trim()})
    }
}

// ----- public -----------------------------------------------------------------------------

/// `GET /api/v1/pledges`: `name`, `area`, `category`, `withdrawn=1`, `before` → a page.
pub async fn api_search(
    State(state): State<AppState>,
    axum::extract::Query(q): axum::extract::Query<SearchQuery>,
) -> Result<Json<Value>, ApiError> {
    let s = q.parse(50)?;
    let page = store::search(&state.db, &Scope::all(), &s).await?;
    let today = today(&state);
    Ok(Json(json!({
        "items": page.items.iter().map(|p| view(p, today)).collect::<Vec<_>>(),
        "next": page.next,
    })))
}

/// `GET /api/v1/pledges/{id}`: a pledge with its breaches.
pub async fn api_get(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_id(&id)?;
    let p = store::get(&state.db, id).await?;
    let breaches = store::breaches(&state.db, id).await?;
    let mut v = view(&p, today(&state));
    v["breach_list"] = json!(breaches);
    Ok(Json(v))
}

/// `GET /pledges`: the consumers' search.
pub async fn search_page(
    viewer: Viewer,
    State(state): State<AppState>,
    PageQuery(q): PageQuery<SearchQuery>,
) -> Result<Response, PageError> {
    let s = q.parse(20)?;
    let page = store::search(&state.db, &Scope::all(), &s).await?;
    let today = today(&state);
    let ctx = json!({
        "items": page.items.iter().map(|p| view(p, today)).collect::<Vec<_>>(),
        "next": page.next,
        "q": q.echo(),
        "categories": super::categories(),
        "min_days": super::MIN_DAYS,
    });
    render(&state, &viewer, StatusCode::OK, "pledge/search.html", ctx)
}

/// `GET /pledges/{id}`: a pledge and its breaches.
pub async fn show_page(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id = parse_id(&id)?;
    let p = store::get(&state.db, id).await?;
    let breaches = store::breaches(&state.db, id).await?;
    let ctx = json!({"p": view(&p, today(&state)), "breaches": breaches});
    render(&state, &viewer, StatusCode::OK, "pledge/show.html", ctx)
}

// ----- the shop ---------------------------------------------------------------------------

async fn make(
    state: &AppState,
    deps: &Deps,
    caller: &Caller,
    input: &PledgeInput,
) -> Result<Pledge, AppError> {
    let business = business_for(deps, caller, &input.uscc).await?;
    let mut tx = state.db.begin().await?;
    let p = store::make(&mut tx, caller, &business, input, today(state)).await?;
    tx.commit().await?;
    Ok(p)
}

async fn withdraw(
    state: &AppState,
    caller: &Caller,
    id: &str,
    input: &WithdrawInput,
) -> Result<Pledge, AppError> {
    let id = parse_id(id)?;
    let mut tx = state.db.begin().await?;
    let p = store::withdraw(&mut tx, caller, id, input, today(state)).await?;
    tx.commit().await?;
    Ok(p)
}

/// `POST /api/v1/portal/pledges`: the shop pledges (201).
pub async fn api_portal_make(
    State(state): State<AppState>,
    Extension(deps): Extension<Deps>,
    caller: ApiCaller,
    session: MaybeSession,
    Json(input): Json<PledgeInput>,
) -> Result<Response, ApiError> {
    let c = input::enterprise_api(&caller, session)?;
    let p = make(&state, &deps, &c, &input).await?;
    Ok((StatusCode::CREATED, Json(view(&p, today(&state)))).into_response())
}

/// `POST /api/v1/portal/pledges/{id}/withdraw`: the shop withdraws its pledge.
pub async fn api_withdraw(
    State(state): State<AppState>,
    caller: ApiCaller,
    session: MaybeSession,
    Path(id): Path<String>,
    Json(input): Json<WithdrawInput>,
) -> Result<Json<Value>, ApiError> {
    let c = input::enterprise_api(&caller, session)?;
    let p = withdraw(&state, &c, &id, &input).await?;
    Ok(Json(view(&p, today(&state))))
}

/// `GET /portal/pledge`: the shop's pledges and the form.
pub async fn portal_page(
    viewer: Viewer,
    State(state): State<AppState>,
) -> Result<Response, PageError> {
    let c = input::enterprise_page(&viewer)?;
    let uscc = c.uscc().unwrap_or_default().to_string();
    let mine = store::of_uscc(&state.db, &uscc).await?;
    let today = today(&state);
    let ctx = json!({
        "pledges": mine.iter().map(|p| view(p, today)).collect::<Vec<_>>(),
        "has_active": mine.iter().any(|p| p.status == "active"),
        "categories": super::categories(),
        "today": today,
        "min_days": super::MIN_DAYS,
        "uscc": uscc,
    });
    render(&state, &viewer, StatusCode::OK, "pledge/portal.html", ctx)
}

#[derive(Debug, Default, Deserialize)]
pub struct PledgeForm {
    #[serde(default)]
    csrf: String,
    #[serde(flatten)]
    input: PledgeInput,
}

#[derive(Debug, Default, Deserialize)]
pub struct WithdrawForm {
    #[serde(default)]
    csrf: String,
    #[serde(flatten)]
    input: WithdrawInput,
}

/// `POST /portal/pledge`: the shop pledges; back to its portal.
pub async fn post_portal_make(
    viewer: Viewer,
    State(state): State<AppState>,
    Extension(deps): Extension<Deps>,
    MultiForm(f): MultiForm<PledgeForm>,
) -> Result<Response, PageError> {
    let c = input::enterprise_page(&viewer)?;
    viewer.check_csrf(&f.csrf)?;
    let p = make(&state, &deps, &c, &f.input).await?;
    Ok(Redirect::to(&format!("/pledges/{}", p.id)).into_response())
}

/// `POST /portal/pledge/{id}/withdraw`.
pub async fn post_portal_withdraw(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(id): Path<String>,
    PageForm(f): PageForm<WithdrawForm>,
) -> Result<Response, PageError> {
    let c = input::enterprise_page(&viewer)?;
    viewer.check_csrf(&f.csrf)?;
    withdraw(&state, &c, &id, &f.input).await?;
    Ok(Redirect::to("/portal/pledge").into_response())
}

// ----- officers ---------------------------------------------------------------------------

async fn breach(
    state: &AppState,
    caller: &Caller,
    id: &str,
    input: &BreachInput,
) -> Result<Pledge, AppError> {
    let id = parse_id(id)?;
    let complaint = input::complaint_matter(
        &state.db,
        &caller.acting,
        "complaint_number",
        &input.complaint_number,
    )
    .await?;
    let mut tx = state.db.begin().await?;
    let p = store::record_breach(&mut tx, caller, id, &complaint, input, today(state)).await?;
    tx.commit().await?;
    Ok(p)
}

/// `GET /api/v1/office/pledges`: the pledges of the jurisdiction (withdrawn ones included).
pub async fn api_office_list(
    State(state): State<AppState>,
    caller: ApiCaller,
    session: MaybeSession,
    axum::extract::Query(q): axum::extract::Query<SearchQuery>,
) -> Result<Json<Value>, ApiError> {
    let c = input::officer_api(&caller, session)?;
    let mut s = q.parse(100)?;
    s.include_withdrawn = true;
    let page = store::search(&state.db, &c.scope(), &s).await?;
    let today = today(&state);
    Ok(Json(json!({
        "items": page.items.iter().map(|p| view(p, today)).collect::<Vec<_>>(),
        "next": page.next,
    })))
}

/// `POST /api/v1/office/pledges`: an officer records a shop's pledge at the window (201).
pub async fn api_office_make(
    State(state): State<AppState>,
    Extension(deps): Extension<Deps>,
    caller: ApiCaller,
    session: MaybeSession,
    Json(input): Json<PledgeInput>,
) -> Result<Response, ApiError> {
    let c = input::officer_api(&caller, session)?;
    let p = make(&state, &deps, &c, &input).await?;
    Ok((StatusCode::CREATED, Json(view(&p, today(&state)))).into_response())
}

/// `POST /api/v1/office/pledges/{id}/withdraw`.
pub async fn api_withdraw_office(
    State(state): State<AppState>,
    caller: ApiCaller,
    session: MaybeSession,
    Path(id): Path<String>,
    Json(input): Json<WithdrawInput>,
) -> Result<Json<Value>, ApiError> {
    let c = input::officer_api(&caller, session)?;
    let p = withdraw(&state, &c, &id, &input).await?;
    Ok(Json(view(&p, today(&state))))
}

/// `POST /api/v1/office/pledges/{id}/breaches`: `{"complaint_number", "summary",
/// "occurred_on"}` (201).
pub async fn api_breach(
    State(state): State<AppState>,
    caller: ApiCaller,
    session: MaybeSession,
    Path(id): Path<String>,
    Json(input): Json<BreachInput>,
) -> Result<Response, ApiError> {
    let c = input::officer_api(&caller, session)?;
    let p = breach(&state, &c, &id, &input).await?;
    Ok((StatusCode::CREATED, Json(view(&p, today(&state)))).into_response())
}

/// `GET /office/pledges`: the jurisdiction's pledges, the search and the form to record one.
pub async fn office_list(
    viewer: Viewer,
    State(state): State<AppState>,
    PageQuery(q): PageQuery<SearchQuery>,
) -> Result<Response, PageError> {
    let c = input::officer_page(&viewer)?;
    let mut s = q.parse(50)?;
    s.include_withdrawn = true;
    let page = store::search(&state.db, &c.scope(), &s).await?;
    let today = today(&state);
    let ctx = json!({
        "items": page.items.iter().map(|p| view(p, today)).collect::<Vec<_>>(),
        "next": page.next,
        "q": q.echo(),
        "categories": super::categories(),
        "today": today,
        "min_days": super::MIN_DAYS,
    });
    render(
        &state,
        &viewer,
        StatusCode::OK,
        "pledge/office_list.html",
        ctx,
    )
}

/// `POST /office/pledges`: records a shop's pledge at the window.
pub async fn post_office_make(
    viewer: Viewer,
    State(state): State<AppState>,
    Extension(deps): Extension<Deps>,
    MultiForm(f): MultiForm<PledgeForm>,
) -> Result<Response, PageError> {
    let c = input::officer_page(&viewer)?;
    viewer.check_csrf(&f.csrf)?;
    let p = make(&state, &deps, &c, &f.input).await?;
    Ok(Redirect::to(&format!("/office/pledges/{}", p.id)).into_response())
}

/// `GET /office/pledges/{id}`: a pledge of the jurisdiction with the breach and withdrawal
/// forms.
pub async fn office_item(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let c = input::officer_page(&viewer)?;
    let id = parse_id(&id)?;
    let p = store::get(&state.db, id).await?;
    if !c.scope().contains(Some(p.division.as_str())) {
        return Err(PageError::not_found());
    }
    let breaches = store::breaches(&state.db, id).await?;
    let today = today(&state);
    let ctx = json!({"p": view(&p, today), "breaches": breaches, "today": today});
    render(
        &state,
        &viewer,
        StatusCode::OK,
        "pledge/office_item.html",
        ctx,
    )
}

/// `POST /office/pledges/{id}/withdraw`.
pub async fn post_office_withdraw(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(id): Path<String>,
    PageForm(f): PageForm<WithdrawForm>,
) -> Result<Response, PageError> {
    let c = input::officer_page(&viewer)?;
    viewer.check_csrf(&f.csrf)?;
    let p = withdraw(&state, &c, &id, &f.input).await?;
    Ok(Redirect::to(&format!("/office/pledges/{}", p.id)).into_response())
}

#[derive(Debug, Default, Deserialize)]
pub struct BreachForm {
    #[serde(default)]
    csrf: String,
    /// `complaint` when the form is on the complaint's page: back to it after.
    #[serde(default)]
    back: String,
    #[serde(flatten)]
    input: BreachInput,
}

/// Where a form posted from a complaint's officer page (`back=complaint`) returns: that
/// page (the number in its canonical form; only this fixed path, never one from the form).
pub fn back_to_complaint(back: &str, number: &str) -> Option<String> {
    (back == "complaint")
        .then(|| crate::complaint::flow::canonical(number).ok())
        .flatten()
        .map(|n| format!("/office/complaints/{n}"))
}

/// `POST /office/pledges/{id}/breaches` (also from the complaint's officer page).
pub async fn post_office_breach(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(id): Path<String>,
    PageForm(f): PageForm<BreachForm>,
) -> Result<Response, PageError> {
    let c = input::officer_page(&viewer)?;
    viewer.check_csrf(&f.csrf)?;
    let p = breach(&state, &c, &id, &f.input).await?;
    let to = back_to_complaint(&f.back, &f.input.complaint_number)
        .unwrap_or_else(|| format!("/office/pledges/{}", p.id));
    Ok(Redirect::to(&to).into_response())
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_template_key_is_in_the_catalog() {
        amr_web::templates::assert_keys_in_catalog(super::TEMPLATES, &[super::module()]);
    }

    #[test]
    fn catalogs_have_the_same_keys() {
        let zh: std::collections::BTreeMap<String, String> =
            serde_json::from_str(include_str!("../../locales/confidence.zh.json")).unwrap();
        let en: std::collections::BTreeMap<String, String> =
            serde_json::from_str(include_str!("../../locales/confidence.en.json")).unwrap();
        assert_eq!(zh.keys().collect::<Vec<_>>(), en.keys().collect::<Vec<_>>());
    }
}
