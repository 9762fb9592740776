//! Enterprise names (企业名称): the four parts 行政区划 + 字号 + 行业 + 组织形式, read from a
//! name with no IO.
//!
//! The rules (企业名称登记管理规定, 2020, arts. 6–8, and its 实施办法): a name is the
//! registering area's division name, a trade name (字号) of two or more Chinese characters, the
//! industry or business feature (行业), and the organization form (组织形式), in that order;
//! the division may instead follow the trade name in brackets (`腾讯科技（深圳）有限公司`).
//! A branch is named after its parent, then its place and `分公司` (or another branch form).
//!
//! The word lists are the public name-part lists in `data/names/` (see its README): 1,257
//! industry words (`trade.txt`) and 162 organization forms (`suffix.txt`). Some forms of that
//! list carry an industry (`餐饮公司`, `服装店`, `超市`): their industry part counts as the
//! name's industry when the name has no other.
//!
//! [`parse`] reads the parts (the domicile's division code, when known, settles a division
//! name that several divisions share); [`check`] turns missing or wrong parts into field
//! errors, one per part, Chinese first.

use std::collections::HashSet;
use std::sync::LazyLock;

use serde::Serialize;

use amr_kernel::codes::division::{Division, Level, divisions};

use crate::model::{EntityType, FieldError};

const TRADE_TXT: &str = include_str!("../../data/names/trade.txt");
const SUFFIX_TXT: &str = include_str!("../../data/names/suffix.txt");

/// Organization forms that say nothing of the trade: the core a compound form (`餐饮公司`)
/// ends with.
const CORE_FORMS: &[&str] = &[
    "股份有限公司",
    "有限责任公司",
    "有限公司",
    "股份公司",
    "集团公司",
    "公司",
    "有限合伙",
    "专业合作社",
    "合作社",
    "分公司",
    "厂",
    "店",
    "部",
    "经营部",
    "门市部",
    "服务部",
    "工作室",
    "中心",
    "馆",
    "坊",
    "行",
    "商行",
    "商店",
    "场",
    "站",
];

/// Forms a company takes (a branch's parent ends with one).
const COMPANY_FORMS: &[&str] = &[
    "股份有限公司",
    "有限责任公司",
    "有限公司",
    "股份公司",
    "集团公司",
    "公司",
];

/// Forms a branch name ends with.
const BRANCH_FORMS: &[&str] = &["分公司", "分店", "分厂", "分部", "营业部", "分行", "分中心"];

/// The word lists, built once.
struct Words {
    trades: HashSet<&'static str>,
    /// Every form (the list's and the core forms), longest first.
    forms: Vec<&'static str>,
    longest_trade: usize,
}

static WORDS: LazyLock<Words> = LazyLock::new(|| {
    // Words that begin a form (有限, 股份, 专业 of 专业合作社) are not an industry.
    let form_heads: Vec<&str> = COMPANY_FORMS
        .iter()
        .chain(&["有限合伙", "专业合作社", "合作社"])
        .copied()
        .collect();
    let trades: HashSet<&'static str> = TRADE_TXT
        .lines()
        .map(str::trim)
        .filter(|l| l.chars().count() >= 2)
        .filter(|l| !form_heads.iter().any(|f| f.starts_with(l) && f != l))
        .collect();
    let mut forms: Vec<&'static str> = SUFFIX_TXT
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .chain(CORE_FORMS.iter().copied())
        .collect();
    forms.sort_by_key(|f| std::cmp::Reverse(f.chars().count()));
    forms.dedup();
    let longest_trade = trades.iter().map(|t| t.chars().count()).max().unwrap_or(0);
    Words {
        trades,
        forms,
        longest_trade,
    }
});

/// The division a name names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Region {
    /// As written in the name (`济南`, `历下区`).
    pub text: String,
    /// Its code (2, 4 or 6 digits).
    pub code: String,
    /// Its official name (`济南市`).
    pub name: String,
    /// Written in brackets after the trade name.
    pub bracketed: bool,
}

