//! The name index's tables and how they are made: [`Index::build`] from the division table
//! (code and name of every division, in code order) and the former-name rows, and
//! [`Index::rust_source`], the index as a Rust expression of static arrays.
//!
//! `build.rs` builds the index and writes that expression at compile time; the library
//! includes it as a `static` (nothing is built or decoded at run time), and its tests build
//! the index again from the kernel's division table and compare. This file is therefore
//! compiled in two crates, the library and its build script, each using part of it (hence
//! `dead_code` allowed); both provide `super::Level` (the kernel's division level in the
//! library, a copy of it in the build script).
#![allow(dead_code)]

use std::borrow::Cow;

use super::Level;

/// No parent (a province) / no former-name row.
pub(crate) const NONE: u32 = u32::MAX;

/// One division of the table: its code is in [`Index::text`] (read it with [`Index::code`]),
/// its name in [`Index::names`] (read it with [`Index::name`]).
///
/// Twelve bytes and no pointer: the table of some 45,000 divisions is half a megabyte, small
/// enough for the processor's second-level cache, and nothing in it for the loader to relocate
/// when the program starts. With a code and a name as `&'static str` a division, it was
/// 1.8 MB and 89,000 of the binary's relocations; the names alone (an array of their own, read
/// only for the parts of a result) are 45,000.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Div {
    /// Where the code begins in [`Index::text`].
    pub at: u32,
    /// Index of the parent in [`Index::divs`], [`NONE`] for a province.
    pub parent: u32,
    /// The code's length in bytes (2, 4, 6 or 9).
    pub code_len: u8,
    pub level: Level,
    /// A prefecture-level statistical grouping (市辖区, 县, 省直辖县级行政区划).
    pub grouping: bool,
}

/// How a pattern names its division.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Form {
    /// The official name (山东省, 历下区, 泉城路街道).
    Full,
    /// The name without its administrative suffix (山东, 历下); a town's short form counts
    /// only right after the division above it or before a town suffix.
    Short,
    /// A name shared by many divisions that only counts under a named ancestor (高新区,
    /// 经济开发区, 城区).
    Generic,
    /// A former official name (江干区, 莱芜市); [`Target::former`] says which.
    Former,
    /// A former name without its suffix (江东 for 江东区).
    FormerShort,
}

/// One division a pattern may name.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Target {
    pub div: u32,
    pub level: Level,
    pub form: Form,
    /// Row in [`Index::former`] for [`Form::Former`] and [`Form::FormerShort`], else
    /// [`NONE`].
    pub former: u32,
    /// For a former name, whether this is its main successor.
    pub main: bool,
    /// The province, prefecture and county above (or at) the division, [`NONE`] where there
    /// is none: kept here so that choosing a chain reads no other memory.
    pub anc: [u32; 3],
    /// For a short form that is the start of the full name: the first character and the
    /// length of the rest (浙江 of 浙江省: `('省', 1)`). A short form followed by exactly that
    /// is the full name, which has its own match.
    pub own_suffix: (char, u8),
}

/// A row of `data/former_divisions.csv`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FormerRow {
    pub name: &'static str,
    pub level: Level,
    /// Indices (in [`Index::divs`]) of the divisions in force that cover the area; the first
    /// is the main successor.
    pub successors: &'static [u32],
    pub year: u16,
    pub change: &'static str,
}

#[derive(PartialEq)]
pub(crate) struct Index {
    /// The code of every division, one after the other, in code order (see [`Div`]).
    pub text: &'static str,
    pub divs: &'static [Div],
    /// The name of every division, as [`Index::divs`].
    pub names: &'static [&'static str],
    pub targets: &'static [Target],
    /// Where the targets of each pattern lie in [`Index::targets`].
    pub pats: &'static [PatTargets],
    /// One past the last descendant of each division (descendants follow a division in code
    /// order, so they are `i + 1..subtree_end[i]`).
    pub subtree_end: &'static [u32],
    pub trie: Trie,
    pub former: &'static [FormerRow],
}

