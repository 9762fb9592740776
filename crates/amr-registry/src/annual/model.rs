//! The annual report as filed: the input (text from a form or JSON), its validation naming
//! every bad field, the stored [`Report`] and what of it the public sees.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use amr_kernel::error::AppError;
use amr_kernel::tax::{TaxAnswer, TaxFigures};

use crate::lifecycle::rules::text_field;
use crate::model::EntityType;

/// The eight financial items (art. 9 (7)): key and Chinese name.
pub const FINANCIAL: [(&str, &str); 8] = [
    ("total_assets", "资产总额"),
    ("total_liabilities", "负债总额"),
    ("owners_equity", "所有者权益合计"),
    ("total_revenue", "营业总收入"),
    ("main_business_revenue", "主营业务收入"),
    ("total_profit", "利润总额"),
    ("net_profit", "净利润"),
    ("total_tax", "纳税总额"),
];

/// The financial items of an individual business's form: 营业额 and 纳税总额.
pub const INDIVIDUAL_FINANCIAL: [&str; 2] = ["total_revenue", "total_tax"];

/// Items that may be negative (a loss, negative equity).
const SIGNED: [&str; 3] = ["owners_equity", "total_profit", "net_profit"];

/// The operating states a report may declare (item 2).
pub const OPERATING: [&str; 3] = ["operating", "suspended", "liquidating"];

/// Which form an entity files: individual businesses have their simpler one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Form {
    Enterprise,
    Individual,
}

impl Form {
    pub fn of(t: EntityType) -> Form {
        match t {
            EntityType::IndividualBusiness => Form::Individual,
            _ => Form::Enterprise,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Form::Enterprise => "enterprise",
            Form::Individual => "individual",
        }
    }

    /// The financial item keys of this form.
    pub fn financial_keys(self) -> Vec<&'static str> {
        match self {
            Form::Enterprise => FINANCIAL.iter().map(|(k, _)| *k).collect(),
            Form::Individual => INDIVIDUAL_FINANCIAL.to_vec(),
        }
    }

    /// The optional items (publication chosen by the entity).
    pub fn optional_keys(self) -> Vec<&'static str> {
        let mut keys = vec!["headcount"];
        if self == Form::Enterprise {
            keys.push("guarantees");
        }
        keys.extend(self.financial_keys());
        keys
    }
}

/// The report as typed (every value text). List items are one entry per line, fields split by
/// `|`. Money in yuan with at most two decimals.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ReportInput {
    pub address: String,
    pub postcode: String,
    pub phone: String,
    pub email: String,
    pub operating_status: String,
    /// `名称|统一社会信用代码` per line.
    pub investments: String,
    /// `股东|认缴出资(元)|实缴出资(元)` per line.
    pub shareholders: String,
    /// `股东|变更前比例%|变更后比例%|YYYY-MM-DD` per line.
    pub equity_transfers: String,
    /// `名称|网址` per line.
    pub websites: String,
    pub headcount: String,
    /// `债权人|债务人|主债权数额(元)` per line.
    pub guarantees: String,
    pub total_assets: String,
    pub total_liabilities: String,
    pub owners_equity: String,
    pub total_revenue: String,
    pub main_business_revenue: String,
    pub total_profit: String,
    pub net_profit: String,
    pub total_tax: String,
    /// The optional item keys to publish.
    pub publish: Vec<String>,
}

