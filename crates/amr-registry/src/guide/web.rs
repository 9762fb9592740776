//! The guide's routes.
//!
//! Public: `GET /guide` (search and filters by stage and department), `GET /guide/{key}`,
//! `GET /api/v1/guide?q=&stage=&department=&key=` and `GET /api/v1/guide/{key}`.
//! Officers (accounts that read records, within their jurisdiction): `GET /office/guide`,
//! add (`POST /office/guide`), edit (`GET /office/guide/{key}/edit`, `POST /office/guide/{key}`),
//! retire (`POST /office/guide/{key}/retire`) and import a CSV or XLSX file
//! (`POST /office/guide/import`, multipart, at most 2 MB; larger files: `amr guide import`).

use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use amr_kernel::audit::Actor;
use amr_kernel::auth::{Permission, Scope};
use amr_kernel::error::AppError;
use amr_web::AppState;
use amr_web::WebModule;
use amr_web::error::ApiError;
use amr_web::extract::{PageForm, PageQuery, percent_encode};
use amr_web::page::{PageError, Viewer, render};

use super::model::{ItemInput, Stage};
use super::store::{self, GuideQuery};

/// The guide's templates and texts.
pub fn module() -> WebModule {
    WebModule {
        name: "registry.guide",
        templates: &[
            (
                "guide/guide.html",
                include_str!("../../templates/guide/guide.html"),
            ),
            (
                "guide/item.html",
                include_str!("../../templates/guide/item.html"),
            ),
            (
                "guide/office.html",
                include_str!("../../templates/guide/office.html"),
            ),
            (
                "guide/edit.html",
                include_str!("../../templates/guide/edit.html"),
            ),
            (
                "guide/import.html",
                include_str!("../../templates/guide/import.html"),
            ),
            (
                "guide/boxes.html",
                include_str!("../../templates/guide/boxes.html"),
            ),
        ],
        zh: include_str!("../../locales/guide.zh.json"),
        en: include_str!("../../locales/guide.en.json"),
    }
}

/// The JSON routes (merged outside the page frame).
pub fn api_routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/guide", get(api_search))
        .route("/api/v1/guide/{key}", get(api_item))
}