/// The targets of one pattern: `targets[start..towns_full]` above town level (by division),
/// then towns named in full (`..towns_short`, by division), then towns by their short form
/// (`..end`, by division). Towns by division means towns of one county, prefecture or
/// province are a contiguous run, found by binary search.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct PatTargets {
    pub start: u32,
    pub towns_full: u32,
    pub towns_short: u32,
    pub end: u32,
    /// Some target names its division in full (a full or former name).
    pub has_full: bool,
}

impl PatTargets {
    /// Only towns by their short form: such a match counts only at the start, right after
    /// another name, or before a town suffix.
    pub fn town_short_only(&self) -> bool {
        self.start == self.towns_short
    }

    /// Some target is a division above town level (they come first: `start..towns_full`).
    pub fn has_upper(&self) -> bool {
        self.towns_full > self.start
    }
}

/// Pattern flag: only towns by their short form (see [`PatTargets::town_short_only`]).
pub(crate) const PAT_TOWN_SHORT_ONLY: u8 = 1;
/// Pattern flag: some target is a full or former name (see [`PatTargets::has_full`]).
pub(crate) const PAT_HAS_FULL: u8 = 2;

/// A character trie in flat arrays, nodes numbered breadth-first (those on names of divisions
/// above town level first, then the rest). Every name has at least two characters, so the
/// first two levels are one open-addressing hash table keyed by the first two characters
/// (the node there and its pattern inline): one probe tells whether a name
/// begins at a position of the address, which for most positions it does not.
#[derive(PartialEq)]
pub(crate) struct Trie {
    /// Slots of the bigram table for two characters of the CJK block: `(key, node at depth
    /// 2)`, key [`EMPTY`] for an empty slot. 8 bytes a slot, so the table stays in cache.
    pub(crate) bigrams: &'static [(u32, u32)],
    pub(crate) bigram_mask: usize,
    /// One bit per hashed bigram key (a one-hash Bloom filter, 8 bits or more per bigram,
    /// small enough for the first-level cache): a clear bit means no name begins with the
    /// pair, without touching the larger table.
    pub(crate) bigram_bits: &'static [u64],
    pub(crate) bigram_bits_mask: usize,
    /// Pairs with a character outside the block (rare in names): `(a, b) → node`.
    /// Sorted by pair, searched by bisection.
    pub(crate) other_pairs: &'static [((char, char), u32)],
    /// The least first and the least second character of [`Trie::other_pairs`]
    /// (`char::MAX` when there are none): a pair below either is not there, without a search
    /// (the pairs of digits and letters in an address).
    pub(crate) other_min: (char, char),
    /// The nodes in one array, each at its offset: its pattern ([`NONE`] if none), its pattern's
    /// flags (top 8 bits) and number of children (low 24 bits), for a pattern the four bounds
    /// of its [`PatTargets`], then its children as `(character, offset)` pairs sorted by
    /// character. A step down the trie reads one place in memory, not a node table and an
    /// edge table, and a match brings where its targets lie.
    pub(crate) data: &'static [u32],
}

/// Low bits of a node's second word: the number of children.
pub(crate) const EDGE_COUNT_MASK: u32 = 0x00FF_FFFF;

pub(crate) const EMPTY: u32 = u32::MAX;
pub(crate) const CJK_FIRST: u32 = 0x4E00;
pub(crate) const CJK_LEN: u32 = 0x9FFF - CJK_FIRST + 1;

/// The key of two characters of the CJK block (below [`EMPTY`]), `None` for others.
// Run for every pair of an address: a character below the block wraps to a large offset, so
// one comparison a character rules out both sides of the block (no `Option` a character).
#[inline]
pub(crate) fn bigram_key(a: char, b: char) -> Option<u32> {
    let a = (a as u32).wrapping_sub(CJK_FIRST);
    let b = (b as u32).wrapping_sub(CJK_FIRST);
    if a < CJK_LEN && b < CJK_LEN {
        Some(a * CJK_LEN + b)
    } else {
        None
    }
}

