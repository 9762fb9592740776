//! The deployment's signing keys: one Ed25519 key pair signs what the deployment vouches for
//! (enterprise codes, transparency checkpoints, outbound agency messages), and its public half
//! is published so anyone can check a signature offline.
//!
//! # Where the keys live
//!
//! - The **secret** half lives in a key file (default `data/keys/signing.key`, the setting
//!   `signing_key_file`), created on first start with mode `0600` in a folder created with mode
//!   `0700`. It never enters the database, so a leaked database dump or backup cannot forge
//!   anything. A key file that others can read is refused at start-up (like `ssh` does).
//!   Servers that share one database should share one key file.
//! - The **public** halves live in the table `signing_keys`, current and retired alike, so
//!   every server publishes the same set (`GET /api/v1/keys`) and what an old key signed still
//!   verifies after a rotation. Publishing a key writes its audit entry and the event
//!   `kernel.signing_key.published` in one transaction; retiring one writes
//!   `kernel.signing_key.retired`. The events are internal (the keys' publication is
//!   `GET /api/v1/keys`), so a fresh server's public change stream stays empty.
//!
//! # Identifiers and formats
//!
//! A key's id ([`KeyId`]) is the first 6 bytes of the SHA-256 of its public key, written as
//! 8 characters of unpadded base64url: short enough to ride in a QR code, and derived from the
//! key so it cannot disagree with it. Public keys are published as standard base64 (44
//! characters); [`parse_public_key`] also takes hex (64 characters) and base64url, and
//! [`parse_key_set`] takes the JSON of `GET /api/v1/keys` or one of its entries.
//!
//! # Signing
//!
//! [`Keyring::sign`] signs bytes with the current key and returns the key id with the
//! signature; [`verify`] checks a signature by key id against the published keys
//! ([`verify_with`] against one public key, offline). Signatures are checked strictly
//! (`verify_strict`: no small-order keys, canonical encodings). The same key signs several
//! kinds of message, so every caller must make its message say what it is (start it with a
//! fixed tag such as `AMR enterprise code v1\n`), so a signature over one kind can never be
//! passed off as another.
//!
//! # Rotation
//!
//! [`rotate`] (`amr signing-key rotate`) makes a new key, writes it over the key file and
//! retires every other key: retired keys are no longer used to sign but stay published and
//! verify what they signed. Running servers pick the new key up when restarted.

use std::collections::HashMap;
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chrono::{DateTime, SubsecRound, Utc};
use ed25519_dalek::{Signer, SigningKey};
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};

pub use ed25519_dalek::VerifyingKey;

use crate::audit::{self, Actor};
use crate::db::{Db, Tx};
use crate::error::AppError;
use crate::events::{self, NewEvent};
use crate::{on_conn, on_tx};

/// The only algorithm in use.
pub const ALGORITHM: &str = "ed25519";
/// Bytes of a [`KeyId`].
pub const KEY_ID_LEN: usize = 6;
/// Bytes of a signature.
pub const SIGNATURE_LEN: usize = 64;
/// The default key file, relative to the working directory (beside `data/amr.db`).
pub const DEFAULT_KEY_FILE: &str = "data/keys/signing.key";

/// The id of a signing key: the first 6 bytes of the SHA-256 of its public key.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId([u8; KEY_ID_LEN]);

impl KeyId {
    /// The id of `key`.
    pub fn of(key: &VerifyingKey) -> KeyId {
        let digest = Sha256::digest(key.as_bytes());
        let mut id = [0u8; KEY_ID_LEN];
        id.copy_from_slice(&digest[..KEY_ID_LEN]);
        KeyId(id)
    }

    pub fn from_bytes(bytes: [u8; KEY_ID_LEN]) -> KeyId {
        KeyId(bytes)
    }

    pub fn as_bytes(&self) -> &[u8; KEY_ID_LEN] {
        &self.0
    }

    /// Parses the 8-character base64url form.
    pub fn parse(s: &str) -> Result<KeyId, String> {
        let bytes = URL_SAFE_NO_PAD.decode(s.trim()).ok();
        match bytes.and_then(|b| <[u8; KEY_ID_LEN]>::try_from(b.as_slice()).ok()) {
            Some(b) => Ok(KeyId(b)),
            None => Err(format!(
                "密钥编号 {s:?} 格式不对，应为 8 个 base64url 字符 (a key id is 8 base64url characters)"
            )),
        }
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&URL_SAFE_NO_PAD.encode(self.0))
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({self})")
    }
}

