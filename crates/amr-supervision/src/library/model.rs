//! The records of 一单两库 and the inputs that make them: text from forms, files and the
//! command line, parsed here into checked values, every bad field named (Chinese first, English
//! in parentheses). No IO.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use amr_kernel::codes::division::Jurisdiction;
use amr_kernel::error::AppError;

/// A department (部门) that inspects.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Department {
    pub code: String,
    pub name: String,
    pub name_en: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// An inspection domain (抽查领域) of one department.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Domain {
    pub code: String,
    pub department: String,
    pub name: String,
}

/// An inspection item (抽查事项).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Item {
    pub code: String,
    pub department: String,
    pub domain: String,
    pub name: String,
    pub legal_basis: String,
    pub target_type: String,
    pub method: String,
    /// `general` (一般检查事项) or `key` (重点检查事项).
    pub list: String,
    /// The default population of tasks of this item, a tag expression ('' = none).
    pub population: String,
    pub frequency: String,
    pub active: bool,
    pub updated_at: DateTime<Utc>,
}

/// An inspector (执法检查人员) with the conflicts declared.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InspectorRecord {
    pub id: String,
    pub department: String,
    pub name: String,
    pub jurisdiction: String,
    pub qualifications: Vec<String>,
    pub certificate_no: String,
    pub certificate_expiry: NaiveDate,
    pub active: bool,
    pub updated_at: DateTime<Utc>,
}

/// A declared conflict of interest (回避).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Conflict {
    pub inspector_id: String,
    pub uscc: String,
    pub reason: String,
    pub declared_at: DateTime<Utc>,
}

/// A tag of the target library attached to an entity.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TargetTag {
    pub uscc: String,
    pub tag: String,
    pub division: String,
    pub source: String,
    pub set_by: String,
    pub set_at: DateTime<Utc>,
}

/// One bad field of an input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &'static str, message: impl Into<String>) -> FieldError {
        FieldError {
            field,
            message: message.into(),
        }
    }
}

/// Field errors as one [`AppError::BadRequest`] naming the first field and listing them all.
pub fn to_app(errors: &[FieldError]) -> AppError {
    let field = errors.first().map(|e| e.field).unwrap_or("input");
    let text: Vec<String> = errors
        .iter()
        .map(|e| format!("{}: {}", e.field, e.message))
        .collect();
    AppError::bad_request(field, text.join("；"))
}

/// A code of a department, domain or item: 1–32 characters of `A–Z`, `0–9`, `-`, `_`,
/// starting with a letter or digit (lower case is raised).
pub fn parse_code(field: &'static str, s: &str) -> Result<String, FieldError> {
    let c = s.trim().to_ascii_uppercase();
    let ok = !c.is_empty()
        && c.len() <= 32
        && c.chars()
            .next()
            .is_some_and(|ch| ch.is_ascii_alphanumeric())
        && c.chars()
            .all(|ch| ch.is_ascii_uppercase() || ch.is_ascii_digit() || ch == '-' || ch == '_');
    if ok {
        Ok(c)
    } else {
        Err(FieldError::new(
            field,
            "编码应为 1–32 位字母、数字、“-”或“_” (a code is 1 to 32 letters, digits, '-' or '_')",
        ))
    }
}

/// A required line of text of at most `max` characters, without control characters.
pub fn parse_text(field: &'static str, s: &str, max: usize) -> Result<String, FieldError> {
    let t = s.trim();
    if t.is_empty() {
        return Err(FieldError::new(field, "不能为空 (required)"));
    }
    if t.chars().count() > max || t.chars().any(char::is_control) {
        return Err(FieldError::new(
            field,
            format!(
                "不超过 {max} 字，且不含控制字符 (at most {max} characters, no control characters)"
            ),
        ));
    }
    Ok(t.to_string())
}

