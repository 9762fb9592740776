//! Which divisions an address names.
//!
//! Every name the index finds in the cleaned text is a candidate (a span and a division; one
//! span may name several divisions: 朝阳区 is in Beijing and in Changchun). Each candidate is
//! scored as the deepest division of a chain: its own weight plus the weight of the best
//! mention of each of its ancestors elsewhere in the text (full weight before it, half after
//! it), plus a bonus when it agrees with the jurisdiction hint. The best chain wins; levels
//! it does not name are filled from the table (a county names its city and province).
//! Where the winning span also names other divisions that fit the named ancestors just as
//! well, that is an ambiguity: settled by a lower level named after it ("context"), by the
//! hint ("hint"), or not at all ("unresolved": that level's code and those below stay empty).
//!
//! A town name shared by many towns (城关镇: hundreds) none of whose ancestors is named is
//! kept as one representative candidate; its namesakes are listed only if it wins.

use amr_kernel::codes::division::Level;

use super::clean::{CjkSet, cjk_set, in_cjk_set};
use super::index::{Form, Index, NONE, PAT_HAS_FULL, PAT_TOWN_SHORT_ONLY, PatTargets, Target};

/// A division name found in the text.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Cand {
    /// Character span in the cleaned text (the suffix after a short form included; the text is
    /// at most `MAX_INPUT` bytes, so `u32` holds it and the candidate stays small).
    pub start: u32,
    pub end: u32,
    pub div: u32,
    pub level: Level,
    pub form: Form,
    /// A short form followed by an administrative suffix (富阳市 for 富阳区, 山窝乡 for 山窝镇).
    pub suffixed: bool,
    pub former: u32,
    pub weight: f32,
    /// Province, prefecture, county above (or at) the division.
    pub anc: [u32; 3],
    /// The index pattern that matched.
    pub pat: u32,
    /// Stands for every same-named town without a named ancestor.
    pub lone: bool,
}

impl Cand {
    /// The division at each level (province, prefecture, county, town) from it up, what
    /// [`Index::ancestors`] gives for it, from `anc` instead of a walk up the table.
    pub fn ancestors(&self) -> [Option<u32>; 4] {
        carried_ancestors(self.div, self.level, &self.anc)
    }

    /// Whether the division is `a` or lies within it.
    pub fn within(&self, a: u32, a_level: Level) -> bool {
        self.div == a || (a_level < Level::Town && self.anc[level_slot(a_level)] == a)
    }
}

/// The division at each level from `div` (at `level`) up, from the province, prefecture and
/// county it carries (`anc`, as a target or candidate does): what [`Index::ancestors`] finds
/// by a walk up the table (a test checks it for every target).
pub(crate) fn carried_ancestors(div: u32, level: Level, anc: &[u32; 3]) -> [Option<u32>; 4] {
    let slot = level_slot(level);
    let mut out = [None; 4];
    for (k, o) in out.iter_mut().enumerate().take(slot) {
        *o = anc.get(k).copied().filter(|&a| a != NONE);
    }
    out[slot] = Some(div);
    out
}

/// What follows a name.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Follow {
    /// Nothing that matters.
    Nothing,
    /// A road, a place or a building named after the division (山东路, 杭州湾, 中山公园):
    /// a short form is not the division there (a full name still is: 西湖区学院路).
    NotADivision,
    /// An administrative suffix of this many characters, which a short form may take at these
    /// levels (none: a short form is not a division there, e.g. 西湖片区).
    Suffix(&'static [Level], usize),
}

const PROVINCE: &[Level] = &[Level::Province];
const PREFECTURE: &[Level] = &[Level::Prefecture];
const COUNTY: &[Level] = &[Level::County];
const TOWN: &[Level] = &[Level::Town];
const CITY: &[Level] = &[Level::Province, Level::Prefecture, Level::County];

