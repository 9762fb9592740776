//! Unified social credit code (统一社会信用代码, GB 32100-2015).
//!
//! | positions | meaning |
//! |---|---|
//! | 1 | registration authority (`1`–`9`, `A`, `N`, `Y`) |
//! | 2 | entity type, defined per authority |
//! | 3–8 | GB/T 2260 division code of the registering authority (6 digits) |
//! | 9–17 | subject code: the GB 11714 organization code, check character at 17 |
//! | 18 | check character, ISO 7064 MOD 31-3 |
//!
//! The alphabet is `0123456789ABCDEFGHJKLMNPQRTUWXY` (values 0–30; I, O, S,
//! V and Z are excluded). Weights are 3^(i−1) mod 31 and
//! C18 = 31 − (Σ Cᵢ·Wᵢ mod 31), 31 being written `0`.
//!
//! Input is accepted in either case with surrounding whitespace; it is stored
//! upper-case. Every valid USCC also passes the GB 11714 check on characters
//! 9–17, so failing it makes the code invalid.
//!
//! [`Uscc::is_valid`] is the allocation-free fast path (one 256-entry lookup
//! table per character); [`Uscc::validate`] and [`Uscc::parse`] add the reason
//! of failure.

use std::fmt;

use rand::RngExt;
use serde::{Deserialize, Serialize};

use super::orgcode::{self, OrgCode};
use super::{CodeError, first_non_ascii};

/// The USCC alphabet, in value order.
pub const ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";

/// Weights of positions 1–17: 3^(i−1) mod 31.
pub const WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

/// Number of characters in a USCC.
pub const LEN: usize = 18;

const BAD: u8 = 0xFF;

/// Byte → value in [`ALPHABET`] (either case), [`BAD`] otherwise.
static VALUE: [u8; 256] = {
    let mut t = [BAD; 256];
    let mut i = 0;
    while i < ALPHABET.len() {
        let c = ALPHABET[i];
        t[c as usize] = i as u8;
        t[c.to_ascii_lowercase() as usize] = i as u8;
        i += 1;
    }
    t
};

/// USCC value → GB 11714 value of the same character (32 entries so that a
/// value masked with 31 always indexes it).
static ORG_VALUE: [u8; 32] = {
    let mut t = [0u8; 32];
    let mut i = 0;
    while i < ALPHABET.len() {
        t[i] = orgcode::VALUE[ALPHABET[i] as usize];
        i += 1;
    }
    t
};

/// Authority byte (either case) → bit mask of the entity-type digits allowed
/// after it (bit n set = type digit n allowed). Zero for non-authorities.
static TYPES: [u32; 256] = {
    const fn mask(digits: &[u8]) -> u32 {
        let mut m = 0;
        let mut i = 0;
        while i < digits.len() {
            m |= 1 << digits[i];
            i += 1;
        }
        m
    }
    let table: [(u8, u32); 12] = [
        (b'1', mask(&[1, 2, 3, 9])),       // 机构编制
        (b'2', mask(&[1, 9])),             // 外交
        (b'3', mask(&[1, 2, 3, 4, 5, 9])), // 司法行政
        (b'4', mask(&[1, 9])),             // 文化
        (b'5', mask(&[1, 2, 3, 9])),       // 民政
        (b'6', mask(&[1, 2, 9])),          // 旅游
        (b'7', mask(&[1, 2, 9])),          // 宗教
        (b'8', mask(&[1, 9])),             // 工会
        (b'9', mask(&[1, 2, 3])),          // 工商
        (b'A', mask(&[1, 9])),             // 中央军委改革和编制办公室
        (b'N', mask(&[1, 2, 3, 9])),       // 农业
        (b'Y', mask(&[1])),                // 其他
    ];
    let mut t = [0u32; 256];
    let mut i = 0;
    while i < table.len() {
        let (c, m) = table[i];
        t[c as usize] = m;
        t[c.to_ascii_lowercase() as usize] = m;
        i += 1;
    }
    t
};

/// Entity types registered by market regulation (authority `9`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RegistrationType {
    /// `91` 企业.
    Enterprise,
    /// `92` 个体工商户.
    IndividualBusiness,
    /// `93` 农民专业合作社.
    FarmerCooperative,
}

