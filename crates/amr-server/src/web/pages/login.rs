//! `GET /login`, `POST /login`, `POST /logout`.
//!
//! Logging in: the form's CSRF token must match the `amr_csrf` cookie; recent failures are
//! counted before the password is looked at (too many → 429 and no check); the password is
//! verified with argon2 off the async threads, against a dummy hash when the user does not
//! exist, so the answer takes as long either way. Any failure (unknown user, wrong password,
//! inactive account) shows one message.

use std::sync::LazyLock;

use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::SET_COOKIE;
use axum::response::{AppendHeaders, IntoResponse, Redirect, Response};
use chrono::Utc;
use serde::Deserialize;

use amr_kernel::auth::password;
use amr_kernel::auth::store::{self, Account};
use amr_kernel::error::AppError;

use amr_web::auth::SESSION_COOKIE;
use amr_web::cookies::SetCookie;
use amr_web::csrf;
use amr_web::extract::{PageForm, PageQuery};
use amr_web::i18n::safe_local_path;
use amr_web::page::{PageError, Viewer, render};
use amr_web::state::AppState;

/// Where people land after logging in when no `next` was given.
const DEFAULT_NEXT: &str = "/office";

#[derive(Debug, Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
}

/// The login form (people already logged in go straight on).
pub async fn get_login(
    viewer: Viewer,
    State(state): State<AppState>,
    PageQuery(q): PageQuery<LoginQuery>,
) -> Result<Response, PageError> {
    let next = q
        .next
        .as_deref()
        .and_then(safe_local_path)
        .unwrap_or(DEFAULT_NEXT);
    if viewer.session.is_some() {
        return Ok(Redirect::to(next).into_response());
    }
    render_form(&state, &viewer, StatusCode::OK, "", next, false)
}

/// Checks the credentials and starts a session.
pub async fn post_login(
    viewer: Viewer,
    State(state): State<AppState>,
    PageForm(form): PageForm<LoginForm>,
) -> Result<Response, PageError> {
    csrf::check(&form.csrf, viewer.login_csrf.as_deref())?;
    let next = safe_local_path(&form.next).unwrap_or(DEFAULT_NEXT);
    check_throttle(&state, &form.username, &viewer.ip).await?;
    let Some(account) = verify_credentials(&state, &form.username, &form.password).await? else {
        store::record_login_failure(&state.db, &form.username, &viewer.ip).await?;
        return render_form(
            &state,
            &viewer,
            StatusCode::UNAUTHORIZED,
            &form.username,
            next,
            true,
        );
    };
    store::clear_login_failures(&state.db, &account.username).await?;
    if let Some(old) = &viewer.session_token {
        store::delete_session(&state.db, old).await?;
    }
    let ttl = chrono::Duration::from_std(state.config.session_ttl)
        .map_err(|e| AppError::Internal(e.into()))?;
    let (token, _) = store::create_session(&state.db, &account, ttl, Some(&viewer.ip)).await?;
    let session = SetCookie::new(SESSION_COOKIE, &token)
        .max_age(ttl.num_seconds())
        .secure(viewer.https);
    let (_, rotated) = csrf::new_login_token(viewer.https);
    let cookies = AppendHeaders([
        (SET_COOKIE, session.header()),
        (SET_COOKIE, rotated.header()),
    ]);
    Ok((cookies, Redirect::to(next)).into_response())
}

#[derive(Debug, Deserialize)]
pub struct LogoutForm {
    #[serde(default)]
    csrf: String,
}

/// Ends the session and forgets the cookie.
pub async fn post_logout(
    viewer: Viewer,
    State(state): State<AppState>,
    PageForm(form): PageForm<LogoutForm>,
) -> Result<Response, PageError> {
    if let Some(token) = &viewer.session_token {
        viewer.check_csrf(&form.csrf)?;
        store::delete_session(&state.db, token).await?;
    }
    let gone = SetCookie::removal(SESSION_COOKIE).secure(viewer.https);
    Ok(([(SET_COOKIE, gone.header())], Redirect::to("/")).into_response())
}

/// Renders the login form, setting the pre-login CSRF cookie when the browser has none.
fn render_form(
    state: &AppState,
    viewer: &Viewer,
    status: StatusCode,
    username: &str,
    next: &str,
    failed: bool,
) -> Result<Response, PageError> {
    let (token, cookie) = match &viewer.login_csrf {
        Some(t) if !t.is_empty() => (t.clone(), None),
        _ => {
            let (t, c) = csrf::new_login_token(viewer.https);
            (t, Some(c))
        }
    };
    let page = serde_json::json!({
        "login_csrf": token,
        "username": username,
        "next": next,
        "failed": failed,
    });
    let resp = render(state, viewer, status, "login.html", page)?;
    Ok(match cookie {
        Some(c) => ([(SET_COOKIE, c.header())], resp).into_response(),
        None => resp,
    })
}

/// Refuses with 429 when the user name or the address has failed too often lately.
async fn check_throttle(state: &AppState, username: &str, ip: &str) -> Result<(), PageError> {
    let window = chrono::Duration::from_std(state.config.throttle_window)
        .map_err(|e| AppError::Internal(e.into()))?;
    let (by_user, by_ip) =
        store::recent_login_failures(&state.db, username, ip, Utc::now() - window).await?;
    if by_user >= state.config.max_failures_per_user || by_ip >= state.config.max_failures_per_ip {
        let minutes = window.num_minutes().max(1);
        return Err(AppError::TooManyRequests(format!(
            "登录失败次数过多，请 {minutes} 分钟后再试 \
             (too many failed logins; please try again in {minutes} minutes)"
        ))
        .into());
    }
    Ok(())
}

/// A hash no password matches, verified when the user does not exist (equal timing).
static DUMMY_HASH: LazyLock<String> =
    LazyLock::new(|| password::hash(&password::generate()).unwrap_or_default());

/// The account, if the user exists, the password is right and the account is active.
async fn verify_credentials(
    state: &AppState,
    username: &str,
    password: &str,
) -> Result<Option<Account>, PageError> {
    let found = store::find_for_login(&state.db, username).await?;
    let password = password.to_string();
    let (account, hash) = match found {
        Some((a, h)) => (Some(a), h),
        None => (None, String::new()),
    };
    let verified = tokio::task::spawn_blocking(move || {
        let hash = if hash.is_empty() {
            DUMMY_HASH.as_str()
        } else {
            hash.as_str()
        };
        password::verify(&password, hash)
    })
    .await
    .map_err(|e| AppError::Internal(e.into()))?;
    Ok(account.filter(|a| verified && a.active))
}
