//! The pages of inspection plans.
//!
//! Officers, within their jurisdiction (`read_records` to look, `manage_inspection_plans` to
//! change): `/office/inspections/plans` (list), `/office/inspections/plans/new`, and
//! `/office/inspections/plans/{id}`: a draft's editor, its tasks (with the live count of a
//! population expression, `?preview=`), the engine's joint-task proposals and the publish
//! button; a published plan's hashes, commitment and draw form; a drawn plan's report (with
//! an SVG chart) and its visits (`?filter=joint|unstaffed&after=N`, keyset paging).
//! Forms post to the same address's sub-paths and redirect back (post/redirect/get).
//!
//! Public: `/inspections/plans` and `/inspections/plans/{id}` (published and drawn plans).

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use amr_kernel::audit::Actor;
use amr_kernel::auth::{Permission, Scope};
use amr_kernel::error::AppError;
use amr_web::extract::{PageForm, PageQuery};
use amr_web::page::{PageError, Viewer, render};
use amr_web::{AppState, WebModule};

use super::api::{VisitsQuery, parse_id, public_visit, visit_page};
use super::model::{DRAFT, DRAWN, PlanInput, TaskInput};
use super::store::{self, PlanRecord};
use crate::draw::model::{Inspector, Report};
use crate::web::Deps;

/// The templates and texts of the plans.
pub fn module() -> WebModule {
    WebModule {
        name: "supervision.plans",
        templates: &[
            (
                "plans/list.html",
                include_str!("../../templates/plans/list.html"),
            ),
            (
                "plans/new.html",
                include_str!("../../templates/plans/new.html"),
            ),
            (
                "plans/detail.html",
                include_str!("../../templates/plans/detail.html"),
            ),
            (
                "plans/report.html",
                include_str!("../../templates/plans/report.html"),
            ),
            (
                "plans/visits.html",
                include_str!("../../templates/plans/visits.html"),
            ),
            (
                "plans/_frozen.html",
                include_str!("../../templates/plans/_frozen.html"),
            ),
            (
                "plans/_tasks.html",
                include_str!("../../templates/plans/_tasks.html"),
            ),
            (
                "plans/public.html",
                include_str!("../../templates/plans/public.html"),
            ),
            (
                "plans/public_detail.html",
                include_str!("../../templates/plans/public_detail.html"),
            ),
        ],
        zh: include_str!("../../locales/plans.zh.json"),
        en: include_str!("../../locales/plans.en.json"),
    }
}

pub fn routes(deps: Deps) -> Router<AppState> {
    let base = "/office/inspections/plans";
    Router::new()
        .route(base, get(list_page).post(post_create))
        .route(&format!("{base}/new"), get(new_page))
        .route(
            &format!("{base}/{{id}}"),
            get(detail_page).post(post_update),
        )
        .route(&format!("{base}/{{id}}/tasks"), post(post_task))
        .route(
            &format!("{base}/{{id}}/tasks/{{task}}/remove"),
            post(post_remove_task),
        )
        .route(&format!("{base}/{{id}}/join"), post(post_join))
        .route(&format!("{base}/{{id}}/publish"), post(post_publish))
        .route(&format!("{base}/{{id}}/draw"), post(post_draw))
        .route("/inspections/plans", get(public_list_page))
        .route("/inspections/plans/{id}", get(public_detail_page))
        .layer(Extension(deps))
}

struct Officer {
    scope: Scope,
    actor: Actor,
    can_write: bool,
}

fn officer(viewer: &Viewer) -> Result<Officer, PageError> {
    let session = viewer.require_login()?;
    let role = session.account.role();
    if !role.can(Permission::ReadRecords) {
        return Err(AppError::forbidden().into());
    }
    let actor = viewer.actor().ok_or(AppError::Unauthenticated)?;
    Ok(Officer {
        scope: session.account.scope(),
        actor,
        can_write: role.can(Permission::ManageInspectionPlans),
    })
}

fn writer(viewer: &Viewer, csrf: &str) -> Result<Officer, PageError> {
    let o = officer(viewer)?;
    if !o.can_write {
        return Err(AppError::forbidden().into());
    }
    viewer.check_csrf(csrf)?;
    Ok(o)
}

fn page_id(id: &str) -> Result<i64, PageError> {
    Ok(parse_id(id)?)
}

