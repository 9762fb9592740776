//! The public entity page (what a phone shows after scanning a licence code) and the lookup
//! by code.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::http::header::SET_COOKIE;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use amr_kernel::codes::uscc::Uscc;
use amr_kernel::error::AppError;
use amr_web::AppState;
use amr_web::csrf;
use amr_web::extract::PageQuery;
use amr_web::page::{PageError, Viewer, render};

use super::lifecycle::path_uscc;
use crate::lifecycle::view;

#[derive(Debug, Deserialize)]
pub struct LookupQuery {
    #[serde(default)]
    uscc: String,
}

/// `GET /entities?uscc=CODE`: goes to the entity's page; a malformed code is a 400 page that
/// says what is wrong with it.
pub async fn lookup_entity(
    viewer: Viewer,
    PageQuery(q): PageQuery<LookupQuery>,
) -> Result<Response, PageError> {
    let _ = &viewer;
    let uscc = Uscc::parse(&q.uscc).map_err(|e| AppError::bad_request("uscc", e))?;
    Ok(Redirect::to(&format!("/entities/{}", uscc.as_str())).into_response())
}

/// `GET /entities/{uscc}`: the public record with its lifecycle, personal data masked; 404
/// when unknown. While a simplified-deregistration notice runs, it carries the objection
/// form (and sets the pre-login CSRF cookie for it when needed).
pub async fn get_entity_page(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(uscc): Path<String>,
) -> Result<Response, PageError> {
    let uscc = path_uscc(&uscc)?;
    let record = view::public_lookup(&state.db, &uscc, state.config.today()).await?;
    let (form_csrf, cookie) = match (&viewer.session, &viewer.login_csrf) {
        (Some(s), _) => (s.csrf_token.clone(), None),
        (None, Some(t)) if !t.is_empty() => (t.clone(), None),
        (None, _) if record.deregistration.is_some() => {
            let (t, c) = csrf::new_login_token(viewer.https);
            (t, Some(c))
        }
        _ => (String::new(), None),
    };
    let today = state.config.today();
    let objections_open = record.deregistration.as_ref().is_some_and(|d| {
        d.state == "notice"
            && d.notice_start.is_some_and(|s| s <= today)
            && d.notice_end.is_some_and(|e| today <= e)
    });
    let panels = amr_web::panels::render_all(&state, &uscc, &viewer).await;
    let page = serde_json::json!({
        "entity": record.entity,
        "featured_types": record.featured_types,
        "record": record,
        "form_csrf": form_csrf,
        "objections_open": objections_open,
        "panels": panels,
        "annual": crate::annual::web::public_section(&state, &uscc).await?,
        "abnormal": crate::abnormal::web::public_section(&state, &uscc).await?,
    });
    let resp = render(
        &state,
        &viewer,
        StatusCode::OK,
        "registry/entity.html",
        page,
    )?;
    Ok(match cookie {
        Some(c) => ([(SET_COOKIE, c.header())], resp).into_response(),
        None => resp,
    })
}