/// The parts of a name; a part that could not be found is `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct NameParts {
    pub region: Option<Region>,
    /// 字号.
    pub trade_name: Option<String>,
    /// 行业 (or business feature).
    pub industry: Option<String>,
    /// 组织形式.
    pub form: Option<String>,
    /// A branch's place and branch form (`历下分公司`), after the parent's name.
    pub branch: Option<String>,
    /// The region names a division other than the domicile's (and none containing it).
    pub region_elsewhere: bool,
}

impl NameParts {
    fn count(&self) -> usize {
        usize::from(self.region.is_some())
            + usize::from(self.trade_name.is_some())
            + usize::from(self.industry.is_some())
            + usize::from(self.form.is_some())
    }

    /// The key two names collide on: trade name and industry.
    pub fn collision_key(&self) -> Option<(&str, &str)> {
        Some((self.trade_name.as_deref()?, self.industry.as_deref()?))
    }
}

fn is_cjk(c: char) -> bool {
    ('\u{4e00}'..='\u{9fff}').contains(&c) || ('\u{3400}'..='\u{4dbf}').contains(&c)
}

/// The name with full-width brackets and no surrounding whitespace.
pub fn normalize(name: &str) -> String {
    name.trim()
        .chars()
        .map(|c| match c {
            '(' => '（',
            ')' => '）',
            c => c,
        })
        .collect()
}

/// The short form of a division name (`历下区` → `历下`, `济南市` → `济南`), if it keeps
/// at least two characters.
pub fn short_name(name: &str) -> Option<&str> {
    const SUFFIXES: &[&str] = &[
        "自治县",
        "自治州",
        "自治旗",
        "地区",
        "省",
        "市",
        "区",
        "县",
        "旗",
        "盟",
    ];
    SUFFIXES
        .iter()
        .find_map(|s| name.strip_suffix(s))
        .filter(|s| s.chars().count() >= 2)
}

/// Divisions (province to county, no towns) named `text`; the one containing `domicile`
/// first, then by level.
fn regions_named(text: &str, domicile: Option<&str>) -> Vec<&'static Division> {
    let mut found: Vec<&'static Division> = divisions()
        .find_by_name(text)
        .into_iter()
        .filter(|d| d.level != Level::Town && !d.is_grouping())
        .collect();
    found.sort_by_key(|d| {
        let contains = domicile.is_some_and(|dom| dom.starts_with(d.code));
        (!contains, d.code.len())
    });
    found
}

fn region_of(text: &str, domicile: Option<&str>, bracketed: bool) -> Option<(Region, bool)> {
    let d = *regions_named(text, domicile).first()?;
    let elsewhere = domicile.is_some_and(|dom| !dom.starts_with(d.code));
    Some((
        Region {
            text: text.to_string(),
            code: d.code.to_string(),
            name: d.name.to_string(),
            bracketed,
        },
        elsewhere,
    ))
}

/// The leading division of `rest` (the longest that is a division name), or one in
/// brackets; the rest of the name without it.
fn split_region(rest: &str, domicile: Option<&str>) -> (Option<(Region, bool)>, String) {
    let chars: Vec<char> = rest.chars().collect();
    let max = chars.len().saturating_sub(1).min(12);
    for len in (2..=max).rev() {
        let prefix: String = chars[..len].iter().collect();
        if let Some(r) = region_of(&prefix, domicile, false) {
            return (Some(r), chars[len..].iter().collect());
        }
    }
    if let (Some(open), Some(close)) = (rest.find('（'), rest.find('）'))
        && open < close
    {
        let inner = &rest[open + '（'.len_utf8()..close];
        if let Some(r) = region_of(inner, domicile, true) {
            let mut middle = rest[..open].to_string();
            middle.push_str(&rest[close + '）'.len_utf8()..]);
            return (Some(r), middle);
        }
    }
    (None, rest.to_string())
}

