//! Administrative divisions (GB/T 2260) and town-level codes.
//!
//! The table is the National Bureau of Statistics 2023 statistical division
//! table (as of 2023-06-30), embedded from `data/*.csv` and parsed once, on
//! first use. Codes are kept in their *prefix* form:
//!
//! | level | code | 6-digit GB/T 2260 form |
//! |---|---|---|
//! | [`Level::Province`] | `37` | `370000` |
//! | [`Level::Prefecture`] | `3701` | `370100` |
//! | [`Level::County`] | `370102` | `370102` |
//! | [`Level::Town`] | `370102001` | — |
//!
//! Since a parent's code is a prefix of its children's, sorting the codes as
//! strings puts every division right before its descendants.
//!
//! Municipalities and a few provinces have statistical groupings at the
//! prefecture level (`1101 市辖区`, `5002 县`, `4190 省直辖县级行政区划`, …).
//! They keep their official names; [`Division::is_grouping`] marks them and
//! [`DivisionTable::full_name`] leaves them out of composed names.
//! The table also holds the NBS statistical-only development-zone codes
//! (e.g. `370176 济南高新技术产业开发区`).

use std::collections::HashMap;
use std::fmt;
use std::sync::{LazyLock, OnceLock};

use serde::Serialize;

const PROVINCES: &str = include_str!("../../data/provinces.csv");
const CITIES: &str = include_str!("../../data/cities.csv");
const AREAS: &str = include_str!("../../data/areas.csv");
const STREETS: &str = include_str!("../../data/streets.csv");

/// Level of a division.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// 省级, 2-digit code.
    Province,
    /// 地级, 4-digit code.
    Prefecture,
    /// 县级, 6-digit code.
    County,
    /// 乡级 (town, township, street office), 9-digit code.
    Town,
}

impl Level {
    /// Length of the code at this level.
    pub fn code_len(self) -> usize {
        match self {
            Level::Province => 2,
            Level::Prefecture => 4,
            Level::County => 6,
            Level::Town => 9,
        }
    }

    /// Chinese name of the level.
    pub fn name_zh(self) -> &'static str {
        match self {
            Level::Province => "省级",
            Level::Prefecture => "地级",
            Level::County => "县级",
            Level::Town => "乡级",
        }
    }

    fn from_len(len: usize) -> Option<Level> {
        match len {
            2 => Some(Level::Province),
            4 => Some(Level::Prefecture),
            6 => Some(Level::County),
            9 => Some(Level::Town),
            _ => None,
        }
    }
}

/// One division.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Division {
    /// Canonical prefix-form code: 2, 4, 6 or 9 digits.
    pub code: &'static str,
    /// Official name.
    pub name: &'static str,
    /// Level, implied by the code length.
    pub level: Level,
    /// Code of the parent division; `None` for provinces.
    pub parent: Option<&'static str>,
}

impl Division {
    /// Whether this is a prefecture-level statistical grouping rather than a
    /// real prefecture (市辖区 and 县 of a municipality, 省直辖县级行政区划, …).
    pub fn is_grouping(&self) -> bool {
        self.level == Level::Prefecture
            && matches!(
                self.name,
                "市辖区" | "县" | "省直辖县级行政区划" | "自治区直辖县级行政区划"
            )
    }

    /// The 6-digit GB/T 2260 form (`370000`, `370100`, `370102`); `None` for towns.
    pub fn code6(&self) -> Option<String> {
        match self.level {
            Level::Town => None,
            _ => Some(format!("{:0<6}", self.code)),
        }
    }
}

/// A division code that is malformed or not in the table.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DivisionError {
    /// Not 2, 4, 6 or 9 digits.
    #[error(
        "行政区划代码格式错误：“{0}”应为 2、4、6 或 9 位数字 \
         (malformed division code '{0}': expected 2, 4, 6 or 9 digits)"
    )]
    Malformed(String),
    /// Well-formed but not in the table.
    #[error("行政区划代码“{0}”不存在 (unknown division code {0})")]
    NotFound(String),
}