pub(crate) fn bigram_slot(key: u32, mask: usize) -> usize {
    ((key as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40) as usize & mask
}

/// The filter bit of a bigram key (a hash independent of [`bigram_slot`]'s).
pub(crate) fn bigram_bit(key: u32, mask: usize) -> usize {
    ((key as u64).wrapping_mul(0xC2B2_AE3D_27D4_EB4F) >> 32) as usize & mask
}

impl Trie {
    /// `flags[p]` and `pats[p]` are pattern `p`'s flags and targets, handed to the search
    /// with each match. `patterns` are sorted (by character), so a pattern shares its prefix
    /// with the one before it and a node's children arrive in order: the child to follow, if
    /// there is one, is the last added (the root has thousands of children, and searching
    /// them for each of a hundred thousand names was most of the start-up time).
    fn build(patterns: &[Vec<char>], flags: &[u8], pats: &[PatTargets]) -> Trie {
        // Per-node child lists first, then flattened breadth-first (see `hot` below).
        let mut children: Vec<Vec<(char, u32)>> = vec![Vec::new()];
        let mut terminal = vec![NONE];
        // Nodes on the path of a name of a division above town level: the names most
        // addresses hold, laid out first (below).
        let mut hot = vec![true];
        for (p, pat) in patterns.iter().enumerate() {
            if pat.len() < 2 {
                continue;
            }
            let upper = pats.get(p).is_some_and(PatTargets::has_upper);
            let mut node = 0usize;
            for &c in pat {
                let list = &children[node];
                let found = match list.last() {
                    Some(&(x, n)) if x == c => Some(n),
                    // Only for unsorted input: still the right trie, only slower.
                    Some(&(x, _)) if x > c => list.iter().find(|e| e.0 == c).map(|e| e.1),
                    _ => None,
                };
                let next = match found {
                    Some(n) => n as usize,
                    None => {
                        let n = children.len();
                        children.push(Vec::new());
                        terminal.push(NONE);
                        hot.push(false);
                        children[node].push((c, n as u32));
                        n
                    }
                };
                node = next;
                hot[node] |= upper;
            }
            terminal[node] = p as u32;
        }
        let mut order = Vec::with_capacity(children.len());
        order.push(0u32);
        let mut k = 0;
        while k < order.len() {
            let n = order[k] as usize;
            children[n].sort_unstable();
            order.extend(children[n].iter().map(|&(_, c)| c));
            k += 1;
        }
        // The nodes of names above town level first (a few thousand names, whose nodes then
        // share cache lines and stay in the nearer caches), then the town names; breadth-first
        // within each.
        order.sort_by_key(|&n| !hot[n as usize]);
        // Offsets in that order, then the nodes written there.
        let mut new_id = vec![NONE; children.len()];
        let mut len = 0usize;
        for &old in &order {
            new_id[old as usize] = len as u32;
            let extra = if terminal[old as usize] == NONE { 0 } else { 4 };
            len += 2 + extra + 2 * children[old as usize].len();
        }
        let mut data = Vec::with_capacity(len);
        for &old in &order {
            let list = &children[old as usize];
            let t = terminal[old as usize];
            let f = flags.get(t as usize).copied().unwrap_or(0);
            data.push(t);
            data.push((list.len() as u32 & EDGE_COUNT_MASK) | (u32::from(f) << 24));
            if t != NONE {
                let m = pats.get(t as usize);
                data.extend(m.map_or([0; 4], |m| [m.start, m.towns_full, m.towns_short, m.end]));
            }
            for &(c, n) in list {
                data.push(c as u32);
                data.push(new_id[n as usize]);
            }
        }
        // The first two levels as a hash table.
        let mut pairs = Vec::new();
        let mut other_pairs = Vec::new();
        for &(a, n1) in &children[0] {
            for &(b, n2) in &children[n1 as usize] {
                let n2 = new_id[n2 as usize];
                match bigram_key(a, b) {
                    Some(key) => pairs.push((key, n2)),
                    None => {
                        other_pairs.push(((a, b), n2));
                    }
                }
            }
        }
        other_pairs.sort_unstable();
        let cap = (pairs.len() * 2).next_power_of_two().max(16);
        let mask = cap - 1;
        let bits = (pairs.len() * 8).next_power_of_two().max(64);
        let bits_mask = bits - 1;
        let mut bigram_bits = vec![0u64; bits / 64];
        for &(key, _) in &pairs {
            let b = bigram_bit(key, bits_mask);
            bigram_bits[b / 64] |= 1 << (b % 64);
        }
        let mut bigrams = vec![(EMPTY, NONE); cap];
        for (key, n) in pairs {
            let mut slot = bigram_slot(key, mask);
            while bigrams[slot].0 != EMPTY {
                slot = (slot + 1) & mask;
            }
            bigrams[slot] = (key, n);
        }
        // Built once, at compile time (or in a test): the arrays live as long as the program.
        Trie {
            bigrams: bigrams.leak(),
            bigram_mask: mask,
            bigram_bits: bigram_bits.leak(),
            bigram_bits_mask: bits_mask,
            other_min: (
                other_pairs.iter().map(|p| p.0.0).min().unwrap_or(char::MAX),
                other_pairs.iter().map(|p| p.0.1).min().unwrap_or(char::MAX),
            ),
            other_pairs: other_pairs.leak(),
            data: data.leak(),
        }
    }
}

/// The 56 ethnic groups as they appear in names of autonomous divisions, longest first.
const ETHNIC: [&str; 55] = [
    "柯尔克孜族",
    "维吾尔族",
    "乌孜别克族",
    "俄罗斯族",
    "达斡尔族",
    "哈萨克族",
    "鄂伦春族",
    "塔吉克族",
    "塔塔尔族",
    "鄂温克族",
    "蒙古族",
    "布依族",
    "朝鲜族",
    "土家族",
    "哈尼族",
    "傈僳族",
    "拉祜族",
    "东乡族",
    "纳西族",
    "景颇族",
    "仫佬族",
    "布朗族",
    "撒拉族",
    "毛南族",
    "仡佬族",
    "锡伯族",
    "阿昌族",
    "普米族",
    "德昂族",
    "保安族",
    "裕固族",
    "独龙族",
    "赫哲族",
    "门巴族",
    "珞巴族",
    "基诺族",
    "回族",
    "藏族",
    "苗族",
    "彝族",
    "壮族",
    "满族",
    "侗族",
    "瑶族",
    "白族",
    "傣族",
    "黎族",
    "佤族",
    "畲族",
    "水族",
    "土族",
    "羌族",
    "怒族",
    "京族",
    "高山族",
];

/// Strips trailing ethnic-group names (红河哈尼族彝族 → 红河).
fn strip_ethnic(mut s: &str) -> &str {
    'outer: loop {
        for e in ETHNIC {
            if let Some(rest) = s.strip_suffix(e)
                && rest.chars().count() >= 2
            {
                s = rest;
                continue 'outer;
            }
        }
        return s;
    }
}

