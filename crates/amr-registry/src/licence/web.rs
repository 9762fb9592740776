//! The licence's routes: the code as JSON, the QR images, the licence and print pages, and the
//! public verify page a phone opens after scanning.
//!
//! The address in the QR code is `{public_url}/v/{payload}`; without a configured
//! `public_url` it is built from the request's `Host` (set `public_url` in production, so the
//! printed codes carry the address people can reach).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, HOST};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{Value, json};

use amr_kernel::codes::uscc::Uscc;
use amr_kernel::error::AppError;
use amr_kernel::signing::Keyring;
use amr_web::AppState;
use amr_web::error::ApiError;
use amr_web::extract::PageQuery;
use amr_web::page::{PageError, Viewer, render};

use super::code::EnterpriseCode;
use super::qr::Qr;
use super::{Licence, check, code_for, licence_of};
use crate::model::{Entity, PublicEntity};
use crate::store;

/// Pixels per module of the PNG (a version-13 code comes out at about 600 pixels a side).
const PNG_SCALE: usize = 8;

/// The address people's phones open: the configured public URL, else the request's host.
fn base_url(state: &AppState, headers: &HeaderMap) -> String {
    if let Some(u) = &state.config.public_url {
        return u.trim_end_matches('/').to_string();
    }
    let host = headers
        .get(HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b))
        })
        .unwrap_or("localhost");
    format!("http://{host}")
}

/// An entity, its licence and its signed code, with the verify address.
struct Issued {
    entity: Entity,
    licence: Licence,
    payload: String,
    key_id: String,
    url: String,
}

async fn issue(
    state: &AppState,
    keys: &Keyring,
    headers: &HeaderMap,
    uscc: &str,
) -> Result<Issued, AppError> {
    let uscc = Uscc::parse(uscc).map_err(|_| AppError::NotFound)?;
    let entity = store::get_public(&state.db, uscc.as_str()).await?;
    let licence = licence_of(&state.db, &entity).await?;
    let code = code_for(&entity, &licence, keys)?;
    let payload = code.encode();
    let url = format!("{}/v/{payload}", base_url(state, headers));
    Ok(Issued {
        entity,
        licence,
        payload,
        key_id: code.key_id.to_string(),
        url,
    })
}

fn qr_label(e: &Entity) -> String {
    format!("{} 营业执照码 (enterprise code)", e.name)
}

/// `GET /api/v1/entities/{uscc}/code`: the current licence's code:
/// `{uscc, name, status, licence: {version, issued_at, versions}, key_id, payload, url, svg, png}`.
pub async fn get_code(
    State(state): State<AppState>,
    Extension(keys): Extension<Arc<Keyring>>,
    headers: HeaderMap,
    Path(uscc): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let i = issue(&state, &keys, &headers, &uscc).await?;
    let svg = Qr::encode(&i.url)?.svg(&qr_label(&i.entity));
    Ok(Json(json!({
        "uscc": i.entity.uscc,
        "name": i.entity.name,
        "status": i.entity.status,
        "licence": i.licence,
        "key_id": i.key_id,
        "payload": i.payload,
        "url": i.url,
        "svg": svg,
        "png": format!("/entities/{}/code.png", i.entity.uscc),
    })))
}

