//! The routes of 名特优新.
//!
//! Officers (accounts that read records, within their jurisdiction), under `/office/featured`:
//! the list (filters by type, status, area), the proposal form (`/new?uscc=`), a
//! classification with its checks and the confirm / reject / revoke forms (`/{id}`), a
//! business's types and support measures (`/entities/{uscc}`), statistics by type and city
//! with a bar chart (`/stats`), and the criteria (`/criteria`, administrators edit).
//! Public: `/featured` (statistics and the latest confirmed businesses),
//! `GET /api/v1/featured?type=&area=` and `GET /api/v1/featured/stats`.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use amr_kernel::audit::Actor;
use amr_kernel::auth::{Permission, Role, Scope};
use amr_kernel::codes::division::{Jurisdiction, divisions};
use amr_kernel::codes::uscc::Uscc;
use amr_kernel::error::AppError;
use amr_web::error::ApiError;
use amr_web::extract::{PageForm, PageQuery};
use amr_web::page::{PageError, Viewer, render};
use amr_web::{AppState, WebModule};

use super::model::{Evidence, FeaturedType};
use super::store::{self, ListFilter, ProposalInput, SupportInput};
use crate::model::OfficerEntity;

/// The templates and texts of 名特优新.
pub fn module() -> WebModule {
    WebModule {
        name: "registry.featured",
        templates: &[
            (
                "featured/list.html",
                include_str!("../../templates/featured/list.html"),
            ),
            (
                "featured/new.html",
                include_str!("../../templates/featured/new.html"),
            ),
            (
                "featured/detail.html",
                include_str!("../../templates/featured/detail.html"),
            ),
            (
                "featured/entity.html",
                include_str!("../../templates/featured/entity.html"),
            ),
            (
                "featured/stats.html",
                include_str!("../../templates/featured/stats.html"),
            ),
            (
                "featured/chart.html",
                include_str!("../../templates/featured/chart.html"),
            ),
            (
                "featured/criteria.html",
                include_str!("../../templates/featured/criteria.html"),
            ),
        ],
        zh: include_str!("../../locales/featured.zh.json"),
        en: include_str!("../../locales/featured.en.json"),
    }
}

/// The JSON routes (merged outside the page frame).
pub fn api_routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/featured", get(api_list))
        .route("/api/v1/featured/stats", get(api_stats))
}

/// The page routes (merged inside the page frame).
pub fn page_routes() -> Router<AppState> {
    Router::new()
        .route("/featured", get(public_page))
        .route("/office/featured", get(list_page).post(post_propose))
        .route("/office/featured/new", get(new_page))
        .route("/office/featured/stats", get(stats_page))
        .route(
            "/office/featured/criteria",
            get(criteria_page).post(post_criteria),
        )
        .route("/office/featured/entities/{uscc}", get(entity_page))
        .route(
            "/office/featured/entities/{uscc}/support",
            post(post_support),
        )
        .route("/office/featured/{id}", get(detail_page))
        .route("/office/featured/{id}/decide", post(post_decide))
        .route("/office/featured/{id}/revoke", post(post_revoke))
}

fn officer(viewer: &Viewer) -> Result<(Scope, Actor), PageError> {
    let session = viewer.require_login()?;
    if !session.account.role().can(Permission::ReadRecords) {
        return Err(AppError::forbidden().into());
    }
    let actor = viewer.actor().ok_or(AppError::Unauthenticated)?;
    Ok((session.account.scope(), actor))
}

fn parse_id(id: &str) -> Result<i64, PageError> {
    id.parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| PageError::from(AppError::NotFound))
}

fn parse_type(s: &str) -> Result<Option<FeaturedType>, AppError> {
    match s.trim() {
        "" => Ok(None),
        t => FeaturedType::parse(t).map(Some).ok_or_else(|| {
            AppError::bad_request(
                "type",
                "类型应为 famous、distinctive、quality 或 new (the type is famous, distinctive, quality or new)",
            )
        }),
    }
}

fn parse_area(s: &str) -> Result<String, AppError> {
    match s.trim() {
        "" => Ok(String::new()),
        a => Ok(Jurisdiction::parse(a)
            .map_err(|e| AppError::bad_request("area", e))?
            .prefix()
            .to_string()),
    }
}

fn types_json() -> Vec<Value> {
    FeaturedType::ALL
        .iter()
        .map(|t| json!({"key": t.as_str(), "name": t.name_zh()}))
        .collect()
}

fn city_name(code: &str) -> String {
    divisions()
        .get(code)
        .map(|d| d.name.to_string())
        .unwrap_or_else(|| code.to_string())
}

