//! `POST /api/v1/addresses/parse`: `{"addresses": ["...", ...], "hint": "3701"}` →
//! `{"items": [ParsedAddress, ...]}`, in request order.
//!
//! Public, no login and no API key: parsing reads only the embedded division table, stores
//! nothing and answers only with what the request sent and public reference data, the same
//! as `amr address parse` on the command line. A request holds at most [`MAX_BATCH`]
//! addresses (and the server's body limit applies); a longer batch is a 400 that says so.

use axum::extract::rejection::JsonRejection;
use axum::routing::post;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use amr_kernel::codes::division::Jurisdiction;
use amr_kernel::error::AppError;
use amr_web::AppState;
use amr_web::error::ApiError;

use crate::parse::{ParsedAddress, parse};

/// Most addresses in one request.
pub const MAX_BATCH: usize = 1000;

/// The JSON API routes (the server merges them outside the page frame).
pub fn api_routes() -> Router<AppState> {
    Router::new().route("/api/v1/addresses/parse", post(parse_batch))
}

/// The request body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParseRequest {
    pub addresses: Vec<String>,
    /// Division code (2–9 digits) of the jurisdiction the addresses are expected in.
    #[serde(default)]
    pub hint: Option<String>,
}

/// The answer: one parsed address per address sent, in order.
#[derive(Debug, Serialize)]
pub struct ParseResponse {
    pub items: Vec<ParsedAddress>,
}

async fn parse_batch(
    body: Result<Json<ParseRequest>, JsonRejection>,
) -> Result<Json<ParseResponse>, ApiError> {
    let Json(req) = body.map_err(|e| {
        AppError::bad_request(
            "body",
            format!(
                "请求体应为 JSON：{{\"addresses\": [地址, ...], \"hint\": 区划代码（可选）}} \
                 (the body must be JSON {{\"addresses\": [...], \"hint\": optional}}): {}",
                e.body_text()
            ),
        )
    })?;
    if req.addresses.len() > MAX_BATCH {
        return Err(AppError::bad_request(
            "addresses",
            format!(
                "一次最多解析 {MAX_BATCH} 条地址，本次 {} 条；请分批提交 \
                 (at most {MAX_BATCH} addresses per request, got {}; send them in batches)",
                req.addresses.len(),
                req.addresses.len()
            ),
        )
        .into());
    }
    let hint = match req.hint.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(h) => Some(
            Jurisdiction::parse(h)
                .map_err(|e| AppError::bad_request("hint", e))?
                .prefix(),
        )
        .filter(|p| !p.is_empty()),
    };
    let items = req.addresses.iter().map(|a| parse(a, hint)).collect();
    Ok(Json(ParseResponse { items }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use tower::ServiceExt;

    async fn call(body: &str) -> (StatusCode, serde_json::Value) {
        let app = Router::new().route("/p", post(parse_batch));
        let resp = app
            .oneshot(
                Request::post("/p")
                    .header("content-type", "application/json")
                    .body(Body::from(body.to_owned()))
                    .unwrap(),
            )
            .await
            .unwrap();
        let status = resp.status();
        let bytes = axum::body::to_bytes(resp.into_body(), 1 << 24)
            .await
            .unwrap();
        (status, serde_json::from_slice(&bytes).unwrap_or_default())
    }

    #[tokio::test]
    async fn parses_a_batch_in_order() {
        let (s, v) = call(r#"{"addresses": ["历下区泉城路180号", ""], "hint": "37"}"#).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(v["items"][0]["county_code"], "370102");
        assert!(v["items"][1]["county"].is_null());
    }

    #[tokio::test]
    async fn refuses_bad_requests_in_chinese_first() {
        let many = serde_json::json!({ "addresses": vec!["济南"; MAX_BATCH + 1] }).to_string();
        let (s, v) = call(&many).await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        assert_eq!(v["field"], "addresses");
        assert!(
            v["message"]
                .as_str()
                .unwrap()
                .contains("一次最多解析 1000 条地址")
        );
        let (s, v) = call(r#"{"addresses": [], "hint": "99x"}"#).await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        assert_eq!(v["field"], "hint");
        let (s, v) = call("not json").await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        assert!(v["message"].as_str().unwrap().contains("请求体应为 JSON"));
    }
}