/// What follows a name: an administrative suffix (省, 市, 自治州, 街道, ...), a word that
/// makes it something else (路, 大街, 公园, 市场, ...), or nothing of either.
fn follow(rest: &[char]) -> Follow {
    // Most characters begin none of the words: one bit test instead of the comparisons.
    if !in_cjk_set(&FOLLOW_FIRST, rest.first().copied().unwrap_or('\0')) {
        return Follow::Nothing;
    }
    follow_words(rest)
}

/// [`follow`] for a text that begins with one of [`FOLLOW_FIRST`].
fn follow_words(rest: &[char]) -> Follow {
    use Follow::{NotADivision as No, Nothing, Suffix};
    let at = |k: usize| rest.get(k).copied().unwrap_or('\0');
    let (c1, c2) = (at(1), at(2));
    match at(0) {
        '路' | '巷' | '弄' | '湾' => No,
        '街' => match c1 {
            '道' if at(2) == '办' && at(3) == '事' && at(4) == '处' => Suffix(TOWN, 5),
            '道' | '办' => Suffix(TOWN, 2),
            _ => No,
        },
        '大' if matches!(c1, '道' | '街' | '学' | '厦') => No,
        '胡' if c1 == '同' => No,
        '公' if matches!(c1, '路' | '园') => No,
        '市' if c1 == '场' => No,
        '医' if c1 == '院' => No,
        '银' if c1 == '行' => No,
        '宾' if c1 == '馆' => No,
        '酒' | '饭' if c1 == '店' => No,
        '广' if c1 == '场' => No,
        '商' if c1 == '城' => No,
        '中' | '小' if c1 == '学' => No,
        '小' if c1 == '区' => No,
        '学' if c1 == '院' => No,
        '花' if c1 == '园' => No,
        '高' if c1 == '速' => No,
        '新' if c1 == '村' => No,
        '新' if c1 == '区' => Suffix(COUNTY, 2),
        '特' if c1 == '别' && c2 == '行' => Suffix(PROVINCE, 5),
        '自' if c1 == '治' => match c2 {
            '区' => Suffix(PROVINCE, 3),
            '州' => Suffix(PREFECTURE, 3),
            '县' | '旗' => Suffix(COUNTY, 3),
            _ => Nothing,
        },
        '办' if c1 == '事' && c2 == '处' => Suffix(TOWN, 3),
        '地' if c1 == '区' => Suffix(PREFECTURE, 2),
        '林' if c1 == '区' => Suffix(COUNTY, 2),
        '片' if c1 == '区' => Suffix(&[], 2),
        '省' => Suffix(PROVINCE, 1),
        '市' => Suffix(CITY, 1),
        '州' | '盟' => Suffix(PREFECTURE, 1),
        '区' | '县' | '旗' => Suffix(COUNTY, 1),
        '镇' | '乡' => Suffix(TOWN, 1),
        _ => Nothing,
    }
}

/// Every character a word [`follow`] looks for begins with (checked in the tests).
const FOLLOW_FIRST: CjkSet = cjk_set(&[
    '路', '巷', '弄', '湾', '街', '大', '胡', '公', '市', '医', '银', '宾', '酒', '饭', '广', '商',
    '中', '小', '学', '花', '高', '新', '特', '自', '办', '地', '林', '片', '省', '州', '盟', '区',
    '县', '旗', '镇', '乡',
]);

fn base_weight(form: Form, suffixed: bool, level: Level) -> f32 {
    let w = match form {
        Form::Full => 3.0,
        // Below the current name when both appear (绍兴县柯桥区 is 柯桥区).
        Form::Former => 2.9,
        Form::Short | Form::FormerShort if suffixed => 2.6,
        Form::Short | Form::FormerShort => 2.0,
        Form::Generic => 1.5,
    };
    if level == Level::Town { w * 0.7 } else { w }
}