impl ReportInput {
    fn figure(&self, key: &str) -> &str {
        match key {
            "total_assets" => &self.total_assets,
            "total_liabilities" => &self.total_liabilities,
            "owners_equity" => &self.owners_equity,
            "total_revenue" => &self.total_revenue,
            "main_business_revenue" => &self.main_business_revenue,
            "total_profit" => &self.total_profit,
            "net_profit" => &self.net_profit,
            "total_tax" => &self.total_tax,
            _ => "",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Contact {
    pub address: String,
    pub postcode: String,
    /// Not published (the platform shows no phone numbers publicly); officers see it.
    pub phone: String,
    pub email: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Investment {
    pub name: String,
    pub uscc: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Shareholder {
    pub name: String,
    pub subscribed_fen: i64,
    pub paid_fen: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transfer {
    pub shareholder: String,
    pub before_pct: String,
    pub after_pct: String,
    pub on: NaiveDate,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Website {
    pub name: String,
    pub url: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Guarantee {
    pub creditor: String,
    pub debtor: String,
    pub amount_fen: i64,
}

/// One financial item: the value filed, where it came from, and the tax agency's value when
/// the enterprise changed it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Figure {
    pub key: String,
    pub value_fen: i64,
    /// `tax` (the agency's value, unchanged) or `enterprise` (typed or changed).
    pub source: String,
    /// What the agency answered for this item (kept when the enterprise changed it).
    pub tax_value_fen: Option<i64>,
    pub changed: bool,
}

/// Where the prefilled figures came from: the agency's name, the evidence reference and the
/// time of its answer; or why there were none.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaxProvenance {
    pub source: Option<String>,
    pub evidence: Option<String>,
    pub answered_at: Option<String>,
    /// Set when the agency could not be asked or had no record.
    pub note: Option<String>,
}

/// A report as stored (`annual_reports.content`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub form: Form,
    pub contact: Contact,
    pub operating_status: String,
    pub investments: Vec<Investment>,
    pub shareholders: Vec<Shareholder>,
    pub equity_transfers: Vec<Transfer>,
    pub websites: Vec<Website>,
    pub headcount: i64,
    pub guarantees: Vec<Guarantee>,
    pub financials: Vec<Figure>,
    pub tax: TaxProvenance,
}

/// The result of asking the tax agency, as the form and the filing use it.
pub type TaxResult = Result<Option<TaxAnswer>, String>;

/// The agency's value of one item.
pub fn tax_value(f: &TaxFigures, key: &str) -> Option<i64> {
    match key {
        "total_assets" => f.total_assets,
        "total_liabilities" => f.total_liabilities,
        "owners_equity" => f.owners_equity,
        "total_revenue" => f.total_revenue,
        "main_business_revenue" => f.main_business_revenue,
        "total_profit" => f.total_profit,
        "net_profit" => f.net_profit,
        "total_tax" => f.total_tax,
        _ => None,
    }
}

/// The provenance recorded for a tax result.
pub fn provenance(tax: &TaxResult) -> TaxProvenance {
    match tax {
        Ok(Some(a)) => TaxProvenance {
            source: Some(a.source.clone()),
            evidence: Some(a.evidence.clone()),
            answered_at: Some(a.answered_at.clone()),
            note: None,
        },
        Ok(None) => TaxProvenance {
            source: None,
            evidence: None,
            answered_at: None,
            note: Some("税务部门无该年度记录 (the tax agency has no record for the year)".into()),
        },
        Err(e) => TaxProvenance {
            source: None,
            evidence: None,
            answered_at: None,
            note: Some(e.clone()),
        },
    }
}

/// Yuan text (`1234.5`, `-12.30`, `1,234`) → fen. `signed` allows a minus sign.
pub fn parse_yuan(field: &str, text: &str, signed: bool) -> Result<i64, AppError> {
    let bad = || {
        AppError::bad_request(
            field,
            "金额应为元，最多两位小数 (an amount in yuan with at most two decimals)",
        )
    };
    let t: String = text.trim().chars().filter(|c| *c != ',').collect();
    if t.is_empty() {
        return Err(AppError::bad_request(field, "不能为空 (required)"));
    }
    let (neg, digits) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t.as_str()),
    };
    if neg && !signed {
        return Err(AppError::bad_request(
            field,
            "不能为负数 (must not be negative)",
        ));
    }
    let (whole, frac) = digits.split_once('.').unwrap_or((digits, ""));
    if whole.is_empty()
        || whole.len() > 13
        || frac.len() > 2
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(bad());
    }
    let w: i64 = whole.parse().map_err(|_| bad())?;
    let f: i64 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<2}").parse().map_err(|_| bad())?
    };
    let v = w * 100 + f;
    Ok(if neg { -v } else { v })
}

/// Fen → yuan text with two decimals.
pub fn yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let a = fen.unsigned_abs();
    format!("{sign}{}.{:02}", a / 100, a % 100)
}

fn lines(text: &str) -> impl Iterator<Item = (usize, Vec<&str>)> {
    text.lines()
        .map(str::trim)
        .enumerate()
        .filter(|(_, l)| !l.is_empty())
        .map(|(i, l)| (i + 1, l.split('|').map(str::trim).collect()))
}

fn parts(field: &str, n: usize, line: usize, p: &[&str]) -> Result<(), AppError> {
    if p.len() != n {
        return Err(AppError::bad_request(
            field,
            format!(
                "第 {line} 行应有 {n} 项，以 | 分隔 (line {line} must have {n} parts separated by |)"
            ),
        ));
    }
    Ok(())
}

fn pct(field: &str, line: usize, s: &str) -> Result<String, AppError> {
    let v: f64 = s.trim_end_matches('%').parse().map_err(|_| {
        AppError::bad_request(
            field,
            format!("第 {line} 行的比例应为 0–100 的数 (line {line}: a share is a number 0–100)"),
        )
    })?;
    if !(0.0..=100.0).contains(&v) {
        return Err(AppError::bad_request(
            field,
            format!("第 {line} 行的比例应为 0–100 的数 (line {line}: a share is a number 0–100)"),
        ));
    }
    Ok(s.trim_end_matches('%').to_string())
}

