//! Signers' keys bound to verified identities, and electronic signatures on filings.
//!
//! **The scheme.** A signer's Ed25519 key is bound to an identity the credential registry has
//! just verified: the binding record (`signer_keys`) keeps the identity (name, HKID, permit),
//! the registry's reference, which verifier answered and when, and the public key. Two kinds:
//!
//! - **held** (the browser path, as the electronic business-licence apps do): the platform's
//!   signing service creates the key pair at the signer's first signature and keeps the
//!   secret half encrypted under the signer's signing PIN (6–12 digits): the 32 secret bytes
//!   are XORed with 32 bytes Argon2id derives from the PIN and a random 16-byte salt of this
//!   key alone. Each signature needs the identity verified again in the same request *and*
//!   the PIN; the unwrapped key must reproduce the stored public key, so a wrong PIN is
//!   recognised. Five wrong PINs in a row lock the key for [`LOCK_MINUTES`] minutes.
//! - **brought** (the API path): the signer keeps the secret key (`amr sign keygen`) and
//!   binds the public half by proving possession: a signature over
//!   [`binding_message`] (`amr-key-binding-v1:HKID:PERMIT8:PUBLICKEY`). Filings are then
//!   signed offline (`amr sign filing-hash HASH --key FILE`) and the signature is submitted.
//!
//! A filing signature covers [`filing_message`]: `amr-filing-signature-v1:` followed by the
//! filing's canonical SHA-256 in lower-case hex. The prefixes keep a signature made for one
//! purpose from being replayed for the other.
//!
//! [`sign_filing`] / [`record_signature`] store a signature (with its audit entry and the
//! internal event `registry.filing.signed`, in one transaction); [`signatures_for`] answers who
//! signed a filing, when, over which hash, and whether each signature verifies *now*: the
//! signature checked again against the bound key, the key still bound, and the signed hash
//! equal to the filing's current hash (a filing changed after signing shows as not matching).

use chrono::{DateTime, Utc};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::Serialize;
use serde_json::json;

use amr_kernel::audit::{self, Actor};
use amr_kernel::auth::Scope;
use amr_kernel::db::{Db, Tx};
use amr_kernel::error::AppError;
use amr_kernel::events::{self, NewEvent};
use amr_kernel::{on_conn, on_tx};

use super::hkid::HkId;
use super::permit::TravelPermit;
use super::verifier::{VerifiedIdentity, valid_reference};

/// Consecutive wrong PINs before a held key locks.
pub const MAX_PIN_FAILURES: i64 = 5;
/// How long a held key stays locked after too many wrong PINs.
pub const LOCK_MINUTES: i64 = 30;

/// What a filing signature signs.
pub fn filing_message(filing_hash: &str) -> Vec<u8> {
    format!("amr-filing-signature-v1:{filing_hash}").into_bytes()
}

/// What a signer signs to bind a key they bring.
pub fn binding_message(hkid: &HkId, permit: &TravelPermit, public_key_hex: &str) -> Vec<u8> {
    format!(
        "amr-key-binding-v1:{}:{}:{}",
        hkid.as_str(),
        permit.permanent_number(),
        public_key_hex
    )
    .into_bytes()
}

/// A filing's canonical SHA-256, 64 hex digits (either case; stored in lower case).
pub fn parse_filing_hash(s: &str) -> Result<String, AppError> {
    let s = s.trim();
    if s.len() != 64 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(AppError::bad_request(
            "filing_hash",
            "申报材料哈希应为 64 位十六进制（SHA-256） \
             (the filing hash must be 64 hex digits: a SHA-256)",
        ));
    }
    Ok(s.to_ascii_lowercase())
}

/// A filing reference: 1–64 letters, digits or `._:/-`.
pub fn parse_filing_ref(s: &str) -> Result<String, AppError> {
    let s = s.trim();
    if !valid_reference(s) {
        return Err(AppError::bad_request(
            "filing_ref",
            "申报编号应为 1–64 个字母、数字或 ._:/- \
             (the filing reference is 1–64 letters, digits or ._:/-)",
        ));
    }
    Ok(s.to_string())
}

