//! The JSON API of inspection plans.
//!
//! Officers (a session with the CSRF header for writes, within their jurisdiction), under
//! `/api/v1/office/inspections/plans`: list and create (`GET`/`POST`), one plan (`GET`, `PUT`
//! its own fields), tasks (`POST …/tasks`, `DELETE …/tasks/{task}`), `POST …/join`,
//! `GET …/preview?population=`, `GET …/proposals`, `POST …/publish`, `POST …/draw`,
//! `GET …/visits?filter=&after=&limit=`. Reads need `read_records`, writes
//! `manage_inspection_plans`.
//!
//! Public: `GET /api/v1/inspections/plans`, `GET /api/v1/inspections/plans/{id}`,
//! `GET /api/v1/inspections/plans/{id}/visits` (inspectors by name and certificate number
//! only) and `GET /inspections/plans/{id}/bundle.json` (streamed).

use std::collections::HashMap;

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use amr_kernel::auth::{Permission, Scope};
use amr_kernel::error::AppError;
use amr_web::AppState;
use amr_web::auth::ApiCaller;
use amr_web::error::ApiError;

use super::bundle;
use super::model::{DRAWN, PlanInput, TaskInput};
use super::store::{self, VisitFilter, VisitRecord};
use crate::draw::model::Inspector;
use crate::web::Deps;

pub fn routes(deps: Deps) -> Router<AppState> {
    let base = "/api/v1/office/inspections/plans";
    Router::new()
        .route(base, get(office_list).post(office_create))
        .route(
            &format!("{base}/{{id}}"),
            get(office_get).put(office_update),
        )
        .route(&format!("{base}/{{id}}/tasks"), post(office_save_task))
        .route(
            &format!("{base}/{{id}}/tasks/{{task}}"),
            delete(office_remove_task),
        )
        .route(&format!("{base}/{{id}}/join"), post(office_join))
        .route(&format!("{base}/{{id}}/preview"), get(office_preview))
        .route(&format!("{base}/{{id}}/proposals"), get(office_proposals))
        .route(&format!("{base}/{{id}}/publish"), post(office_publish))
        .route(&format!("{base}/{{id}}/draw"), post(office_draw))
        .route(&format!("{base}/{{id}}/visits"), get(office_visits))
        .route("/api/v1/inspections/plans", get(public_list))
        .route("/api/v1/inspections/plans/{id}", get(public_get))
        .route("/api/v1/inspections/plans/{id}/visits", get(public_visits))
        .route("/inspections/plans/{id}/bundle.json", get(public_bundle))
        .layer(axum::Extension(deps))
}

fn body<T>(b: Result<Json<T>, JsonRejection>, shape: &str) -> Result<T, ApiError> {
    b.map(|Json(v)| v).map_err(|e| {
        AppError::bad_request(
            "body",
            format!(
                "请求体应为 JSON：{shape} (the body must be JSON {shape}): {}",
                e.body_text()
            ),
        )
        .into()
    })
}

pub(crate) fn parse_id(id: &str) -> Result<i64, AppError> {
    id.parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or(AppError::NotFound)
}

fn reader(c: &ApiCaller) -> Result<Scope, ApiError> {
    c.require(Permission::ReadRecords)?;
    Ok(c.scope.clone())
}

