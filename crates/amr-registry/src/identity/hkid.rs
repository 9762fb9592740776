//! The Hong Kong identity card number (香港身份证号码).
//!
//! Format (Immigration Department of the HKSAR; Registration of Persons Regulations, Cap.
//! 177A): one or two capital letters, six digits, and a check character `0`–`9` or `A`,
//! printed in brackets: `A123456(3)`, `XY987654(2)`.
//!
//! The check character is the standard weighted modulus-11 check: with the prefix padded to
//! two characters by a leading space, the eight characters are valued (space = 36, `A`–`Z` =
//! 10–35, digits = themselves) and weighted 9, 8, 7, 6, 5, 4, 3, 2; the check value `c` makes
//! `sum + c` divisible by 11, written `A` when it is 10.
//!
//! [`HkId::parse`] accepts what people type: full-width characters (`Ａ１２３４５６（３）`),
//! spaces anywhere, lower case, brackets of either width or none. It gives one clear reason,
//! Chinese first, for each way an input can fail.

use std::fmt;

/// Why an HKID number was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HkIdError {
    Empty,
    /// A character that can never appear in the number.
    BadCharacter(char),
    /// Brackets that do not enclose exactly the last character.
    Brackets,
    /// Wrong number of characters (after removing spaces and brackets).
    Length(usize),
    /// The prefix is not one or two letters.
    Prefix,
    /// The six characters after the prefix are not all digits.
    Digits,
    /// The check character is not 0–9 or A.
    CheckCharacter(char),
    /// The check character does not fit the rest.
    CheckDigit {
        expected: char,
        found: char,
    },
}

impl fmt::Display for HkIdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HkIdError::Empty => write!(
                f,
                "香港身份证号码为空 (the Hong Kong identity card number is empty)"
            ),
            HkIdError::BadCharacter(c) => write!(
                f,
                "香港身份证号码含有不允许的字符 {c:?}，只能是字母、数字和括号 \
                 (the HKID number contains {c:?}; only letters, digits and brackets are allowed)"
            ),
            HkIdError::Brackets => write!(
                f,
                "香港身份证号码的括号只能括住最后一位校验码，如 A123456(3) \
                 (brackets may only enclose the final check character, e.g. A123456(3))"
            ),
            HkIdError::Length(n) => write!(
                f,
                "香港身份证号码应为 8 或 9 位（1–2 个字母、6 位数字、1 位校验码），实际 {n} 位 \
                 (an HKID number has 8 or 9 characters: 1–2 letters, 6 digits, a check character; \
                 found {n})"
            ),
            HkIdError::Prefix => write!(
                f,
                "香港身份证号码应以 1 至 2 个英文字母开头 \
                 (an HKID number starts with one or two letters)"
            ),
            HkIdError::Digits => write!(
                f,
                "香港身份证号码的字母之后应为 6 位数字 \
                 (an HKID number has six digits after its letters)"
            ),
            HkIdError::CheckCharacter(c) => write!(
                f,
                "香港身份证号码的校验码应为 0–9 或 A，而不是 {c:?} \
                 (the check character must be 0–9 or A, not {c:?})"
            ),
            HkIdError::CheckDigit { expected, found } => write!(
                f,
                "香港身份证号码校验码不符：应为 {expected}，填写的是 {found}，请核对号码 \
                 (the check character does not match: expected {expected}, found {found}; \
                 please check the number)"
            ),
        }
    }
}

impl std::error::Error for HkIdError {}

/// A valid Hong Kong identity card number, stored without brackets (`A1234563`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HkId(String);

/// Full-width ASCII (U+FF01–U+FF5E) and the ideographic space to their ASCII forms.
pub(crate) fn half_width(c: char) -> char {
    match c {
        '\u{3000}' => ' ',
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        _ => c,
    }
}

fn value(c: char) -> u32 {
    match c {
        ' ' => 36,
        'A'..='Z' => c as u32 - 'A' as u32 + 10,
        '0'..='9' => c as u32 - '0' as u32,
        _ => 0,
    }
}

