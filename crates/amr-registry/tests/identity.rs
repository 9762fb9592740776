//! The HTTP identity verifier against a small credential registry served on port 0: every
//! documented answer, and the hostile ones (wrong status, bad JSON, oversized or slow
//! responses, malformed references) that must come out "unavailable", never "verified".

use std::time::Duration;

use axum::Json;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};

use amr_registry::identity::hkid::check_character;
use amr_registry::identity::{HttpVerifier, IdentityClaim, IdentityVerifier, VerifyError};

/// A valid HKID with prefix C and these digits.
fn hkid(digits: &str) -> String {
    format!("C{digits}({})", check_character("C", digits))
}

/// The registry: answers by the HKID's digits; insists on the bearer key.
async fn registry(headers: HeaderMap, Json(body): Json<Value>) -> Response {
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some("Bearer k-123") {
        return (StatusCode::UNAUTHORIZED, "no").into_response();
    }
    // The request is the documented shape.
    for field in ["name", "hkid", "travel_permit"] {
        if !body[field].is_string() {
            return (StatusCode::BAD_REQUEST, "shape").into_response();
        }
    }
    let id = body["hkid"].as_str().unwrap_or_default();
    let digits = &id[1..7];
    match digits {
        "100001" => {
            Json(json!({"result": "verified", "reference": "HKREG/2026/000123"})).into_response()
        }
        "100002" => Json(json!({"result": "not_found"})).into_response(),
        "100003" => Json(json!({"result": "mismatch", "fields": ["name", "travel_permit", "<b>"]}))
            .into_response(),
        "100004" => (StatusCode::INTERNAL_SERVER_ERROR, "boom").into_response(),
        "100005" => "this is not json".into_response(),
        "100006" => "x".repeat(100_000).into_response(),
        "100007" => {
            tokio::time::sleep(Duration::from_secs(5)).await;
            Json(json!({"result": "verified", "reference": "late"})).into_response()
        }
        "100008" => Json(json!({"result": "verified", "reference": "<script>alert(1)</script>"}))
            .into_response(),
        "100009" => Json(json!({"result": "verified"})).into_response(),
        "100010" => Json(json!({"result": "probably"})).into_response(),
        "100011" => (
            StatusCode::FOUND,
            [("location", "http://127.0.0.1:1/elsewhere")],
        )
            .into_response(),
        _ => Json(json!({"result": "not_found"})).into_response(),
    }
}

async fn serve() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new().route("/verify", post(registry));
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}/verify")
}

fn claim(digits: &str) -> IdentityClaim {
    IdentityClaim::parse("陈大文", &hkid(digits), "H12345678").unwrap()
}

#[tokio::test]
async fn the_http_verifier_reads_every_documented_answer() {
    let url = serve().await;
    let v = HttpVerifier::new(&url, Some("k-123".into()), Duration::from_secs(2), None).unwrap();
    assert_eq!(v.label(), "http:127.0.0.1");
    let ok = v.verify(&claim("100001")).await.unwrap();
    assert_eq!(ok.registry_ref, "HKREG/2026/000123");
    assert_eq!(ok.verifier, "http:127.0.0.1");
    assert_eq!(ok.hkid.as_str(), &hkid("100001").replace(['(', ')'], ""));
    assert_eq!(v.verify(&claim("100002")).await, Err(VerifyError::NotFound));
    // Unknown field names from the registry are dropped; travel_permit is our `permit`.
    assert_eq!(
        v.verify(&claim("100003")).await,
        Err(VerifyError::Mismatch(vec!["name".into(), "permit".into()]))
    );
}

#[tokio::test]
async fn hostile_or_failed_answers_are_unavailable_never_verified() {
    let url = serve().await;
    let v = HttpVerifier::new(&url, Some("k-123".into()), Duration::from_secs(1), None).unwrap();
    for digits in [
        "100004", "100005", "100006", "100007", "100008", "100009", "100010", "100011",
    ] {
        let started = std::time::Instant::now();
        let r = v.verify(&claim(digits)).await;
        assert!(
            matches!(r, Err(VerifyError::Unavailable(_))),
            "{digits}: {r:?}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{digits} took too long"
        );
    }
    // The wrong key: the registry's 401 is "unavailable" (a configuration fault, not a verdict).
    let wrong = HttpVerifier::new(&url, Some("nope".into()), Duration::from_secs(1), None).unwrap();
    assert!(matches!(
        wrong.verify(&claim("100001")).await,
        Err(VerifyError::Unavailable(_))
    ));
    // Nobody listening.
    let gone = HttpVerifier::new(
        "http://127.0.0.1:9/verify",
        None,
        Duration::from_secs(1),
        None,
    )
    .unwrap();
    assert!(matches!(
        gone.verify(&claim("100001")).await,
        Err(VerifyError::Unavailable(_))
    ));
    // The caller sees a 503 with a Chinese-first message, not the registry's body.
    let e: amr_kernel::error::AppError = VerifyError::Unavailable("x".into()).into();
    assert!(matches!(e, amr_kernel::error::AppError::Unavailable(_)));
    assert!(e.to_string().starts_with("身份核验服务暂不可用"));
}
