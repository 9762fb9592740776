//! What follows the divisions: village, road, road number, POI, building, unit, floor, room.
//!
//! The rest of the address is cut into number tokens (digits and letters, with the unit
//! marker after them: 180号, 3单元, 12层, B座, 47-6-746) and text runs (齐鲁国际大厦). Text
//! before the first road suffix is a village (…村, …社区) or a place; the run ending in a road
//! suffix (路, 街, 大道, 巷, …) is the road; the first text after the road or its number is
//! the POI. Numbers go by their marker; a bare number right after a road is its number, and
//! `a-b-c` after a POI is building-unit-room (the common 幢-单元-室 shorthand).

use super::clean::{CjkSet, arabic_numerals, cjk_set, in_cjk_set};

#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct Detail {
    pub town: Option<String>,
    pub village: Option<String>,
    pub road: Option<String>,
    pub road_no: Option<String>,
    pub poi: Option<String>,
    pub building: Option<String>,
    pub unit: Option<String>,
    pub floor: Option<String>,
    pub room: Option<String>,
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum Tok {
    /// A number (characters `start..end`) and the marker after it.
    Num {
        start: usize,
        end: usize,
        marker: &'static str,
        /// What the marker says the number is.
        says: Says,
    },
    /// Text, characters `start..end`.
    Text(usize, usize),
}

/// Markers after a number, longest first: what [`marker_at`] finds (checked against this list
/// in the tests).
#[cfg(test)]
const MARKERS: [&str; 18] = [
    "号楼", "号院", "号馆", "号房", "号铺", "单元", "栋", "幢", "座", "层", "楼", "室", "号", "弄",
    "房", "铺", "户", "F",
];

/// What a marker says the number before it is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Says {
    /// A building: 号楼, 栋, 幢, 座, 号馆.
    Building,
    /// A unit: 单元.
    Unit,
    /// A floor: 层, F.
    Floor,
    /// A floor, or a building after letters alone (A楼): 楼.
    FloorOrBuilding,
    /// A room: 室, 房, 号房, 铺, 号铺, 户.
    Room,
    /// A road number, else a building or a room: 号, 弄, 号院.
    Number,
    /// No marker.
    Bare,
}

/// The marker after a number that `rest` begins with, the longest (号楼 before 号), its
/// length in characters and what it says; `("", 0, Says::Bare)` for none. By the first
/// characters, not by comparing each marker in turn.
fn marker_at(rest: &[char]) -> (&'static str, usize, Says) {
    use Says::{Building, Floor, FloorOrBuilding, Number, Room, Unit};
    let next = rest.get(1).copied().unwrap_or('\0');
    match rest.first() {
        Some('号') => match next {
            '楼' => ("号楼", 2, Building),
            '院' => ("号院", 2, Number),
            '馆' => ("号馆", 2, Building),
            '房' => ("号房", 2, Room),
            '铺' => ("号铺", 2, Room),
            _ => ("号", 1, Number),
        },
        Some('单') if next == '元' => ("单元", 2, Unit),
        Some('栋') => ("栋", 1, Building),
        Some('幢') => ("幢", 1, Building),
        Some('座') => ("座", 1, Building),
        Some('层') => ("层", 1, Floor),
        Some('楼') => ("楼", 1, FloorOrBuilding),
        Some('室') => ("室", 1, Room),
        Some('弄') => ("弄", 1, Number),
        Some('房') => ("房", 1, Room),
        Some('铺') => ("铺", 1, Room),
        Some('户') => ("户", 1, Room),
        Some('F') => ("F", 1, Floor),
        _ => ("", 0, Says::Bare),
    }
}

fn is_num_char(c: char) -> bool {
    c.is_ascii_alphanumeric()
}

