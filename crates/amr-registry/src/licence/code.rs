//! The enterprise code's payload: what it claims, how it is packed, signed and checked.
//!
//! Layout (format 1), packed and then written as unpadded base64url:
//!
//! | bytes | field |
//! |---|---|
//! | 1 | format, `1` |
//! | 18 | USCC (ASCII) |
//! | 6 | id of the signing key ([`KeyId`]) |
//! | 4 | licence version (u32, big-endian) |
//! | 4 | issue time (u32 seconds since 1970-01-01 UTC, big-endian) |
//! | n | name (UTF-8) |
//! | 64 | Ed25519 signature |
//!
//! The signature covers [`TAG`] followed by every byte before the signature, so it cannot be
//! mistaken for a signature over another kind of message made with the same key. A company
//! name of 30 characters gives a payload of 187 bytes, 250 characters of base64url.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde::Serialize;

use amr_kernel::signing::{KEY_ID_LEN, KeyId, Keyring, SIGNATURE_LEN, Signed, VerifyingKey};

/// What every signature over an enterprise code starts with.
pub const TAG: &[u8] = b"AMR enterprise code v1\n";
/// The payload format this code writes.
pub const FORMAT: u8 = 1;
/// The longest payload text accepted (a name of 300 bytes and some).
pub const MAX_TEXT: usize = 600;

const HEAD: usize = 1 + 18 + KEY_ID_LEN + 4 + 4;

/// What a code says about a licence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Claims {
    pub uscc: String,
    pub name: String,
    pub licence_version: u32,
    /// Whole seconds.
    pub issued_at: DateTime<Utc>,
}

/// A signed enterprise code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnterpriseCode {
    pub claims: Claims,
    pub key_id: KeyId,
    pub signature: [u8; SIGNATURE_LEN],
}

/// Why a text is not an enterprise code at all (a code that decodes but whose signature fails
/// is an [`EnterpriseCode`] that does not verify).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    #[error("码为空 (the code is empty)")]
    Empty,
    #[error("码过长 (the code is too long)")]
    TooLong,
    #[error(
        "码含有非 base64url 字符，不是本平台的电子营业执照码 (not base64url: not an enterprise code of this platform)"
    )]
    NotBase64,
    #[error(
        "码的长度不对，不是本平台的电子营业执照码 (wrong length: not an enterprise code of this platform)"
    )]
    Length,
    #[error("不认识的码格式 {0} (unknown code format)")]
    Format(u8),
    #[error("码中的统一社会信用代码或名称无法读取 (the code's credit code or name is unreadable)")]
    Text,
}

/// Packs `claims` for signing; `None` if the issue time is outside 1970–2106 (u32 seconds).
fn body(claims: &Claims, key_id: KeyId) -> Option<Vec<u8>> {
    let uscc = claims.uscc.as_bytes();
    if uscc.len() != 18 {
        return None;
    }
    let secs = u32::try_from(claims.issued_at.timestamp()).ok()?;
    let mut out = Vec::with_capacity(HEAD + claims.name.len() + SIGNATURE_LEN);
    out.push(FORMAT);
    out.extend_from_slice(uscc);
    out.extend_from_slice(key_id.as_bytes());
    out.extend_from_slice(&claims.licence_version.to_be_bytes());
    out.extend_from_slice(&secs.to_be_bytes());
    out.extend_from_slice(claims.name.as_bytes());
    Some(out)
}

fn message(body: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(TAG.len() + body.len());
    m.extend_from_slice(TAG);
    m.extend_from_slice(body);
    m
}

impl EnterpriseCode {
    /// Signs `claims` with the current key (the issue time is cut to whole seconds). `None`
    /// when the claims cannot be packed (a USCC that is not 18 bytes, a time outside
    /// 1970–2106).
    pub fn sign(mut claims: Claims, keys: &Keyring) -> Option<EnterpriseCode> {
        claims.issued_at = DateTime::from_timestamp(claims.issued_at.timestamp(), 0)?;
        let b = body(&claims, keys.key_id())?;
        let Signed { key_id, signature } = keys.sign(&message(&b));
        Some(EnterpriseCode {
            claims,
            key_id,
            signature,
        })
    }

    /// The payload text (unpadded base64url).
    pub fn encode(&self) -> String {
        let mut b = body(&self.claims, self.key_id).unwrap_or_default();
        b.extend_from_slice(&self.signature);
        URL_SAFE_NO_PAD.encode(b)
    }

    /// The bytes the signature covers.
    pub fn signed_message(&self) -> Vec<u8> {
        message(&body(&self.claims, self.key_id).unwrap_or_default())
    }

    /// Checks the signature against one public key.
    pub fn verify_with(&self, key: &VerifyingKey) -> bool {
        amr_kernel::signing::verify_with(key, &self.signed_message(), &self.signature)
    }

