//! The frozen target list in columnar form: about 32 bytes a target (15 million in ~0.5 GB),
//! each column a flat vector, tags interned.

use std::collections::HashMap;
use std::fmt;

use serde::de::{SeqAccess, Visitor};
use serde::ser::SerializeSeq;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::expr::{Atom, ENTITY_TYPES};
use super::model::{RiskClass, Target};

/// A set of bits, one per target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bits {
    pub words: Vec<u64>,
    pub len: usize,
}

impl Bits {
    pub fn new(len: usize) -> Bits {
        Bits {
            words: vec![0; len.div_ceil(64)],
            len,
        }
    }

    pub fn full(len: usize) -> Bits {
        let mut b = Bits {
            words: vec![u64::MAX; len.div_ceil(64)],
            len,
        };
        b.trim();
        b
    }

    fn trim(&mut self) {
        let r = self.len % 64;
        if r != 0
            && let Some(last) = self.words.last_mut()
        {
            *last &= (1u64 << r) - 1;
        }
    }

    #[inline]
    pub fn get(&self, i: usize) -> bool {
        (self.words[i >> 6] >> (i & 63)) & 1 == 1
    }

    pub fn and(&self, o: &Bits) -> Bits {
        Bits {
            words: self
                .words
                .iter()
                .zip(&o.words)
                .map(|(a, b)| a & b)
                .collect(),
            len: self.len,
        }
    }

    pub fn or(&self, o: &Bits) -> Bits {
        Bits {
            words: self
                .words
                .iter()
                .zip(&o.words)
                .map(|(a, b)| a | b)
                .collect(),
            len: self.len,
        }
    }

    pub fn not(&self) -> Bits {
        let mut b = Bits {
            words: self.words.iter().map(|a| !a).collect(),
            len: self.len,
        };
        b.trim();
        b
    }

    /// How many bits both sets have.
    pub fn and_count(&self, o: &Bits) -> u64 {
        self.words
            .iter()
            .zip(&o.words)
            .map(|(a, b)| (a & b).count_ones() as u64)
            .sum()
    }

    /// The indices of the set bits, ascending.
    pub fn ones(&self) -> impl Iterator<Item = usize> + '_ {
        self.words.iter().enumerate().flat_map(|(wi, &w)| {
            let mut w = w;
            std::iter::from_fn(move || {
                if w == 0 {
                    None
                } else {
                    let b = w.trailing_zeros() as usize;
                    w &= w - 1;
                    Some(wi * 64 + b)
                }
            })
        })
    }
}

/// Why a target could not be added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetError {
    pub uscc: String,
    pub message: String,
}

impl fmt::Display for TargetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "检查对象 {}：{}", self.uscc, self.message)
    }
}

impl std::error::Error for TargetError {}

/// The frozen target list, columnar. Order is the order of `push`; the draw does not depend on
/// it (it orders by permanent random number, ties by USCC), the hash sorts by USCC.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TargetSet {
    uscc: Vec<[u8; 18]>,
    division: Vec<u32>,
    division_len: Vec<u8>,
    kind: Vec<u8>,
    industry: Vec<u16>,
    risk: Vec<u8>,
    /// `tag_start[i]..tag_start[i+1]` indexes `tag_ids` for target i.
    tag_start: Vec<u32>,
    tag_ids: Vec<u32>,
    tag_names: Vec<String>,
    tag_index: HashMap<String, u32>,
}

fn bad(uscc: &str, message: String) -> TargetError {
    TargetError {
        uscc: uscc.chars().take(40).collect(),
        message,
    }
}

/// Whether a tag is usable in a canonical line: `licence:…` or `tag:…`, no separators.
pub fn valid_tag(tag: &str) -> bool {
    let name = tag
        .strip_prefix("licence:")
        .or_else(|| tag.strip_prefix("tag:"));
    match name {
        Some(n) => {
            !n.is_empty()
                && n.chars().count() <= 100
                && n.chars().all(|c| {
                    !(c.is_whitespace()
                        || c.is_control()
                        || matches!(c, '&' | '|' | '!' | '(' | ')' | ',' | ':'))
                })
        }
        None => false,
    }
}

impl TargetSet {
    pub fn new() -> TargetSet {
        TargetSet {
            tag_start: vec![0],
            ..Default::default()
        }
    }

    pub fn with_capacity(n: usize) -> TargetSet {
        let mut t = TargetSet::new();
        t.uscc.reserve(n);
        t.division.reserve(n);
        t.division_len.reserve(n);
        t.kind.reserve(n);
        t.industry.reserve(n);
        t.risk.reserve(n);
        t.tag_start.reserve(n);
        t
    }

