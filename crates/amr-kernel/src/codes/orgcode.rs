//! Organization code (组织机构代码, GB 11714-1997).
//!
//! Eight body characters (`0`–`9`, `A`–`Z`; A = 10 … Z = 35) and one check
//! character. With weights `3,7,9,10,5,8,4,2`, C9 = 11 − (Σ mod 11), where
//! 10 is written `X` and 11 is written `0`.
//!
//! The code is accepted as 9 characters or in the printed `XXXXXXXX-X` form,
//! in either case and with surrounding whitespace; it is stored upper-case
//! without the hyphen.

use std::fmt;

use super::{CodeError, first_non_ascii};

/// GB 11714 weights of the eight body characters.
pub const WEIGHTS: [u32; 8] = [3, 7, 9, 10, 5, 8, 4, 2];

/// Marks a byte outside the alphabet in the lookup tables.
const BAD: u8 = 0xFF;

/// Byte → GB 11714 value: digits 0–9, letters (either case) 10–35, else [`BAD`].
pub(crate) static VALUE: [u8; 256] = {
    let mut t = [BAD; 256];
    let mut i = 0;
    while i < 10 {
        t[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 26 {
        t[b'A' as usize + i] = 10 + i as u8;
        t[b'a' as usize + i] = 10 + i as u8;
        i += 1;
    }
    t
};

/// The check character (`0`–`9` or `X`) for eight body values.
#[inline]
pub(crate) fn check_char_of_values(values: impl IntoIterator<Item = u32>) -> u8 {
    let sum: u32 = values.into_iter().zip(WEIGHTS).map(|(v, w)| v * w).sum();
    match 11 - sum % 11 {
        10 => b'X',
        11 => b'0',
        c => b'0' + c as u8,
    }
}

/// Whether `c` (either case) is the GB 11714 check character for the given
/// eight body bytes. The body bytes must already be known to be in the alphabet.
#[inline]
pub(crate) fn check_matches(body: &[u8], c: u8) -> Result<(), u8> {
    let expected = check_char_of_values(body.iter().map(|&b| u32::from(VALUE[b as usize])));
    if c.to_ascii_uppercase() == expected {
        Ok(())
    } else {
        Err(expected)
    }
}

/// A valid organization code, stored as 9 upper-case ASCII bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OrgCode([u8; 9]);

impl OrgCode {
    /// Parses and validates a code (9 characters or `XXXXXXXX-X`, any case,
    /// surrounding whitespace ignored).
    pub fn parse(input: &str) -> Result<OrgCode, CodeError> {
        scan(input.trim()).map(OrgCode)
    }

    /// Validates without building a value.
    pub fn validate(input: &str) -> Result<(), CodeError> {
        scan(input.trim()).map(|_| ())
    }

    /// Fast check on raw bytes: exactly 9 bytes, or 10 with `-` at index 8,
    /// either case, no surrounding whitespace. Never allocates.
    #[inline]
    pub fn is_valid(code: &[u8]) -> bool {
        let (body, c) = match code.len() {
            9 => (&code[..8], code[8]),
            10 if code[8] == b'-' => (&code[..8], code[9]),
            _ => return false,
        };
        let mut sum = 0u32;
        let mut ok = true;
        for (&b, w) in body.iter().zip(WEIGHTS) {
            let v = VALUE[b as usize];
            ok &= v != BAD;
            sum += u32::from(v) * w;
        }
        let expected = match 11 - sum % 11 {
            10 => b'X',
            11 => b'0',
            d => b'0' + d as u8,
        };
        ok && c.to_ascii_uppercase() == expected
    }

    /// Builds a code from its 8 body characters by computing the check character.
    pub fn from_body(body: &str) -> Result<OrgCode, CodeError> {
        let body = body.trim();
        let bytes = body.as_bytes();
        if !body.is_ascii() || bytes.len() != 8 {
            let (n, bad) = first_non_ascii(body);
            if let (8, Some((position, ch))) = (n, bad) {
                return Err(CodeError::Character { position, ch });
            }
            return Err(CodeError::Length {
                expected: 8,
                actual: n,
            });
        }
        let mut out = [0u8; 9];
        for (i, &b) in bytes.iter().enumerate() {
            if VALUE[b as usize] == BAD {
                return Err(bad_char(i + 1, b));
            }
            out[i] = b.to_ascii_uppercase();
        }
        out[8] = check_char_of_values(out[..8].iter().map(|&b| u32::from(VALUE[b as usize])));
        Ok(OrgCode(out))
    }

    /// Wraps 9 bytes already known to be a valid upper-case code.
    pub(crate) fn from_valid_bytes(bytes: [u8; 9]) -> OrgCode {
        debug_assert!(OrgCode::is_valid(&bytes));
        OrgCode(bytes)
    }

    /// The 9 characters, upper-case, without hyphen.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("organization code bytes are ASCII")
    }

    /// The printed form `XXXXXXXX-X`.
    pub fn hyphenated(&self) -> String {
        let s = self.as_str();
        format!("{}-{}", &s[..8], &s[8..])
    }

    /// The check character (`0`–`9` or `X`).
    pub fn check_char(&self) -> char {
        char::from(self.0[8])
    }
}

fn bad_char(position: usize, b: u8) -> CodeError {
    CodeError::Character {
        position,
        ch: char::from(b).to_ascii_uppercase(),
    }
}

/// Validates trimmed input and returns the normalized 9 bytes.
fn scan(s: &str) -> Result<[u8; 9], CodeError> {
    let bytes = s.as_bytes();
    if !s.is_ascii() {
        let (n, bad) = first_non_ascii(s);
        let hyphen_ok = n == 10 && s.chars().nth(8) == Some('-');
        return match bad {
            Some((position, ch)) if n == 9 || hyphen_ok => {
                Err(CodeError::Character { position, ch })
            }
            _ => Err(CodeError::Length {
                expected: 9,
                actual: n,
            }),
        };
    }
    let check_pos = match bytes.len() {
        9 => 8,
        10 if bytes[8] == b'-' => 9,
        n => {
            return Err(CodeError::Length {
                expected: 9,
                actual: n,
            });
        }
    };
    let mut out = [0u8; 9];
    for (i, &b) in bytes[..8].iter().enumerate() {
        if VALUE[b as usize] == BAD {
            return Err(bad_char(i + 1, b));
        }
        out[i] = b.to_ascii_uppercase();
    }
    let c = bytes[check_pos].to_ascii_uppercase();
    if !(c.is_ascii_digit() || c == b'X') {
        return Err(bad_char(check_pos + 1, c));
    }
    out[8] = c;
    check_matches(&out[..8], c).map_err(|expected| CodeError::CheckDigit {
        expected: char::from(expected),
        actual: char::from(c),
    })?;
    Ok(out)
}

impl fmt::Display for OrgCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for OrgCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OrgCode({})", self.as_str())
    }
}