/// The page routes (merged inside the page frame).
pub fn page_routes() -> Router<AppState> {
    Router::new()
        .route("/guide", get(guide_page))
        .route("/guide/{key}", get(item_page))
        .route("/office/guide", get(office_page).post(post_add))
        .route("/office/guide/import", post(post_import))
        .route("/office/guide/{key}/edit", get(edit_page))
        .route("/office/guide/{key}", post(post_change))
        .route("/office/guide/{key}/retire", post(post_retire))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SearchParams {
    q: String,
    stage: String,
    department: String,
    /// Comma-separated item keys.
    key: String,
    saved: String,
}

fn query_of(p: &SearchParams) -> Result<GuideQuery, AppError> {
    let q = p.q.trim();
    if q.chars().count() > 100 {
        return Err(AppError::bad_request(
            "q",
            "搜索内容不超过 100 字 (at most 100 characters)",
        ));
    }
    let stage = match p.stage.trim() {
        "" => None,
        s => Some(Stage::parse(s).ok_or_else(|| {
            AppError::bad_request(
                "stage",
                "阶段应为 entry、permit、operation 或 exit (the stage is entry, permit, operation or exit)",
            )
        })?),
    };
    let department = Some(p.department.trim().to_string()).filter(|d| !d.is_empty());
    if department.as_ref().is_some_and(|d| d.chars().count() > 60) {
        return Err(AppError::bad_request(
            "department",
            "部门名称不超过 60 字 (at most 60 characters)",
        ));
    }
    let keys: Vec<String> = p
        .key
        .split(',')
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .map(str::to_string)
        .collect();
    if keys.len() > 200 || keys.iter().any(|k| !super::model::valid_key(k)) {
        return Err(AppError::bad_request(
            "key",
            "事项编码无效（逗号分隔，最多 200 个）(invalid item keys; comma-separated, at most 200)",
        ));
    }
    Ok(GuideQuery {
        q: q.to_string(),
        stage,
        department,
        keys,
        include_retired: false,
    })
}

/// `GET /api/v1/guide?q=食品经营&stage=permit&department=...&key=a,b`: the active items that
/// answer, best first (`{"items": [...], "total": n, "words": [...]}`).
pub async fn api_search(
    State(state): State<AppState>,
    axum::extract::Query(p): axum::extract::Query<SearchParams>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let query = query_of(&p)?;
    let items = store::search(&state.db, &query).await?;
    Ok(Json(json!({
        "total": items.len(),
        "words": store::query_words(&query.q),
        "items": items,
    })))
}

/// `GET /api/v1/guide/{key}`: one item (a retired one says so in `status`).
pub async fn api_item(
    State(state): State<AppState>,
    Path(key): Path<String>,
) -> Result<Json<super::GuideItem>, ApiError> {
    Ok(Json(store::get(&state.db, &key).await?))
}

fn stages() -> Vec<serde_json::Value> {
    Stage::ALL
        .iter()
        .map(|s| json!({"key": s.as_str(), "name": s.name_zh()}))
        .collect()
}

/// `GET /guide`: the public guide with search and filters.
pub async fn guide_page(
    viewer: Viewer,
    State(state): State<AppState>,
    PageQuery(p): PageQuery<SearchParams>,
) -> Result<Response, PageError> {
    let query = query_of(&p)?;
    let items = store::search(&state.db, &query).await?;
    let page = json!({
        "items": items,
        "q": {"q": p.q.trim(), "stage": p.stage.trim(), "department": p.department.trim()},
        "stages": stages(),
        "departments": store::departments(&state.db).await?,
    });
    render(&state, &viewer, StatusCode::OK, "guide/guide.html", page)
}

/// An item's materials, one a line (the catalogue separates them with `；`, `;` or lines).
fn materials_of(materials: &str) -> Vec<&str> {
    materials
        .split(['；', ';', '\n'])
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .collect()
}

/// The short boxes other pages show for the guide items that apply at a step (stage and
/// keys as [`store::applicable`]): key, name, time limit, materials (a list). Empty when the
/// catalogue has not been imported or the items are retired: the page then shows nothing.
/// Include `guide/boxes.html` with `guide_items` set to this.
pub async fn boxes(
    db: &amr_kernel::db::Db,
    stage: Option<Stage>,
    keys: &[&str],
) -> Result<Value, AppError> {
    let items = store::applicable(db, stage, keys).await?;
    Ok(Value::Array(
        items
            .iter()
            .map(|i| {
                json!({
                    "key": i.item_key,
                    "name": i.name,
                    "time_limit_days": i.time_limit_days,
                    "materials": materials_of(&i.materials),
                })
            })
            .collect(),
    ))
}

/// `GET /guide/{key}`: one item.
pub async fn item_page(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(key): Path<String>,
) -> Result<Response, PageError> {
    let item = store::get(&state.db, &key).await?;
    let materials = materials_of(&item.materials);
    render(
        &state,
        &viewer,
        StatusCode::OK,
        "guide/item.html",
        json!({ "item": item, "materials": materials }),
    )
}

/// The officer's scope and actor; 403 for roles that do not read records.
fn officer(viewer: &Viewer) -> Result<(Scope, Actor), PageError> {
    let session = viewer.require_login()?;
    if !session.account.role().can(Permission::ReadRecords) {
        return Err(AppError::forbidden().into());
    }
    let actor = viewer.actor().ok_or(AppError::Unauthenticated)?;
    Ok((session.account.scope(), actor))
}

/// `GET /office/guide`: every item, retired ones too, with the add and import forms.
pub async fn office_page(
    viewer: Viewer,
    State(state): State<AppState>,
    PageQuery(p): PageQuery<SearchParams>,
) -> Result<Response, PageError> {
    let (scope, _) = officer(&viewer)?;
    let mut query = query_of(&p)?;
    query.include_retired = true;
    let items = store::search(&state.db, &query).await?;
    let page = json!({
        "items": items,
        "q": {"q": p.q.trim(), "stage": p.stage.trim()},
        "stages": stages(),
        "jurisdiction": scope.as_prefix().unwrap_or_default(),
        "saved": Some(p.saved.trim()).filter(|s| !s.is_empty()),
        "form": ItemInput { division: scope.as_prefix().unwrap_or_default().to_string(), ..ItemInput::default() },
    });
    render(&state, &viewer, StatusCode::OK, "guide/office.html", page)
}

#[derive(Debug, Deserialize)]
pub struct ItemForm {
    #[serde(default)]
    csrf: String,
    #[serde(flatten)]
    input: ItemInput,
}

fn saved(key: &str) -> Response {
    Redirect::to(&format!("/office/guide?saved={}", percent_encode(key))).into_response()
}

/// `POST /office/guide`: adds an item.
pub async fn post_add(
    viewer: Viewer,
    State(state): State<AppState>,
    PageForm(f): PageForm<ItemForm>,
) -> Result<Response, PageError> {
    let (scope, actor) = officer(&viewer)?;
    viewer.check_csrf(&f.csrf)?;
    let mut tx = state.db.begin().await?;
    let item = store::add(&mut tx, &actor, &scope, &f.input).await?;
    tx.commit().await?;
    Ok(saved(&item.item_key))
}

/// `GET /office/guide/{key}/edit`: the edit and retire forms.
pub async fn edit_page(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(key): Path<String>,
) -> Result<Response, PageError> {
    officer(&viewer)?;
    let item = store::get(&state.db, &key).await?;
    let page = json!({ "form": item.to_input(), "item": item, "stages": stages() });
    render(&state, &viewer, StatusCode::OK, "guide/edit.html", page)
}

/// `POST /office/guide/{key}`: changes an item.
pub async fn post_change(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(key): Path<String>,
    PageForm(f): PageForm<ItemForm>,
) -> Result<Response, PageError> {
    let (scope, actor) = officer(&viewer)?;
    viewer.check_csrf(&f.csrf)?;
    let mut tx = state.db.begin().await?;
    let item = store::change(&mut tx, &actor, &scope, &key, &f.input).await?;
    tx.commit().await?;
    Ok(saved(&item.item_key))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RetireForm {
    csrf: String,
    reason: String,
}

/// `POST /office/guide/{key}/retire`: retires an item with a reason.
pub async fn post_retire(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(key): Path<String>,
    PageForm(f): PageForm<RetireForm>,
) -> Result<Response, PageError> {
    let (scope, actor) = officer(&viewer)?;
    viewer.check_csrf(&f.csrf)?;
    let mut tx = state.db.begin().await?;
    let item = store::retire(&mut tx, &actor, &scope, &key, &f.reason).await?;
    tx.commit().await?;
    Ok(saved(&item.item_key))
}

fn upload_error(e: impl std::fmt::Display) -> PageError {
    AppError::bad_request(
        "file",
        format!(
            "上传内容无法读取（文件不超过 2 MB）(the upload could not be read; at most 2 MB): {e}"
        ),
    )
    .into()
}

/// `POST /office/guide/import` (multipart: `csrf`, `division`, `file`): imports a CSV or
/// XLSX file; the page lists what went in and every refused row with its reason.
pub async fn post_import(
    viewer: Viewer,
    State(state): State<AppState>,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<Response, PageError> {
    let (scope, actor) = officer(&viewer)?;
    let mut multipart = multipart.map_err(upload_error)?;
    let (mut csrf, mut division, mut file) = (String::new(), String::new(), None);
    while let Some(field) = multipart.next_field().await.map_err(upload_error)? {
        match field.name().unwrap_or_default() {
            "csrf" => csrf = field.text().await.map_err(upload_error)?,
            "division" => division = field.text().await.map_err(upload_error)?,
            "file" => {
                let name = field.file_name().unwrap_or("upload.csv").to_string();
                let bytes = field.bytes().await.map_err(upload_error)?;
                file = Some((name, bytes));
            }
            _ => {}
        }
    }
    viewer.check_csrf(&csrf)?;
    let (name, bytes) = file.filter(|(_, b)| !b.is_empty()).ok_or_else(|| {
        AppError::bad_request(
            "file",
            "请选择 CSV 或 XLSX 文件 (choose a CSV or XLSX file)",
        )
    })?;
    let default = match division.trim() {
        "" => scope.as_prefix().unwrap_or_default().to_string(),
        d => d.to_string(),
    };
    let rows = super::table::read(&name, &bytes)?;
    let report = store::import(
        &state.db,
        &actor,
        &scope,
        &default,
        &format!("upload:{name}"),
        &rows,
    )
    .await?;
    let page = json!({ "file": name, "report": report });
    render(&state, &viewer, StatusCode::OK, "guide/import.html", page)
}