/// The industry a form itself carries (`餐饮公司` → `餐饮`, `超市` → `超市`) and the form's
/// core (`公司`, `超市`).
fn split_form(form: &'static str) -> (&'static str, Option<&'static str>) {
    let w = &*WORDS;
    for core in CORE_FORMS {
        if let Some(p) = form.strip_suffix(core)
            && !p.is_empty()
            && w.trades.contains(p)
        {
            return (core, Some(p));
        }
    }
    if w.trades.contains(form) {
        return (form, Some(form));
    }
    (form, None)
}

/// Trade name and industry of the middle of a name (after the division, before the form).
fn split_middle(middle: &str, form_trade: Option<&str>) -> (Option<String>, Option<String>) {
    let w = &*WORDS;
    let chars: Vec<char> = middle.chars().collect();
    let longest = w.longest_trade.min(chars.len().saturating_sub(2));
    for len in (2..=longest).rev() {
        let tail: String = chars[chars.len() - len..].iter().collect();
        if w.trades.contains(tail.as_str()) {
            let head: String = chars[..chars.len() - len].iter().collect();
            return (Some(head), Some(tail));
        }
    }
    // The middle is an industry word alone: the trade name is missing.
    if w.trades.contains(middle) {
        return (None, Some(middle.to_string()));
    }
    let head = (!middle.is_empty()).then(|| middle.to_string());
    (head, form_trade.map(str::to_string))
}

/// Reads the parts of `name`. `domicile` (a division code of the domicile) settles a
/// division name shared by several divisions and marks a region elsewhere.
pub fn parse(name: &str, entity_type: EntityType, domicile: Option<&str>) -> NameParts {
    let name = normalize(name);
    if entity_type == EntityType::Branch {
        return parse_branch(&name, domicile);
    }
    parse_plain(&name, domicile)
}

fn parse_plain(name: &str, domicile: Option<&str>) -> NameParts {
    let w = &*WORDS;
    let mut best: Option<NameParts> = None;
    for &form in w
        .forms
        .iter()
        .filter(|f| name.ends_with(*f) && name.len() > f.len())
    {
        let rest = &name[..name.len() - form.len()];
        let (core, form_trade) = split_form(form);
        let (region, middle) = split_region(rest, domicile);
        let (trade_name, industry) = split_middle(&middle, form_trade);
        let parts = NameParts {
            region_elsewhere: region.as_ref().is_some_and(|r| r.1),
            region: region.map(|r| r.0),
            trade_name,
            industry,
            form: Some(core.to_string()),
            branch: None,
        };
        if best.as_ref().is_none_or(|b| parts.count() > b.count()) {
            let complete = parts.count() == 4;
            best = Some(parts);
            if complete {
                break;
            }
        }
    }
    best.unwrap_or_else(|| {
        let (region, middle) = split_region(name, domicile);
        let (trade_name, industry) = split_middle(&middle, None);
        NameParts {
            region_elsewhere: region.as_ref().is_some_and(|r| r.1),
            region: region.map(|r| r.0),
            trade_name,
            industry,
            form: None,
            branch: None,
        }
    })
}

fn parse_branch(name: &str, domicile: Option<&str>) -> NameParts {
    // The parent's name ends at the last company form that something follows.
    let cut = COMPANY_FORMS
        .iter()
        .filter_map(|f| name.rfind(f).map(|i| i + f.len()))
        .filter(|&end| end < name.len())
        .max();
    let Some(end) = cut else {
        return NameParts {
            branch: None,
            ..parse_plain(name, domicile)
        };
    };
    let (parent, tail) = name.split_at(end);
    // A branch may bear its parent's division (the parent's registry), not its own.
    let mut parts = parse_plain(parent, None);
    parts.region_elsewhere = false;
    parts.branch = Some(tail.to_string());
    parts
}

