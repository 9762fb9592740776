//! `GET /admin/audit?before=N`: the audit log within my jurisdiction, newest first.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use amr_kernel::audit;

use amr_web::extract::{PageQuery, parse_before};
use amr_web::page::{PageError, Viewer, render};
use amr_web::state::AppState;

/// Entries per page.
const PAGE: i64 = 50;

#[derive(Debug, Deserialize)]
pub struct AuditQuery {
    before: Option<String>,
}

pub async fn get_audit(
    viewer: Viewer,
    State(state): State<AppState>,
    PageQuery(q): PageQuery<AuditQuery>,
) -> Result<Response, PageError> {
    let session = viewer.require_admin()?;
    let before = parse_before(q.before.as_deref())?;
    let entries = audit::list(&state.db, &session.account.scope(), before, PAGE).await?;
    let older = (entries.len() as i64 == PAGE)
        .then(|| entries.last().map(|e| e.id))
        .flatten();
    let page = serde_json::json!({
        "entries": entries,
        "before": before,
        "older": older,
    });
    render(&state, &viewer, StatusCode::OK, "admin/audit.html", page)
}
