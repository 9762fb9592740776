//! What every page handler shares: who is looking ([`Viewer`]), rendering in the layout and
//! page errors (forms and queries are in [`super::extract`]).
//!
//! [`page_frame`] runs around every page route. The [`Viewer`] extractor resolves the viewer
//! once per request (language, session, address); when the handler answers with a
//! [`PageError`], the frame renders it as an error page in the layout, in the viewer's
//! language, and adds the security headers every page carries.

use std::sync::{Arc, Mutex};

use axum::extract::{FromRequestParts, Request};
use axum::http::header::{
    CONTENT_SECURITY_POLICY, HOST, REFERER, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS,
};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use minijinja::Value;
use minijinja::value::Serde;
use serde::Serialize;

use amr_kernel::audit::Actor;
use amr_kernel::auth::Role;
use amr_kernel::auth::store::{self, Session};
use amr_kernel::error::AppError;

use super::csrf::{self, CSRF_COOKIE};
use super::i18n::{LANG_COOKIE, Lang, safe_local_path};
use crate::auth::{self, MaybeSession, SESSION_COOKIE};
use crate::error::{LoggedCause, anyhow_chain};
use crate::state::AppState;
use crate::templates::Templates;

/// The person looking at a page, resolved once per request.
#[derive(Clone, Debug)]
pub struct Viewer {
    pub lang: Lang,
    pub session: Option<Session>,
    /// The session cookie's token (to end the session at logout).
    pub session_token: Option<String>,
    pub ip: String,
    pub https: bool,
    /// The page this request shows, as a local path and query (for the language switch and
    /// the login `next`); see [`page_address`].
    pub here: String,
    /// The pre-login CSRF cookie, if the browser sent one.
    pub login_csrf: Option<String>,
}

impl Viewer {
    async fn load(parts: &Parts, state: &AppState) -> (Viewer, Option<AppError>) {
        let jar = CookieJar::from_headers(&parts.headers);
        let token = jar.get(SESSION_COOKIE).map(|c| c.value().to_string());
        let (session, error) = match &token {
            Some(t) => match store::find_session(&state.db, t).await {
                Ok(s) => (s, None),
                Err(e) => (None, Some(e)),
            },
            None => (None, None),
        };
        let here = page_address(parts);
        let viewer = Viewer {
            lang: Lang::from_cookie(jar.get(LANG_COOKIE).map(|c| c.value())),
            session_token: token.filter(|_| session.is_some()),
            session,
            ip: auth::client_ip(parts, state),
            https: auth::is_https(parts, state),
            here,
            login_csrf: jar.get(CSRF_COOKIE).map(|c| c.value().to_string()),
        };
        (viewer, error)
    }

    /// The actor recorded for this person's writes.
    pub fn actor(&self) -> Option<Actor> {
        self.session
            .as_ref()
            .map(|s| auth::session_actor(s, &self.ip))
    }

    /// The session, or a redirect to the login page that comes back here.
    pub fn require_login(&self) -> Result<&Session, PageError> {
        self.session.as_ref().ok_or_else(|| PageError::Login {
            next: self.here.clone(),
        })
    }

    /// The session of an administrator; 403 for anyone else logged in.
    pub fn require_admin(&self) -> Result<&Session, PageError> {
        let s = self.require_login()?;
        if s.account.role() == Role::Admin {
            Ok(s)
        } else {
            Err(AppError::forbidden().into())
        }
    }

    /// Refuses a logged-in form whose `csrf` field is not the session's token.
    pub fn check_csrf(&self, presented: &str) -> Result<(), PageError> {
        let expected = self.session.as_ref().map(|s| s.csrf_token.as_str());
        Ok(csrf::check(presented, expected)?)
    }
}

