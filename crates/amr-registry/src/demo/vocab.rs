//! The embedded name parts and the industry tables the generator draws from, built once.

use std::collections::HashSet;
use std::sync::LazyLock;

use super::sample::Weights;
use super::tables::{
    CLASS_WORD_STOPLIST, COOPERATIVE_DIVISIONS, DIVISION_TRADES, ENTERPRISE_DEFAULT,
    ENTERPRISE_DIVISIONS, ENTERPRISE_FORMS, INDIVIDUAL_CLASS_FORMS, INDIVIDUAL_DEFAULT_FORMS,
    INDIVIDUAL_DIVISION_FORMS, INDIVIDUAL_DIVISIONS, SECTION_TRADES,
};
use crate::industry::{self, Industry};
use crate::model::EntityType;

/// 字号 (trade names), 284,835 lines; see `data/README.md`.
const BRAND_TXT: &str = include_str!("../../data/names/brand.txt");
/// 行业 words, 1,257 lines.
const TRADE_TXT: &str = include_str!("../../data/names/trade.txt");
/// 组织形式, 162 lines.
const SUFFIX_TXT: &str = include_str!("../../data/names/suffix.txt");

fn lines(text: &'static str) -> impl Iterator<Item = &'static str> {
    text.lines().map(str::trim).filter(|l| !l.is_empty())
}

/// One GB/T 4754 class with what a name and a scope need of it.
pub(crate) struct Class {
    pub(crate) code: &'static str,
    pub(crate) name: &'static str,
    /// `trade.txt` words found in the class name (minus the stoplist), e.g. 百货 in 百货零售.
    pub(crate) class_trades: Vec<&'static str>,
    /// The 行业 words of the class's division (or section).
    pub(crate) division_trades: &'static [&'static str],
    /// The 组织形式 an individual business of this class may take.
    pub(crate) individual_forms: &'static [&'static str],
    /// Whether those forms are the class's own (超市, 乐器店): they name the trade.
    pub(crate) own_forms: bool,
    /// The classes of the division (indices into `classes`).
    pub(crate) division: std::ops::Range<usize>,
    /// Related classes for the business scope: the group's, or the division's when the
    /// group has no other class.
    pub(crate) related: std::ops::Range<usize>,
}

/// The industry choice of one entity type: divisions by weight, then a class uniformly.
pub(crate) struct IndustryMix {
    pub(crate) divisions: Weights,
    /// Per division (same order as the weights): its classes (indices into `classes`).
    pub(crate) classes: Vec<std::ops::Range<usize>>,
}

pub(crate) struct Vocab {
    pub(crate) brands: Vec<&'static str>,
    /// All classes in code order.
    pub(crate) classes: Vec<Class>,
    enterprise: IndustryMix,
    individual: IndustryMix,
    cooperative: IndustryMix,
}

static VOCAB: LazyLock<Vocab> = LazyLock::new(Vocab::build);

pub(crate) fn vocab() -> &'static Vocab {
    &VOCAB
}

fn lookup<T: Copy>(table: &[(&str, T)], key: &str) -> Option<T> {
    table.iter().find(|(k, _)| *k == key).map(|&(_, v)| v)
}

/// The section letter of a division code.
fn section(division: &str) -> &'static str {
    industry::get(division)
        .and_then(|d| d.parent)
        .unwrap_or("T")
}