/// Statistics as a table (city × type) and the bars of an SVG chart.
fn stats_view(rows: &[store::StatRow]) -> Value {
    let mut by_city: BTreeMap<String, [i64; 4]> = BTreeMap::new();
    for r in rows {
        if let Some(t) = FeaturedType::parse(&r.featured_type) {
            by_city.entry(r.city.clone()).or_default()[t as usize] += r.count;
        }
    }
    let mut totals = [0i64; 4];
    for c in by_city.values() {
        for i in 0..4 {
            totals[i] += c[i];
        }
    }
    let max = by_city
        .values()
        .map(|c| c.iter().sum::<i64>())
        .max()
        .unwrap_or(0)
        .max(1);
    const LABEL: i64 = 90;
    const WIDTH: i64 = 420;
    const ROW: i64 = 26;
    let mut bars = Vec::new();
    for (i, (city, counts)) in by_city.iter().enumerate() {
        let mut x = LABEL;
        let mut segments = Vec::new();
        for (t, n) in FeaturedType::ALL.iter().zip(counts) {
            if *n == 0 {
                continue;
            }
            let w = (n * WIDTH / max).max(1);
            segments.push(json!({"x": x, "w": w, "type": t.as_str(), "count": n}));
            x += w;
        }
        bars.push(json!({
            "y": 10 + i as i64 * ROW,
            "label": city_name(city),
            "total": counts.iter().sum::<i64>(),
            "end": x + 6,
            "segments": segments,
        }));
    }
    let table: Vec<Value> = by_city
        .iter()
        .map(|(city, c)| {
            json!({"city": city, "name": city_name(city), "counts": c, "total": c.iter().sum::<i64>()})
        })
        .collect();
    json!({
        "table": table,
        "totals": totals,
        "total": totals.iter().sum::<i64>(),
        "chart": {
            "width": LABEL + WIDTH + 60,
            "height": 40 + by_city.len() as i64 * ROW,
            "legend_y": 20 + by_city.len() as i64 * ROW,
            "bars": bars,
        },
        "types": types_json(),
    })
}

// ----- public -----------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PublicQuery {
    #[serde(rename = "type")]
    featured_type: String,
    area: String,
}

/// `GET /api/v1/featured?type=famous&area=3701`: confirmed businesses, newest first (500 at
/// most).
pub async fn api_list(
    State(state): State<AppState>,
    axum::extract::Query(q): axum::extract::Query<PublicQuery>,
) -> Result<Json<Value>, ApiError> {
    let t = parse_type(&q.featured_type)?;
    let area = parse_area(&q.area)?;
    let items = store::public_list(&state.db, t, &area, 500).await?;
    Ok(Json(json!({ "items": items })))
}

/// `GET /api/v1/featured/stats`: confirmed classifications by city and type.
pub async fn api_stats(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let rows = store::stats(&state.db, &Scope::all()).await?;
    Ok(Json(json!({ "items": rows })))
}

/// `GET /featured`: the public statistics and the latest confirmed businesses.
pub async fn public_page(
    viewer: Viewer,
    State(state): State<AppState>,
    PageQuery(q): PageQuery<PublicQuery>,
) -> Result<Response, PageError> {
    let t = parse_type(&q.featured_type)?;
    let area = parse_area(&q.area)?;
    let rows = store::stats(&state.db, &Scope::all()).await?;
    let items = store::public_list(&state.db, t, &area, 100).await?;
    let page = json!({
        "stats": stats_view(&rows),
        "items": items,
        "q": {"type": q.featured_type.trim(), "area": area},
        "public": true,
    });
    render(&state, &viewer, StatusCode::OK, "featured/stats.html", page)
}

// ----- officers ---------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ListQuery {
    #[serde(rename = "type")]
    featured_type: String,
    status: String,
    area: String,
    uscc: String,
}