/// The parts of a valid name, or one error per missing or wrong part.
pub fn check(
    name: &str,
    entity_type: EntityType,
    domicile: Option<&str>,
) -> Result<NameParts, Vec<FieldError>> {
    let normalized = normalize(name);
    let n = normalized.chars().count();
    if !(4..=100).contains(&n) || normalized.chars().any(char::is_control) {
        return Err(vec![FieldError::new(
            "name",
            format!("名称应为 4–100 个字符，现为 {n} 个 (a name has 4–100 characters, got {n})"),
        )]);
    }
    let parts = parse(&normalized, entity_type, domicile);
    let mut errors = Vec::new();
    if parts.region.is_none() {
        errors.push(FieldError::new(
            "name",
            "名称缺少行政区划（如“济南”“历下区”） \
             (the name lacks an administrative division, e.g. 济南)",
        ));
    } else if parts.region_elsewhere {
        let r = parts.region.as_ref().map(|r| r.text.as_str()).unwrap_or("");
        errors.push(FieldError::new(
            "name",
            format!(
                "名称中的行政区划“{r}”不是住所所在地 \
                 (the division {r} in the name is not where the domicile is)"
            ),
        ));
    }
    match parts.trade_name.as_deref() {
        None | Some("") => errors.push(FieldError::new(
            "name",
            "名称缺少字号（两个以上汉字） (the name lacks a trade name of two or more Chinese characters)",
        )),
        Some(t) if t.chars().count() < 2 || !t.chars().all(is_cjk) => {
            errors.push(FieldError::new(
                "name",
                format!(
                    "字号“{t}”应由两个以上汉字组成 \
                     (the trade name {t} must be two or more Chinese characters)"
                ),
            ))
        }
        Some(_) => {}
    }
    if parts.industry.is_none() {
        errors.push(FieldError::new(
            "name",
            "名称缺少行业或经营特点（如“商贸”“科技”） \
             (the name lacks an industry, e.g. 商贸 or 科技)",
        ));
    }
    match parts.form.as_deref() {
        None => errors.push(FieldError::new(
            "name",
            "名称缺少组织形式（如“有限公司”“经营部”） \
             (the name lacks an organization form, e.g. 有限公司)",
        )),
        Some(form) => {
            if let Some(e) = form_fits_type(form, entity_type, parts.branch.as_deref()) {
                errors.push(FieldError::new("name", e));
            }
        }
    }
    if errors.is_empty() {
        Ok(parts)
    } else {
        Err(errors)
    }
}

/// Why a form does not suit the entity type, if it does not.
fn form_fits_type(form: &str, t: EntityType, branch: Option<&str>) -> Option<String> {
    let company = COMPANY_FORMS.contains(&form) || form == "有限合伙";
    match t {
        EntityType::FarmerCooperative if !form.ends_with("合作社") => Some(
            "农民专业合作社的名称应以“专业合作社”结尾 \
             (a farmer cooperative's name ends with 专业合作社)"
                .into(),
        ),
        EntityType::Enterprise if form.ends_with("合作社") => Some(
            "“合作社”是农民专业合作社的组织形式，企业不得使用 \
             (合作社 is the form of a farmer cooperative, not of an enterprise)"
                .into(),
        ),
        EntityType::IndividualBusiness if company || form.ends_with("合作社") => Some(format!(
            "个体工商户的名称不得使用“{form}”，可用“店”“经营部”“工作室”等 \
             (an individual business may not use {form}; use 店, 经营部, 工作室 ...)"
        )),
        EntityType::Branch => match branch {
            Some(tail) if BRANCH_FORMS.iter().any(|f| tail.ends_with(f)) => None,
            _ => Some(
                "分支机构的名称应为“隶属企业名称 + 所在地 + 分公司” \
                 (a branch is named after its parent, then its place and 分公司)"
                    .into(),
            ),
        },
        _ => None,
    }
}

