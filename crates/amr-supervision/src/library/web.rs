//! The routes of 一单两库.
//!
//! Officers (accounts that read records; writes need `manage_inspections`), within their
//! jurisdiction: `/office/inspections/library` (overview: counts and proportions by
//! department), `/office/inspections/library/items` (filters by department, domain and list;
//! CSV/XLSX import, multipart, at most 4 MB; retire), `/office/inspections/library/inspectors`
//! (filters by department and jurisdiction; expired certificates flagged; conflicts declared
//! and withdrawn; import), `/office/inspections/targets/{uscc}` (an entity's tags: stored
//! and derived by rule; attach and remove).
//! Public: `/inspections/items` and `GET /api/v1/inspections/items` — the published
//! random-inspection item list (随机抽查事项清单). JSON for officers under
//! `/api/v1/office/inspections/...`.

use axum::extract::{DefaultBodyLimit, Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use amr_kernel::audit::Actor;
use amr_kernel::auth::{Permission, Scope};
use amr_kernel::codes::uscc::Uscc;
use amr_kernel::error::AppError;
use amr_web::auth::ApiCaller;
use amr_web::error::ApiError;
use amr_web::extract::{PageForm, PageQuery, percent_encode};
use amr_web::page::{PageError, Viewer, render};
use amr_web::{AppState, WebModule};

use super::model::{parse_code, parse_jurisdiction};
use super::store::{self, InspectorFilter, ItemFilter};
use super::table;
use crate::targets::EntityFacts;
use crate::web::Deps;

/// Uploads at most this size.
const MAX_UPLOAD: usize = 4 * 1024 * 1024;
/// Rows of an uploaded file at most.
const MAX_ROWS: usize = 50_000;
/// Inspectors a page lists at most.
const PAGE_INSPECTORS: i64 = 500;

/// The templates and texts of the library.
pub fn module() -> WebModule {
    WebModule {
        name: "supervision.library",
        templates: &[
            (
                "library/overview.html",
                include_str!("../../templates/library/overview.html"),
            ),
            (
                "library/items.html",
                include_str!("../../templates/library/items.html"),
            ),
            (
                "library/inspectors.html",
                include_str!("../../templates/library/inspectors.html"),
            ),
            (
                "library/target.html",
                include_str!("../../templates/library/target.html"),
            ),
            (
                "library/import.html",
                include_str!("../../templates/library/import.html"),
            ),
            (
                "library/public.html",
                include_str!("../../templates/library/public.html"),
            ),
        ],
        zh: include_str!("../../locales/library.zh.json"),
        en: include_str!("../../locales/library.en.json"),
    }
}

/// The JSON routes.
pub fn api_routes(deps: Deps) -> Router<AppState> {
    Router::new()
        .route("/api/v1/inspections/items", get(api_public_items))
        .route("/api/v1/office/inspections/library", get(api_overview))
        .route("/api/v1/office/inspections/items", get(api_items))
        .route("/api/v1/office/inspections/inspectors", get(api_inspectors))
        .route("/api/v1/office/inspections/targets/{uscc}", get(api_target))
        .layer(Extension(deps))
}

/// The page routes.
pub fn page_routes(deps: Deps) -> Router<AppState> {
    let with_deps = Router::new()
        .route("/office/inspections/targets/{uscc}", get(target_page))
        .route("/office/inspections/targets/{uscc}/tags", post(post_attach))
        .route(
            "/office/inspections/targets/{uscc}/tags/remove",
            post(post_remove),
        )
        .route(
            "/office/inspections/library/inspectors/{id}/conflicts",
            post(post_conflict),
        )
        .route(
            "/office/inspections/library/inspectors/{id}/conflicts/withdraw",
            post(post_withdraw),
        )
        .layer(Extension(deps));
    Router::new()
        .route("/inspections/items", get(public_page))
        .route("/office/inspections/library", get(overview_page))
        .route("/office/inspections/library/items", get(items_page))
        .route(
            "/office/inspections/library/items/import",
            post(post_import_items).layer(DefaultBodyLimit::max(MAX_UPLOAD)),
        )
        .route(
            "/office/inspections/library/items/{code}/retire",
            post(post_retire_item),
        )
        .route(
            "/office/inspections/library/inspectors",
            get(inspectors_page),
        )
        .route(
            "/office/inspections/library/inspectors/import",
            post(post_import_inspectors).layer(DefaultBodyLimit::max(MAX_UPLOAD)),
        )
        .merge(with_deps)
}

// ----- helpers ----------------------------------------------------------------------------

/// An officer who reads records: scope and actor.
fn reader(viewer: &Viewer) -> Result<(Scope, Actor, bool), PageError> {
    let session = viewer.require_login()?;
    let role = session.account.role();
    if !role.can(Permission::ReadRecords) {
        return Err(AppError::forbidden().into());
    }
    let actor = viewer.actor().ok_or(AppError::Unauthenticated)?;
    Ok((
        session.account.scope(),
        actor,
        role.can(Permission::ManageInspections),
    ))
}

/// An officer who keeps the library.
fn keeper(viewer: &Viewer, csrf: &str) -> Result<(Scope, Actor), PageError> {
    let (scope, actor, manage) = reader(viewer)?;
    if !manage {
        return Err(AppError::forbidden().into());
    }
    viewer.check_csrf(csrf)?;
    Ok((scope, actor))
}

fn api_reader(c: &ApiCaller) -> Result<Scope, ApiError> {
    c.require(Permission::ReadRecords)?;
    Ok(c.scope.clone())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ItemQuery {
    department: String,
    domain: String,
    list: String,
    saved: String,
}

fn item_filter(q: &ItemQuery) -> Result<ItemFilter, AppError> {
    let opt = |field: &'static str, s: &str| -> Result<Option<String>, AppError> {
        match s.trim() {
            "" => Ok(None),
            v => parse_code(field, v)
                .map(Some)
                .map_err(|e| AppError::bad_request(e.field, e.message)),
        }
    };
    let list = match q.list.trim() {
        "" => None,
        l => Some(
            super::model::parse_list(l)
                .map_err(|e| AppError::bad_request(e.field, e.message))?
                .to_string(),
        ),
    };
    Ok(ItemFilter {
        department: opt("department", &q.department)?,
        domain: opt("domain", &q.domain)?,
        list,
        include_retired: false,
    })
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct InspectorQuery {
    department: String,
    jurisdiction: String,
    saved: String,
}

fn inspector_filter(q: &InspectorQuery) -> Result<InspectorFilter, AppError> {
    let department = match q.department.trim() {
        "" => None,
        v => Some(
            parse_code("department", v).map_err(|e| AppError::bad_request(e.field, e.message))?,
        ),
    };
    let jurisdiction = match q.jurisdiction.trim() {
        "" => None,
        v => Some(parse_jurisdiction(v).map_err(|e| AppError::bad_request(e.field, e.message))?),
    };
    Ok(InspectorFilter {
        department,
        jurisdiction,
        include_retired: false,
        limit: PAGE_INSPECTORS,
    })
}

fn parse_uscc(s: &str) -> Result<String, AppError> {
    Uscc::parse(s)
        .map(|u| u.as_str().to_string())
        .map_err(|_| AppError::NotFound)
}

/// The entity's facts from the registry, if within `scope` (else not found).
async fn entity_in(deps: &Deps, scope: &Scope, uscc: &str) -> Result<EntityFacts, AppError> {
    let uscc = parse_uscc(uscc)?;
    let e = deps.registry.get(&uscc).await?.ok_or(AppError::NotFound)?;
    if !scope.contains(Some(&e.division)) {
        return Err(AppError::NotFound);
    }
    Ok(e)
}

// ----- public -----------------------------------------------------------------------------

/// `GET /api/v1/inspections/items?department=&domain=&list=`: the published item list.
pub async fn api_public_items(
    State(state): State<AppState>,
    axum::extract::Query(q): axum::extract::Query<ItemQuery>,
) -> Result<Json<Value>, ApiError> {
    let items = store::items(&state.db, &item_filter(&q)?).await?;
    Ok(Json(json!({ "total": items.len(), "items": items })))
}

/// `GET /inspections/items`: the published item list, by department.
pub async fn public_page(
    viewer: Viewer,
    State(state): State<AppState>,
    PageQuery(q): PageQuery<ItemQuery>,
) -> Result<Response, PageError> {
    let filter = item_filter(&q)?;
    let items = store::items(&state.db, &filter).await?;
    let departments = store::departments(&state.db).await?;
    let domains = store::domains(&state.db).await?;
    let page = json!({
        "items": items,
        "departments": departments,
        "domains": domains,
        "q": {"department": q.department.trim(), "list": q.list.trim(), "domain": q.domain.trim()},
    });
    render(&state, &viewer, StatusCode::OK, "library/public.html", page)
}

// ----- officers: pages --------------------------------------------------------------------

/// `GET /office/inspections/library`: counts and proportions.
pub async fn overview_page(
    viewer: Viewer,
    State(state): State<AppState>,
) -> Result<Response, PageError> {
    let (scope, _, manage) = reader(&viewer)?;
    let counts = store::counts(&state.db, &scope, state.config.today()).await?;
    let departments = store::department_summaries(&state.db, &scope).await?;
    let per = |a: i64, b: i64| {
        if b == 0 {
            0.0
        } else {
            (a as f64 / b as f64 * 100.0).round() / 100.0
        }
    };
    let key_share = if counts.items == 0 {
        0.0
    } else {
        (counts.key_items as f64 * 1000.0 / counts.items as f64).round() / 10.0
    };
    let page = json!({
        "counts": counts,
        "departments": departments,
        "domains_per_department": per(counts.domains, counts.departments),
        "items_per_domain": per(counts.items, counts.domains),
        "key_share": key_share,
        "manage": manage,
    });
    render(
        &state,
        &viewer,
        StatusCode::OK,
        "library/overview.html",
        page,
    )
}

/// `GET /office/inspections/library/items`: the list with filters and the import form.
pub async fn items_page(
    viewer: Viewer,
    State(state): State<AppState>,
    PageQuery(q): PageQuery<ItemQuery>,
) -> Result<Response, PageError> {
    let (_, _, manage) = reader(&viewer)?;
    let filter = item_filter(&q)?;
    let items = store::items(&state.db, &filter).await?;
    let page = json!({
        "items": items,
        "departments": store::departments(&state.db).await?,
        "domains": store::domains(&state.db).await?,
        "q": {"department": q.department.trim(), "domain": q.domain.trim(), "list": q.list.trim()},
        "saved": Some(q.saved.trim()).filter(|s| !s.is_empty()),
        "manage": manage,
    });
    render(&state, &viewer, StatusCode::OK, "library/items.html", page)
}

/// `GET /office/inspections/library/inspectors`: inspectors overlapping the jurisdiction.
pub async fn inspectors_page(
    viewer: Viewer,
    State(state): State<AppState>,
    PageQuery(q): PageQuery<InspectorQuery>,
) -> Result<Response, PageError> {
    let (scope, _, manage) = reader(&viewer)?;
    let filter = inspector_filter(&q)?;
    let list = store::inspectors(&state.db, &scope, &filter, state.config.today()).await?;
    let page = json!({
        "inspectors": list,
        "limit": PAGE_INSPECTORS,
        "departments": store::departments(&state.db).await?,
        "q": {"department": q.department.trim(), "jurisdiction": q.jurisdiction.trim()},
        "saved": Some(q.saved.trim()).filter(|s| !s.is_empty()),
        "jurisdiction": scope.as_prefix().unwrap_or_default(),
        "manage": manage,
    });
    render(
        &state,
        &viewer,
        StatusCode::OK,
        "library/inspectors.html",
        page,
    )
}

/// `GET /office/inspections/targets/{uscc}`: an entity's tags.
pub async fn target_page(
    viewer: Viewer,
    State(state): State<AppState>,
    Extension(deps): Extension<Deps>,
    Path(uscc): Path<String>,
) -> Result<Response, PageError> {
    let (scope, _, manage) = reader(&viewer)?;
    let e = entity_in(&deps, &scope, &uscc).await?;
    let tags = store::tags_of(&state.db, &scope, &e.uscc).await?;
    let derived = super::rules::derived_tags(&e.industry, &e.entity_type);
    let page = json!({"entity": e, "tags": tags, "derived": derived, "manage": manage});
    render(&state, &viewer, StatusCode::OK, "library/target.html", page)
}

// ----- officers: writes -------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct TagForm {
    csrf: String,
    tag: String,
}

/// `POST /office/inspections/targets/{uscc}/tags`: attaches a tag.
pub async fn post_attach(
    viewer: Viewer,
    State(state): State<AppState>,
    Extension(deps): Extension<Deps>,
    Path(uscc): Path<String>,
    PageForm(f): PageForm<TagForm>,
) -> Result<Response, PageError> {
    let (scope, actor) = keeper(&viewer, &f.csrf)?;
    let e = entity_in(&deps, &scope, &uscc).await?;
    let mut tx = state.db.begin().await?;
    store::attach_tag(&mut tx, &actor, &scope, &e, &f.tag, "officer").await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/office/inspections/targets/{}", e.uscc)).into_response())
}

/// `POST /office/inspections/targets/{uscc}/tags/remove`: removes a tag.
pub async fn post_remove(
    viewer: Viewer,
    State(state): State<AppState>,
    Extension(deps): Extension<Deps>,
    Path(uscc): Path<String>,
    PageForm(f): PageForm<TagForm>,
) -> Result<Response, PageError> {
    let (scope, actor) = keeper(&viewer, &f.csrf)?;
    let e = entity_in(&deps, &scope, &uscc).await?;
    let mut tx = state.db.begin().await?;
    store::remove_tag(&mut tx, &actor, &scope, &e, &f.tag).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/office/inspections/targets/{}", e.uscc)).into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ConflictForm {
    csrf: String,
    uscc: String,
    reason: String,
}

fn inspectors_saved(id: &str) -> Response {
    Redirect::to(&format!(
        "/office/inspections/library/inspectors?saved={}",
        percent_encode(id)
    ))
    .into_response()
}

/// `POST /office/inspections/library/inspectors/{id}/conflicts`: declares a conflict.
pub async fn post_conflict(
    viewer: Viewer,
    State(state): State<AppState>,
    Extension(deps): Extension<Deps>,
    Path(id): Path<String>,
    PageForm(f): PageForm<ConflictForm>,
) -> Result<Response, PageError> {
    let (scope, actor) = keeper(&viewer, &f.csrf)?;
    let uscc = Uscc::parse(&f.uscc).map_err(|e| AppError::bad_request("uscc", e))?;
    // The entity must exist; it may lie anywhere the inspector may be sent.
    let e = deps
        .registry
        .get(uscc.as_str())
        .await?
        .ok_or_else(|| AppError::bad_request("uscc", "未找到该主体 (no such entity)"))?;
    let mut tx = state.db.begin().await?;
    store::declare_conflict(&mut tx, &actor, &scope, &id, &e, &f.reason).await?;
    tx.commit().await?;
    Ok(inspectors_saved(&id))
}

/// `POST /office/inspections/library/inspectors/{id}/conflicts/withdraw`.
pub async fn post_withdraw(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(id): Path<String>,
    PageForm(f): PageForm<ConflictForm>,
) -> Result<Response, PageError> {
    let (scope, actor) = keeper(&viewer, &f.csrf)?;
    let uscc = parse_uscc(&f.uscc)?;
    let mut tx = state.db.begin().await?;
    store::withdraw_conflict(&mut tx, &actor, &scope, &id, &uscc).await?;
    tx.commit().await?;
    Ok(inspectors_saved(&id))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CsrfForm {
    csrf: String,
}

/// `POST /office/inspections/library/items/{code}/retire`.
pub async fn post_retire_item(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(code): Path<String>,
    PageForm(f): PageForm<CsrfForm>,
) -> Result<Response, PageError> {
    let (scope, actor) = keeper(&viewer, &f.csrf)?;
    let mut tx = state.db.begin().await?;
    store::retire_item(&mut tx, &actor, &scope, &code).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!(
        "/office/inspections/library/items?saved={}",
        percent_encode(&code)
    ))
    .into_response())
}