impl std::str::FromStr for OrgCode {
    type Err = CodeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        OrgCode::parse(s)
    }
}

impl serde::Serialize for OrgCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for OrgCode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        OrgCode::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Organization parts (characters 9–17) of the published USCC test vectors.
    const VALID: [&str; 6] = [
        "192203821",
        "708461136",
        "214434146",
        "551385082",
        "666007217",
        "775260043",
    ];

    #[test]
    fn published_org_parts_are_valid() {
        for c in VALID {
            assert!(OrgCode::is_valid(c.as_bytes()), "{c}");
            assert_eq!(OrgCode::parse(c).unwrap().as_str(), c);
        }
    }

    #[test]
    fn check_char_x_and_zero() {
        // Find bodies whose check is 10 → 'X' and 11 → '0' and round-trip them.
        let x = OrgCode::from_body("00000001").unwrap(); // 2 → 11-2 = 9
        assert_eq!(x.check_char(), '9');
        let zero = OrgCode::from_body("00000000").unwrap(); // sum 0 → 11 → '0'
        assert_eq!(zero.check_char(), '0');
        // body with sum ≡ 1 (mod 11) → check 10 → 'X': weight 5 at position 5, value 9 → 45 ≡ 1.
        let ten = OrgCode::from_body("00009000").unwrap();
        assert_eq!(ten.check_char(), 'X');
        assert!(OrgCode::is_valid(b"00009000X"));
        assert!(OrgCode::is_valid(b"00009000x"));
        assert!(OrgCode::is_valid(b"00009000-X"));
    }

    #[test]
    fn accepts_hyphen_lowercase_and_whitespace() {
        let c = OrgCode::parse(" m000100y-4\t").unwrap();
        assert_eq!(c.as_str(), "M000100Y4");
        assert_eq!(c.hyphenated(), "M000100Y-4");
        assert_eq!(c.to_string(), "M000100Y4");
    }

    #[test]
    fn reports_reasons() {
        assert_eq!(
            OrgCode::parse("12345678"),
            Err(CodeError::Length {
                expected: 9,
                actual: 8
            })
        );
        assert_eq!(
            OrgCode::parse("1234567890"),
            Err(CodeError::Length {
                expected: 9,
                actual: 10
            })
        );
        assert_eq!(
            OrgCode::parse("1234#6789"),
            Err(CodeError::Character {
                position: 5,
                ch: '#'
            })
        );
        assert_eq!(
            OrgCode::parse("1234５6789"),
            Err(CodeError::Character {
                position: 5,
                ch: '５'
            })
        );
        assert_eq!(
            OrgCode::parse("12345678A"),
            Err(CodeError::Character {
                position: 9,
                ch: 'A'
            })
        );
        assert_eq!(
            OrgCode::parse("19220382-2"),
            Err(CodeError::CheckDigit {
                expected: '1',
                actual: '2'
            })
        );
    }

    #[test]
    fn is_valid_agrees_with_parse_on_samples() {
        for s in [
            "192203821",
            "192203822",
            "1922038-1",
            "19220382-1",
            "",
            "X",
            "abcdefghX",
        ] {
            assert_eq!(
                OrgCode::is_valid(s.as_bytes()),
                OrgCode::parse(s).is_ok(),
                "{s}"
            );
        }
    }

    #[test]
    fn serde_round_trip() {
        let c = OrgCode::parse("M000100Y4").unwrap();
        let j = serde_json::to_string(&c).unwrap();
        assert_eq!(j, "\"M000100Y4\"");
        assert_eq!(serde_json::from_str::<OrgCode>(&j).unwrap(), c);
        assert!(serde_json::from_str::<OrgCode>("\"M000100Y5\"").is_err());
    }
}