/// The division names (official and short) of a collision scope: the scope's division, the
/// divisions above it, and those below it down to counties. Names of the scope's entities
/// start with one of them (or with the trade name, when the division is in brackets).
pub fn region_variants(scope_code: &str) -> Vec<String> {
    let table = divisions();
    let mut out: Vec<String> = Vec::new();
    let mut add = |d: &Division| {
        if d.is_grouping() {
            return;
        }
        out.push(d.name.to_string());
        if let Some(s) = short_name(d.name) {
            out.push(s.to_string());
        }
    };
    for d in table.path(scope_code) {
        add(d);
    }
    let mut stack: Vec<&str> = vec![scope_code];
    while let Some(code) = stack.pop() {
        for child in table.children(code) {
            if child.level == Level::Town {
                continue;
            }
            add(child);
            stack.push(child.code);
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Levenshtein distance in characters (names are short).
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(name: &str, t: EntityType) -> NameParts {
        check(name, t, Some("370102")).unwrap_or_else(|e| panic!("{name}: {e:?}"))
    }

    #[test]
    fn reads_the_four_parts() {
        let p = parts("济南明月商贸有限公司", EntityType::Enterprise);
        assert_eq!(p.region.as_ref().unwrap().code, "3701");
        assert_eq!(p.trade_name.as_deref(), Some("明月"));
        assert_eq!(p.industry.as_deref(), Some("商贸"));
        assert_eq!(p.form.as_deref(), Some("有限公司"));
        let p = parts("历下泉润科技股份有限公司", EntityType::Enterprise);
        assert_eq!(p.region.as_ref().unwrap().code, "370102");
        assert_eq!(p.form.as_deref(), Some("股份有限公司"));
        let p = parts("泉润科技（济南）有限公司", EntityType::Enterprise);
        assert!(p.region.as_ref().unwrap().bracketed);
        assert_eq!(p.trade_name.as_deref(), Some("泉润"));
        // The industry carried by the form.
        let p = parts("历下老李餐饮公司", EntityType::Enterprise);
        assert_eq!(p.industry.as_deref(), Some("餐饮"));
        assert_eq!(p.form.as_deref(), Some("公司"));
        let p = parts("历下老李超市", EntityType::IndividualBusiness);
        assert_eq!(p.industry.as_deref(), Some("超市"));
        let p = parts("山东明月农机专业合作社", EntityType::FarmerCooperative);
        assert_eq!(p.form.as_deref(), Some("专业合作社"));
        let p = parts("济南明月商贸有限公司历下分公司", EntityType::Branch);
        assert_eq!(p.branch.as_deref(), Some("历下分公司"));
        assert_eq!(p.trade_name.as_deref(), Some("明月"));
    }

    fn errors(name: &str, t: EntityType) -> String {
        check(name, t, Some("370102"))
            .expect_err(name)
            .iter()
            .map(|e| e.message.clone())
            .collect::<Vec<_>>()
            .join("|")
    }

    #[test]
    fn names_each_missing_part() {
        let e = errors("明月商贸有限公司", EntityType::Enterprise);
        assert!(e.contains("缺少行政区划") && !e.contains("缺少字号"), "{e}");
        let e = errors("济南商贸有限公司", EntityType::Enterprise);
        assert!(e.contains("缺少字号") && !e.contains("缺少行政区划"), "{e}");
        let e = errors("济南泉润有限公司", EntityType::Enterprise);
        assert!(e.contains("缺少行业") && !e.contains("缺少字号"), "{e}");
        let e = errors("济南明月商贸", EntityType::Enterprise);
        assert!(e.contains("缺少组织形式") && !e.contains("缺少行业"), "{e}");
        let e = errors("明月", EntityType::Enterprise);
        assert!(e.contains("4–100"), "{e}");
        let e = errors("青岛明月商贸有限公司", EntityType::Enterprise);
        assert!(e.contains("不是住所所在地"), "{e}");
        let e = errors("历下明月商贸有限公司", EntityType::IndividualBusiness);
        assert!(e.contains("个体工商户"), "{e}");
        let e = errors("历下明月农机有限公司", EntityType::FarmerCooperative);
        assert!(e.contains("专业合作社"), "{e}");
    }

    #[test]
    fn scope_variants_and_distance() {
        let v = region_variants("3701");
        for name in ["济南市", "济南", "历下区", "历下", "山东省", "山东"] {
            assert!(v.iter().any(|x| x == name), "{name} in {v:?}");
        }
        assert!(!v.iter().any(|x| x == "青岛"));
        assert_eq!(edit_distance("济南明月商贸", "济南明日商贸"), 1);
        assert_eq!(edit_distance("", "ab"), 2);
    }
}