fn tokens(chars: &[char], out: &mut Vec<Tok>) {
    out.clear();
    let mut i = 0;
    let push_text = |out: &mut Vec<Tok>, a: usize, b: usize| {
        if let Some(Tok::Text(_, end)) = out.last_mut()
            && *end == a
        {
            *end = b;
        } else {
            out.push(Tok::Text(a, b));
        }
    };
    while i < chars.len() {
        let c = chars[i];
        if is_num_char(c) {
            let mut j = i;
            loop {
                while j < chars.len() && is_num_char(chars[j]) {
                    j += 1;
                }
                if j + 1 < chars.len() && matches!(chars[j], '-' | '/') && is_num_char(chars[j + 1])
                {
                    j += 1;
                    continue;
                }
                break;
            }
            let tok = &chars[i..j];
            let mut end = j;
            let (mut marker, len, mut says) = marker_at(&chars[j..]);
            let next = j + len;
            let digits = tok.iter().any(|c| c.is_ascii_digit());
            if marker.is_empty()
                && tok.len() > 1
                && tok.last() == Some(&'F')
                && tok[..tok.len() - 1].iter().all(|c| c.is_ascii_digit())
            {
                end -= 1;
                marker = "F";
                says = Says::Floor;
            }
            if marker.is_empty() && !digits {
                // Letters alone belong to a name (GQ生活馆).
                push_text(out, i, j);
            } else {
                out.push(Tok::Num {
                    start: i,
                    end,
                    marker,
                    says,
                });
            }
            i = next;
        } else if matches!(c, '-' | '/') {
            i += 1;
        } else {
            let mut j = i;
            // A character outside ASCII (most of the text) is neither a number nor a dash.
            while j < chars.len()
                && !(chars[j].is_ascii()
                    && (is_num_char(chars[j]) || matches!(chars[j], '-' | '/')))
            {
                j += 1;
            }
            push_text(out, i, j);
            i = j;
        }
    }
}

/// After a road: its section (中段, 东段, 一段), as [`section_len`] finds them (checked against
/// this list in the tests).
#[cfg(test)]
const SECTIONS: [&str; 7] = ["东段", "西段", "南段", "北段", "中段", "段", "延伸段"];
/// Characters after which a new part begins (…区, …镇, …村), as [`is_boundary`] finds them.
const BOUNDARY: [char; 8] = ['区', '县', '镇', '乡', '市', '村', '省', '州'];

const BOUNDARY_SET: CjkSet = cjk_set(&BOUNDARY);

/// Whether `c` is one of [`BOUNDARY`] (one bit test, not a scan of the list).
fn is_boundary(c: char) -> bool {
    in_cjk_set(&BOUNDARY_SET, c)
}

/// The characters a village suffix begins with ([`village_suffixes_at`]).
const VILLAGE_FIRST: CjkSet = cjk_set(&['村', '居', '社', '嘎']);

/// The characters a road suffix begins with ([`road_suffix`]; checked in the tests).
const ROAD_FIRST: CjkSet = cjk_set(&['路', '巷', '弄', '街', '大', '公', '胡']);

/// Village suffixes in the order they are tried, as [`village_suffixes_at`] finds them.
#[cfg(test)]
const VILLAGE_SUFFIXES: [&str; 6] = ["村委会", "居委会", "村民委员会", "社区", "嘎查", "村"];

/// The lengths of the village suffixes `t` begins with, in the order of [`VILLAGE_SUFFIXES`]
/// (at most three: 村委会, 村民委员会, 村), by characters instead of comparing each suffix;
/// unused places are 0.
fn village_suffixes_at(t: &[char]) -> [usize; 3] {
    match t {
        ['村', '委', '会', ..] => [3, 1, 0],
        ['村', '民', '委', '员', '会', ..] => [5, 1, 0],
        ['村', ..] => [1, 0, 0],
        ['居', '委', '会', ..] => [3, 0, 0],
        ['社', '区', ..] => [2, 0, 0],
        ['嘎', '查', ..] => [2, 0, 0],
        _ => [0; 3],
    }
}

/// The length of a road suffix at the start of `t` (路, 大道, 街 but not 街道, ...), 0 if none.
fn road_suffix(t: &[char]) -> usize {
    let next = t.get(1).copied().unwrap_or('\0');
    match t.first() {
        Some('路' | '巷' | '弄') => 1,
        Some('街') if !matches!(next, '道' | '办') => 1,
        Some('大') if matches!(next, '道' | '街') => 2,
        Some('公') if next == '路' => 2,
        Some('胡') if next == '同' => 2,
        _ => 0,
    }
}