/// `general`/`一般` or `key`/`重点` (a list name with 检查事项清单 around it is accepted).
pub fn parse_list(s: &str) -> Result<&'static str, FieldError> {
    let t = s.trim();
    let t = t
        .trim_end_matches("检查事项清单")
        .trim_end_matches("检查事项")
        .trim_end_matches("清单")
        .trim();
    match t.to_ascii_lowercase().as_str() {
        "general" | "一般" => Ok("general"),
        "key" | "重点" => Ok("key"),
        _ => Err(FieldError::new(
            "list",
            "清单类别应为“一般”或“重点” (the list is general or key)",
        )),
    }
}

/// A division-code prefix (`37`, `3701`, `370102`) that exists.
pub fn parse_jurisdiction(s: &str) -> Result<String, FieldError> {
    let t = s.trim();
    if t.is_empty() {
        return Err(FieldError::new(
            "jurisdiction",
            "请填写管辖区域（区划代码）(give the jurisdiction as a division code)",
        ));
    }
    let j = Jurisdiction::parse(t).map_err(|e| FieldError::new("jurisdiction", e.to_string()))?;
    if j.is_all() {
        return Err(FieldError::new(
            "jurisdiction",
            "管辖区域应为省、市或县的区划代码 (the jurisdiction is a province, city or county code)",
        ));
    }
    Ok(j.prefix().to_string())
}

/// A date `YYYY-MM-DD` (also `YYYY/MM/DD`, `YYYY.MM.DD`, or a spreadsheet date-time whose
/// date part is one of these).
pub fn parse_date(field: &'static str, s: &str) -> Result<NaiveDate, FieldError> {
    let t = s.trim();
    let t = t.split([' ', 'T']).next().unwrap_or(t);
    for f in ["%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d"] {
        if let Ok(d) = NaiveDate::parse_from_str(t, f) {
            return Ok(d);
        }
    }
    Err(FieldError::new(
        field,
        "日期格式应为 YYYY-MM-DD (a date is YYYY-MM-DD)",
    ))
}

/// A list of codes separated by commas, 、, semicolons or spaces (duplicates dropped, order kept).
pub fn parse_code_list(field: &'static str, s: &str) -> Result<Vec<String>, FieldError> {
    let mut out: Vec<String> = Vec::new();
    for part in s
        .split([',', '，', '、', ';', '；', ' ', '\n'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        let c = parse_code(field, part)?;
        if !out.contains(&c) {
            out.push(c);
        }
    }
    if out.len() > 200 {
        return Err(FieldError::new(field, "不超过 200 项 (at most 200)"));
    }
    Ok(out)
}

/// Checks the syntax of a population tag expression: atoms `type:…`, `industry:…`,
/// `region:…`, `risk:A..D`, `licence:…`, `tag:…` and `*`, operators `&`, `|`, `!` and
/// parentheses. The draw engine (`draw::expr`) evaluates them; this check refuses what could
/// never parse, so a bad expression is named where it is entered.
pub fn check_population(s: &str) -> Result<String, FieldError> {
    let t = s.trim();
    if t.is_empty() {
        return Ok(String::new());
    }
    if t.chars().count() > 1000 || t.chars().any(char::is_control) {
        return Err(FieldError::new(
            "population",
            "抽查范围不超过 1000 字 (at most 1,000 characters)",
        ));
    }
    let chars: Vec<char> = t.chars().collect();
    let mut p = ExprCheck { s: &chars, i: 0 };
    p.or()?;
    p.skip_ws();
    if p.i < chars.len() {
        return Err(p.error("多余的内容 (unexpected text)"));
    }
    Ok(t.to_string())
}

struct ExprCheck<'a> {
    s: &'a [char],
    i: usize,
}

