//! Demonstration units of consumer confidence (放心消费示范单位): a business applies, officers of
//! its jurisdiction review the application, the approved ones go on public notice for
//! [`NOTICE_DAYS`] days during which anyone may object with a reason, officers resolve the
//! objections, and a unit with no objection open or upheld is awarded a dated, numbered title
//! (`FXXF-2026-0001`). Awarded units are re-checked every year ([`RECHECK_MONTHS`]) and removed
//! when a re-check fails or on serious complaints (an officer's decision naming the complaint
//! matters). Guide: `docs/CONSUMER-CONFIDENCE.md`.
//!
//! The state machine lives on the unit's own row (`showcase_units.state`), each step a row
//! of `showcase_history`, with its event and audit entry in the same transaction:
//!
//! ```text
//! applied ──review(approve)──▶ notice ──award──▶ awarded ──recheck(fail) / remove──▶ removed
//!    └──reject──▶ rejected ◀──reject──┘             └──recheck(pass): next re-check a year on
//! ```
//!
//! - [`store`]: the SQL and the rules of each step;
//! - [`web`]: public `/showcase`, `/showcase/{id}` (objection form), portal
//!   `/portal/showcase`, officers `/office/showcase…`, and the JSON API.

pub mod store;
pub mod web;

/// The public notice lasts this many calendar days from the day the application is
/// approved for notice (inclusive): a choice of this deployment, see the guide.
pub const NOTICE_DAYS: u64 = 7;

/// An awarded unit is re-checked this many months after its award or its last re-check.
pub const RECHECK_MONTHS: u32 = 12;

/// The prefix of award numbers.
pub const AWARD_PREFIX: &str = "FXXF";

/// The kinds of business that apply (code, Chinese, English).
pub const CATEGORIES: &[(&str, &str, &str)] = &[
    ("mall", "商场", "shopping mall"),
    ("supermarket", "超市", "supermarket"),
    ("market", "商品交易市场", "market"),
    ("catering", "餐饮", "catering"),
    ("shop", "专卖店", "specialty shop"),
    ("service", "生活服务", "consumer services"),
    ("tourism", "旅游景区", "tourist site"),
    ("online", "网络经营", "online business"),
];

/// A category code, checked.
pub fn parse_category(code: &str) -> Result<&'static str, amr_kernel::error::AppError> {
    let code = code.trim();
    CATEGORIES
        .iter()
        .find(|c| c.0 == code)
        .map(|c| c.0)
        .ok_or_else(|| {
            let known: Vec<&str> = CATEGORIES.iter().map(|c| c.0).collect();
            amr_kernel::error::AppError::bad_request(
                "category",
                format!(
                    "未知的单位类别，应为 {} 之一 (unknown category; one of {})",
                    known.join("、"),
                    known.join(", ")
                ),
            )
        })
}

/// The Chinese name of a category.
pub fn category_zh(code: &str) -> &str {
    CATEGORIES
        .iter()
        .find(|c| c.0 == code)
        .map(|c| c.1)
        .unwrap_or(code)
}

/// An award number: prefix, year, a sequence of four digits or more.
pub fn award_no(year: i32, seq: i64) -> String {
    format!("{AWARD_PREFIX}-{year}-{seq:04}")
}

/// The last day of a notice that starts on `from`.
pub fn notice_until(from: chrono::NaiveDate) -> chrono::NaiveDate {
    from + chrono::Days::new(NOTICE_DAYS - 1)
}

/// The next re-check after `from`.
pub fn next_recheck(from: chrono::NaiveDate) -> chrono::NaiveDate {
    from.checked_add_months(chrono::Months::new(RECHECK_MONTHS))
        .unwrap_or(from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn the_notice_is_seven_days_and_the_recheck_a_year() {
        assert_eq!(notice_until(d("2026-09-28")), d("2026-10-04"));
        assert_eq!(next_recheck(d("2026-10-05")), d("2027-10-05"));
        assert_eq!(next_recheck(d("2028-02-29")), d("2029-02-28"));
        assert_eq!(award_no(2026, 7), "FXXF-2026-0007");
        assert_eq!(award_no(2026, 12345), "FXXF-2026-12345");
        assert!(parse_category("mall").is_ok());
        assert!(parse_category("bank").is_err());
    }
}