/// The division table.
pub struct DivisionTable {
    /// All divisions, sorted by code.
    items: Vec<Division>,
    /// Parent index per item (`items.len()` = the country).
    parent: Vec<u32>,
    /// Children of item i are `child_ids[child_start[i]..child_start[i + 1]]`;
    /// index `items.len()` holds the provinces.
    child_start: Vec<u32>,
    child_ids: Vec<u32>,
    /// Name and suffix-less name → item indices, built on first search.
    names: OnceLock<HashMap<&'static str, Vec<u32>>>,
}

impl fmt::Debug for DivisionTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DivisionTable")
            .field("len", &self.items.len())
            .finish_non_exhaustive()
    }
}

static TABLE: LazyLock<DivisionTable> = LazyLock::new(DivisionTable::embedded);

/// The embedded division table.
pub fn divisions() -> &'static DivisionTable {
    &TABLE
}

/// `(code, name)` of each data row of a `code,"name",...` file.
fn rows(text: &'static str) -> impl Iterator<Item = (&'static str, &'static str)> {
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let line = line.trim_end_matches('\r');
            let (code, rest) = line.split_once(',').unwrap_or((line, ""));
            let name = match rest.strip_prefix('"') {
                Some(r) => r.split_once('"').map_or(r, |(n, _)| n),
                None => rest.split(',').next().unwrap_or(""),
            };
            (code, name)
        })
}

/// Name suffixes that a search may leave out; the longest that matches is removed.
const SUFFIXES: [&str; 17] = [
    "特别行政区",
    "自治区",
    "自治州",
    "自治县",
    "自治旗",
    "街道",
    "地区",
    "新区",
    "林区",
    "省",
    "市",
    "区",
    "县",
    "盟",
    "旗",
    "镇",
    "乡",
];

/// The name without its administrative suffix, if at least two characters remain.
fn strip_suffix(name: &str) -> Option<&str> {
    SUFFIXES
        .iter()
        .filter_map(|s| name.strip_suffix(s))
        .min_by_key(|rest| rest.len())
        .filter(|rest| rest.chars().count() >= 2)
}

impl DivisionTable {
    fn embedded() -> DivisionTable {
        let mut items: Vec<Division> = [PROVINCES, CITIES, AREAS, STREETS]
            .into_iter()
            .flat_map(rows)
            .filter_map(|(code, name)| {
                let level = Level::from_len(code.len())?;
                let parent = match level {
                    Level::Province => None,
                    Level::Prefecture => Some(&code[..2]),
                    Level::County => Some(&code[..4]),
                    Level::Town => Some(&code[..6]),
                };
                Some(Division {
                    code,
                    name,
                    level,
                    parent,
                })
            })
            .collect();
        items.sort_unstable_by_key(|d| d.code);
        items.dedup_by_key(|d| d.code);
        let root = items.len() as u32;
        let parent: Vec<u32> = items
            .iter()
            .map(|d| {
                d.parent
                    .and_then(|p| items.binary_search_by_key(&p, |x| x.code).ok())
                    .map_or(root, |i| i as u32)
            })
            .collect();
        let mut child_start = vec![0u32; items.len() + 2];
        for &p in &parent {
            child_start[p as usize + 1] += 1;
        }
        for i in 1..child_start.len() {
            child_start[i] += child_start[i - 1];
        }
        let mut fill = child_start.clone();
        let mut child_ids = vec![0u32; items.len()];
        for (i, &p) in parent.iter().enumerate() {
            child_ids[fill[p as usize] as usize] = i as u32;
            fill[p as usize] += 1;
        }
        DivisionTable {
            items,
            parent,
            child_start,
            child_ids,
            names: OnceLock::new(),
        }
    }

    /// Number of divisions in the table.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether the table is empty (never, for the embedded table).
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// All divisions, sorted by code (each right before its descendants).
    pub fn iter(&self) -> impl Iterator<Item = &Division> {
        self.items.iter()
    }

