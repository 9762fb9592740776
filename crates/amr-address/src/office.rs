//! The back-office pages of the address service, for officers (accounts that read records),
//! within their jurisdiction:
//!
//! - `/office/addresses/check`: enter an address, see the parse, the library match (or the
//!   nearest entries), the negative-list result and the risk counts; record a commitment.
//! - `/office/addresses/library`: search a city's library, add and retire entries, import CSV.
//! - `/office/addresses/rules`: the negative list; add a rule, end one.
//! - `/office/addresses/risk?city=3701`: a city's riskiest addresses and the review queue;
//!   review, clear, declare cluster-registration addresses; administrators set the threshold.
//! - `/office/addresses/commitments`: the verification queue of commitments.
//!
//! Forms post, redirect and get; every form carries the session's CSRF token. Bad input is an
//! error page with the reason in Chinese first, and nothing is written.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use amr_kernel::audit::Actor;
use amr_kernel::auth::{Permission, Role, Scope};
use amr_kernel::error::AppError;
use amr_web::AppState;
use amr_web::extract::{PageForm, PageQuery, percent_encode};
use amr_web::page::{PageError, Viewer, render};

use crate::check::{self, CheckRequest};
use crate::commitment::{self, CommitmentInput};
use crate::library;
use crate::risk;
use crate::rules::{self, ADDRESS_TYPES, RuleInput, RuleKind};

/// The page routes (the server merges them inside the page frame).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/office/addresses/check", get(get_check))
        .route(
            "/office/addresses/commitments",
            get(get_commitments).post(post_commitment),
        )
        .route(
            "/office/addresses/commitments/{id}/verify",
            post(post_verify),
        )
        .route(
            "/office/addresses/library",
            get(get_library).post(post_library),
        )
        .route("/office/addresses/library/import", post(post_import))
        .route("/office/addresses/library/{id}/retire", post(post_retire))
        .route("/office/addresses/rules", get(get_rules).post(post_rule))
        .route("/office/addresses/rules/{id}/end", post(post_end_rule))
        .route("/office/addresses/risk", get(get_risk))
        .route("/office/addresses/risk/review", post(post_review))
        .route("/office/addresses/risk/cluster", post(post_cluster))
        .route("/office/addresses/risk/threshold", post(post_threshold))
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

/// The city a page shows: the one asked for, else the officer's own (when the jurisdiction
/// is a city or deeper).
fn city_of(asked: &str, scope: &Scope) -> Result<Option<String>, AppError> {
    match asked.trim() {
        "" => Ok(scope
            .as_prefix()
            .filter(|p| p.len() >= 4)
            .map(|p| p[..4].to_string())),
        c => library::parse_city(c).map(Some),
    }
}

fn parse_id(id: &str) -> Result<i64, PageError> {
    id.parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| PageError::from(AppError::NotFound))
}

fn see_other(to: String) -> Response {
    Redirect::to(&to).into_response()
}

// ----- check -----------------------------------------------------------------------------

/// `GET /office/addresses/check?address=...&hint=...`: the form, and the verdict when an
/// address was given.
pub async fn get_check(
    viewer: Viewer,
    State(state): State<AppState>,
    PageQuery(q): PageQuery<CheckRequest>,
) -> Result<Response, PageError> {
    officer(&viewer)?;
    let verdict = if q.address.trim().is_empty() {
        None
    } else {
        Some(check::check(&state.db, &q, check::today()).await?)
    };
    let page = serde_json::json!({
        "q": q,
        "verdict": verdict,
        "types": ADDRESS_TYPES,
    });
    render(&state, &viewer, StatusCode::OK, "address/check.html", page)
}

#[derive(Debug, Deserialize)]
pub struct CommitForm {
    #[serde(default)]
    csrf: String,
    #[serde(flatten)]
    input: CommitmentInput,
}