fn not_for_individual(field: &str, text: &str) -> Result<(), AppError> {
    if text.trim().is_empty() {
        Ok(())
    } else {
        Err(AppError::bad_request(
            field,
            "个体工商户年报不含此项 (an individual business's report has no such item)",
        ))
    }
}

/// Validates the input for `form` against the tax agency's answer; every value is checked
/// before anything is written, and the first bad field is named.
pub fn validate(form: Form, i: &ReportInput, tax: &TaxResult) -> Result<Report, AppError> {
    let address = text_field("address", &i.address, 200, true, true)?;
    let postcode = i.postcode.trim().to_string();
    if !postcode.is_empty()
        && (postcode.len() != 6 || !postcode.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(AppError::bad_request(
            "postcode",
            "邮政编码为 6 位数字 (a postcode is 6 digits)",
        ));
    }
    let phone = i.phone.trim().to_string();
    if phone.is_empty()
        || phone.len() > 20
        || !phone
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b'-' || b == b' ')
    {
        return Err(AppError::bad_request(
            "phone",
            "联系电话应为数字，可含 - (a phone number: digits and -)",
        ));
    }
    let email = text_field("email", &i.email, 100, false, true)?;
    if !email.is_empty() && (!email.contains('@') || email.contains(char::is_whitespace)) {
        return Err(AppError::bad_request(
            "email",
            "电子邮箱格式不正确 (not an e-mail address)",
        ));
    }
    let operating_status = i.operating_status.trim().to_string();
    if !OPERATING.contains(&operating_status.as_str()) {
        return Err(AppError::bad_request(
            "operating_status",
            "经营状态应为 operating（开业）、suspended（歇业）或 liquidating（清算） (operating status must be operating, suspended or liquidating)",
        ));
    }
    let mut investments = Vec::new();
    let mut shareholders = Vec::new();
    let mut equity_transfers = Vec::new();
    let mut guarantees = Vec::new();
    if form == Form::Individual {
        for (f, t) in [
            ("investments", &i.investments),
            ("shareholders", &i.shareholders),
            ("equity_transfers", &i.equity_transfers),
            ("guarantees", &i.guarantees),
        ] {
            not_for_individual(f, t)?;
        }
    } else {
        for (n, p) in lines(&i.investments) {
            parts("investments", 2, n, &p)?;
            let name = text_field("investments", p[0], 100, true, true)?;
            let code = amr_kernel::codes::uscc::Uscc::parse(p[1]).map_err(|e| {
                AppError::bad_request("investments", format!("第 {n} 行 (line {n}): {e}"))
            })?;
            investments.push(Investment {
                name,
                uscc: code.as_str().to_string(),
            });
        }
        for (n, p) in lines(&i.shareholders) {
            parts("shareholders", 3, n, &p)?;
            let name = text_field("shareholders", p[0], 100, true, true)?;
            let subscribed_fen = parse_yuan("shareholders", p[1], false)?;
            let paid_fen = parse_yuan("shareholders", p[2], false)?;
            if paid_fen > subscribed_fen {
                return Err(AppError::bad_request(
                    "shareholders",
                    format!(
                        "第 {n} 行实缴出资超过认缴出资 (line {n}: paid-in exceeds subscribed capital)"
                    ),
                ));
            }
            shareholders.push(Shareholder {
                name,
                subscribed_fen,
                paid_fen,
            });
        }
        for (n, p) in lines(&i.equity_transfers) {
            parts("equity_transfers", 4, n, &p)?;
            let shareholder = text_field("equity_transfers", p[0], 100, true, true)?;
            let before_pct = pct("equity_transfers", n, p[1])?;
            let after_pct = pct("equity_transfers", n, p[2])?;
            let on = NaiveDate::parse_from_str(p[3], "%Y-%m-%d").map_err(|_| {
                AppError::bad_request(
                    "equity_transfers",
                    format!(
                        "第 {n} 行日期格式应为 YYYY-MM-DD (line {n}: a date is written YYYY-MM-DD)"
                    ),
                )
            })?;
            equity_transfers.push(Transfer {
                shareholder,
                before_pct,
                after_pct,
                on,
            });
        }
        for (n, p) in lines(&i.guarantees) {
            parts("guarantees", 3, n, &p)?;
            guarantees.push(Guarantee {
                creditor: text_field("guarantees", p[0], 100, true, false)?,
                debtor: text_field("guarantees", p[1], 100, true, false)?,
                amount_fen: parse_yuan("guarantees", p[2], false)?,
            });
        }
    }
    let mut websites = Vec::new();
    for (n, p) in lines(&i.websites) {
        parts("websites", 2, n, &p)?;
        let name = text_field("websites", p[0], 100, true, true)?;
        let url = text_field("websites", p[1], 300, true, true)?;
        if url.contains(char::is_whitespace) || !url.contains('.') {
            return Err(AppError::bad_request(
                "websites",
                format!("第 {n} 行网址不正确 (line {n}: not a web address)"),
            ));
        }
        websites.push(Website { name, url });
    }
    let headcount: i64 = i.headcount.trim().parse().map_err(|_| {
        AppError::bad_request(
            "headcount",
            "从业人数应为非负整数 (headcount is a whole number, 0 or more)",
        )
    })?;
    if !(0..=10_000_000).contains(&headcount) {
        return Err(AppError::bad_request(
            "headcount",
            "从业人数应为非负整数 (headcount is a whole number, 0 or more)",
        ));
    }
    let answer = tax.as_ref().ok().and_then(|a| a.as_ref());
    let mut financials = Vec::new();
    for key in form.financial_keys() {
        let value_fen = parse_yuan(key, i.figure(key), SIGNED.contains(&key))?;
        let tv = answer.and_then(|a| tax_value(&a.figures, key));
        let from_tax = tv == Some(value_fen);
        financials.push(Figure {
            key: key.to_string(),
            value_fen,
            source: if from_tax { "tax" } else { "enterprise" }.to_string(),
            tax_value_fen: tv,
            changed: tv.is_some() && !from_tax,
        });
    }
    let optional = form.optional_keys();
    for p in &i.publish {
        if !optional.contains(&p.as_str()) {
            return Err(AppError::bad_request(
                "publish",
                format!("没有可选择公示的“{p}”项 (no optional item {p:?})"),
            ));
        }
    }
    Ok(Report {
        form,
        contact: Contact {
            address,
            postcode,
            phone,
            email,
        },
        operating_status,
        investments,
        shareholders,
        equity_transfers,
        websites,
        headcount,
        guarantees,
        financials,
        tax: provenance(tax),
    })
}