impl RegistrationType {
    /// The two leading characters, e.g. `"91"`.
    pub fn prefix(self) -> &'static str {
        match self {
            RegistrationType::Enterprise => "91",
            RegistrationType::IndividualBusiness => "92",
            RegistrationType::FarmerCooperative => "93",
        }
    }

    /// Chinese name of the entity type.
    pub fn name_zh(self) -> &'static str {
        match self {
            RegistrationType::Enterprise => "企业",
            RegistrationType::IndividualBusiness => "个体工商户",
            RegistrationType::FarmerCooperative => "农民专业合作社",
        }
    }
}

/// A valid unified social credit code, stored as 18 upper-case ASCII bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Uscc([u8; LEN]);

#[inline]
fn check_char_of_sum(sum: u32) -> u8 {
    ALPHABET[((31 - sum % 31) % 31) as usize]
}

impl Uscc {
    /// Parses and validates a code; lower case and surrounding whitespace are accepted.
    pub fn parse(input: &str) -> Result<Uscc, CodeError> {
        scan(input.trim()).map(Uscc)
    }

    /// Validates without building a value; does not allocate.
    pub fn validate(input: &str) -> Result<(), CodeError> {
        scan(input.trim()).map(|_| ())
    }

    /// Fast path: exactly 18 bytes, either case, no surrounding whitespace.
    /// Equivalent to `validate(..).is_ok()` on such input; never allocates.
    #[inline]
    pub fn is_valid(code: &[u8]) -> bool {
        let Ok(code) = <&[u8; LEN]>::try_from(code) else {
            return false;
        };
        let v: [u8; LEN] = std::array::from_fn(|i| VALUE[code[i] as usize]);
        // Branch-free: every condition is evaluated and combined, so that
        // mixed valid and invalid input does not stall on mispredictions.
        // BAD has the high bit set; values are 0–30.
        let alphabet_ok = v.iter().fold(0, |acc, &x| acc | x) & 0x80 == 0;
        let division_ok = v[2..8].iter().fold(0, |acc, &x| acc | u8::from(x >= 10)) == 0;
        let type_ok = (TYPES[code[0] as usize] >> (v[1] & 31)) & 1 == 1;
        let sum: u32 = v[..17]
            .iter()
            .zip(WEIGHTS)
            .map(|(&x, w)| u32::from(x) * w)
            .sum();
        let check_ok = u32::from(v[17]) == (31 - sum % 31) % 31;
        let osum: u32 = v[8..16]
            .iter()
            .zip(orgcode::WEIGHTS)
            .map(|(&x, w)| u32::from(ORG_VALUE[(x & 31) as usize]) * w)
            .sum();
        // C9 = 11 − (Σ mod 11), written as a USCC value: 10 → 'X' (29), 11 → '0'.
        let c9 = 11 - osum % 11;
        let expected = if c9 == 10 { 29 } else { c9 % 11 };
        let org_ok = u32::from(v[16]) == expected;
        alphabet_ok & division_ok & type_ok & check_ok & org_ok
    }

    /// Generates a fresh valid code: authority `9`, the given entity type, the
    /// given 6-digit registering division (which must be in the division
    /// table), a random organization code of 8 body characters from the USCC
    /// alphabet plus its GB 11714 check character, and the check character.
    ///
    /// Uniqueness against codes already issued is the caller's concern.
    pub fn generate<R: rand::Rng>(
        entity_type: RegistrationType,
        division: &str,
        rng: &mut R,
    ) -> Result<Uscc, CodeError> {
        let d = division.as_bytes();
        let known = d.len() == 6
            && d.iter().all(u8::is_ascii_digit)
            && super::division::divisions().get(division).is_some();
        if !known {
            return Err(CodeError::UnknownDivision(division.to_owned()));
        }
        let mut out = [0u8; LEN];
        out[..2].copy_from_slice(entity_type.prefix().as_bytes());
        out[2..8].copy_from_slice(d);
        for b in &mut out[8..16] {
            *b = ALPHABET[rng.random_range(0..ALPHABET.len())];
        }
        out[16] = orgcode::check_char_of_values(
            out[8..16]
                .iter()
                .map(|&b| u32::from(orgcode::VALUE[b as usize])),
        );
        let sum: u32 = (0..17)
            .map(|i| u32::from(VALUE[out[i] as usize]) * WEIGHTS[i])
            .sum();
        out[17] = check_char_of_sum(sum);
        debug_assert!(Uscc::is_valid(&out));
        Ok(Uscc(out))
    }