/// The check character for a prefix of one or two capital letters and six digits.
pub fn check_character(prefix: &str, digits: &str) -> char {
    let padded = if prefix.len() == 1 {
        format!(" {prefix}{digits}")
    } else {
        format!("{prefix}{digits}")
    };
    let sum: u32 = padded
        .chars()
        .zip((2..=9).rev())
        .map(|(c, w)| value(c) * w)
        .sum();
    match (11 - sum % 11) % 11 {
        10 => 'A',
        d => char::from_digit(d, 10).unwrap_or('0'),
    }
}

impl HkId {
    /// Parses and checks a number as people type it (see the module docs).
    pub fn parse(input: &str) -> Result<HkId, HkIdError> {
        let mut chars = Vec::with_capacity(10);
        let mut open_at = None;
        let mut close_at = None;
        for c in input.chars().map(half_width) {
            match c {
                c if c.is_whitespace() => {}
                '(' | '[' => {
                    if open_at.is_some() {
                        return Err(HkIdError::Brackets);
                    }
                    open_at = Some(chars.len());
                }
                ')' | ']' => {
                    if close_at.is_some() {
                        return Err(HkIdError::Brackets);
                    }
                    close_at = Some(chars.len());
                }
                c if c.is_ascii_alphanumeric() => chars.push(c.to_ascii_uppercase()),
                c => return Err(HkIdError::BadCharacter(c)),
            }
            if chars.len() > 16 {
                return Err(HkIdError::Length(chars.len()));
            }
        }
        if chars.is_empty() {
            return Err(HkIdError::Empty);
        }
        // Brackets, if any, enclose exactly the last character.
        match (open_at, close_at) {
            (None, None) => {}
            (Some(o), Some(c)) if o + 1 == c && c == chars.len() => {}
            _ => return Err(HkIdError::Brackets),
        }
        let n = chars.len();
        if !(8..=9).contains(&n) {
            return Err(HkIdError::Length(n));
        }
        let prefix_len = n - 7;
        let (prefix, rest) = chars.split_at(prefix_len);
        let (digits, check) = rest.split_at(6);
        if !prefix.iter().all(char::is_ascii_uppercase) {
            return Err(HkIdError::Prefix);
        }
        if !digits.iter().all(char::is_ascii_digit) {
            return Err(HkIdError::Digits);
        }
        let found = check[0];
        if !(found.is_ascii_digit() || found == 'A') {
            return Err(HkIdError::CheckCharacter(found));
        }
        let prefix: String = prefix.iter().collect();
        let digits: String = digits.iter().collect();
        let expected = check_character(&prefix, &digits);
        if expected != found {
            return Err(HkIdError::CheckDigit { expected, found });
        }
        Ok(HkId(format!("{prefix}{digits}{found}")))
    }

    /// The number without brackets, `A1234563` (the stored form).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The number as printed on the card, `A123456(3)`.
    pub fn display(&self) -> String {
        let (body, check) = self.0.split_at(self.0.len() - 1);
        format!("{body}({check})")
    }

    /// The number with the last four digits and the check character hidden, `A12****(*)`,
    /// for pages that show who signed without repeating the whole number.
    pub fn masked(&self) -> String {
        let prefix_len = self.0.len() - 7;
        let keep = &self.0[..prefix_len + 2];
        format!("{keep}****(*)")
    }
}

