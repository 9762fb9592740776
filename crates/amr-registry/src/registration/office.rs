//! The officer's examination pages, within the officer's jurisdiction (another region's
//! filing is a 404):
//!
//! - `GET /office/registrations?status=filed|returned|approved&after=N`: the queue;
//! - `GET /office/registrations/{no}`: the application, the domicile's outcome, the name's
//!   parts, collisions and similar names (same trade name in the jurisdiction, or within two
//!   edits among the search index's hits in the city), the steps, the electronic signatures
//!   (each checked against the filing's current hash); approve or return;
//! - `POST /office/registrations/{no}/approve`, `POST /office/registrations/{no}/return`.

use std::sync::Arc;

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::json;

use amr_kernel::auth::{Permission, Scope};
use amr_kernel::error::AppError;
use amr_web::AppState;
use amr_web::extract::{PageForm, PageQuery};
use amr_web::page::{PageError, Viewer, render};

use super::api::status_of;
use super::model::FilingStatus;
use super::store::{self, NameCheck};
use crate::search::{EntityIndex, SearchQuery};

/// Filings a page.
const PAGE: i64 = 50;

/// A paging `after=N` (a filing's id): empty or a positive integer.
pub fn parse_after(s: &str) -> Result<Option<i64>, AppError> {
    match s.trim() {
        "" => Ok(None),
        s => s
            .parse::<i64>()
            .ok()
            .filter(|n| *n > 0)
            .map(Some)
            .ok_or_else(|| {
                AppError::bad_request(
                    "after",
                    "after 须为正整数 (after must be a positive integer)",
                )
            }),
    }
}

/// Adds names within two edits of the checked name among the search index's hits in the
/// domicile's city (a failing index leaves the list as it is: it is advice, not a rule).
pub fn close_names(index: &EntityIndex, check: &mut NameCheck, division: &str) {
    let Some(parts) = &check.parts else {
        return;
    };
    let text = format!(
        "{}{}",
        parts.trade_name.as_deref().unwrap_or(""),
        parts.industry.as_deref().unwrap_or("")
    );
    let q = SearchQuery {
        text,
        city: division.get(..4).map(str::to_string),
        limit: 50,
        ..SearchQuery::default()
    };
    match index.search(&q) {
        Ok(found) => {
            let hits: Vec<(String, String, String)> = found
                .items
                .into_iter()
                .map(|h| (h.name, h.uscc, h.division))
                .collect();
            store::add_close_names(check, &hits);
        }
        Err(e) => tracing::warn!(error = %e, "similar names: the search index failed"),
    }
}

fn examiner_scope(viewer: &Viewer) -> Result<Scope, PageError> {
    let session = viewer.require_login()?;
    if !session.account.role().can(Permission::ExamineRegistrations) {
        return Err(AppError::forbidden().into());
    }
    Ok(session.account.scope())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct QueueQuery {
    status: String,
    after: String,
}

/// `GET /office/registrations`.
pub async fn queue(
    viewer: Viewer,
    State(state): State<AppState>,
    PageQuery(q): PageQuery<QueueQuery>,
) -> Result<Response, PageError> {
    let scope = examiner_scope(&viewer)?;
    let status = status_of(&q.status)?;
    let after = parse_after(&q.after)?;
    let items = store::list_scoped(&state.db, &scope, status, after, PAGE).await?;
    let next = (items.len() as i64 == PAGE)
        .then(|| items.last().map(|f| f.id))
        .flatten();
    let page = json!({
        "items": items,
        "status": status.as_str(),
        "statuses": FilingStatus::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
        "next": next,
    });
    render(
        &state,
        &viewer,
        StatusCode::OK,
        "registration/office_queue.html",
        page,
    )
}

/// `GET /office/registrations/{no}`.
pub async fn detail(
    viewer: Viewer,
    State(state): State<AppState>,
    Extension(index): Extension<Arc<EntityIndex>>,
    Path(no): Path<String>,
) -> Result<Response, PageError> {
    let scope = examiner_scope(&viewer)?;
    let f = store::get_scoped(&state.db, &scope, &no).await?;
    let steps = store::steps(&state.db, f.id).await?;
    let mut names = store::check_name(
        &state.db,
        &f.name,
        f.entity_type,
        Some(&f.division),
        Some(f.id),
    )
    .await?;
    close_names(&index, &mut names, &f.division);
    let signatures =
        crate::identity::signatures_for(&state.db, &scope, &f.filing_no, Some(&f.filing_hash))
            .await?;
    let page = json!({
        "signatures": signatures,
        "current_hash": f.filing_hash,
        "f": f,
        "steps": steps,
        "names": names,
        "industry_name": crate::industry::get(&f.application.industry).map(|i| i.name),
    });
    render(
        &state,
        &viewer,
        StatusCode::OK,
        "registration/office_filing.html",
        page,
    )
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct DecisionForm {
    csrf: String,
    reasons: String,
}

/// `POST /office/registrations/{no}/approve`.
pub async fn post_approve(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(no): Path<String>,
    PageForm(form): PageForm<DecisionForm>,
) -> Result<Response, PageError> {
    let scope = examiner_scope(&viewer)?;
    viewer.check_csrf(&form.csrf)?;
    let actor = viewer.actor().ok_or(AppError::Unauthenticated)?;
    let f = store::approve(&state.db, &actor, &scope, &no, state.config.today()).await?;
    Ok(Redirect::to(&format!("/office/registrations/{}", f.filing_no)).into_response())
}

/// `POST /office/registrations/{no}/return`.
pub async fn post_return(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(no): Path<String>,
    PageForm(form): PageForm<DecisionForm>,
) -> Result<Response, PageError> {
    let scope = examiner_scope(&viewer)?;
    viewer.check_csrf(&form.csrf)?;
    let actor = viewer.actor().ok_or(AppError::Unauthenticated)?;
    let f = store::return_filing(&state.db, &actor, &scope, &no, &form.reasons).await?;
    Ok(Redirect::to(&format!("/office/registrations/{}", f.filing_no)).into_response())
}