    /// Reads a payload. Takes the payload itself or a verify address that ends in it
    /// (`https://…/v/PAYLOAD`, or `…?code=PAYLOAD`), as people paste what their phone read.
    pub fn decode(text: &str) -> Result<EnterpriseCode, CodeError> {
        let t = text.trim();
        if t.is_empty() {
            return Err(CodeError::Empty);
        }
        if t.len() > MAX_TEXT + 200 {
            return Err(CodeError::TooLong);
        }
        let t = match t.rsplit_once("/v/") {
            Some((_, p)) => p,
            None => t.rsplit_once("code=").map_or(t, |(_, p)| p),
        };
        let t = t
            .split(['?', '#', '&'])
            .next()
            .unwrap_or(t)
            .trim_end_matches('=');
        if t.is_empty() {
            return Err(CodeError::Empty);
        }
        if t.len() > MAX_TEXT {
            return Err(CodeError::TooLong);
        }
        let bytes = URL_SAFE_NO_PAD
            .decode(t)
            .map_err(|_| CodeError::NotBase64)?;
        if bytes.len() < HEAD + SIGNATURE_LEN + 1 {
            return Err(CodeError::Length);
        }
        if bytes[0] != FORMAT {
            return Err(CodeError::Format(bytes[0]));
        }
        let uscc = std::str::from_utf8(&bytes[1..19]).map_err(|_| CodeError::Text)?;
        if !uscc.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(CodeError::Text);
        }
        let mut kid = [0u8; KEY_ID_LEN];
        kid.copy_from_slice(&bytes[19..19 + KEY_ID_LEN]);
        let at = 19 + KEY_ID_LEN;
        let version = u32::from_be_bytes(
            bytes[at..at + 4]
                .try_into()
                .map_err(|_| CodeError::Length)?,
        );
        let secs = u32::from_be_bytes(
            bytes[at + 4..at + 8]
                .try_into()
                .map_err(|_| CodeError::Length)?,
        );
        let sig_at = bytes.len() - SIGNATURE_LEN;
        let name = std::str::from_utf8(&bytes[HEAD..sig_at]).map_err(|_| CodeError::Text)?;
        let mut signature = [0u8; SIGNATURE_LEN];
        signature.copy_from_slice(&bytes[sig_at..]);
        Ok(EnterpriseCode {
            claims: Claims {
                uscc: uscc.to_string(),
                name: name.to_string(),
                licence_version: version,
                issued_at: DateTime::from_timestamp(i64::from(secs), 0).ok_or(CodeError::Length)?,
            },
            key_id: KeyId::from_bytes(kid),
            signature,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> Claims {
        Claims {
            uscc: "91370102MA3C4YQX0B".into(),
            name: "济南泉城示例科技有限公司".into(),
            licence_version: 3,
            issued_at: DateTime::parse_from_rfc3339("2024-05-06T07:08:09.123456Z")
                .unwrap()
                .with_timezone(&Utc),
        }
    }

    #[test]
    fn a_code_round_trips_and_verifies() {
        let keys = Keyring::from_secret([5u8; 32]);
        let code = EnterpriseCode::sign(claims(), &keys).unwrap();
        assert_eq!(code.claims.issued_at.timestamp_subsec_micros(), 0);
        let text = code.encode();
        assert!(text.len() < 200, "{} characters", text.len());
        let back = EnterpriseCode::decode(&text).unwrap();
        assert_eq!(back, code);
        assert!(back.verify_with(&keys.verifying_key()));
        // As a scanned address too.
        let url = format!("https://amr.example.gov.cn/v/{text}");
        assert_eq!(EnterpriseCode::decode(&url).unwrap(), code);
        assert_eq!(
            EnterpriseCode::decode(&format!("https://x/verify?code={text}")).unwrap(),
            code
        );
    }

    #[test]
    fn any_changed_claim_or_another_key_fails() {
        let keys = Keyring::from_secret([5u8; 32]);
        let code = EnterpriseCode::sign(claims(), &keys).unwrap();
        let mut c = code.clone();
        c.claims.licence_version = 4;
        assert!(!c.verify_with(&keys.verifying_key()));
        let mut c = code.clone();
        c.claims.name = "济南泉城示例科技有限公司分公司".into();
        assert!(!c.verify_with(&keys.verifying_key()));
        let mut c = code.clone();
        c.claims.uscc = "91370102MA3C4YQX0C".into();
        assert!(!c.verify_with(&keys.verifying_key()));
        let other = Keyring::from_secret([6u8; 32]);
        assert!(!code.verify_with(&other.verifying_key()));
        // Every single flipped byte of the payload breaks it (or its decoding).
        let raw = URL_SAFE_NO_PAD.decode(code.encode()).unwrap();
        for i in 0..raw.len() {
            let mut r = raw.clone();
            r[i] ^= 0x01;
            if let Ok(d) = EnterpriseCode::decode(&URL_SAFE_NO_PAD.encode(&r)) {
                assert!(!d.verify_with(&keys.verifying_key()), "byte {i}");
            }
        }
    }

    #[test]
    fn junk_is_refused_with_a_reason() {
        assert_eq!(EnterpriseCode::decode("  "), Err(CodeError::Empty));
        assert_eq!(EnterpriseCode::decode("abc$%"), Err(CodeError::NotBase64));
        assert_eq!(EnterpriseCode::decode("AAAA"), Err(CodeError::Length));
        assert_eq!(
            EnterpriseCode::decode(&"A".repeat(5000)),
            Err(CodeError::TooLong)
        );
        let mut raw = vec![9u8; HEAD + SIGNATURE_LEN + 3];
        raw[0] = 2;
        assert_eq!(
            EnterpriseCode::decode(&URL_SAFE_NO_PAD.encode(&raw)),
            Err(CodeError::Format(2))
        );
        assert!(CodeError::NotBase64.to_string().starts_with("码含有"));
    }
}
