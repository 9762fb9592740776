//! Identification codes used by market regulation.
//!
//! * [`uscc`] — the 18-character unified social credit code (GB 32100-2015);
//! * [`orgcode`] — the 9-character organization code (GB 11714-1997), which
//!   also forms characters 9–17 of every USCC;
//! * [`division`] — administrative division codes (GB/T 2260) and the 9-digit
//!   town codes of the National Bureau of Statistics, with the embedded table.
//!
//! [`check`] is what `amr code check` prints: it guesses the kind of code from
//! its length, validates it and reports the first reason of failure, in
//! Chinese first and English in parentheses, together with a stable machine
//! code ([`CodeError::code`]).

use std::fmt;

use serde::Serialize;

pub mod division;
pub mod orgcode;
pub mod uscc;

pub use division::{Division, DivisionError, DivisionTable, Jurisdiction, Level, divisions};
pub use orgcode::OrgCode;
pub use uscc::{RegistrationType, Uscc};

/// Why a USCC or an organization code is invalid.
///
/// Positions are 1-based and count characters of the trimmed input as given.
/// Every variant but [`CodeError::UnknownDivision`] is `Copy`-sized data, so
/// producing an error does not allocate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeError {
    /// The code has the wrong number of characters.
    Length {
        /// Characters a code of this kind has.
        expected: usize,
        /// Characters found (after trimming surrounding whitespace).
        actual: usize,
    },
    /// A character is outside the code's alphabet.
    Character {
        /// 1-based position.
        position: usize,
        /// The offending character (upper-cased).
        ch: char,
    },
    /// Position 1 is not a registration-authority code (`1`–`9`, `A`, `N`, `Y`).
    Authority {
        /// The character found.
        ch: char,
    },
    /// Position 2 is not an entity type defined for the authority in position 1.
    EntityType {
        /// Position 1.
        authority: char,
        /// Position 2.
        entity_type: char,
    },
    /// Positions 3–8 (the registering division) are not all digits.
    Division {
        /// 1-based position of the first non-digit.
        position: usize,
        /// The character found there.
        ch: char,
    },
    /// Positions 9–17 fail the GB 11714 organization-code check.
    OrgCode {
        /// The check character GB 11714 requires at position 17.
        expected: char,
        /// The character found.
        actual: char,
    },
    /// The final check character is wrong.
    CheckDigit {
        /// The check character the code requires.
        expected: char,
        /// The character found.
        actual: char,
    },
    /// A division code given to a generator is not in the division table.
    UnknownDivision(String),
}

impl CodeError {
    /// Stable machine-readable code: `length`, `character`, `authority`,
    /// `entity_type`, `division`, `org_code` or `check_digit`.
    pub fn code(&self) -> &'static str {
        match self {
            CodeError::Length { .. } => "length",
            CodeError::Character { .. } => "character",
            CodeError::Authority { .. } => "authority",
            CodeError::EntityType { .. } => "entity_type",
            CodeError::Division { .. } | CodeError::UnknownDivision(_) => "division",
            CodeError::OrgCode { .. } => "org_code",
            CodeError::CheckDigit { .. } => "check_digit",
        }
    }
}

impl fmt::Display for CodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CodeError::Length { expected, actual } => write!(
                f,
                "长度错误：应为 {expected} 位，实为 {actual} 位 \
                 (wrong length: expected {expected} characters, got {actual})"
            ),
            CodeError::Character { position, ch } => write!(
                f,
                "第 {position} 位字符“{ch}”不合法 (invalid character '{ch}' at position {position})"
            ),
            CodeError::Authority { ch } => write!(
                f,
                "登记管理部门码“{ch}”不存在 (unknown registration authority code '{ch}')"
            ),
            CodeError::EntityType {
                authority,
                entity_type,
            } => write!(
                f,
                "登记管理部门“{authority}”下没有机构类别码“{entity_type}” \
                 (entity type '{entity_type}' is not defined for authority '{authority}')"
            ),
            CodeError::Division { position, ch } => write!(
                f,
                "登记管理机关行政区划码（第 3–8 位）须为数字，第 {position} 位为“{ch}” \
                 (division code at positions 3-8 must be digits; got '{ch}' at position {position})"
            ),
            CodeError::OrgCode { expected, actual } => write!(
                f,
                "主体标识码（第 9–17 位）未通过组织机构代码校验：第 17 位应为 {expected}，实为 {actual} \
                 (organization code part (positions 9-17) fails the GB 11714 check: \
                 expected {expected}, got {actual})"
            ),
            CodeError::CheckDigit { expected, actual } => write!(
                f,
                "校验码错误：应为 {expected}，实为 {actual} \
                 (check digit mismatch: expected {expected}, got {actual})"
            ),
            CodeError::UnknownDivision(code) => write!(
                f,
                "行政区划代码“{code}”不存在 (unknown division code {code})"
            ),
        }
    }
}

