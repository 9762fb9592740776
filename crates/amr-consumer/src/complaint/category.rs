//! The complaint categories (投诉分类): two levels, goods (商品类) and services (服务类),
//! each with its sub-categories, after the classification the consumer associations and the
//! 12315 platform report complaints by (the 中国消费者协会 quarterly complaint analyses list
//! these goods and services classes; the exact national 12315 code table was not read, so
//! the codes here are this deployment's own). Set at intake (optional for the consumer) and
//! set or corrected by the officer.

use serde::Serialize;
use serde_json::{Value, json};

use amr_kernel::error::AppError;

/// A sub-category: code, Chinese, English.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Category {
    pub code: &'static str,
    pub zh: &'static str,
    pub en: &'static str,
}

const fn c(code: &'static str, zh: &'static str, en: &'static str) -> Category {
    Category { code, zh, en }
}

/// The two top-level groups: (code prefix, Chinese, English).
pub const GROUPS: &[(&str, &str, &str)] = &[
    ("goods", "商品类", "goods"),
    ("service", "服务类", "services"),
];

/// Every sub-category, goods first.
pub const CATEGORIES: &[Category] = &[
    c(
        "goods.appliance",
        "家用电子电器类",
        "household appliances and electronics",
    ),
    c("goods.food", "食品类", "food"),
    c("goods.clothing", "服装鞋帽类", "clothing and footwear"),
    c("goods.daily", "日用商品类", "daily goods"),
    c("goods.vehicle", "交通工具类", "vehicles"),
    c("goods.telecom", "通讯产品类", "telecom devices"),
    c(
        "goods.housing",
        "房屋及建材类",
        "housing and building materials",
    ),
    c(
        "goods.medical",
        "医药及医疗用品类",
        "medicines and medical supplies",
    ),
    c(
        "goods.drinks",
        "烟、酒和饮料类",
        "tobacco, alcohol and drinks",
    ),
    c("goods.farm", "农用生产资料类", "farm inputs"),
    c(
        "goods.jewellery",
        "首饰及文体用品类",
        "jewellery, stationery and sports goods",
    ),
    c("goods.other", "其他商品", "other goods"),
    c(
        "service.life",
        "生活、社会服务类",
        "everyday and social services",
    ),
    c(
        "service.property",
        "房屋装修及物业服务类",
        "renovation and property management",
    ),
    c("service.travel", "旅游服务", "travel"),
    c(
        "service.culture",
        "文化、娱乐、体育服务",
        "culture, entertainment and sports",
    ),
    c("service.post", "邮政业服务", "postal and delivery services"),
    c("service.telecom", "电信服务", "telecom services"),
    c("service.internet", "互联网服务", "internet services"),
    c("service.finance", "金融服务", "financial services"),
    c("service.insurance", "保险服务", "insurance"),
    c("service.health", "卫生保健服务", "health care"),
    c(
        "service.education",
        "教育培训服务",
        "education and training",
    ),
    c("service.public", "公用事业服务", "public utilities"),
    c("service.sales", "销售服务", "sales services"),
    c("service.other", "其他服务", "other services"),
];

/// The category with this code.
pub fn get(code: &str) -> Option<&'static Category> {
    CATEGORIES.iter().find(|c| c.code == code)
}

/// An optional category from a form or JSON: empty is none; anything else must be a code of
/// the list.
pub fn parse(value: &str) -> Result<Option<&'static str>, AppError> {
    match value.trim() {
        "" => Ok(None),
        v => get(v).map(|c| Some(c.code)).ok_or_else(|| {
            AppError::bad_request(
                "category",
                "投诉分类不在分类表中，请从列表中选择 (the category is not in the list: pick one from it)",
            )
        }),
    }
}

/// A stored category as JSON (`null` for none).
pub fn json_of(code: Option<&str>) -> Value {
    match code.and_then(get) {
        Some(c) => json!({"code": c.code, "zh": c.zh, "en": c.en}),
        None => Value::Null,
    }
}

/// The list grouped, for the pickers: `[{code, zh, en, items: [...]}]`.
pub fn grouped() -> Value {
    GROUPS
        .iter()
        .map(|(g, zh, en)| {
            let items: Vec<&Category> = CATEGORIES
                .iter()
                .filter(|c| c.code.split('.').next() == Some(*g))
                .collect();
            json!({"code": g, "zh": zh, "en": en, "items": items})
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_grouped() {
        let mut codes: Vec<&str> = CATEGORIES.iter().map(|c| c.code).collect();
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), CATEGORIES.len());
        for c in CATEGORIES {
            let g = c.code.split('.').next().unwrap();
            assert!(GROUPS.iter().any(|(x, _, _)| *x == g), "{}", c.code);
        }
    }

    #[test]
    fn parse_takes_a_listed_code_or_nothing() {
        assert_eq!(parse("").unwrap(), None);
        assert_eq!(parse(" goods.food ").unwrap(), Some("goods.food"));
        assert!(parse("goods.weapons").is_err());
        assert!(parse("商品类").is_err());
    }
}
