//! The abnormal list's routes: the public list (searchable, paged) and each entity's acts, as
//! pages and JSON; the officers' decisions (listing on the other grounds, removal).

use crate::web::body;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use amr_kernel::auth::{Permission, Scope};
use amr_kernel::codes::uscc::Uscc;
use amr_kernel::error::AppError;
use amr_web::AppState;
use amr_web::auth::ApiCaller;
use amr_web::error::ApiError;
use amr_web::extract::{PageForm, PageQuery};
use amr_web::page::{PageError, Viewer, render};

use super::requests::{self, RequestInput};
use super::{rules, store};
use crate::annual::web::{own_entity, today};

fn path_uscc(uscc: &str) -> Result<String, AppError> {
    Ok(Uscc::parse(uscc)
        .map_err(|_| AppError::NotFound)?
        .as_str()
        .to_string())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ListQuery {
    q: String,
    page: Option<String>,
}

fn page_no(p: &Option<String>) -> Result<i64, AppError> {
    match p.as_deref().map(str::trim) {
        None | Some("") => Ok(1),
        Some(s) => s
            .parse()
            .map_err(|_| AppError::bad_request("page", "页码应为 1–10000 (page must be 1–10000)")),
    }
}

/// `GET /api/v1/abnormal?q=&page=`: the entities on the list now.
pub async fn api_list(
    State(state): State<AppState>,
    PageQuery(q): PageQuery<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let page = page_no(&q.page)?;
    let (rows, more) = store::search(&state.db, &q.q, page).await?;
    let items: Vec<Value> = rows.iter().map(store::Listing::public).collect();
    Ok(Json(json!({"page": page, "more": more, "items": items})))
}

/// `GET /abnormal?q=&page=`: the public list page.
pub async fn list_page(
    viewer: Viewer,
    State(state): State<AppState>,
    PageQuery(q): PageQuery<ListQuery>,
) -> Result<Response, PageError> {
    let page = page_no(&q.page)?;
    let (rows, more) = store::search(&state.db, &q.q, page).await?;
    let items: Vec<Value> = rows.iter().map(store::Listing::public).collect();
    render(
        &state,
        &viewer,
        StatusCode::OK,
        "abnormal/list.html",
        json!({"q": q.q, "page": page, "more": more, "items": items,
               "prev": page - 1, "next": page + 1,
               "q_enc": amr_web::extract::percent_encode(&q.q)}),
    )
}

/// The acts of the list for an entity: listings (with warnings, removals, transfers) and its
/// serious-violation entries, public form.
pub async fn public_section(state: &AppState, uscc: &str) -> Result<Value, AppError> {
    let listings: Vec<Value> = store::for_entity(&state.db, uscc)
        .await?
        .iter()
        .map(store::Listing::public)
        .collect();
    let serious = store::serious_for_entity(&state.db, uscc).await?;
    Ok(json!({"listings": listings, "serious": serious}))
}

/// `GET /api/v1/entities/{uscc}/abnormal`: the entity's acts of the list.
pub async fn api_entity(
    State(state): State<AppState>,
    Path(uscc): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let uscc = path_uscc(&uscc)?;
    crate::store::get_public(&state.db, &uscc).await?;
    Ok(Json(public_section(&state, &uscc).await?))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ListingBody {
    ground: String,
    reason: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RemovalBody {
    ground: String,
    note: String,
}

/// `POST /api/v1/office/entities/{uscc}/abnormal` `{ground, reason}`: an officer's listing.
pub async fn api_decide(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(uscc): Path<String>,
    b: Result<Json<Value>, JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    caller.require(Permission::RecordLifecycle)?;
    let uscc = path_uscc(&uscc)?;
    let b: ListingBody = body(b)?;
    let mut tx = state.db.begin().await?;
    let l = store::decide_listing(
        &mut tx,
        &caller.actor,
        &caller.scope,
        &uscc,
        &b.ground,
        &b.reason,
        today(&state),
    )
    .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(json!(l))))
}

/// `POST /api/v1/office/abnormal/{id}/removal` `{ground, note}`: an officer's removal (on a
/// request made at the window; online requests go through [`api_decide_request`]).
pub async fn api_remove(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<i64>,
    b: Result<Json<Value>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Permission::RecordLifecycle)?;
    let b: RemovalBody = body(b)?;
    let mut tx = state.db.begin().await?;
    let l = store::remove(
        &mut tx,
        &caller.actor,
        &caller.scope,
        id,
        &b.ground,
        &b.note,
        today(&state),
    )
    .await?;
    tx.commit().await?;
    Ok(Json(json!(l)))
}

