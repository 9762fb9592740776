//! Free-text Chinese address → structured address.
//!
//! ```
//! let a = amr_address::parse("历下区泉城路180号齐鲁国际大厦10楼", None);
//! assert_eq!(a.province.as_deref(), Some("山东省"));
//! assert_eq!(a.city.as_deref(), Some("济南市"));
//! assert_eq!(a.county_code.as_deref(), Some("370102"));
//! assert_eq!(a.road.as_deref(), Some("泉城路"));
//! assert_eq!(a.floor.as_deref(), Some("10"));
//! ```
//!
//! Steps: [`clean`] (full-width, noise, brackets), the division names found by the index
//! ([`index`]: one character trie over every name and short form in the national table plus
//! former names, built at compile time), the chain of divisions ([`divisions`]), then the rest
//! ([`detail`]). Parsing never fails and never panics: what cannot be read stays `null`.
//!
//! Names and codes: `province`, `city`, `county`, `town` hold the official name of the
//! division the address names (a name the address leaves out is filled from the table:
//! 历下区 gives 济南市 and 山东省). A former name the address uses (江干区, 莱芜市, 襄樊市) is
//! kept, since it may say more than its successor; the `*_code` fields always hold the code in
//! force today (江干区 → 330102 上城区), `normalized` uses today's names, and `former` says what
//! became of each former name. For a municipality the city is the municipality itself
//! (北京市 / 北京市 / 朝阳区).

mod clean;
mod detail;
mod divisions;
mod index;
mod index_data;

use std::borrow::Cow;
use std::cell::RefCell;

use amr_kernel::codes::division::Level;
use serde::{Deserialize, Serialize};

use divisions::{Chain, LEVELS, level_slot};
use index::{Form, NONE};

/// Text that is usually a name or code from the embedded tables (no allocation) and
/// sometimes the address's own words.
pub type Text = Cow<'static, str>;

/// A parsed address. Absent parts are `None` (`null` in JSON).
///
/// Every string but `input` (and those in `ambiguities` and `former`) is made of the cleaned
/// address and the division table, so it holds no character that JSON escapes: no control
/// character, no `"` and no `\` (cleaning drops them; a property test checks it on arbitrary
/// text). `amr address parse` copies them into its JSON as they are.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ParsedAddress {
    /// The address as given.
    pub input: String,
    pub province: Option<Text>,
    /// The prefecture-level city (地级市, 自治州, 地区, 盟); the municipality for 北京/上海/
    /// 天津/重庆.
    pub city: Option<Text>,
    /// The county-level division (区, 县, 县级市, 旗).
    pub county: Option<Text>,
    /// The town-level division (镇, 乡, 街道).
    pub town: Option<Text>,
    /// 6-digit code in force (GB/T 2260).
    pub county_code: Option<Text>,
    /// 9-digit town code in force (NBS).
    pub town_code: Option<Text>,
    /// Village or residents' community (…村, …社区).
    pub village: Option<String>,
    pub road: Option<String>,
    /// The number on the road, with its marker (180号, 553弄).
    pub road_no: Option<String>,
    /// The named place: estate, building complex, institution (齐鲁国际大厦).
    pub poi: Option<String>,
    /// The building within it (3号楼, B座, 7栋).
    pub building: Option<String>,
    /// Unit number (单元), digits only.
    pub unit: Option<String>,
    /// Floor, digits only (negative below ground).
    pub floor: Option<String>,
    /// Room or shop number.
    pub room: Option<String>,
    /// The address rebuilt from its parts with today's division names and standard markers
    /// (103号, 3单元, 12层, 1203室).
    pub normalized: Option<String>,
    /// 0–1: how much of the address was understood and how surely (1 for a full, unambiguous
    /// chain of divisions with road and number).
    pub confidence: f32,
    /// 2-digit province code in force.
    pub province_code: Option<Text>,
    /// 4-digit prefecture code in force.
    pub city_code: Option<Text>,
    /// Division names that name more than one division here and how the choice was made.
    pub ambiguities: Vec<Ambiguity>,
    /// Former division names in the address and what became of them.
    pub former: Vec<FormerName>,
    /// Whether levels were filled from the jurisdiction hint.
    pub from_hint: bool,
}

/// A division name that fits more than one division.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ambiguity {
    /// `province`, `city`, `county` or `town`.
    pub level: String,
    pub name: String,
    /// The divisions the name fits (the chosen one first when one was chosen).
    pub candidates: Vec<Candidate>,
    /// The code chosen, `None` when nothing decided.
    pub chosen: Option<String>,
    /// `context` (a lower division named in the address decided), `hint` (the jurisdiction
    /// hint decided) or `unresolved`.
    pub basis: String,
}