/// Characters after which a short form is a road or a place named after the division
/// (山东路, 杭州湾), not the division: checked by [`super::divisions`].
pub(crate) const ROAD_END: [char; 5] = ['路', '街', '道', '巷', '弄'];

/// Short and informal forms of a division's name, with the form each counts as.
pub(crate) fn variants(name: &str, level: Level, out: &mut Vec<(String, Form)>) {
    let n = name.chars().count();
    let short = |s: &str, out: &mut Vec<(String, Form)>| {
        if s.chars().count() >= 2 && s != name {
            out.push((s.to_owned(), Form::Short));
        }
    };
    match level {
        Level::Province => {
            for suf in ["特别行政区", "自治区", "省", "市"] {
                if let Some(rest) = name.strip_suffix(suf) {
                    short(strip_ethnic(rest), out);
                    break;
                }
            }
        }
        Level::Prefecture | Level::County => {
            if let Some(rest) = name
                .strip_suffix("自治州")
                .or_else(|| name.strip_suffix("自治县"))
                .or_else(|| name.strip_suffix("自治旗"))
            {
                let base = strip_ethnic(rest);
                short(base, out);
                // 文山州, 酉阳县, 莫旗-style informal names.
                let tail = if name.ends_with("州") {
                    "州"
                } else if name.ends_with("县") {
                    "县"
                } else {
                    "旗"
                };
                out.push((format!("{base}{tail}"), Form::Full));
                out.push((rest.to_owned(), Form::Short));
            } else if is_zone(name) {
                zone_variants(name, out);
            } else if n == 2 && matches!(name, "城区" | "郊区" | "矿区") {
                out.push((name.to_owned(), Form::Generic));
            } else {
                for suf in ["地区", "新区", "林区", "市", "区", "县", "盟", "旗"] {
                    if let Some(rest) = name.strip_suffix(suf) {
                        short(rest, out);
                        break;
                    }
                }
            }
        }
        Level::Town => {
            for suf in ["街道", "镇", "乡"] {
                if let Some(rest) = name.strip_suffix(suf) {
                    let last = rest.chars().last().unwrap_or(' ');
                    if !ROAD_END.contains(&last) && last != '村' {
                        short(rest, out);
                    }
                    break;
                }
            }
        }
    }
}

