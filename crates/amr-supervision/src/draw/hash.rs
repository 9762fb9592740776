//! Hashes anyone can recompute: the canonical hashes of the frozen lists, the seed from a
//! committed secret and a public value, the permanent random numbers and the inspectors' order.
//! Every formula is written out in `docs/INSPECTION.md`.

use sha2::{Digest, Sha256};

use super::model::Inspector;
use super::targetset::{TargetError, TargetSet};

/// A 32-byte seed.
pub type Seed = [u8; 32];

/// `hex(SHA-256(secret))`: what is published before the draw.
pub fn commitment(secret: &[u8]) -> String {
    hex::encode(Sha256::digest(secret))
}

/// `SHA-256("amr-seed-v1\n" || secret || "\n" || public_value_utf8)`.
pub fn seed_from(secret: &[u8], public_value: &str) -> Seed {
    let mut h = Sha256::new();
    h.update(b"amr-seed-v1\n");
    h.update(secret);
    h.update(b"\n");
    h.update(public_value.as_bytes());
    h.finalize().into()
}

/// Parses 64 hex digits.
pub fn parse_seed(hex_text: &str) -> Option<Seed> {
    let v = hex::decode(hex_text.trim()).ok()?;
    v.try_into().ok()
}

const IV: [u32; 8] = [
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
];

/// Computes permanent random numbers for one seed: the first 8 bytes, big-endian, of
/// `SHA-256("amr-prn-v1" || seed || uscc)` (60 bytes, two compression blocks, built once).
#[derive(Clone)]
pub struct Prn {
    first: [u8; 64],
    second: [u8; 64],
}

impl Prn {
    pub fn new(seed: &Seed) -> Prn {
        let mut first = [0u8; 64];
        first[..10].copy_from_slice(b"amr-prn-v1");
        first[10..42].copy_from_slice(seed);
        first[60] = 0x80;
        let mut second = [0u8; 64];
        second[56..].copy_from_slice(&(60u64 * 8).to_be_bytes());
        Prn { first, second }
    }

    #[inline]
    pub fn of(&self, uscc: &[u8; 18]) -> u64 {
        let mut blocks = [self.first, self.second];
        blocks[0][42..60].copy_from_slice(uscc);
        let mut state = IV;
        sha2::block_api::compress256(&mut state, &blocks);
        ((state[0] as u64) << 32) | state[1] as u64
    }
}

/// The inspectors' order for one visit: `SHA-256("amr-assign-v1" || seed || uscc ||
/// inspector_id)`, compared as 32 bytes (ties by id).
///
/// With an 18-character USCC the fixed part is 63 bytes, so the first compression block is
/// that part and the id's first byte: it is computed once per visit and first byte, and each
/// inspector then costs one compression of its own (ids up to 56 bytes) instead of two. Any
/// other length takes the plain path; both give the same digest.
pub struct AssignKey {
    prefix: Sha256,
    head: Option<[u8; 64]>,
    states: Vec<(u8, [u32; 8])>,
}

impl AssignKey {
    pub fn new(seed: &Seed, uscc: &[u8]) -> AssignKey {
        let mut prefix = Sha256::new();
        prefix.update(b"amr-assign-v1");
        prefix.update(seed);
        prefix.update(uscc);
        let head = (uscc.len() == 18).then(|| {
            let mut h = [0u8; 64];
            h[..13].copy_from_slice(b"amr-assign-v1");
            h[13..45].copy_from_slice(seed);
            h[45..63].copy_from_slice(uscc);
            h
        });
        AssignKey {
            prefix,
            head,
            states: Vec::new(),
        }
    }

    pub fn of(&mut self, inspector_id: &str) -> [u8; 32] {
        let id = inspector_id.as_bytes();
        let Some(head) = self.head.filter(|_| !id.is_empty() && id.len() <= 56) else {
            let mut h = self.prefix.clone();
            h.update(id);
            return h.finalize().into();
        };
        let state = match self.states.iter().find(|(b, _)| *b == id[0]) {
            Some((_, s)) => *s,
            None => {
                let mut block = head;
                block[63] = id[0];
                let mut s = IV;
                sha2::block_api::compress256(&mut s, &[block]);
                self.states.push((id[0], s));
                s
            }
        };
        let rest = &id[1..];
        let mut block = [0u8; 64];
        block[..rest.len()].copy_from_slice(rest);
        block[rest.len()] = 0x80;
        block[56..].copy_from_slice(&((63 + id.len()) as u64 * 8).to_be_bytes());
        let mut s = state;
        sha2::block_api::compress256(&mut s, &[block]);
        let mut out = [0u8; 32];
        for (o, w) in out.chunks_exact_mut(4).zip(s) {
            o.copy_from_slice(&w.to_be_bytes());
        }
        out
    }
}

