//! The wire protocol between AMR and an agency, and the offline checks of its signatures.
//!
//! Every signed text is UTF-8 JSON, sent as the HTTP body exactly as it was signed; the
//! signature covers a fixed tag + the body, so a signature over one kind of text can never be
//! passed off as another (the deployment key also signs enterprise codes and checkpoints):
//!
//! | text | tag | signed by |
//! |---|---|---|
//! | a delivery (an event for the agency) | `AMR exchange message v1\n` | the deployment |
//! | a tax-figures request | `AMR exchange tax request v1\n` | the deployment |
//! | an acknowledgement | `AMR exchange ack v1\n` | the agency |
//! | a tax-figures answer | `AMR exchange tax answer v1\n` | the agency |
//! | a bank's loan report | `AMR exchange loan report v1\n` | the bank |
//!
//! Headers: `X-AMR-Key-Id` (the signing key's id, 8 base64url characters, computed from the
//! key as the kernel does), `X-AMR-Signature` (64 bytes, standard base64),
//! `Idempotency-Key` on deliveries.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

use amr_kernel::signing::{self, KeyId, SIGNATURE_LEN, VerifyingKey};

pub const TAG_MESSAGE: &str = "AMR exchange message v1\n";
pub const TAG_TAX_REQUEST: &str = "AMR exchange tax request v1\n";
pub const TAG_ACK: &str = "AMR exchange ack v1\n";
pub const TAG_TAX_ANSWER: &str = "AMR exchange tax answer v1\n";
pub const TAG_LOAN_REPORT: &str = "AMR exchange loan report v1\n";

pub const HEADER_KEY_ID: &str = "x-amr-key-id";
pub const HEADER_SIGNATURE: &str = "x-amr-signature";
pub const HEADER_IDEMPOTENCY: &str = "idempotency-key";

/// The tag of an evidence kind.
pub fn tag_of(kind: &str) -> Option<&'static str> {
    match kind {
        "message" => Some(TAG_MESSAGE),
        "tax_request" => Some(TAG_TAX_REQUEST),
        "ack" => Some(TAG_ACK),
        "tax_answer" => Some(TAG_TAX_ANSWER),
        "loan_report" => Some(TAG_LOAN_REPORT),
        _ => None,
    }
}

/// The bytes a signature covers.
pub fn signed_bytes(tag: &str, body: &str) -> Vec<u8> {
    let mut v = Vec::with_capacity(tag.len() + body.len());
    v.extend_from_slice(tag.as_bytes());
    v.extend_from_slice(body.as_bytes());
    v
}

pub fn encode_signature(sig: &[u8; SIGNATURE_LEN]) -> String {
    STANDARD.encode(sig)
}

/// A signature from its base64 text.
pub fn parse_signature(text: &str) -> Result<[u8; SIGNATURE_LEN], String> {
    STANDARD
        .decode(text.trim())
        .ok()
        .and_then(|b| <[u8; SIGNATURE_LEN]>::try_from(b.as_slice()).ok())
        .ok_or_else(|| {
            "签名格式不对，应为 64 字节的 base64 (a signature is 64 bytes of base64)".into()
        })
}

/// Checks `signature` (base64) over `tag + body` against `key`.
pub fn check(key: &VerifyingKey, tag: &str, body: &str, signature: &str) -> bool {
    match parse_signature(signature) {
        Ok(sig) => signing::verify_with(key, &signed_bytes(tag, body), &sig),
        Err(_) => false,
    }
}

/// The id of an agency's key, as the kernel computes it for the deployment's keys.
pub fn key_id_of(key: &VerifyingKey) -> KeyId {
    KeyId::of(key)
}

/// What an agency says about a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AckStatus {
    Accepted,
    Rejected,
    Done,
}

impl AckStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AckStatus::Accepted => "accepted",
            AckStatus::Rejected => "rejected",
            AckStatus::Done => "done",
        }
    }
}

/// An acknowledgement's body (signed by the agency).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ack {
    /// The delivery's idempotency key.
    pub message_id: String,
    /// The agency's registered name.
    pub agency: String,
    pub status: AckStatus,
    /// Required when rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// When the agency wrote it (RFC 3339).
    pub at: String,
}

impl Ack {
    /// Parses an acknowledgement's body; bad text gets a reason.
    pub fn parse(body: &str) -> Result<Ack, String> {
        let ack: Ack = serde_json::from_str(body)
            .map_err(|e| format!("回执 JSON 无法解析 (the acknowledgement does not parse): {e}"))?;
        if ack.message_id.is_empty() || ack.message_id.len() > 200 {
            return Err("回执缺少 message_id (the acknowledgement lacks message_id)".into());
        }
        if ack.status == AckStatus::Rejected
            && ack.reason.as_deref().is_none_or(|r| r.trim().is_empty())
        {
            return Err("拒收回执须写明理由 (a rejection must give a reason)".into());
        }
        if ack
            .reason
            .as_deref()
            .is_some_and(|r| r.chars().count() > 1000)
        {
            return Err("理由不超过 1000 字 (the reason is at most 1000 characters)".into());
        }
        Ok(ack)
    }
}

/// A tax-figures request's body (signed by the deployment).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxRequest {
    #[serde(rename = "type")]
    pub kind: String,
    pub request_id: String,
    pub agency: String,
    pub uscc: String,
    pub year: i32,
    pub at: String,
}

/// A tax-figures answer's body (signed by the agency).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxAnswerBody {
    pub request_id: String,
    pub agency: String,
    pub uscc: String,
    pub year: i32,
    pub found: bool,
    #[serde(default)]
    pub figures: amr_kernel::tax::TaxFigures,
    pub at: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use amr_kernel::signing::Keyring;

    #[test]
    fn a_signature_is_bound_to_its_tag_and_body() {
        let ring = Keyring::from_secret([7; 32]);
        let body = r#"{"a":1}"#;
        let s = ring.sign(&signed_bytes(TAG_MESSAGE, body));
        let sig = encode_signature(&s.signature);
        assert!(check(&ring.verifying_key(), TAG_MESSAGE, body, &sig));
        assert!(!check(&ring.verifying_key(), TAG_ACK, body, &sig));
        assert!(!check(
            &ring.verifying_key(),
            TAG_MESSAGE,
            r#"{"a":2}"#,
            &sig
        ));
        assert!(!check(&ring.verifying_key(), TAG_MESSAGE, body, "AAAA"));
    }

    #[test]
    fn a_rejection_needs_a_reason() {
        let r = Ack::parse(r#"{"message_id":"tax:1","agency":"tax","status":"rejected","at":"x"}"#);
        assert!(r.is_err());
        let a = Ack::parse(r#"{"message_id":"tax:1","agency":"tax","status":"done","at":"x"}"#)
            .unwrap();
        assert_eq!(a.status, AckStatus::Done);
    }
}