/// NBS statistical development zones (济南高新技术产业开发区, 河北唐山芦台经济开发区, ...).
fn is_zone(name: &str) -> bool {
    [
        "开发区",
        "园区",
        "试验区",
        "示范区",
        "管理区",
        "新区",
        "新城",
        "合作区",
        "实验区",
    ]
    .iter()
    .any(|s| name.ends_with(s))
        && name.chars().count() > 5
}

/// 高新区, 经开区 and the zone's name without its province or city prefix: generic forms that
/// count only under the named prefecture.
fn zone_variants(name: &str, out: &mut Vec<(String, Form)>) {
    if name.contains("高新技术产业开发区") || name.contains("高新技术开发区") {
        for g in [
            "高新区",
            "高新技术开发区",
            "高新技术产业开发区",
            "高新开发区",
        ] {
            out.push((g.to_owned(), Form::Generic));
        }
    }
    if name.contains("经济技术开发区") {
        for g in ["经开区", "经济技术开发区", "经济开发区", "开发区"] {
            out.push((g.to_owned(), Form::Generic));
        }
    } else if name.contains("经济开发区") {
        for g in ["经济开发区", "开发区"] {
            out.push((g.to_owned(), Form::Generic));
        }
    }
}

/// The level of a division code by its length (2, 4, 6 or 9 digits), as the kernel's table
/// has it.
pub(crate) fn level_of(code: &str) -> Option<Level> {
    match code.len() {
        2 => Some(Level::Province),
        4 => Some(Level::Prefecture),
        6 => Some(Level::County),
        9 => Some(Level::Town),
        _ => None,
    }
}