fn upload_error(e: impl std::fmt::Display) -> PageError {
    AppError::bad_request(
        "file",
        format!(
            "上传内容无法读取（文件不超过 4 MB）(the upload could not be read; at most 4 MB): {e}"
        ),
    )
    .into()
}

/// The CSRF field and the file of a multipart upload.
async fn read_upload(
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<(String, String, Vec<u8>), PageError> {
    let mut multipart = multipart.map_err(upload_error)?;
    let (mut csrf, mut file) = (String::new(), None);
    while let Some(field) = multipart.next_field().await.map_err(upload_error)? {
        match field.name().unwrap_or_default() {
            "csrf" => csrf = field.text().await.map_err(upload_error)?,
            "file" => {
                let name = field.file_name().unwrap_or("upload.csv").to_string();
                let bytes = field.bytes().await.map_err(upload_error)?;
                file = Some((name, bytes.to_vec()));
            }
            _ => {}
        }
    }
    let (name, bytes) = file.unwrap_or_default();
    Ok((csrf, name, bytes))
}

fn no_file() -> PageError {
    AppError::bad_request(
        "file",
        "请选择 CSV 或 XLSX 文件 (choose a CSV or XLSX file)",
    )
    .into()
}

/// `POST /office/inspections/library/items/import` (multipart `csrf`, `file`): all or nothing;
/// the page lists every refused row.
pub async fn post_import_items(
    viewer: Viewer,
    State(state): State<AppState>,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<Response, PageError> {
    reader(&viewer)?;
    let (csrf, name, bytes) = read_upload(multipart).await?;
    let (scope, actor) = keeper(&viewer, &csrf)?;
    if bytes.is_empty() {
        return Err(no_file());
    }
    let t = table::read(
        &name,
        &bytes,
        table::ITEM_COLUMNS,
        table::ITEM_REQUIRED,
        MAX_ROWS,
    )?;
    let report =
        store::import_items(&state.db, &actor, &scope, &format!("upload:{name}"), &t).await?;
    let status = if report.ok() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = json!({"file": name, "report": report, "kind": "items"});
    render(&state, &viewer, status, "library/import.html", page)
}

/// `POST /office/inspections/library/inspectors/import` (multipart `csrf`, `file`).
pub async fn post_import_inspectors(
    viewer: Viewer,
    State(state): State<AppState>,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<Response, PageError> {
    reader(&viewer)?;
    let (csrf, name, bytes) = read_upload(multipart).await?;
    let (scope, actor) = keeper(&viewer, &csrf)?;
    if bytes.is_empty() {
        return Err(no_file());
    }
    let t = table::read(
        &name,
        &bytes,
        table::INSPECTOR_COLUMNS,
        table::INSPECTOR_REQUIRED,
        MAX_ROWS,
    )?;
    let report =
        store::import_inspectors(&state.db, &actor, &scope, &format!("upload:{name}"), &t).await?;
    let status = if report.ok() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = json!({"file": name, "report": report, "kind": "inspectors"});
    render(&state, &viewer, status, "library/import.html", page)
}

// ----- officers: JSON ---------------------------------------------------------------------

/// `GET /api/v1/office/inspections/library`: the counts and the departments with theirs.
pub async fn api_overview(
    State(state): State<AppState>,
    caller: ApiCaller,
) -> Result<Json<Value>, ApiError> {
    let scope = api_reader(&caller)?;
    let counts = store::counts(&state.db, &scope, state.config.today()).await?;
    let departments = store::department_summaries(&state.db, &scope).await?;
    Ok(Json(json!({"counts": counts, "departments": departments})))
}

/// `GET /api/v1/office/inspections/items?department=&domain=&list=`.
pub async fn api_items(
    State(state): State<AppState>,
    caller: ApiCaller,
    axum::extract::Query(q): axum::extract::Query<ItemQuery>,
) -> Result<Json<Value>, ApiError> {
    api_reader(&caller)?;
    let mut filter = item_filter(&q)?;
    filter.include_retired = true;
    let items = store::items(&state.db, &filter).await?;
    Ok(Json(json!({"total": items.len(), "items": items})))
}

/// `GET /api/v1/office/inspections/inspectors?department=&jurisdiction=` (500 at most).
pub async fn api_inspectors(
    State(state): State<AppState>,
    caller: ApiCaller,
    axum::extract::Query(q): axum::extract::Query<InspectorQuery>,
) -> Result<Json<Value>, ApiError> {
    let scope = api_reader(&caller)?;
    let filter = inspector_filter(&q)?;
    let list = store::inspectors(&state.db, &scope, &filter, state.config.today()).await?;
    Ok(Json(json!({"items": list, "limit": PAGE_INSPECTORS})))
}

/// `GET /api/v1/office/inspections/targets/{uscc}`: stored and derived tags.
pub async fn api_target(
    State(state): State<AppState>,
    Extension(deps): Extension<Deps>,
    caller: ApiCaller,
    Path(uscc): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let scope = api_reader(&caller)?;
    let e = entity_in(&deps, &scope, &uscc).await?;
    let tags = store::tags_of(&state.db, &scope, &e.uscc).await?;
    let derived = super::rules::derived_tags(&e.industry, &e.entity_type);
    Ok(Json(
        json!({"uscc": e.uscc, "division": e.division, "tags": tags, "derived": derived}),
    ))
}