/// `POST /office/addresses/commitments`: records the applicant's commitment for an address
/// the check sent to that path.
pub async fn post_commitment(
    viewer: Viewer,
    State(state): State<AppState>,
    PageForm(f): PageForm<CommitForm>,
) -> Result<Response, PageError> {
    let (_, actor) = officer(&viewer)?;
    viewer.check_csrf(&f.csrf)?;
    let c = crate::api::record_commitment(&state, &actor, &f.input).await?;
    Ok(see_other(format!(
        "/office/addresses/commitments?recorded={}",
        c.id
    )))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CommitmentsQuery {
    status: String,
    recorded: String,
}

/// `GET /office/addresses/commitments?status=pending`: the verification queue.
pub async fn get_commitments(
    viewer: Viewer,
    State(state): State<AppState>,
    PageQuery(q): PageQuery<CommitmentsQuery>,
) -> Result<Response, PageError> {
    let (scope, _) = officer(&viewer)?;
    let status = match q.status.trim() {
        "" => "pending",
        s @ ("pending" | "verified" | "false") => s,
        _ => {
            return Err(AppError::bad_request(
                "status",
                "状态应为 pending、verified 或 false (status is pending, verified or false)",
            )
            .into());
        }
    };
    let items = commitment::list(&state.db, &scope, status, 200).await?;
    let page = serde_json::json!({
        "items": items,
        "status": status,
        "recorded": q.recorded.trim().parse::<i64>().ok(),
    });
    render(
        &state,
        &viewer,
        StatusCode::OK,
        "address/commitments.html",
        page,
    )
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct VerifyForm {
    csrf: String,
    result: String,
    note: String,
}

/// `POST /office/addresses/commitments/{id}/verify`.
pub async fn post_verify(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(id): Path<String>,
    PageForm(f): PageForm<VerifyForm>,
) -> Result<Response, PageError> {
    let (scope, actor) = officer(&viewer)?;
    viewer.check_csrf(&f.csrf)?;
    let id = parse_id(&id)?;
    let mut tx = state.db.begin().await?;
    commitment::verify(&mut tx, &actor, &scope, id, &f.result, &f.note).await?;
    tx.commit().await?;
    Ok(see_other("/office/addresses/commitments".into()))
}

// ----- library ---------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct LibraryQuery {
    city: String,
    q: String,
    after: String,
}

/// `GET /office/addresses/library?city=3701&q=泉城路`: the city's active entries.
pub async fn get_library(
    viewer: Viewer,
    State(state): State<AppState>,
    PageQuery(q): PageQuery<LibraryQuery>,
) -> Result<Response, PageError> {
    let (scope, _) = officer(&viewer)?;
    let city = city_of(&q.city, &scope)?;
    let needle = q.q.trim();
    if needle.chars().count() > 50 {
        return Err(
            AppError::bad_request("q", "关键字不超过 50 字 (at most 50 characters)").into(),
        );
    }
    let after = q.after.trim().parse::<i64>().unwrap_or(0);
    let (items, total) = match &city {
        Some(c) => (
            library::search(&state.db, &scope, c, needle, after).await?,
            library::count_city(&state.db, c).await?,
        ),
        None => (Vec::new(), 0),
    };
    let next = (items.len() == 100)
        .then(|| items.last().map(|e| e.id))
        .flatten();
    let page = serde_json::json!({
        "city": city,
        "q": needle,
        "items": items,
        "total": total,
        "next": next,
        "types": ADDRESS_TYPES,
    });
    render(
        &state,
        &viewer,
        StatusCode::OK,
        "address/library.html",
        page,
    )
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct EntryForm {
    csrf: String,
    city: String,
    address: String,
    address_type: String,
}

/// `POST /office/addresses/library`: adds one entry.
pub async fn post_library(
    viewer: Viewer,
    State(state): State<AppState>,
    PageForm(f): PageForm<EntryForm>,
) -> Result<Response, PageError> {
    let (scope, actor) = officer(&viewer)?;
    viewer.check_csrf(&f.csrf)?;
    let city = library::parse_city(&f.city)?;
    let e = library::prepare(&city, &f.address, Some(&f.address_type))?;
    let mut tx = state.db.begin().await?;
    library::add(&mut tx, &actor, &scope, &e).await?;
    tx.commit().await?;
    Ok(see_other(format!(
        "/office/addresses/library?city={city}&q={}",
        percent_encode(&e.key.road)
    )))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RetireForm {
    csrf: String,
    reason: String,
}

/// `POST /office/addresses/library/{id}/retire`.
pub async fn post_retire(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(id): Path<String>,
    PageForm(f): PageForm<RetireForm>,
) -> Result<Response, PageError> {
    let (scope, actor) = officer(&viewer)?;
    viewer.check_csrf(&f.csrf)?;
    let id = parse_id(&id)?;
    let mut tx = state.db.begin().await?;
    let e = library::retire(&mut tx, &actor, &scope, id, &f.reason).await?;
    tx.commit().await?;
    Ok(see_other(format!(
        "/office/addresses/library?city={}",
        e.city
    )))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ImportForm {
    csrf: String,
    city: String,
    csv: String,
}

/// Longest CSV text the import form takes (bigger files: `amr address library import`).
const MAX_FORM_CSV: usize = 1 << 20;

/// `POST /office/addresses/library/import`: imports CSV text pasted into the form; the page
/// shows what went in and each refused row with its reason.
pub async fn post_import(
    viewer: Viewer,
    State(state): State<AppState>,
    PageForm(f): PageForm<ImportForm>,
) -> Result<Response, PageError> {
    let (scope, actor) = officer(&viewer)?;
    viewer.check_csrf(&f.csrf)?;
    let city = library::parse_city(&f.city)?;
    if f.csv.trim().is_empty() || f.csv.len() > MAX_FORM_CSV {
        return Err(AppError::bad_request(
            "csv",
            "请粘贴 CSV 内容（不超过 1 MB；更大的文件请用 amr address library import）\
             (paste the CSV, at most 1 MB; use `amr address library import` for larger files)",
        )
        .into());
    }
    let rows = library::read_table("form.csv", f.csv.as_bytes())?;
    let report = library::import_rows(
        &state.db,
        &actor,
        &scope,
        &city,
        "import:form",
        &rows,
        |_| {},
    )
    .await?;
    let page = serde_json::json!({ "city": city, "report": report });
    render(&state, &viewer, StatusCode::OK, "address/import.html", page)
}

// ----- rules -----------------------------------------------------------------------------

/// `GET /office/addresses/rules`: the rules that apply within the jurisdiction.
pub async fn get_rules(
    viewer: Viewer,
    State(state): State<AppState>,
) -> Result<Response, PageError> {
    let (scope, _) = officer(&viewer)?;
    let today = check::today();
    let items: Vec<serde_json::Value> = rules::list(&state.db, &scope)
        .await?
        .into_iter()
        .map(|r| {
            let active = r.active_on(today);
            let mine = scope.covers(&r.division);
            let mut v = serde_json::to_value(&r).unwrap_or_default();
            v["active"] = active.into();
            v["mine"] = mine.into();
            v
        })
        .collect();
    let page = serde_json::json!({
        "items": items,
        "kinds": RuleKind::ALL.iter().map(|k| k.as_str()).collect::<Vec<_>>(),
        "types": ADDRESS_TYPES,
        "today": today.to_string(),
    });
    render(&state, &viewer, StatusCode::OK, "address/rules.html", page)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RuleForm {
    csrf: String,
    #[serde(flatten)]
    rule: RuleInput,
}

/// `POST /office/addresses/rules`: adds a rule.
pub async fn post_rule(
    viewer: Viewer,
    State(state): State<AppState>,
    PageForm(f): PageForm<RuleForm>,
) -> Result<Response, PageError> {
    let (scope, actor) = officer(&viewer)?;
    viewer.check_csrf(&f.csrf)?;
    let r = f.rule.validate(check::today())?;
    let mut tx = state.db.begin().await?;
    rules::add(&mut tx, &actor, &scope, &r).await?;
    tx.commit().await?;
    Ok(see_other("/office/addresses/rules".into()))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CsrfForm {
    csrf: String,
}

/// `POST /office/addresses/rules/{id}/end`.
pub async fn post_end_rule(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(id): Path<String>,
    PageForm(f): PageForm<CsrfForm>,
) -> Result<Response, PageError> {
    let (scope, actor) = officer(&viewer)?;
    viewer.check_csrf(&f.csrf)?;
    let id = parse_id(&id)?;
    let mut tx = state.db.begin().await?;
    rules::end(&mut tx, &actor, &scope, id).await?;
    tx.commit().await?;
    Ok(see_other("/office/addresses/rules".into()))
}

// ----- risk ------------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RiskQuery {
    city: String,
}

/// `GET /office/addresses/risk?city=3701`: the riskiest addresses of the city and the queue.
pub async fn get_risk(
    viewer: Viewer,
    State(state): State<AppState>,
    PageQuery(q): PageQuery<RiskQuery>,
) -> Result<Response, PageError> {
    let (scope, _) = officer(&viewer)?;
    let city = city_of(&q.city, &scope)?;
    let threshold = risk::threshold(&state.db).await?;
    let (items, queue, totals) = match &city {
        Some(c) => (
            risk::riskiest(&state.db, &scope, c, 50).await?,
            risk::queue(&state.db, &scope, Some(c), 200).await?,
            risk::city_totals(&state.db, c).await?,
        ),
        None => (
            Vec::new(),
            risk::queue(&state.db, &scope, None, 200).await?,
            (0, 0),
        ),
    };
    let is_admin = viewer
        .session
        .as_ref()
        .is_some_and(|s| s.account.role() == Role::Admin && s.account.scope().covers(""));
    let page = serde_json::json!({
        "city": city,
        "items": items,
        "queue": queue,
        "threshold": threshold,
        "entities": totals.0,
        "addresses": totals.1,
        "is_admin": is_admin,
    });
    render(&state, &viewer, StatusCode::OK, "address/risk.html", page)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ReviewForm {
    csrf: String,
    key: String,
    decision: String,
    note: String,
    city: String,
}

fn back_to_risk(city: &str) -> Response {
    match library::parse_city(city) {
        Ok(c) => see_other(format!("/office/addresses/risk?city={c}")),
        Err(_) => see_other("/office/addresses/risk".into()),
    }
}

/// `POST /office/addresses/risk/review`.
pub async fn post_review(
    viewer: Viewer,
    State(state): State<AppState>,
    PageForm(f): PageForm<ReviewForm>,
) -> Result<Response, PageError> {
    let (scope, actor) = officer(&viewer)?;
    viewer.check_csrf(&f.csrf)?;
    let mut tx = state.db.begin().await?;
    risk::review(&mut tx, &actor, &scope, &f.key, &f.decision, &f.note).await?;
    tx.commit().await?;
    Ok(back_to_risk(&f.city))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ClusterForm {
    csrf: String,
    key: String,
    cluster: String,
    note: String,
    city: String,
}

/// `POST /office/addresses/risk/cluster`: declares (`cluster=1`) or withdraws (`0`) a
/// cluster-registration address.
pub async fn post_cluster(
    viewer: Viewer,
    State(state): State<AppState>,
    PageForm(f): PageForm<ClusterForm>,
) -> Result<Response, PageError> {
    let (scope, actor) = officer(&viewer)?;
    viewer.check_csrf(&f.csrf)?;
    let cluster = match f.cluster.trim() {
        "1" => true,
        "0" => false,
        _ => {
            return Err(AppError::bad_request(
                "cluster",
                "cluster 应为 1（声明）或 0（撤销）(cluster is 1 or 0)",
            )
            .into());
        }
    };
    let mut tx = state.db.begin().await?;
    risk::declare_cluster(&mut tx, &actor, &scope, &f.key, cluster, &f.note).await?;
    tx.commit().await?;
    Ok(back_to_risk(&f.city))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ThresholdForm {
    csrf: String,
    threshold: String,
    city: String,
}

/// `POST /office/addresses/risk/threshold` (administrators with the whole country as their
/// jurisdiction: the threshold is one for all).
pub async fn post_threshold(
    viewer: Viewer,
    State(state): State<AppState>,
    PageForm(f): PageForm<ThresholdForm>,
) -> Result<Response, PageError> {
    let session = viewer.require_admin()?;
    viewer.check_csrf(&f.csrf)?;
    if !session.account.scope().covers("") {
        return Err(AppError::forbidden().into());
    }
    let actor = viewer.actor().ok_or(AppError::Unauthenticated)?;
    let value = f.threshold.trim().parse::<i64>().map_err(|_| {
        AppError::bad_request(
            "threshold",
            "阈值应为 1 到 100000 之间的整数 (the threshold is an integer from 1 to 100000)",
        )
    })?;
    let mut tx = state.db.begin().await?;
    risk::set_threshold(&mut tx, &actor, value).await?;
    tx.commit().await?;
    Ok(back_to_risk(&f.city))
}