/// The parent's code: the code less its last level (none for a province).
fn parent_code(code: &'static str, level: Level) -> Option<&'static str> {
    match level {
        Level::Province => None,
        Level::Prefecture => code.get(..2),
        Level::County => code.get(..4),
        Level::Town => code.get(..6),
    }
}

/// A prefecture-level statistical grouping rather than a real prefecture (市辖区 and 县 of a
/// municipality, 省直辖县级行政区划, …), as the kernel's `Division::is_grouping` has it.
fn is_grouping(name: &str, level: Level) -> bool {
    level == Level::Prefecture
        && matches!(
            name,
            "市辖区" | "县" | "省直辖县级行政区划" | "自治区直辖县级行政区划"
        )
}

impl Index {
    /// Builds the index from `table`, `(code, name)` of every division in code order (codes of
    /// 2, 4, 6 or 9 digits, each once), and `former_csv`, the text of
    /// `data/former_divisions.csv`.
    pub(crate) fn build(table: &[(&'static str, &'static str)], former_csv: &'static str) -> Index {
        let table: Vec<(&'static str, &'static str, Level)> = table
            .iter()
            .filter_map(|&(code, name)| Some((code, name, level_of(code)?)))
            .collect();
        let mut text = String::with_capacity(table.len() * 9);
        let mut divs: Vec<Div> = table
            .iter()
            .map(|&(code, name, level)| {
                let at = text.len() as u32;
                text.push_str(code);
                Div {
                    at,
                    parent: NONE,
                    // 2, 4, 6 or 9 (`level_of`).
                    code_len: code.len() as u8,
                    level,
                    grouping: is_grouping(name, level),
                }
            })
            .collect();
        let names: Vec<&'static str> = table.iter().map(|d| d.1).collect();
        let codes: Vec<&'static str> = table.iter().map(|d| d.0).collect();
        // The table is in code order, each division right after its ancestors: the parent is
        // the last division seen at its level (a search only if the table were otherwise).
        let mut last = [NONE; 4];
        for (i, &(code, _, level)) in table.iter().enumerate() {
            divs[i].parent = parent_code(code, level).map_or(NONE, |p| {
                last.iter()
                    .copied()
                    .find(|&k| codes.get(k as usize) == Some(&p))
                    .or_else(|| find_div(&codes, p))
                    .unwrap_or(NONE)
            });
            last[level_slot(level)] = i as u32;
        }

        let ancs: Vec<[u32; 3]> = (0..divs.len())
            .map(|i| {
                let mut a = [NONE; 3];
                let mut k = i as u32;
                while let Some(d) = divs.get(k as usize) {
                    match d.level {
                        Level::Province => a[0] = k,
                        Level::Prefecture => a[1] = k,
                        Level::County => a[2] = k,
                        Level::Town => {}
                    }
                    k = d.parent;
                }
                a
            })
            .collect();
        // Every (pattern, target) in the order found; grouped by pattern below (a sort, not
        // a hash map of vectors: cheaper to build at start-up).
        let mut entries: Vec<(Cow<'static, str>, Target)> = Vec::with_capacity(divs.len() * 3);
        let mut add = |p: Cow<'static, str>, t: Target| entries.push((p, t));
        let mut scratch = Vec::new();
        for (i, (d, &name)) in divs.iter().zip(&names).enumerate() {
            if d.grouping {
                continue;
            }
            let t = |form| Target {
                div: i as u32,
                level: d.level,
                form,
                former: NONE,
                main: false,
                anc: ancs[i],
                own_suffix: ('\0', 0),
            };
            if name.chars().count() >= 2 && !matches!(name, "城区" | "郊区" | "矿区") {
                add(Cow::Borrowed(name), t(Form::Full));
            }
            scratch.clear();
            variants(name, d.level, &mut scratch);
            for (p, form) in scratch.drain(..) {
                let mut target = t(form);
                if let Some(rest) = name.strip_prefix(p.as_str())
                    && let Some(first) = rest.chars().next()
                {
                    target.own_suffix = (first, rest.chars().count().min(255) as u8);
                }
                add(Cow::Owned(p), target);
            }
        }

        let former = parse_former(former_csv, &codes);
        for (row_i, row) in former.iter().enumerate() {
            let short = ["区", "县", "市"]
                .iter()
                .find_map(|s| row.name.strip_suffix(s))
                .filter(|s| s.chars().count() >= 2);
            for (k, &s) in row.successors.iter().enumerate() {
                let t = |form| Target {
                    div: s,
                    level: divs[s as usize].level,
                    form,
                    former: row_i as u32,
                    main: k == 0,
                    anc: ancs[s as usize],
                    own_suffix: ('\0', 0),
                };
                add(Cow::Borrowed(row.name), t(Form::Former));
                if let Some(short) = short {
                    add(Cow::Borrowed(short), t(Form::FormerShort));
                }
            }
        }

        // By pattern, then in the order found: a pattern's targets stay in that order, and the
        // first of a (division, form) pair is the one kept.
        // Their positions are sorted, not the entries themselves (a fifth of the memory moved),
        // each with its first 16 bytes as a number: most comparisons are one of two numbers,
        // the names themselves compared only when those are equal.
        let mut keyed: Vec<(u128, u32)> = entries
            .iter()
            .enumerate()
            .map(|(i, e)| (prefix_key(&e.0), i as u32))
            .collect();
        keyed.sort_unstable_by(|&(ka, a), &(kb, b)| {
            ka.cmp(&kb)
                .then_with(|| entries[a as usize].0.cmp(&entries[b as usize].0))
                .then(a.cmp(&b))
        });
        let order: Vec<u32> = keyed.into_iter().map(|(_, i)| i).collect();
        let mut chars: Vec<Vec<char>> = Vec::with_capacity(entries.len());
        let mut targets = Vec::with_capacity(entries.len());
        let mut pats = Vec::with_capacity(entries.len());
        let mut ts: Vec<Target> = Vec::new();
        let mut k = 0;
        while k < order.len() {
            let p = &entries[order[k] as usize].0;
            let n = order[k..]
                .iter()
                .take_while(|&&e| entries[e as usize].0 == *p)
                .count();
            chars.push(p.chars().collect());
            ts.clear();
            for &e in &order[k..k + n] {
                let t = &entries[e as usize].1;
                if !ts.iter().any(|x| x.div == t.div && x.form == t.form) {
                    ts.push(*t);
                }
            }
            k += n;
            let group = |t: &Target| match (t.level, t.form) {
                (Level::Town, Form::Full) => 1,
                (Level::Town, _) => 2,
                _ => 0,
            };
            ts.sort_by_key(|t| (group(t), t.div));
            let start = targets.len() as u32;
            let count = |g| ts.iter().filter(|t| group(t) == g).count() as u32;
            let towns_full = start + count(0);
            let towns_short = towns_full + count(1);
            let has_full = ts
                .iter()
                .any(|t| matches!(t.form, Form::Full | Form::Former));
            targets.extend_from_slice(&ts);
            pats.push(PatTargets {
                start,
                towns_full,
                towns_short,
                end: targets.len() as u32,
                has_full,
            });
        }
        let mut subtree_end = vec![0u32; divs.len()];
        for i in (0..divs.len()).rev() {
            let mut j = i + 1;
            while j < divs.len() && codes[j].starts_with(codes[i]) {
                j = subtree_end[j] as usize;
            }
            subtree_end[i] = j as u32;
        }
        let pat_flags: Vec<u8> = pats
            .iter()
            .map(|m| {
                let mut f = 0;
                if m.town_short_only() {
                    f |= PAT_TOWN_SHORT_ONLY;
                }
                if m.has_full {
                    f |= PAT_HAS_FULL;
                }
                f
            })
            .collect();
        let trie = Trie::build(&chars, &pat_flags, &pats);
        // Built once, at compile time (or in a test): the arrays live as long as the program.
        Index {
            text: String::leak(text),
            divs: divs.leak(),
            names: names.leak(),
            targets: targets.leak(),
            pats: pats.leak(),
            subtree_end: subtree_end.leak(),
            trie,
            former: former.leak(),
        }
    }
}

/// The first 16 bytes of `s` as a big-endian number, zeros after a shorter string: two
/// strings compare as their keys do unless the keys are equal (names hold no NUL byte, so equal
/// keys mean equal strings or a common 16-byte beginning).
fn prefix_key(s: &str) -> u128 {
    let b = s.as_bytes();
    let mut k = [0u8; 16];
    let n = b.len().min(16);
    k[..n].copy_from_slice(&b[..n]);
    u128::from_be_bytes(k)
}

/// A division's position in the table by its code (`codes`, the table's codes in order).
fn find_div(codes: &[&str], code: &str) -> Option<u32> {
    codes.binary_search(&code).ok().map(|i| i as u32)
}

pub(crate) fn level_slot(level: Level) -> usize {
    match level {
        Level::Province => 0,
        Level::Prefecture => 1,
        Level::County => 2,
        Level::Town => 3,
    }
}
fn parse_former(text: &'static str, codes: &[&str]) -> Vec<FormerRow> {
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let mut f = line.splitn(6, ',');
            let name = f.next()?.trim();
            let level = match f.next()?.trim() {
                "province" => Level::Province,
                "prefecture" => Level::Prefecture,
                "county" => Level::County,
                _ => Level::Town,
            };
            let successors: Vec<u32> = f
                .next()?
                .split(';')
                .filter_map(|c| find_div(codes, c.trim()))
                .collect();
            let year = f.next()?.trim().parse().ok()?;
            let _kind = f.next()?;
            let change = f.next()?.trim();
            (!name.is_empty() && !successors.is_empty()).then_some(FormerRow {
                name,
                level,
                successors: successors.leak(),
                year,
                change,
            })
        })
        .collect()
}