impl fmt::Display for HkId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_numbers() {
        // A123456(3): 36·9 + 10·8 + 1·7 + 2·6 + 3·5 + 4·4 + 5·3 + 6·2 = 481; 481 mod 11 = 8; 11 − 8 = 3.
        assert_eq!(check_character("A", "123456"), '3');
        let id = HkId::parse("A123456(3)").unwrap();
        assert_eq!(id.as_str(), "A1234563");
        assert_eq!(id.display(), "A123456(3)");
        assert_eq!(id.masked(), "A12****(*)");
        // Two letters: 10·9 + 11·8 + 9·7 + 8·6 + 7·5 + 6·4 + 5·3 + 4·2 = 371; 371 mod 11 = 8.
        assert_eq!(check_character("AB", "987654"), '3');
        assert_eq!(HkId::parse("AB987654(3)").unwrap().masked(), "AB98****(*)");
        // A check value of 10 is written A.
        let with_a = (0..1_000_000u32)
            .map(|n| format!("{n:06}"))
            .find(|d| check_character("C", d) == 'A')
            .unwrap();
        let id = HkId::parse(&format!("c{with_a}(a)")).unwrap();
        assert!(id.as_str().ends_with('A'));
    }

    #[test]
    fn typed_forms_normalize() {
        for s in [
            "A1234563",
            "a123456(3)",
            " A 123456 ( 3 ) ",
            "Ａ１２３４５６（３）",
            "A123456[3]",
            "A123456\u{3000}(3)",
        ] {
            assert_eq!(HkId::parse(s).unwrap().as_str(), "A1234563", "{s}");
        }
    }

    #[test]
    fn each_failure_has_its_reason() {
        assert_eq!(HkId::parse("  "), Err(HkIdError::Empty));
        assert_eq!(HkId::parse("A123456-3"), Err(HkIdError::BadCharacter('-')));
        assert_eq!(HkId::parse("A12(3456)3"), Err(HkIdError::Brackets));
        assert_eq!(HkId::parse("A123456(3"), Err(HkIdError::Brackets));
        assert_eq!(HkId::parse("A12345(6)(3)"), Err(HkIdError::Brackets));
        assert_eq!(HkId::parse("A12345(6)"), Err(HkIdError::Length(7)));
        assert_eq!(HkId::parse("ABC123456(3)"), Err(HkIdError::Length(10)));
        assert_eq!(HkId::parse("1A123456"), Err(HkIdError::Prefix));
        assert_eq!(HkId::parse("A12B4563"), Err(HkIdError::Digits));
        assert_eq!(
            HkId::parse("A123456(B)"),
            Err(HkIdError::CheckCharacter('B'))
        );
        assert_eq!(
            HkId::parse("A123456(4)"),
            Err(HkIdError::CheckDigit {
                expected: '3',
                found: '4'
            })
        );
        // Chinese first in every message.
        for e in [
            HkIdError::Empty,
            HkIdError::Length(3),
            HkIdError::CheckDigit {
                expected: '3',
                found: '4',
            },
        ] {
            let m = e.to_string();
            assert!(m.starts_with("香港身份证号码"), "{m}");
        }
    }

    fn arb_number() -> impl Strategy<Value = (String, String)> {
        ("[A-Z]{1,2}", "[0-9]{6}")
    }

    proptest! {
        #[test]
        fn generated_numbers_parse_in_every_typed_form((prefix, digits) in arb_number(),
                                                      lower in any::<bool>(),
                                                      wide in any::<bool>(),
                                                      brackets in any::<bool>()) {
            let check = check_character(&prefix, &digits);
            let mut s = if brackets {
                format!("{prefix}{digits}({check})")
            } else {
                format!("{prefix}{digits}{check}")
            };
            if lower {
                s = s.to_lowercase();
            }
            if wide {
                s = s.chars().map(|c| char::from_u32(c as u32 + 0xFEE0).unwrap()).collect();
            }
            let id = HkId::parse(&s).unwrap();
            prop_assert_eq!(id.as_str(), format!("{prefix}{digits}{check}"));
            prop_assert_eq!(HkId::parse(&id.display()).unwrap(), id);
        }

        #[test]
        fn any_other_check_character_is_refused((prefix, digits) in arb_number(), wrong in 0u32..11) {
            let check = check_character(&prefix, &digits);
            let wrong = if wrong == 10 { 'A' } else { char::from_digit(wrong, 10).unwrap() };
            prop_assume!(wrong != check);
            let refused = HkId::parse(&format!("{prefix}{digits}({wrong})"));
            let is_check_error = matches!(refused, Err(HkIdError::CheckDigit { .. }));
            prop_assert!(is_check_error);
        }

        #[test]
        fn a_changed_digit_is_caught((prefix, digits) in arb_number(), pos in 0usize..6, delta in 1u8..10) {
            let check = check_character(&prefix, &digits);
            let mut d: Vec<u8> = digits.bytes().collect();
            d[pos] = b'0' + (d[pos] - b'0' + delta) % 10;
            let changed = String::from_utf8(d).unwrap();
            // Modulus 11 with weights below 11 catches every single-digit error.
            let typed = format!("{prefix}{changed}{check}");
            prop_assert!(HkId::parse(&typed).is_err());
        }

        #[test]
        fn arbitrary_input_never_panics(s in "\\PC{0,24}") {
            let _ = HkId::parse(&s);
        }
    }
}