/// `GET /office/entities/{uscc}/abnormal`: the officer's page: the entity's listings and
/// reports in full, the forms to list and remove.
pub async fn office_page(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(uscc): Path<String>,
) -> Result<Response, PageError> {
    let uscc = path_uscc(&uscc)?;
    let s = viewer.require_login()?;
    let role = s.account.role();
    if !role.can(Permission::ReadRecords) {
        return Err(AppError::forbidden().into());
    }
    let scope: Scope = s.account.scope();
    let e = crate::store::get_scoped(&state.db, &scope, &uscc).await?;
    let listings = store::for_entity(&state.db, &uscc).await?;
    let serious = store::serious_for_entity(&state.db, &uscc).await?;
    let reports = crate::annual::store::list_for_entity(&state.db, &uscc).await?;
    let reqs = requests::for_entity(&state.db, &uscc).await?;
    let page = json!({
        "requests": reqs,
        "paper_year": crate::annual::rules::due_year(today(&state)),
        "entity": {"uscc": e.uscc, "name": e.name, "division": e.division},
        "listings": listings,
        "serious": serious,
        "reports": reports,
        "grounds": rules::GROUNDS.iter().skip(1).map(|g| json!({"key": g.0, "name": g.1})).collect::<Vec<_>>(),
        "removal_grounds": rules::REMOVAL_GROUNDS.iter().map(|g| json!({"key": g.0, "name": g.1})).collect::<Vec<_>>(),
        "can_act": role.can(Permission::RecordLifecycle),
    });
    render(
        &state,
        &viewer,
        StatusCode::OK,
        "abnormal/office.html",
        page,
    )
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct DecisionForm {
    csrf: String,
    ground: String,
    reason: String,
    note: String,
}

/// `POST /office/entities/{uscc}/abnormal`: the listing form.
pub async fn post_decide(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(uscc): Path<String>,
    PageForm(f): PageForm<DecisionForm>,
) -> Result<Response, PageError> {
    let uscc = path_uscc(&uscc)?;
    let s = viewer.require_login()?;
    viewer.check_csrf(&f.csrf)?;
    if !s.account.role().can(Permission::RecordLifecycle) {
        return Err(AppError::forbidden().into());
    }
    let actor = viewer.actor().ok_or(AppError::Unauthenticated)?;
    let mut tx = state.db.begin().await?;
    store::decide_listing(
        &mut tx,
        &actor,
        &s.account.scope(),
        &uscc,
        &f.ground,
        &f.reason,
        today(&state),
    )
    .await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/office/entities/{uscc}/abnormal")).into_response())
}

/// `POST /office/abnormal/{id}/removal`: the removal form.
pub async fn post_remove(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    PageForm(f): PageForm<DecisionForm>,
) -> Result<Response, PageError> {
    let s = viewer.require_login()?;
    viewer.check_csrf(&f.csrf)?;
    if !s.account.role().can(Permission::RecordLifecycle) {
        return Err(AppError::forbidden().into());
    }
    let actor = viewer.actor().ok_or(AppError::Unauthenticated)?;
    let mut tx = state.db.begin().await?;
    let l = store::remove(
        &mut tx,
        &actor,
        &s.account.scope(),
        id,
        &f.ground,
        &f.note,
        today(&state),
    )
    .await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/office/entities/{}/abnormal", l.uscc)).into_response())
}

// ---- removal requests ----

/// The listings of the enterprise's entity, each with the grounds it may ask on and its open
/// request, and every request it made.
async fn portal_data(state: &AppState, uscc: &str) -> Result<(Value, Value), AppError> {
    let listings = store::for_entity(&state.db, uscc).await?;
    let reqs = requests::for_entity(&state.db, uscc).await?;
    let items: Vec<Value> = listings
        .iter()
        .map(|l| {
            let mut v = l.public();
            v["grounds"] = json!(
                requests::request_grounds(&l.ground)
                    .iter()
                    .map(|(k, n)| json!({"key": k, "name": n}))
                    .collect::<Vec<_>>()
            );
            v["open_request"] = json!(
                reqs.iter()
                    .find(|r| r.listing_id == l.id && r.state == "open")
            );
            v
        })
        .collect();
    Ok((json!(items), json!(reqs)))
}

/// `GET /api/v1/entities/{uscc}/abnormal/removal-requests`: for the enterprise's account, its
/// listings (with the grounds it may ask on) and its requests with their decisions.
pub async fn api_my_requests(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(uscc): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let uscc = path_uscc(&uscc)?;
    own_entity(&state, caller.role, caller.actor.id, &uscc).await?;
    let (listings, reqs) = portal_data(&state, &uscc).await?;
    Ok(Json(
        json!({"uscc": uscc, "listings": listings, "requests": reqs}),
    ))
}

/// `POST /api/v1/entities/{uscc}/abnormal/{id}/removal-requests` `{ground, statement,
/// new_address, new_phone}`: the enterprise asks for removal of its listing `id`; 201.
pub async fn api_request(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path((uscc, id)): Path<(String, i64)>,
    b: Result<Json<Value>, JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let uscc = path_uscc(&uscc)?;
    own_entity(&state, caller.role, caller.actor.id, &uscc).await?;
    let input: RequestInput = body(b)?;
    let mut tx = state.db.begin().await?;
    let r = requests::file(&mut tx, &caller.actor, &uscc, id, &input, today(&state)).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(json!(r))))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct QueueQuery {
    state: String,
    page: Option<String>,
}