/// Writes Rust source for a value, as the build script emits the index.
trait Source {
    fn source(&self, out: &mut String);
}

impl Source for u32 {
    fn source(&self, out: &mut String) {
        use std::fmt::Write;
        let _ = write!(out, "{self}");
    }
}

impl Source for u64 {
    fn source(&self, out: &mut String) {
        use std::fmt::Write;
        let _ = write!(out, "{self}");
    }
}

impl Source for usize {
    fn source(&self, out: &mut String) {
        use std::fmt::Write;
        let _ = write!(out, "{self}");
    }
}

impl Source for u16 {
    fn source(&self, out: &mut String) {
        use std::fmt::Write;
        let _ = write!(out, "{self}");
    }
}

impl Source for u8 {
    fn source(&self, out: &mut String) {
        use std::fmt::Write;
        let _ = write!(out, "{self}");
    }
}

impl Source for bool {
    fn source(&self, out: &mut String) {
        out.push_str(if *self { "true" } else { "false" });
    }
}

impl Source for char {
    fn source(&self, out: &mut String) {
        use std::fmt::Write;
        let _ = write!(out, "'\\u{{{:x}}}'", *self as u32);
    }
}

impl Source for &'static str {
    fn source(&self, out: &mut String) {
        use std::fmt::Write;
        // Debug of a str is a Rust string literal.
        let _ = write!(out, "{self:?}");
    }
}

