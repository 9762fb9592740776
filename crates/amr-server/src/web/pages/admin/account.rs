//! One account: `GET /admin/accounts/{id}`, and its two actions,
//! `POST /admin/accounts/{id}/active` (turn it on or off) and
//! `POST /admin/accounts/{id}/password` (a new generated password, shown once).
//! An administrator cannot turn off or reset its own account here.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::http::header::SET_COOKIE;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use serde::Deserialize;

use amr_kernel::auth::{password, store};
use amr_kernel::error::AppError;

use super::accounts::hash_password;
use super::{flash, parse_id};
use amr_web::extract::PageForm;
use amr_web::page::{PageError, Viewer, render};
use amr_web::state::AppState;

pub async fn get_account(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(id): Path<String>,
    jar: CookieJar,
) -> Result<Response, PageError> {
    let session = viewer.require_admin()?;
    let id = parse_id(&id)?;
    let account = store::get_account(&state.db, &session.account.scope(), id).await?;
    let (flash, removal) = flash::take(&jar, "pw");
    let page = serde_json::json!({
        "account": account,
        "is_self": account.id == session.account.id,
        "new_password": flash.filter(|(for_id, _)| *for_id == id).map(|(_, p)| p),
    });
    let resp = render(&state, &viewer, StatusCode::OK, "admin/account.html", page)?;
    Ok(match removal {
        Some(c) => ([(SET_COOKIE, c.header())], resp).into_response(),
        None => resp,
    })
}

#[derive(Debug, Deserialize)]
pub struct ActiveForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    active: String,
}

pub async fn post_active(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(id): Path<String>,
    PageForm(form): PageForm<ActiveForm>,
) -> Result<Response, PageError> {
    let session = viewer.require_admin()?;
    viewer.check_csrf(&form.csrf)?;
    let id = parse_id(&id)?;
    let active = match form.active.as_str() {
        "1" => true,
        "0" => false,
        _ => {
            return Err(AppError::bad_request(
                "active",
                "active 须为 1 或 0 (active must be 1 or 0)",
            )
            .into());
        }
    };
    if !active && id == session.account.id {
        return Err(AppError::bad_request(
            "active",
            "不能停用自己的账号 (you cannot deactivate your own account)",
        )
        .into());
    }
    let actor = viewer.actor().ok_or(AppError::Unauthenticated)?;
    let mut tx = state.db.begin().await?;
    store::set_active(&mut tx, &actor, &session.account.scope(), id, active).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/admin/accounts/{id}")).into_response())
}

#[derive(Debug, Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    csrf: String,
}

pub async fn post_password(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(id): Path<String>,
    PageForm(form): PageForm<PasswordForm>,
) -> Result<Response, PageError> {
    let session = viewer.require_admin()?;
    viewer.check_csrf(&form.csrf)?;
    let id = parse_id(&id)?;
    let scope = session.account.scope();
    let account = store::get_account(&state.db, &scope, id).await?;
    if account.id == session.account.id {
        return Err(AppError::bad_request(
            "password",
            "不能在此重置自己的密码 (you cannot reset your own password here)",
        )
        .into());
    }
    let plain = password::generate();
    let hash = hash_password(plain.clone()).await?;
    let actor = viewer.actor().ok_or(AppError::Unauthenticated)?;
    let mut tx = state.db.begin().await?;
    store::set_password(&mut tx, &actor, &scope, id, &hash).await?;
    tx.commit().await?;
    let cookie = flash::set("pw", id, &plain, viewer.https);
    let target = Redirect::to(&format!("/admin/accounts/{id}"));
    Ok(([(SET_COOKIE, cookie.header())], target).into_response())
}
