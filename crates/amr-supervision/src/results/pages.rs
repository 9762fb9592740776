//! The officers' pages of results, within their jurisdiction:
//!
//! - `GET /office/inspections/visits/{plan_id}/{visit_no}`: the entity, tasks, items, crews,
//!   the recording form per item, attachments (upload and download), follow-ups, publication;
//! - `POST .../results` (record or correct one item), `POST .../publish` (the visit's results);
//! - `POST /office/inspections/results/{id}/attachments` (multipart, at most 2 MB a file);
//! - `GET /office/inspections/attachments/{id}` (the file, to officers only);
//! - `GET /office/inspections/results`: unpublished results with their deadlines, overdue
//!   ones flagged and filterable; `POST /office/inspections/results/publish` (a whole plan);
//! - `GET /office/inspections/followups`, `POST /office/inspections/followups/{id}/close`.
//!
//! Reading needs `read_records`; recording, publishing and closing need `record_lifecycle`
//! (officers).

use axum::extract::multipart::MultipartRejection;
use axum::extract::{DefaultBodyLimit, Multipart, Path, State};
use axum::http::StatusCode;
use axum::http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use amr_kernel::audit::Actor;
use amr_kernel::auth::{Permission, Scope};
use amr_kernel::calendar_store;
use amr_kernel::error::AppError;
use amr_web::AppState;
use amr_web::extract::{PageForm, PageQuery, parse_before, percent_encode};
use amr_web::page::{PageError, Viewer, render};

use super::followups::{self, Filter};
use super::model::{MAX_ATTACHMENT_BYTES, Outcome, RecordInput};
use super::public::{parse_area, parse_id};
use super::query::{self, PendingFilter};
use super::store;
use super::visit;
use crate::web::Deps;

/// The officers' routes (merged inside the page frame).
pub fn routes(deps: Deps) -> Router<AppState> {
    Router::new()
        .route(
            "/office/inspections/visits/{plan_id}/{visit_no}",
            get(visit_page),
        )
        .route(
            "/office/inspections/visits/{plan_id}/{visit_no}/results",
            post(post_record),
        )
        .route(
            "/office/inspections/visits/{plan_id}/{visit_no}/publish",
            post(post_publish_visit),
        )
        .route(
            "/office/inspections/results/{id}/attachments",
            // The file is counted against its own limit while it streams in (the server's
            // body limit still applies first); axum's default extractor limit would cut it
            // at exactly 2 MB with a parse error instead.
            post(post_attachment).layer(DefaultBodyLimit::max(MAX_ATTACHMENT_BYTES + 64 * 1024)),
        )
        .route("/office/inspections/attachments/{id}", get(get_attachment))
        .route("/office/inspections/results", get(pending_page))
        .route(
            "/office/inspections/results/publish",
            post(post_publish_plan),
        )
        .route("/office/inspections/followups", get(followups_page))
        .route(
            "/office/inspections/followups/{id}/close",
            post(post_close_followup),
        )
        .layer(Extension(deps))
}

fn reader(viewer: &Viewer) -> Result<(Scope, bool), PageError> {
    let session = viewer.require_login()?;
    let role = session.account.role();
    if !role.can(Permission::ReadRecords) {
        return Err(AppError::forbidden().into());
    }
    Ok((
        session.account.scope(),
        role.can(Permission::RecordLifecycle),
    ))
}

fn writer(viewer: &Viewer) -> Result<(Scope, Actor), PageError> {
    let session = viewer.require_login()?;
    if !session.account.role().can(Permission::RecordLifecycle) {
        return Err(AppError::forbidden().into());
    }
    let actor = viewer.actor().ok_or(AppError::Unauthenticated)?;
    Ok((session.account.scope(), actor))
}

fn visit_key(plan_id: &str, visit_no: &str) -> Result<(i64, i64), PageError> {
    Ok((parse_id(plan_id)?, parse_id(visit_no)?))
}

