//! How [`AppError`] becomes an HTTP response (the policy is in `amr_kernel::error`).
//!
//! API routes answer JSON `{"error": code, "message": text}`; pages render the error page
//! (see `web`). 5xx causes are logged here with their chain, never sent to the client.

use axum::Json;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use amr_kernel::error::AppError;

/// An error answered as JSON.
#[derive(Debug)]
pub struct ApiError(pub AppError);

impl<E: Into<AppError>> From<E> for ApiError {
    fn from(e: E) -> Self {
        ApiError(e.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.0.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut body = serde_json::json!({
            "error": self.0.code(),
            "message": self.0.public_message(),
        });
        if let AppError::BadRequest { field, .. } = &self.0 {
            body["field"] = serde_json::Value::String(field.clone());
        }
        let mut resp = (status, Json(body)).into_response();
        if status.is_server_error() {
            resp.extensions_mut()
                .insert(LoggedCause(format!("{:#}", anyhow_chain(&self.0))));
        }
        resp
    }
}

/// The cause of a 5xx, carried to the logging middleware.
#[derive(Clone, Debug)]
pub struct LoggedCause(pub String);

pub(crate) fn anyhow_chain(e: &AppError) -> String {
    match e {
        AppError::Internal(inner) => format!("{inner:#}"),
        other => other.to_string(),
    }
}

/// Logs every 5xx with its cause chain and the request line.
pub async fn log_server_errors(req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let uri = req.uri().clone();
    let resp = next.run(req).await;
    if resp.status().is_server_error() {
        let cause = resp
            .extensions()
            .get::<LoggedCause>()
            .map(|c| c.0.clone())
            .unwrap_or_default();
        tracing::error!(%method, %uri, status = resp.status().as_u16(), cause, "server error");
    }
    resp
}
