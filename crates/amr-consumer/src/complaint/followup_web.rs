//! The routes of the finished complaint path: messages and evidence, the category, the
//! enterprise's review of its statistics, the officers' dashboard.
//!
//! JSON — the complainant (number + phone in the body): `POST
//! /api/v1/complaints/{number}/messages` (`{"phone", "text"}`), `POST
//! /api/v1/complaints/{number}/attachments` (multipart: `phone`, `files`…), `POST
//! /api/v1/complaints/{number}/attachments/{id}` (`{"phone"}` → the file). Officers: `GET
//! /api/v1/office/complaints/dashboard?from=&to=`, `POST
//! /api/v1/office/complaints/{number}/messages` (`{"text", "internal"}`), `POST
//! .../category` (`{"category"}`), `GET .../attachments/{id}`. The business: `POST
//! /api/v1/portal/complaints/{number}/messages`, `GET
//! /api/v1/portal/complaint-stats?period=`, `POST
//! /api/v1/portal/complaint-stats/{period}/statement` (`{"statement"}`).
//!
//! Pages: `POST /complaints/track/message`, `POST /complaints/track/attach` (multipart),
//! `POST /complaints/track/attachment` (download); `/office/complaints/dashboard`, `POST
//! /office/complaints/{number}/message`, `POST .../category`, `GET
//! .../attachments/{id}`; `POST /portal/complaints/{number}/message`,
//! `/portal/complaints/stats` (`POST /portal/complaints/stats/statement`).

use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::StatusCode;
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use amr_kernel::audit::{self, Change};
use amr_kernel::auth::{Permission, Role};
use amr_kernel::error::AppError;
use amr_kernel::events::{self, NewEvent};
use amr_kernel::matter::{Acting, Attachment};
use amr_web::AppState;
use amr_web::auth::{ApiCaller, MaybeSession};
use amr_web::error::ApiError;
use amr_web::extract::{PageForm, PageQuery};
use amr_web::page::{PageError, Viewer, render};

use super::api::{PeriodQuery, TrackInput};
use super::evidence::{self, FormWithFiles};
use super::pages::{check_form_csrf, error_json, officer as page_officer, render_track};
use super::publicity::{self, Granularity};
use super::{category, dashboard, engine, flow, store, today};

/// Room for the multipart envelope and fields besides the files.
const ENVELOPE: usize = 64 * 1024;

pub fn routes() -> Router<AppState> {
    let upload_limit =
        DefaultBodyLimit::max(evidence::MAX_FILE_BYTES * evidence::MAX_FILES + ENVELOPE);
    Router::new()
        .route(
            "/api/v1/complaints/{number}/messages",
            post(api_consumer_message),
        )
        .route(
            "/api/v1/complaints/{number}/attachments",
            post(api_consumer_attach).layer(upload_limit),
        )
        .route(
            "/api/v1/complaints/{number}/attachments/{id}",
            post(api_consumer_file),
        )
        .route("/api/v1/office/complaints/dashboard", get(api_dashboard))
        .route(
            "/api/v1/office/complaints/{number}/messages",
            post(api_officer_message),
        )
        .route(
            "/api/v1/office/complaints/{number}/category",
            post(api_category),
        )
        .route(
            "/api/v1/office/complaints/{number}/attachments/{id}",
            get(api_officer_file),
        )
        .route(
            "/api/v1/portal/complaints/{number}/messages",
            post(api_business_message),
        )
        .route("/api/v1/portal/complaint-stats", get(api_portal_stats))
        .route(
            "/api/v1/portal/complaint-stats/{period}/statement",
            post(api_statement),
        )
        .route("/complaints/track/message", post(page_consumer_message))
        .route(
            "/complaints/track/attach",
            post(page_consumer_attach).layer(upload_limit),
        )
        .route("/complaints/track/attachment", post(page_consumer_file))
        .route("/office/complaints/dashboard", get(page_dashboard))
        .route(
            "/office/complaints/{number}/message",
            post(page_officer_message),
        )
        .route("/office/complaints/{number}/category", post(page_category))
        .route(
            "/office/complaints/{number}/attachments/{id}",
            get(page_officer_file),
        )
        .route(
            "/portal/complaints/{number}/message",
            post(page_business_message),
        )
        .route("/portal/complaints/stats", get(page_portal_stats))
        .route("/portal/complaints/stats/statement", post(page_statement))
}

