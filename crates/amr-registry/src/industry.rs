//! China's industry classification, GB/T 4754-2017 (with Amendment No. 1, 2019).
//!
//! Four levels, each code a prefix of its children's except under a section:
//!
//! | level | code | example |
//! |---|---|---|
//! | [`Level::Section`] (门类) | one letter | `F` 批发和零售业 |
//! | [`Level::Division`] (大类) | 2 digits | `51` 批发业 |
//! | [`Level::Group`] (中类) | 3 digits | `519` 其他批发业 |
//! | [`Level::Class`] (小类) | 4 digits | `5191` 再生物资回收与批发 |
//!
//! An entity is registered under a class. The table (20 sections, 97 divisions, 473 groups,
//! 1,382 classes) is embedded from `data/gbt4754.csv` (`code,name,level,parent`; see
//! `data/README.md`) and parsed once, on first use.

use std::collections::HashMap;
use std::sync::LazyLock;

use serde::Serialize;

const CSV: &str = include_str!("../data/gbt4754.csv");

/// The level of an industry code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// 门类, one letter.
    Section,
    /// 大类, 2 digits.
    Division,
    /// 中类, 3 digits.
    Group,
    /// 小类, 4 digits.
    Class,
}

impl Level {
    fn parse(s: &str) -> Option<Level> {
        match s {
            "section" => Some(Level::Section),
            "division" => Some(Level::Division),
            "group" => Some(Level::Group),
            "class" => Some(Level::Class),
            _ => None,
        }
    }

    /// The level's key (`section`, `division`, `group`, `class`).
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Section => "section",
            Level::Division => "division",
            Level::Group => "group",
            Level::Class => "class",
        }
    }

    /// Chinese name of the level.
    pub fn name_zh(self) -> &'static str {
        match self {
            Level::Section => "门类",
            Level::Division => "大类",
            Level::Group => "中类",
            Level::Class => "小类",
        }
    }
}

/// One code of the classification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Industry {
    pub code: &'static str,
    pub name: &'static str,
    pub level: Level,
    /// The code one level up; `None` for sections.
    pub parent: Option<&'static str>,
}

struct Table {
    /// Rows in file order: divisions, groups and classes in code order, then the sections.
    items: Vec<Industry>,
    index: HashMap<&'static str, usize>,
}

static TABLE: LazyLock<Table> = LazyLock::new(|| {
    let mut items = Vec::with_capacity(2000);
    for (n, line) in CSV.lines().enumerate().skip(1) {
        let line = line.trim_end_matches('\r');
        if line.is_empty() {
            continue;
        }
        let f: Vec<&'static str> = line.split(',').collect();
        let level = f.get(2).and_then(|l| Level::parse(l));
        let (4, Some(level)) = (f.len(), level) else {
            panic!("data/gbt4754.csv line {}: malformed row {line:?}", n + 1);
        };
        items.push(Industry {
            code: f[0],
            name: f[1],
            level,
            parent: (!f[3].is_empty()).then_some(f[3]),
        });
    }
    let index = items.iter().enumerate().map(|(i, d)| (d.code, i)).collect();
    Table { items, index }
});

/// The code, if it is in the table (any level).
pub fn get(code: &str) -> Option<&'static Industry> {
    let t = &*TABLE;
    t.index.get(code.trim()).map(|&i| &t.items[i])
}

/// The code's name, if it is in the table.
pub fn name(code: &str) -> Option<&'static str> {
    get(code).map(|i| i.name)
}

/// Whether `code` is a class (小类), the level entities are registered under.
pub fn is_class(code: &str) -> bool {
    get(code).is_some_and(|i| i.level == Level::Class)
}

/// Section → division → group → class (as far down as `code`); empty for an unknown code.
pub fn path(code: &str) -> Vec<&'static Industry> {
    let mut out = Vec::with_capacity(4);
    let mut cur = get(code);
    while let Some(i) = cur {
        out.push(i);
        cur = i.parent.and_then(get);
    }
    out.reverse();
    out
}

/// The section (门类) a code belongs to.
pub fn section_of(code: &str) -> Option<&'static Industry> {
    path(code).into_iter().next()
}

/// Every class, in code order.
pub fn classes() -> impl Iterator<Item = &'static Industry> {
    TABLE.items.iter().filter(|i| i.level == Level::Class)
}

/// Every code of the table: divisions, groups and classes in code order, then the sections.
pub fn all() -> &'static [Industry] {
    &TABLE.items
}

/// The direct children of a code (the divisions of a section, ...), in code order.
pub fn children(code: &str) -> impl Iterator<Item = &'static Industry> {
    let code = get(code).map(|i| i.code);
    TABLE
        .items
        .iter()
        .filter(move |i| code.is_some() && i.parent == code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_match_the_standard() {
        let count = |l: Level| all().iter().filter(|i| i.level == l).count();
        assert_eq!(count(Level::Section), 20);
        assert_eq!(count(Level::Division), 97);
        assert_eq!(count(Level::Group), 473);
        assert_eq!(count(Level::Class), 1382);
        assert_eq!(classes().count(), 1382);
    }

    #[test]
    fn every_parent_exists_one_level_up() {
        for i in all() {
            match i.parent {
                None => assert_eq!(i.level, Level::Section, "{i:?}"),
                Some(p) => {
                    let parent = get(p).unwrap_or_else(|| panic!("parent of {i:?}"));
                    assert_eq!(parent.level as u8 + 1, i.level as u8, "{i:?}");
                    if parent.level != Level::Section {
                        assert!(i.code.starts_with(parent.code), "{i:?}");
                    }
                }
            }
            assert!(!i.name.is_empty());
        }
    }

    #[test]
    fn lookup_and_path() {
        let c = get("5191").unwrap();
        assert_eq!(c.level, Level::Class);
        assert!(is_class("5191"));
        assert!(!is_class("519"));
        assert!(!is_class("9999"));
        let p: Vec<&str> = path("5191").iter().map(|i| i.code).collect();
        assert_eq!(p, ["F", "51", "519", "5191"]);
        assert_eq!(section_of("0111").unwrap().name, "农、林、牧、渔业");
        assert_eq!(section_of("01").unwrap().code, "A");
        assert_eq!(section_of("A").unwrap().code, "A");
        assert!(section_of("X1").is_none());
        assert!(path("nope").is_empty());
        assert_eq!(name("0111"), Some("稻谷种植"));
        let divisions_of_a: Vec<&str> = children("A").map(|i| i.code).collect();
        assert_eq!(divisions_of_a, ["01", "02", "03", "04", "05"]);
    }
}