/// An Ed25519 public key, 64 hex digits.
pub fn parse_public_key(s: &str) -> Result<VerifyingKey, AppError> {
    let bad = || {
        AppError::bad_request(
            "public_key",
            "公钥应为 64 位十六进制的 Ed25519 公钥 (the public key must be an Ed25519 key in \
             64 hex digits)",
        )
    };
    let bytes: [u8; 32] = hex::decode(s.trim())
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(bad)?;
    let key = VerifyingKey::from_bytes(&bytes).map_err(|_| bad())?;
    if key.is_weak() {
        return Err(bad());
    }
    Ok(key)
}

/// An Ed25519 signature, 128 hex digits.
pub fn parse_signature(s: &str, field: &str) -> Result<Signature, AppError> {
    let bytes: [u8; 64] = hex::decode(s.trim())
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| {
            AppError::bad_request(
                field,
                "签名应为 128 位十六进制的 Ed25519 签名 (the signature must be an Ed25519 \
                 signature in 128 hex digits)",
            )
        })?;
    Ok(Signature::from_bytes(&bytes))
}

/// A signing PIN: 6–12 digits.
pub fn check_pin(pin: &str) -> Result<(), AppError> {
    if (6..=12).contains(&pin.len()) && pin.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(AppError::bad_request(
            "pin",
            "签名密码应为 6–12 位数字 (the signing PIN is 6–12 digits)",
        ))
    }
}

/// The short form of a public key people can compare: its first 16 hex digits.
pub fn fingerprint(public_key_hex: &str) -> String {
    public_key_hex.chars().take(16).collect()
}

/// A key bound to a verified identity.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct SignerKey {
    pub id: i64,
    pub name: String,
    pub hkid: String,
    pub permit: String,
    pub registry_ref: String,
    pub verifier: String,
    pub verified_at: DateTime<Utc>,
    pub public_key: String,
    /// `held` or `brought`.
    pub kind: String,
    pub bound_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    #[serde(skip)]
    held_secret: Option<String>,
    #[serde(skip)]
    held_salt: Option<String>,
    #[serde(skip)]
    failed_unlocks: i64,
    #[serde(skip)]
    locked_until: Option<DateTime<Utc>>,
}

const KEY_COLUMNS: &str = "id, name, hkid, permit, registry_ref, verifier, verified_at, \
    public_key, kind, bound_at, revoked_at, held_secret, held_salt, failed_unlocks, locked_until";

impl SignerKey {
    /// The view shown to officers and callers: masked numbers, no secrets.
    pub fn summary(&self) -> serde_json::Value {
        json!({
            "id": self.id,
            "name": self.name,
            "hkid": mask_hkid(&self.hkid),
            "permit": mask_permit(&self.permit),
            "registry_ref": self.registry_ref,
            "verifier": self.verifier,
            "verified_at": self.verified_at,
            "public_key": self.public_key,
            "fingerprint": fingerprint(&self.public_key),
            "kind": self.kind,
            "bound_at": self.bound_at,
            "revoked_at": self.revoked_at,
            "failed_unlocks": self.failed_unlocks,
            "locked_until": self.locked_until,
        })
    }
}

fn mask_hkid(stored: &str) -> String {
    HkId::parse(stored)
        .map(|h| h.masked())
        .unwrap_or_else(|_| "****".into())
}

fn mask_permit(stored: &str) -> String {
    TravelPermit::parse(stored)
        .map(|p| p.masked())
        .unwrap_or_else(|_| "****".into())
}

fn now() -> DateTime<Utc> {
    crate::store::now()
}

fn random_bytes<const N: usize>() -> [u8; N] {
    use rand::RngExt;
    let mut b = [0u8; N];
    rand::rng().fill(&mut b);
    b
}

/// 32 bytes from the PIN and salt (Argon2id, default parameters), on a blocking thread.
async fn pin_stream(pin: &str, salt: [u8; 16]) -> Result<[u8; 32], AppError> {
    let pin = pin.to_string();
    tokio::task::spawn_blocking(move || {
        let mut out = [0u8; 32];
        argon2::Argon2::default()
            .hash_password_into(pin.as_bytes(), &salt, &mut out)
            .map_err(|e| AppError::Internal(anyhow::anyhow!("argon2: {e}")))?;
        Ok(out)
    })
    .await
    .map_err(|e| AppError::Internal(e.into()))?
}