fn visit_url(plan_id: i64, visit_no: i64) -> String {
    format!("/office/inspections/visits/{plan_id}/{visit_no}")
}

fn outcomes() -> Vec<Value> {
    Outcome::ALL
        .iter()
        .map(|o| json!({"key": o.as_str(), "name": o.name_zh()}))
        .collect()
}

// ----- the visit ---------------------------------------------------------------------------

/// `GET /office/inspections/visits/{plan_id}/{visit_no}`.
pub async fn visit_page(
    viewer: Viewer,
    State(state): State<AppState>,
    Extension(deps): Extension<Deps>,
    Path((plan_id, visit_no)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let (plan_id, visit_no) = visit_key(&plan_id, &visit_no)?;
    render_visit(&viewer, &state, &deps, plan_id, visit_no, None).await
}

/// A refused recording: the item, the values entered, the field at fault and the reason.
struct Refusal<'a> {
    input: &'a RecordInput,
    field: String,
    message: String,
    status: StatusCode,
}

/// The visit page; with a refusal, its form shows the values entered and the reason.
async fn render_visit(
    viewer: &Viewer,
    state: &AppState,
    deps: &Deps,
    plan_id: i64,
    visit_no: i64,
    refusal: Option<Refusal<'_>>,
) -> Result<Response, PageError> {
    let (scope, can_record) = reader(viewer)?;
    let v = visit::get(&state.db, &scope, plan_id, visit_no).await?;
    let entity = deps.registry.get(&v.uscc).await?;
    let results = store::of_visit(&state.db, &scope, plan_id, visit_no).await?;
    let attachments = store::attachments_of_visit(&state.db, &scope, plan_id, visit_no).await?;
    let followups = followups::of_visit(&state.db, &scope, plan_id, visit_no).await?;
    let today = state.config.today();
    let items: Vec<Value> = v
        .items
        .iter()
        .map(|i| {
            let r = results.iter().find(|r| r.item_code == i.code);
            let files: Vec<_> = r
                .map(|r| attachments.iter().filter(|a| a.result_id == r.id).collect())
                .unwrap_or_default();
            let fus: Vec<_> = r
                .map(|r| followups.iter().filter(|f| f.result_id == r.id).collect())
                .unwrap_or_default();
            json!({
                "item": i,
                "result": r,
                "overdue": r.is_some_and(|r| r.published_at.is_none() && r.publish_due < today),
                "attachments": files,
                "followups": fus,
            })
        })
        .collect();
    let unpublished = results.iter().filter(|r| r.published_at.is_none()).count();
    let page = json!({
        "visit": v,
        "entity": entity,
        "items": items,
        "unpublished": unpublished,
        "can_record": can_record && v.plan_state == "drawn",
        "outcomes": outcomes(),
        "today": today.to_string(),
        "max_mb": MAX_ATTACHMENT_BYTES / (1024 * 1024),
        "refusal": refusal.as_ref().map(|r| json!({
            "item": r.input.item.trim(),
            "outcome": r.input.outcome.trim(),
            "findings": r.input.findings,
            "inspected_on": r.input.inspected_on.trim(),
            "field": r.field,
            "message": r.message,
        })),
    });
    let status = refusal.map_or(StatusCode::OK, |r| r.status);
    render(state, viewer, status, "results/visit.html", page)
}

#[derive(Debug, Default, Deserialize)]
pub struct RecordForm {
    #[serde(default)]
    csrf: String,
    #[serde(flatten)]
    input: RecordInput,
}

