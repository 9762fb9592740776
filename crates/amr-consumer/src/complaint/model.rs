//! What a complainant gives, parsed at the edge: every field bounded, errors Chinese first.
//! No IO here.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use amr_kernel::codes::uscc::Uscc;
use amr_kernel::error::AppError;

/// The kind of intake: 投诉 / 举报 / 咨询求助.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IntakeKind {
    Complaint,
    Report,
    Help,
}

impl IntakeKind {
    pub fn parse(s: &str) -> Result<IntakeKind, AppError> {
        match s.trim() {
            "" | "complaint" => Ok(IntakeKind::Complaint),
            "report" => Ok(IntakeKind::Report),
            "help" => Ok(IntakeKind::Help),
            _ => Err(AppError::bad_request(
                "kind",
                "类别应为 complaint（投诉）、report（举报）或 help（咨询求助） (the kind is complaint, report or help)",
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            IntakeKind::Complaint => "complaint",
            IntakeKind::Report => "report",
            IntakeKind::Help => "help",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            IntakeKind::Complaint => "投诉",
            IntakeKind::Report => "举报",
            IntakeKind::Help => "咨询求助",
        }
    }
}

/// The raw intake, as text from a form, JSON or Open311 (every field optional here; the
/// parse decides).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct IntakeInput {
    pub kind: String,
    pub name: String,
    pub phone: String,
    pub uscc: String,
    pub business_name: String,
    pub business_address: String,
    /// The county the complainant picked when the address did not settle it.
    pub county: String,
    pub purchase: String,
    pub purchase_date: String,
    pub amount: String,
    pub facts: String,
    pub claim: String,
    /// The category code (optional; `category.rs`).
    pub category: String,
}

/// The business as the complainant names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BusinessRef {
    /// A registered entity, looked up in the registry.
    Registered(String),
    /// A name and an address, routed by the address.
    FreeText { name: String, address: String },
}

/// A parsed intake.
#[derive(Debug, Clone)]
pub struct Intake {
    pub kind: IntakeKind,
    pub name: String,
    /// Digits only (`13812345678`, `053186001234`).
    pub phone: String,
    pub business: BusinessRef,
    /// The name as typed (kept beside a registered business for the record, may be empty).
    pub typed_business_name: String,
    pub county: Option<String>,
    pub purchase: String,
    pub purchase_date: Option<NaiveDate>,
    pub amount_fen: Option<i64>,
    pub facts: String,
    pub claim: String,
    pub category: Option<&'static str>,
}

/// A text field: trimmed, CRLF → LF, `min..=max` characters, no control characters but
/// line breaks and tabs (and none at all when `one_line`).
pub fn text(
    field: &str,
    value: &str,
    min: usize,
    max: usize,
    what: &str,
    one_line: bool,
) -> Result<String, AppError> {
    let v = value.replace("\r\n", "\n");
    let v = v.trim();
    let n = v.chars().count();
    let bad_char = v
        .chars()
        .any(|c| c.is_control() && (one_line || (c != '\n' && c != '\t')));
    if n < min || n > max || bad_char {
        let range = if min == 0 {
            format!("不超过 {max} 字 (at most {max} characters)")
        } else if min == 1 {
            format!("必填，不超过 {max} 字 (required, at most {max} characters)")
        } else {
            format!("为 {min}–{max} 字 (from {min} to {max} characters)")
        };
        let control = if bad_char {
            "，不能含控制字符 (no control characters)"
        } else {
            ""
        };
        return Err(AppError::bad_request(
            field,
            format!("{what}{range}{control}"),
        ));
    }
    Ok(v.to_string())
}