    pub fn from_targets(targets: &[Target]) -> Result<TargetSet, TargetError> {
        let mut s = TargetSet::with_capacity(targets.len());
        for t in targets {
            s.push(t)?;
        }
        Ok(s)
    }

    pub fn len(&self) -> usize {
        self.uscc.len()
    }

    pub fn is_empty(&self) -> bool {
        self.uscc.is_empty()
    }

    /// Adds a target after checking its fields: an 18-character USCC of digits and capital
    /// letters, a division of 1–9 digits, a known type, a 4-digit industry class, tags of the
    /// form `licence:…`/`tag:…` (sorted and deduplicated here).
    pub fn push(&mut self, t: &Target) -> Result<(), TargetError> {
        let u = t.uscc.as_bytes();
        if u.len() != 18
            || !u
                .iter()
                .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
        {
            return Err(bad(
                &t.uscc,
                "统一社会信用代码应为 18 位数字或大写字母 (a USCC is 18 digits or capital letters)"
                    .into(),
            ));
        }
        let d = t.division.as_bytes();
        if d.is_empty() || d.len() > 9 || !d.iter().all(|b| b.is_ascii_digit()) {
            return Err(bad(
                &t.uscc,
                format!(
                    "区划代码“{}”应为 1 到 9 位数字 (a division code is 1 to 9 digits)",
                    t.division
                ),
            ));
        }
        let kind = ENTITY_TYPES
            .iter()
            .position(|k| *k == t.entity_type)
            .ok_or_else(|| {
                bad(
                    &t.uscc,
                    format!(
                        "主体类型“{}”无效 (unknown entity type)",
                        t.entity_type.chars().take(40).collect::<String>()
                    ),
                )
            })?;
        let ind = t.industry.as_bytes();
        if ind.len() != 4 || !ind.iter().all(|b| b.is_ascii_digit()) {
            return Err(bad(
                &t.uscc,
                format!(
                    "行业代码“{}”应为 4 位数字 (an industry class is 4 digits)",
                    t.industry.chars().take(40).collect::<String>()
                ),
            ));
        }
        let mut tags: Vec<u32> = Vec::with_capacity(t.tags.len());
        for tag in &t.tags {
            if !valid_tag(tag) {
                return Err(bad(
                    &t.uscc,
                    format!(
                        "标签“{}”应为 licence:名称 或 tag:名称，且不含空白和 &|!(),: (a tag is licence:NAME or tag:NAME without blanks or &|!(),:)",
                        tag.chars().take(40).collect::<String>()
                    ),
                ));
            }
            let id = match self.tag_index.get(tag.as_str()) {
                Some(id) => *id,
                None => {
                    let id = self.tag_names.len() as u32;
                    self.tag_names.push(tag.clone());
                    self.tag_index.insert(tag.clone(), id);
                    id
                }
            };
            tags.push(id);
        }
        tags.sort_by(|a, b| self.tag_names[*a as usize].cmp(&self.tag_names[*b as usize]));
        tags.dedup();
        let mut code = [0u8; 18];
        code.copy_from_slice(u);
        self.uscc.push(code);
        self.division.push(t.division.parse().unwrap_or(0));
        self.division_len.push(d.len() as u8);
        self.kind.push(kind as u8);
        self.industry.push(t.industry.parse().unwrap_or(0));
        self.risk.push(t.risk.index() as u8);
        self.tag_ids.extend_from_slice(&tags);
        self.tag_start.push(self.tag_ids.len() as u32);
        Ok(())
    }

    #[inline]
    pub fn uscc_bytes(&self, i: usize) -> &[u8; 18] {
        &self.uscc[i]
    }

    pub fn uscc(&self, i: usize) -> &str {
        std::str::from_utf8(&self.uscc[i]).unwrap_or("")
    }

    /// The division as stored (its number and its length in digits): equal keys, equal codes.
    pub(crate) fn division_key(&self, i: usize) -> (u32, u8) {
        (self.division[i], self.division_len[i])
    }

    pub fn division(&self, i: usize) -> String {
        format!(
            "{:0width$}",
            self.division[i],
            width = self.division_len[i] as usize
        )
    }

    /// Whether the target's division starts with `prefix` (digits).
    pub fn division_has_prefix(&self, i: usize, prefix: &str) -> bool {
        self.division(i).starts_with(prefix)
    }

    #[inline]
    pub fn risk_index(&self, i: usize) -> usize {
        self.risk[i] as usize
    }

    pub fn risk(&self, i: usize) -> RiskClass {
        RiskClass::ALL[self.risk[i] as usize]
    }

