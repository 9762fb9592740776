//! The public entity page (what a phone shows after scanning a licence code) and the lookup
//! by code.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use amr_kernel::codes::uscc::Uscc;
use amr_kernel::error::AppError;
use amr_web::AppState;
use amr_web::extract::PageQuery;
use amr_web::page::{PageError, Viewer, render};

use crate::model::PublicEntity;
use crate::store;

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

/// `GET /entities/{uscc}`: the public record, personal data masked; 404 when unknown.
pub async fn get_entity_page(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(uscc): Path<String>,
) -> Result<Response, PageError> {
    let uscc = Uscc::parse(&uscc).map_err(|_| AppError::NotFound)?;
    let e = store::get_public(&state.db, uscc.as_str()).await?;
    let featured = crate::featured::store::public_types(&state.db, &e.uscc).await?;
    let page = serde_json::json!({ "entity": PublicEntity::from(&e), "featured_types": featured });
    render(
        &state,
        &viewer,
        StatusCode::OK,
        "registry/entity.html",
        page,
    )
}