impl ExprCheck<'_> {
    fn error(&self, what: &str) -> FieldError {
        FieldError::new(
            "population",
            format!(
                "抽查范围表达式在第 {} 个字符处有误：{what} (bad tag expression at character {})",
                self.i + 1,
                self.i + 1
            ),
        )
    }
    fn skip_ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_whitespace() {
            self.i += 1;
        }
    }
    fn peek(&mut self) -> Option<char> {
        self.skip_ws();
        self.s.get(self.i).copied()
    }
    fn or(&mut self) -> Result<(), FieldError> {
        self.and()?;
        while self.peek() == Some('|') {
            self.i += 1;
            self.and()?;
        }
        Ok(())
    }
    fn and(&mut self) -> Result<(), FieldError> {
        self.not()?;
        while self.peek() == Some('&') {
            self.i += 1;
            self.not()?;
        }
        Ok(())
    }
    fn not(&mut self) -> Result<(), FieldError> {
        if self.peek() == Some('!') {
            self.i += 1;
            return self.not();
        }
        self.primary()
    }
    fn primary(&mut self) -> Result<(), FieldError> {
        match self.peek() {
            Some('(') => {
                self.i += 1;
                self.or()?;
                if self.peek() != Some(')') {
                    return Err(self.error("缺少右括号 (missing ')')"));
                }
                self.i += 1;
                Ok(())
            }
            Some('*') => {
                self.i += 1;
                Ok(())
            }
            Some(_) => self.atom(),
            None => Err(self.error("表达式不完整 (the expression ends too early)")),
        }
    }
    fn atom(&mut self) -> Result<(), FieldError> {
        let start = self.i;
        while self.i < self.s.len()
            && !self.s[self.i].is_whitespace()
            && !matches!(self.s[self.i], '&' | '|' | '!' | '(' | ')')
        {
            self.i += 1;
        }
        let word: String = self.s[start..self.i].iter().collect();
        let Some((kind, value)) = word.split_once(':') else {
            self.i = start;
            return Err(self.error("应为“类别:值”形式 (expected kind:value)"));
        };
        let ok = match kind {
            "type" => matches!(
                value,
                "enterprise" | "individual" | "cooperative" | "branch"
            ),
            "industry" => {
                let v = value.as_bytes();
                (v.len() == 1 && v[0].is_ascii_uppercase() && v[0] <= b'T')
                    || ((2..=4).contains(&v.len()) && v.iter().all(u8::is_ascii_digit))
            }
            "region" => {
                matches!(value.len(), 2 | 4 | 6 | 9) && value.bytes().all(|b| b.is_ascii_digit())
            }
            "risk" => matches!(value, "A" | "B" | "C" | "D"),
            "licence" | "tag" => !value.is_empty(),
            _ => false,
        };
        if !ok {
            self.i = start;
            return Err(self.error(&format!("无效的条件 {word:?} (invalid atom)")));
        }
        Ok(())
    }
}

/// A tag of the target library: `tag:<name>` or `licence:<name>`, the name 1–40 characters
/// without spaces, operators or control characters.
pub fn parse_tag(s: &str) -> Result<String, FieldError> {
    let t = s.trim();
    let ok = t.split_once(':').is_some_and(|(k, v)| {
        matches!(k, "tag" | "licence")
            && !v.is_empty()
            && v.chars().count() <= 40
            && !v
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || "&|!():".contains(c))
    });
    if ok {
        Ok(t.to_string())
    } else {
        Err(FieldError::new(
            "tag",
            "标签应为 tag:名称 或 licence:许可证名称（不超过 40 字，不含空格和运算符）\
             (a tag is tag:NAME or licence:NAME, at most 40 characters, no spaces or operators)",
        ))
    }
}

/// A department as text.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DepartmentInput {
    pub code: String,
    pub name: String,
    pub name_en: String,
}

