//! Offline no-reason returns (线下无理由退货承诺). A shop pledges to take back goods of the
//! categories it names within a number of days without a reason, except what it excludes,
//! from a date on; the pledge is public and consumers search it by name, area and category.
//! Guide: `docs/CONSUMER-CONFIDENCE.md`.
//!
//! - [`input`]: the edge shared with `showcase` and `compensation` (bounded text, dates,
//!   officers and enterprise accounts, complaint numbers);
//! - [`store`]: pledges, their categories and breaches (SQL on both backends), each change
//!   with its public event and audit entry in one transaction;
//! - [`web`]: the public search `/pledges` and page `/pledges/{id}`, the enterprise portal
//!   `/portal/pledge`, the officers' `/office/pledges`, and the JSON API.
//!
//! Rules (the choices are written down in the guide):
//! - days: at least [`MIN_DAYS`] (the seven days 消费者权益保护法 art. 25 sets for distance
//!   sales, taken as the floor of the voluntary offline pledges: our choice), at most
//!   [`MAX_DAYS`];
//! - one pledge in force per shop; withdrawing ends it on a date, it stays public as
//!   withdrawn; a new pledge may follow;
//! - a breach is recorded by an officer of the shop's jurisdiction, naming a complaint
//!   matter (`TS-…`) about that shop; the public page counts them.

pub mod input;
pub mod store;
pub mod web;

use serde::Serialize;

use amr_kernel::error::AppError;

/// The fewest days a pledge may give (消费者权益保护法 art. 25's seven days).
pub const MIN_DAYS: i64 = 7;
/// The most days a pledge may give.
pub const MAX_DAYS: i64 = 365;

/// The goods categories a pledge names (code, Chinese, English). Codes are stable: searches
/// and stored rows use them.
pub const CATEGORIES: &[(&str, &str, &str)] = &[
    ("clothing", "服装鞋帽", "clothing and shoes"),
    ("appliances", "家用电器", "household appliances"),
    ("digital", "手机数码", "phones and electronics"),
    ("furniture", "家具建材", "furniture and building materials"),
    ("daily", "日用百货", "daily goods"),
    ("food", "预包装食品", "pre-packaged food"),
    ("cosmetics", "化妆品", "cosmetics"),
    ("jewellery", "珠宝首饰", "jewellery"),
    ("books", "图书文具", "books and stationery"),
    ("baby", "母婴用品", "mother and baby"),
    ("sports", "体育用品", "sports goods"),
    ("auto", "汽车用品", "car accessories"),
    ("other", "其他商品", "other goods"),
];

/// The Chinese name of a category code.
pub fn category_zh(code: &str) -> Option<&'static str> {
    CATEGORIES.iter().find(|c| c.0 == code).map(|c| c.1)
}

/// One category code, checked.
pub fn parse_category(field: &str, code: &str) -> Result<&'static str, AppError> {
    let code = code.trim();
    CATEGORIES
        .iter()
        .find(|c| c.0 == code)
        .map(|c| c.0)
        .ok_or_else(|| {
            let known: Vec<&str> = CATEGORIES.iter().map(|c| c.0).collect();
            AppError::bad_request(
                field,
                format!(
                    "未知的商品类别“{}”，应为 {} 之一 (unknown category; one of {})",
                    short(code),
                    known.join("、"),
                    known.join(", ")
                ),
            )
        })
}

/// The categories of a pledge: at least one, each known, no repeats (kept in the table's
/// order).
pub fn parse_categories(codes: &[String]) -> Result<Vec<&'static str>, AppError> {
    let mut out = Vec::new();
    for c in codes.iter().filter(|c| !c.trim().is_empty()) {
        let code = parse_category("categories", c)?;
        if !out.contains(&code) {
            out.push(code);
        }
    }
    if out.is_empty() {
        return Err(AppError::bad_request(
            "categories",
            "请至少选择一个商品类别 (choose at least one category)",
        ));
    }
    out.sort_by_key(|c| CATEGORIES.iter().position(|k| k.0 == *c));
    Ok(out)
}

/// The number of days, checked against [`MIN_DAYS`]..=[`MAX_DAYS`].
pub fn parse_days(value: &str) -> Result<i64, AppError> {
    value
        .trim()
        .parse::<i64>()
        .ok()
        .filter(|d| (MIN_DAYS..=MAX_DAYS).contains(d))
        .ok_or_else(|| {
            AppError::bad_request(
                "days",
                format!(
                    "无理由退货期限应为 {MIN_DAYS}–{MAX_DAYS} 天的整数 (the days are a whole number from {MIN_DAYS} to {MAX_DAYS})"
                ),
            )
        })
}

fn short(s: &str) -> String {
    s.chars().take(20).collect()
}

/// A category as pages and the API show it.
#[derive(Debug, Clone, Serialize)]
pub struct CategoryView {
    pub code: &'static str,
    pub zh: &'static str,
    pub en: &'static str,
}

/// Every category.
pub fn categories() -> Vec<CategoryView> {
    CATEGORIES
        .iter()
        .map(|(code, zh, en)| CategoryView { code, zh, en })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_have_a_floor_of_seven() {
        assert_eq!(parse_days("7").unwrap(), 7);
        assert_eq!(parse_days(" 30 ").unwrap(), 30);
        for bad in ["6", "0", "-7", "366", "七", "7.5", ""] {
            let e = parse_days(bad).unwrap_err().to_string();
            assert!(e.contains("无理由退货期限应为 7–365 天"), "{bad}: {e}");
        }
    }

    #[test]
    fn categories_are_known_unique_and_ordered() {
        let c = parse_categories(&["digital".into(), "clothing".into(), "digital".into()]).unwrap();
        assert_eq!(c, vec!["clothing", "digital"]);
        assert!(parse_categories(&[]).is_err());
        assert!(parse_categories(&[" ".into()]).is_err());
        let e = parse_categories(&["cars".into()]).unwrap_err().to_string();
        assert!(e.contains("未知的商品类别“cars”"), "{e}");
        assert_eq!(category_zh("food"), Some("预包装食品"));
    }
}