    fn index(&self, code: &str) -> Option<usize> {
        let code = code.trim();
        if !code.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let find = |c: &str| self.items.binary_search_by_key(&c, |d| d.code).ok();
        match code.len() {
            2 | 4 | 9 => find(code),
            6 => find(code).or_else(|| {
                if let Some(p) = code.strip_suffix("0000") {
                    find(p)
                } else {
                    code.strip_suffix("00").and_then(find)
                }
            }),
            _ => None,
        }
    }

    /// Looks a code up: `37`, `370000`, `3701`, `370100`, `370102` or
    /// `370102001`. A 6-digit code that is itself a county (e.g. `441900`
    /// 东莞市) is that county; otherwise `XX0000` / `XXXX00` mean the province
    /// or prefecture.
    pub fn get(&self, code: &str) -> Option<&Division> {
        self.index(code).map(|i| &self.items[i])
    }

    /// The parent of a division.
    pub fn parent(&self, code: &str) -> Option<&Division> {
        let i = self.index(code)?;
        self.items.get(self.parent[i] as usize)
    }

    /// Direct children in code order; the empty string gives the provinces.
    /// Unknown codes have no children.
    pub fn children(&self, code: &str) -> impl Iterator<Item = &Division> + '_ {
        let node = if code.trim().is_empty() {
            Some(self.items.len())
        } else {
            self.index(code)
        };
        let range = node.map_or(0..0, |n| {
            self.child_start[n] as usize..self.child_start[n + 1] as usize
        });
        self.child_ids[range]
            .iter()
            .map(move |&i| &self.items[i as usize])
    }

    /// Province → … → the division itself; empty for an unknown code.
    pub fn path(&self, code: &str) -> Vec<&Division> {
        let mut out = Vec::with_capacity(4);
        let mut i = self.index(code);
        while let Some(n) = i {
            out.push(&self.items[n]);
            i = Some(self.parent[n] as usize).filter(|&p| p < self.items.len());
        }
        out.reverse();
        out
    }

    /// Composed name such as `山东省济南市历下区`, leaving out intermediate
    /// groupings (`北京市东城区`, not `北京市市辖区东城区`) and a name repeated
    /// from the level above (`广东省东莞市`).
    pub fn full_name(&self, code: &str) -> Option<String> {
        let path = self.path(code);
        let last = path.len().checked_sub(1)?;
        let mut out = String::new();
        let mut prev = "";
        for (k, d) in path.iter().enumerate() {
            if (k < last && d.is_grouping()) || d.name == prev {
                continue;
            }
            out.push_str(d.name);
            prev = d.name;
        }
        Some(out)
    }

    /// Divisions named `name`, or whose name is `name` plus an administrative
    /// suffix (省, 市, 区, 县, 自治州, 街道, 镇, 乡, …): `历下` finds `历下区`,
    /// `济南` finds `济南市`. All matches, in code order.
    pub fn find_by_name(&self, name: &str) -> Vec<&Division> {
        let names = self.names.get_or_init(|| {
            let mut m: HashMap<&'static str, Vec<u32>> =
                HashMap::with_capacity(self.items.len() * 2);
            for (i, d) in self.items.iter().enumerate() {
                m.entry(d.name).or_default().push(i as u32);
                if let Some(short) = strip_suffix(d.name).filter(|_| !d.is_grouping()) {
                    m.entry(short).or_default().push(i as u32);
                }
            }
            m
        });
        let mut ids: Vec<u32> = names.get(name.trim()).cloned().unwrap_or_default();
        ids.sort_unstable();
        ids.dedup();
        ids.into_iter().map(|i| &self.items[i as usize]).collect()
    }
}

/// The area an office or a user is responsible for: the whole country or one
/// division and everything under it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Jurisdiction(Option<&'static Division>);

impl Jurisdiction {
    /// The whole country.
    pub fn all() -> Jurisdiction {
        Jurisdiction(None)
    }