/// SHA-256 (lower hex) over the canonical line of every target, sorted by USCC; refuses a
/// list with a USCC twice.
pub fn targets_hash(set: &TargetSet) -> Result<String, TargetError> {
    let order = set.sorted_by_uscc();
    for w in order.windows(2) {
        if set.uscc_bytes(w[0] as usize) == set.uscc_bytes(w[1] as usize) {
            return Err(TargetError {
                uscc: set.uscc(w[0] as usize).to_string(),
                message: "在检查对象名录中出现两次 (listed twice in the target list)".into(),
            });
        }
    }
    let mut h = Sha256::new();
    let mut buf = Vec::with_capacity(1 << 16);
    for i in order {
        set.canonical_line(i as usize, &mut buf);
        if buf.len() > 60_000 {
            h.update(&buf);
            buf.clear();
        }
    }
    h.update(&buf);
    Ok(hex::encode(h.finalize()))
}

/// Whether a field can go into a canonical line (no tab, line break or comma).
fn clean(s: &str) -> bool {
    !s.chars()
        .any(|c| c == '\t' || c == '\n' || c == '\r' || c == ',')
}

/// The canonical line of an inspector: `id TAB name TAB department TAB jurisdiction TAB
/// qualifications (sorted, comma) TAB certificate_no TAB certificate_expiry TAB conflicts
/// (sorted, comma) LF`.
pub fn inspector_line(i: &Inspector) -> String {
    let mut q = i.qualifications.clone();
    q.sort();
    q.dedup();
    let mut c = i.conflicts.clone();
    c.sort();
    c.dedup();
    format!(
        "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\n",
        i.id,
        i.name,
        i.department,
        i.jurisdiction,
        q.join(","),
        i.certificate_no,
        i.certificate_expiry.format("%Y-%m-%d"),
        c.join(",")
    )
}

/// SHA-256 (lower hex) over the canonical line of every inspector, sorted by id; refuses an id
/// listed twice and fields with tabs, line breaks or commas.
pub fn inspectors_hash(inspectors: &[Inspector]) -> Result<String, String> {
    let mut sorted: Vec<&Inspector> = inspectors.iter().collect();
    sorted.sort_by(|a, b| a.id.cmp(&b.id));
    for w in sorted.windows(2) {
        if w[0].id == w[1].id {
            return Err(format!(
                "执法人员 {} 出现两次 (inspector {} listed twice)",
                w[0].id, w[0].id
            ));
        }
    }
    let mut h = Sha256::new();
    for i in sorted {
        let fields = [
            &i.id,
            &i.name,
            &i.department,
            &i.jurisdiction,
            &i.certificate_no,
        ];
        if i.id.is_empty()
            || !fields.iter().all(|f| clean(f))
            || !i.qualifications.iter().all(|f| clean(f))
            || !i.conflicts.iter().all(|f| clean(f))
        {
            return Err(format!(
                "执法人员 {} 的字段含制表符、换行或逗号，或编号为空 (inspector {}: a field holds a tab, line break or comma, or the id is empty)",
                i.id, i.id
            ));
        }
        h.update(inspector_line(i).as_bytes());
    }
    Ok(hex::encode(h.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prn_is_the_documented_sha256() {
        let seed = [7u8; 32];
        let p = Prn::new(&seed);
        for u in ["91370102MA3C00001X", "92370203000000000Y"] {
            let mut h = Sha256::new();
            h.update(b"amr-prn-v1");
            h.update(seed);
            h.update(u.as_bytes());
            let d = h.finalize();
            let want = u64::from_be_bytes(d[..8].try_into().unwrap());
            assert_eq!(p.of(u.as_bytes().try_into().unwrap()), want);
        }
    }

    #[test]
    fn assign_key_is_the_documented_sha256() {
        let seed = [9u8; 32];
        for uscc in ["91370102MA3C00001X", "short"] {
            let mut k = AssignKey::new(&seed, uscc.as_bytes());
            let long = "I".repeat(57);
            for id in ["I370102-03-0001", "J1", "I370102-03-0002", "x", &long, "I"] {
                let mut h = Sha256::new();
                h.update(b"amr-assign-v1");
                h.update(seed);
                h.update(uscc.as_bytes());
                h.update(id.as_bytes());
                let want: [u8; 32] = h.finalize().into();
                assert_eq!(k.of(id), want, "{uscc} {id}");
            }
        }
    }

    #[test]
    fn seed_and_commitment() {
        assert_eq!(
            commitment(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let s = seed_from(b"abc", "3001.23");
        let mut h = Sha256::new();
        h.update(b"amr-seed-v1\nabc\n3001.23");
        assert_eq!(s.to_vec(), h.finalize().to_vec());
        assert_eq!(parse_seed(&hex::encode(s)), Some(s));
        assert_eq!(parse_seed("00"), None);
    }
}
