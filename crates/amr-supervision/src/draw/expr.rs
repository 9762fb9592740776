//! The population expression (人群表达式): which targets a task is about.
//!
//! Atoms:
//! - `type:enterprise`, `type:individual`, `type:cooperative`, `type:branch`
//! - `industry:H` (a GB/T 4754-2017 section letter, derived from the division number of the
//!   class code), `industry:52`, `industry:521`, `industry:5211` (a prefix of the 4-digit
//!   class code)
//! - `region:3701` (a prefix of the domicile's division code)
//! - `risk:A` … `risk:D`
//! - `licence:<name>`, `tag:<name>` (the target carries the tag `licence:<name>` / `tag:<name>`)
//! - `*` (every target)
//!
//! Operators `!` (not), `&` (and), `|` (or), with that precedence, and parentheses; whitespace
//! is free. Display prints the fewest parentheses that parse back to the same tree.

use std::fmt;

use super::model::RiskClass;

/// The entity types a population can name, in the order of their codes in a target set.
pub const ENTITY_TYPES: [&str; 4] = ["enterprise", "individual", "cooperative", "branch"];

/// GB/T 4754-2017: the section letter of each division number (01–97), from
/// `/work/shared/data/industry/gbt4754.csv`: A 01–05, B 06–12, C 13–43, D 44–46, E 47–50,
/// F 51–52, G 53–60, H 61–62, I 63–65, J 66–69, K 70, L 71–72, M 73–75, N 76–79, O 80–82,
/// P 83, Q 84–85, R 86–90, S 91–96, T 97.
pub fn section_of_division(division: u16) -> Option<char> {
    let s = match division {
        1..=5 => 'A',
        6..=12 => 'B',
        13..=43 => 'C',
        44..=46 => 'D',
        47..=50 => 'E',
        51..=52 => 'F',
        53..=60 => 'G',
        61..=62 => 'H',
        63..=65 => 'I',
        66..=69 => 'J',
        70 => 'K',
        71..=72 => 'L',
        73..=75 => 'M',
        76..=79 => 'N',
        80..=82 => 'O',
        83 => 'P',
        84..=85 => 'Q',
        86..=90 => 'R',
        91..=96 => 'S',
        97 => 'T',
        _ => return None,
    };
    Some(s)
}

/// The division-number range `(first, last)` of a section letter.
pub fn section_range(section: char) -> Option<(u16, u16)> {
    let r = match section {
        'A' => (1, 5),
        'B' => (6, 12),
        'C' => (13, 43),
        'D' => (44, 46),
        'E' => (47, 50),
        'F' => (51, 52),
        'G' => (53, 60),
        'H' => (61, 62),
        'I' => (63, 65),
        'J' => (66, 69),
        'K' => (70, 70),
        'L' => (71, 72),
        'M' => (73, 75),
        'N' => (76, 79),
        'O' => (80, 82),
        'P' => (83, 83),
        'Q' => (84, 85),
        'R' => (86, 90),
        'S' => (91, 96),
        'T' => (97, 97),
        _ => return None,
    };
    Some(r)
}

/// One atom of an expression.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Atom {
    All,
    /// Index into [`ENTITY_TYPES`].
    Type(u8),
    /// A section letter `A`..`T`.
    Section(char),
    /// A prefix (2–4 digits) of the 4-digit class code.
    Industry(String),
    /// A prefix (1–9 digits) of the division code.
    Region(String),
    Risk(RiskClass),
    Licence(String),
    Tag(String),
}

impl Atom {
    /// The class codes `lo..=hi` (as numbers 0..=9999) an industry atom covers, or `None` for
    /// other atoms.
    pub fn industry_range(&self) -> Option<(u16, u16)> {
        match self {
            Atom::Section(s) => section_range(*s).map(|(a, b)| (a * 100, b * 100 + 99)),
            Atom::Industry(p) => {
                let v: u16 = p.parse().ok()?;
                let scale = 10u16.pow(4 - p.len() as u32);
                Some((v * scale, v * scale + scale - 1))
            }
            _ => None,
        }
    }

    /// The tag text a target carries for a licence or tag atom.
    pub fn tag_text(&self) -> Option<String> {
        match self {
            Atom::Licence(n) => Some(format!("licence:{n}")),
            Atom::Tag(n) => Some(format!("tag:{n}")),
            _ => None,
        }
    }
}