fn writer(c: &ApiCaller) -> Result<Scope, ApiError> {
    c.require(Permission::ManageInspectionPlans)?;
    Ok(c.scope.clone())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ListQuery {
    pub before: Option<String>,
}

fn parse_before(s: Option<&str>) -> Result<Option<i64>, AppError> {
    match s.map(str::trim) {
        None | Some("") => Ok(None),
        Some(s) => s
            .parse::<i64>()
            .ok()
            .filter(|n| *n > 0)
            .map(Some)
            .ok_or_else(|| {
                AppError::bad_request(
                    "before",
                    "before 须为正整数 (before must be a positive integer)",
                )
            }),
    }
}

async fn office_list(
    caller: ApiCaller,
    State(state): State<AppState>,
    Query(q): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let scope = reader(&caller)?;
    let items = store::list(&state.db, &scope, false, parse_before(q.before.as_deref())?).await?;
    Ok(Json(json!({ "items": items })))
}

async fn office_create(
    caller: ApiCaller,
    State(state): State<AppState>,
    req: Result<Json<PlanInput>, JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let scope = writer(&caller)?;
    let input = body(req, "{\"name\", \"period\", \"scope\", ...}")?;
    let id = store::create(&state.db, &caller.actor, &scope, &input).await?;
    let rec = store::get(&state.db, &scope, id).await?;
    Ok((StatusCode::CREATED, Json(json!(rec))))
}

async fn office_get(
    caller: ApiCaller,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let scope = reader(&caller)?;
    let rec = store::get(&state.db, &scope, parse_id(&id)?).await?;
    Ok(Json(json!(rec)))
}

async fn office_update(
    caller: ApiCaller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    req: Result<Json<PlanInput>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let scope = writer(&caller)?;
    let id = parse_id(&id)?;
    let input = body(req, "{\"name\", \"period\", \"scope\", ...}")?;
    let rec = store::update(&state.db, &caller.actor, &scope, id, &input).await?;
    Ok(Json(json!(rec)))
}

async fn office_save_task(
    caller: ApiCaller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    req: Result<Json<TaskInput>, JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let scope = writer(&caller)?;
    let id = parse_id(&id)?;
    let input = body(req, "{\"name\", \"department\", \"items\", ...}")?;
    let task = store::save_task(&state.db, &caller.actor, &scope, id, &input).await?;
    let rec = store::get(&state.db, &scope, id).await?;
    Ok((StatusCode::OK, Json(json!({ "task": task, "plan": rec }))))
}

async fn office_remove_task(
    caller: ApiCaller,
    State(state): State<AppState>,
    Path((id, task)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let scope = writer(&caller)?;
    let id = parse_id(&id)?;
    store::remove_task(&state.db, &caller.actor, &scope, id, &task).await?;
    Ok(Json(json!(store::get(&state.db, &scope, id).await?)))
}

#[derive(Debug, Deserialize)]
pub struct JoinBody {
    pub from: String,
    pub into: String,
}

async fn office_join(
    caller: ApiCaller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    req: Result<Json<JoinBody>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let scope = writer(&caller)?;
    let id = parse_id(&id)?;
    let b = body(req, "{\"from\": TASK, \"into\": TASK}")?;
    store::join_task(&state.db, &caller.actor, &scope, id, &b.from, &b.into).await?;
    Ok(Json(json!(store::get(&state.db, &scope, id).await?)))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PreviewQuery {
    pub population: String,
}

async fn office_preview(
    caller: ApiCaller,
    State(state): State<AppState>,
    axum::Extension(deps): axum::Extension<Deps>,
    Path(id): Path<String>,
    Query(q): Query<PreviewQuery>,
) -> Result<Json<Value>, ApiError> {
    let scope = reader(&caller)?;
    let rec = store::get(&state.db, &scope, parse_id(&id)?).await?;
    let counts = store::preview(&state.db, deps.registry.as_ref(), &rec, &q.population).await?;
    let total = counts.a + counts.b + counts.c + counts.d;
    Ok(Json(
        json!({ "population": q.population.trim(), "by_class": counts, "total": total }),
    ))
}

async fn office_proposals(
    caller: ApiCaller,
    State(state): State<AppState>,
    axum::Extension(deps): axum::Extension<Deps>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let scope = reader(&caller)?;
    let rec = store::get(&state.db, &scope, parse_id(&id)?).await?;
    let items = store::proposals(&state.db, deps.registry.as_ref(), &rec).await?;
    Ok(Json(json!({ "items": items })))
}

async fn office_publish(
    caller: ApiCaller,
    State(state): State<AppState>,
    axum::Extension(deps): axum::Extension<Deps>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let scope = writer(&caller)?;
    let rec = store::publish(
        &state.db,
        deps.registry.as_ref(),
        &caller.actor,
        &scope,
        parse_id(&id)?,
        &mut |_| {},
    )
    .await?;
    Ok(Json(json!(rec)))
}

#[derive(Debug, Default, Deserialize)]
pub struct DrawBody {
    #[serde(default)]
    pub public_value: String,
}

async fn office_draw(
    caller: ApiCaller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    req: Result<Json<DrawBody>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let scope = writer(&caller)?;
    let id = parse_id(&id)?;
    let b = body(req, "{\"public_value\": TEXT}")?;
    let rec = store::draw(&state.db, &caller.actor, &scope, id, &b.public_value).await?;
    Ok(Json(json!(rec)))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct VisitsQuery {
    pub filter: String,
    pub after: Option<String>,
    pub limit: Option<String>,
}

pub(crate) struct VisitPage {
    pub filter: VisitFilter,
    pub after: i64,
    pub limit: i64,
}

pub(crate) fn visit_page(q: &VisitsQuery, default_limit: i64) -> Result<VisitPage, AppError> {
    let filter = VisitFilter::parse(&q.filter)?;
    let after = match q.after.as_deref().map(str::trim) {
        None | Some("") => 0,
        Some(s) => s.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
            AppError::bad_request("after", "after 须为非负整数 (after must be a whole number)")
        })?,
    };
    let limit = match q.limit.as_deref().map(str::trim) {
        None | Some("") => default_limit,
        Some(s) => s
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=1000).contains(n))
            .ok_or_else(|| {
                AppError::bad_request("limit", "limit 应为 1 到 1000 (limit is 1 to 1000)")
            })?,
    };
    Ok(VisitPage {
        filter,
        after,
        limit,
    })
}