/// The length of the road section `after` begins with (东段, 中段, 段, 延伸段), 0 if none.
fn section_len(after: &[char]) -> usize {
    match after {
        ['东' | '西' | '南' | '北' | '中', '段', ..] => 2,
        ['段', ..] => 1,
        ['延', '伸', '段', ..] => 3,
        _ => 0,
    }
}

/// The end (exclusive) of the first road name in `t`, if any (with its section: 中段).
fn road_end(t: &[char]) -> Option<usize> {
    for i in 1..t.len() {
        // Most characters begin no suffix: one bit test before the comparisons.
        if !in_cjk_set(&ROAD_FIRST, t[i]) {
            continue;
        }
        let n = road_suffix(&t[i..]);
        if n > 0 {
            let end = i + n;
            let after = &t[end..];
            return Some(end + section_len(after));
        }
    }
    None
}

/// Where the road in `t[..end]` starts: after the last boundary character, if that leaves a
/// name of three characters or more (市南路 keeps its 市).
fn road_start(t: &[char], end: usize) -> usize {
    let mut start = 0;
    for k in (0..end).rev() {
        if is_boundary(t[k]) && end - (k + 1) >= 3 {
            start = k + 1;
            break;
        }
    }
    start
}

fn village_end(t: &[char]) -> Option<usize> {
    for i in 2..t.len() {
        if !in_cjk_set(&VILLAGE_FIRST, t[i]) {
            continue;
        }
        for n in village_suffixes_at(&t[i..]) {
            if n == 0 {
                break;
            }
            let end = i + n;
            // 新村 (a new estate) is not a village.
            let new_village = n == 1 && t[i - 1] == '新';
            if road_suffix(&t[end..]) == 0 && !new_village {
                return Some(end);
            }
        }
    }
    None
}

/// A town the division table lacks, at the very start (XX镇, XX乡, XX街道).
fn loose_town(t: &[char]) -> Option<usize> {
    for i in 2..t.len().min(7) {
        match (t[i], t.get(i + 1)) {
            ('街', Some('道')) => return Some(i + 2),
            ('镇' | '乡', _) => return Some(i + 1),
            _ => {}
        }
    }
    None
}

/// Strings to fill before new ones are allocated: those of the caller's previous result
/// (see [`super::parse_reusing`]) and a number's text once it is split; each is cleared when
/// taken.
pub(crate) type Spare = Vec<String>;

/// A string from `spare` (or a new one) holding `text`.
fn string(spare: &mut Spare, text: &str) -> String {
    let mut out = spare.pop().unwrap_or_default();
    out.clear();
    out.push_str(text);
    out
}

fn s(spare: &mut Spare, cs: &[char]) -> String {
    let mut out = spare.pop().unwrap_or_default();
    out.clear();
    // Room for three bytes a character (the CJK block), so one pass and no growth.
    out.reserve(cs.len() * 3);
    for &c in cs {
        out.push(c);
    }
    out
}

/// `text` followed by `marker` (one allocation, no formatting machinery).
fn cat(mut text: String, marker: &str) -> String {
    text.push_str(marker);
    text
}

/// Parses the part of an address after its divisions. `want_town` asks for a town the table
/// does not know at the start.
#[cfg(test)]
pub(crate) fn parse_detail(rest: &[char], want_town: bool) -> Detail {
    parse_detail_with(rest, want_town, &mut Vec::new(), &mut Vec::new())
}