impl DepartmentInput {
    pub fn validate(&self) -> Result<DepartmentInput, Vec<FieldError>> {
        let mut errs = Vec::new();
        let code = parse_code("code", &self.code)
            .map_err(|e| errs.push(e))
            .ok();
        let name = parse_text("name", &self.name, 60)
            .map_err(|e| errs.push(e))
            .ok();
        let name_en = parse_text("name_en", &self.name_en, 120)
            .map_err(|e| errs.push(e))
            .ok();
        match (code, name, name_en) {
            (Some(code), Some(name), Some(name_en)) if errs.is_empty() => Ok(DepartmentInput {
                code,
                name,
                name_en,
            }),
            _ => Err(errs),
        }
    }
}

/// A domain as text.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DomainInput {
    pub code: String,
    pub department: String,
    pub name: String,
}

impl DomainInput {
    pub fn validate(&self) -> Result<Domain, Vec<FieldError>> {
        let mut errs = Vec::new();
        let code = parse_code("code", &self.code)
            .map_err(|e| errs.push(e))
            .ok();
        let department = parse_code("department", &self.department)
            .map_err(|e| errs.push(e))
            .ok();
        let name = parse_text("name", &self.name, 60)
            .map_err(|e| errs.push(e))
            .ok();
        match (code, department, name) {
            (Some(code), Some(department), Some(name)) if errs.is_empty() => Ok(Domain {
                code,
                department,
                name,
            }),
            _ => Err(errs),
        }
    }
}

/// An inspection item as text (a form, a file row).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ItemInput {
    pub code: String,
    pub department: String,
    pub domain: String,
    pub name: String,
    pub legal_basis: String,
    pub target_type: String,
    pub method: String,
    pub list: String,
    pub population: String,
    pub frequency: String,
    /// The department's name, when a file creates the department (with `department_name_en`
    /// optional: the Chinese name stands in).
    pub department_name: String,
    pub department_name_en: String,
    /// The domain's name, when a file creates the domain.
    pub domain_name: String,
}

/// An item checked, ready to store (`active` is set by the store).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewItem {
    pub code: String,
    pub department: String,
    pub domain: String,
    pub name: String,
    pub legal_basis: String,
    pub target_type: String,
    pub method: String,
    pub list: String,
    pub population: String,
    pub frequency: String,
}

impl ItemInput {
    pub fn validate(&self) -> Result<NewItem, Vec<FieldError>> {
        let mut errs = Vec::new();
        let mut take =
            |r: Result<String, FieldError>| r.map_err(|e| errs.push(e)).unwrap_or_default();
        let item = NewItem {
            code: take(parse_code("code", &self.code)),
            department: take(parse_code("department", &self.department)),
            domain: take(parse_code("domain", &self.domain)),
            name: take(parse_text("name", &self.name, 200)),
            legal_basis: take(parse_text("legal_basis", &self.legal_basis, 1000)),
            target_type: take(parse_text("target_type", &self.target_type, 100)),
            method: take(parse_text("method", &self.method, 100)),
            list: take(parse_list(&self.list).map(str::to_string)),
            population: take(check_population(&self.population)),
            frequency: take(parse_text("frequency", &self.frequency, 50)),
        };
        if errs.is_empty() { Ok(item) } else { Err(errs) }
    }
}

/// An inspector as text.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct InspectorInput {
    pub id: String,
    pub department: String,
    pub name: String,
    pub jurisdiction: String,
    /// Domain codes, separated by commas, 、 or spaces.
    pub qualifications: String,
    pub certificate_no: String,
    pub certificate_expiry: String,
}

/// An inspector checked, ready to store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewInspector {
    pub id: String,
    pub department: String,
    pub name: String,
    pub jurisdiction: String,
    pub qualifications: Vec<String>,
    pub certificate_no: String,
    pub certificate_expiry: NaiveDate,
}