/// The page a request belongs to. For GET, its own path and query. A POST's address is an
/// action, not a page (going back to it with GET would fail), so its page is the one the
/// form was on: the `Referer` when it is on this host, else the home page.
fn page_address(parts: &Parts) -> String {
    if matches!(parts.method, Method::GET | Method::HEAD) {
        return parts
            .uri
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "/".to_string());
    }
    let host = parts.headers.get(HOST).and_then(|h| h.to_str().ok());
    let referer = parts.headers.get(REFERER).and_then(|h| h.to_str().ok());
    let local = match (host, referer) {
        (Some(host), Some(r)) => r
            .split_once("://")
            .and_then(|(_, rest)| rest.strip_prefix(host))
            .and_then(safe_local_path),
        _ => None,
    };
    local.unwrap_or("/").to_string()
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, PageError> {
        if let Some(v) = parts.extensions.get::<Viewer>() {
            return Ok(v.clone());
        }
        let (viewer, error) = Viewer::load(parts, state).await;
        if let Some(frame) = parts.extensions.get::<Frame>() {
            frame.fill(state.templates.clone(), viewer.clone());
        }
        parts.extensions.insert(viewer.clone());
        let found = MaybeSession(viewer.session.clone(), viewer.ip.clone());
        parts.extensions.insert(found);
        match error {
            Some(e) => Err(e.into()),
            None => Ok(viewer),
        }
    }
}

/// What a page response needs to be rendered as an error page: filled by the [`Viewer`]
/// extractor (which has the state), read by [`page_frame`] after the handler ran.
#[derive(Clone, Debug, Default)]
struct Frame(Arc<Mutex<Option<Framed>>>);

#[derive(Debug)]
struct Framed {
    templates: Arc<Templates>,
    viewer: Viewer,
}

impl Frame {
    fn fill(&self, templates: Arc<Templates>, viewer: Viewer) {
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some(Framed { templates, viewer });
        }
    }

    fn take(&self) -> Option<Framed> {
        self.0.lock().ok().and_then(|mut slot| slot.take())
    }
}

/// Runs around every page route: renders a [`PageError`] as an error page in the layout
/// and the viewer's language, and adds the security headers every page carries. (Every
/// page handler, the fallback included, takes the [`Viewer`] as its first argument.)
pub async fn page_frame(mut req: Request, next: Next) -> Response {
    let frame = Frame::default();
    req.extensions_mut().insert(frame.clone());
    let mut resp = next.run(req).await;
    if let Some(page) = resp.extensions_mut().remove::<ErrorPage>() {
        resp = match frame.take() {
            Some(f) => render_error(&f.templates, &f.viewer, resp, page),
            None => plain_error(resp),
        };
    }
    add_security_headers(resp.headers_mut());
    resp
}

/// An error page without the layout, for a request that never reached a page handler.
fn plain_error(resp: Response) -> Response {
    let status = resp.status();
    let mut plain = (
        status,
        format!(
            "{} {}",
            status.as_u16(),
            status.canonical_reason().unwrap_or("")
        ),
    )
        .into_response();
    if let Some(cause) = resp.extensions().get::<LoggedCause>() {
        plain.extensions_mut().insert(cause.clone());
    }
    plain
}

/// The headers every page carries.
pub fn add_security_headers(h: &mut HeaderMap) {
    h.insert(
        CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'self'; frame-ancestors 'none'; form-action 'self'"),
    );
    h.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(REFERRER_POLICY, HeaderValue::from_static("same-origin"));
}

/// An error answered with a page (or, for a visitor who must log in first, a redirect).
#[derive(Debug)]
pub enum PageError {
    App(AppError),
    Login { next: String },
}

impl PageError {
    pub fn not_found() -> PageError {
        PageError::App(AppError::NotFound)
    }
}

impl<E: Into<AppError>> From<E> for PageError {
    fn from(e: E) -> Self {
        PageError::App(e.into())
    }
}

/// Marks a response to be rendered as an error page by [`page_frame`].
#[derive(Clone, Debug)]
struct ErrorPage {
    /// The detail shown under the page's title (bilingual), if any.
    message: Option<String>,
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let e = match self {
            PageError::Login { next } => {
                return Redirect::to(&format!(
                    "/login?next={}",
                    super::extract::percent_encode(&next)
                ))
                .into_response();
            }
            PageError::App(e) => e,
        };
        let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        // 5xx pages say only that something failed; the cause goes to the log.
        let message = match &e {
            _ if status.is_server_error() => None,
            AppError::NotFound | AppError::Unauthenticated => None,
            AppError::BadRequest { message, .. } => Some(message.clone()),
            other => Some(other.public_message()),
        };
        let mut resp = status.into_response();
        resp.extensions_mut().insert(ErrorPage { message });
        if status.is_server_error() {
            resp.extensions_mut().insert(LoggedCause(anyhow_chain(&e)));
        }
        resp
    }
}