/// A match of the index: span, pattern, the suffix after it.
#[derive(Clone, Copy)]
struct Hit {
    start: usize,
    end: usize,
    pat: u32,
    /// Where the pattern's targets lie (from the trie, with the match).
    m: PatTargets,
    suffix: Option<(&'static [Level], usize)>,
    /// The character after the match.
    next: char,
    /// A word follows that makes a short form something else (路, 公园, 市场).
    not_a_division: bool,
}

/// Buffers reused from one address to the next.
#[derive(Default)]
pub(crate) struct Scratch {
    hits: Vec<Hit>,
    starts: Vec<u32>,
    tops: Vec<(u32, u32)>,
}

/// An upper candidate by division: the division in the high 32 bits, the candidate's position
/// in the list in the low 32 (sorting these numbers sorts by division, then position, and
/// compares one number instead of a pair).
pub(crate) type ByDiv = u64;

fn by_div_key(div: u32, pos: usize) -> ByDiv {
    (u64::from(div) << 32) | pos as u64
}

fn by_div_div(p: ByDiv) -> u32 {
    (p >> 32) as u32
}

fn by_div_pos(p: ByDiv) -> usize {
    (p & 0xFFFF_FFFF) as usize
}

/// Every candidate name in `text`, into `out`. Town candidates whose ancestors are not named
/// are folded into one per span (preferring one within `hint`). The candidates above town
/// level come first; `by_div` receives them as [`ByDiv`] numbers, sorted (for [`resolve`]).
pub(crate) fn candidates(
    idx: &Index,
    text: &[char],
    hint: Option<(u32, Level)>,
    scratch: &mut Scratch,
    out: &mut Vec<Cand>,
    by_div: &mut Vec<ByDiv>,
) {
    out.clear();
    let Scratch { hits, starts, tops } = scratch;
    hits.clear();
    idx.trie
        .for_each_match(text, starts, |start, end, pat, flags, m| {
            let f = follow(text.get(end..).unwrap_or(&[]));
            if matches!(f, Follow::NotADivision) && flags & PAT_HAS_FULL == 0 {
                return;
            }
            let suffix = match f {
                Follow::Suffix(levels, len) => Some((levels, len)),
                _ => None,
            };
            if flags & PAT_TOWN_SHORT_ONLY != 0
                && start > 0
                && suffix.is_none()
                && !hits
                    .iter()
                    .any(|h: &Hit| h.end + h.suffix.map_or(0, |s| s.1) == start)
            {
                // A bare town short form away from any other name (西溪 in 西溪花园).
                return;
            }
            hits.push(Hit {
                start,
                end,
                pat: pat as u32,
                m,
                suffix,
                next: text.get(end).copied().unwrap_or('\0'),
                not_a_division: matches!(f, Follow::NotADivision),
            });
        });
    for h in hits.iter() {
        let m = &h.m;
        for t in idx
            .targets
            .get(m.start as usize..m.towns_full as usize)
            .unwrap_or(&[])
        {
            if let Some(c) = cand(t, h) {
                out.push(c);
            }
        }
    }
    // The named divisions no other named division contains: the towns under any named
    // division are the towns under these.
    tops.clear();
    // In order of position within a division: the first best mention wins, as in a scan.
    by_div.clear();
    by_div.extend(out.iter().enumerate().map(|(k, c)| by_div_key(c.div, k)));
    by_div.sort_unstable();
    // `uppers` ascend, so the tops do too and do not overlap (a top is taken only outside the
    // one before it, and a subtree is contiguous): a division lies within some top exactly
    // when it lies within the last.
    let mut prev = None;
    for &p in by_div.iter() {
        let d = by_div_div(p);
        if prev == Some(d) {
            continue;
        }
        prev = Some(d);
        if !tops.last().is_some_and(|&(a, end)| d > a && d < end) {
            tops.push((d, idx.subtree_end.get(d as usize).copied().unwrap_or(d)));
        }
    }
    for h in hits.iter() {
        let m = &h.m;
        if m.towns_full == m.end {
            // No town bears the name (most names above town level).
            continue;
        }
        for (a, b) in [(m.towns_full, m.towns_short), (m.towns_short, m.end)] {
            let towns = idx.targets.get(a as usize..b as usize).unwrap_or(&[]);
            let (Some(lo), Some(hi)) = (towns.first(), towns.last()) else {
                continue;
            };
            // Towns under a named division, each a candidate.
            let before = out.len();
            // The tops ascend without overlapping, so the towns under one lie after those
            // under the one before: each search starts where the last run ended.
            let mut pos = 0;
            for &(d, end) in tops.iter() {
                if hi.div <= d || lo.div >= end {
                    continue;
                }
                let rest = towns.get(pos..).unwrap_or(&[]);
                // No search when the next town already lies after `d`.
                let from = pos
                    + if rest.first().is_some_and(|t| t.div > d) {
                        0
                    } else {
                        rest.partition_point(|t| t.div <= d)
                    };
                let rest = towns.get(from..).unwrap_or(&[]);
                // None under this top unless the first town after `d` is (no second search).
                let n = if rest.first().is_some_and(|t| t.div < end) {
                    rest.partition_point(|t| t.div < end)
                } else {
                    0
                };
                for t in &rest[..n] {
                    if let Some(c) = cand(t, h) {
                        out.push(c);
                    }
                }
                pos = from + n;
            }
            if out.len() > before {
                continue;
            }
            // No named ancestor: one candidate stands for all (one within the hint if any).
            let in_hint = hint.and_then(|(hd, hl)| {
                let (d, end) = if hl == Level::Town {
                    (hd.saturating_sub(1), hd + 1)
                } else {
                    (hd, idx.subtree_end.get(hd as usize).copied().unwrap_or(hd))
                };
                let from = towns.partition_point(|t| t.div <= d);
                towns.get(from).filter(|t| t.div < end)
            });
            if let Some(mut c) = in_hint.or(Some(lo)).and_then(|t| cand(t, h)) {
                c.lone = towns.len() > 1;
                out.push(c);
            }
        }
    }
}

fn cand(t: &Target, h: &Hit) -> Option<Cand> {
    let level = t.level;
    let mut end = h.end;
    let mut suffixed = false;
    if h.not_a_division && !matches!(t.form, Form::Full | Form::Former) {
        return None;
    }
    if !matches!(t.form, Form::Full | Form::Former)
        && let Some((levels, len)) = h.suffix
    {
        if !levels.contains(&level) {
            // 龙港镇 is a town, not 龙港市.
            return None;
        }
        if t.own_suffix == (h.next, len as u8) {
            // 浙江 + 省: the full name 浙江省 matched too.
            return None;
        }
        end += len;
        suffixed = true;
    }
    let mut weight = base_weight(t.form, suffixed, level);
    if matches!(t.form, Form::Former | Form::FormerShort) && !t.main {
        // A secondary successor of a former name: chosen only when a town under it says so.
        weight -= 0.1;
    }
    Some(Cand {
        start: h.start as u32,
        end: end as u32,
        div: t.div,
        level,
        form: t.form,
        suffixed,
        former: t.former,
        weight,
        anc: t.anc,
        pat: h.pat,
        lone: false,
    })
}

/// The divisions an address names, level by level.
#[derive(Debug, Clone, Default)]
pub(crate) struct Chain {
    /// The deepest division found (or given by the hint).
    pub deepest: Option<u32>,
    /// The candidate naming each level (province, prefecture, county, town), if named.
    pub named: [Option<Cand>; 4],
    /// Levels filled from the jurisdiction hint.
    pub from_hint: bool,
    /// The named divisions contradict the hint.
    pub against_hint: bool,
    pub ambiguity: Option<Ambiguous>,
}

/// An ambiguity found while choosing the chain.
#[derive(Debug, Clone)]
pub(crate) struct Ambiguous {
    pub level: Level,
    /// The chosen division first, then the others (at most [`MAX_NAMESAKES`] + 1), each with
    /// its province, prefecture and county.
    pub candidates: Vec<(u32, [u32; 3])>,
    pub basis: &'static str,
}

/// Namesakes looked at for an ambiguity: enough to tell whether they share their upper
/// levels and to list some.
pub(crate) const MAX_NAMESAKES: usize = 32;

pub(crate) fn level_slot(level: Level) -> usize {
    match level {
        Level::Province => 0,
        Level::Prefecture => 1,
        Level::County => 2,
        Level::Town => 3,
    }
}

pub(crate) const LEVELS: [Level; 4] = [
    Level::Province,
    Level::Prefecture,
    Level::County,
    Level::Town,
];

fn overlaps(a: &Cand, b: &Cand) -> bool {
    a.start < b.end && b.start < a.end
}

/// The hint as `(division, level)`.
pub(crate) type Hint = Option<(u32, Level)>;

fn fits_hint(c: &Cand, hint: Hint, idx: &Index) -> bool {
    match hint {
        None => false,
        // The candidate lies within the hint, or the hint within the candidate.
        Some((h, hl)) => c.within(h, hl) || idx.is_within(h, c.div),
    }
}

/// One bit for the low ten bits of each division among the upper candidates: a clear bit says a
/// division is not mentioned, without a search (most ancestors of a candidate are not).
type Mentioned = [u64; 16];

fn mentioned_bit(d: u32) -> (usize, u64) {
    let low = d & 0x3FF;
    ((low / 64) as usize, 1 << (low % 64))
}

/// Scores `x` as the deepest division of a chain. `upper` are the candidates above town
/// level; `by_div` lists them by division ([`ByDiv`]), so the mentions of an ancestor are
/// found by bisection instead of a scan of every upper candidate.
///
/// `named` receives the candidate chosen at each level (by reference: a candidate is large and
/// most chains scored are not the best).
fn score_chain<'a>(
    idx: &Index,
    upper: &'a [Cand],
    by_div: &[ByDiv],
    x: &'a Cand,
    hint: Hint,
    named: &mut [Option<&'a Cand>; 4],
    mentioned: &Mentioned,
) -> Option<f32> {
    *named = [None; 4];
    named[level_slot(x.level)] = Some(x);
    let mut score = x.weight;
    let mut has_ancestor = false;
    let mut first = x.start;
    let mut prev_end = 0;
    for slot in 0..level_slot(x.level) {
        let a = x.anc[slot];
        if a == NONE {
            continue;
        }
        let (word, bit) = mentioned_bit(a);
        if mentioned[word] & bit == 0 {
            continue;
        }
        let mut best: Option<(f32, &Cand)> = None;
        let from = by_div.partition_point(|&p| by_div_div(p) < a);
        let mentions = by_div
            .get(from..)
            .unwrap_or(&[])
            .iter()
            .take_while(|&&p| by_div_div(p) == a)
            .filter_map(|&p| upper.get(by_div_pos(p)));
        for y in mentions {
            if named.iter().flatten().any(|n| overlaps(n, y)) {
                continue;
            }
            let w = if y.end <= x.start {
                y.weight
            } else {
                y.weight * 0.5
            };
            if best.is_none_or(|(bw, _)| w > bw) {
                best = Some((w, y));
            }
        }
        if let Some((w, y)) = best {
            named[slot] = Some(y);
            score += w;
            has_ancestor = true;
            first = first.min(y.start);
            if y.end <= x.start {
                prev_end = prev_end.max(y.end);
            }
        }
    }
    if x.form == Form::Generic && !has_ancestor {
        return None;
    }
    if x.level == Level::Town && x.form == Form::Short && !x.suffixed && prev_end != x.start {
        // A bare town short form counts only at the start or right after the division above.
        return None;
    }
    if fits_hint(x, hint, idx) {
        score += 1.5;
    }
    // Addresses begin with their divisions: a chain that starts later is less likely.
    if first > 0 {
        score -= 0.5;
    }
    Some(score)
}

/// Chooses the chain of divisions for `text` (already cleaned) from its candidates and
/// `by_div`, both as [`candidates`] gives them.
pub(crate) fn resolve(idx: &Index, cands: &[Cand], hint: Hint, by_div: &[ByDiv]) -> Chain {
    // Candidates above town level come first (see `candidates`).
    let upper = &cands[..cands.partition_point(|c| c.level < Level::Town)];
    let mut best: Option<(f32, usize)> = None;
    let mut named: [Option<&Cand>; 4] = [None; 4];
    // The candidates of the best chain so far (kept, not scored a second time at the end).
    let mut best_named: [Option<&Cand>; 4] = [None; 4];
    let mut mentioned: Mentioned = [0; 16];
    for u in upper {
        let (word, bit) = mentioned_bit(u.div);
        mentioned[word] |= bit;
    }
    // The most each level above town can add to a chain, to pass over hopeless candidates.
    let mut level_max = [0f32; 3];
    for u in upper {
        let m = &mut level_max[level_slot(u.level)];
        *m = m.max(u.weight);
    }
    let hint_bonus = if hint.is_some() { 1.5 } else { 0.0 };
    for (i, x) in cands.iter().enumerate() {
        if let Some((bs, _)) = best {
            let most = x.weight + level_max[..level_slot(x.level)].iter().sum::<f32>() + hint_bonus;
            if most < bs - 1e-3 {
                continue;
            }
        }
        let Some(score) = score_chain(idx, upper, by_div, x, hint, &mut named, &mentioned) else {
            continue;
        };
        let better = match &best {
            None => true,
            Some((bs, bi)) => {
                let b = &cands[*bi];
                score > *bs + 1e-4
                    || ((score - *bs).abs() <= 1e-4
                        && (x.level > b.level
                            || (x.level == b.level
                                && (x.start < b.start || (x.start == b.start && x.div < b.div)))))
            }
        };
        if better {
            best = Some((score, i));
            best_named = named;
        }
    }
    let mut chain = Chain::default();
    let Some((_, bi)) = best else {
        if let Some((h, _)) = hint {
            chain.deepest = Some(h);
            chain.from_hint = true;
        }
        return chain;
    };
    chain.named = best_named.map(|n| n.copied());
    chain.deepest = Some(cands[bi].div);
    chain.ambiguity = ambiguity(idx, cands, &chain, hint);
    if let Some((h, _)) = hint {
        let x = cands[bi].div;
        if idx.is_within(h, x) && h != x {
            // The text stops above the hint (济南市... with hint 历下区): the hint goes deeper.
            chain.deepest = Some(h);
            chain.from_hint = true;
        } else if !idx.is_within(x, h) {
            chain.against_hint = true;
        }
    }
    chain
}

/// The first level (from the top) whose naming span also names other divisions that fit the
/// chain's named ancestors.
fn ambiguity(idx: &Index, cands: &[Cand], chain: &Chain, hint: Hint) -> Option<Ambiguous> {
    // The levels where another division is named by the same span: one pass over the
    // candidates, so that a level none shares (most) is not scanned again below.
    let mut shared = [false; 4];
    for z in cands {
        let slot = level_slot(z.level);
        if let Some(y) = &chain.named[slot]
            && z.start == y.start
            && z.div != y.div
        {
            shared[slot] = true;
        }
    }
    for level in LEVELS {
        let Some(y) = &chain.named[level_slot(level)] else {
            continue;
        };
        if !shared[level_slot(level)] && !y.lone {
            // No other candidate can be one of `others` below, nor are there namesakes.
            continue;
        }
        let mut ancestors = [(NONE, Level::Town); 3];
        for (k, n) in chain
            .named
            .iter()
            .flatten()
            .filter(|n| n.level < level)
            .enumerate()
        {
            if let Some(a) = ancestors.get_mut(k) {
                *a = (n.div, n.level);
            }
        }
        let has_ancestor = ancestors[0].0 != NONE;
        let fits = |div: u32, anc: &[u32; 3]| {
            ancestors
                .iter()
                .filter(|a| a.0 != NONE)
                .all(|&(a, al)| div == a || (al < Level::Town && anc[level_slot(al)] == a))
        };
        let same = |z: &Cand| {
            z.start == y.start
                && z.level == level
                && z.div != y.div
                && z.weight >= y.weight - 1e-3
                && !(z.former == y.former && z.former != NONE)
                && (z.form != Form::Generic || has_ancestor)
                && fits(z.div, &z.anc)
        };
        let mut others: Vec<(u32, [u32; 3])> = Vec::new();
        for z in cands.iter().filter(|z| same(z)) {
            if !others.iter().any(|o| o.0 == z.div) {
                others.push((z.div, z.anc));
            }
        }
        if y.lone
            && let Some(m) = idx.pats.get(y.pat as usize)
        {
            // The namesakes folded into this candidate.
            let (a, b) = if y.form == Form::Full {
                (m.towns_full, m.towns_short)
            } else {
                (m.towns_short, m.end)
            };
            let towns = idx.targets.get(a as usize..b as usize).unwrap_or(&[]);
            // Room for the namesakes and the chosen one, allocated once.
            others.reserve(towns.len().min(MAX_NAMESAKES) + 1);
            for t in towns {
                if others.len() >= MAX_NAMESAKES {
                    break;
                }
                if t.div != y.div {
                    others.push((t.div, t.anc));
                }
            }
        }
        if others.is_empty() {
            continue;
        }
        others.sort_unstable();
        others.dedup_by_key(|o| o.0);
        let below = chain.named.iter().flatten().any(|n| n.level > level);
        let by_hint = hint.is_some_and(|(h, _)| {
            let fits = |d: u32| idx.is_within(d, h) || idx.is_within(h, d);
            fits(y.div) && !others.iter().any(|&(o, _)| fits(o))
        });
        let basis = if below {
            "context"
        } else if by_hint {
            "hint"
        } else {
            "unresolved"
        };
        // The chosen one first (in the same list: no second allocation).
        let mut candidates = others;
        candidates.insert(0, (y.div, y.anc));
        return Some(Ambiguous {
            level,
            candidates,
            basis,
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// No character outside [`FOLLOW_FIRST`] begins a word [`follow_words`] knows, whatever
    /// comes after it (every continuation its arms test for).
    #[test]
    fn follow_first_holds_every_first_character() {
        let tails = [
            "",
            "道办事处",
            "道",
            "办",
            "办事处",
            "事处",
            "学",
            "厦",
            "街",
            "同",
            "路",
            "园",
            "场",
            "院",
            "行",
            "馆",
            "店",
            "城",
            "区",
            "速",
            "村",
            "别行",
            "治区",
            "治州",
            "治县",
            "治旗",
        ];
        let tails: Vec<Vec<char>> = tails.iter().map(|t| t.chars().collect()).collect();
        let mut rest = ['\0'; 5];
        for c in (0..=0x10FFFF).filter_map(char::from_u32) {
            if in_cjk_set(&FOLLOW_FIRST, c) {
                continue;
            }
            rest[0] = c;
            for tail in &tails {
                rest[1..=tail.len()].copy_from_slice(tail);
                assert!(
                    matches!(follow_words(&rest[..=tail.len()]), Follow::Nothing),
                    "{:?} follows a name but {c:?} is not in FOLLOW_FIRST",
                    &rest[..=tail.len()]
                );
            }
        }
    }
}