/// One division an ambiguous name may mean.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    pub code: String,
    /// Composed name, e.g. 北京市朝阳区.
    pub name: String,
}

/// A former division name found in the address.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FormerName {
    pub name: String,
    pub level: String,
    /// Year of the change.
    pub year: u16,
    /// The division in force that holds the address (composed name) and its code.
    pub now: String,
    pub code: String,
    /// What changed (from the alias table).
    pub change: String,
}

/// At most this many candidates are listed for an ambiguity.
const MAX_CANDIDATES: usize = 12;
/// Longest input looked at, in bytes; the rest is ignored (an address is far shorter).
const MAX_INPUT: usize = 2048;

fn level_key(level: Level) -> &'static str {
    match level {
        Level::Province => "province",
        Level::Prefecture => "city",
        Level::County => "county",
        Level::Town => "town",
    }
}

/// Parses one address. `hint` is the jurisdiction the address is expected in (a division
/// code, 2–9 digits): it settles ambiguous names and fills levels the address leaves out. An
/// unknown or malformed hint is ignored (check it at the edge with
/// `amr_kernel::codes::division::Jurisdiction::parse`).
pub fn parse(input: &str, hint: Option<&str>) -> ParsedAddress {
    // Filled in place: the result (some 500 bytes) is not moved out of a closure.
    let mut out = ParsedAddress {
        input: input.to_owned(),
        ..ParsedAddress::default()
    };
    with_buffers(|b| parse_into(input, hint, b, &mut out));
    out
}

/// [`parse`] into `out`, which may hold the result of an earlier address: its strings are
/// reused for this one (cleared first) instead of allocated anew, so a caller that parses
/// many addresses in a row (`amr address parse`) allocates almost nothing. `out` ends up
/// exactly what [`parse`] returns for `input`.
pub fn parse_reusing(input: &str, hint: Option<&str>, out: &mut ParsedAddress) {
    with_buffers(|b| {
        start(input, b, out);
        parse_into(input, hint, b, out);
    });
}

/// Runs `f` with this thread's working memory (or fresh memory, if the thread's is in use
/// or gone).
fn with_buffers(f: impl FnOnce(&mut Buffers)) {
    thread_local! {
        static BUFFERS: RefCell<Buffers> = RefCell::new(Buffers::default());
    }
    let mut f = Some(f);
    let _ = BUFFERS.try_with(|b| {
        if let Ok(mut b) = b.try_borrow_mut()
            && let Some(f) = f.take()
        {
            f(&mut b);
        }
    });
    if let Some(f) = f {
        f(&mut Buffers::default());
    }
}

/// At most this many strings are kept for reuse (an address has about a dozen).
const MAX_SPARE: usize = 32;

/// Empties `out`, its strings into `b` (to be filled again), and sets its input. Every field
/// is named, so that a field added to [`ParsedAddress`] must be handled here.
fn start(input: &str, b: &mut Buffers, out: &mut ParsedAddress) {
    let ParsedAddress {
        input: old_input,
        province,
        city,
        county,
        town,
        county_code,
        town_code,
        village,
        road,
        road_no,
        poi,
        building,
        unit,
        floor,
        room,
        normalized,
        confidence,
        province_code,
        city_code,
        ambiguities,
        former,
        from_hint,
    } = out;
    let spare = &mut b.spare;
    for s in [village, road, road_no, poi, building, unit, floor, room] {
        if let Some(s) = s.take()
            && spare.len() < MAX_SPARE
        {
            spare.push(s);
        }
    }
    for t in [province, city, county, town] {
        if let Some(Cow::Owned(s)) = t.take()
            && spare.len() < MAX_SPARE
        {
            spare.push(s);
        }
    }
    // The normalized form is the longest part: its string is kept for the next one.
    if let Some(s) = normalized.take() {
        b.normalized = Some(s);
    }
    (*county_code, *town_code, *province_code, *city_code) = (None, None, None, None);
    (*confidence, *from_hint) = (0.0, false);
    ambiguities.clear();
    former.clear();
    old_input.clear();
    old_input.push_str(input);
}

/// Working memory reused from one address to the next (per thread).
#[derive(Default)]
struct Buffers {
    text: Vec<char>,
    cands: Vec<divisions::Cand>,
    scratch: divisions::Scratch,
    spans: Vec<u64>,
    rest: Vec<char>,
    toks: Vec<detail::Tok>,
    by_div: Vec<divisions::ByDiv>,
    /// Strings of an earlier result, to fill before allocating ([`parse_reusing`]).
    spare: detail::Spare,
    /// The normalized form's string of an earlier result.
    normalized: Option<String>,
}