// ----- who is calling ---------------------------------------------------------------------

fn api_person(caller: &ApiCaller, session: &MaybeSession) -> Result<Acting, ApiError> {
    if caller.api_key.is_some() {
        return Err(ApiError(AppError::forbidden()));
    }
    let s = session
        .0
        .as_ref()
        .ok_or(ApiError(AppError::Unauthenticated))?;
    Ok(Acting::account(&s.account, Some(session.1.clone())))
}

fn api_officer(caller: &ApiCaller, session: &MaybeSession) -> Result<Acting, ApiError> {
    caller.require(Permission::ReadRecords)?;
    api_person(caller, session)
}

fn api_enterprise(caller: &ApiCaller, session: &MaybeSession) -> Result<Acting, ApiError> {
    let acting = api_person(caller, session)?;
    if acting.role != Some(Role::Enterprise) || acting.uscc.is_none() {
        return Err(ApiError(AppError::forbidden()));
    }
    Ok(acting)
}

fn page_enterprise(viewer: &Viewer) -> Result<Acting, PageError> {
    let session = viewer.require_login()?;
    let acting = Acting::account(&session.account, Some(viewer.ip.clone()));
    if session.account.role() != Role::Enterprise || acting.uscc.is_none() {
        return Err(AppError::forbidden().into());
    }
    Ok(acting)
}

/// A stored file as a download (never shown inline: `attachment`, no sniffing).
fn download(a: &Attachment, bytes: Vec<u8>) -> Response {
    let mut encoded = String::new();
    for b in a.name.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            encoded.push(b as char);
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    (
        [
            (CONTENT_TYPE, a.content_type.clone()),
            (
                CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"evidence-{}\"; filename*=UTF-8''{encoded}",
                    a.id
                ),
            ),
            (
                axum::http::header::X_CONTENT_TYPE_OPTIONS,
                "nosniff".to_string(),
            ),
            (
                axum::http::header::CACHE_CONTROL,
                "private, no-store".to_string(),
            ),
        ],
        bytes,
    )
        .into_response()
}

/// One attachment of the complainant's own matter (number + phone).
async fn consumer_file(
    state: &AppState,
    number: &str,
    phone: &str,
    id: &str,
) -> Result<Response, AppError> {
    let row = flow::own(&state.db, number, phone).await?;
    let id: i64 = id.trim().parse().map_err(|_| AppError::NotFound)?;
    let (a, bytes) = engine()
        .attachment(&state.db, &Acting::system(), &row.matter_number, id)
        .await?;
    Ok(download(&a, bytes))
}

/// One attachment for an officer whose jurisdiction holds the matter.
async fn officer_file(
    state: &AppState,
    acting: &Acting,
    number: &str,
    id: &str,
) -> Result<Response, AppError> {
    let number = flow::canonical(number).map_err(|_| AppError::NotFound)?;
    let row = store::get_scoped(&state.db, &acting.scope, &number).await?;
    let id: i64 = id.trim().parse().map_err(|_| AppError::NotFound)?;
    let (a, bytes) = engine()
        .attachment(&state.db, acting, &row.matter_number, id)
        .await?;
    Ok(download(&a, bytes))
}

/// Sets or corrects the category (officers of the jurisdiction): audit
/// `complaint.category`, internal event, one transaction.
pub async fn set_category(
    state: &AppState,
    acting: &Acting,
    number: &str,
    value: &str,
) -> Result<(), AppError> {
    let number = flow::canonical(number).map_err(|_| AppError::NotFound)?;
    let row = store::get_scoped(&state.db, &acting.scope, &number).await?;
    let code = category::parse(value)?;
    let mut tx = state.db.begin().await?;
    store::set_category(&mut tx, &row.matter_number, code).await?;
    events::append(
        &mut tx,
        NewEvent::internal(
            "consumer.complaint.categorized",
            json!({"number": row.matter_number, "category": code, "before": row.category}),
        )
        .division(&row.division)
        .actor(acting.actor.label()),
    )
    .await?;
    audit::record(
        &mut tx,
        &acting.actor,
        Change {
            action: "complaint.category",
            target_kind: "complaint",
            target_id: row.matter_number.clone(),
            division: Some(row.division.clone()),
            before: Some(json!({"category": row.category})),
            after: Some(json!({"category": code})),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

// ----- JSON: the complainant --------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ConsumerMessage {
    pub phone: String,
    pub text: String,
}

/// `POST /api/v1/complaints/{number}/messages`.
async fn api_consumer_message(
    State(state): State<AppState>,
    session: MaybeSession,
    Path(number): Path<String>,
    Json(input): Json<ConsumerMessage>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    evidence::message_by_complainant(
        &state.db,
        Some(session.1.clone()),
        &number,
        &input.phone,
        &input.text,
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"number": flow::canonical(&number)?})),
    ))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PhoneOnly {
    pub phone: String,
}