impl Serialize for KeyId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A signature with the id of the key that made it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Signed {
    pub key_id: KeyId,
    pub signature: [u8; SIGNATURE_LEN],
}

/// The current signing key of this process. The secret never leaves it (its `Debug` shows the
/// key id only).
pub struct Keyring {
    id: KeyId,
    key: SigningKey,
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyring").field("id", &self.id).finish()
    }
}

impl Keyring {
    /// Opens the key in `path`, creating it (and publishing its public half) on first run.
    /// Refuses a key file that others can read, a file that is not a key, and a key that was
    /// retired.
    pub async fn open(db: &Db, path: &Path) -> Result<Keyring, AppError> {
        let key = match read_key_file(path)? {
            Some(k) => k,
            None => create_key_file(path)?,
        };
        let ring = Keyring::from_signing_key(key);
        let mut tx = db.begin().await?;
        match find_in(&mut tx, ring.id).await? {
            Some(p) if p.public_key != ring.verifying_key() => {
                return Err(AppError::Internal(anyhow::anyhow!(
                    "signing key id {} is published for another public key",
                    ring.id
                )));
            }
            Some(p) if p.retired_at.is_some() => {
                return Err(AppError::config(
                    "signing_key_file",
                    format!(
                        "密钥文件 {} 中的密钥 {} 已停用，请换用当前密钥文件或运行 amr signing-key rotate \
                         (the key in this file was retired; use the current key file or rotate)",
                        path.display(),
                        ring.id
                    ),
                ));
            }
            Some(_) => {}
            None => publish(&mut tx, &Actor::system(), &ring.verifying_key()).await?,
        }
        tx.commit().await?;
        Ok(ring)
    }

    /// A key that lives in memory only and is not published (for tests and tools).
    pub fn from_secret(seed: [u8; 32]) -> Keyring {
        Keyring::from_signing_key(SigningKey::from_bytes(&seed))
    }

    fn from_signing_key(key: SigningKey) -> Keyring {
        Keyring {
            id: KeyId::of(&key.verifying_key()),
            key,
        }
    }

    pub fn key_id(&self) -> KeyId {
        self.id
    }

    pub fn verifying_key(&self) -> VerifyingKey {
        self.key.verifying_key()
    }

    /// Signs `message` with the current key.
    pub fn sign(&self, message: &[u8]) -> Signed {
        Signed {
            key_id: self.id,
            signature: self.key.sign(message).to_bytes(),
        }
    }
}

/// Checks `signature` over `message` against one public key (strict Ed25519).
pub fn verify_with(key: &VerifyingKey, message: &[u8], signature: &[u8; SIGNATURE_LEN]) -> bool {
    let sig = ed25519_dalek::Signature::from_bytes(signature);
    key.verify_strict(message, &sig).is_ok()
}

/// What checking a signature by key id found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verification {
    /// The signature is good; `retired` says whether the key has since been retired.
    Valid { retired: bool },
    /// No published key has this id.
    UnknownKey,
    /// The key exists and the signature does not match.
    BadSignature,
}

/// Checks a signature by the id of the key that made it, against the published keys.
pub async fn verify(
    db: &Db,
    key_id: KeyId,
    message: &[u8],
    signature: &[u8; SIGNATURE_LEN],
) -> Result<Verification, AppError> {
    Ok(match find(db, key_id).await? {
        None => Verification::UnknownKey,
        Some(p) if verify_with(&p.public_key, message, signature) => Verification::Valid {
            retired: p.retired_at.is_some(),
        },
        Some(_) => Verification::BadSignature,
    })
}

/// A published public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedKey {
    pub id: KeyId,
    pub public_key: VerifyingKey,
    pub created_at: DateTime<Utc>,
    pub retired_at: Option<DateTime<Utc>>,
}