    /// The 18 characters, upper-case.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("USCC bytes are ASCII")
    }

    /// Position 1: the registration authority code.
    pub fn authority(&self) -> char {
        char::from(self.0[0])
    }

    /// Position 2: the entity type code.
    pub fn entity_type(&self) -> char {
        char::from(self.0[1])
    }

    /// The market-regulation entity type, if the authority is `9`.
    pub fn registration_type(&self) -> Option<RegistrationType> {
        match &self.0[..2] {
            b"91" => Some(RegistrationType::Enterprise),
            b"92" => Some(RegistrationType::IndividualBusiness),
            b"93" => Some(RegistrationType::FarmerCooperative),
            _ => None,
        }
    }

    /// Positions 3–8: the registering authority's 6-digit division code.
    pub fn division_code(&self) -> &str {
        &self.as_str()[2..8]
    }

    /// Positions 9–17: the organization code.
    pub fn org_code(&self) -> OrgCode {
        let mut b = [0u8; 9];
        b.copy_from_slice(&self.0[8..17]);
        OrgCode::from_valid_bytes(b)
    }

    /// Position 18: the check character.
    pub fn check_char(&self) -> char {
        char::from(self.0[17])
    }
}

/// Validates trimmed input and returns the normalized bytes, or the first
/// reason of failure in the order: length, character, authority, entity type,
/// division, check character, organization code. The check character comes
/// before the organization-code check so that a typo is reported the way
/// other validators report it; `org_code` is left for codes whose check
/// character is right but whose characters 9–17 fail GB 11714.
fn scan(s: &str) -> Result<[u8; LEN], CodeError> {
    if !s.is_ascii() {
        let (n, bad) = first_non_ascii(s);
        return match bad {
            Some((position, ch)) if n == LEN => Err(CodeError::Character { position, ch }),
            _ => Err(CodeError::Length {
                expected: LEN,
                actual: n,
            }),
        };
    }
    let Ok(bytes) = <&[u8; LEN]>::try_from(s.as_bytes()) else {
        return Err(CodeError::Length {
            expected: LEN,
            actual: s.len(),
        });
    };
    let mut out = [0u8; LEN];
    let mut values = [0u8; LEN];
    for (i, &b) in bytes.iter().enumerate() {
        let v = VALUE[b as usize];
        let up = b.to_ascii_uppercase();
        // A letter outside the alphabet at position 18 (e.g. `Z`) is reported
        // as a wrong check character, the way the standard's example reads.
        if v == BAD && !(i == LEN - 1 && b.is_ascii_alphanumeric()) {
            return Err(CodeError::Character {
                position: i + 1,
                ch: char::from(up),
            });
        }
        out[i] = up;
        values[i] = v;
    }
    let types = TYPES[out[0] as usize];
    if types == 0 {
        return Err(CodeError::Authority {
            ch: char::from(out[0]),
        });
    }
    if values[1] >= 10 || types & (1 << values[1]) == 0 {
        return Err(CodeError::EntityType {
            authority: char::from(out[0]),
            entity_type: char::from(out[1]),
        });
    }
    if let Some(i) = (2..8).find(|&i| values[i] >= 10) {
        return Err(CodeError::Division {
            position: i + 1,
            ch: char::from(out[i]),
        });
    }
    let sum: u32 = (0..17).map(|i| u32::from(values[i]) * WEIGHTS[i]).sum();
    let expected = check_char_of_sum(sum);
    if out[17] != expected {
        return Err(CodeError::CheckDigit {
            expected: char::from(expected),
            actual: char::from(out[17]),
        });
    }
    orgcode::check_matches(&out[8..16], out[16]).map_err(|expected| CodeError::OrgCode {
        expected: char::from(expected),
        actual: char::from(out[16]),
    })?;
    Ok(out)
}

impl fmt::Display for Uscc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Uscc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Uscc({})", self.as_str())
    }
}

impl std::str::FromStr for Uscc {
    type Err = CodeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uscc::parse(s)
    }
}

impl Serialize for Uscc {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Uscc {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Uscc::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    /// Published codes (DOMAIN.md §1), all valid.
    pub(crate) const VALID: [&str; 6] = [
        "914403001922038216",
        "91440300708461136T",
        "91520000214434146R",
        "91110108551385082Q",
        "91310110666007217T",
        "91371082775260043P",
    ];

    #[test]
    fn weights_are_powers_of_three() {
        let mut w = 1u32;
        for x in WEIGHTS {
            assert_eq!(x, w);
            w = w * 3 % 31;
        }
    }

