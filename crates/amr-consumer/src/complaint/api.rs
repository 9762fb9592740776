//! The JSON routes.
//!
//! Public: `POST /api/v1/complaints` (file; 201 with the number; 422 `county_required` with
//! the candidate counties; 409 `duplicate` with the open matter's number), `POST
//! /api/v1/complaints/track` (`{"number", "phone"}` → state and decisions), `POST
//! /api/v1/complaints/{number}/refuse-settlement` (`{"phone", "reason"}`), `GET
//! /api/v1/enterprises/{uscc}/complaint-stats`.
//! The business (enterprise account): `GET /api/v1/portal/complaints`, `POST
//! /api/v1/portal/complaints/{number}/answer`.
//! Officers: `GET /api/v1/office/complaints` (queue by deadline), `GET
//! /api/v1/office/complaints/{number}`, `POST .../act`, `POST .../transfer`, `GET|POST
//! /api/v1/office/odr/enterprises`.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use amr_kernel::auth::store::Account;
use amr_kernel::auth::{Permission, Role};
use amr_kernel::error::AppError;
use amr_kernel::matter::Acting;
use amr_web::AppState;
use amr_web::auth::{ApiCaller, MaybeSession};
use amr_web::error::ApiError;

use super::flow::{self, AnswerInput, OfficerAct};
use super::model::{self, IntakeInput};
pub use super::views::*;
use super::{Deps, engine, kinds, store, today};

pub fn routes(deps: Deps) -> Router<AppState> {
    Router::new()
        .route("/api/v1/complaints", post(post_complaint))
        .route("/api/v1/complaints/track", post(post_track))
        .route(
            "/api/v1/complaints/{number}/refuse-settlement",
            post(post_refuse_settlement),
        )
        .route("/api/v1/enterprises/{uscc}/complaint-stats", get(get_stats))
        .route("/api/v1/portal/complaints", get(get_portal_list))
        .route(
            "/api/v1/portal/complaints/{number}/answer",
            post(post_portal_answer),
        )
        .route("/api/v1/office/complaints", get(get_office_queue))
        .route("/api/v1/office/complaints/{number}", get(get_office_item))
        .route(
            "/api/v1/office/complaints/{number}/act",
            post(post_office_act),
        )
        .route(
            "/api/v1/office/complaints/{number}/transfer",
            post(post_office_transfer),
        )
        .route(
            "/api/v1/office/odr/enterprises",
            get(get_odr_list).post(post_odr_mark),
        )
        .layer(axum::Extension(deps))
}

// ----- who is calling ---------------------------------------------------------------------

/// A logged-in person's acting identity and account (an agency key is refused: these
/// routes act for people).
fn person(caller: &ApiCaller, session: MaybeSession) -> Result<(Acting, Account), ApiError> {
    if caller.api_key.is_some() {
        return Err(ApiError(AppError::forbidden()));
    }
    let MaybeSession(s, ip) = session;
    let s = s.ok_or(ApiError(AppError::Unauthenticated))?;
    Ok((Acting::account(&s.account, Some(ip)), s.account))
}

fn officer(caller: &ApiCaller, session: MaybeSession) -> Result<Acting, ApiError> {
    caller.require(Permission::ReadRecords)?;
    Ok(person(caller, session)?.0)
}

fn enterprise(caller: &ApiCaller, session: MaybeSession) -> Result<Acting, ApiError> {
    let (acting, account) = person(caller, session)?;
    if account.role() != Role::Enterprise || acting.uscc.is_none() {
        return Err(ApiError(AppError::forbidden()));
    }
    Ok(acting)
}

fn system_with_ip(session: &MaybeSession) -> Acting {
    let mut acting = Acting::system();
    acting.actor.ip = Some(session.1.clone());
    acting
}

// ----- public -----------------------------------------------------------------------------

/// A JSON filing: the intake's fields and, optionally, the evidence in base64.
#[derive(Debug, Default, Deserialize)]
pub struct ApiIntake {
    #[serde(flatten)]
    pub input: IntakeInput,
    #[serde(default)]
    pub attachments: Vec<super::evidence::JsonAttachment>,
}

/// A JSON body that could not be read: too large for the server's limit (413), or not the
/// JSON expected (400); Chinese first, like every refusal.
pub fn json_rejection(r: axum::extract::rejection::JsonRejection, limit: usize) -> Response {
    let status = r.status();
    let message = if status == StatusCode::PAYLOAD_TOO_LARGE {
        format!(
            "请求超过 {} MB 的上限：附件以 base64 编码约增大三分之一，较大的文件请在提交后用 \
             POST /api/v1/complaints/{{number}}/attachments 逐个上传 \
             (the request is larger than the {} MB limit: base64 makes files about a third larger; \
             send bigger files one by one after filing, with POST /api/v1/complaints/{{number}}/attachments)",
            limit / (1024 * 1024),
            limit / (1024 * 1024)
        )
    } else {
        format!(
            "请求内容不是有效的 JSON 或字段类型不符 (the body is not the JSON expected): {}",
            r.body_text()
        )
    };
    (
        status,
        Json(json!({"error": if status == StatusCode::PAYLOAD_TOO_LARGE { "too_large" } else { "bad_request" }, "message": message})),
    )
        .into_response()
}