/// [`parse_detail`] with a token buffer reused from one address to the next, and strings
/// taken from `sp` before new ones are allocated.
pub(crate) fn parse_detail_with(
    rest: &[char],
    want_town: bool,
    toks: &mut Vec<Tok>,
    sp: &mut Spare,
) -> Detail {
    let converted;
    let chars: &[char] = if rest.iter().any(|&c| super::clean::is_numeral(c)) {
        converted = arabic_numerals(rest);
        &converted
    } else {
        rest
    };
    let mut d = Detail::default();
    // The text before the road, made a `String` only if it ends up the POI.
    let mut pre_road: Option<&[char]> = None;
    tokens(chars, toks);
    let mut first = true;
    for &tok in toks.iter() {
        match tok {
            Tok::Text(a, b) => {
                let mut t: &[char] = &chars[a..b];
                if first
                    && want_town
                    && let Some(e) = loose_town(t)
                {
                    d.town = Some(s(sp, &t[..e]));
                    t = &t[e..];
                }
                text_run(&mut d, &mut pre_road, t, sp);
            }
            Tok::Num {
                start,
                end,
                marker,
                says,
            } => number(&mut d, &chars[start..end], marker, says, sp),
        }
        first = false;
    }
    if d.poi.is_none() {
        d.poi = pre_road.map(|t| s(sp, t));
    }
    d
}

fn text_run<'a>(
    d: &mut Detail,
    pre_road: &mut Option<&'a [char]>,
    mut t: &'a [char],
    sp: &mut Spare,
) {
    while let Some((&c, rest)) = t.split_first() {
        if t.len() == 1 && matches!(c, '与' | '和' | '第' | '负' | '地' | '下') {
            return;
        }
        if c == '第' {
            t = rest;
            continue;
        }
        break;
    }
    if t.is_empty() {
        return;
    }
    if d.road.is_none() {
        if d.village.is_none()
            && d.poi.is_none()
            && let Some(e) = village_end(t)
            && road_end(&t[..e]).is_none()
        {
            d.village = Some(s(sp, &t[..e]));
            t = &t[e..];
        }
        if let Some(e) = road_end(t) {
            let st = road_start(t, e);
            if st > 0 && pre_road.is_none() {
                *pre_road = Some(&t[..st]);
            }
            d.road = Some(s(sp, &t[st..e]));
            t = &t[e..];
        }
    }
    if t.is_empty() {
        return;
    }
    // No road yet means the block above found none in `t` (it sets the road when it does).
    if d.road.is_none() && d.poi.is_none() && pre_road.is_none() {
        // Text before any road: a place name (the POI unless a road follows).
        d.poi = Some(s(sp, t));
        return;
    }
    if d.poi.is_none() {
        d.poi = Some(s(sp, t));
    } else if d.building.is_none()
        && t.len() <= 3
        && matches!(t.last(), Some('楼' | '座' | '栋' | '幢' | '馆'))
    {
        d.building = Some(s(sp, t));
    } else if t.len() >= 2
        && !matches!(t, ['商', '铺'] | ['铺'] | ['门'] | ['门', '面'] | ['号'])
        && let Some(p) = d.poi.as_mut()
        && p.chars().count() + t.len() <= 40
    {
        p.extend(t.iter());
    }
}

/// A number token (`num`, its marker and what the marker says). Its text is made into a
/// `String` only where it is kept.
fn number(d: &mut Detail, num: &[char], marker: &'static str, says: Says, sp: &mut Spare) {
    match says {
        Says::Building => set(&mut d.building, || cat(s(sp, num), marker)),
        Says::Unit => set(&mut d.unit, || s(sp, num)),
        Says::Floor => set(&mut d.floor, || s(sp, num)),
        Says::FloorOrBuilding => {
            if num.iter().all(|c| c.is_ascii_alphabetic()) {
                set(&mut d.building, || cat(s(sp, num), "楼"));
            } else {
                set(&mut d.floor, || s(sp, num));
            }
        }
        Says::Room => set(&mut d.room, || s(sp, num)),
        Says::Number => {
            if d.road_no.is_none()
                && (d.road.is_some() || (d.poi.is_none() && d.building.is_none()))
            {
                d.road_no = Some(cat(s(sp, num), marker));
            } else if d.building.is_none() && d.unit.is_none() && d.room.is_none() {
                d.building = Some(cat(s(sp, num), marker));
            } else {
                set(&mut d.room, || s(sp, num));
            }
        }
        Says::Bare => {
            let text = s(sp, num);
            bare_number(d, &text, sp);
            sp.push(text);
        }
    }
}