/// `POST /api/v1/complaints/{number}/attachments` (multipart: `phone`, `files`).
async fn api_consumer_attach(
    State(state): State<AppState>,
    session: MaybeSession,
    Path(number): Path<String>,
    upload: FormWithFiles<PhoneOnly>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    if let Some(e) = upload.file_error {
        return Err(ApiError(e));
    }
    let added = evidence::attach_by_complainant(
        &state.db,
        Some(session.1.clone()),
        &number,
        &upload.form.phone,
        &upload.files,
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"attachments": evidence::attachments_json(&added)})),
    ))
}

/// `POST /api/v1/complaints/{number}/attachments/{id}` (`{"phone"}`): the file.
async fn api_consumer_file(
    State(state): State<AppState>,
    Path((number, id)): Path<(String, String)>,
    Json(input): Json<PhoneOnly>,
) -> Result<Response, ApiError> {
    Ok(consumer_file(&state, &number, &input.phone, &id).await?)
}

// ----- JSON: officers ---------------------------------------------------------------------

/// `GET /api/v1/office/complaints/dashboard?from=YYYY-MM&to=YYYY-MM`.
async fn api_dashboard(
    State(state): State<AppState>,
    caller: ApiCaller,
    session: MaybeSession,
    axum::extract::Query(q): axum::extract::Query<dashboard::DashQuery>,
) -> Result<Json<Value>, ApiError> {
    let acting = api_officer(&caller, &session)?;
    let mut v = dashboard::dashboard(&state.db, &acting, &q, today(&state)).await?;
    if let Some(o) = v.as_object_mut() {
        o.remove("charts");
    }
    Ok(Json(v))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct OfficerMessage {
    pub text: String,
    /// An internal note (officers only).
    pub internal: bool,
}

/// `POST /api/v1/office/complaints/{number}/messages`.
async fn api_officer_message(
    State(state): State<AppState>,
    caller: ApiCaller,
    session: MaybeSession,
    Path(number): Path<String>,
    Json(input): Json<OfficerMessage>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let acting = api_officer(&caller, &session)?;
    evidence::message_by_officer(&state.db, &acting, &number, &input.text, input.internal).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"number": flow::canonical(&number)?})),
    ))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CategoryInput {
    pub category: String,
}

/// `POST /api/v1/office/complaints/{number}/category`.
async fn api_category(
    State(state): State<AppState>,
    caller: ApiCaller,
    session: MaybeSession,
    Path(number): Path<String>,
    Json(input): Json<CategoryInput>,
) -> Result<Json<Value>, ApiError> {
    let acting = api_officer(&caller, &session)?;
    set_category(&state, &acting, &number, &input.category).await?;
    Ok(Json(
        json!({"number": flow::canonical(&number)?, "category": category::json_of(category::parse(&input.category)?)}),
    ))
}

/// `GET /api/v1/office/complaints/{number}/attachments/{id}`.
async fn api_officer_file(
    State(state): State<AppState>,
    caller: ApiCaller,
    session: MaybeSession,
    Path((number, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let acting = api_officer(&caller, &session)?;
    Ok(officer_file(&state, &acting, &number, &id).await?)
}

// ----- JSON: the business -----------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct TextInput {
    pub text: String,
}

/// `POST /api/v1/portal/complaints/{number}/messages`.
async fn api_business_message(
    State(state): State<AppState>,
    caller: ApiCaller,
    session: MaybeSession,
    Path(number): Path<String>,
    Json(input): Json<TextInput>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let acting = api_enterprise(&caller, &session)?;
    evidence::message_by_business(&state.db, &acting, &number, &input.text).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"number": flow::canonical(&number)?})),
    ))
}

