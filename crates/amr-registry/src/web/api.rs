//! `GET /api/v1/entities/{uscc}`: the public record of an entity, with its confirmed
//! 名特优新 types (`featured_types`: `["famous", "quality"]`, empty for most).

use axum::Json;
use axum::extract::{Path, State};

use amr_kernel::codes::uscc::Uscc;
use amr_kernel::error::AppError;
use amr_web::AppState;
use amr_web::error::ApiError;

use crate::model::PublicEntity;
use crate::store;

/// The public record and what the registry's parts add to it.
#[derive(serde::Serialize)]
pub struct PublicRecord {
    #[serde(flatten)]
    pub entity: PublicEntity,
    /// The confirmed 名特优新 types.
    pub featured_types: Vec<crate::featured::FeaturedType>,
}

/// The public record; 404 for an unknown code and for a malformed one (a code that cannot
/// exist is not found, like any other).
pub async fn get_entity(
    State(state): State<AppState>,
    Path(uscc): Path<String>,
) -> Result<Json<PublicRecord>, ApiError> {
    let uscc = Uscc::parse(&uscc).map_err(|_| AppError::NotFound)?;
    let e = store::get_public(&state.db, uscc.as_str()).await?;
    let featured_types = crate::featured::store::public_types(&state.db, &e.uscc).await?;
    Ok(Json(PublicRecord {
        entity: PublicEntity::from(&e),
        featured_types,
    }))
}
