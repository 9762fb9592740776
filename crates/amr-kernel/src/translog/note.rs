//! Checkpoints as signed notes (C2SP `tlog-checkpoint` in a C2SP `signed-note`).
//!
//! ```text
//! amr/transparency-log/v1
//! 1234
//! 3q2+7w...base64 of the 32-byte root...=
//!
//! — amr-AbCdEfGh Base64(key hash (4 bytes) || Ed25519 signature (64 bytes))
//! ```
//!
//! The body is the origin line, the tree size in decimal and the root hash in standard base64,
//! each ending in a newline. The signature is Ed25519 over the body's bytes, made with the
//! deployment's key through [`Keyring::sign`]. The signature line names the key `amr-<key id>`
//! (the [`KeyId`] of `GET /api/v1/keys`) and starts with the 4-byte key hash of the
//! signed-note format: `SHA-256(name || "\n" || 0x01 || public key)[..4]`, so any
//! signed-note verifier (e.g. Go's `golang.org/x/mod/sumdb/note` with the verifier key
//! `amr-<key id>+<hash hex>+<base64(0x01 || public key)>`) accepts the note as well.

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};

use super::merkle::Hash;
use crate::signing::{KeyId, Keyring, SIGNATURE_LEN, VerifyingKey, verify_with};

/// The origin line of this deployment's log (the first line of every checkpoint).
pub const DEFAULT_ORIGIN: &str = "amr/transparency-log/v1";
/// The signature-type byte of Ed25519 in the signed-note format.
const ED25519_TYPE: u8 = 0x01;
const DASH: &str = "\u{2014} ";

/// The tree head a checkpoint states.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub origin: String,
    pub size: u64,
    pub root: Hash,
}

impl Checkpoint {
    /// The signed text: origin, size and root, one a line.
    pub fn body(&self) -> String {
        format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            STANDARD.encode(self.root)
        )
    }

    /// The whole note, signed with the current key of `keys`.
    pub fn sign(&self, keys: &Keyring) -> String {
        let body = self.body();
        let signed = keys.sign(body.as_bytes());
        let name = key_name(signed.key_id);
        let mut blob = Vec::with_capacity(4 + SIGNATURE_LEN);
        blob.extend_from_slice(&key_hash(&name, &keys.verifying_key()));
        blob.extend_from_slice(&signed.signature);
        format!("{body}\n{DASH}{name} {}\n", STANDARD.encode(blob))
    }
}

/// The name a key signs checkpoints under: `amr-<key id>`.
pub fn key_name(id: KeyId) -> String {
    format!("amr-{id}")
}

/// The signed-note key hash: `SHA-256(name || "\n" || 0x01 || public key)[..4]`.
pub fn key_hash(name: &str, key: &VerifyingKey) -> [u8; 4] {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n");
    h.update([ED25519_TYPE]);
    h.update(key.as_bytes());
    let d = h.finalize();
    [d[0], d[1], d[2], d[3]]
}

/// The signed-note verifier key of `key` (for tools that speak the format).
pub fn verifier_key(key: &VerifyingKey) -> String {
    let name = key_name(KeyId::of(key));
    let mut raw = vec![ED25519_TYPE];
    raw.extend_from_slice(key.as_bytes());
    format!(
        "{name}+{}+{}",
        hex::encode(key_hash(&name, key)),
        STANDARD.encode(raw)
    )
}

/// One signature line of a note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteSignature {
    pub name: String,
    pub key_hash: [u8; 4],
    pub signature: Vec<u8>,
}

/// A note split into its parts (nothing verified yet).
#[derive(Debug, Clone)]
pub struct Note {
    pub body: String,
    pub signatures: Vec<NoteSignature>,
}

fn bad(msg: &str) -> String {
    format!("检查点格式不对：{msg}")
}

/// Splits a signed note into its body and signature lines.
pub fn parse_note(text: &str) -> Result<Note, String> {
    if !text.ends_with('\n') {
        return Err(bad("应以换行结尾 (a note ends with a newline)"));
    }
    if text.chars().any(|c| c.is_control() && c != '\n') {
        return Err(bad("含有控制字符 (a note holds no control characters)"));
    }
    let split = text
        .rfind("\n\n")
        .ok_or_else(|| bad("缺少空行与签名 (no blank line before the signatures)"))?;
    let body = &text[..split + 1];
    let mut signatures = Vec::new();
    for line in text[split + 2..].lines() {
        let rest = line.strip_prefix(DASH).ok_or_else(|| {
            bad("签名行应以 \"— \" 开头 (a signature line starts with an em dash)")
        })?;
        let (name, b64) = rest.split_once(' ').ok_or_else(|| {
            bad("签名行应为 \"— 名称 签名\" (a signature line is \"— name signature\")")
        })?;
        if name.is_empty() || name.contains('+') || b64.contains(' ') {
            return Err(bad("签名行的密钥名或签名不对 (bad key name or signature)"));
        }
        let blob = STANDARD
            .decode(b64)
            .map_err(|_| bad("签名不是 base64 (the signature is not base64)"))?;
        if blob.len() < 5 {
            return Err(bad("签名太短 (the signature is too short)"));
        }
        signatures.push(NoteSignature {
            name: name.to_string(),
            key_hash: [blob[0], blob[1], blob[2], blob[3]],
            signature: blob[4..].to_vec(),
        });
    }
    if signatures.is_empty() {
        return Err(bad("没有签名 (the note has no signature)"));
    }
    Ok(Note {
        body: body.to_string(),
        signatures,
    })
}