fn render_error(
    templates: &Templates,
    viewer: &Viewer,
    resp: Response,
    page: ErrorPage,
) -> Response {
    let status = resp.status();
    let ctx = minijinja::context! { status => status.as_u16(), message => page.message };
    match render_page(templates, viewer, status, "error.html", ctx) {
        Ok(mut r) => {
            if let Some(cause) = resp.extensions().get::<LoggedCause>() {
                r.extensions_mut().insert(cause.clone());
            }
            r
        }
        Err(e) => {
            tracing::error!(error = %anyhow_chain(&e), "rendering the error page failed");
            plain_error(resp)
        }
    }
}

/// Renders `template` in the layout with the page's own context `page`.
pub fn render<T: Serialize>(
    state: &AppState,
    viewer: &Viewer,
    status: StatusCode,
    template: &str,
    page: T,
) -> Result<Response, PageError> {
    Ok(render_page(
        &state.templates,
        viewer,
        status,
        template,
        Value::from(Serde(page)),
    )?)
}

fn render_page(
    templates: &Templates,
    viewer: &Viewer,
    status: StatusCode,
    template: &str,
    page: Value,
) -> Result<Response, AppError> {
    let me = viewer.session.as_ref().map(|s| {
        minijinja::context! {
            username => s.account.username.clone(),
            display_name => s.account.display_name.clone(),
            role => s.account.role.clone(),
            is_admin => s.account.role() == Role::Admin,
        }
    });
    let ctx = minijinja::context! {
        lang => viewer.lang.code(),
        html_lang => viewer.lang.html_lang(),
        me => me,
        csrf => viewer.session.as_ref().map(|s| s.csrf_token.clone()),
        here => viewer.here.clone(),
        ..page
    };
    let html = templates.render(template, ctx)?;
    Ok((status, Html(html)).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(method: Method, uri: &str, referer: Option<&str>) -> Parts {
        let mut b = axum::http::Request::builder()
            .method(method)
            .uri(uri)
            .header(HOST, "amr.example:8080");
        if let Some(r) = referer {
            b = b.header(REFERER, r);
        }
        b.body(()).unwrap().into_parts().0
    }

    fn visitor(lang: Lang) -> Viewer {
        Viewer {
            lang,
            session: None,
            session_token: None,
            ip: "127.0.0.1".into(),
            https: false,
            here: "/".into(),
            login_csrf: None,
        }
    }

    async fn body_of(resp: Response) -> String {
        let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
            .await
            .unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[tokio::test]
    async fn a_500_page_shows_no_cause_but_keeps_it_for_the_log() {
        let templates = Templates::new(&[]);
        let cause = anyhow::anyhow!("connection to 10.0.0.7 refused");
        let mut resp = PageError::App(AppError::Internal(cause)).into_response();
        let page = resp.extensions_mut().remove::<ErrorPage>().unwrap();
        assert!(page.message.is_none());
        let resp = render_error(&templates, &visitor(Lang::Zh), resp, page);
        assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let logged = resp.extensions().get::<LoggedCause>().unwrap().0.clone();
        assert!(logged.contains("10.0.0.7"));
        let body = body_of(resp).await;
        assert!(body.contains("服务器内部错误"));
        assert!(!body.contains("10.0.0.7"));
    }

    #[tokio::test]
    async fn error_pages_follow_the_language() {
        let templates = Templates::new(&[]);
        let mut resp =
            PageError::App(AppError::TooManyRequests("稍后 (later)".into())).into_response();
        let page = resp.extensions_mut().remove::<ErrorPage>().unwrap();
        let body = body_of(render_error(&templates, &visitor(Lang::En), resp, page)).await;
        assert!(body.contains("Too many requests"));
        assert!(body.contains("稍后 (later)"));
    }

    #[test]
    fn a_post_belongs_to_the_page_of_its_form() {
        let get = parts(Method::GET, "/office?before=3", None);
        assert_eq!(page_address(&get), "/office?before=3");
        let post = parts(
            Method::POST,
            "/admin/accounts/3/active",
            Some("http://amr.example:8080/admin/accounts/3"),
        );
        assert_eq!(page_address(&post), "/admin/accounts/3");
        let foreign = parts(
            Method::POST,
            "/login",
            Some("http://evil.example/amr.example:8080/x"),
        );
        assert_eq!(page_address(&foreign), "/");
        let prefix = parts(Method::POST, "/login", Some("http://amr.example:80800/x"));
        assert_eq!(page_address(&prefix), "/");
    }
}