/// The optional keys chosen, in the form's order, without repeats.
pub fn publish_list(form: Form, chosen: &[String]) -> Vec<String> {
    form.optional_keys()
        .into_iter()
        .filter(|k| chosen.iter().any(|c| c == k))
        .map(str::to_string)
        .collect()
}

/// What the public sees of a report: items (1)–(6) (the phone left out) and the optional
/// items the entity chose to publish.
pub fn public_items(r: &Report, published: &[String]) -> Value {
    let chosen = |k: &str| published.iter().any(|p| p == k);
    let mut v = json!({
        "form": r.form,
        "contact": {"address": r.contact.address, "postcode": r.contact.postcode, "email": r.contact.email},
        "operating_status": r.operating_status,
        "websites": r.websites,
    });
    if r.form == Form::Enterprise {
        v["investments"] = json!(r.investments);
        v["shareholders"] = json!(r.shareholders);
        v["equity_transfers"] = json!(r.equity_transfers);
    }
    if chosen("headcount") {
        v["headcount"] = json!(r.headcount);
    }
    if chosen("guarantees") {
        v["guarantees"] = json!(r.guarantees);
    }
    let figures: Vec<Value> = r
        .financials
        .iter()
        .filter(|f| chosen(&f.key))
        .map(|f| json!({"key": f.key, "value_fen": f.value_fen, "value": yuan(f.value_fen), "source": f.source}))
        .collect();
    v["financials"] = json!(figures);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yuan_parsing() {
        assert_eq!(parse_yuan("x", "1,234.5", false).unwrap(), 123_450);
        assert_eq!(parse_yuan("x", "-0.07", true).unwrap(), -7);
        assert!(parse_yuan("x", "-1", false).is_err());
        assert!(parse_yuan("x", "1.234", false).is_err());
        assert!(parse_yuan("x", "abc", false).is_err());
        assert!(parse_yuan("x", "", false).is_err());
        assert_eq!(yuan(-12_345), "-123.45");
    }

    #[test]
    fn individual_form_refuses_company_items() {
        let i = ReportInput {
            address: "山东省济南市历下区泉城路1号".into(),
            phone: "0531-88888888".into(),
            operating_status: "operating".into(),
            headcount: "2".into(),
            total_revenue: "1000".into(),
            total_tax: "10".into(),
            shareholders: "张三|100|100".into(),
            ..Default::default()
        };
        let e = validate(Form::Individual, &i, &Ok(None)).unwrap_err();
        assert!(
            e.to_string().contains("shareholders") || format!("{e:?}").contains("shareholders")
        );
        let ok = ReportInput {
            shareholders: String::new(),
            ..i
        };
        let r = validate(Form::Individual, &ok, &Ok(None)).unwrap();
        assert_eq!(r.financials.len(), 2);
        assert!(r.financials.iter().all(|f| f.source == "enterprise"));
    }
}