fn xor32(a: &[u8; 32], b: &[u8; 32]) -> [u8; 32] {
    let mut out = [0u8; 32];
    for i in 0..32 {
        out[i] = a[i] ^ b[i];
    }
    out
}

/// The active keys bound to an HKID number, newest first.
pub async fn keys_of(db: &Db, hkid: &HkId) -> Result<Vec<SignerKey>, AppError> {
    let sql = format!(
        "SELECT {KEY_COLUMNS} FROM signer_keys WHERE hkid = $1 AND revoked_at IS NULL ORDER BY id DESC"
    );
    Ok(
        on_conn!(db, c => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(hkid.as_str()).fetch_all(c).await?),
    )
}

/// The binding of a public key (hex), if any.
pub async fn key_by_public(db: &Db, public_key_hex: &str) -> Result<Option<SignerKey>, AppError> {
    let sql = format!("SELECT {KEY_COLUMNS} FROM signer_keys WHERE public_key = $1");
    Ok(
        on_conn!(db, c => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(public_key_hex).fetch_optional(c).await?),
    )
}

async fn key_in_tx(tx: &mut Tx, id: i64) -> Result<SignerKey, AppError> {
    let sql = format!("SELECT {KEY_COLUMNS} FROM signer_keys WHERE id = $1");
    Ok(on_tx!(tx, c => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_one(&mut *c).await?))
}

/// Inserts a binding with its audit entry and internal event `registry.signer.key_bound`.
async fn insert_key(
    tx: &mut Tx,
    actor: &Actor,
    who: &VerifiedIdentity,
    public_key_hex: &str,
    kind: &str,
    held: Option<(String, String)>,
) -> Result<SignerKey, AppError> {
    let (secret, salt) = held.unzip();
    let at = now();
    let inserted = on_tx!(tx, c => sqlx::query(
        "INSERT INTO signer_keys (name, hkid, permit, registry_ref, verifier, verified_at, \
         public_key, kind, held_secret, held_salt, failed_unlocks, bound_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 0, $11) ON CONFLICT DO NOTHING",
    )
    .bind(&who.name)
    .bind(who.hkid.as_str())
    .bind(who.permit.as_str())
    .bind(&who.registry_ref)
    .bind(&who.verifier)
    .bind(who.verified_at)
    .bind(public_key_hex)
    .bind(kind)
    .bind(&secret)
    .bind(&salt)
    .bind(at)
    .execute(&mut *c)
    .await?
    .rows_affected());
    if inserted == 0 {
        return Err(AppError::Conflict(
            "该公钥已绑定，或该证件已有平台托管的签名密钥 \
             (this public key is already bound, or this identity already has a held key)"
                .into(),
        ));
    }
    let sql = format!("SELECT {KEY_COLUMNS} FROM signer_keys WHERE public_key = $1");
    let key: SignerKey = on_tx!(tx, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(public_key_hex)
        .fetch_one(&mut *c)
        .await?);
    let summary = key.summary();
    events::append(
        tx,
        NewEvent::internal(
            "registry.signer.key_bound",
            json!({
                "key_id": key.id,
                "kind": kind,
                "fingerprint": fingerprint(public_key_hex),
                "verifier": who.verifier,
                "registry_ref": who.registry_ref,
            }),
        )
        .actor(actor.label()),
    )
    .await?;
    audit::record(
        tx,
        actor,
        audit::Change {
            action: "signer.key.bind",
            target_kind: "signer_key",
            target_id: key.id.to_string(),
            division: None,
            before: None,
            after: Some(summary),
        },
    )
    .await?;
    Ok(key)
}

/// Binds a key the signer brings to an identity just verified; `proof` is the signer's
/// signature over [`binding_message`] with that key. 201-worthy; 409 if the key is bound.
pub async fn bind_brought_key(
    db: &Db,
    actor: &Actor,
    who: &VerifiedIdentity,
    public_key: &VerifyingKey,
    proof: &Signature,
) -> Result<SignerKey, AppError> {
    let pk = hex::encode(public_key.to_bytes());
    public_key
        .verify_strict(&binding_message(&who.hkid, &who.permit, &pk), proof)
        .map_err(|_| {
            AppError::rejected(
                "绑定证明无效：请用该私钥对绑定声明签名（amr sign binding） \
                 (the binding proof does not verify: sign the binding statement with this key, \
                 see amr sign binding)",
            )
        })?;
    let mut tx = db.begin().await?;
    let key = insert_key(&mut tx, actor, who, &pk, "brought", None).await?;
    tx.commit().await?;
    Ok(key)
}