fn queue_state(s: &str) -> &str {
    if s.trim().is_empty() {
        "open"
    } else {
        s.trim()
    }
}

/// `GET /api/v1/office/abnormal/requests?state=open|approved|refused|closed&page=`: the removal
/// requests within the caller's jurisdiction (permission `read_records`).
pub async fn api_queue(
    State(state): State<AppState>,
    caller: ApiCaller,
    PageQuery(q): PageQuery<QueueQuery>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Permission::ReadRecords)?;
    let page = page_no(&q.page)?;
    let st = queue_state(&q.state);
    let (items, more) = requests::queue(&state.db, &caller.scope, st, page).await?;
    Ok(Json(
        json!({"state": st, "page": page, "more": more, "items": items}),
    ))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RequestDecision {
    csrf: String,
    decision: String,
    note: String,
}

/// `POST /api/v1/office/abnormal/requests/{id}/decision` `{decision: approve|refuse, note}`:
/// an officer's decision (permission `record_lifecycle`, within the jurisdiction). Answers the
/// request and the listing after it.
pub async fn api_decide_request(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<i64>,
    b: Result<Json<Value>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Permission::RecordLifecycle)?;
    let d: RequestDecision = body(b)?;
    let mut tx = state.db.begin().await?;
    let (r, l) = requests::decide(
        &mut tx,
        &caller.actor,
        &caller.scope,
        id,
        &d.decision,
        &d.note,
        today(&state),
    )
    .await?;
    tx.commit().await?;
    Ok(Json(json!({"request": r, "listing": l})))
}

async fn show_portal(
    state: &AppState,
    viewer: &Viewer,
    status: StatusCode,
    e: &crate::model::Entity,
    error: Option<String>,
) -> Result<Response, PageError> {
    let (listings, reqs) = portal_data(state, &e.uscc).await?;
    render(
        state,
        viewer,
        status,
        "abnormal/portal.html",
        json!({
            "entity": {"uscc": e.uscc, "name": e.name},
            "listings": listings,
            "requests": reqs,
            "error": error,
        }),
    )
}