    pub fn tags(&self, i: usize) -> impl Iterator<Item = &str> {
        let (a, b) = (self.tag_start[i] as usize, self.tag_start[i + 1] as usize);
        self.tag_ids[a..b]
            .iter()
            .map(|id| self.tag_names[*id as usize].as_str())
    }

    /// The target at `i` as the model type.
    pub fn get(&self, i: usize) -> Target {
        Target {
            uscc: self.uscc(i).to_string(),
            division: self.division(i),
            entity_type: ENTITY_TYPES[self.kind[i] as usize].to_string(),
            industry: format!("{:04}", self.industry[i]),
            risk: self.risk(i),
            tags: self.tags(i).map(str::to_string).collect(),
        }
    }

    /// Writes the canonical line of target `i` (see `docs/INSPECTION.md`):
    /// `uscc TAB division TAB type TAB industry TAB risk TAB tags-joined-by-comma LF`.
    pub fn canonical_line(&self, i: usize, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.uscc[i]);
        out.push(b'\t');
        out.extend_from_slice(self.division(i).as_bytes());
        out.push(b'\t');
        out.extend_from_slice(ENTITY_TYPES[self.kind[i] as usize].as_bytes());
        out.push(b'\t');
        out.extend_from_slice(format!("{:04}", self.industry[i]).as_bytes());
        out.push(b'\t');
        out.extend_from_slice(RiskClass::ALL[self.risk[i] as usize].as_str().as_bytes());
        out.push(b'\t');
        for (k, tag) in self.tags(i).enumerate() {
            if k > 0 {
                out.push(b',');
            }
            out.extend_from_slice(tag.as_bytes());
        }
        out.push(b'\n');
    }

    /// Target indices sorted by USCC (two threads).
    pub fn sorted_by_uscc(&self) -> Vec<u32> {
        let n = self.len();
        let mut idx: Vec<u32> = (0..n as u32).collect();
        let key = |i: &u32| self.uscc[*i as usize];
        if n < 100_000 {
            idx.sort_unstable_by_key(key);
            return idx;
        }
        let mid = n / 2;
        let (a, b) = idx.split_at_mut(mid);
        std::thread::scope(|s| {
            s.spawn(|| a.sort_unstable_by_key(key));
            b.sort_unstable_by_key(key);
        });
        merge_by(&idx[..mid], &idx[mid..], |x, y| {
            self.uscc[*x as usize] <= self.uscc[*y as usize]
        })
    }

    /// Evaluates one atom over every target.
    pub fn atom_bits(&self, atom: &Atom) -> Bits {
        let n = self.len();
        let mut b = Bits::new(n);
        match atom {
            Atom::All => return Bits::full(n),
            Atom::Type(t) => fill(&mut b, |i| self.kind[i] == *t),
            Atom::Risk(r) => {
                let r = r.index() as u8;
                fill(&mut b, |i| self.risk[i] == r)
            }
            Atom::Section(_) | Atom::Industry(_) => {
                let (lo, hi) = atom.industry_range().unwrap_or((1, 0));
                fill(&mut b, |i| (lo..=hi).contains(&self.industry[i]))
            }
            Atom::Region(p) => {
                let plen = p.len() as u8;
                let pv: u32 = p.parse().unwrap_or(0);
                let pow: [u32; 10] = [
                    1,
                    10,
                    100,
                    1_000,
                    10_000,
                    100_000,
                    1_000_000,
                    10_000_000,
                    100_000_000,
                    1_000_000_000,
                ];
                fill(&mut b, |i| {
                    let l = self.division_len[i];
                    l >= plen && self.division[i] / pow[(l - plen) as usize] == pv
                })
            }
            Atom::Licence(_) | Atom::Tag(_) => {
                let text = atom.tag_text().unwrap_or_default();
                if let Some(&id) = self.tag_index.get(&text) {
                    fill(&mut b, |i| {
                        let (a, z) = (self.tag_start[i] as usize, self.tag_start[i + 1] as usize);
                        self.tag_ids[a..z].contains(&id)
                    })
                }
            }
        }
        b
    }
}

fn fill(b: &mut Bits, f: impl Fn(usize) -> bool) {
    let n = b.len;
    for (wi, w) in b.words.iter_mut().enumerate() {
        let base = wi * 64;
        let end = (base + 64).min(n);
        let mut v = 0u64;
        for i in base..end {
            v |= (f(i) as u64) << (i - base);
        }
        *w = v;
    }
}

