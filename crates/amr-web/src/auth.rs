//! Who is calling: the session cookie (people) or a bearer API key (partner agencies).

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum_extra::extract::CookieJar;

use amr_kernel::audit::Actor;
use amr_kernel::auth::store::{self, ApiKey, Session};
use amr_kernel::auth::{Permission, Role, Scope};
use amr_kernel::error::AppError;

use crate::error::ApiError;
use crate::state::AppState;

/// The name of the session cookie.
pub const SESSION_COOKIE: &str = "amr_session";

/// The client's address: the socket peer, or the first `X-Forwarded-For` hop when the
/// server is configured to trust its proxy.
pub fn client_ip(parts: &Parts, state: &AppState) -> String {
    if state.config.trust_proxy
        && let Some(first) = parts
            .headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|xff| xff.split(',').next())
            .map(str::trim)
            .filter(|f| !f.is_empty())
    {
        return first.to_string();
    }
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_else(|| "unknown".to_string())
}

/// Whether the request came over HTTPS (for the cookie `Secure` attribute).
pub fn is_https(parts: &Parts, state: &AppState) -> bool {
    use crate::config::CookieSecure;
    match state.config.cookie_secure {
        CookieSecure::Always => true,
        CookieSecure::Never => false,
        CookieSecure::Auto => {
            let forwarded = state.config.trust_proxy
                && parts
                    .headers
                    .get("x-forwarded-proto")
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|v| v.eq_ignore_ascii_case("https"));
            let public = state
                .config
                .public_url
                .as_deref()
                .is_some_and(|u| u.starts_with("https://"));
            forwarded || public || parts.uri.scheme_str() == Some("https")
        }
    }
}

/// The logged-in person, if any.
#[derive(Debug, Clone)]
pub struct MaybeSession(pub Option<Session>, pub String);

impl FromRequestParts<AppState> for MaybeSession {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let ip = client_ip(parts, state);
        if let Some(s) = parts.extensions.get::<MaybeSession>() {
            return Ok(s.clone());
        }
        let jar = CookieJar::from_headers(&parts.headers);
        let session = match jar.get(SESSION_COOKIE) {
            Some(c) => store::find_session(&state.db, c.value()).await?,
            None => None,
        };
        let found = MaybeSession(session, ip);
        parts.extensions.insert(found.clone());
        Ok(found)
    }
}

impl MaybeSession {
    pub fn actor(&self) -> Option<Actor> {
        self.0.as_ref().map(|s| session_actor(s, &self.1))
    }
}

/// The actor recorded for a person's writes.
pub fn session_actor(s: &Session, ip: &str) -> Actor {
    Actor {
        kind: "account",
        id: Some(s.account.id),
        name: s.account.username.clone(),
        ip: Some(ip.to_string()),
    }
}

/// An authenticated API caller: a session (people using the API from the browser or a
/// script) or an agency's API key in `Authorization: Bearer amr_...`.
#[derive(Debug, Clone)]
pub struct ApiCaller {
    pub actor: Actor,
    pub scope: Scope,
    /// The role of a person; `None` for an agency key.
    pub role: Option<Role>,
    pub api_key: Option<ApiKey>,
}

impl ApiCaller {
    /// Refuses with 403 unless the caller's role grants `p` (agency keys hold none of the
    /// role permissions; their routes check `api_key` instead).
    pub fn require(&self, p: Permission) -> Result<(), ApiError> {
        match self.role {
            Some(r) if r.can(p) => Ok(()),
            _ => Err(ApiError(AppError::forbidden())),
        }
    }
}

impl FromRequestParts<AppState> for ApiCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let ip = client_ip(parts, state);
        if let Some(auth) = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
        {
            let secret = auth.strip_prefix("Bearer ").unwrap_or("").trim();
            let key = store::find_api_key(&state.db, secret)
                .await?
                .ok_or(ApiError(AppError::Unauthenticated))?;
            return Ok(ApiCaller {
                actor: Actor {
                    kind: "api_key",
                    id: Some(key.id),
                    name: key.agency.clone(),
                    ip: Some(ip),
                },
                scope: Scope::prefix(&key.jurisdiction),
                role: None,
                api_key: Some(key),
            });
        }
        let MaybeSession(session, ip) = MaybeSession::from_request_parts(parts, state).await?;
        let s = session.ok_or(ApiError(AppError::Unauthenticated))?;
        // A cookie travels with every request the browser makes, so a state-changing API
        // call on a session must also show the session's CSRF token in a header.
        if !parts.method.is_safe() {
            let presented = parts
                .headers
                .get("x-csrf-token")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if !crate::csrf::tokens_match(presented, &s.csrf_token) {
                return Err(ApiError(AppError::Forbidden(
                    "缺少或错误的 CSRF 令牌 (missing or wrong CSRF token)".into(),
                )));
            }
        }
        Ok(ApiCaller {
            actor: session_actor(&s, &ip),
            scope: s.account.scope(),
            role: Some(s.account.role()),
            api_key: None,
        })
    }
}