impl PublishedKey {
    /// The JSON form of `GET /api/v1/keys`:
    /// `{"id", "algorithm", "public_key" (base64), "public_key_hex", "created_at", "retired_at",
    /// "status" ("active" | "retired")}`.
    pub fn to_json(&self) -> serde_json::Value {
        json!({
            "id": self.id,
            "algorithm": ALGORITHM,
            "public_key": encode_public_key(&self.public_key),
            "public_key_hex": hex::encode(self.public_key.as_bytes()),
            "created_at": self.created_at,
            "retired_at": self.retired_at,
            "status": if self.retired_at.is_some() { "retired" } else { "active" },
        })
    }
}

#[derive(sqlx::FromRow)]
struct KeyRow {
    key_id: String,
    public_key: String,
    created_at: DateTime<Utc>,
    retired_at: Option<DateTime<Utc>>,
}

impl TryFrom<KeyRow> for PublishedKey {
    type Error = AppError;

    fn try_from(r: KeyRow) -> Result<PublishedKey, AppError> {
        let bad = |what: &str| {
            AppError::Internal(anyhow::anyhow!("signing_keys row {}: bad {what}", r.key_id))
        };
        Ok(PublishedKey {
            id: KeyId::parse(&r.key_id).map_err(|_| bad("key_id"))?,
            public_key: parse_public_key(&r.public_key).map_err(|_| bad("public_key"))?,
            created_at: r.created_at,
            retired_at: r.retired_at,
        })
    }
}

/// Every published key, oldest first.
pub async fn published(db: &Db) -> Result<Vec<PublishedKey>, AppError> {
    let rows: Vec<KeyRow> = on_conn!(db, c => sqlx::query_as(
        "SELECT key_id, public_key, created_at, retired_at FROM signing_keys ORDER BY created_at, key_id",
    )
    .fetch_all(c)
    .await?);
    rows.into_iter().map(PublishedKey::try_from).collect()
}

/// The published key with this id, if any.
pub async fn find(db: &Db, id: KeyId) -> Result<Option<PublishedKey>, AppError> {
    let row: Option<KeyRow> = on_conn!(db, c => sqlx::query_as(
        "SELECT key_id, public_key, created_at, retired_at FROM signing_keys WHERE key_id = $1",
    )
    .bind(id.to_string())
    .fetch_optional(c)
    .await?);
    row.map(PublishedKey::try_from).transpose()
}

async fn find_in(tx: &mut Tx, id: KeyId) -> Result<Option<PublishedKey>, AppError> {
    let row: Option<KeyRow> = on_tx!(tx, c => sqlx::query_as(
        "SELECT key_id, public_key, created_at, retired_at FROM signing_keys WHERE key_id = $1",
    )
    .bind(id.to_string())
    .fetch_optional(&mut *c)
    .await?);
    row.map(PublishedKey::try_from).transpose()
}

fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// Publishes a public key in `tx`, with its audit entry and public event.
async fn publish(tx: &mut Tx, actor: &Actor, key: &VerifyingKey) -> Result<(), AppError> {
    let id = KeyId::of(key);
    let encoded = encode_public_key(key);
    on_tx!(tx, c => sqlx::query(
        "INSERT INTO signing_keys (key_id, algorithm, public_key, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(id.to_string())
    .bind(ALGORITHM)
    .bind(&encoded)
    .bind(now())
    .execute(&mut *c)
    .await?
    .rows_affected());
    let body = json!({"key_id": id, "algorithm": ALGORITHM, "public_key": encoded});
    events::append(
        tx,
        NewEvent::internal("kernel.signing_key.published", body.clone()).actor(actor.label()),
    )
    .await?;
    audit::record(
        tx,
        actor,
        audit::Change {
            action: "signing_key.publish",
            target_kind: "signing_key",
            target_id: id.to_string(),
            division: None,
            before: None,
            after: Some(body),
        },
    )
    .await?;
    Ok(())
}

/// Makes a new key, writes it over the key file at `path`, publishes it and retires every
/// other key, in one transaction (the file is written first: if the commit then fails, the
/// next start publishes the key in the file). Returns the new key's id.
pub async fn rotate(db: &Db, path: &Path, actor: &Actor) -> Result<KeyId, AppError> {
    let key = SigningKey::from_bytes(&random_seed());
    let id = KeyId::of(&key.verifying_key());
    let mut tx = db.begin().await?;
    publish(&mut tx, actor, &key.verifying_key()).await?;
    let active: Vec<String> = on_tx!(tx, c => sqlx::query_scalar(
        "SELECT key_id FROM signing_keys WHERE retired_at IS NULL AND key_id <> $1 ORDER BY key_id",
    )
    .bind(id.to_string())
    .fetch_all(&mut *c)
    .await?);
    let at = now();
    for old in &active {
        on_tx!(tx, c => sqlx::query("UPDATE signing_keys SET retired_at = $2 WHERE key_id = $1")
            .bind(old)
            .bind(at)
            .execute(&mut *c)
            .await?
            .rows_affected());
        let body = json!({"key_id": old, "retired_at": at, "successor": id});
        events::append(
            &mut tx,
            NewEvent::internal("kernel.signing_key.retired", body.clone()).actor(actor.label()),
        )
        .await?;
        audit::record(
            &mut tx,
            actor,
            audit::Change {
                action: "signing_key.retire",
                target_kind: "signing_key",
                target_id: old.clone(),
                division: None,
                before: None,
                after: Some(body),
            },
        )
        .await?;
    }
    write_key_file(path, &key, true)?;
    tx.commit().await?;
    Ok(id)
}

/// The standard base64 form of a public key (44 characters), as published.
pub fn encode_public_key(key: &VerifyingKey) -> String {
    STANDARD.encode(key.as_bytes())
}

/// A public key from text: hex (64 characters) or base64 (standard or url-safe, padded or
/// not; 43–44 characters). Surrounding whitespace is ignored.
pub fn parse_public_key(text: &str) -> Result<VerifyingKey, String> {
    let t = text.trim();
    let bytes = if t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()) {
        hex::decode(t).ok()
    } else {
        let unpadded = t.trim_end_matches('=');
        URL_SAFE_NO_PAD
            .decode(unpadded.replace('+', "-").replace('/', "_"))
            .ok()
    };
    let bytes: [u8; 32] = bytes.and_then(|b| b.try_into().ok()).ok_or_else(|| {
        "公钥格式不对：应为 base64（44 个字符）或十六进制（64 个字符）的 32 字节 Ed25519 公钥 \
             (a public key is 32 bytes of Ed25519, in base64 or hex)"
            .to_string()
    })?;
    VerifyingKey::from_bytes(&bytes)
        .map_err(|_| "公钥不是有效的 Ed25519 公钥 (not a valid Ed25519 public key)".to_string())
}

/// Public keys from text: one key (see [`parse_public_key`]), one entry of `GET /api/v1/keys`
/// (`{"id": .., "public_key": ..}`), or the whole answer (`{"keys": [..]}`). Each key comes
/// with its id (computed from the key; an entry whose stated id disagrees is refused).
pub fn parse_key_set(text: &str) -> Result<HashMap<KeyId, VerifyingKey>, String> {
    let t = text.trim();
    let mut out = HashMap::new();
    if !t.starts_with('{') && !t.starts_with('[') {
        let k = parse_public_key(t)?;
        out.insert(KeyId::of(&k), k);
        return Ok(out);
    }
    let value: serde_json::Value = serde_json::from_str(t)
        .map_err(|e| format!("公钥 JSON 无法解析 (the key JSON does not parse): {e}"))?;
    let entries: Vec<&serde_json::Value> = match &value {
        serde_json::Value::Array(items) => items.iter().collect(),
        serde_json::Value::Object(o) => match o.get("keys") {
            Some(serde_json::Value::Array(items)) => items.iter().collect(),
            Some(_) => return Err("\"keys\" 应为数组 (\"keys\" must be an array)".into()),
            None => vec![&value],
        },
        _ => {
            return Err(
                "公钥 JSON 应为对象或数组 (the key JSON must be an object or array)".into(),
            );
        }
    };
    for e in entries {
        let k = e
            .get("public_key")
            .and_then(|v| v.as_str())
            .ok_or("公钥条目缺少 public_key (a key entry lacks public_key)")?;
        if let Some(alg) = e.get("algorithm").and_then(|v| v.as_str())
            && alg != ALGORITHM
        {
            return Err(format!(
                "不支持的算法 {alg:?} (unsupported algorithm; only ed25519)"
            ));
        }
        let key = parse_public_key(k)?;
        let id = KeyId::of(&key);
        if let Some(stated) = e.get("id").and_then(|v| v.as_str())
            && stated != id.to_string()
        {
            return Err(format!(
                "公钥条目的编号 {stated} 与公钥不符（应为 {id}） (the entry's id does not match its key)"
            ));
        }
        out.insert(id, key);
    }
    if out.is_empty() {
        return Err("没有公钥 (no public key given)".into());
    }
    Ok(out)
}