/// `GET /portal/entities/{uscc}/abnormal`: the enterprise's listings, the removal request
/// form for each listing in force (a missed report: the link to the report form instead),
/// and its requests with the decisions (a refusal's reason).
pub async fn portal_page(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(uscc): Path<String>,
) -> Result<Response, PageError> {
    let uscc = path_uscc(&uscc)?;
    let s = viewer.require_login()?;
    let e = own_entity(&state, Some(s.account.role()), Some(s.account.id), &uscc).await?;
    show_portal(&state, &viewer, StatusCode::OK, &e, None).await
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RequestForm {
    csrf: String,
    ground: String,
    statement: String,
    new_address: String,
    new_phone: String,
}

/// `POST /portal/entities/{uscc}/abnormal/{id}/removal-request`: the request form; a refusal
/// shows the page again with the reason, nothing written.
pub async fn post_request(
    viewer: Viewer,
    State(state): State<AppState>,
    Path((uscc, id)): Path<(String, i64)>,
    PageForm(f): PageForm<RequestForm>,
) -> Result<Response, PageError> {
    let uscc = path_uscc(&uscc)?;
    let s = viewer.require_login()?;
    viewer.check_csrf(&f.csrf)?;
    let e = own_entity(&state, Some(s.account.role()), Some(s.account.id), &uscc).await?;
    let actor = viewer.actor().ok_or(AppError::Unauthenticated)?;
    let input = RequestInput {
        ground: f.ground,
        statement: f.statement,
        new_address: f.new_address,
        new_phone: f.new_phone,
    };
    let mut tx = state.db.begin().await?;
    match requests::file(&mut tx, &actor, &uscc, id, &input, today(&state)).await {
        Ok(_) => {
            tx.commit().await?;
            Ok(Redirect::to(&format!("/portal/entities/{uscc}/abnormal")).into_response())
        }
        Err(err @ (AppError::BadRequest { .. } | AppError::Rejected { .. })) => {
            tx.rollback().await?;
            let status = StatusCode::from_u16(err.status()).unwrap_or(StatusCode::BAD_REQUEST);
            show_portal(&state, &viewer, status, &e, Some(err.public_message())).await
        }
        Err(other) => Err(other.into()),
    }
}

/// `GET /office/abnormal/requests?state=&page=`: the officers' queue of removal requests in
/// the jurisdiction, with the decision form on each open one.
pub async fn queue_page(
    viewer: Viewer,
    State(state): State<AppState>,
    PageQuery(q): PageQuery<QueueQuery>,
) -> Result<Response, PageError> {
    let s = viewer.require_login()?;
    let role = s.account.role();
    if !role.can(Permission::ReadRecords) {
        return Err(AppError::forbidden().into());
    }
    let page = page_no(&q.page)?;
    let st = queue_state(&q.state);
    let (items, more) = requests::queue(&state.db, &s.account.scope(), st, page).await?;
    render(
        &state,
        &viewer,
        StatusCode::OK,
        "abnormal/requests.html",
        json!({"state": st, "page": page, "more": more, "items": items,
               "can_act": role.can(Permission::RecordLifecycle)}),
    )
}

/// `POST /office/abnormal/requests/{id}/decision`: the decision form (approve or refuse).
pub async fn post_decide_request(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    PageForm(f): PageForm<RequestDecision>,
) -> Result<Response, PageError> {
    let s = viewer.require_login()?;
    viewer.check_csrf(&f.csrf)?;
    if !s.account.role().can(Permission::RecordLifecycle) {
        return Err(AppError::forbidden().into());
    }
    let actor = viewer.actor().ok_or(AppError::Unauthenticated)?;
    let mut tx = state.db.begin().await?;
    requests::decide(
        &mut tx,
        &actor,
        &s.account.scope(),
        id,
        &f.decision,
        &f.note,
        today(&state),
    )
    .await?;
    tx.commit().await?;
    Ok(Redirect::to("/office/abnormal/requests").into_response())
}

// ----- the late listing decision ------------------------------------------------------------

/// Years shown on the sweeps page: the last five report years.
const SWEEP_YEARS: i32 = 5;

/// One late decision at a time in this process: it pages through every entity of the province.
static LATE_RUNNING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether `scope` covers a whole province (or more): the no-report listing is decided for
/// every entity of the register, so only a province officer may decide it late.
fn province_wide(scope: &Scope) -> bool {
    scope.as_prefix().is_some_and(|p| p.len() <= 2)
}

fn require_late_decider(
    role: Option<amr_kernel::auth::Role>,
    scope: &Scope,
) -> Result<(), AppError> {
    if role.is_some_and(|r| r.can(Permission::RecordLifecycle)) && province_wide(scope) {
        Ok(())
    } else {
        Err(AppError::forbidden())
    }
}

async fn sweeps_of(state: &AppState) -> Result<Vec<store::YearSweep>, AppError> {
    use chrono::Datelike;
    let today = today(state);
    let cal = amr_kernel::calendar_store::load(&state.db).await?;
    let last = today.year() - 1;
    store::year_sweeps(&state.db, &cal, last - SWEEP_YEARS + 1, last, today).await
}

/// Starts the late decision for `year` in the background (it pages through the register and
/// resumes where it stopped; the sweeps page shows its progress). Checks everything a late
/// decision needs first, so a refusal is answered at once.
async fn start_late(
    state: &AppState,
    actor: amr_kernel::audit::Actor,
    year: i32,
    reason: &str,
) -> Result<(), AppError> {
    let sweeps = sweeps_of(state).await?;
    let Some(y) = sweeps.iter().find(|y| y.year == year) else {
        return Err(AppError::bad_request(
            "year",
            format!(
                "只能补作最近 {SWEEP_YEARS} 个年度的列入决定 (only the last {SWEEP_YEARS} report years)"
            ),
        ));
    };
    if y.state != "missed" {
        return Err(AppError::rejected(format!(
            "{year} 年度的列入核查无需补作决定（{}） (the {year} listing needs no late decision: {})",
            match y.state {
                "completed" => "已完成",
                "in_window" => "仍在决定期限内，由每日核查作出",
                "before_system" => "该年度早于本系统的核查记录，应已在原系统中作出",
                _ => "决定期限尚未开始",
            },
            y.state
        )));
    }
    let reason = crate::lifecycle::rules::text_field("reason", reason, 500, true, true)?;
    if LATE_RUNNING.swap(true, std::sync::atomic::Ordering::SeqCst) {
        return Err(AppError::Conflict(
            "已有补作决定正在进行 (a late decision is already running)".into(),
        ));
    }
    let db = state.db.clone();
    let today = today(state);
    tokio::spawn(async move {
        let run = async {
            let cal = amr_kernel::calendar_store::load(&db).await?;
            store::decide_late(&db, &cal, &actor, year, &reason, today).await
        };
        match run.await {
            Ok(listed) => tracing::info!(year, listed, "late abnormal-list decision done"),
            Err(e) => tracing::warn!(year, error = %e, "late abnormal-list decision failed"),
        }
        LATE_RUNNING.store(false, std::sync::atomic::Ordering::SeqCst);
    });
    Ok(())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct LateBody {
    reason: String,
}

/// `GET /api/v1/office/abnormal/sweeps`: the last five report years' no-report listing: window,
/// state (`waiting`, `in_window`, `completed`, `missed`) and how many were listed.
pub async fn api_sweeps(
    State(state): State<AppState>,
    caller: ApiCaller,
) -> Result<Json<Value>, ApiError> {
    caller.require(Permission::ReadRecords)?;
    let years = sweeps_of(&state).await?;
    Ok(Json(
        json!({"years": years, "running": LATE_RUNNING.load(std::sync::atomic::Ordering::SeqCst)}),
    ))
}

/// `POST /api/v1/office/abnormal/sweeps/{year}/late-decision` `{reason}`: starts the late
/// listing decision for a year whose window passed without the sweep (province officers);
/// 202, then follow `GET /api/v1/office/abnormal/sweeps`.
pub async fn api_late(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(year): Path<i32>,
    b: Result<Json<Value>, JsonRejection>,
) -> Result<Response, ApiError> {
    require_late_decider(caller.role, &caller.scope)?;
    let b: LateBody = body(b)?;
    start_late(&state, caller.actor.clone(), year, &b.reason).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"year": year, "started": true})),
    )
        .into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct LateForm {
    csrf: String,
    reason: String,
}

