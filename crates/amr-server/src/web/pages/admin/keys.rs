//! Partner agencies' API keys within my jurisdiction: `GET /admin/keys` (list and form),
//! `POST /admin/keys` (issue one; the secret is shown once on the list after the redirect),
//! `POST /admin/keys/{id}/revoke`.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::http::header::SET_COOKIE;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use serde::{Deserialize, Serialize};

use amr_kernel::auth::store;
use amr_kernel::error::AppError;

use super::{field_message, flash, parse_id, parse_jurisdiction};
use amr_web::extract::PageForm;
use amr_web::page::{PageError, Viewer, render};
use amr_web::state::AppState;

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct KeyForm {
    #[serde(skip_serializing)]
    csrf: String,
    agency: String,
    jurisdiction: String,
}

#[derive(Debug, Deserialize)]
pub struct RevokeForm {
    #[serde(default)]
    csrf: String,
}

pub async fn get_keys(
    viewer: Viewer,
    State(state): State<AppState>,
    jar: CookieJar,
) -> Result<Response, PageError> {
    viewer.require_admin()?;
    let (flash, removal) = flash::take(&jar, "key");
    let form = KeyForm::default();
    let resp = render_keys(
        &state,
        &viewer,
        StatusCode::OK,
        &form,
        &BTreeMap::new(),
        flash,
    )
    .await?;
    Ok(match removal {
        Some(c) => ([(SET_COOKIE, c.header())], resp).into_response(),
        None => resp,
    })
}

pub async fn post_keys(
    viewer: Viewer,
    State(state): State<AppState>,
    PageForm(form): PageForm<KeyForm>,
) -> Result<Response, PageError> {
    let session = viewer.require_admin()?;
    viewer.check_csrf(&form.csrf)?;
    let mut errors = BTreeMap::new();
    if form.agency.trim().is_empty() || form.agency.trim().chars().count() > 100 {
        errors.insert(
            "agency",
            "请填写机构名称（不超过 100 字）(give the agency name, at most 100 characters)"
                .to_string(),
        );
    }
    let jurisdiction = parse_jurisdiction(&form.jurisdiction, &session.account.jurisdiction)
        .map_err(|m| errors.insert("jurisdiction", m))
        .ok();
    let Some(jurisdiction) = jurisdiction.filter(|_| errors.is_empty()) else {
        return render_keys(
            &state,
            &viewer,
            StatusCode::BAD_REQUEST,
            &form,
            &errors,
            None,
        )
        .await;
    };
    let actor = viewer.actor().ok_or(AppError::Unauthenticated)?;
    let mut tx = state.db.begin().await?;
    let scope = session.account.scope();
    let created =
        store::create_api_key(&mut tx, &actor, &scope, &form.agency, jurisdiction.prefix()).await;
    let (key, secret) = match created {
        Ok(k) => k,
        Err(e @ AppError::BadRequest { .. }) => {
            let errors = BTreeMap::from([("agency", field_message(e)?)]);
            return render_keys(
                &state,
                &viewer,
                StatusCode::BAD_REQUEST,
                &form,
                &errors,
                None,
            )
            .await;
        }
        Err(e) => return Err(e.into()),
    };
    tx.commit().await?;
    let cookie = flash::set("key", key.id, &secret, viewer.https);
    Ok(([(SET_COOKIE, cookie.header())], Redirect::to("/admin/keys")).into_response())
}

pub async fn post_revoke(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(id): Path<String>,
    PageForm(form): PageForm<RevokeForm>,
) -> Result<Response, PageError> {
    let session = viewer.require_admin()?;
    viewer.check_csrf(&form.csrf)?;
    let id = parse_id(&id)?;
    let actor = viewer.actor().ok_or(AppError::Unauthenticated)?;
    let mut tx = state.db.begin().await?;
    store::revoke_api_key(&mut tx, &actor, &session.account.scope(), id).await?;
    tx.commit().await?;
    Ok(Redirect::to("/admin/keys").into_response())
}

async fn render_keys(
    state: &AppState,
    viewer: &Viewer,
    status: StatusCode,
    form: &KeyForm,
    errors: &BTreeMap<&'static str, String>,
    new_key: Option<(i64, String)>,
) -> Result<Response, PageError> {
    let session = viewer.require_admin()?;
    let keys = store::list_api_keys(&state.db, &session.account.scope()).await?;
    let page = serde_json::json!({
        "keys": keys,
        "form": form,
        "errors": errors,
        "new_key": new_key.map(|(id, secret)| serde_json::json!({"id": id, "secret": secret})),
        "own_jurisdiction": session.account.jurisdiction,
    });
    render(state, viewer, status, "admin/keys.html", page)
}