/// Reads the tree head from a checkpoint body (extension lines after the root are allowed and
/// ignored; they are signed with the rest).
pub fn parse_body(body: &str) -> Result<Checkpoint, String> {
    let mut lines = body.lines();
    let origin = lines
        .next()
        .filter(|l| !l.is_empty())
        .ok_or_else(|| bad("缺少来源行 (no origin line)"))?;
    let size_text = lines
        .next()
        .ok_or_else(|| bad("缺少树大小 (no tree size)"))?;
    let size_ok = !size_text.is_empty()
        && size_text.bytes().all(|b| b.is_ascii_digit())
        && (size_text == "0" || !size_text.starts_with('0'));
    let size: u64 = size_text
        .parse()
        .ok()
        .filter(|_| size_ok)
        .ok_or_else(|| bad("树大小应为十进制整数 (the tree size is a decimal number)"))?;
    let root = lines
        .next()
        .and_then(|l| STANDARD.decode(l).ok())
        .and_then(|b| <Hash>::try_from(b.as_slice()).ok())
        .ok_or_else(|| bad("根哈希应为 32 字节的 base64 (the root hash is 32 bytes of base64)"))?;
    if lines.any(str::is_empty) {
        return Err(bad("正文中有空行 (a blank line inside the body)"));
    }
    Ok(Checkpoint {
        origin: origin.to_string(),
        size,
        root,
    })
}

/// A checkpoint whose signature was checked, and by which key.
#[derive(Debug, Clone)]
pub struct Verified {
    pub checkpoint: Checkpoint,
    pub key_id: KeyId,
}

/// Checks a checkpoint note against a set of public keys: at least one signature line must
/// be by one of them and valid, and no line by one of them may be invalid. Lines by other
/// keys are ignored, as the signed-note format says.
pub fn verify_note(text: &str, keys: &HashMap<KeyId, VerifyingKey>) -> Result<Verified, String> {
    let note = parse_note(text)?;
    let checkpoint = parse_body(&note.body)?;
    let mut good = None;
    for s in &note.signatures {
        for (id, key) in keys {
            if s.key_hash != key_hash(&s.name, key) {
                continue;
            }
            let sig: Option<[u8; SIGNATURE_LEN]> = s.signature.as_slice().try_into().ok();
            if !sig.is_some_and(|sig| verify_with(key, note.body.as_bytes(), &sig)) {
                return Err(format!(
                    "检查点签名无效 (the checkpoint's signature by key {id} does not verify)"
                ));
            }
            good = Some(*id);
        }
    }
    match good {
        Some(key_id) => Ok(Verified { checkpoint, key_id }),
        None => Err(
            "检查点没有所给公钥的签名 (the checkpoint is not signed by any of the keys given)"
                .to_string(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signed_checkpoint_verifies_and_any_changed_byte_fails() {
        let ring = Keyring::from_secret([3u8; 32]);
        let cp = Checkpoint {
            origin: DEFAULT_ORIGIN.into(),
            size: 12345,
            root: [0xab; 32],
        };
        let note = cp.sign(&ring);
        assert!(note.starts_with("amr/transparency-log/v1\n12345\n"));
        assert!(note.contains(&format!("\n\n\u{2014} amr-{} ", ring.key_id())));
        let keys: HashMap<KeyId, VerifyingKey> = [(ring.key_id(), ring.verifying_key())]
            .into_iter()
            .collect();
        let v = verify_note(&note, &keys).unwrap();
        assert_eq!(v.checkpoint, cp);
        assert_eq!(v.key_id, ring.key_id());
        let bytes = note.as_bytes();
        for i in 0..bytes.len() {
            let mut t = bytes.to_vec();
            t[i] ^= 0x01;
            if let Ok(s) = String::from_utf8(t) {
                assert!(
                    verify_note(&s, &keys).is_err(),
                    "byte {i} changed still verifies"
                );
            }
        }
        let other = Keyring::from_secret([4u8; 32]);
        let others: HashMap<KeyId, VerifyingKey> = [(other.key_id(), other.verifying_key())]
            .into_iter()
            .collect();
        assert!(
            verify_note(&note, &others)
                .unwrap_err()
                .contains("没有所给公钥")
        );
        assert!(verifier_key(&ring.verifying_key()).starts_with("amr-"));
    }

    #[test]
    fn malformed_bodies_are_refused_with_a_reason() {
        assert!(parse_body("o\n012\nAAAA\n").is_err());
        assert!(parse_body("o\n-1\nAAAA\n").is_err());
        assert!(parse_body("\n1\nAAAA\n").is_err());
        assert!(parse_body("o\n1\nAAAA\n").unwrap_err().contains("32 字节"));
        let root = STANDARD.encode([1u8; 32]);
        assert_eq!(parse_body(&format!("o\n0\n{root}\next\n")).unwrap().size, 0);
        assert!(parse_note("a\n1\n").is_err());
        assert!(parse_note("a\n\n- x AAAAAAA=\n").is_err());
    }
}