/// A phone number: a mainland mobile (11 digits, 1[3-9]…) or a landline with its area code
/// (0 + 2–3 digits + 7–8 digits); spaces, hyphens, brackets and a +86 / 0086 prefix are
/// allowed around the digits. Returns the digits.
pub fn parse_phone(value: &str) -> Result<String, AppError> {
    let bad = || {
        AppError::bad_request(
            "phone",
            "请填写有效的手机号（11 位）或带区号的固定电话 (a valid mobile number of 11 digits, or a landline with its area code)",
        )
    };
    let v = value.trim();
    if v.is_empty() || v.chars().count() > 30 {
        return Err(bad());
    }
    let mut digits = String::new();
    for (i, c) in v.chars().enumerate() {
        match c {
            '0'..='9' => digits.push(c),
            '+' if i == 0 => {}
            ' ' | '-' | '(' | ')' => {}
            _ => return Err(bad()),
        }
    }
    let d = digits
        .strip_prefix("0086")
        .or_else(|| {
            v.starts_with('+')
                .then(|| digits.strip_prefix("86"))
                .flatten()
        })
        .unwrap_or(&digits)
        .to_string();
    let b = d.as_bytes();
    let mobile = b.len() == 11 && b[0] == b'1' && (b'3'..=b'9').contains(&b[1]);
    let landline = (10..=12).contains(&b.len()) && b[0] == b'0' && b[1] != b'0';
    if mobile || landline {
        Ok(d)
    } else {
        Err(bad())
    }
}

/// The phone for officers' lists: `138****5678`.
pub fn mask_phone(phone: &str) -> String {
    let chars: Vec<char> = phone.chars().collect();
    if chars.len() < 7 {
        return "****".into();
    }
    let head: String = chars[..3].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}****{tail}")
}

/// A name shown to the business or in lists: the family name and asterisks (`张**`).
pub fn mask_name(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(c) => format!("{c}{}", "*".repeat(chars.count().clamp(1, 3))),
        None => String::new(),
    }
}

/// An amount of money in yuan, strictly: digits, optionally a point and one or two digits
/// (`0`, `12`, `12.5`, `12.50`); no sign, no thousands separators, no exponent, at most
/// 1,000,000,000 yuan. Returns fen.
pub fn parse_yuan(field: &str, value: &str) -> Result<i64, AppError> {
    let bad = || {
        AppError::bad_request(
            field,
            "金额应为以元为单位的数字，最多两位小数，如 199 或 199.50 (an amount in yuan with at most two decimals, e.g. 199 or 199.50)",
        )
    };
    let v = value.trim();
    let (int, frac) = match v.split_once('.') {
        Some((i, f)) => (i, f),
        None => (v, ""),
    };
    if int.is_empty()
        || int.len() > 10
        || !int.bytes().all(|b| b.is_ascii_digit())
        || (v.contains('.') && (frac.is_empty() || frac.len() > 2))
        || !frac.bytes().all(|b| b.is_ascii_digit())
        || (int.len() > 1 && int.starts_with('0'))
    {
        return Err(bad());
    }
    let yuan: i64 = int.parse().map_err(|_| bad())?;
    if yuan > 1_000_000_000 {
        return Err(bad());
    }
    let fen: i64 = match frac.len() {
        0 => 0,
        1 => frac.parse::<i64>().map_err(|_| bad())? * 10,
        _ => frac.parse().map_err(|_| bad())?,
    };
    Ok(yuan * 100 + fen)
}

/// Fen as yuan text: `19950` → `199.50`.
pub fn yuan(fen: i64) -> String {
    format!("{}.{:02}", fen / 100, fen % 100)
}

/// Text normalized for duplicate detection: full-width forms folded to ASCII, lower case,
/// only letters and digits (CJK included) kept — so spacing, punctuation and width do not
/// make the same facts look different.
pub fn normalize(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '\u{3000}' => ' ',
            _ => c,
        })
        .flat_map(char::to_lowercase)
        .filter(|c| c.is_alphanumeric())
        .collect()
}

/// The duplicate key: same kind, same complainant phone, same business, same facts.
pub fn dup_key(kind: IntakeKind, phone: &str, business: &str, facts: &str) -> String {
    let mut h = Sha256::new();
    for part in [
        kind.as_str(),
        phone,
        &normalize(business),
        &normalize(facts),
    ] {
        h.update(part.as_bytes());
        h.update([0u8]);
    }
    hex::encode(h.finalize())
}