/// `GET /office/featured`: the classifications of the jurisdiction.
pub async fn list_page(
    viewer: Viewer,
    State(state): State<AppState>,
    PageQuery(q): PageQuery<ListQuery>,
) -> Result<Response, PageError> {
    let (scope, _) = officer(&viewer)?;
    let status = match q.status.trim() {
        "" => None,
        s @ ("proposed" | "confirmed" | "rejected" | "revoked") => Some(s.to_string()),
        _ => {
            return Err(AppError::bad_request(
                "status",
                "状态应为 proposed、confirmed、rejected 或 revoked",
            )
            .into());
        }
    };
    let uscc = match q.uscc.trim() {
        "" => None,
        u => Some(
            Uscc::parse(u)
                .map_err(|e| AppError::bad_request("uscc", e))?
                .as_str()
                .to_string(),
        ),
    };
    let area = parse_area(&q.area)?;
    let filter = ListFilter {
        featured_type: parse_type(&q.featured_type)?,
        status,
        division_prefix: Some(area.clone()).filter(|a| !a.is_empty()),
        uscc,
    };
    let items = store::list(&state.db, &scope, &filter).await?;
    let page = json!({
        "items": items,
        "q": {"type": q.featured_type.trim(), "status": q.status.trim(), "area": area, "uscc": q.uscc.trim()},
        "types": types_json(),
        "statuses": ["proposed", "confirmed", "rejected", "revoked"],
    });
    render(&state, &viewer, StatusCode::OK, "featured/list.html", page)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct NewQuery {
    uscc: String,
}

/// `GET /office/featured/new?uscc=...`: the proposal form for a business, with the criteria.
pub async fn new_page(
    viewer: Viewer,
    State(state): State<AppState>,
    PageQuery(q): PageQuery<NewQuery>,
) -> Result<Response, PageError> {
    let (scope, _) = officer(&viewer)?;
    let uscc = Uscc::parse(&q.uscc).map_err(|e| AppError::bad_request("uscc", e))?;
    let entity = crate::store::get_scoped(&state.db, &scope, uscc.as_str()).await?;
    let criteria = store::criteria(&state.db).await?;
    let page = json!({
        "entity": OfficerEntity::from(&entity),
        "criteria": criteria,
        "types": types_json(),
        "slots": [1, 2, 3],
    });
    render(&state, &viewer, StatusCode::OK, "featured/new.html", page)
}

/// The proposal form: three evidence slots.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ProposeForm {
    csrf: String,
    uscc: String,
    featured_type: String,
    reasons: String,
    complaints_12m: String,
    evidence_kind_1: String,
    evidence_text_1: String,
    evidence_kind_2: String,
    evidence_text_2: String,
    evidence_kind_3: String,
    evidence_text_3: String,
}

/// `POST /office/featured`: proposes a classification; to its page.
pub async fn post_propose(
    viewer: Viewer,
    State(state): State<AppState>,
    PageForm(f): PageForm<ProposeForm>,
) -> Result<Response, PageError> {
    let (scope, actor) = officer(&viewer)?;
    viewer.check_csrf(&f.csrf)?;
    let ev = |k: &str, t: &str| Evidence {
        kind: k.to_string(),
        text: t.to_string(),
    };
    let input = ProposalInput {
        uscc: f.uscc,
        featured_type: f.featured_type,
        reasons: f.reasons,
        complaints_12m: f.complaints_12m,
        evidence: vec![
            ev(&f.evidence_kind_1, &f.evidence_text_1),
            ev(&f.evidence_kind_2, &f.evidence_text_2),
            ev(&f.evidence_kind_3, &f.evidence_text_3),
        ],
    };
    let criteria = store::criteria(&state.db).await?;
    let mut tx = state.db.begin().await?;
    let c = store::propose(
        &mut tx,
        &actor,
        &scope,
        &criteria,
        &input,
        state.config.today(),
    )
    .await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/office/featured/{}", c.id)).into_response())
}