/// A filing to sign or a signature to record.
#[derive(Debug, Clone)]
pub struct FilingToSign {
    /// The filing's reference (its number).
    pub reference: String,
    /// The filing's canonical SHA-256, lower-case hex (see [`parse_filing_hash`]).
    pub hash: String,
    /// The division the filing belongs to, for jurisdiction-scoped reading.
    pub division: Option<String>,
}

/// A stored signature.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct FilingSignature {
    pub id: i64,
    pub filing_ref: String,
    pub division: Option<String>,
    pub filing_hash: String,
    pub key_id: i64,
    pub signature: String,
    pub signed_at: DateTime<Utc>,
    /// Who submitted it (an actor label).
    pub signed_by: String,
}

/// A stored signature by id, with the view of it ([`signatures_for`]'s form, checked against
/// the hash it signed). Used for the signer's receipt.
pub async fn signature_by_id(
    db: &Db,
    id: i64,
) -> Result<(FilingSignature, SignatureView), AppError> {
    let s: FilingSignature = on_conn!(db, c => sqlx::query_as(
        "SELECT id, filing_ref, division, filing_hash, key_id, signature, signed_at, signed_by \
         FROM filing_signatures WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(c)
    .await?)
    .ok_or(AppError::NotFound)?;
    let view = signatures_for(db, &Scope::all(), &s.filing_ref, Some(&s.filing_hash))
        .await?
        .into_iter()
        .find(|v| v.id == id)
        .ok_or(AppError::NotFound)?;
    Ok((s, view))
}

/// Signs a filing with the identity's held key (the browser path): the identity was just
/// verified by the caller; the PIN unlocks the key, or creates it at the first signature.
/// Wrong PINs are counted (in their own transaction); the fifth in a row locks the key.
pub async fn sign_filing(
    db: &Db,
    actor: &Actor,
    who: &VerifiedIdentity,
    pin: &str,
    filing: &FilingToSign,
) -> Result<FilingSignature, AppError> {
    check_pin(pin)?;
    let held = keys_of(db, &who.hkid)
        .await?
        .into_iter()
        .find(|k| k.kind == "held");
    // The key is made or unwrapped (Argon2, tens of milliseconds) before the write
    // transaction opens, so SQLite's write lock is not held meanwhile.
    match held {
        None => {
            let secret: [u8; 32] = random_bytes();
            let salt: [u8; 16] = random_bytes();
            let signing = SigningKey::from_bytes(&secret);
            let stream = pin_stream(pin, salt).await?;
            let pk = hex::encode(signing.verifying_key().to_bytes());
            let wrapped = (hex::encode(xor32(&secret, &stream)), hex::encode(salt));
            let signature = signing.sign(&filing_message(&filing.hash));
            let mut tx = db.begin().await?;
            let key = insert_key(&mut tx, actor, who, &pk, "held", Some(wrapped)).await?;
            let out = insert_signature(&mut tx, actor, key.id, &signature, filing).await?;
            tx.commit().await?;
            Ok(out)
        }
        Some(k) => {
            if let Some(until) = k.locked_until
                && until > Utc::now()
            {
                return Err(locked(until));
            }
            let secret = k.held_secret.as_deref().and_then(|s| hex::decode(s).ok());
            let salt = k.held_salt.as_deref().and_then(|s| hex::decode(s).ok());
            let (Some(Ok(secret)), Some(Ok(salt))) = (
                secret.map(<[u8; 32]>::try_from),
                salt.map(<[u8; 16]>::try_from),
            ) else {
                return Err(AppError::Internal(anyhow::anyhow!(
                    "held key {} has no usable wrapped secret",
                    k.id
                )));
            };
            let signing = SigningKey::from_bytes(&xor32(&secret, &pin_stream(pin, salt).await?));
            if hex::encode(signing.verifying_key().to_bytes()) != k.public_key {
                return Err(record_wrong_pin(db, actor, &k).await);
            }
            let signature = signing.sign(&filing_message(&filing.hash));
            let mut tx = db.begin().await?;
            on_tx!(tx, c => sqlx::query(
                "UPDATE signer_keys SET failed_unlocks = 0, locked_until = NULL \
                 WHERE id = $1 AND failed_unlocks <> 0",
            )
            .bind(k.id)
            .execute(&mut *c)
            .await?
            .rows_affected());
            let out = insert_signature(&mut tx, actor, k.id, &signature, filing).await?;
            tx.commit().await?;
            Ok(out)
        }
    }
}

fn locked(until: DateTime<Utc>) -> AppError {
    AppError::TooManyRequests(format!(
        "签名密码错误次数过多，密钥已锁定至 {} UTC (too many wrong PINs; the key is locked until \
         {} UTC)",
        until.format("%Y-%m-%d %H:%M"),
        until.format("%Y-%m-%d %H:%M")
    ))
}

/// Counts a wrong PIN (in a transaction of its own, audited) and answers the refusal; the
/// [`MAX_PIN_FAILURES`]th in a row locks the key for [`LOCK_MINUTES`] minutes.
async fn record_wrong_pin(db: &Db, actor: &Actor, k: &SignerKey) -> AppError {
    let written: Result<(i64, Option<DateTime<Utc>>), AppError> = async {
        let mut tx = db.begin().await?;
        let failures: i64 = on_tx!(tx, c => sqlx::query_scalar(
            "UPDATE signer_keys SET failed_unlocks = failed_unlocks + 1 WHERE id = $1 \
             RETURNING failed_unlocks",
        )
        .bind(k.id)
        .fetch_one(&mut *c)
        .await?);
        let locked_until =
            (failures >= MAX_PIN_FAILURES).then(|| now() + chrono::Duration::minutes(LOCK_MINUTES));
        if let Some(until) = locked_until {
            on_tx!(tx, c => sqlx::query(
                "UPDATE signer_keys SET failed_unlocks = 0, locked_until = $1 WHERE id = $2",
            )
            .bind(until)
            .bind(k.id)
            .execute(&mut *c)
            .await?
            .rows_affected());
        }
        audit::record(
            &mut tx,
            actor,
            audit::Change {
                action: "signer.key.wrong_pin",
                target_kind: "signer_key",
                target_id: k.id.to_string(),
                division: None,
                before: None,
                after: Some(json!({"failures": failures, "locked_until": locked_until})),
            },
        )
        .await?;
        tx.commit().await?;
        Ok((failures, locked_until))
    }
    .await;
    match written {
        Err(e) => e,
        Ok((_, Some(until))) => locked(until),
        Ok((failures, None)) => AppError::rejected(format!(
            "签名密码不正确，还可尝试 {} 次 (wrong signing PIN; {} tries left)",
            MAX_PIN_FAILURES - failures,
            MAX_PIN_FAILURES - failures
        )),
    }
}

/// Records a signature made offline with a brought key: the key must be bound and not
/// revoked, and the signature must verify over [`filing_message`] before anything is stored.
pub async fn record_signature(
    db: &Db,
    actor: &Actor,
    public_key: &VerifyingKey,
    signature: &Signature,
    filing: &FilingToSign,
) -> Result<FilingSignature, AppError> {
    let pk = hex::encode(public_key.to_bytes());
    let key = key_by_public(db, &pk)
        .await?
        .filter(|k| k.revoked_at.is_none())
        .ok_or_else(|| {
            AppError::rejected(
                "该公钥未绑定到已核验的身份，请先绑定 (POST /api/v1/signers/keys) \
                 (this public key is not bound to a verified identity; bind it first)",
            )
        })?;
    public_key
        .verify_strict(&filing_message(&filing.hash), signature)
        .map_err(|_| {
            AppError::rejected(
                "签名无效：与公钥和申报材料哈希不符 (the signature does not verify against this \
                 key and filing hash)",
            )
        })?;
    let mut tx = db.begin().await?;
    let out = insert_signature(&mut tx, actor, key.id, signature, filing).await?;
    tx.commit().await?;
    Ok(out)
}

/// Stores a signature (idempotent: the same key signing the same hash of the same filing
/// again answers the stored one and writes nothing), with its audit entry and event.
async fn insert_signature(
    tx: &mut Tx,
    actor: &Actor,
    key_id: i64,
    signature: &Signature,
    filing: &FilingToSign,
) -> Result<FilingSignature, AppError> {
    let sig_hex = hex::encode(signature.to_bytes());
    let inserted = on_tx!(tx, c => sqlx::query(
        "INSERT INTO filing_signatures (filing_ref, division, filing_hash, key_id, signature, signed_at, signed_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (filing_ref, key_id, filing_hash) DO NOTHING",
    )
    .bind(&filing.reference)
    .bind(&filing.division)
    .bind(&filing.hash)
    .bind(key_id)
    .bind(&sig_hex)
    .bind(now())
    .bind(actor.label())
    .execute(&mut *c)
    .await?
    .rows_affected());
    let stored: FilingSignature = on_tx!(tx, c => sqlx::query_as(
        "SELECT id, filing_ref, division, filing_hash, key_id, signature, signed_at, signed_by \
         FROM filing_signatures WHERE filing_ref = $1 AND key_id = $2 AND filing_hash = $3",
    )
    .bind(&filing.reference)
    .bind(key_id)
    .bind(&filing.hash)
    .fetch_one(&mut *c)
    .await?);
    if inserted == 0 {
        return Ok(stored);
    }
    let key = key_in_tx(tx, key_id).await?;
    let mut event = NewEvent::internal(
        "registry.filing.signed",
        json!({
            "filing_ref": stored.filing_ref,
            "filing_hash": stored.filing_hash,
            "signature_id": stored.id,
            "key_id": key_id,
            "fingerprint": fingerprint(&key.public_key),
            "kind": key.kind,
        }),
    )
    .actor(actor.label());
    if let Some(d) = &filing.division {
        event = event.division(d.clone());
    }
    events::append(tx, event).await?;
    audit::record(
        tx,
        actor,
        audit::Change {
            action: "filing.sign",
            target_kind: "filing",
            target_id: stored.filing_ref.clone(),
            division: filing.division.clone(),
            before: None,
            after: Some(json!({
                "signature_id": stored.id,
                "filing_hash": stored.filing_hash,
                "signer": key.name,
                "hkid": mask_hkid(&key.hkid),
                "key_id": key_id,
                "fingerprint": fingerprint(&key.public_key),
            })),
        },
    )
    .await?;
    Ok(stored)
}

/// One signature as the officer sees it.
#[derive(Debug, Clone, Serialize)]
pub struct SignatureView {
    pub id: i64,
    pub filing_ref: String,
    pub signer_name: String,
    /// Masked: `A12****(*)`.
    pub hkid: String,
    /// Masked: `H1234****`.
    pub permit: String,
    pub registry_ref: String,
    pub verifier: String,
    pub verified_at: DateTime<Utc>,
    pub key_kind: String,
    pub public_key: String,
    pub fingerprint: String,
    pub signed_at: DateTime<Utc>,
    pub filing_hash: String,
    pub signature: String,
    /// The signature checks against the bound key over the hash it signed.
    pub signature_valid: bool,
    /// The key is still bound (not revoked).
    pub key_active: bool,
    /// The signed hash is the filing's current hash (`None` when no current hash was given).
    pub hash_matches: Option<bool>,
    /// All of the above: the signature stands for the filing as it is now.
    pub verifies: bool,
}

#[derive(sqlx::FromRow)]
struct SignatureRow {
    id: i64,
    filing_ref: String,
    filing_hash: String,
    signature: String,
    signed_at: DateTime<Utc>,
    name: String,
    hkid: String,
    permit: String,
    registry_ref: String,
    verifier: String,
    verified_at: DateTime<Utc>,
    kind: String,
    public_key: String,
    revoked_at: Option<DateTime<Utc>>,
}

/// Who signed filing `filing_ref`, oldest first, each checked again now against its key and
/// against `current_hash` (the filing's canonical hash as it stands; `None` if unknown).
/// Signatures outside `scope` are left out (a filing without a division is seen only by the
/// whole country).
pub async fn signatures_for(
    db: &Db,
    scope: &Scope,
    filing_ref: &str,
    current_hash: Option<&str>,
) -> Result<Vec<SignatureView>, AppError> {
    let sql = "SELECT s.id, s.filing_ref, s.filing_hash, s.signature, s.signed_at, k.name, k.hkid, \
         k.permit, k.registry_ref, k.verifier, k.verified_at, k.kind, k.public_key, k.revoked_at \
         FROM filing_signatures s JOIN signer_keys k ON k.id = s.key_id \
         WHERE s.filing_ref = $1 AND ($2 = '%' OR s.division LIKE $2) ORDER BY s.id";
    let rows: Vec<SignatureRow> = on_conn!(db, c => sqlx::query_as(sql)
        .bind(filing_ref)
        .bind(scope.like_pattern())
        .fetch_all(c)
        .await?);
    let current = current_hash.map(str::to_ascii_lowercase);
    Ok(rows
        .into_iter()
        .map(|r| {
            let signature_valid = check_stored(&r.public_key, &r.signature, &r.filing_hash);
            let key_active = r.revoked_at.is_none();
            let hash_matches = current.as_deref().map(|h| h == r.filing_hash);
            SignatureView {
                id: r.id,
                filing_ref: r.filing_ref,
                signer_name: r.name,
                hkid: mask_hkid(&r.hkid),
                permit: mask_permit(&r.permit),
                registry_ref: r.registry_ref,
                verifier: r.verifier,
                verified_at: r.verified_at,
                key_kind: r.kind,
                fingerprint: fingerprint(&r.public_key),
                public_key: r.public_key,
                signed_at: r.signed_at,
                filing_hash: r.filing_hash,
                signature: r.signature,
                signature_valid,
                key_active,
                hash_matches,
                verifies: signature_valid && key_active && hash_matches == Some(true),
            }
        })
        .collect())
}

/// Checks a stored signature (hex) against a stored key (hex) over a stored hash.
fn check_stored(public_key_hex: &str, signature_hex: &str, filing_hash: &str) -> bool {
    let Ok(key) = parse_public_key(public_key_hex) else {
        return false;
    };
    let Ok(sig) = parse_signature(signature_hex, "signature") else {
        return false;
    };
    key.verify_strict(&filing_message(filing_hash), &sig)
        .is_ok()
}

/// A brought key as a signer keeps it: a file with the 32-byte Ed25519 secret in 64 hex
/// digits (what `amr sign keygen` writes).
#[derive(Debug)]
pub struct KeyFile {
    key: SigningKey,
}

impl KeyFile {
    /// A new random key.
    pub fn generate() -> KeyFile {
        KeyFile {
            key: SigningKey::from_bytes(&random_bytes()),
        }
    }

    /// Parses the file's text; a clear error for anything but 64 hex digits.
    pub fn parse(text: &str) -> Result<KeyFile, AppError> {
        let bytes: [u8; 32] = hex::decode(text.trim())
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| {
                AppError::bad_request(
                    "key",
                    "密钥文件应为 64 位十六进制的 Ed25519 私钥 (the key file must hold an Ed25519 \
                     secret key in 64 hex digits)",
                )
            })?;
        Ok(KeyFile {
            key: SigningKey::from_bytes(&bytes),
        })
    }

    /// The file's text.
    pub fn secret_hex(&self) -> String {
        hex::encode(self.key.to_bytes())
    }

    pub fn public_key_hex(&self) -> String {
        hex::encode(self.key.verifying_key().to_bytes())
    }

    /// The signature (hex) over a filing hash, as `POST /api/v1/signatures` takes it.
    pub fn sign_filing_hash(&self, filing_hash: &str) -> Result<String, AppError> {
        let hash = parse_filing_hash(filing_hash)?;
        Ok(hex::encode(
            self.key.sign(&filing_message(&hash)).to_bytes(),
        ))
    }

    /// The binding proof (hex) for `POST /api/v1/signers/keys`.
    pub fn binding_proof(&self, hkid: &HkId, permit: &TravelPermit) -> String {
        let msg = binding_message(hkid, permit, &self.public_key_hex());
        hex::encode(self.key.sign(&msg).to_bytes())
    }
}
