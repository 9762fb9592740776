//! Routes for identities and signatures.
//!
//! JSON (any authenticated caller: an API key, or a session with `X-CSRF-Token` for writes):
//! - `POST /api/v1/signers/verify` `{"name", "hkid", "permit"}` → the verified identity
//!   (numbers masked) and the keys bound to it; writes nothing.
//! - `POST /api/v1/signers/keys` `{"signer": {...}, "public_key", "proof"}` → 201, a brought
//!   key bound to the identity just verified.
//! - `POST /api/v1/signatures` `{"filing_ref", "filing_hash", "division"?, ...}` with either
//!   `"signer": {...}, "pin"` (held key) or `"public_key", "signature"` (brought key) → 201.
//!   A registration filing number (`DJ…`) must exist (else 404) and the hash must be its
//!   current `filing_hash` (else 422); the signature takes the filing's division.
//!
//! For officers (`read_records`): `GET /api/v1/signatures?filing_ref=REF&hash=CURRENT`.
//!
//! Pages: `/sign` (the signer verifies and signs with the held key, in the browser),
//! `/sign/{id}` (the receipt), `/office/signatures` (the officer's view of a filing's
//! signatures).

use std::sync::Arc;

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use amr_kernel::audit::Actor;
use amr_kernel::auth::{Permission, Scope};
use amr_kernel::codes::division::divisions;
use amr_kernel::error::AppError;
use amr_web::AppState;
use amr_web::auth::ApiCaller;
use amr_web::error::ApiError;
use amr_web::extract::{PageForm, PageQuery};
use amr_web::page::{PageError, Viewer, render};

use super::signature::{
    self, FilingToSign, parse_filing_hash, parse_filing_ref, parse_public_key, parse_signature,
};
use super::verifier::{IdentityClaim, IdentityVerifier, VerifiedIdentity};
use crate::registration::store::{self as registration_store, is_filing_no};

/// The verifier the routes ask, shared.
pub type SharedVerifier = Arc<dyn IdentityVerifier>;

/// The JSON routes (merged outside the page frame).
pub fn api_routes(verifier: SharedVerifier) -> Router<AppState> {
    Router::new()
        .route("/api/v1/signers/verify", post(api_verify))
        .route("/api/v1/signers/keys", post(api_bind_key))
        .route("/api/v1/signatures", post(api_sign).get(api_list))
        .layer(Extension(verifier))
}

/// The pages (merged inside the page frame).
pub fn page_routes(verifier: SharedVerifier) -> Router<AppState> {
    Router::new()
        .route("/sign", get(sign_page).post(sign_submit))
        .route("/sign/{id}", get(sign_receipt))
        .route("/office/signatures", get(office_signatures))
        .layer(Extension(verifier))
}

fn body<T>(b: Result<Json<T>, JsonRejection>, shape: &str) -> Result<T, ApiError> {
    b.map(|Json(v)| v).map_err(|e| {
        AppError::bad_request(
            "body",
            format!(
                "请求体应为 JSON：{shape} (the body must be JSON {shape}): {}",
                e.body_text()
            ),
        )
        .into()
    })
}

/// The identity fields of a signer.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignerBody {
    pub name: String,
    pub hkid: String,
    pub permit: String,
}

async fn verify(
    verifier: &dyn IdentityVerifier,
    s: &SignerBody,
) -> Result<VerifiedIdentity, AppError> {
    let claim = IdentityClaim::parse(&s.name, &s.hkid, &s.permit)?;
    Ok(verifier.verify(&claim).await?)
}

fn identity_view(who: &VerifiedIdentity) -> Value {
    json!({
        "verified": true,
        "name": who.name,
        "hkid": who.hkid.masked(),
        "permit": who.permit.masked(),
        "registry_ref": who.registry_ref,
        "verifier": who.verifier,
        "verified_at": who.verified_at,
    })
}