    /// Parses `""` or `"*"` (the whole country) or a division code in the
    /// table at any level (2, 4, 6 or 9 digits; `370000` / `370100` are
    /// normalized to `37` / `3701`).
    pub fn parse(input: &str) -> Result<Jurisdiction, DivisionError> {
        let s = input.trim();
        if s.is_empty() || s == "*" {
            return Ok(Jurisdiction::all());
        }
        if !s.bytes().all(|b| b.is_ascii_digit()) || Level::from_len(s.len()).is_none() {
            return Err(DivisionError::Malformed(s.to_owned()));
        }
        divisions()
            .get(s)
            .map(|d| Jurisdiction(Some(d)))
            .ok_or_else(|| DivisionError::NotFound(s.to_owned()))
    }

    /// The division, `None` for the whole country.
    pub fn division(&self) -> Option<&'static Division> {
        self.0
    }

    /// Whether this is the whole country.
    pub fn is_all(&self) -> bool {
        self.0.is_none()
    }

    /// Code prefix: `""` for the whole country, else `37`, `3701`, `370102`, `370102001`.
    pub fn prefix(&self) -> &'static str {
        self.0.map_or("", |d| d.code)
    }

    /// Whether a division code (2, 4, 6, 9 or 12 digits) lies within this
    /// jurisdiction, by prefix. Malformed codes are never contained.
    pub fn contains(&self, code: &str) -> bool {
        let well_formed =
            matches!(code.len(), 2 | 4 | 6 | 9 | 12) && code.bytes().all(|b| b.is_ascii_digit());
        well_formed && code.starts_with(self.prefix())
    }

    /// Whether this jurisdiction lies within `other` (every jurisdiction is within itself).
    pub fn is_within(&self, other: &Jurisdiction) -> bool {
        self.prefix().starts_with(other.prefix())
    }

    /// `全国` or the composed name, e.g. `山东省济南市历下区`.
    pub fn display_name(&self) -> String {
        match self.0 {
            None => "全国".to_owned(),
            Some(d) => divisions()
                .full_name(d.code)
                .unwrap_or_else(|| d.name.to_owned()),
        }
    }
}

impl std::str::FromStr for Jurisdiction {
    type Err = DivisionError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Jurisdiction::parse(s)
    }
}

impl Serialize for Jurisdiction {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.prefix())
    }
}

impl<'de> serde::Deserialize<'de> for Jurisdiction {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Jurisdiction::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_the_longest_suffix() {
        assert_eq!(strip_suffix("历下区"), Some("历下"));
        assert_eq!(strip_suffix("神农架林区"), Some("神农架"));
        assert_eq!(strip_suffix("内蒙古自治区"), Some("内蒙古"));
        assert_eq!(strip_suffix("东华门街道"), Some("东华门"));
        assert_eq!(strip_suffix("泗县"), None);
        assert_eq!(strip_suffix("天桥"), None);
    }

    #[test]
    fn rows_parse_quoted_and_plain_names() {
        let text: &'static str = "code,name\n37,\"山东省\"\r\n3701,济南市,37\n\n";
        let r: Vec<_> = rows(text).collect();
        assert_eq!(r, vec![("37", "山东省"), ("3701", "济南市")]);
    }

    #[test]
    fn table_is_sorted_and_every_parent_exists() {
        let t = divisions();
        let items: Vec<_> = t.iter().collect();
        assert!(items.windows(2).all(|w| w[0].code < w[1].code));
        for d in &items {
            if let Some(p) = d.parent {
                assert!(t.get(p).is_some(), "parent of {} missing", d.code);
            } else {
                assert_eq!(d.level, Level::Province);
            }
        }
    }

    #[test]
    fn code6_forms() {
        let t = divisions();
        assert_eq!(t.get("37").unwrap().code6().as_deref(), Some("370000"));
        assert_eq!(t.get("3701").unwrap().code6().as_deref(), Some("370100"));
        assert_eq!(t.get("370102").unwrap().code6().as_deref(), Some("370102"));
        assert_eq!(t.get("370102001").unwrap().code6(), None);
    }
}