fn image(content_type: &'static str, body: Vec<u8>) -> Response {
    let mut resp = body.into_response();
    let h = resp.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    // The code changes with the licence version: caches may keep it a few minutes only.
    h.insert(
        CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    resp
}

/// `GET /entities/{uscc}/code.svg`.
pub async fn get_code_svg(
    State(state): State<AppState>,
    Extension(keys): Extension<Arc<Keyring>>,
    headers: HeaderMap,
    Path(uscc): Path<String>,
) -> Result<Response, ApiError> {
    let i = issue(&state, &keys, &headers, &uscc).await?;
    let svg = Qr::encode(&i.url)?.svg(&qr_label(&i.entity));
    Ok(image("image/svg+xml", svg.into_bytes()))
}

/// `GET /entities/{uscc}/code.png`.
pub async fn get_code_png(
    State(state): State<AppState>,
    Extension(keys): Extension<Arc<Keyring>>,
    headers: HeaderMap,
    Path(uscc): Path<String>,
) -> Result<Response, ApiError> {
    let i = issue(&state, &keys, &headers, &uscc).await?;
    let png = Qr::encode(&i.url)?.png(PNG_SCALE);
    Ok(image("image/png", png))
}

/// `GET /api/v1/codes/{payload}`: the verify page's verdict as JSON (400 when the text is not
/// a code at all). `current` is true only for an authentic code of the licence in force of an
/// active entity.
pub async fn api_verify(
    State(state): State<AppState>,
    Path(payload): Path<String>,
) -> Result<Json<super::Check>, ApiError> {
    let code = EnterpriseCode::decode(&payload).map_err(|e| AppError::bad_request("code", e))?;
    Ok(Json(check(&state.db, &code).await?))
}

fn licence_page_data(i: &Issued, svg: String) -> Value {
    json!({
        "entity": PublicEntity::from(&i.entity),
        "licence": i.licence,
        "authority": authority(&i.entity.division),
        "payload": i.payload,
        "url": i.url,
        "key_id": i.key_id,
        "svg": svg,
    })
}

/// The registration authority printed on the licence: the county (or city) bureau of the
/// domicile's division.
fn authority(division: &str) -> String {
    let d = amr_kernel::codes::division::divisions();
    let county = division.get(..6).unwrap_or(division);
    match d.full_name(county) {
        Some(name) => format!("{name}市场监督管理局"),
        None => "市场监督管理局".to_string(),
    }
}

/// `GET /entities/{uscc}/licence`: the public licence with its QR code.
pub async fn get_licence_page(
    viewer: Viewer,
    State(state): State<AppState>,
    Extension(keys): Extension<Arc<Keyring>>,
    headers: HeaderMap,
    Path(uscc): Path<String>,
) -> Result<Response, PageError> {
    let i = issue(&state, &keys, &headers, &uscc).await?;
    let svg = Qr::encode(&i.url)?.svg(&qr_label(&i.entity));
    render(
        &state,
        &viewer,
        StatusCode::OK,
        "registry/licence.html",
        licence_page_data(&i, svg),
    )
}

/// `GET /entities/{uscc}/licence/print`: the licence laid out for an A4 sheet.
pub async fn get_licence_print(
    viewer: Viewer,
    State(state): State<AppState>,
    Extension(keys): Extension<Arc<Keyring>>,
    headers: HeaderMap,
    Path(uscc): Path<String>,
) -> Result<Response, PageError> {
    let i = issue(&state, &keys, &headers, &uscc).await?;
    let svg = Qr::encode(&i.url)?.svg(&qr_label(&i.entity));
    render(
        &state,
        &viewer,
        StatusCode::OK,
        "registry/licence_print.html",
        licence_page_data(&i, svg),
    )
}

#[derive(Debug, Deserialize)]
pub struct VerifyQuery {
    #[serde(default)]
    code: String,
}

async fn verify_page(viewer: &Viewer, state: &AppState, text: &str) -> Result<Response, PageError> {
    if text.trim().is_empty() {
        return render(
            state,
            viewer,
            StatusCode::OK,
            "registry/verify.html",
            json!({"asked": false, "code": ""}),
        );
    }
    match EnterpriseCode::decode(text) {
        Ok(code) => {
            let c = check(&state.db, &code).await?;
            render(
                state,
                viewer,
                StatusCode::OK,
                "registry/verify.html",
                json!({"asked": true, "check": c, "code": ""}),
            )
        }
        Err(e) => render(
            state,
            viewer,
            StatusCode::BAD_REQUEST,
            "registry/verify.html",
            json!({"asked": true, "error": e.to_string(), "code": text.chars().take(120).collect::<String>()}),
        ),
    }
}

/// `GET /v/{payload}`: what a phone opens after scanning: authentic or not, and the record's
/// current state.
pub async fn get_verify_scanned(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(payload): Path<String>,
) -> Result<Response, PageError> {
    verify_page(&viewer, &state, &payload).await
}

/// `GET /verify?code=…`: the same check for a pasted code or address (a form without it).
pub async fn get_verify_form(
    viewer: Viewer,
    State(state): State<AppState>,
    PageQuery(q): PageQuery<VerifyQuery>,
) -> Result<Response, PageError> {
    verify_page(&viewer, &state, &q.code).await
}

/// `GET /assets/registry/licence.css`: the licence pages' stylesheet (embedded).
pub async fn get_licence_css() -> Response {
    let mut resp = include_str!("../../static/licence.css").into_response();
    let h = resp.headers_mut();
    h.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/css; charset=utf-8"),
    );
    h.insert(
        CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    resp
}

#[cfg(test)]
mod tests {
    use crate::web::{LICENCE_TEMPLATES, licence_module, module};

    #[test]
    fn every_text_of_the_licence_pages_is_in_both_catalogs() {
        amr_web::templates::assert_keys_in_catalog(
            LICENCE_TEMPLATES,
            &[module(), licence_module()],
        );
        let zh: std::collections::BTreeMap<String, String> =
            serde_json::from_str(licence_module().zh).unwrap();
        let en: std::collections::BTreeMap<String, String> =
            serde_json::from_str(licence_module().en).unwrap();
        assert_eq!(zh.keys().collect::<Vec<_>>(), en.keys().collect::<Vec<_>>());
        // Every licence item has its name, in both languages.
        for f in super::super::LICENCE_FIELDS {
            assert!(zh.contains_key(&format!("licence.field.{f}")), "{f}");
        }
    }
}