/// `POST /office/inspections/visits/{plan_id}/{visit_no}/results`: records (or corrects) one
/// item's outcome; back to the visit. A refused form re-renders the visit page (400/422) with
/// the values entered and the reason at the item's form.
pub async fn post_record(
    viewer: Viewer,
    State(state): State<AppState>,
    Extension(deps): Extension<Deps>,
    Path((plan_id, visit_no)): Path<(String, String)>,
    PageForm(f): PageForm<RecordForm>,
) -> Result<Response, PageError> {
    let (scope, actor) = writer(&viewer)?;
    viewer.check_csrf(&f.csrf)?;
    let (plan_id, visit_no) = visit_key(&plan_id, &visit_no)?;
    let calendar = calendar_store::load(&state.db).await?;
    let mut tx = state.db.begin().await?;
    let recorded = store::record(
        &mut tx,
        &actor,
        &scope,
        plan_id,
        visit_no,
        &f.input,
        &calendar,
        state.config.today(),
    )
    .await;
    let r = match recorded {
        Ok(r) => r,
        // A refused form: nothing is written (the transaction is dropped), and the visit page
        // comes back with the values entered and the reason next to the form.
        Err(e @ (AppError::BadRequest { .. } | AppError::Rejected { .. })) => {
            drop(tx);
            let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST);
            let (field, message) = match e {
                AppError::BadRequest { field, message } => (field, message),
                other => (String::new(), other.public_message()),
            };
            let refusal = Refusal {
                input: &f.input,
                field,
                message,
                status,
            };
            return render_visit(&viewer, &state, &deps, plan_id, visit_no, Some(refusal)).await;
        }
        Err(e) => return Err(e.into()),
    };
    tx.commit().await?;
    Ok(Redirect::to(&format!(
        "{}#item-{}",
        visit_url(plan_id, visit_no),
        percent_encode(&r.item_code)
    ))
    .into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CsrfForm {
    csrf: String,
}

/// `POST /office/inspections/visits/{plan_id}/{visit_no}/publish`.
pub async fn post_publish_visit(
    viewer: Viewer,
    State(state): State<AppState>,
    Path((plan_id, visit_no)): Path<(String, String)>,
    PageForm(f): PageForm<CsrfForm>,
) -> Result<Response, PageError> {
    let (scope, actor) = writer(&viewer)?;
    viewer.check_csrf(&f.csrf)?;
    let (plan_id, visit_no) = visit_key(&plan_id, &visit_no)?;
    let mut tx = state.db.begin().await?;
    store::publish_visit(&mut tx, &actor, &scope, plan_id, visit_no).await?;
    tx.commit().await?;
    Ok(Redirect::to(&visit_url(plan_id, visit_no)).into_response())
}

fn upload_error(e: impl std::fmt::Display) -> PageError {
    AppError::bad_request(
        "file",
        format!(
            "上传内容无法读取（附件不超过 2 MB）(the upload could not be read; at most 2 MB): {e}"
        ),
    )
    .into()
}

/// `POST /office/inspections/results/{id}/attachments` (multipart: `csrf`, `file`): attaches
/// a file to an unpublished result; back to its visit.
pub async fn post_attachment(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(id): Path<String>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, PageError> {
    let (scope, actor) = writer(&viewer)?;
    let id = parse_id(&id)?;
    let mut multipart = multipart.map_err(upload_error)?;
    let (mut csrf, mut file) = (String::new(), None);
    while let Some(mut field) = multipart.next_field().await.map_err(upload_error)? {
        match field.name().unwrap_or_default() {
            "csrf" => csrf = field.text().await.map_err(upload_error)?,
            "file" => {
                let name = field.file_name().unwrap_or("attachment").to_string();
                let mut data: Vec<u8> = Vec::new();
                while let Some(chunk) = field.chunk().await.map_err(upload_error)? {
                    if data.len() + chunk.len() > MAX_ATTACHMENT_BYTES {
                        return Err(store::too_large().into());
                    }
                    data.extend_from_slice(&chunk);
                }
                file = Some((name, data));
            }
            _ => {}
        }
    }
    viewer.check_csrf(&csrf)?;
    let (name, data) = file.ok_or_else(|| {
        AppError::bad_request("file", "请选择要上传的文件 (choose a file to upload)")
    })?;
    let mut tx = state.db.begin().await?;
    store::add_attachment(&mut tx, &actor, &scope, id, &name, &data).await?;
    let r = store::result_in_tx(&mut tx, &scope, id).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!(
        "{}#item-{}",
        visit_url(r.plan_id, r.visit_no),
        percent_encode(&r.item_code)
    ))
    .into_response())
}