async fn show_sweeps(
    state: &AppState,
    viewer: &Viewer,
    status: StatusCode,
    error: Option<(i32, String)>,
) -> Result<Response, PageError> {
    let s = viewer.require_login()?;
    let role = s.account.role();
    if !role.can(Permission::ReadRecords) {
        return Err(AppError::forbidden().into());
    }
    let years = sweeps_of(state).await?;
    render(
        state,
        viewer,
        status,
        "abnormal/sweeps.html",
        json!({"years": years, "running": LATE_RUNNING.load(std::sync::atomic::Ordering::SeqCst),
               "can_decide": require_late_decider(Some(role), &s.account.scope()).is_ok(),
               "error_year": error.as_ref().map(|e| e.0), "error": error.map(|e| e.1)}),
    )
}

/// `GET /office/abnormal/sweeps`: the no-report listing of the last five report years, with the
/// late-decision form on a year whose window was missed.
pub async fn sweeps_page(
    viewer: Viewer,
    State(state): State<AppState>,
) -> Result<Response, PageError> {
    show_sweeps(&state, &viewer, StatusCode::OK, None).await
}

/// `POST /office/abnormal/sweeps/{year}/late-decision`: the late-decision form.
pub async fn post_late(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(year): Path<i32>,
    PageForm(f): PageForm<LateForm>,
) -> Result<Response, PageError> {
    let s = viewer.require_login()?;
    viewer.check_csrf(&f.csrf)?;
    require_late_decider(Some(s.account.role()), &s.account.scope())?;
    let actor = viewer.actor().ok_or(AppError::Unauthenticated)?;
    match start_late(&state, actor, year, &f.reason).await {
        Ok(()) => Ok(Redirect::to("/office/abnormal/sweeps").into_response()),
        Err(
            e @ (AppError::BadRequest { .. } | AppError::Rejected { .. } | AppError::Conflict(_)),
        ) => {
            let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST);
            show_sweeps(&state, &viewer, status, Some((year, e.public_message()))).await
        }
        Err(e) => Err(e.into()),
    }
}

