//! One synthetic entity of a county.

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};

use amr_kernel::codes::division::Division;
use amr_kernel::codes::orgcode::OrgCode;
use amr_kernel::codes::uscc::{self, Uscc};
use chrono::NaiveDate;

use super::people::person;
use super::sample::{Sampler, Weights, choose_by, choose_pair};
use super::tables::{
    COOPERATIVE_CAPITAL_WAN, ENTERPRISE_CAPITAL_WAN, ENTERPRISE_FORMS, LAST_DAY, LAST_YEAR,
    ROAD_DIRECTIONS, ROAD_KINDS, ROAD_PARTS, SCOPE_TAIL, STATUSES, TYPES, YEARS,
};
use super::vocab::{Class, Vocab};
use crate::model::{EntityType, NewEntity};

/// After this many duplicate names in a row, the 字号 becomes two trade names joined.
const PLAIN_TRIES: u32 = 64;

/// A county (county-level division) with what its entities need.
pub(crate) struct County {
    pub(crate) code: &'static str,
    pub(crate) name: &'static str,
    pub(crate) short: String,
    /// Index of the prefecture in the generator's city list.
    pub(crate) city: usize,
    pub(crate) towns: Vec<&'static Division>,
    pub(crate) town_weights: Option<Weights>,
}

/// A prefecture: its name and short name (济南市, 济南).
pub(crate) struct City {
    pub(crate) name: &'static str,
    pub(crate) short: String,
}

/// What must stay unique within the county being generated.
#[derive(Default)]
pub(crate) struct Seen {
    pub(crate) usccs: HashSet<[u8; uscc::LEN], BuildHasherDefault<FastHash>>,
    pub(crate) names: HashSet<String, BuildHasherDefault<FastHash>>,
}

/// A fast multiplicative hash for the membership sets (which are never iterated, so the
/// hash cannot affect the output; nothing here faces untrusted input).
#[derive(Default)]
pub(crate) struct FastHash(u64);

impl Hasher for FastHash {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(word))
                .wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// The name without its administrative suffix (市, 区, 县, 街道, 镇, 乡), if at least two
/// characters remain.
pub(crate) fn short_name(name: &str) -> &str {
    ["街道", "市", "区", "县", "镇", "乡"]
        .iter()
        .find_map(|s| name.strip_suffix(s))
        .filter(|rest| rest.chars().count() >= 2)
        .unwrap_or(name)
}

pub(crate) struct Context<'a> {
    pub(crate) vocab: &'a Vocab,
    pub(crate) cities: &'a [City],
    pub(crate) county: &'a County,
}

/// Generates the next entity of the county.
pub(crate) fn entity(s: &mut Sampler, cx: &Context<'_>, seen: &mut Seen) -> NewEntity {
    let county = cx.county;
    let city = &cx.cities[county.city];
    let entity_type = choose_pair(s, TYPES);
    let status = choose_pair(s, STATUSES);
    let mix = cx.vocab.mix(entity_type);
    let classes = &mix.classes[mix.divisions.choose(s)];
    let class = &cx.vocab.classes[classes.start + s.index(classes.len())];
    let town = county
        .town_weights
        .as_ref()
        .map(|w| county.towns[w.choose(s)]);
    let uscc = fresh_uscc(s, entity_type, county.code, seen);
    let name = unique_name(s, cx, entity_type, class, town, seen);
    let established = date(s);
    let rep = person(s, county.code, established);
    let capital_yuan = match entity_type {
        EntityType::Enterprise => Some(capital_wan(s, ENTERPRISE_CAPITAL_WAN) * 10_000),
        EntityType::FarmerCooperative => Some(capital_wan(s, COOPERATIVE_CAPITAL_WAN) * 10_000),
        EntityType::IndividualBusiness | EntityType::Branch => None,
    };
    let road = road(s);
    let numbers = if s.chance(8_000) { 300 } else { 3_000 };
    let number = 1 + s.uniform(numbers);
    let town_name = town.map_or("", |t| t.name);
    NewEntity {
        uscc,
        name,
        entity_type,
        legal_rep: rep.name,
        legal_rep_id: Some(rep.id),
        phone: Some(rep.phone),
        capital_yuan,
        established,
        address: format!("{}{}{town_name}{road}{number}号", city.name, county.name),
        division: town.map_or(county.code, |t| t.code).to_string(),
        scope: scope(s, cx.vocab, class),
        industry: class.code.to_string(),
        status,
    }
}

/// A valid USCC not yet issued in this county: authority 9, the type's digit, the county,
/// 8 body characters uniform over the USCC alphabet, the GB 11714 check character and the
/// GB 32100 check character. (The county digits make codes of different counties distinct.)
fn fresh_uscc(s: &mut Sampler, t: EntityType, county: &str, seen: &mut Seen) -> String {
    loop {
        let mut code = [0u8; uscc::LEN];
        code[..2].copy_from_slice(t.registration_type().prefix().as_bytes());
        code[2..8].copy_from_slice(county.as_bytes());
        for b in &mut code[8..16] {
            *b = *s.pick(uscc::ALPHABET);
        }
        let body = std::str::from_utf8(&code[8..16]).expect("ASCII");
        let org = OrgCode::from_body(body).expect("alphabet characters are valid");
        code[16] = org.as_str().as_bytes()[8];
        let sum: u32 = code[..17]
            .iter()
            .zip(uscc::WEIGHTS)
            .map(|(c, w)| value(*c) * w)
            .sum();
        code[17] = uscc::ALPHABET[((31 - sum % 31) % 31) as usize];
        debug_assert!(Uscc::is_valid(&code));
        if seen.usccs.insert(code) {
            return String::from_utf8(code.to_vec()).expect("ASCII");
        }
    }
}