fn back(id: i64) -> Response {
    Redirect::to(&format!("/office/inspections/plans/{id}")).into_response()
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ListQuery {
    before: Option<String>,
}

fn before_of(q: &ListQuery) -> Result<Option<i64>, PageError> {
    amr_web::extract::parse_before(q.before.as_deref())
}

/// `GET /office/inspections/plans`.
pub async fn list_page(
    viewer: Viewer,
    State(state): State<AppState>,
    PageQuery(q): PageQuery<ListQuery>,
) -> Result<Response, PageError> {
    let o = officer(&viewer)?;
    let items = store::list(&state.db, &o.scope, false, before_of(&q)?).await?;
    let next = (items.len() as i64 == store::LIST_PAGE).then(|| items.last().map(|p| p.id));
    let page = json!({ "items": items, "next_before": next.flatten(), "can_write": o.can_write });
    render(&state, &viewer, StatusCode::OK, "plans/list.html", page)
}

/// `GET /office/inspections/plans/new`.
pub async fn new_page(
    viewer: Viewer,
    State(state): State<AppState>,
) -> Result<Response, PageError> {
    let o = officer(&viewer)?;
    if !o.can_write {
        return Err(AppError::forbidden().into());
    }
    let scope = o.scope.as_prefix().unwrap_or_default().to_string();
    let input = PlanInput::defaults(&scope, state.config.today());
    render(
        &state,
        &viewer,
        StatusCode::OK,
        "plans/new.html",
        json!({ "input": input }),
    )
}

#[derive(Debug, Default, Deserialize)]
pub struct PlanForm {
    #[serde(default)]
    csrf: String,
    #[serde(flatten)]
    input: PlanInput,
}

/// `POST /office/inspections/plans`: creates a draft; to its page.
pub async fn post_create(
    viewer: Viewer,
    State(state): State<AppState>,
    PageForm(f): PageForm<PlanForm>,
) -> Result<Response, PageError> {
    let o = writer(&viewer, &f.csrf)?;
    let id = store::create(&state.db, &o.actor, &o.scope, &f.input).await?;
    Ok(back(id))
}

/// `POST /office/inspections/plans/{id}`: changes a draft's own fields.
pub async fn post_update(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(id): Path<String>,
    PageForm(f): PageForm<PlanForm>,
) -> Result<Response, PageError> {
    let o = writer(&viewer, &f.csrf)?;
    let id = page_id(&id)?;
    store::update(&state.db, &o.actor, &o.scope, id, &f.input).await?;
    Ok(back(id))
}

#[derive(Debug, Default, Deserialize)]
pub struct TaskForm {
    #[serde(default)]
    csrf: String,
    #[serde(flatten)]
    input: TaskInput,
}

/// `POST /office/inspections/plans/{id}/tasks`: adds or replaces a task.
pub async fn post_task(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(id): Path<String>,
    PageForm(f): PageForm<TaskForm>,
) -> Result<Response, PageError> {
    let o = writer(&viewer, &f.csrf)?;
    let id = page_id(&id)?;
    store::save_task(&state.db, &o.actor, &o.scope, id, &f.input).await?;
    Ok(back(id))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CsrfForm {
    csrf: String,
}

/// `POST /office/inspections/plans/{id}/tasks/{task}/remove`.
pub async fn post_remove_task(
    viewer: Viewer,
    State(state): State<AppState>,
    Path((id, task)): Path<(String, String)>,
    PageForm(f): PageForm<CsrfForm>,
) -> Result<Response, PageError> {
    let o = writer(&viewer, &f.csrf)?;
    let id = page_id(&id)?;
    store::remove_task(&state.db, &o.actor, &o.scope, id, &task).await?;
    Ok(back(id))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct JoinForm {
    csrf: String,
    from: String,
    into: String,
}

/// `POST /office/inspections/plans/{id}/join`: one task's department joins another task.
pub async fn post_join(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(id): Path<String>,
    PageForm(f): PageForm<JoinForm>,
) -> Result<Response, PageError> {
    let o = writer(&viewer, &f.csrf)?;
    let id = page_id(&id)?;
    store::join_task(
        &state.db,
        &o.actor,
        &o.scope,
        id,
        f.from.trim(),
        f.into.trim(),
    )
    .await?;
    Ok(back(id))
}

/// `POST /office/inspections/plans/{id}/publish`.
pub async fn post_publish(
    viewer: Viewer,
    State(state): State<AppState>,
    Extension(deps): Extension<Deps>,
    Path(id): Path<String>,
    PageForm(f): PageForm<CsrfForm>,
) -> Result<Response, PageError> {
    let o = writer(&viewer, &f.csrf)?;
    let id = page_id(&id)?;
    store::publish(
        &state.db,
        deps.registry.as_ref(),
        &o.actor,
        &o.scope,
        id,
        &mut |_| {},
    )
    .await?;
    Ok(back(id))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct DrawForm {
    csrf: String,
    public_value: String,
}

/// `POST /office/inspections/plans/{id}/draw`.
pub async fn post_draw(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(id): Path<String>,
    PageForm(f): PageForm<DrawForm>,
) -> Result<Response, PageError> {
    let o = writer(&viewer, &f.csrf)?;
    let id = page_id(&id)?;
    store::draw(&state.db, &o.actor, &o.scope, id, &f.public_value).await?;
    Ok(back(id))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct DetailQuery {
    preview: Option<String>,
    proposals: Option<String>,
    filter: String,
    after: Option<String>,
}

/// Bars of the report chart: the joint ratio of the coordinated draw, of independent draws
/// and the maximum, 0–100 % over 300 px.
fn chart(r: &Report) -> Value {
    let bar = |key: &str, ratio: f64, y: i64| {
        json!({"key": key, "y": y, "w": (ratio.clamp(0.0, 1.0) * 300.0).round() as i64,
               "pct": format!("{:.1}%", ratio * 100.0)})
    };
    json!([
        bar("coordinated", r.coordinated.joint_ratio, 10),
        bar("independent", r.independent.joint_ratio, 40),
        bar("maximum", r.maximum.joint_ratio, 70),
    ])
}

/// The visits page of a drawn plan, with crews by name and certificate number.
async fn visits_view(
    state: &AppState,
    rec: &PlanRecord,
    q: &DetailQuery,
) -> Result<Value, AppError> {
    let p = visit_page(
        &VisitsQuery {
            filter: q.filter.clone(),
            after: q.after.clone(),
            limit: None,
        },
        50,
    )?;
    let items = store::visits(&state.db, rec.id, p.filter, p.after, p.limit).await?;
    let inspectors = store::inspectors(&state.db, rec.id).await?;
    let by_id: HashMap<String, &Inspector> = inspectors.iter().map(|i| (i.id.clone(), i)).collect();
    let next = (items.len() as i64 == p.limit).then(|| items.last().map(|v| v.no));
    let items: Vec<Value> = items.iter().map(|v| public_visit(v, &by_id)).collect();
    Ok(json!({
        "items": items,
        "filter": p.filter.as_str(),
        "after": p.after,
        "next_after": next.flatten(),
    }))
}

fn report_view(rec: &PlanRecord) -> Value {
    match &rec.report {
        Some(r) => json!({ "r": r, "chart": chart(r) }),
        None => Value::Null,
    }
}

/// `GET /office/inspections/plans/{id}`.
pub async fn detail_page(
    viewer: Viewer,
    State(state): State<AppState>,
    Extension(deps): Extension<Deps>,
    Path(id): Path<String>,
    PageQuery(q): PageQuery<DetailQuery>,
) -> Result<Response, PageError> {
    let o = officer(&viewer)?;
    let rec = store::get(&state.db, &o.scope, page_id(&id)?).await?;
    let mut page = json!({
        "p": rec,
        "algorithm": crate::draw::model::ALGORITHM,
        "can_write": o.can_write,
        "input": PlanInput::of(&rec.plan),
        "tasks": rec.plan.tasks.iter().map(TaskInput::of).collect::<Vec<_>>(),
    });
    if rec.state == DRAFT {
        let departments = crate::library::store::departments(&state.db).await?;
        let items = crate::library::items_for_draw(&state.db).await?;
        page["departments"] = json!(
            departments
                .iter()
                .map(|d| json!({"code": d.code, "name": d.name}))
                .collect::<Vec<_>>()
        );
        page["items"] = json!(items);
        if let Some(expr) = q.preview.as_deref() {
            page["preview"] =
                match store::preview(&state.db, deps.registry.as_ref(), &rec, expr).await {
                    Ok(c) => json!({"expr": expr, "by_class": c, "total": c.a + c.b + c.c + c.d}),
                    Err(e) => json!({"expr": expr, "error": e.public_message()}),
                };
        }
        // Proposals freeze the scope's current targets: computed when asked for.
        if q.proposals.is_some() {
            page["proposals"] =
                match store::proposals(&state.db, deps.registry.as_ref(), &rec).await {
                    Ok(p) => json!({ "items": p }),
                    Err(e) => json!({ "error": e.public_message() }),
                };
        }
    }
    if rec.state == DRAWN {
        page["report"] = report_view(&rec);
        page["visits"] = visits_view(&state, &rec, &q).await?;
    }
    render(&state, &viewer, StatusCode::OK, "plans/detail.html", page)
}

/// `GET /inspections/plans`: published and drawn plans.
pub async fn public_list_page(
    viewer: Viewer,
    State(state): State<AppState>,
    PageQuery(q): PageQuery<ListQuery>,
) -> Result<Response, PageError> {
    let items = store::list(&state.db, &Scope::all(), true, before_of(&q)?).await?;
    let next = (items.len() as i64 == store::LIST_PAGE).then(|| items.last().map(|p| p.id));
    let page = json!({ "items": items, "next_before": next.flatten() });
    render(&state, &viewer, StatusCode::OK, "plans/public.html", page)
}

/// `GET /inspections/plans/{id}`: the plan, its hashes and commitment; after the draw the
/// seed, secret, public value, report and visits.
pub async fn public_detail_page(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(id): Path<String>,
    PageQuery(q): PageQuery<DetailQuery>,
) -> Result<Response, PageError> {
    let rec = store::public_get(&state.db, page_id(&id)?).await?;
    let mut page = json!({ "p": rec.public_view(), "algorithm": crate::draw::model::ALGORITHM });
    if rec.state == DRAWN {
        page["report"] = report_view(&rec);
        page["visits"] = visits_view(&state, &rec, &q).await?;
    }
    render(
        &state,
        &viewer,
        StatusCode::OK,
        "plans/public_detail.html",
        page,
    )
}
