//! Matter numbers: `TS-2026-000123-7`.
//!
//! A number is the kind's prefix (2–4 upper-case letters), the year, a sequence (at least six
//! digits, more once a kind passes 999,999 matters in a year) and a check character by
//! ISO/IEC 7064 MOD 37-2 over the prefix, year and sequence (hyphens left out). MOD 37-2 is a
//! pure system with a prime modulus: it catches every single-character substitution and every
//! transposition of two adjacent characters, the check character included (the tests check
//! this exhaustively over a sample). Its 37th check value is written `*`.
//!
//! Parsing is tolerant of how people type a number: lower case, spaces, full-width letters
//! and digits (`ＴＳ－２０２６…`), other dashes, or no hyphens at all. A number with the wrong
//! check character is refused with a message that says so.

use std::fmt;

use serde::{Serialize, Serializer};

use crate::error::AppError;

const ALPHABET: &[u8; 37] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ*";

fn value(c: u8) -> Option<u32> {
    ALPHABET.iter().position(|&a| a == c).map(|p| p as u32)
}

/// The ISO/IEC 7064 MOD 37-2 check character of `data` (digits and upper-case letters).
/// Returns `None` if `data` holds anything else.
pub fn check_char(data: &str) -> Option<char> {
    let mut p: u32 = 0;
    for b in data.bytes() {
        let v = value(b).filter(|&v| v < 36)?;
        p = ((p + v) * 2) % 37;
    }
    Some(ALPHABET[((38 - p) % 37) as usize] as char)
}

/// Whether `data` followed by its last character as the check character is consistent.
pub fn is_consistent(data_and_check: &str) -> bool {
    let Some(last) = data_and_check.chars().last() else {
        return false;
    };
    let data = &data_and_check[..data_and_check.len() - last.len_utf8()];
    check_char(data) == Some(last)
}

/// A parsed, checked matter number.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MatterNumber {
    prefix: String,
    year: i32,
    seq: u64,
}

impl MatterNumber {
    /// A number from its parts. The prefix must be 2–4 upper-case ASCII letters and the year
    /// four digits (1000–9999); the sequence starts at 1.
    pub fn new(prefix: &str, year: i32, seq: u64) -> Result<MatterNumber, AppError> {
        if !valid_prefix(prefix) {
            return Err(AppError::bad_request(
                "number",
                format!(
                    "事项编号前缀“{prefix}”应为 2–4 个大写字母 (a number prefix is 2 to 4 upper-case letters)"
                ),
            ));
        }
        if !(1000..=9999).contains(&year) || seq == 0 {
            return Err(AppError::bad_request(
                "number",
                "事项编号的年份应为四位数、序号从 1 起 (the year has four digits, the sequence starts at 1)",
            ));
        }
        Ok(MatterNumber {
            prefix: prefix.to_string(),
            year,
            seq,
        })
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    pub fn year(&self) -> i32 {
        self.year
    }

    pub fn seq(&self) -> u64 {
        self.seq
    }

    fn data(&self) -> String {
        format!("{}{}{:06}", self.prefix, self.year, self.seq)
    }

    /// The check character.
    pub fn check(&self) -> char {
        check_char(&self.data()).expect("prefix, year and sequence are alphanumeric")
    }

    /// Parses a number as people type it (see the module notes).
    pub fn parse(input: &str) -> Result<MatterNumber, AppError> {
        let bad = |zh: &str, en: &str| {
            AppError::bad_request(
                "number",
                format!("事项编号“{}”{zh} (matter number: {en})", input.trim()),
            )
        };
        let mut s = String::with_capacity(input.len());
        for c in input.chars() {
            let c = normalize_char(c);
            match c {
                ' ' | '\t' | '\n' | '\r' | '-' => {}
                c if c.is_ascii_alphanumeric() || c == '*' => s.push(c.to_ascii_uppercase()),
                _ => {
                    return Err(bad(
                        "含有不允许的字符，应形如 TS-2026-000123-7",
                        "it holds a character numbers never have; expected the form TS-2026-000123-7",
                    ));
                }
            }
        }
        let letters = s.bytes().take_while(|b| b.is_ascii_uppercase()).count();
        if !(2..=4).contains(&letters) {
            return Err(bad(
                "应以 2–4 个字母的类别前缀开头，形如 TS-2026-000123-7",
                "it starts with a 2-to-4-letter kind prefix, as in TS-2026-000123-7",
            ));
        }
        let rest = &s[letters..];
        // year (4) + sequence (at least 6) + check (1)
        if rest.len() < 11 || rest.len() > 4 + 12 + 1 {
            return Err(bad(
                "长度不对，应为前缀-年份-六位以上序号-校验位，形如 TS-2026-000123-7",
                "wrong length; expected prefix-year-sequence of six or more digits-check, as in TS-2026-000123-7",
            ));
        }
        let (digits, check) = rest.split_at(rest.len() - 1);
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad(
                "年份和序号只能是数字",
                "the year and the sequence are digits only",
            ));
        }
        let year: i32 = digits[..4]
            .parse()
            .map_err(|_| bad("年份应为四位数字", "the year is four digits"))?;
        let seq: u64 = digits[4..]
            .parse()
            .map_err(|_| bad("序号无效", "the sequence is not a number"))?;
        if digits.len() > 10 && digits.as_bytes()[4] == b'0' {
            return Err(bad(
                "序号超过六位时不以 0 开头",
                "a sequence longer than six digits has no leading zero",
            ));
        }
        let number = MatterNumber::new(&s[..letters], year, seq)?;
        let want = number.check();
        if !check.starts_with(want) {
            return Err(bad(
                "校验位不符，请核对是否有输错或颠倒的字符",
                "the check character does not match; a character is mistyped or two are swapped",
            ));
        }
        Ok(number)
    }
}

/// Whether `p` is a valid kind prefix: 2–4 upper-case ASCII letters.
pub fn valid_prefix(p: &str) -> bool {
    (2..=4).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_uppercase())
}

/// Full-width forms to ASCII; the dashes people type to `-`.
fn normalize_char(c: char) -> char {
    match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        '\u{3000}' => ' ',
        '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{FE58}' | '\u{FE63}' | '_' => '-',
        c => c,
    }
}

impl fmt::Display for MatterNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}-{}-{:06}-{}",
            self.prefix,
            self.year,
            self.seq,
            self.check()
        )
    }
}

impl Serialize for MatterNumber {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl std::str::FromStr for MatterNumber {
    type Err = AppError;
    fn from_str(s: &str) -> Result<MatterNumber, AppError> {
        MatterNumber::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_round_trips() {
        let n = MatterNumber::new("TS", 2026, 123).unwrap();
        let text = n.to_string();
        assert!(text.starts_with("TS-2026-000123-"), "{text}");
        assert_eq!(MatterNumber::parse(&text).unwrap(), n);
        let big = MatterNumber::new("ABCD", 2026, 12_345_678).unwrap();
        assert!(big.to_string().starts_with("ABCD-2026-12345678-"));
        assert_eq!(MatterNumber::parse(&big.to_string()).unwrap(), big);
    }

    #[test]
    fn the_standard_example_of_iso_7064() {
        // ISO/IEC 7064 MOD 37-2 over "G123498654321" gives "H".
        assert_eq!(check_char("G123498654321"), Some('H'));
    }
}