/// `GET /office/inspections/attachments/{id}`: the file, as a download, to officers within
/// the jurisdiction.
pub async fn get_attachment(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let (scope, _) = reader(&viewer)?;
    let (meta, data) = store::attachment(&state.db, &scope, parse_id(&id)?).await?;
    let disposition = format!(
        "attachment; filename=\"attachment-{}\"; filename*=UTF-8''{}",
        meta.id,
        percent_encode(&meta.filename)
    );
    Ok((
        [
            (CONTENT_TYPE, meta.content_type),
            (CONTENT_DISPOSITION, disposition),
            (CACHE_CONTROL, "private, no-store".to_string()),
        ],
        data,
    )
        .into_response())
}

// ----- unpublished results -----------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PendingQuery {
    plan: String,
    overdue: String,
    area: String,
    /// `YYYY-MM-DD:id` of the last row of the previous page.
    after: String,
}

pub(crate) fn parse_after(s: &str) -> Result<Option<(chrono::NaiveDate, i64)>, AppError> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    s.split_once(':')
        .and_then(|(d, id)| {
            Some((
                chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok()?,
                id.parse::<i64>().ok().filter(|n| *n > 0)?,
            ))
        })
        .map(Some)
        .ok_or_else(|| {
            AppError::bad_request(
                "after",
                "after 应为 YYYY-MM-DD:编号 (after is YYYY-MM-DD:id)",
            )
        })
}

/// `GET /office/inspections/results?plan=&overdue=1&area=&after=`: unpublished results of
/// the jurisdiction, earliest deadline first.
pub async fn pending_page(
    viewer: Viewer,
    State(state): State<AppState>,
    PageQuery(q): PageQuery<PendingQuery>,
) -> Result<Response, PageError> {
    let (scope, can_publish) = reader(&viewer)?;
    let plan_id = match q.plan.trim() {
        "" => None,
        p => Some(parse_plan(p)?),
    };
    let overdue_only = parse_overdue(&q.overdue)?;
    let area = parse_area(&q.area)?;
    let filter = PendingFilter {
        plan_id,
        overdue_only,
        area: Some(area.clone()).filter(|a| !a.is_empty()),
        after: parse_after(&q.after)?,
    };
    let today = state.config.today();
    let (items, more) = query::pending(&state.db, &scope, &filter, today).await?;
    let names = visit::names(&state.db).await?;
    let rows: Vec<Value> = items
        .iter()
        .map(|p| {
            json!({
                "p": p,
                "item_name": names.item(&p.result.item_code),
                "department_name": names.department(&p.result.department),
            })
        })
        .collect();
    let next = if more {
        items
            .last()
            .map(|p| format!("{}:{}", p.result.publish_due, p.result.id))
    } else {
        None
    };
    let page = json!({
        "items": rows,
        "next": next,
        "today": today.to_string(),
        "can_publish": can_publish,
        "q": {"plan": plan_id, "overdue": overdue_only, "area": area},
    });
    render(
        &state,
        &viewer,
        StatusCode::OK,
        "results/pending.html",
        page,
    )
}

pub(crate) fn parse_overdue(s: &str) -> Result<bool, AppError> {
    match s.trim() {
        "" | "0" => Ok(false),
        "1" => Ok(true),
        _ => Err(AppError::bad_request(
            "overdue",
            "overdue 应为 0 或 1 (overdue is 0 or 1)",
        )),
    }
}