impl Source for Level {
    fn source(&self, out: &mut String) {
        out.push_str(match self {
            Level::Province => "Level::Province",
            Level::Prefecture => "Level::Prefecture",
            Level::County => "Level::County",
            Level::Town => "Level::Town",
        });
    }
}

impl Source for Form {
    fn source(&self, out: &mut String) {
        out.push_str(match self {
            Form::Full => "Form::Full",
            Form::Short => "Form::Short",
            Form::Generic => "Form::Generic",
            Form::Former => "Form::Former",
            Form::FormerShort => "Form::FormerShort",
        });
    }
}

impl<A: Source, B: Source> Source for (A, B) {
    fn source(&self, out: &mut String) {
        out.push('(');
        self.0.source(out);
        out.push(',');
        self.1.source(out);
        out.push(')');
    }
}

fn list<T: Source>(xs: &[T], out: &mut String) {
    out.push('[');
    for (k, x) in xs.iter().enumerate() {
        if k > 0 {
            out.push(',');
            if k % 16 == 0 {
                out.push('\n');
            }
        }
        x.source(out);
    }
    out.push(']');
}

impl<T: Source, const N: usize> Source for [T; N] {
    fn source(&self, out: &mut String) {
        list(self, out);
    }
}

impl<T: Source> Source for &'static [T] {
    fn source(&self, out: &mut String) {
        out.push('&');
        list(self, out);
    }
}

/// `Source` for a struct: its literal with every field.
macro_rules! source_struct {
    ($t:ident { $($f:ident),* }) => {
        impl Source for $t {
            fn source(&self, out: &mut String) {
                out.push_str(concat!(stringify!($t), "{"));
                $(
                    out.push_str(concat!(stringify!($f), ":"));
                    self.$f.source(out);
                    out.push(',');
                )*
                out.push('}');
            }
        }
    };
}

source_struct!(Div {
    at,
    parent,
    code_len,
    level,
    grouping
});
source_struct!(Target {
    div,
    level,
    form,
    former,
    main,
    anc,
    own_suffix
});
source_struct!(PatTargets {
    start,
    towns_full,
    towns_short,
    end,
    has_full
});
source_struct!(FormerRow {
    name,
    level,
    successors,
    year,
    change
});
source_struct!(Trie {
    bigrams,
    bigram_mask,
    bigram_bits,
    bigram_bits_mask,
    other_pairs,
    other_min,
    data
});
source_struct!(Index {
    text,
    divs,
    names,
    targets,
    pats,
    subtree_end,
    trie,
    former
});

impl Index {
    /// The index as a Rust expression (an `Index { .. }` literal of static arrays), for the
    /// build script to write and the library to `include!`: it needs `Index`, `Div`,
    /// `Target`, `PatTargets`, `FormerRow`, `Trie`, `Level` and `Form` in scope.
    pub(crate) fn rust_source(&self) -> String {
        let mut out = String::with_capacity(32 << 20);
        self.source(&mut out);
        out.push('\n');
        out
    }
}