impl std::error::Error for CodeError {}

/// Result of [`check`], as printed by `amr code check`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckReport {
    /// The code as given, trimmed.
    pub code: String,
    /// Whether it is valid.
    pub valid: bool,
    /// `"uscc"` or `"org"`.
    pub kind: &'static str,
    /// Why it is invalid, Chinese first then English in parentheses; `None` when valid.
    pub reason: Option<String>,
    /// Stable machine code of the failure ([`CodeError::code`]); `None` when valid.
    pub error: Option<&'static str>,
}

/// Validates a USCC or an organization code.
///
/// The kind is taken from the length of the trimmed input: 9 characters, or
/// 10 with a hyphen at position 9 (`XXXXXXXX-X`), is an organization code;
/// anything else is treated as a USCC (so a wrong length is reported against
/// the 18 characters of a USCC).
pub fn check(input: &str) -> CheckReport {
    let code = input.trim();
    let chars = code.chars().count();
    let is_org = chars == 9 || (chars == 10 && code.chars().nth(8) == Some('-'));
    let (kind, result) = if is_org {
        ("org", OrgCode::validate(code))
    } else {
        ("uscc", Uscc::validate(code))
    };
    CheckReport {
        code: code.to_owned(),
        valid: result.is_ok(),
        kind,
        reason: result.as_ref().err().map(ToString::to_string),
        error: result.err().map(|e| e.code()),
    }
}

/// Length and first non-ASCII character of `s`, for error reporting on input
/// that is not plain ASCII. Returns the character count and, if any, the
/// 1-based position and value of the first non-ASCII character.
pub(crate) fn first_non_ascii(s: &str) -> (usize, Option<(usize, char)>) {
    let mut first = None;
    let mut n = 0;
    for (i, c) in s.chars().enumerate() {
        if first.is_none() && !c.is_ascii() {
            first = Some((i + 1, c));
        }
        n += 1;
    }
    (n, first)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_reports_valid_uscc() {
        let r = check("  914403001922038216 ");
        assert_eq!(r.code, "914403001922038216");
        assert!(r.valid);
        assert_eq!(r.kind, "uscc");
        assert_eq!(r.reason, None);
        assert_eq!(r.error, None);
    }

    #[test]
    fn check_reports_check_digit_reason() {
        let r = check("91350100M000100Y4Z");
        assert!(!r.valid);
        assert_eq!(r.error, Some("check_digit"));
        assert_eq!(
            r.reason.as_deref(),
            Some("校验码错误：应为 3，实为 Z (check digit mismatch: expected 3, got Z)")
        );
    }

    #[test]
    fn check_detects_org_kind() {
        assert_eq!(check("M000100Y4").kind, "org");
        assert!(check("M000100Y4").valid);
        assert_eq!(check("M000100Y-4").kind, "org");
        assert!(check("M000100Y-4").valid);
        let r = check("M000100Y5");
        assert_eq!(r.error, Some("check_digit"));
        // 10 characters without the hyphen is judged as a (short) USCC.
        let r = check("M000100Y45");
        assert_eq!(r.kind, "uscc");
        assert_eq!(r.error, Some("length"));
    }

    #[test]
    fn check_report_serializes() {
        let json = serde_json::to_value(check("91110000800088421P")).unwrap();
        assert_eq!(json["kind"], "uscc");
        assert_eq!(json["valid"], false);
        assert!(json["error"].is_string());
    }

    #[test]
    fn every_error_has_chinese_then_english() {
        let errors = [
            CodeError::Length {
                expected: 18,
                actual: 3,
            },
            CodeError::Character {
                position: 4,
                ch: 'I',
            },
            CodeError::Authority { ch: '0' },
            CodeError::EntityType {
                authority: '9',
                entity_type: '4',
            },
            CodeError::Division {
                position: 5,
                ch: 'A',
            },
            CodeError::OrgCode {
                expected: 'X',
                actual: '1',
            },
            CodeError::CheckDigit {
                expected: '3',
                actual: 'Z',
            },
            CodeError::UnknownDivision("379999".into()),
        ];
        for e in errors {
            let s = e.to_string();
            let open = s.find(" (").expect("English part in parentheses");
            assert!(!s[..open].is_ascii(), "{s}");
            assert!(s.ends_with(')'), "{s}");
        }
    }
}