/// The JSON routes (merged outside the page frame).
pub fn api_routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/abnormal", get(api_list))
        .route("/api/v1/entities/{uscc}/abnormal", get(api_entity))
        .route("/api/v1/office/entities/{uscc}/abnormal", post(api_decide))
        .route("/api/v1/office/abnormal/{id}/removal", post(api_remove))
        .route(
            "/api/v1/entities/{uscc}/abnormal/removal-requests",
            get(api_my_requests),
        )
        .route(
            "/api/v1/entities/{uscc}/abnormal/{id}/removal-requests",
            post(api_request),
        )
        .route("/api/v1/office/abnormal/requests", get(api_queue))
        .route("/api/v1/office/abnormal/sweeps", get(api_sweeps))
        .route(
            "/api/v1/office/abnormal/sweeps/{year}/late-decision",
            post(api_late),
        )
        .route(
            "/api/v1/office/abnormal/requests/{id}/decision",
            post(api_decide_request),
        )
}

/// The pages (merged inside the page frame).
pub fn page_routes() -> Router<AppState> {
    Router::new()
        .route("/abnormal", get(list_page))
        .route(
            "/office/entities/{uscc}/abnormal",
            get(office_page).post(post_decide),
        )
        .route("/office/abnormal/{id}/removal", post(post_remove))
        .route("/portal/entities/{uscc}/abnormal", get(portal_page))
        .route(
            "/portal/entities/{uscc}/abnormal/{id}/removal-request",
            post(post_request),
        )
        .route("/office/abnormal/requests", get(queue_page))
        .route("/office/abnormal/sweeps", get(sweeps_page))
        .route(
            "/office/abnormal/sweeps/{year}/late-decision",
            post(post_late),
        )
        .route(
            "/office/abnormal/requests/{id}/decision",
            post(post_decide_request),
        )
}