/// Fills `slot` with `v()` if it is empty.
fn set(slot: &mut Option<String>, v: impl FnOnce() -> String) {
    if slot.is_none() {
        *slot = Some(v());
    }
}

fn bare_number(d: &mut Detail, text: &str, sp: &mut Spare) {
    // The parts between `-` and `/`: only the first three, the last and how many are read
    // below, so they are not collected.
    let (mut first, mut last, mut n) = ([""; 3], "", 0);
    for p in text.split(['-', '/']).filter(|p| !p.is_empty()) {
        if let Some(f) = first.get_mut(n) {
            *f = p;
        }
        last = p;
        n += 1;
    }
    if n == 0 {
        return;
    }
    // Parts taken as the road number.
    let mut skip = 0;
    if d.road.is_some() && d.road_no.is_none() && d.poi.is_none() && d.building.is_none() {
        if n == 1 || text.contains('/') {
            d.road_no = Some(string(sp, text));
            return;
        }
        d.road_no = Some(string(sp, first[0]));
        skip = 1;
    }
    // The rest: one part is a room, two building and room, more building, unit and room
    // (the last).
    match n - skip {
        0 => {}
        1 => set(&mut d.room, || string(sp, last)),
        2 => {
            if d.building.is_none() {
                d.building = Some(string(sp, first[skip]));
            }
            set(&mut d.room, || string(sp, last));
        }
        _ => {
            if d.building.is_none() {
                d.building = Some(string(sp, first[skip]));
            }
            set(&mut d.unit, || string(sp, first[skip + 1]));
            set(&mut d.room, || string(sp, last));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::clean::starts_with;
    use super::*;

    fn p(s: &str) -> Detail {
        parse_detail(&s.chars().collect::<Vec<_>>(), false)
    }

    #[test]
    fn sections_by_first_characters_as_by_the_list() {
        let pieces = ["东", "西", "南", "北", "中", "段", "延", "伸", "路", ""];
        for a in pieces {
            for b in pieces {
                for c in pieces {
                    let after: Vec<char> = format!("{a}{b}{c}").chars().collect();
                    let listed = SECTIONS
                        .iter()
                        .find(|x| starts_with(&after, x))
                        .map_or(0, |x| x.chars().count());
                    assert_eq!(section_len(&after), listed, "{a}{b}{c}");
                }
            }
        }
    }

    #[test]
    fn village_suffixes_and_boundaries_by_characters_as_by_the_lists() {
        let pieces = [
            "村", "委", "会", "民", "员", "居", "社", "区", "嘎", "查", "路", "",
        ];
        for a in pieces {
            for b in pieces {
                for c in pieces {
                    for e in ["", "会", "员会", "委员会"] {
                        let t: Vec<char> = format!("{a}{b}{c}{e}").chars().collect();
                        let mut listed = [0; 3];
                        let found = VILLAGE_SUFFIXES.iter().filter(|v| starts_with(&t, v));
                        for (k, v) in found.enumerate() {
                            listed[k] = v.chars().count();
                        }
                        assert_eq!(village_suffixes_at(&t), listed, "{a}{b}{c}{e}");
                    }
                }
            }
        }
        for c in pieces.iter().flat_map(|p| p.chars()).chain(BOUNDARY) {
            assert_eq!(is_boundary(c), BOUNDARY.contains(&c), "{c}");
        }
    }

    #[test]
    fn suffixes_begin_with_the_characters_of_their_sets() {
        let seconds: Vec<char> = "道办街路同段\0".chars().collect();
        let village_tails = ["", "委会", "民委员会", "区", "查"];
        for c in (0..=0x10FFFF).filter_map(char::from_u32) {
            for &n in &seconds {
                if road_suffix(&[c, n]) > 0 {
                    assert!(in_cjk_set(&ROAD_FIRST, c), "{c}{n}");
                }
            }
            for tail in village_tails {
                let t: Vec<char> = std::iter::once(c).chain(tail.chars()).collect();
                if village_suffixes_at(&t) != [0; 3] {
                    assert!(in_cjk_set(&VILLAGE_FIRST, c), "{c}{tail}");
                }
            }
        }
    }

    #[test]
    fn markers_by_first_characters_as_by_the_list() {
        let pieces = [
            "号", "楼", "院", "馆", "房", "铺", "单", "元", "栋", "幢", "座", "层", "室", "弄",
            "户", "F", "A", "路", "",
        ];
        for a in pieces {
            for b in pieces {
                let rest: Vec<char> = format!("{a}{b}").chars().collect();
                let listed = MARKERS
                    .iter()
                    .find(|m| starts_with(&rest, m))
                    .copied()
                    .unwrap_or("");
                // What each marker says, as the match on the marker's text had it.
                let says = match listed {
                    "号楼" | "栋" | "幢" | "座" | "号馆" => Says::Building,
                    "单元" => Says::Unit,
                    "层" | "F" => Says::Floor,
                    "楼" => Says::FloorOrBuilding,
                    "室" | "房" | "号房" | "铺" | "号铺" | "户" => Says::Room,
                    "号" | "弄" | "号院" => Says::Number,
                    _ => Says::Bare,
                };
                assert_eq!(
                    marker_at(&rest),
                    (listed, listed.chars().count(), says),
                    "{a}{b}"
                );
            }
        }
    }

    #[test]
    fn road_number_building_floor() {
        let d = p("泉城路180号齐鲁国际大厦10楼");
        assert_eq!(d.road.as_deref(), Some("泉城路"));
        assert_eq!(d.road_no.as_deref(), Some("180号"));
        assert_eq!(d.poi.as_deref(), Some("齐鲁国际大厦"));
        assert_eq!(d.floor.as_deref(), Some("10"));
    }

    #[test]
    fn chinese_numerals_and_units() {
        let d = p("文化路一百零三号三号楼三单元十二楼一二零三室");
        assert_eq!(d.road.as_deref(), Some("文化路"));
        assert_eq!(d.road_no.as_deref(), Some("103号"));
        assert_eq!(d.building.as_deref(), Some("3号楼"));
        assert_eq!(d.unit.as_deref(), Some("3"));
        assert_eq!(d.floor.as_deref(), Some("12"));
        assert_eq!(d.room.as_deref(), Some("1203"));
    }

    #[test]
    fn dashed_shorthand() {
        let d = p("缤纷北苑47-6-746");
        assert_eq!(d.poi.as_deref(), Some("缤纷北苑"));
        assert_eq!(d.building.as_deref(), Some("47"));
        assert_eq!(d.unit.as_deref(), Some("6"));
        assert_eq!(d.room.as_deref(), Some("746"));
        let d = p("将军路1326-11-6-434");
        assert_eq!(d.road_no.as_deref(), Some("1326"));
        assert_eq!(d.building.as_deref(), Some("11"));
        assert_eq!(d.room.as_deref(), Some("434"));
        let d = p("海滨中路568");
        assert_eq!(d.road.as_deref(), Some("海滨中路"));
        assert_eq!(d.road_no.as_deref(), Some("568"));
    }

    #[test]
    fn village_and_letters() {
        let d = p("花塘村西店陆186号");
        assert_eq!(d.village.as_deref(), Some("花塘村"));
        let d = p("北西环西路66号中国技术交易大厦B座1728");
        assert_eq!(d.road.as_deref(), Some("北西环西路"));
        assert_eq!(d.poi.as_deref(), Some("中国技术交易大厦"));
        assert_eq!(d.building.as_deref(), Some("B座"));
        assert_eq!(d.room.as_deref(), Some("1728"));
        let d = p("科技中三路国人通信大厦5F");
        assert_eq!(d.road.as_deref(), Some("科技中三路"));
        assert_eq!(d.floor.as_deref(), Some("5"));
    }

    #[test]
    fn loose_town_when_asked() {
        let d = parse_detail(&"花桥镇工业路8号".chars().collect::<Vec<_>>(), true);
        assert_eq!(d.town.as_deref(), Some("花桥镇"));
        assert_eq!(d.road.as_deref(), Some("工业路"));
    }
}