fn random_seed() -> [u8; 32] {
    use rand::RngExt;
    let mut seed = [0u8; 32];
    rand::rng().fill(&mut seed);
    seed
}

fn key_file_error(path: &Path, message: impl fmt::Display) -> AppError {
    AppError::config(
        "signing_key_file",
        format!("{} : {message}", path.display()),
    )
}

/// Reads the key file, or `None` if there is none.
fn read_key_file(path: &Path) -> Result<Option<SigningKey>, AppError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(key_file_error(
                path,
                format!("无法读取密钥文件 (cannot read the key file): {e}"),
            ));
        }
    };
    check_private(path)?;
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    let seed = match lines.as_slice() {
        [line] if line.len() == 64 => hex::decode(line).ok(),
        _ => None,
    };
    let seed: [u8; 32] = seed.and_then(|s| s.try_into().ok()).ok_or_else(|| {
        key_file_error(
            path,
            "不是签名密钥文件：应有一行 64 位十六进制密钥 \
             (not a signing key file: it must hold one line of 64 hex digits)",
        )
    })?;
    Ok(Some(SigningKey::from_bytes(&seed)))
}

/// Refuses a key file that anyone but its owner can read or write.
#[cfg(unix)]
fn check_private(path: &Path) -> Result<(), AppError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)
        .map_err(|e| key_file_error(path, e))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        return Err(key_file_error(
            path,
            format!(
                "密钥文件权限过宽（{:o}），只允许所有者读写：chmod 600 \
                 (the key file is open to others; run chmod 600 on it)",
                mode & 0o777
            ),
        ));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_path: &Path) -> Result<(), AppError> {
    Ok(())
}

/// Creates a new key file at `path`; if another process created one meanwhile, reads that.
fn create_key_file(path: &Path) -> Result<SigningKey, AppError> {
    let key = SigningKey::from_bytes(&random_seed());
    match write_key_file(path, &key, false) {
        Ok(()) => Ok(key),
        Err(e) => match read_key_file(path)? {
            Some(existing) => Ok(existing),
            None => Err(e),
        },
    }
}