/// `GET /office/featured/{id}`: a classification, its checks and the decision forms.
pub async fn detail_page(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let (scope, actor) = officer(&viewer)?;
    let c = store::get(&state.db, &scope, parse_id(&id)?).await?;
    let criteria = store::criteria(&state.db).await?;
    let own = c.proposed_by == actor.label();
    let page = json!({ "c": c, "own": own, "evidence_names": criteria.evidence });
    render(
        &state,
        &viewer,
        StatusCode::OK,
        "featured/detail.html",
        page,
    )
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct DecideForm {
    csrf: String,
    decision: String,
    note: String,
}

/// `POST /office/featured/{id}/decide` (`decision` = confirm | reject).
pub async fn post_decide(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(id): Path<String>,
    PageForm(f): PageForm<DecideForm>,
) -> Result<Response, PageError> {
    let (scope, actor) = officer(&viewer)?;
    viewer.check_csrf(&f.csrf)?;
    let id = parse_id(&id)?;
    let confirm = match f.decision.trim() {
        "confirm" => true,
        "reject" => false,
        _ => {
            return Err(AppError::bad_request(
                "decision",
                "审核结果应为 confirm 或 reject (the decision is confirm or reject)",
            )
            .into());
        }
    };
    let criteria = store::criteria(&state.db).await?;
    let mut tx = state.db.begin().await?;
    store::decide(
        &mut tx,
        &actor,
        &scope,
        &criteria,
        id,
        confirm,
        &f.note,
        state.config.today(),
    )
    .await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/office/featured/{id}")).into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ReasonForm {
    csrf: String,
    reason: String,
}

/// `POST /office/featured/{id}/revoke`.
pub async fn post_revoke(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(id): Path<String>,
    PageForm(f): PageForm<ReasonForm>,
) -> Result<Response, PageError> {
    let (scope, actor) = officer(&viewer)?;
    viewer.check_csrf(&f.csrf)?;
    let id = parse_id(&id)?;
    let mut tx = state.db.begin().await?;
    store::revoke(&mut tx, &actor, &scope, id, &f.reason).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/office/featured/{id}")).into_response())
}

/// `GET /office/featured/entities/{uscc}`: a business's classifications and support.
pub async fn entity_page(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(uscc): Path<String>,
) -> Result<Response, PageError> {
    let (scope, _) = officer(&viewer)?;
    let uscc = Uscc::parse(&uscc).map_err(|_| AppError::NotFound)?;
    let entity = crate::store::get_scoped(&state.db, &scope, uscc.as_str()).await?;
    let filter = ListFilter {
        uscc: Some(entity.uscc.clone()),
        ..ListFilter::default()
    };
    let items = store::list(&state.db, &scope, &filter).await?;
    let support = store::support_of(&state.db, &scope, &entity.uscc).await?;
    let kinds: Vec<Value> = store::SUPPORT_KINDS
        .iter()
        .map(|(k, n)| json!({"key": k, "name": n}))
        .collect();
    let total_fen: i64 = support.iter().filter_map(|s| s.amount_fen).sum();
    let page = json!({
        "entity": OfficerEntity::from(&entity),
        "items": items,
        "support": support,
        "support_total_yuan": format!("{}.{:02}", total_fen / 100, total_fen % 100),
        "kinds": kinds,
        "today": state.config.today().to_string(),
    });
    render(
        &state,
        &viewer,
        StatusCode::OK,
        "featured/entity.html",
        page,
    )
}

#[derive(Debug, Default, Deserialize)]
pub struct SupportForm {
    #[serde(default)]
    csrf: String,
    #[serde(flatten)]
    input: SupportInput,
}

/// `POST /office/featured/entities/{uscc}/support`: records a support measure.
pub async fn post_support(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(uscc): Path<String>,
    PageForm(f): PageForm<SupportForm>,
) -> Result<Response, PageError> {
    let (scope, actor) = officer(&viewer)?;
    viewer.check_csrf(&f.csrf)?;
    let uscc = Uscc::parse(&uscc).map_err(|_| AppError::NotFound)?;
    let mut tx = state.db.begin().await?;
    store::add_support(
        &mut tx,
        &actor,
        &scope,
        uscc.as_str(),
        &f.input,
        state.config.today(),
    )
    .await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/office/featured/entities/{}", uscc.as_str())).into_response())
}

/// `GET /office/featured/stats`: confirmed classifications of the jurisdiction by city and
/// type, as a table and an SVG bar chart.
pub async fn stats_page(
    viewer: Viewer,
    State(state): State<AppState>,
) -> Result<Response, PageError> {
    let (scope, _) = officer(&viewer)?;
    let rows = store::stats(&state.db, &scope).await?;
    let page = json!({ "stats": stats_view(&rows), "items": [], "public": false, "q": {} });
    render(&state, &viewer, StatusCode::OK, "featured/stats.html", page)
}

/// `GET /office/featured/criteria`: the criteria in force; administrators get the editor.
pub async fn criteria_page(
    viewer: Viewer,
    State(state): State<AppState>,
) -> Result<Response, PageError> {
    let session = viewer.require_login()?;
    if !session.account.role().can(Permission::ReadRecords) {
        return Err(AppError::forbidden().into());
    }
    let text = store::criteria_text(&state.db).await?;
    let criteria = super::model::Criteria::parse(&text.toml)?;
    let page = json!({
        "text": text,
        "criteria": criteria,
        "types": types_json(),
        "admin": session.account.role() == Role::Admin,
    });
    render(
        &state,
        &viewer,
        StatusCode::OK,
        "featured/criteria.html",
        page,
    )
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CriteriaForm {
    csrf: String,
    toml: String,
}

/// `POST /office/featured/criteria`: an administrator replaces the criteria.
pub async fn post_criteria(
    viewer: Viewer,
    State(state): State<AppState>,
    PageForm(f): PageForm<CriteriaForm>,
) -> Result<Response, PageError> {
    viewer.require_admin()?;
    viewer.check_csrf(&f.csrf)?;
    let actor = viewer.actor().ok_or(AppError::Unauthenticated)?;
    let mut tx = state.db.begin().await?;
    store::set_criteria(&mut tx, &actor, &f.toml.replace("\r\n", "\n")).await?;
    tx.commit().await?;
    Ok(Redirect::to("/office/featured/criteria").into_response())
}