pub(crate) fn parse_plan(s: &str) -> Result<i64, AppError> {
    s.trim()
        .parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| {
            AppError::bad_request(
                "plan",
                "计划编号应为正整数 (the plan number is a positive integer)",
            )
        })
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PublishPlanForm {
    csrf: String,
    plan_id: String,
}

/// `POST /office/inspections/results/publish` (`plan_id`): publishes every recorded result of
/// the plan within the jurisdiction.
pub async fn post_publish_plan(
    viewer: Viewer,
    State(state): State<AppState>,
    PageForm(f): PageForm<PublishPlanForm>,
) -> Result<Response, PageError> {
    let (scope, actor) = writer(&viewer)?;
    viewer.check_csrf(&f.csrf)?;
    let plan_id = parse_plan(&f.plan_id)?;
    let mut tx = state.db.begin().await?;
    store::publish_plan(&mut tx, &actor, &scope, plan_id).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/office/inspections/results?plan={plan_id}")).into_response())
}

// ----- follow-ups --------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct FollowupQuery {
    state: String,
    kind: String,
    area: String,
    before: String,
}

/// `GET /office/inspections/followups?state=open&kind=&area=&before=`.
pub async fn followups_page(
    viewer: Viewer,
    State(state): State<AppState>,
    PageQuery(q): PageQuery<FollowupQuery>,
) -> Result<Response, PageError> {
    let (scope, can_close) = reader(&viewer)?;
    let st = match q.state.trim() {
        "" | "open" => Some("open".to_string()),
        "closed" => Some("closed".to_string()),
        "all" => None,
        _ => {
            return Err(AppError::bad_request(
                "state",
                "状态应为 open、closed 或 all (the state is open, closed or all)",
            )
            .into());
        }
    };
    let kind = match q.kind.trim() {
        "" => None,
        k @ ("problem" | "not_found") => Some(k.to_string()),
        _ => {
            return Err(AppError::bad_request(
                "kind",
                "种类应为 problem 或 not_found (the kind is problem or not_found)",
            )
            .into());
        }
    };
    let area = parse_area(&q.area)?;
    let filter = Filter {
        state: st.clone(),
        kind: kind.clone(),
        area: Some(area.clone()).filter(|a| !a.is_empty()),
        before: parse_before(Some(&q.before))?,
    };
    let items = followups::list(&state.db, &scope, &filter).await?;
    let next = (items.len() as i64 == followups::PAGE)
        .then(|| items.last().map(|f| f.id))
        .flatten();
    let names = visit::names(&state.db).await?;
    let rows: Vec<Value> = items
        .iter()
        .map(|f| json!({"f": f, "item_name": names.item(&f.item_code)}))
        .collect();
    let page = json!({
        "items": rows,
        "next": next,
        "can_close": can_close,
        "q": {"state": st.unwrap_or_else(|| "all".into()), "kind": kind, "area": area},
    });
    render(
        &state,
        &viewer,
        StatusCode::OK,
        "results/followups.html",
        page,
    )
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CloseForm {
    csrf: String,
    note: String,
    /// Where to go back to (`visit` returns to the visit page).
    back: String,
}

/// `POST /office/inspections/followups/{id}/close` (`note`).
pub async fn post_close_followup(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(id): Path<String>,
    PageForm(f): PageForm<CloseForm>,
) -> Result<Response, PageError> {
    let (scope, actor) = writer(&viewer)?;
    viewer.check_csrf(&f.csrf)?;
    let id = parse_id(&id)?;
    let mut tx = state.db.begin().await?;
    followups::close(&mut tx, &actor, &scope, id, &f.note).await?;
    tx.commit().await?;
    let back = match f.back.split_once('/') {
        Some((p, v)) if parse_id(p).is_ok() && parse_id(v).is_ok() => {
            visit_url(parse_id(p)?, parse_id(v)?)
        }
        _ => "/office/inspections/followups".to_string(),
    };
    Ok(Redirect::to(&back).into_response())
}