/// Parses `input` into `out`, which holds the input and nothing else yet.
fn parse_into(input: &str, hint: Option<&str>, b: &mut Buffers, out: &mut ParsedAddress) {
    let idx = index::index();
    let mut cut = input.len().min(MAX_INPUT);
    while !input.is_char_boundary(cut) {
        cut -= 1;
    }
    clean::clean_into(&input[..cut], &mut b.text);
    let text = &b.text;
    let hint = hint
        .and_then(|h| idx.find_code(h.trim()))
        .map(|h| (h, idx.divs[h as usize].level));
    divisions::candidates(idx, text, hint, &mut b.scratch, &mut b.cands, &mut b.by_div);
    let cands = &b.cands;
    let chain = divisions::resolve(idx, cands, hint, &b.by_div);
    let today = fill_divisions(idx, text, &chain, out);

    let rest = remainder(text, cands, &chain, &mut b.spans, &mut b.rest);
    let want_town = out.town.is_none();
    let d = detail::parse_detail_with(rest, want_town, &mut b.toks, &mut b.spare);
    if want_town && d.town.is_some() {
        out.town = d.town.map(Cow::Owned);
    }
    out.village = d.village;
    out.road = d.road;
    out.road_no = d.road_no;
    out.poi = d.poi;
    out.building = d.building;
    out.unit = d.unit;
    out.floor = d.floor;
    out.room = d.room;
    out.normalized = normalized(idx, &today, out, &mut b.normalized);
    out.confidence = confidence(&chain, out);
}

/// Province, city, county, town (names and codes) from the chain; returns the division in
/// force at each level (for the normalized form).
fn fill_divisions(
    idx: &index::Index,
    text: &[char],
    chain: &Chain,
    out: &mut ParsedAddress,
) -> [Option<u32>; 4] {
    let mut today: [Option<u32>; 4] = [None; 4];
    let Some(deepest) = chain.deepest else {
        return today;
    };
    out.from_hint = chain.from_hint;
    // At and below an unresolved ambiguity, keep only what every candidate shares.
    let unresolved = chain.ambiguity.as_ref().filter(|a| a.basis == "unresolved");
    // The chain's deepest candidate carries its ancestors (a walk up the table reads them
    // one after another, each a likely cache miss); a deepest division from the hint has
    // none.
    let ancestors = match chain.named.iter().flatten().last() {
        Some(x) if x.div == deepest => x.ancestors(),
        _ => idx.ancestors(deepest),
    };
    for level in LEVELS {
        let slot = level_slot(level);
        let mut here = ancestors[slot];
        let mut name: Option<Text> = here.map(|a| Cow::Borrowed(display_name(idx, a)));
        if let Some(u) = unresolved {
            if level <= u.level {
                // Up to the ambiguous level: what every candidate shares.
                let at = |&(d, anc): &(u32, [u32; 3])| {
                    if level == u.level { d } else { anc[slot] }
                };
                let first = u.candidates.first().map(at);
                if !u.candidates.iter().all(|c| Some(at(c)) == first) {
                    here = None;
                    let first_name = first.and_then(|f| idx.names.get(f as usize));
                    let same_name = u
                        .candidates
                        .iter()
                        .all(|c| idx.names.get(at(c) as usize) == first_name);
                    name = if same_name && first.is_some_and(|f| f != NONE) {
                        first.map(|f| Cow::Borrowed(display_name(idx, f)))
                    } else if level == u.level {
                        // The candidates differ in name too: say what the address says.
                        chain.named[slot]
                            .and_then(|c| text.get(c.start as usize..c.end as usize))
                            .map(|cs| Cow::Owned(cs.iter().collect::<String>()))
                    } else {
                        None
                    };
                }
            } else {
                // Below it nothing is known but what the address names.
                here = None;
                name = chain.named[slot]
                    .and_then(|c| text.get(c.start as usize..c.end as usize))
                    .map(|cs| Cow::Owned(cs.iter().collect::<String>()));
            }
        }
        // A former name the address uses is kept.
        if let Some(c) = chain.named[slot]
            && matches!(c.form, Form::Former | Form::FormerShort)
            && let Some(row) = idx.former.get(c.former as usize)
            && row.level == level
        {
            name = Some(Cow::Borrowed(row.name));
        }
        today[slot] = here;
        let name = name.filter(|n| !n.is_empty());
        let code = here.map(|c| Cow::Borrowed(idx.code(c)));
        match level {
            Level::Province => (out.province, out.province_code) = (name, code),
            Level::Prefecture => (out.city, out.city_code) = (name, code),
            Level::County => (out.county, out.county_code) = (name, code),
            Level::Town => (out.town, out.town_code) = (name, code),
        }
    }
    for c in chain.named.iter().flatten() {
        if !matches!(c.form, Form::Former | Form::FormerShort) {
            continue;
        }
        let Some(row) = idx.former.get(c.former as usize) else {
            continue;
        };
        if out.former.iter().any(|f| f.name == row.name) {
            continue;
        }
        let slot = level_slot(row.level);
        let now = today[slot].unwrap_or(c.div);
        let code = idx.code(now);
        out.former.push(FormerName {
            name: row.name.to_owned(),
            level: level_key(row.level).to_owned(),
            year: row.year,
            now: full_name(idx, now),
            code: code.to_owned(),
            change: row.change.to_owned(),
        });
    }
    if let Some(a) = &chain.ambiguity {
        let name = chain.named[level_slot(a.level)]
            .map(|c| display_name(idx, c.div).to_owned())
            .unwrap_or_default();
        let chosen = (a.basis != "unresolved")
            .then(|| a.candidates.first())
            .flatten()
            .map(|&(c, _)| idx.code(c).to_owned());
        out.ambiguities.push(Ambiguity {
            level: level_key(a.level).to_owned(),
            name,
            candidates: a
                .candidates
                .iter()
                .take(MAX_CANDIDATES)
                .map(|(c, anc)| Candidate {
                    code: idx.code(*c).to_owned(),
                    name: full_name_known(idx, *c, anc),
                })
                .collect(),
            chosen,
            basis: a.basis.to_owned(),
        });
    }
    today
}

