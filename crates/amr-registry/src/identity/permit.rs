//! The Mainland travel permit for Hong Kong and Macao residents (港澳居民来往内地通行证,
//! "回乡证").
//!
//! Formats (issued by the Ministry of Public Security's Exit and Entry Administration, now
//! the National Immigration Administration; the card form was introduced by the Ministry's
//! announcement on the new card-type permit, in use from 2 January 2013):
//!
//! - **card (current, 2013–)**: the letter `H` (Hong Kong residents) or `M` (Macao residents)
//!   and 8 digits, the holder's permanent number: `H12345678`;
//! - **older booklet and first card**: the letter and 10 digits: the same 8-digit permanent
//!   number followed by a 2-digit issue count (换证次数): `H1234567801`.
//!
//! The number carries no check digit. Because the 8-digit permanent number survives renewals,
//! identities are matched on [`TravelPermit::permanent_number`], so a permit in the old form
//! and its successor card name the same person.

use std::fmt;

use super::hkid::half_width;

/// Why a permit number was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PermitError {
    Empty,
    /// The first letter is not H or M.
    Region(char),
    /// A character other than a digit after the letter.
    NotDigits,
    /// Neither 8 (card) nor 10 (older form) digits.
    Length(usize),
}

impl fmt::Display for PermitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PermitError::Empty => write!(
                f,
                "港澳居民来往内地通行证号码为空 (the Mainland travel permit number is empty)"
            ),
            PermitError::Region(c) => write!(
                f,
                "港澳居民来往内地通行证号码应以 H（香港）或 M（澳门）开头，而不是 {c:?} \
                 (the permit number starts with H for Hong Kong or M for Macao, not {c:?})"
            ),
            PermitError::NotDigits => write!(
                f,
                "港澳居民来往内地通行证号码的字母之后只能是数字 \
                 (only digits may follow the permit number's letter)"
            ),
            PermitError::Length(n) => write!(
                f,
                "港澳居民来往内地通行证号码字母之后应为 8 位数字（卡式证件）或 10 位数字（旧版），\
                 实际 {n} 位 (the permit number has 8 digits after its letter, or 10 in the older \
                 form; found {n})"
            ),
        }
    }
}

impl std::error::Error for PermitError {}

/// Which residents the permit is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PermitRegion {
    HongKong,
    Macao,
}

/// A well-formed permit number, upper case, without spaces (`H12345678`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TravelPermit(String);

impl TravelPermit {
    /// Parses a permit number as people type it: full-width characters, spaces and lower case
    /// are accepted.
    pub fn parse(input: &str) -> Result<TravelPermit, PermitError> {
        let s: String = input
            .chars()
            .map(half_width)
            .filter(|c| !c.is_whitespace())
            .map(|c| c.to_ascii_uppercase())
            .take(40)
            .collect();
        let mut chars = s.chars();
        let first = chars.next().ok_or(PermitError::Empty)?;
        if first != 'H' && first != 'M' {
            return Err(PermitError::Region(first));
        }
        let digits = chars.as_str();
        if !digits.chars().all(|c| c.is_ascii_digit()) {
            return Err(PermitError::NotDigits);
        }
        match digits.len() {
            8 | 10 => Ok(TravelPermit(s)),
            n => Err(PermitError::Length(n)),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn region(&self) -> PermitRegion {
        if self.0.starts_with('H') {
            PermitRegion::HongKong
        } else {
            PermitRegion::Macao
        }
    }

    /// Is this the older form (10 digits, the last two an issue count)?
    pub fn is_older_form(&self) -> bool {
        self.0.len() == 11
    }

    /// The letter and the 8-digit permanent number, the same in every renewal (`H12345678`).
    pub fn permanent_number(&self) -> &str {
        &self.0[..9]
    }

    /// The number with its last four digits hidden (`H1234****`).
    pub fn masked(&self) -> String {
        format!("{}****", &self.0[..5])
    }
}

impl fmt::Display for TravelPermit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn both_forms_and_both_regions() {
        let card = TravelPermit::parse("H12345678").unwrap();
        assert_eq!(card.region(), PermitRegion::HongKong);
        assert!(!card.is_older_form());
        assert_eq!(card.masked(), "H1234****");
        let old = TravelPermit::parse("h 1234 5678 03").unwrap();
        assert_eq!(old.as_str(), "H1234567803");
        assert!(old.is_older_form());
        assert_eq!(old.permanent_number(), card.permanent_number());
        let macao = TravelPermit::parse("Ｍ８７６５４３２１").unwrap();
        assert_eq!(macao.as_str(), "M87654321");
        assert_eq!(macao.region(), PermitRegion::Macao);
    }

    #[test]
    fn each_failure_has_its_reason() {
        assert_eq!(TravelPermit::parse(" "), Err(PermitError::Empty));
        assert_eq!(
            TravelPermit::parse("C12345678"),
            Err(PermitError::Region('C'))
        );
        assert_eq!(
            TravelPermit::parse("12345678"),
            Err(PermitError::Region('1'))
        );
        assert_eq!(
            TravelPermit::parse("H1234567X"),
            Err(PermitError::NotDigits)
        );
        assert_eq!(TravelPermit::parse("H1234567"), Err(PermitError::Length(7)));
        assert_eq!(
            TravelPermit::parse("H123456789"),
            Err(PermitError::Length(9))
        );
        assert!(
            PermitError::Length(9)
                .to_string()
                .starts_with("港澳居民来往内地通行证")
        );
    }

    proptest! {
        #[test]
        fn well_formed_numbers_parse(region in "[HMhm]", digits in "[0-9]{8}|[0-9]{10}") {
            let p = TravelPermit::parse(&format!(" {region}{digits} ")).unwrap();
            prop_assert_eq!(p.as_str(), format!("{}{digits}", region.to_ascii_uppercase()));
            prop_assert_eq!(p.permanent_number(), &p.as_str()[..9]);
        }

        #[test]
        fn other_lengths_are_refused(digits in "[0-9]{0,7}|[0-9]{9}|[0-9]{11,20}") {
            let refused = TravelPermit::parse(&format!("H{digits}"));
            prop_assert!(matches!(refused, Err(PermitError::Length(_))));
        }

        #[test]
        fn arbitrary_input_never_panics(s in "\\PC{0,30}") {
            let _ = TravelPermit::parse(&s);
        }
    }
}