/// Merges two sorted slices.
pub fn merge_by<T: Copy>(a: &[T], b: &[T], le: impl Fn(&T, &T) -> bool) -> Vec<T> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        if le(&a[i], &b[j]) {
            out.push(a[i]);
            i += 1;
        } else {
            out.push(b[j]);
            j += 1;
        }
    }
    out.extend_from_slice(&a[i..]);
    out.extend_from_slice(&b[j..]);
    out
}

impl Serialize for TargetSet {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.len()))?;
        for i in 0..self.len() {
            seq.serialize_element(&self.get(i))?;
        }
        seq.end()
    }
}

impl<'de> Deserialize<'de> for TargetSet {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<TargetSet, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = TargetSet;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of targets")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<TargetSet, A::Error> {
                let mut set = TargetSet::with_capacity(seq.size_hint().unwrap_or(0).min(1 << 20));
                while let Some(t) = seq.next_element::<Target>()? {
                    set.push(&t).map_err(serde::de::Error::custom)?;
                }
                Ok(set)
            }
        }
        d.deserialize_seq(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(
        uscc: &str,
        division: &str,
        ty: &str,
        ind: &str,
        risk: RiskClass,
        tags: &[&str],
    ) -> Target {
        Target {
            uscc: uscc.into(),
            division: division.into(),
            entity_type: ty.into(),
            industry: ind.into(),
            risk,
            tags: tags.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn push_checks_and_round_trips() {
        let mut s = TargetSet::new();
        let a = t(
            "91370102MA3C00001X",
            "370102",
            "enterprise",
            "5211",
            RiskClass::B,
            &["tag:重点", "licence:食品经营许可证"],
        );
        s.push(&a).unwrap();
        let back = s.get(0);
        assert_eq!(back.tags, vec!["licence:食品经营许可证", "tag:重点"]);
        assert_eq!(back.division, "370102");
        let mut line = Vec::new();
        s.canonical_line(0, &mut line);
        assert_eq!(
            String::from_utf8(line).unwrap(),
            "91370102MA3C00001X\t370102\tenterprise\t5211\tB\tlicence:食品经营许可证,tag:重点\n"
        );
        assert!(
            s.push(&t(
                "short",
                "370102",
                "enterprise",
                "5211",
                RiskClass::A,
                &[]
            ))
            .is_err()
        );
        assert!(
            s.push(&t(
                "91370102MA3C00002X",
                "37x",
                "enterprise",
                "5211",
                RiskClass::A,
                &[]
            ))
            .is_err()
        );
        assert!(
            s.push(&t(
                "91370102MA3C00002X",
                "370102",
                "company",
                "5211",
                RiskClass::A,
                &[]
            ))
            .is_err()
        );
        assert!(
            s.push(&t(
                "91370102MA3C00002X",
                "370102",
                "branch",
                "521",
                RiskClass::A,
                &[]
            ))
            .is_err()
        );
        assert!(
            s.push(&t(
                "91370102MA3C00002X",
                "370102",
                "branch",
                "0111",
                RiskClass::A,
                &["x"]
            ))
            .is_err()
        );
        assert_eq!(s.len(), 1);
        s.push(&t(
            "91370102MA3C00002X",
            "370102",
            "branch",
            "0111",
            RiskClass::A,
            &[],
        ))
        .unwrap();
        assert_eq!(s.get(1).industry, "0111");
    }

    #[test]
    fn atoms_select() {
        let mut s = TargetSet::new();
        s.push(&t(
            "91370102MA3C00001X",
            "370102",
            "enterprise",
            "5211",
            RiskClass::B,
            &["tag:x"],
        ))
        .unwrap();
        s.push(&t(
            "92370203MA3C00002X",
            "370203001",
            "individual",
            "6210",
            RiskClass::D,
            &[],
        ))
        .unwrap();
        let ones = |a: Atom| s.atom_bits(&a).ones().collect::<Vec<_>>();
        assert_eq!(ones(Atom::Region("3701".into())), vec![0]);
        assert_eq!(ones(Atom::Region("370203001".into())), vec![1]);
        assert_eq!(ones(Atom::Region("3702030011".into())), Vec::<usize>::new());
        assert_eq!(ones(Atom::Section('H')), vec![1]);
        assert_eq!(ones(Atom::Section('F')), vec![0]);
        assert_eq!(ones(Atom::Industry("52".into())), vec![0]);
        assert_eq!(ones(Atom::Tag("x".into())), vec![0]);
        assert_eq!(ones(Atom::Licence("x".into())), Vec::<usize>::new());
        assert_eq!(ones(Atom::Risk(RiskClass::D)), vec![1]);
        assert_eq!(ones(Atom::Type(1)), vec![1]);
        assert_eq!(ones(Atom::All), vec![0, 1]);
    }
}