async fn portal_stats(state: &AppState, acting: &Acting, period: &str) -> Result<Value, AppError> {
    let g = Granularity::parse(period)?;
    let uscc = acting.uscc.clone().unwrap_or_default();
    let periods = publicity::periods(&state.db, &uscc, g, today(state), false).await?;
    Ok(json!({
        "uscc": uscc, "period": g.as_str(), "as_of": today(state), "periods": periods,
        "review_working_days": publicity::REVIEW_WORKING_DAYS,
    }))
}

/// `GET /api/v1/portal/complaint-stats?period=`: every period with its stage.
async fn api_portal_stats(
    State(state): State<AppState>,
    caller: ApiCaller,
    session: MaybeSession,
    axum::extract::Query(q): axum::extract::Query<PeriodQuery>,
) -> Result<Json<Value>, ApiError> {
    let acting = api_enterprise(&caller, &session)?;
    Ok(Json(portal_stats(&state, &acting, &q.period).await?))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct StatementInput {
    pub statement: String,
}

/// `POST /api/v1/portal/complaint-stats/{period}/statement`.
async fn api_statement(
    State(state): State<AppState>,
    caller: ApiCaller,
    session: MaybeSession,
    Path(period): Path<String>,
    Json(input): Json<StatementInput>,
) -> Result<Json<Value>, ApiError> {
    let acting = api_enterprise(&caller, &session)?;
    let p = publicity::save_statement(&state.db, &acting, &period, &input.statement, today(&state))
        .await?;
    Ok(Json(
        json!({"period": p.text(), "stage": p.stage(today(&state)), "review_until": p.review_until()}),
    ))
}

// ----- pages: the complainant -------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
pub struct TrackWrite {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    id: String,
    #[serde(flatten)]
    input: TrackInput,
}

async fn after_write(
    viewer: &Viewer,
    state: &AppState,
    input: &TrackInput,
    result: Result<(), AppError>,
) -> Result<Response, PageError> {
    match result {
        Ok(()) => render_track(viewer, state, input, None).await,
        Err(AppError::BadRequest { field, message }) => {
            render_track(viewer, state, input, Some(error_json(&field, &message))).await
        }
        Err(AppError::Rejected { message }) => {
            render_track(viewer, state, input, Some(error_json("", &message))).await
        }
        // A wrong number or phone: the tracking page says so, nothing written.
        Err(AppError::NotFound) => render_track(viewer, state, input, None).await,
        Err(e) => Err(e.into()),
    }
}

/// `POST /complaints/track/message`.
async fn page_consumer_message(
    viewer: Viewer,
    State(state): State<AppState>,
    PageForm(f): PageForm<TrackWrite>,
) -> Result<Response, PageError> {
    check_form_csrf(&viewer, &f.csrf)?;
    let r = evidence::message_by_complainant(
        &state.db,
        Some(viewer.ip.clone()),
        &f.input.number,
        &f.input.phone,
        &f.text,
    )
    .await;
    after_write(&viewer, &state, &f.input, r).await
}

/// `POST /complaints/track/attach` (multipart: `csrf`, `number`, `phone`, `files`).
async fn page_consumer_attach(
    viewer: Viewer,
    State(state): State<AppState>,
    upload: FormWithFiles<TrackWrite>,
) -> Result<Response, PageError> {
    let f = upload.form;
    check_form_csrf(&viewer, &f.csrf)?;
    let r = match upload.file_error {
        Some(e) => Err(e),
        None => evidence::attach_by_complainant(
            &state.db,
            Some(viewer.ip.clone()),
            &f.input.number,
            &f.input.phone,
            &upload.files,
        )
        .await
        .map(|_| ()),
    };
    after_write(&viewer, &state, &f.input, r).await
}

/// `POST /complaints/track/attachment` (`csrf`, `number`, `phone`, `id`): the file.
async fn page_consumer_file(
    viewer: Viewer,
    State(state): State<AppState>,
    PageForm(f): PageForm<TrackWrite>,
) -> Result<Response, PageError> {
    check_form_csrf(&viewer, &f.csrf)?;
    Ok(consumer_file(&state, &f.input.number, &f.input.phone, &f.id).await?)
}

// ----- pages: officers --------------------------------------------------------------------

/// `GET /office/complaints/dashboard?from=&to=`.
async fn page_dashboard(
    viewer: Viewer,
    State(state): State<AppState>,
    PageQuery(q): PageQuery<dashboard::DashQuery>,
) -> Result<Response, PageError> {
    let acting = page_officer(&viewer)?;
    let d = dashboard::dashboard(&state.db, &acting, &q, today(&state)).await?;
    render(
        &state,
        &viewer,
        StatusCode::OK,
        "complaint/dashboard.html",
        json!({"d": d}),
    )
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct OfficerForm {
    csrf: String,
    text: String,
    internal: String,
    category: String,
}

/// `POST /office/complaints/{number}/message`.
async fn page_officer_message(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(number): Path<String>,
    PageForm(f): PageForm<OfficerForm>,
) -> Result<Response, PageError> {
    let acting = page_officer(&viewer)?;
    viewer.check_csrf(&f.csrf)?;
    let internal = matches!(f.internal.trim(), "true" | "1" | "on");
    evidence::message_by_officer(&state.db, &acting, &number, &f.text, internal).await?;
    let n = flow::canonical(&number)?;
    Ok(Redirect::to(&format!("/office/complaints/{n}")).into_response())
}

/// `POST /office/complaints/{number}/category`.
async fn page_category(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(number): Path<String>,
    PageForm(f): PageForm<OfficerForm>,
) -> Result<Response, PageError> {
    let acting = page_officer(&viewer)?;
    viewer.check_csrf(&f.csrf)?;
    set_category(&state, &acting, &number, &f.category).await?;
    let n = flow::canonical(&number)?;
    Ok(Redirect::to(&format!("/office/complaints/{n}")).into_response())
}

/// `GET /office/complaints/{number}/attachments/{id}`.
async fn page_officer_file(
    viewer: Viewer,
    State(state): State<AppState>,
    Path((number, id)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let acting = page_officer(&viewer)?;
    Ok(officer_file(&state, &acting, &number, &id).await?)
}

// ----- pages: the business ----------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct BusinessForm {
    csrf: String,
    text: String,
    period: String,
    statement: String,
}

/// `POST /portal/complaints/{number}/message`.
async fn page_business_message(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(number): Path<String>,
    PageForm(f): PageForm<BusinessForm>,
) -> Result<Response, PageError> {
    let acting = page_enterprise(&viewer)?;
    viewer.check_csrf(&f.csrf)?;
    evidence::message_by_business(&state.db, &acting, &number, &f.text).await?;
    Ok(Redirect::to("/portal/complaints").into_response())
}

/// `GET /portal/complaints/stats?period=`: the business's figures, the periods under
/// review with the statement form.
async fn page_portal_stats(
    viewer: Viewer,
    State(state): State<AppState>,
    PageQuery(q): PageQuery<PeriodQuery>,
) -> Result<Response, PageError> {
    let acting = page_enterprise(&viewer)?;
    let s = portal_stats(&state, &acting, &q.period).await?;
    render(
        &state,
        &viewer,
        StatusCode::OK,
        "complaint/portal_stats.html",
        json!({"s": s}),
    )
}

/// `POST /portal/complaints/stats/statement` (`csrf`, `period`, `statement`).
async fn page_statement(
    viewer: Viewer,
    State(state): State<AppState>,
    PageForm(f): PageForm<BusinessForm>,
) -> Result<Response, PageError> {
    let acting = page_enterprise(&viewer)?;
    viewer.check_csrf(&f.csrf)?;
    let p = publicity::save_statement(&state.db, &acting, &f.period, &f.statement, today(&state))
        .await?;
    let g = match p {
        publicity::Period::Month(..) => "month",
        publicity::Period::Quarter(..) => "quarter",
        publicity::Period::Year(..) => "year",
    };
    Ok(Redirect::to(&format!("/portal/complaints/stats?period={g}")).into_response())
}