/// `POST /api/v1/complaints` (with `"attachments": [{"name", "content_type", "data"}]`
/// filed in the same transaction).
pub async fn post_complaint(
    State(state): State<AppState>,
    axum::Extension(deps): axum::Extension<Deps>,
    session: MaybeSession,
    body: Result<Json<ApiIntake>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let ApiIntake { input, attachments } = match body {
        Ok(Json(b)) => b,
        Err(r) => return json_rejection(r, state.config.max_body_bytes),
    };
    let files = match super::evidence::decode_json(&attachments) {
        Ok(f) => f,
        Err(e) => return ApiError(e).into_response(),
    };
    drop(attachments);
    let n_files = files.len();
    let acting = system_with_ip(&session);
    match flow::file_with(
        &deps.intake,
        deps.registry.as_ref(),
        &acting,
        &input,
        "api",
        today(&state),
        files,
    )
    .await
    {
        Ok(f) => (
            StatusCode::CREATED,
            Json(json!({
                "number": f.matter.number,
                "kind": f.matter.kind,
                "state": state_json(&f.matter.kind, &f.matter.state),
                "odr": f.odr,
                "business_name": f.business_name,
                "division": {"code": f.matter.division, "name": division_name(&f.matter.division)},
                "due_on": f.matter.due_on,
                "attachments": n_files,
                "track": "/complaints/track",
            })),
        )
            .into_response(),
        Err(e) => file_error_response(e),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct TrackInput {
    pub number: String,
    pub phone: String,
    pub reason: String,
}

/// The complainant's view of a matter (number + phone), for the API and the page.
pub async fn track(state: &AppState, number: &str, phone: &str) -> Result<Value, AppError> {
    let r = flow::own(&state.db, number, phone).await?;
    let acting = Acting::system();
    let m = engine().get(&state.db, &acting, &r.matter_number).await?;
    let timeline = engine().timeline(&state.db, &acting, &m.number).await?;
    let mut v = track_view(&r, &m, &timeline);
    v["category"] = super::category::json_of(r.category.as_deref());
    v["notices"] = json!(super::followup::notices(&state.db, &m.number).await?);
    v["messages"] = json!(super::evidence::messages(&state.db, &timeline, false).await?);
    let files = engine().attachments(&state.db, &acting, &m.number).await?;
    v["attachments"] = json!(super::evidence::attachments_json(&files));
    v["can_write"] = json!(m.closed_at.is_none() || m.state == "odr_settled");
    v["can_attach"] = json!(files.len() < super::evidence::MAX_FILES);
    Ok(v)
}

/// `POST /api/v1/complaints/track`.
pub async fn post_track(
    State(state): State<AppState>,
    Json(input): Json<TrackInput>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(track(&state, &input.number, &input.phone).await?))
}

/// `POST /api/v1/complaints/{number}/refuse-settlement`.
pub async fn post_refuse_settlement(
    State(state): State<AppState>,
    session: MaybeSession,
    Path(number): Path<String>,
    Json(input): Json<TrackInput>,
) -> Result<Json<Value>, ApiError> {
    flow::refuse_settlement(
        &state.db,
        Some(session.1.clone()),
        &number,
        &input.phone,
        &input.reason,
        today(&state),
    )
    .await?;
    Ok(Json(track(&state, &number, &input.phone).await?))
}

/// `GET /api/v1/enterprises/{uscc}/complaint-stats`.
pub async fn get_stats(
    State(state): State<AppState>,
    axum::Extension(deps): axum::Extension<Deps>,
    Path(uscc): Path<String>,
    Query(q): Query<PeriodQuery>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(stats_view(&state, &deps, &uscc, &q.period).await?))
}

/// `?period=month|quarter|year` (year if empty).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PeriodQuery {
    pub period: String,
}

// ----- the business -----------------------------------------------------------------------