/// Writes `key` to `path` through a temporary file in the same folder (mode 0600), so the
/// file is never seen half-written; `replace` allows overwriting an existing key file.
fn write_key_file(path: &Path, key: &SigningKey, replace: bool) -> Result<(), AppError> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    if let Some(dir) = dir
        && !dir.exists()
    {
        let mut b = std::fs::DirBuilder::new();
        b.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
        b.create(dir).map_err(|e| {
            key_file_error(
                path,
                format!("无法创建密钥目录 (cannot create the folder): {e}"),
            )
        })?;
    }
    let tmp = PathBuf::from(format!("{}.{}.tmp", path.display(), std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let text = format!(
        "# AMR 签名密钥 (Ed25519 secret key of this deployment). 保密，权限 600 (keep secret, mode 600).\n\
         # key id: {}\n{}\n",
        KeyId::of(&key.verifying_key()),
        hex::encode(key.to_bytes())
    );
    let written = opts.open(&tmp).and_then(|mut f| {
        f.write_all(text.as_bytes())?;
        f.sync_all()
    });
    let placed = written.and_then(|()| {
        if replace {
            std::fs::rename(&tmp, path)
        } else {
            // A hard link fails if the target exists: two processes starting at once never
            // overwrite each other's key.
            let linked = std::fs::hard_link(&tmp, path);
            let _ = std::fs::remove_file(&tmp);
            linked
        }
    });
    if let Err(e) = placed {
        let _ = std::fs::remove_file(&tmp);
        return Err(key_file_error(
            path,
            format!("无法写入密钥文件 (cannot write the key file): {e}"),
        ));
    }
    if let Some(dir) = dir
        && let Ok(d) = std::fs::File::open(dir)
    {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_and_verifies_and_a_changed_byte_fails() {
        let ring = Keyring::from_secret([7u8; 32]);
        let msg = b"AMR test v1\nhello";
        let s = ring.sign(msg);
        assert_eq!(s.key_id, KeyId::of(&ring.verifying_key()));
        assert!(verify_with(&ring.verifying_key(), msg, &s.signature));
        let mut tampered = msg.to_vec();
        tampered[12] ^= 1;
        assert!(!verify_with(&ring.verifying_key(), &tampered, &s.signature));
        let mut bad_sig = s.signature;
        bad_sig[5] ^= 0x40;
        assert!(!verify_with(&ring.verifying_key(), msg, &bad_sig));
        let other = Keyring::from_secret([8u8; 32]);
        assert!(!verify_with(&other.verifying_key(), msg, &s.signature));
        assert_ne!(other.key_id(), ring.key_id());
    }

    #[test]
    fn key_ids_and_public_keys_round_trip_in_every_accepted_form() {
        let ring = Keyring::from_secret([9u8; 32]);
        let id = ring.key_id();
        assert_eq!(id.to_string().len(), 8);
        assert_eq!(KeyId::parse(&id.to_string()).unwrap(), id);
        assert!(KeyId::parse("abc").is_err());
        let k = ring.verifying_key();
        let b64 = encode_public_key(&k);
        assert_eq!(b64.len(), 44);
        assert_eq!(parse_public_key(&b64).unwrap(), k);
        assert_eq!(parse_public_key(b64.trim_end_matches('=')).unwrap(), k);
        assert_eq!(parse_public_key(&hex::encode(k.as_bytes())).unwrap(), k);
        let url = URL_SAFE_NO_PAD.encode(k.as_bytes());
        assert_eq!(parse_public_key(&format!("  {url}\n")).unwrap(), k);
        assert!(
            parse_public_key("not a key")
                .unwrap_err()
                .contains("公钥格式不对")
        );
        assert!(parse_public_key(&b64[..40]).is_err());
    }

    #[test]
    fn key_sets_come_from_the_published_json() {
        let a = Keyring::from_secret([1u8; 32]);
        let b = Keyring::from_secret([2u8; 32]);
        let entry = |r: &Keyring| {
            json!({"id": r.key_id(), "algorithm": "ed25519",
                   "public_key": encode_public_key(&r.verifying_key())})
        };
        let all = json!({"keys": [entry(&a), entry(&b)]}).to_string();
        let set = parse_key_set(&all).unwrap();
        assert_eq!(set.len(), 2);
        assert_eq!(set[&a.key_id()], a.verifying_key());
        let one = parse_key_set(&entry(&b).to_string()).unwrap();
        assert_eq!(one.keys().copied().collect::<Vec<_>>(), vec![b.key_id()]);
        let mut lying = entry(&a);
        lying["id"] = json!(b.key_id());
        assert!(
            parse_key_set(&lying.to_string())
                .unwrap_err()
                .contains("不符")
        );
        assert!(parse_key_set("{\"keys\": []}").is_err());
        assert!(parse_key_set("{\"keys\": 3}").is_err());
        let mut rsa = entry(&a);
        rsa["algorithm"] = json!("rsa");
        assert!(parse_key_set(&rsa.to_string()).is_err());
    }

    #[test]
    fn the_key_file_is_private_and_survives_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys/signing.key");
        let k1 = create_key_file(&path).unwrap();
        let k2 = read_key_file(&path).unwrap().unwrap();
        assert_eq!(k1.to_bytes(), k2.to_bytes());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
            let dmode = std::fs::metadata(path.parent().unwrap())
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(dmode & 0o777, 0o700);
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            let err = read_key_file(&path).unwrap_err().to_string();
            assert!(err.contains("权限过宽"), "{err}");
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        // A second creation keeps the first key.
        let k3 = create_key_file(&path).unwrap();
        assert_eq!(k3.to_bytes(), k1.to_bytes());
        std::fs::write(&path, "garbage\n").unwrap();
        let err = read_key_file(&path).unwrap_err().to_string();
        assert!(err.contains("不是签名密钥文件"), "{err}");
    }
}