/// Composed name such as 山东省济南市历下区 (groupings and a repeated name left out).
fn full_name(idx: &index::Index, i: u32) -> String {
    let mut path = [NONE; 4];
    let mut n = 0;
    let mut k = i;
    while let Some(d) = idx.divs.get(k as usize) {
        if n < path.len() {
            path[n] = k;
            n += 1;
        }
        k = d.parent;
    }
    path[..n].reverse();
    compose(idx, &path[..n])
}

/// [`full_name`] of a division whose province, prefecture and county are known (a
/// candidate's `anc`, which a test checks against the walk): the table is read at each level
/// at once, not one level after another.
fn full_name_known(idx: &index::Index, i: u32, anc: &[u32; 3]) -> String {
    let mut path = [NONE; 4];
    let mut n = 0;
    for &a in anc.iter().filter(|&&a| a != NONE && a != i) {
        path[n] = a;
        n += 1;
    }
    path[n] = i;
    compose(idx, &path[..=n])
}

/// The names of `path` (divisions from the top down) run together, groupings and a repeated
/// name left out.
fn compose(idx: &index::Index, path: &[u32]) -> String {
    // The parts first, then one allocation of their length.
    let mut parts = [""; 4];
    let mut np = 0;
    let mut prev = "";
    for &k in path {
        if idx.divs.get(k as usize).is_none_or(|d| d.grouping) {
            continue;
        }
        let name = idx.name(k);
        if name == prev {
            continue;
        }
        parts[np] = name;
        np += 1;
        prev = name;
    }
    let parts = &parts[..np];
    let mut out = String::with_capacity(parts.iter().map(|p| p.len()).sum());
    for p in parts {
        out.push_str(p);
    }
    out
}

/// The name shown for a division: a municipality's grouping (市辖区, 县) shows the
/// municipality; the province-administered groupings show nothing.
fn display_name(idx: &index::Index, i: u32) -> &'static str {
    let d = &idx.divs[i as usize];
    if !d.grouping {
        return idx.name(i);
    }
    match idx.name(d.parent) {
        p if p.ends_with('市') => p,
        _ => "",
    }
}