/// The business's complaints as its portal shows them: the complainant's name and phone
/// only while the matter is with it (it needs them to settle), masked after.
pub fn portal_row(r: &store::Complaint) -> Value {
    let with_it = r.state == "odr";
    json!({
        "number": r.matter_number,
        "state": state_json(&r.kind, &r.state),
        "complainant": if with_it { r.complainant_name.clone() } else { model::mask_name(&r.complainant_name) },
        "phone": if with_it { r.phone.clone() } else { model::mask_phone(&r.phone) },
        "purchase": r.purchase,
        "purchase_date": r.purchase_date,
        "amount": r.amount_fen.map(model::yuan),
        "facts": r.facts,
        "claim": r.claim,
        "odr": r.odr,
        "odr_due_on": r.odr_due_on,
        "odr_result": r.odr_result,
        "settlement": r.settlement,
        "settlement_amount": r.settlement_fen.map(model::yuan),
        "created_at": r.created_at,
    })
}

/// The current version of a business's matter (for its answer form).
pub async fn portal_versions(
    state: &AppState,
    acting: &Acting,
    rows: &[store::Complaint],
) -> Result<Vec<Value>, AppError> {
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let mut v = portal_row(r);
        if r.state == "odr" {
            let m = engine().get(&state.db, acting, &r.matter_number).await?;
            v["version"] = json!(m.version);
        }
        out.push(v);
    }
    Ok(out)
}

/// `GET /api/v1/portal/complaints`.
pub async fn get_portal_list(
    State(state): State<AppState>,
    caller: ApiCaller,
    session: MaybeSession,
) -> Result<Json<Value>, ApiError> {
    let acting = enterprise(&caller, session)?;
    let uscc = acting.uscc.clone().unwrap_or_default();
    let rows = store::for_business(&state.db, &uscc, 200).await?;
    let items = portal_versions(&state, &acting, &rows).await?;
    Ok(Json(json!({"items": items})))
}

/// `POST /api/v1/portal/complaints/{number}/answer`: `{"answer": "settle", "version",
/// "settlement", "amount"}` or `{"answer": "refuse", "version", "reason"}`.
pub async fn post_portal_answer(
    State(state): State<AppState>,
    caller: ApiCaller,
    session: MaybeSession,
    Path(number): Path<String>,
    Json(input): Json<AnswerInput>,
) -> Result<Json<Value>, ApiError> {
    let acting = enterprise(&caller, session)?;
    let m = flow::answer(&state.db, &acting, &number, &input, today(&state)).await?;
    Ok(Json(json!({
        "number": m.number, "state": state_json(&m.kind, &m.state), "version": m.version,
    })))
}

// ----- officers ---------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct QueueQuery {
    pub kind: String,
    pub overdue: String,
    /// The `next` of the previous page.
    pub after: String,
    /// 1–500 (500 if empty).
    pub limit: String,
}

/// The queue's filters, parsed.
#[derive(Debug, Clone)]
pub struct QueueFilters {
    pub kind: Option<&'static str>,
    pub overdue: bool,
    pub after: Option<store::QueueCursor>,
    pub limit: i64,
}

/// Parses the queue's filters.
pub fn queue_filters(q: &QueueQuery) -> Result<QueueFilters, AppError> {
    let kind = match q.kind.trim() {
        "" => None,
        k => Some(
            kinds::spec(k)
                .ok_or_else(|| {
                    AppError::bad_request(
                        "kind",
                        "类别应为 complaint、report 或 help (the kind is complaint, report or help)",
                    )
                })?
                .name,
        ),
    };
    let overdue = match q.overdue.trim() {
        "" | "false" | "0" => false,
        "true" | "1" => true,
        _ => {
            return Err(AppError::bad_request(
                "overdue",
                "overdue 应为 true 或 false (overdue is true or false)",
            ));
        }
    };
    let after = match q.after.trim() {
        "" => None,
        a => Some(store::parse_cursor(a).ok_or_else(|| {
            AppError::bad_request(
                "after",
                "after 应为上一页的 next 值 (after is the next value of the previous page)",
            )
        })?),
    };
    let limit = match q.limit.trim() {
        "" => 500,
        l => l
            .parse()
            .ok()
            .filter(|n| (1..=500).contains(n))
            .ok_or_else(|| {
                AppError::bad_request("limit", "每页 1 到 500 件 (a page holds 1 to 500)")
            })?,
    };
    Ok(QueueFilters {
        kind,
        overdue,
        after,
        limit,
    })
}

/// `GET /api/v1/office/complaints?kind=&overdue=&after=&limit=`: open matters of the
/// jurisdiction, earliest deadline first, a page at a time (`next` → `after`).
pub async fn get_office_queue(
    State(state): State<AppState>,
    caller: ApiCaller,
    session: MaybeSession,
    Query(q): Query<QueueQuery>,
) -> Result<Json<Value>, ApiError> {
    let acting = officer(&caller, session)?;
    let f = queue_filters(&q)?;
    let as_of = today(&state);
    let (rows, next) = store::queue(
        &state.db,
        &acting.scope,
        f.kind,
        f.overdue.then_some(as_of),
        f.after,
        f.limit,
    )
    .await?;
    let items: Vec<Value> = rows.iter().map(|r| queue_row(r, as_of)).collect();
    Ok(Json(json!({
        "as_of": as_of, "items": items, "next": next.as_ref().map(store::cursor_text),
    })))
}