fn value(c: u8) -> u32 {
    uscc::ALPHABET
        .iter()
        .position(|&a| a == c)
        .expect("alphabet character") as u32
}

/// 行政区划 + 字号 + 行业 + 组织形式, unique in the county: a duplicate draws another 字号.
fn unique_name(
    s: &mut Sampler,
    cx: &Context<'_>,
    t: EntityType,
    class: &Class,
    town: Option<&Division>,
    seen: &mut Seen,
) -> String {
    let brands = &cx.vocab.brands;
    let region = match t {
        EntityType::Enterprise if s.chance(6_000) => cx.cities[cx.county.city].short.as_str(),
        EntityType::Branch => {
            let home = if s.chance(7_000) {
                cx.county.city
            } else {
                s.index(cx.cities.len())
            };
            cx.cities[home].short.as_str()
        }
        _ => cx.county.short.as_str(),
    };
    let form = match t {
        EntityType::Enterprise | EntityType::Branch => choose_pair(s, ENTERPRISE_FORMS),
        EntityType::IndividualBusiness => *s.pick(class.individual_forms),
        EntityType::FarmerCooperative => "专业合作社",
    };
    let own_form = t == EntityType::IndividualBusiness && class.own_forms;
    let class_share = if t == EntityType::IndividualBusiness {
        7_000
    } else {
        5_000
    };
    let trade = if own_form {
        ""
    } else if !class.class_trades.is_empty() && s.chance(class_share) {
        *s.pick(&class.class_trades)
    } else {
        *s.pick(class.division_trades)
    };
    // An individual business's form may already say it: 餐饮 + 餐厅, 维修 + 维修店.
    let trade = if t == EntityType::IndividualBusiness && trade.chars().any(|c| form.contains(c)) {
        ""
    } else {
        trade
    };
    let place = match town.map(|d| short_name(d.name)) {
        Some(p) if s.chance(6_000) && p.chars().count() >= 2 => p,
        _ => cx.county.short.as_str(),
    };
    let mut tries = 0;
    loop {
        let mut brand = (*s.pick(brands)).to_string();
        if tries >= PLAIN_TRIES {
            brand.push_str(s.pick::<&str>(brands));
        }
        let mut name = format!("{region}{brand}{trade}{form}");
        if t == EntityType::Branch {
            name.push_str(place);
            name.push_str("分公司");
        }
        if !seen.names.contains(&name) {
            seen.names.insert(name.clone());
            return name;
        }
        tries += 1;
    }
}

/// An establishment date: a year by [`year_weight`], then a day of it uniformly.
fn date(s: &mut Sampler) -> NaiveDate {
    let year = choose_pair(s, &YEARS);
    let first = NaiveDate::from_ymd_opt(year, 1, 1).expect("valid year");
    let last = if year == LAST_YEAR {
        NaiveDate::from_ymd_opt(year, LAST_DAY.0, LAST_DAY.1).expect("valid date")
    } else {
        NaiveDate::from_ymd_opt(year, 12, 31).expect("valid date")
    };
    let days = (last - first).num_days() as u64 + 1;
    first + chrono::Days::new(s.uniform(days))
}

/// Registered capital in 万元 (see the tables).
fn capital_wan(s: &mut Sampler, table: &[(u32, u32)]) -> i64 {
    let i = choose_by(s, table, |&(_, w)| w);
    let amount = u64::from(table[i].0);
    match table.get(i + 1) {
        Some(&(next, _)) if !s.chance(7_500) => s.between(amount, u64::from(next) - 1) as i64,
        _ => amount as i64,
    }
}

/// A road: an optional direction, a name part and a kind (`经十路`, `人民东街`, `黄河大道`).
pub(crate) fn road(s: &mut Sampler) -> String {
    let part = s.pick(ROAD_PARTS);
    let kind = choose_pair(s, ROAD_KINDS);
    if kind != "大道" && s.chance(2_500) {
        format!("{part}{}{kind}", s.pick(ROAD_DIRECTIONS))
    } else {
        format!("{part}{kind}")
    }
}

/// 经营范围: the class, one or two other classes of its division, and the standard clause.
fn scope(s: &mut Sampler, vocab: &Vocab, class: &Class) -> String {
    let mut out = String::with_capacity(128);
    out.push_str(class.name);
    let siblings = &vocab.classes[class.related.clone()];
    let extra = 1 + s.uniform(2);
    for _ in 0..extra {
        let other = &siblings[s.index(siblings.len())];
        let name = other.name.strip_prefix("其他").unwrap_or(other.name);
        if other.code != class.code && !name.contains("未列明") && !out.contains(name) {
            out.push('；');
            out.push_str(name);
        }
    }
    out.push('。');
    out.push_str(SCOPE_TAIL);
    out
}
