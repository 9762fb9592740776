//! `GET /api/v1/entities/{uscc}`: the public record of an entity, with its lifecycle
//! (`status`, `suspension`, `premises`, `history`, a running deregistration notice) and its
//! confirmed 名特优新 types (`featured_types`: `["famous", "quality"]`, empty for most).

use axum::Json;
use axum::extract::{Path, State};

use amr_kernel::codes::uscc::Uscc;
use amr_kernel::error::AppError;
use amr_web::AppState;
use amr_web::error::ApiError;

use crate::lifecycle::view::{PublicRecord, public_lookup};

/// The public record; 404 for an unknown code and for a malformed one (a code that cannot
/// exist is not found, like any other).
pub async fn get_entity(
    State(state): State<AppState>,
    Path(uscc): Path<String>,
) -> Result<Json<PublicRecord>, ApiError> {
    let uscc = Uscc::parse(&uscc).map_err(|_| AppError::NotFound)?;
    let record = public_lookup(&state.db, uscc.as_str(), state.config.today()).await?;
    Ok(Json(record))
}