/// One matter for an officer: the row, the matter, the timeline (with notes).
pub async fn office_item(
    state: &AppState,
    acting: &Acting,
    number: &str,
) -> Result<Value, AppError> {
    let number = flow::canonical(number).map_err(|_| AppError::NotFound)?;
    let r = store::get_scoped(&state.db, &acting.scope, &number).await?;
    let m = engine().get(&state.db, acting, &number).await?;
    let timeline = engine().timeline(&state.db, acting, &number).await?;
    let mut v = officer_view(&r, &m, today(state));
    v["category"] = super::category::json_of(r.category.as_deref());
    v["messages"] = json!(super::evidence::messages(&state.db, &timeline, true).await?);
    let files = engine().attachments(&state.db, acting, &number).await?;
    v["attachments"] = json!(super::evidence::attachments_json(&files));
    v["accept_working_days"] = json!(r.accept_wd);
    v["close_working_days"] = json!(r.close_wd);
    v["timeline"] = json!(timeline);
    v["decisions"] = json!(public_timeline(&m.kind, &timeline));
    Ok(v)
}

/// `GET /api/v1/office/complaints/{number}`.
pub async fn get_office_item(
    State(state): State<AppState>,
    caller: ApiCaller,
    session: MaybeSession,
    Path(number): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let acting = officer(&caller, session)?;
    Ok(Json(office_item(&state, &acting, &number).await?))
}

/// `POST /api/v1/office/complaints/{number}/act`.
pub async fn post_office_act(
    State(state): State<AppState>,
    caller: ApiCaller,
    session: MaybeSession,
    Path(number): Path<String>,
    Json(input): Json<OfficerAct>,
) -> Result<Json<Value>, ApiError> {
    let acting = officer(&caller, session)?;
    let m = flow::officer_act(&state.db, &acting, &number, &input, today(&state)).await?;
    Ok(Json(office_item(&state, &acting, &m.number).await?))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct TransferInput {
    pub version: String,
    pub division: String,
    pub reason: String,
}

/// `POST /api/v1/office/complaints/{number}/transfer`.
pub async fn post_office_transfer(
    State(state): State<AppState>,
    caller: ApiCaller,
    session: MaybeSession,
    Path(number): Path<String>,
    Json(input): Json<TransferInput>,
) -> Result<Json<Value>, ApiError> {
    let acting = officer(&caller, session)?;
    let m = flow::transfer(
        &state.db,
        &acting,
        &number,
        &input.version,
        &input.division,
        &input.reason,
    )
    .await?;
    Ok(Json(json!({
        "number": m.number, "division": {"code": m.division, "name": division_name(&m.division)},
        "version": m.version,
    })))
}

/// The ODR participants of a jurisdiction with their response rates.
pub async fn odr_list(state: &AppState, acting: &Acting) -> Result<Vec<Value>, AppError> {
    let rows = store::odr_enterprises(&state.db, &acting.scope, 500).await?;
    Ok(rows
        .iter()
        .map(|e| {
            let mut v = json!(e);
            v["response_rate"] = json!(e.response_rate());
            v
        })
        .collect())
}

/// `GET /api/v1/office/odr/enterprises`.
pub async fn get_odr_list(
    State(state): State<AppState>,
    caller: ApiCaller,
    session: MaybeSession,
) -> Result<Json<Value>, ApiError> {
    let acting = officer(&caller, session)?;
    Ok(Json(json!({"items": odr_list(&state, &acting).await?})))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct MarkInput {
    pub uscc: String,
    pub active: Option<bool>,
}

/// `POST /api/v1/office/odr/enterprises`: `{"uscc", "active": true|false}`.
pub async fn post_odr_mark(
    State(state): State<AppState>,
    axum::Extension(deps): axum::Extension<Deps>,
    caller: ApiCaller,
    session: MaybeSession,
    Json(input): Json<MarkInput>,
) -> Result<Json<Value>, ApiError> {
    let acting = officer(&caller, session)?;
    if acting.role != Some(Role::Officer) {
        return Err(ApiError(AppError::forbidden()));
    }
    let active = input.active.unwrap_or(true);
    flow::mark_odr(
        &state.db,
        deps.registry.as_ref(),
        &acting.actor,
        &acting.scope,
        &input.uscc,
        active,
        today(&state),
    )
    .await?;
    Ok(Json(json!({"uscc": input.uscc.trim(), "active": active})))
}