impl fmt::Display for Atom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Atom::All => f.write_str("*"),
            Atom::Type(t) => write!(f, "type:{}", ENTITY_TYPES[*t as usize]),
            Atom::Section(s) => write!(f, "industry:{s}"),
            Atom::Industry(p) => write!(f, "industry:{p}"),
            Atom::Region(p) => write!(f, "region:{p}"),
            Atom::Risk(r) => write!(f, "risk:{}", r.as_str()),
            Atom::Licence(n) => write!(f, "licence:{n}"),
            Atom::Tag(n) => write!(f, "tag:{n}"),
        }
    }
}

/// A parsed population expression.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Expr {
    Atom(Atom),
    Not(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
}

impl Expr {
    fn prec(&self) -> u8 {
        match self {
            Expr::Or(..) => 1,
            Expr::And(..) => 2,
            Expr::Not(_) | Expr::Atom(_) => 3,
        }
    }

    fn fmt_at(&self, f: &mut fmt::Formatter<'_>, min: u8) -> fmt::Result {
        if self.prec() < min {
            f.write_str("(")?;
            self.fmt_at(f, 0)?;
            return f.write_str(")");
        }
        match self {
            Expr::Atom(a) => write!(f, "{a}"),
            Expr::Not(e) => {
                f.write_str("!")?;
                e.fmt_at(f, 3)
            }
            Expr::And(a, b) => {
                a.fmt_at(f, 2)?;
                f.write_str(" & ")?;
                b.fmt_at(f, 3)
            }
            Expr::Or(a, b) => {
                a.fmt_at(f, 1)?;
                f.write_str(" | ")?;
                b.fmt_at(f, 2)
            }
        }
    }

    /// Every atom, each once, in a stable order.
    pub fn atoms(&self, out: &mut Vec<Atom>) {
        match self {
            Expr::Atom(a) => {
                if !out.contains(a) {
                    out.push(a.clone());
                }
            }
            Expr::Not(e) => e.atoms(out),
            Expr::And(a, b) | Expr::Or(a, b) => {
                a.atoms(out);
                b.atoms(out);
            }
        }
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.fmt_at(f, 0)
    }
}

/// A parse error: the character position (1-based) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub position: usize,
    pub zh: String,
    pub en: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "人群表达式第 {} 个字符处{} (population expression, at character {}: {})",
            self.position, self.zh, self.en, self.position
        )
    }
}

impl std::error::Error for ParseError {}

/// Parses a population expression.
pub fn parse(text: &str) -> Result<Expr, ParseError> {
    let chars: Vec<char> = text.chars().collect();
    let mut p = Parser { chars, pos: 0 };
    p.skip_ws();
    if p.pos >= p.chars.len() {
        return Err(p.error("为空", "the expression is empty"));
    }
    let e = p.or()?;
    p.skip_ws();
    if p.pos < p.chars.len() {
        return Err(p.error(
            &format!("多余的“{}”", p.chars[p.pos]),
            &format!("unexpected '{}'", p.chars[p.pos]),
        ));
    }
    Ok(e)
}

const MAX_DEPTH: usize = 64;

struct Parser {
    chars: Vec<char>,
    pos: usize,
}

fn is_value_char(c: char) -> bool {
    !(c.is_whitespace() || matches!(c, '&' | '|' | '!' | '(' | ')' | ',' | ':'))
}

impl Parser {
    fn error(&self, zh: &str, en: &str) -> ParseError {
        ParseError {
            position: self.pos + 1,
            zh: zh.to_string(),
            en: en.to_string(),
        }
    }

    fn skip_ws(&mut self) {
        while self.pos < self.chars.len() && self.chars[self.pos].is_whitespace() {
            self.pos += 1;
        }
    }

    fn peek(&mut self) -> Option<char> {
        self.skip_ws();
        self.chars.get(self.pos).copied()
    }

    fn or(&mut self) -> Result<Expr, ParseError> {
        self.or_at(0)
    }