async fn office_visits(
    caller: ApiCaller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<VisitsQuery>,
) -> Result<Json<Value>, ApiError> {
    let scope = reader(&caller)?;
    let rec = store::get(&state.db, &scope, parse_id(&id)?).await?;
    let p = visit_page(&q, 100)?;
    let items = store::visits(&state.db, rec.id, p.filter, p.after, p.limit).await?;
    let next = (items.len() as i64 == p.limit)
        .then(|| items.last().map(|v| v.no))
        .flatten();
    Ok(Json(json!({ "items": items, "next_after": next })))
}

async fn public_list(
    State(state): State<AppState>,
    Query(q): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let items = store::list(
        &state.db,
        &Scope::all(),
        true,
        parse_before(q.before.as_deref())?,
    )
    .await?;
    Ok(Json(json!({ "items": items })))
}

async fn public_get(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let rec = store::public_get(&state.db, parse_id(&id)?).await?;
    Ok(Json(rec.public_view()))
}

/// A visit as the public sees it: each crew's inspectors by name and certificate number.
pub(crate) fn public_visit(v: &VisitRecord, by_id: &HashMap<String, &Inspector>) -> Value {
    let crews: Vec<Value> = v
        .crews
        .iter()
        .map(|c| {
            let people: Vec<Value> = c
                .inspectors
                .iter()
                .map(|id| match by_id.get(id) {
                    Some(i) => {
                        json!({"id": id, "name": i.name, "certificate_no": i.certificate_no})
                    }
                    None => json!({"id": id}),
                })
                .collect();
            json!({"department": c.department, "inspectors": people})
        })
        .collect();
    json!({
        "no": v.no,
        "uscc": v.uscc,
        "division": v.division,
        "tasks": v.tasks,
        "departments": v.departments,
        "joint": v.joint,
        "crews": crews,
        "unstaffed": v.unstaffed,
    })
}

async fn public_visits(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<VisitsQuery>,
) -> Result<Json<Value>, ApiError> {
    let rec = store::public_get(&state.db, parse_id(&id)?).await?;
    if rec.state != DRAWN {
        return Ok(Json(json!({ "items": [], "next_after": null })));
    }
    let p = visit_page(&q, 100)?;
    let items = store::visits(&state.db, rec.id, p.filter, p.after, p.limit).await?;
    let inspectors = store::inspectors(&state.db, rec.id).await?;
    let by_id: HashMap<String, &Inspector> = inspectors.iter().map(|i| (i.id.clone(), i)).collect();
    let next = (items.len() as i64 == p.limit)
        .then(|| items.last().map(|v| v.no))
        .flatten();
    let items: Vec<Value> = items.iter().map(|v| public_visit(v, &by_id)).collect();
    Ok(Json(json!({ "items": items, "next_after": next })))
}

async fn public_bundle(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let rec = store::public_get(&state.db, parse_id(&id)?).await?;
    if rec.state != DRAWN {
        return Err(AppError::NotFound.into());
    }
    let name = format!("inspection-plan-{}-bundle.json", rec.id);
    Ok((
        [
            (header::CONTENT_TYPE, "application/json".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        bundle::body(state.db.clone(), rec),
    )
        .into_response())
}