impl InspectorInput {
    pub fn validate(&self) -> Result<NewInspector, Vec<FieldError>> {
        let mut errs = Vec::new();
        let id = parse_code("id", &self.id).map_err(|e| errs.push(e)).ok();
        let department = parse_code("department", &self.department)
            .map_err(|e| errs.push(e))
            .ok();
        let name = parse_text("name", &self.name, 40)
            .map_err(|e| errs.push(e))
            .ok();
        let jurisdiction = parse_jurisdiction(&self.jurisdiction)
            .map_err(|e| errs.push(e))
            .ok();
        let qualifications = parse_code_list("qualifications", &self.qualifications)
            .map_err(|e| errs.push(e))
            .ok();
        let certificate_no = parse_text("certificate_no", &self.certificate_no, 40)
            .map_err(|e| errs.push(e))
            .ok();
        let certificate_expiry = parse_date("certificate_expiry", &self.certificate_expiry)
            .map_err(|e| errs.push(e))
            .ok();
        match (
            id,
            department,
            name,
            jurisdiction,
            qualifications,
            certificate_no,
            certificate_expiry,
        ) {
            (
                Some(id),
                Some(department),
                Some(name),
                Some(jurisdiction),
                Some(q),
                Some(no),
                Some(exp),
            ) if errs.is_empty() => Ok(NewInspector {
                id,
                department,
                name,
                jurisdiction,
                qualifications: q,
                certificate_no: no,
                certificate_expiry: exp,
            }),
            _ => Err(errs),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn populations_are_checked() {
        for good in [
            "",
            "*",
            "industry:62",
            "type:enterprise & industry:C",
            "(industry:61 | industry:804) & !risk:A",
            "licence:食品经营许可证 | tag:重点监管",
            "region:3701 & industry:5265",
        ] {
            assert!(check_population(good).is_ok(), "{good}");
        }
        for bad in [
            "industry:",
            "type:company",
            "industry:H62",
            "(industry:62",
            "industry:62 &",
            "risk:E",
            "foo",
            "industry:62 industry:61",
        ] {
            assert!(check_population(bad).is_err(), "{bad}");
        }
        let e = check_population("industry:62 & (type:x)").unwrap_err();
        assert!(e.message.contains("第 16 个字符"), "{}", e.message);
    }

    #[test]
    fn lists_codes_tags_and_dates_parse() {
        assert_eq!(parse_list("重点").unwrap(), "key");
        assert_eq!(parse_list("一般检查事项清单").unwrap(), "general");
        assert_eq!(parse_list("KEY").unwrap(), "key");
        assert!(parse_list("随便").is_err());
        assert_eq!(parse_code("code", " amr04-01 ").unwrap(), "AMR04-01");
        assert!(parse_code("code", "食品").is_err());
        assert!(parse_code("code", "-A").is_err());
        assert_eq!(parse_tag("tag:重点监管").unwrap(), "tag:重点监管");
        assert!(parse_tag("tag:重点 监管").is_err());
        assert!(parse_tag("risk:A").is_err());
        assert_eq!(
            parse_date("d", "2027/03/01 00:00:00").unwrap(),
            NaiveDate::from_ymd_opt(2027, 3, 1).unwrap()
        );
        assert!(parse_date("d", "2027-02-30").is_err());
        assert_eq!(
            parse_code_list("q", "AMR03、amr04, AMR03").unwrap(),
            vec!["AMR03".to_string(), "AMR04".to_string()]
        );
        assert_eq!(parse_jurisdiction("370102").unwrap(), "370102");
        assert_eq!(parse_jurisdiction("370000").unwrap(), "37");
        assert!(parse_jurisdiction("379999").is_err());
    }

    #[test]
    fn an_item_names_every_bad_field() {
        let e = ItemInput {
            code: "A 1".into(),
            list: "x".into(),
            population: "industry:".into(),
            ..ItemInput::default()
        }
        .validate()
        .unwrap_err();
        let fields: Vec<&str> = e.iter().map(|e| e.field).collect();
        for f in [
            "code",
            "department",
            "domain",
            "name",
            "legal_basis",
            "target_type",
            "method",
            "list",
            "population",
            "frequency",
        ] {
            assert!(fields.contains(&f), "{f} in {fields:?}");
        }
    }
}