/// A date `YYYY-MM-DD`, not after `today`, not before 1990.
fn parse_date(field: &str, value: &str, today: NaiveDate) -> Result<Option<NaiveDate>, AppError> {
    let v = value.trim();
    if v.is_empty() {
        return Ok(None);
    }
    let bad = || {
        AppError::bad_request(
            field,
            "购买日期格式为 YYYY-MM-DD，且不晚于今天 (the purchase date is YYYY-MM-DD, not in the future)",
        )
    };
    let d = if v.len() == 10 {
        NaiveDate::parse_from_str(v, "%Y-%m-%d").map_err(|_| bad())?
    } else {
        return Err(bad());
    };
    let earliest = NaiveDate::from_ymd_opt(1990, 1, 1).ok_or_else(bad)?;
    if d > today || d < earliest {
        return Err(bad());
    }
    Ok(Some(d))
}

impl IntakeInput {
    /// Parses every field; the first bad one is refused with its name.
    pub fn parse(&self, today: NaiveDate) -> Result<Intake, AppError> {
        let kind = IntakeKind::parse(&self.kind)?;
        let name = text("name", &self.name, 1, 50, "姓名", true)?;
        let phone = parse_phone(&self.phone)?;
        let typed_business_name = text(
            "business_name",
            &self.business_name,
            0,
            100,
            "经营者名称",
            true,
        )?;
        let business = match self.uscc.trim() {
            "" => {
                if typed_business_name.chars().count() < 2 {
                    return Err(AppError::bad_request(
                        "business_name",
                        "请填写经营者的统一社会信用代码，或填写经营者名称（2–100 字）和地址 (give the business's USCC, or its name of 2 to 100 characters and its address)",
                    ));
                }
                let address = text(
                    "business_address",
                    &self.business_address,
                    4,
                    200,
                    "经营者地址",
                    true,
                )?;
                BusinessRef::FreeText {
                    name: typed_business_name.clone(),
                    address,
                }
            }
            u => {
                if u.chars().count() > 30 {
                    return Err(AppError::bad_request(
                        "uscc",
                        "统一社会信用代码为 18 位 (the USCC has 18 characters)",
                    ));
                }
                let code = Uscc::parse(u).map_err(|e| AppError::bad_request("uscc", e))?;
                BusinessRef::Registered(code.to_string())
            }
        };
        let county = match self.county.trim() {
            "" => None,
            c if c.len() == 6 && c.bytes().all(|b| b.is_ascii_digit()) => Some(c.to_string()),
            _ => {
                return Err(AppError::bad_request(
                    "county",
                    "请选择经营者所在的县（市、区），6 位行政区划代码 (pick the county: a 6-digit division code)",
                ));
            }
        };
        let (purchase_min, claim_min) = match kind {
            IntakeKind::Complaint => (2, 2),
            IntakeKind::Report | IntakeKind::Help => (0, 0),
        };
        let purchase = text(
            "purchase",
            &self.purchase,
            purchase_min,
            200,
            "购买的商品或接受的服务",
            true,
        )?;
        let purchase_date = parse_date("purchase_date", &self.purchase_date, today)?;
        let amount_fen = match self.amount.trim() {
            "" => None,
            a => Some(parse_yuan("amount", a)?),
        };
        let facts = text("facts", &self.facts, 10, 5000, "事实经过", false)?;
        let claim = text("claim", &self.claim, claim_min, 1000, "诉求", false)?;
        Ok(Intake {
            kind,
            name,
            phone,
            business,
            typed_business_name,
            county,
            purchase,
            purchase_date,
            amount_fen,
            facts,
            claim,
            category: super::category::parse(&self.category)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 9, 28).unwrap()
    }

    fn good() -> IntakeInput {
        IntakeInput {
            name: "张三".into(),
            phone: "138 1234 5678".into(),
            business_name: "济南某某电器商行".into(),
            business_address: "济南市历下区泉城路1号".into(),
            purchase: "电热水壶一台".into(),
            purchase_date: "2026-09-01".into(),
            amount: "199.50".into(),
            facts: "购买后第三天即无法加热，商家拒绝退换。".into(),
            claim: "退货退款".into(),
            ..IntakeInput::default()
        }
    }

    #[test]
    fn a_good_intake_parses() {
        let i = good().parse(today()).unwrap();
        assert_eq!(i.kind, IntakeKind::Complaint);
        assert_eq!(i.phone, "13812345678");
        assert_eq!(i.amount_fen, Some(19950));
        assert!(matches!(i.business, BusinessRef::FreeText { .. }));
    }

    #[test]
    fn each_bad_field_is_named() {
        type Change = Box<dyn Fn(&mut IntakeInput)>;
        let cases: Vec<(&str, Change)> = vec![
            ("kind", Box::new(|i| i.kind = "lawsuit".into())),
            ("name", Box::new(|i| i.name = " ".into())),
            ("name", Box::new(|i| i.name = "张\u{0}三".into())),
            ("name", Box::new(|i| i.name = "张".repeat(51))),
            ("phone", Box::new(|i| i.phone = "12345".into())),
            ("phone", Box::new(|i| i.phone = "1381234567a".into())),
            ("uscc", Box::new(|i| i.uscc = "91350100M000100Y4Z".into())),
            ("business_name", Box::new(|i| i.business_name = "".into())),
            (
                "business_address",
                Box::new(|i| i.business_address = "".into()),
            ),
            ("county", Box::new(|i| i.county = "3701".into())),
            ("purchase", Box::new(|i| i.purchase = "".into())),
            (
                "purchase_date",
                Box::new(|i| i.purchase_date = "2026-10-01".into()),
            ),
            (
                "purchase_date",
                Box::new(|i| i.purchase_date = "2026/09/01".into()),
            ),
            ("amount", Box::new(|i| i.amount = "1e3".into())),
            ("facts", Box::new(|i| i.facts = "太短".into())),
            ("facts", Box::new(|i| i.facts = "长".repeat(5001))),
            ("claim", Box::new(|i| i.claim = "".into())),
        ];
        for (field, change) in cases {
            let mut i = good();
            change(&mut i);
            match i.parse(today()) {
                Err(AppError::BadRequest { field: f, message }) => {
                    assert_eq!(f, field, "{message}");
                    assert!(message.contains('('), "Chinese then English: {message}");
                }
                other => panic!("{field}: {other:?}"),
            }
        }
    }

    #[test]
    fn phones() {
        assert_eq!(parse_phone("+86 138-1234-5678").unwrap(), "13812345678");
        assert_eq!(parse_phone("0086 13812345678").unwrap(), "13812345678");
        assert_eq!(parse_phone("(0531) 8600 1234").unwrap(), "053186001234");
        assert!(parse_phone("12812345678").is_err());
        assert!(parse_phone("00531860012").is_err());
        assert!(parse_phone("１３８１２３４５６７８").is_err());
        assert_eq!(mask_phone("13812345678"), "138****5678");
        assert_eq!(mask_name("张三丰"), "张**");
    }

    #[test]
    fn yuan_is_parsed_strictly() {
        assert_eq!(parse_yuan("a", "0").unwrap(), 0);
        assert_eq!(parse_yuan("a", "12").unwrap(), 1200);
        assert_eq!(parse_yuan("a", "12.5").unwrap(), 1250);
        assert_eq!(parse_yuan("a", " 12.05 ").unwrap(), 1205);
        assert_eq!(parse_yuan("a", "1000000000").unwrap(), 100_000_000_000);
        for bad in [
            "",
            "-1",
            "+1",
            "1,000",
            "1.",
            ".5",
            "1.234",
            "1e3",
            "01",
            "1 000",
            "¥5",
            "NaN",
            "1000000001",
            "１２",
        ] {
            assert!(parse_yuan("a", bad).is_err(), "{bad}");
        }
        assert_eq!(yuan(1205), "12.05");
        assert_eq!(yuan(0), "0.00");
    }

    #[test]
    fn the_duplicate_key_ignores_spacing_width_and_punctuation() {
        let a = dup_key(
            IntakeKind::Complaint,
            "13812345678",
            "某商行",
            "壶坏了，拒绝退换！",
        );
        let b = dup_key(
            IntakeKind::Complaint,
            "13812345678",
            "某商行 ",
            "壶坏了 拒绝退换!",
        );
        let c = dup_key(
            IntakeKind::Complaint,
            "13812345679",
            "某商行",
            "壶坏了，拒绝退换！",
        );
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(normalize("ＡＢｃ １２３，好"), "abc123好");
    }
}