impl Vocab {
    fn build() -> Vocab {
        let trade_list: Vec<&'static str> = lines(TRADE_TXT).collect();
        let trades: HashSet<&'static str> = trade_list.iter().copied().collect();
        let brands: Vec<&'static str> = lines(BRAND_TXT)
            .filter(|b| plain_brand(b, &trades))
            .collect();
        let suffixes: HashSet<&'static str> = lines(SUFFIX_TXT).collect();
        let stop: HashSet<&str> = CLASS_WORD_STOPLIST.iter().copied().collect();
        let all: Vec<&'static Industry> = industry::classes().collect();
        let mut classes = Vec::with_capacity(all.len());
        for (i, c) in all.iter().enumerate() {
            let matches: Vec<&'static str> = trade_list
                .iter()
                .copied()
                .filter(|t| t.chars().count() >= 2 && c.name.contains(t) && !stop.contains(t))
                .collect();
            // Keep the longest of nested matches: 软件开发, not also 软件.
            let class_trades: Vec<&'static str> = matches
                .iter()
                .copied()
                .filter(|t| !matches.iter().any(|u| u != t && u.contains(t)))
                .collect();
            let division = prefix_range(&all, i, 2);
            let group = prefix_range(&all, i, 3);
            let class_forms = lookup(INDIVIDUAL_CLASS_FORMS, c.code);
            classes.push(Class {
                code: c.code,
                name: c.name,
                class_trades,
                division_trades: lookup(DIVISION_TRADES, &c.code[..2])
                    .or_else(|| lookup(SECTION_TRADES, section(&c.code[..2])))
                    .unwrap_or(&["商贸"]),
                individual_forms: class_forms
                    .or_else(|| lookup(INDIVIDUAL_DIVISION_FORMS, &c.code[..2]))
                    .unwrap_or(INDIVIDUAL_DEFAULT_FORMS),
                own_forms: class_forms.is_some(),
                related: if group.len() > 1 {
                    group
                } else {
                    division.clone()
                },
                division,
            });
        }
        let enterprise = mix(&classes, |d| {
            let excluded = matches!(section(d), "S" | "T");
            let w = lookup(ENTERPRISE_DIVISIONS, d).unwrap_or(ENTERPRISE_DEFAULT);
            if excluded { 0 } else { w }
        });
        let individual = mix(&classes, |d| lookup(INDIVIDUAL_DIVISIONS, d).unwrap_or(0));
        let cooperative = mix(&classes, |d| lookup(COOPERATIVE_DIVISIONS, d).unwrap_or(0));
        check_words(&trades, &suffixes);
        Vocab {
            brands,
            classes,
            enterprise,
            individual,
            cooperative,
        }
    }

    /// The industry mix of an entity type (branches follow enterprises).
    pub(crate) fn mix(&self, t: EntityType) -> &IndustryMix {
        match t {
            EntityType::Enterprise | EntityType::Branch => &self.enterprise,
            EntityType::IndividualBusiness => &self.individual,
            EntityType::FarmerCooperative => &self.cooperative,
        }
    }
}

/// The classes around `all[i]` that share its first `len` code digits.
fn prefix_range(all: &[&Industry], i: usize, len: usize) -> std::ops::Range<usize> {
    let p = &all[i].code[..len];
    let start = all[..i]
        .iter()
        .rposition(|x| !x.code.starts_with(p))
        .map_or(0, |j| j + 1);
    let end = i + all[i..]
        .iter()
        .take_while(|x| x.code.starts_with(p))
        .count();
    start..end
}

/// Whether a 字号 is usable as it is: two or three Chinese characters (the longer entries
/// of the list are mostly phrases and slogans), and not itself a 行业 word or ending in one
/// (阳光酒店, 海康科技 would clash with the 行业 that follows).
fn plain_brand(brand: &str, trades: &HashSet<&str>) -> bool {
    let cjk = (2..=3).contains(&brand.chars().count())
        && brand
            .chars()
            .all(|c| ('\u{4e00}'..='\u{9fff}').contains(&c));
    let ends_in_trade = brand
        .char_indices()
        .any(|(i, _)| brand.len() - i >= 6 && trades.contains(&brand[i..]));
    cjk && !ends_in_trade
}

/// Every word of the tables must come from the embedded lists (a table edit that breaks
/// this fails on first use, in every test).
fn check_words(trades: &HashSet<&str>, suffixes: &HashSet<&str>) {
    let words = DIVISION_TRADES
        .iter()
        .chain(SECTION_TRADES)
        .flat_map(|(_, w)| w.iter());
    for w in words {
        assert!(trades.contains(w), "{w} is not in data/names/trade.txt");
    }
    let forms = INDIVIDUAL_CLASS_FORMS
        .iter()
        .chain(INDIVIDUAL_DIVISION_FORMS)
        .flat_map(|(_, f)| f.iter())
        .chain(INDIVIDUAL_DEFAULT_FORMS)
        .chain(ENTERPRISE_FORMS.iter().map(|(f, _)| f))
        .chain(&["合作社", "分公司"]);
    for f in forms {
        assert!(suffixes.contains(f), "{f} is not in data/names/suffix.txt");
    }
}

/// Groups the classes (in code order) by division and weighs each division.
fn mix(classes: &[Class], weight: impl Fn(&str) -> u32) -> IndustryMix {
    let mut ranges: Vec<std::ops::Range<usize>> = Vec::new();
    let mut weights = Vec::new();
    let mut i = 0;
    while i < classes.len() {
        let r = classes[i].division.clone();
        let w = u64::from(weight(&classes[i].code[..2]));
        if w > 0 {
            ranges.push(r.clone());
            weights.push(w);
        }
        i = r.end.max(i + 1);
    }
    IndustryMix {
        divisions: Weights::new(weights).expect("every entity type has a weighted division"),
        classes: ranges,
    }
}