    #[test]
    fn published_codes_are_valid() {
        for c in VALID {
            let u = Uscc::parse(c).unwrap();
            assert_eq!(u.as_str(), c);
            assert!(Uscc::is_valid(c.as_bytes()));
            assert!(OrgCode::is_valid(u.org_code().as_str().as_bytes()));
            assert_eq!(u.registration_type(), Some(RegistrationType::Enterprise));
        }
        let u = Uscc::parse("91371082775260043P").unwrap();
        assert_eq!(u.authority(), '9');
        assert_eq!(u.entity_type(), '1');
        assert_eq!(u.division_code(), "371082");
        assert_eq!(u.org_code().as_str(), "775260043");
        assert_eq!(u.check_char(), 'P');
    }

    #[test]
    fn worked_example_from_the_standard() {
        assert_eq!(
            Uscc::parse("91350100M000100Y4Z"),
            Err(CodeError::CheckDigit {
                expected: '3',
                actual: 'Z'
            })
        );
        assert!(Uscc::parse("91350100M000100Y43").is_ok());
        assert_eq!(
            Uscc::parse("91110000800088421P"),
            Err(CodeError::CheckDigit {
                expected: 'W',
                actual: 'P'
            })
        );
        // With the check character made right, its organization part still fails.
        assert_eq!(
            Uscc::parse("91110000800088421W"),
            Err(CodeError::OrgCode {
                expected: '6',
                actual: '1'
            })
        );
        assert!(!Uscc::is_valid(b"91110000800088421P"));
    }

    #[test]
    fn reasons_in_order() {
        let e = |s: &str| Uscc::parse(s).unwrap_err();
        assert_eq!(e("9144030019220382").code(), "length");
        assert_eq!(
            e("91440300192203821#"),
            CodeError::Character {
                position: 18,
                ch: '#'
            }
        );
        assert_eq!(e("91440300192203821６").code(), "character");
        assert_eq!(
            e("9144030019220382I6"),
            CodeError::Character {
                position: 17,
                ch: 'I'
            }
        );
        assert_eq!(e("014403001922038216"), CodeError::Authority { ch: '0' });
        assert_eq!(
            e("944403001922038216"),
            CodeError::EntityType {
                authority: '9',
                entity_type: '4'
            }
        );
        assert_eq!(e("Y24403001922038216").code(), "entity_type");
        assert_eq!(
            e("9144A3001922038216"),
            CodeError::Division {
                position: 5,
                ch: 'A'
            }
        );
        assert_eq!(e("914403001922038226").code(), "check_digit");
        assert_eq!(
            e("914403001922038229"),
            CodeError::OrgCode {
                expected: '1',
                actual: '2'
            }
        );
    }

    #[test]
    fn normalizes_case_and_whitespace_only() {
        let u = Uscc::parse("\t91440300708461136t \n").unwrap();
        assert_eq!(u.as_str(), "91440300708461136T");
        assert!(Uscc::is_valid(b"91440300708461136t"));
        assert!(!Uscc::is_valid(b" 91440300708461136T"));
        assert!(Uscc::parse("9144 0300708461136T").is_err());
        assert!(Uscc::parse("91440300-708461136T").is_err());
    }

    #[test]
    fn generate_makes_valid_codes() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for t in [
            RegistrationType::Enterprise,
            RegistrationType::IndividualBusiness,
            RegistrationType::FarmerCooperative,
        ] {
            for _ in 0..200 {
                let u = Uscc::generate(t, "370102", &mut rng).unwrap();
                assert!(Uscc::is_valid(u.as_str().as_bytes()), "{u}");
                assert_eq!(Uscc::parse(u.as_str()), Ok(u));
                assert_eq!(u.registration_type(), Some(t));
                assert_eq!(u.division_code(), "370102");
            }
        }
        assert!(Uscc::generate(RegistrationType::Enterprise, "370100", &mut rng).is_ok());
        for bad in ["379999", "37", "3701020", "abcdef"] {
            assert_eq!(
                Uscc::generate(RegistrationType::Enterprise, bad, &mut rng),
                Err(CodeError::UnknownDivision(bad.into()))
            );
        }
    }

    #[test]
    fn serde_round_trip() {
        let u = Uscc::parse(VALID[0]).unwrap();
        let j = serde_json::to_string(&u).unwrap();
        assert_eq!(serde_json::from_str::<Uscc>(&j).unwrap(), u);
        assert!(serde_json::from_str::<Uscc>("\"91110000800088421P\"").is_err());
    }
}
