//! `GET /static/{file}`: the stylesheet and other assets, embedded in the binary (deployments
//! are often on closed networks: nothing is fetched from elsewhere).

use axum::extract::Path;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, X_CONTENT_TYPE_OPTIONS};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// The embedded assets: (file name, content type, content).
const ASSETS: &[(&str, &str, &str)] = &[(
    "amr.css",
    "text/css; charset=utf-8",
    include_str!("../static/amr.css"),
)];

/// An hour: assets change only with a new release.
const CACHE: &str = "public, max-age=3600";

pub async fn get_static(Path(file): Path<String>) -> Response {
    let Some(&(_, content_type, body)) = ASSETS.iter().find(|(name, _, _)| *name == file) else {
        return (StatusCode::NOT_FOUND, "404 Not Found").into_response();
    };
    let mut resp = body.into_response();
    let h = resp.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(CACHE_CONTROL, HeaderValue::from_static(CACHE));
    h.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    resp
}