/// The cleaned text without the division names the chain used (and repeats of them): a
/// slice of `text` when that is one piece of it, else copied into `out`.
fn remainder<'a>(
    text: &'a [char],
    cands: &[divisions::Cand],
    chain: &Chain,
    spans: &mut Vec<u64>,
    out: &'a mut Vec<char>,
) -> &'a [char] {
    // A span as one number, start in the high half (sorted by start, then end).
    let span = |c: &divisions::Cand| (u64::from(c.start) << 32) | u64::from(c.end);
    spans.clear();
    out.clear();
    spans.extend(chain.named.iter().flatten().map(span));
    let last_end = chain
        .named
        .iter()
        .flatten()
        .map(|c| c.end as usize)
        .max()
        .unwrap_or(0);
    if let Some(deepest) = chain.named.iter().flatten().last() {
        for c in cands {
            // A repeat of a division in the chain (浙江省杭州市余杭区杭州市余杭区...).
            if c.end as usize <= last_end + 8
                && c.form != Form::Generic
                && deepest.within(c.div, c.level)
            {
                spans.push(span(c));
            }
        }
    }
    spans.sort_unstable();
    // A single piece (most addresses: the divisions come first) is not copied.
    let mut one: Option<&[char]> = None;
    let mut many = false;
    let mut keep = |piece: &'a [char], out: &mut Vec<char>| {
        if piece.is_empty() {
            return;
        }
        if many {
            out.extend_from_slice(piece);
        } else if let Some(first) = one {
            out.extend_from_slice(first);
            out.extend_from_slice(piece);
            many = true;
        } else {
            one = Some(piece);
        }
    };
    let mut pos = 0;
    for &p in spans.iter() {
        let (s, e) = ((p >> 32) as usize, (p & 0xFFFF_FFFF) as usize);
        if s > pos
            && let Some(piece) = text.get(pos..s)
        {
            keep(piece, out);
        }
        pos = pos.max(e);
    }
    if let Some(piece) = text.get(pos..) {
        keep(piece, out);
    }
    if many { out } else { one.unwrap_or(&[]) }
}

fn normalized(
    idx: &index::Index,
    today: &[Option<u32>; 4],
    a: &ParsedAddress,
    spare: &mut Option<String>,
) -> Option<String> {
    let mut s = spare.take().unwrap_or_default();
    s.clear();
    s.reserve(96);
    // Today's names for the divisions (a former name in the fields is replaced here); a level
    // without a code shows what the fields say.
    let shown = [&a.province, &a.city, &a.county, &a.town];
    let mut prev: Option<&str> = None;
    for (slot, field) in shown.iter().enumerate() {
        let part = match today[slot] {
            Some(i) => Some(display_name(idx, i)).filter(|n| !n.is_empty()),
            None => field.as_deref(),
        };
        if let Some(part) = part {
            if prev != Some(part) {
                s.push_str(part);
            }
            prev = Some(part);
        }
    }
    let digits_end = |v: &str| v.chars().last().is_some_and(|c| c.is_ascii_alphanumeric());
    for v in [&a.village, &a.road].into_iter().flatten() {
        s.push_str(v);
    }
    if let Some(n) = &a.road_no {
        s.push_str(n);
        if digits_end(n) {
            s.push('号');
        }
    }
    if let Some(p) = &a.poi {
        s.push_str(p);
    }
    if let Some(b) = &a.building {
        s.push_str(b);
        if b.bytes().all(|c| c.is_ascii_digit()) {
            s.push_str("号楼");
        }
    }
    if let Some(u) = &a.unit {
        s.push_str(u);
        s.push_str("单元");
    }
    if let Some(f) = &a.floor {
        s.push_str(f);
        s.push('层');
    }
    if let Some(r) = &a.room {
        s.push_str(r);
        if digits_end(r) {
            s.push('室');
        }
    }
    if s.is_empty() {
        *spare = Some(s);
        return None;
    }
    Some(s)
}

fn confidence(chain: &Chain, a: &ParsedAddress) -> f32 {
    let named = |l: Level| chain.named[level_slot(l)];
    let strength = |c: Option<divisions::Cand>| match c {
        Some(c) if matches!(c.form, Form::Full | Form::Former) || c.suffixed => 1.0,
        Some(_) => 0.85,
        None => 0.0,
    };
    let mut div: f32 = if a.county_code.is_some() {
        match named(Level::County) {
            Some(c) => strength(Some(c)),
            // Inferred from a town, or given by the hint.
            None if named(Level::Town).is_some() => 0.8,
            None => 0.5,
        }
    } else if a.county.is_some() {
        0.6
    } else if a.city.is_some() {
        0.45
    } else if a.province.is_some() {
        0.3
    } else {
        0.0
    };
    if chain.from_hint && named(Level::County).is_none() {
        div = div.min(0.5);
    }
    if chain.against_hint {
        div *= 0.8;
    }
    let detail: f32 = match (
        a.road.is_some() || a.village.is_some() || a.poi.is_some(),
        a.road_no.is_some() || a.building.is_some() || a.room.is_some(),
    ) {
        (true, true) => 1.0,
        (true, false) | (false, true) => 0.6,
        (false, false) => 0.0,
    };
    let c = 0.7 * div + 0.3 * detail;
    (c * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests;