    fn or_at(&mut self, depth: usize) -> Result<Expr, ParseError> {
        let mut left = self.and(depth)?;
        while self.peek() == Some('|') {
            self.pos += 1;
            let right = self.and(depth)?;
            left = Expr::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self, depth: usize) -> Result<Expr, ParseError> {
        let mut left = self.unary(depth)?;
        while self.peek() == Some('&') {
            self.pos += 1;
            let right = self.unary(depth)?;
            left = Expr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self, depth: usize) -> Result<Expr, ParseError> {
        if depth > MAX_DEPTH {
            return Err(self.error("嵌套过深", "nested too deeply"));
        }
        match self.peek() {
            None => Err(self.error("意外结束，缺少条件", "unexpected end, a term is missing")),
            Some('!') => {
                self.pos += 1;
                Ok(Expr::Not(Box::new(self.unary(depth + 1)?)))
            }
            Some('(') => {
                self.pos += 1;
                let e = self.or_at(depth + 1)?;
                if self.peek() != Some(')') {
                    return Err(self.error("缺少右括号“)”", "missing ')'"));
                }
                self.pos += 1;
                Ok(e)
            }
            Some('*') => {
                self.pos += 1;
                Ok(Expr::Atom(Atom::All))
            }
            Some(_) => self.atom(),
        }
    }

    fn word(&mut self) -> String {
        let start = self.pos;
        while self.pos < self.chars.len() && is_value_char(self.chars[self.pos]) {
            self.pos += 1;
        }
        self.chars[start..self.pos].iter().collect()
    }

    fn atom(&mut self) -> Result<Expr, ParseError> {
        let start = self.pos;
        let name = self.word();
        if name.is_empty() {
            return Err(self.error(
                &format!("不应出现“{}”", self.chars[self.pos]),
                &format!("unexpected '{}'", self.chars[self.pos]),
            ));
        }
        if self.chars.get(self.pos) != Some(&':') {
            self.pos = start;
            return Err(self.error(
                &format!("条件“{name}”缺少冒号，应为 名称:值"),
                &format!("the term '{name}' lacks ':', expected name:value"),
            ));
        }
        self.pos += 1;
        let value_at = self.pos;
        let value = self.word();
        if value.is_empty() {
            return Err(self.error("冒号后缺少值", "a value is missing after ':'"));
        }
        let bad = |zh: String, en: String| -> ParseError {
            ParseError {
                position: value_at + 1,
                zh,
                en,
            }
        };
        let atom = match name.as_str() {
            "type" => match ENTITY_TYPES.iter().position(|t| *t == value) {
                Some(i) => Atom::Type(i as u8),
                None => {
                    return Err(bad(
                        format!(
                            "主体类型“{value}”无效，应为 enterprise、individual、cooperative 或 branch"
                        ),
                        format!(
                            "unknown type '{value}', expected enterprise, individual, cooperative or branch"
                        ),
                    ));
                }
            },
            "industry" => {
                let mut cs = value.chars();
                let first = cs.next().unwrap_or(' ');
                if value.chars().count() == 1 && section_range(first).is_some() {
                    Atom::Section(first)
                } else if (2..=4).contains(&value.len())
                    && value.bytes().all(|b| b.is_ascii_digit())
                {
                    let div: u16 = value[..2].parse().unwrap_or(0);
                    if section_of_division(div).is_none() {
                        return Err(bad(
                            format!("行业大类“{}”不在 GB/T 4754-2017 中", &value[..2]),
                            format!("division '{}' is not in GB/T 4754-2017", &value[..2]),
                        ));
                    }
                    Atom::Industry(value)
                } else {
                    return Err(bad(
                        format!("行业“{value}”无效，应为门类字母 A–T 或 2–4 位行业代码"),
                        format!(
                            "industry '{value}' is invalid, expected a section letter A–T or 2–4 digits"
                        ),
                    ));
                }
            }
            "region" => {
                if (1..=9).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_digit()) {
                    Atom::Region(value)
                } else {
                    return Err(bad(
                        format!("区划“{value}”无效，应为 1–9 位区划代码前缀"),
                        format!(
                            "region '{value}' is invalid, expected a prefix of 1–9 digits of a division code"
                        ),
                    ));
                }
            }
            "risk" => match value.as_str() {
                "A" | "B" | "C" | "D" => {
                    Atom::Risk(RiskClass::parse(&value).unwrap_or(RiskClass::A))
                }
                _ => {
                    return Err(bad(
                        format!("风险等级“{value}”无效，应为 A、B、C 或 D"),
                        format!("risk class '{value}' is invalid, expected A, B, C or D"),
                    ));
                }
            },
            "licence" => Atom::Licence(value),
            "tag" => Atom::Tag(value),
            _ => {
                self.pos = start;
                return Err(self.error(
                    &format!(
                        "未知条件“{name}”，应为 type、industry、region、risk、licence 或 tag"
                    ),
                    &format!(
                        "unknown term '{name}', expected type, industry, region, risk, licence or tag"
                    ),
                ));
            }
        };
        Ok(Expr::Atom(atom))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_precedence_and_parentheses() {
        let e = parse("type:enterprise & industry:H | !risk:A").unwrap();
        assert_eq!(e.to_string(), "type:enterprise & industry:H | !risk:A");
        assert!(matches!(e, Expr::Or(..)));
        let e = parse("type:enterprise&(industry:H|region:3701)").unwrap();
        assert_eq!(
            e.to_string(),
            "type:enterprise & (industry:H | region:3701)"
        );
        assert!(matches!(e, Expr::And(..)));
        assert_eq!(parse(" * ").unwrap(), Expr::Atom(Atom::All));
        assert_eq!(
            parse("licence:食品经营许可证").unwrap(),
            Expr::Atom(Atom::Licence("食品经营许可证".into()))
        );
    }

    #[test]
    fn industry_atoms() {
        let h = parse("industry:H").unwrap();
        let Expr::Atom(a) = h else { panic!() };
        assert_eq!(a.industry_range(), Some((6100, 6299)));
        let Expr::Atom(a) = parse("industry:52").unwrap() else {
            panic!()
        };
        assert_eq!(a.industry_range(), Some((5200, 5299)));
        let Expr::Atom(a) = parse("industry:521").unwrap() else {
            panic!()
        };
        assert_eq!(a.industry_range(), Some((5210, 5219)));
        let Expr::Atom(a) = parse("industry:0111").unwrap() else {
            panic!()
        };
        assert_eq!(a.industry_range(), Some((111, 111)));
        assert_eq!(section_of_division(52), Some('F'));
        assert_eq!(section_of_division(98), None);
    }

    #[test]
    fn errors_name_the_position() {
        let e = parse("type:enterprise & ").unwrap_err();
        assert_eq!(e.position, 19);
        assert!(e.to_string().starts_with("人群表达式第 19 个字符处"));
        let e = parse("type:company").unwrap_err();
        assert_eq!(e.position, 6);
        let e = parse("(risk:A").unwrap_err();
        assert!(e.en.contains("missing ')'"));
        let e = parse("colour:red").unwrap_err();
        assert_eq!(e.position, 1);
        assert!(parse("industry:99").is_err());
        assert!(parse("industry:X").is_err());
        assert!(parse("region:37a").is_err());
        assert!(parse("risk:E").is_err());
        assert!(parse("").is_err());
        assert!(parse("risk:A risk:B").is_err());
        assert!(parse("tag:").is_err());
        let deep = "!".repeat(200) + "*";
        assert!(parse(&deep).is_err());
    }

    fn atom_strategy() -> impl Strategy<Value = Atom> {
        prop_oneof![
            Just(Atom::All),
            (0u8..4).prop_map(Atom::Type),
            prop::sample::select(vec!['A', 'C', 'F', 'H', 'T']).prop_map(Atom::Section),
            prop::sample::select(vec!["52", "521", "5211", "0111"])
                .prop_map(|s| Atom::Industry(s.to_string())),
            "[0-9]{1,9}".prop_map(Atom::Region),
            prop::sample::select(RiskClass::ALL.to_vec()).prop_map(Atom::Risk),
            "[a-z食品药]{1,6}".prop_map(Atom::Licence),
            "[a-z重点]{1,6}".prop_map(Atom::Tag),
        ]
    }

    fn expr_strategy() -> impl Strategy<Value = Expr> {
        atom_strategy()
            .prop_map(Expr::Atom)
            .prop_recursive(5, 40, 2, |inner| {
                prop_oneof![
                    inner.clone().prop_map(|e| Expr::Not(Box::new(e))),
                    (inner.clone(), inner.clone())
                        .prop_map(|(a, b)| Expr::And(Box::new(a), Box::new(b))),
                    (inner.clone(), inner).prop_map(|(a, b)| Expr::Or(Box::new(a), Box::new(b))),
                ]
            })
    }

    proptest! {
        #[test]
        fn display_parse_round_trip(e in expr_strategy()) {
            let text = e.to_string();
            let back = parse(&text).unwrap();
            prop_assert_eq!(back, e);
        }

        #[test]
        fn never_panics(s in "\\PC{0,40}") {
            let _ = parse(&s);
        }
    }
}