async fn api_verify(
    _caller: ApiCaller,
    State(state): State<AppState>,
    Extension(verifier): Extension<SharedVerifier>,
    req: Result<Json<SignerBody>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let s = body(
        req,
        r#"{"name": "...", "hkid": "A123456(3)", "permit": "H12345678"}"#,
    )?;
    let who = verify(verifier.as_ref(), &s).await?;
    let keys: Vec<Value> = signature::keys_of(&state.db, &who.hkid)
        .await?
        .iter()
        .map(|k| k.summary())
        .collect();
    let mut v = identity_view(&who);
    v["keys"] = Value::Array(keys);
    Ok(Json(v))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BindBody {
    signer: SignerBody,
    public_key: String,
    proof: String,
}

async fn api_bind_key(
    caller: ApiCaller,
    State(state): State<AppState>,
    Extension(verifier): Extension<SharedVerifier>,
    req: Result<Json<BindBody>, JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let b = body(
        req,
        r#"{"signer": {"name", "hkid", "permit"}, "public_key": HEX, "proof": HEX}"#,
    )?;
    let key = parse_public_key(&b.public_key)?;
    let proof = parse_signature(&b.proof, "proof")?;
    let who = verify(verifier.as_ref(), &b.signer).await?;
    let bound = signature::bind_brought_key(&state.db, &caller.actor, &who, &key, &proof).await?;
    Ok((StatusCode::CREATED, Json(bound.summary())))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SignBody {
    filing_ref: String,
    filing_hash: String,
    #[serde(default)]
    division: Option<String>,
    #[serde(default)]
    signer: Option<SignerBody>,
    #[serde(default)]
    pin: Option<String>,
    #[serde(default)]
    public_key: Option<String>,
    #[serde(default)]
    signature: Option<String>,
}

fn parse_division(d: Option<&str>) -> Result<Option<String>, AppError> {
    match d.map(str::trim) {
        None | Some("") => Ok(None),
        Some(code) if (code.len() == 6 || code.len() == 9) && divisions().get(code).is_some() => {
            Ok(Some(code.to_string()))
        }
        Some(_) => Err(AppError::bad_request(
            "division",
            "行政区划代码应为 6 位（区县）或 9 位（乡镇）的有效代码 \
             (the division must be a known 6-digit county or 9-digit town code)",
        )),
    }
}

/// A registration filing (a reference of the form [`is_filing_no`]) is signed only over its
/// current `filing_hash`: an unknown number is a 404, another hash a 422 (the filing changed,
/// or the hash is not this filing's). The signature takes the filing's division (whatever the
/// caller gave) so that the officers of its jurisdiction see it. Other references are recorded
/// as given.
async fn check_registration(
    db: &amr_kernel::db::Db,
    filing: &mut FilingToSign,
) -> Result<(), AppError> {
    if !is_filing_no(&filing.reference) {
        return Ok(());
    }
    let (hash, division) = registration_store::current_hash(db, &filing.reference)
        .await?
        .ok_or(AppError::NotFound)?;
    if hash != filing.hash {
        return Err(AppError::rejected(format!(
            "申报材料哈希与登记申请 {} 的当前哈希不符：申请可能已更正重报，请按当前内容重新签名 \
             (the filing hash is not the current hash of registration filing {}: it may have \
             been corrected and refiled; sign its current content)",
            filing.reference, filing.reference
        )));
    }
    filing.division = Some(division);
    Ok(())
}

async fn api_sign(
    caller: ApiCaller,
    State(state): State<AppState>,
    Extension(verifier): Extension<SharedVerifier>,
    req: Result<Json<SignBody>, JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let b = body(
        req,
        r#"{"filing_ref", "filing_hash", "signer": {...}, "pin"} or {"filing_ref", "filing_hash", "public_key", "signature"}"#,
    )?;
    let mut filing = FilingToSign {
        reference: parse_filing_ref(&b.filing_ref)?,
        hash: parse_filing_hash(&b.filing_hash)?,
        division: parse_division(b.division.as_deref())?,
    };
    check_registration(&state.db, &mut filing).await?;
    let stored = match (&b.signer, &b.pin, &b.public_key, &b.signature) {
        (Some(s), Some(pin), None, None) => {
            signature::check_pin(pin)?;
            let who = verify(verifier.as_ref(), s).await?;
            signature::sign_filing(&state.db, &caller.actor, &who, pin, &filing).await?
        }
        (None, None, Some(pk), Some(sig)) => {
            let key = parse_public_key(pk)?;
            let sig = parse_signature(sig, "signature")?;
            signature::record_signature(&state.db, &caller.actor, &key, &sig, &filing).await?
        }
        _ => {
            return Err(AppError::bad_request(
                "body",
                "请二选一：signer 与 pin（平台托管密钥），或 public_key 与 signature（自备密钥） \
                 (give either signer and pin for the held key, or public_key and signature for \
                 a brought key)",
            )
            .into());
        }
    };
    let (_, view) = signature::signature_by_id(&state.db, stored.id).await?;
    Ok((
        StatusCode::CREATED,
        Json(serde_json::to_value(view).map_err(|e| AppError::Internal(e.into()))?),
    ))
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    filing_ref: String,
    #[serde(default)]
    hash: Option<String>,
}

fn optional_hash(h: Option<&str>) -> Result<Option<String>, AppError> {
    match h.map(str::trim) {
        None | Some("") => Ok(None),
        Some(h) => parse_filing_hash(h).map(Some).map_err(|_| {
            AppError::bad_request(
                "hash",
                "当前哈希应为 64 位十六进制（SHA-256） (the current hash must be 64 hex digits)",
            )
        }),
    }
}

async fn api_list(
    caller: ApiCaller,
    State(state): State<AppState>,
    q: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Permission::ReadRecords)?;
    let Query(q) = q.map_err(|e| {
        AppError::bad_request(
            "filing_ref",
            format!(
                "缺少申报编号 filing_ref (the filing_ref parameter is missing): {}",
                e.body_text()
            ),
        )
    })?;
    let filing_ref = parse_filing_ref(&q.filing_ref)?;
    let hash = optional_hash(q.hash.as_deref())?;
    let items =
        signature::signatures_for(&state.db, &caller.scope, &filing_ref, hash.as_deref()).await?;
    Ok(Json(
        json!({ "filing_ref": filing_ref, "current_hash": hash, "items": items }),
    ))
}

// ---------------------------------------------------------------------------------------
// Pages

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct SignQuery {
    filing_ref: String,
    filing_hash: String,
    /// A registration filing's private-link token: lets its applicant, who has no account,
    /// sign that filing (and read the receipt) without logging in.
    token: String,
}

/// Who signs from a page: the logged-in account, or — with no session — the applicant of a
/// registration filing holding its private-link token (for that filing only).
async fn page_signer(
    viewer: &Viewer,
    db: &amr_kernel::db::Db,
    filing_ref: &str,
    token: &str,
) -> Result<Actor, PageError> {
    if let Some(actor) = viewer.actor() {
        return Ok(actor);
    }
    if token.trim().is_empty() || !is_filing_no(filing_ref.trim()) {
        viewer.require_login()?;
    }
    registration_store::get_for_applicant(db, filing_ref.trim(), token).await?;
    Ok(Actor {
        kind: "applicant",
        id: None,
        name: format!("申请人（{}）", filing_ref.trim()),
        ip: Some(viewer.ip.clone()).filter(|ip| !ip.is_empty()),
    })
}

/// `GET /sign?filing_ref=REF&filing_hash=HASH`: the signer's form (logged in).
async fn sign_page(
    viewer: Viewer,
    State(state): State<AppState>,
    PageQuery(q): PageQuery<SignQuery>,
) -> Result<Response, PageError> {
    page_signer(&viewer, &state.db, &q.filing_ref, &q.token).await?;
    let (form_csrf, cookie) = crate::registration::pages::form_token(&viewer);
    let resp = render(
        &state,
        &viewer,
        StatusCode::OK,
        "registry/sign.html",
        json!({
            "q": { "filing_ref": q.filing_ref.trim(), "filing_hash": q.filing_hash.trim() },
            "token": if viewer.session.is_none() { q.token.trim() } else { "" },
            "form_csrf": form_csrf,
        }),
    )?;
    Ok(crate::registration::pages::with_cookie(resp, cookie))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct SignForm {
    csrf: String,
    filing_ref: String,
    filing_hash: String,
    name: String,
    hkid: String,
    permit: String,
    pin: String,
    token: String,
}

/// `POST /sign`: verifies the identity, signs with the held key (made at the first
/// signature), then shows the receipt. A refusal is the error page with its reason; nothing
/// is written (but a wrong PIN is counted).
async fn sign_submit(
    viewer: Viewer,
    State(state): State<AppState>,
    Extension(verifier): Extension<SharedVerifier>,
    PageForm(f): PageForm<SignForm>,
) -> Result<Response, PageError> {
    let actor = page_signer(&viewer, &state.db, &f.filing_ref, &f.token).await?;
    crate::registration::pages::check_form_csrf(&viewer, &f.csrf)?;
    let mut filing = FilingToSign {
        reference: parse_filing_ref(&f.filing_ref)?,
        hash: parse_filing_hash(&f.filing_hash)?,
        division: None,
    };
    check_registration(&state.db, &mut filing).await?;
    signature::check_pin(&f.pin)?;
    let who = verify(
        verifier.as_ref(),
        &SignerBody {
            name: f.name,
            hkid: f.hkid,
            permit: f.permit,
        },
    )
    .await?;
    let stored = signature::sign_filing(&state.db, &actor, &who, &f.pin, &filing).await?;
    if viewer.session.is_none() {
        // The applicant's receipt, readable with the filing's private-link token.
        return Ok(Redirect::to(&format!(
            "/sign/{}?token={}",
            stored.id,
            url_encode(f.token.trim())
        ))
        .into_response());
    }
    Ok(Redirect::to(&format!("/sign/{}", stored.id)).into_response())
}

/// `GET /sign/{id}`: the receipt, for the account that submitted it or an officer whose
/// jurisdiction covers the filing; 404 for anyone else.
async fn sign_receipt(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(id): Path<String>,
    PageQuery(q): PageQuery<SignQuery>,
) -> Result<Response, PageError> {
    let id: i64 = id.parse().map_err(|_| AppError::NotFound)?;
    let Some(session) = &viewer.session else {
        // The applicant of a registration filing, with its private-link token.
        if q.token.trim().is_empty() {
            viewer.require_login()?;
        }
        let (stored, view) = signature::signature_by_id(&state.db, id).await?;
        registration_store::get_for_applicant(&state.db, &stored.filing_ref, &q.token).await?;
        return render(
            &state,
            &viewer,
            StatusCode::OK,
            "registry/sign_receipt.html",
            json!({ "signatures": [view], "current_hash": stored.filing_hash, "filing_ref": stored.filing_ref }),
        );
    };
    let (stored, view) = signature::signature_by_id(&state.db, id).await?;
    let mine = viewer
        .actor()
        .is_some_and(|a| a.label() == stored.signed_by);
    let officer = session.account.role().can(Permission::ReadRecords)
        && !signature::signatures_for(
            &state.db,
            &session.account.scope(),
            &stored.filing_ref,
            None,
        )
        .await?
        .iter()
        .all(|v| v.id != id);
    if !(mine || officer) {
        return Err(AppError::NotFound.into());
    }
    render(
        &state,
        &viewer,
        StatusCode::OK,
        "registry/sign_receipt.html",
        json!({ "signatures": [view], "current_hash": stored.filing_hash, "filing_ref": stored.filing_ref }),
    )
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct OfficeQuery {
    filing_ref: String,
    hash: String,
}

/// `GET /office/signatures?filing_ref=REF&hash=CURRENT`: who signed a filing and whether each
/// signature verifies against the filing's current hash (officers).
async fn office_signatures(
    viewer: Viewer,
    State(state): State<AppState>,
    PageQuery(q): PageQuery<OfficeQuery>,
) -> Result<Response, PageError> {
    let session = viewer.require_login()?;
    if !session.account.role().can(Permission::ReadRecords) {
        return Err(AppError::forbidden().into());
    }
    let scope: Scope = session.account.scope();
    let filing_ref = q.filing_ref.trim();
    let hash = optional_hash(Some(&q.hash))?;
    let items = if filing_ref.is_empty() {
        None
    } else {
        let r = parse_filing_ref(filing_ref)?;
        Some(signature::signatures_for(&state.db, &scope, &r, hash.as_deref()).await?)
    };
    render(
        &state,
        &viewer,
        StatusCode::OK,
        "registry/office_signatures.html",
        json!({
            "q": { "filing_ref": filing_ref, "hash": q.hash.trim() },
            "searched": items.is_some(),
            "signatures": items.unwrap_or_default(),
            "current_hash": hash,
        }),
    )
}

/// Percent-encodes a private-link token for a redirect (tokens are URL-safe already; this
/// keeps a hostile value from breaking the address).
fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
