//! `GET /office`: the back office's first page. Who I am, my jurisdiction, what my role may
//! do, and (for those who may read events) the latest events within my jurisdiction.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use amr_kernel::auth::Permission;
use amr_kernel::events;

use amr_web::extract::{PageQuery, parse_before};
use amr_web::page::{PageError, Viewer, render};
use amr_web::state::AppState;

/// Events per page.
const PAGE: i64 = 20;

#[derive(Debug, Deserialize)]
pub struct OfficeQuery {
    before: Option<String>,
}

pub async fn get_office(
    viewer: Viewer,
    State(state): State<AppState>,
    PageQuery(q): PageQuery<OfficeQuery>,
) -> Result<Response, PageError> {
    let session = viewer.require_login()?;
    let before = parse_before(q.before.as_deref())?;
    let account = &session.account;
    let role = account.role();
    let reads_events = role.can(Permission::ReadEvents);
    let items = if reads_events {
        events::scoped_recent(&state.db, &account.scope(), before, PAGE).await?
    } else {
        Vec::new()
    };
    let older = (items.len() as i64 == PAGE)
        .then(|| items.last().map(|e| e.timepoint))
        .flatten();
    let permissions: Vec<&str> = role.permissions().iter().map(|p| p.key()).collect();
    let page = serde_json::json!({
        "account": account,
        "permissions": permissions,
        "reads_events": reads_events,
        "events": items,
        "before": before,
        "older": older,
    });
    render(&state, &viewer, StatusCode::OK, "office.html", page)
}
