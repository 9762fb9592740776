//! The name index: every division name in the national table (full names, short forms,
//! informal variants) and every former name in `data/former_divisions.csv`, in one character
//! trie. The index is built at compile time (`build.rs`, with [`super::index_data`]) and
//! included here as a `static`; this module holds what the parse asks of it.
//!
//! The trie is walked from every position of the (short) cleaned text, which finds every
//! occurrence of every name, overlapping ones included. It replaced an Aho-Corasick automaton
//! over the same ~100,000 names (the `aho-corasick` crate's overlapping search): on the NAACL
//! addresses the trie with its bigram filter took about half the time per address, since an
//! address is some twenty characters, most of which begin no name.

use amr_kernel::codes::division::Level;

use super::index_data::{Div, FormerRow};
pub(crate) use super::index_data::{
    EDGE_COUNT_MASK, EMPTY, Form, Index, NONE, PAT_HAS_FULL, PAT_TOWN_SHORT_ONLY, PatTargets,
    Target, Trie, bigram_bit, bigram_key, bigram_slot,
};

impl Trie {
    #[inline]
    fn child(&self, node: u32, c: char) -> u32 {
        let o = node as usize;
        let (Some(&t), Some(&w)) = (self.data.get(o), self.data.get(o + 1)) else {
            return NONE;
        };
        let count = (w & EDGE_COUNT_MASK) as usize;
        let first = o + if t == NONE { 2 } else { 6 };
        let Some(edges) = self.data.get(first..first + 2 * count) else {
            return NONE;
        };
        let c = c as u32;
        if count <= 8 {
            return edges
                .chunks_exact(2)
                .find(|e| e[0] == c)
                .map_or(NONE, |e| e[1]);
        }
        let (mut lo, mut hi) = (0, count);
        while lo < hi {
            let mid = (lo + hi) / 2;
            match edges[2 * mid].cmp(&c) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return edges[2 * mid + 1],
            }
        }
        NONE
    }

    /// The pattern ending at a node ([`NONE`] if none), its flags and its targets.
    #[inline]
    fn terminal(&self, node: u32) -> (u32, u8, PatTargets) {
        let o = node as usize;
        let none = PatTargets {
            start: 0,
            towns_full: 0,
            towns_short: 0,
            end: 0,
            has_full: false,
        };
        match self.data.get(o..o + 2) {
            Some(&[t, w]) if t != NONE => {
                let flags = (w >> 24) as u8;
                match self.data.get(o + 2..o + 6) {
                    Some(&[start, towns_full, towns_short, end]) => (
                        t,
                        flags,
                        PatTargets {
                            start,
                            towns_full,
                            towns_short,
                            end,
                            has_full: flags & PAT_HAS_FULL != 0,
                        },
                    ),
                    _ => (NONE, 0, none),
                }
            }
            _ => (NONE, 0, none),
        }
    }

    /// The node two characters deep for `a` then `b`, [`NONE`] if no name begins so.
    #[inline]
    fn bigram_node(&self, a: char, b: char) -> u32 {
        match bigram_key(a, b) {
            Some(key) => {
                let bit = bigram_bit(key, self.bigram_bits_mask);
                if self.bigram_bits[bit / 64] & (1 << (bit % 64)) == 0 {
                    return NONE;
                }
                let mut slot = bigram_slot(key, self.bigram_mask);
                loop {
                    let (k, n) = self.bigrams[slot];
                    if k == key || k == EMPTY {
                        return n;
                    }
                    slot = (slot + 1) & self.bigram_mask;
                }
            }
            None if a < self.other_min.0 || b < self.other_min.1 => NONE,
            None => self
                .other_pairs
                .binary_search_by_key(&(a, b), |p| p.0)
                .map_or(NONE, |k| self.other_pairs[k].1),
        }
    }

    /// Calls `f(start, end, pattern, flags, targets)` for every occurrence of every pattern in
    /// `text` (character positions, `end` exclusive), by start then end. `starts` is working
    /// memory.
    ///
    /// The table and the trie are larger than the processor's nearer caches, and an address
    /// reads a few dozen places in them: the lookups of every position are made first, each
    /// independent of the others so that their memory reads overlap, then the nodes found are
    /// read (again all at once), and only then is the trie walked from each.
    // Inlined where it is called, on the static index: the table's masks, lengths and places
    // are then constants in the code, not loads and checks at every step.
    #[inline(always)]
    pub fn for_each_match(
        &self,
        text: &[char],
        starts: &mut Vec<u32>,
        mut f: impl FnMut(usize, usize, usize, u8, PatTargets),
    ) {
        starts.clear();
        starts.reserve(text.len());
        for w in text.windows(2) {
            starts.push(self.bigram_node(w[0], w[1]));
        }
        let mut touch = 0u32;
        for &n in starts.iter() {
            if n != NONE {
                touch ^= self.data.get(n as usize).copied().unwrap_or(0);
            }
        }
        std::hint::black_box(touch);
        for (i, &start) in starts.iter().enumerate() {
            let mut node = start;
            if node == NONE {
                continue;
            }
            let (t, fl, m) = self.terminal(node);
            if t != NONE {
                f(i, i + 2, t as usize, fl, m);
            }
            let mut j = i + 2;
            while let Some(&c) = text.get(j) {
                node = self.child(node, c);
                if node == NONE {
                    break;
                }
                j += 1;
                let (t, fl, m) = self.terminal(node);
                if t != NONE {
                    f(i, j, t as usize, fl, m);
                }
            }
        }
    }
}

/// The index, built by `build.rs` (see [`super::index_data::Index::build`]): static arrays,
/// nothing to build or decode at run time.
static INDEX: Index = include!(concat!(env!("OUT_DIR"), "/address_index.rs"));

/// The index (about a hundred thousand names).
pub(crate) fn index() -> &'static Index {
    &INDEX
}

impl Index {
    /// A division's code, from [`Index::text`].
    #[inline]
    pub fn code_of(&self, d: &Div) -> &'static str {
        let at = d.at as usize;
        self.text
            .get(at..at + usize::from(d.code_len))
            .unwrap_or("")
    }

    /// The code of division `i` (empty if there is none).
    #[inline]
    pub fn code(&self, i: u32) -> &'static str {
        self.divs.get(i as usize).map_or("", |d| self.code_of(d))
    }

    /// The name of division `i` (empty if there is none).
    #[inline]
    pub fn name(&self, i: u32) -> &'static str {
        self.names.get(i as usize).copied().unwrap_or("")
    }

    /// The ancestor of `i` at `level` (or `i` itself), if any.
    pub fn ancestor_at(&self, mut i: u32, level: Level) -> Option<u32> {
        loop {
            let d = self.divs.get(i as usize)?;
            if d.level == level {
                return Some(i);
            }
            if d.level < level {
                return None;
            }
            i = d.parent;
        }
    }

    /// [`Index::ancestor_at`] at each level (province, prefecture, county, town), from one
    /// walk up the table instead of one a level.
    pub fn ancestors(&self, mut i: u32) -> [Option<u32>; 4] {
        let mut out = [None; 4];
        // The highest level met so far (levels ascend from the town): a level below it that
        // the walk has not met yet is one `ancestor_at` gives up on (it stops at the first
        // division above the level it looks for).
        let mut lowest = Level::Town;
        while let Some(d) = self.divs.get(i as usize) {
            let slot = super::divisions::level_slot(d.level);
            if out[slot].is_none() && d.level <= lowest {
                out[slot] = Some(i);
            }
            lowest = lowest.min(d.level);
            i = d.parent;
        }
        out
    }

    /// Whether `a` is `i` or one of its ancestors.
    pub fn is_within(&self, i: u32, a: u32) -> bool {
        self.divs
            .get(a as usize)
            .and_then(|d| self.ancestor_at(i, d.level))
            == Some(a)
    }

    /// Index of a division by code (2, 4, 6 or 9 digits, or the 6-digit `XX0000` forms), as
    /// the kernel's `DivisionTable::get` finds it: a 6-digit code that is itself a county
    /// (`441900` 东莞市) is that county, otherwise `XX0000` / `XXXX00` mean the province or
    /// prefecture. The index holds the kernel's table in the same order, so this reads no
    /// other table.
    pub fn find_code(&self, code: &str) -> Option<u32> {
        let code = code.trim();
        if !code.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let find = |c: &str| {
            self.divs
                .binary_search_by_key(&c, |x| self.code_of(x))
                .ok()
                .map(|i| i as u32)
        };
        match code.len() {
            2 | 4 | 9 => find(code),
            6 => find(code).or_else(|| match code.strip_suffix("0000") {
                Some(p) => find(p),
                None => code.strip_suffix("00").and_then(find),
            }),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::index_data::variants;
    use super::*;
    use amr_kernel::codes::division::divisions;

    const FORMER: &str = include_str!("../../data/former_divisions.csv");

    #[test]
    fn the_index_built_at_compile_time_is_the_one_built_from_the_kernel_table() {
        let rows: Vec<(&'static str, &'static str)> =
            divisions().iter().map(|d| (d.code, d.name)).collect();
        let built = Index::build(&rows, FORMER);
        let idx = index();
        assert!(built.text == idx.text, "codes differ");
        assert!(built.divs == idx.divs, "divisions differ");
        assert!(built.names == idx.names, "names differ");
        assert!(built.targets == idx.targets, "targets differ");
        assert!(built.pats == idx.pats, "patterns differ");
        assert!(built.subtree_end == idx.subtree_end, "subtrees differ");
        assert!(built.former == idx.former, "former names differ");
        assert!(built.trie == idx.trie, "tries differ");
    }

    /// Each division's code (read from the index's one text of codes) and name are the
    /// kernel's.
    #[test]
    fn codes_and_names_are_the_kernel_table() {
        let idx = index();
        assert_eq!(idx.divs.len(), divisions().iter().count());
        assert_eq!(idx.names.len(), idx.divs.len());
        // What `Div` says of itself: twelve bytes, no pointer.
        assert_eq!(std::mem::size_of::<Div>(), 12);
        for (i, d) in divisions().iter().enumerate() {
            assert_eq!((idx.code(i as u32), idx.name(i as u32)), (d.code, d.name));
        }
        assert_eq!((idx.code(NONE), idx.name(NONE)), ("", ""));
        let n = idx.divs.len() as u32;
        assert_eq!((idx.code(n), idx.name(n)), ("", ""));
    }

    #[test]
    fn codes_are_found_as_the_kernel_finds_them() {
        let idx = index();
        for code in [
            "33",
            "330000",
            "3301",
            "330100",
            "330102",
            "330102001",
            "441900",
            "4419",
            "11",
            "110000",
            "1101",
            "110100",
            "110101",
            " 3301 ",
            "",
            "3",
            "330",
            "33010",
            "3301000",
            "99",
            "990000",
            "3301x0",
            "000000",
            "330100100",
        ] {
            let ours = idx.find_code(code).map(|i| idx.code(i));
            let kernel = divisions().get(code).map(|d| d.code);
            assert_eq!(ours, kernel, "{code:?}");
        }
        for d in divisions().iter() {
            assert_eq!(idx.find_code(d.code).map(|i| idx.code(i)), Some(d.code));
        }
    }
    /// One walk up the table finds at each level what `ancestor_at` finds, for every division.
    #[test]
    fn ancestors_are_ancestor_at_each_level() {
        let idx = index();
        for i in 0..idx.divs.len() as u32 {
            let levels = [
                Level::Province,
                Level::Prefecture,
                Level::County,
                Level::Town,
            ];
            let one_a_level = levels.map(|l| idx.ancestor_at(i, l));
            assert_eq!(idx.ancestors(i), one_a_level, "{}", idx.code(i));
        }
        assert_eq!(idx.ancestors(NONE), [None; 4]);
    }

    /// The ancestors every target carries are those of one walk up the table.
    #[test]
    fn targets_carry_the_ancestors_of_a_walk() {
        let idx = index();
        for t in idx.targets {
            use super::super::divisions::{carried_ancestors, level_slot};
            let slot = level_slot(t.level);
            let walk = idx.ancestors(t.div);
            let carried = carried_ancestors(t.div, t.level, &t.anc);
            let code = idx.code(t.div);
            assert_eq!(walk[..slot], carried[..slot], "{code}");
            assert_eq!(walk[slot], Some(t.div), "{code}");
            assert!(walk[slot + 1..].iter().all(Option::is_none), "{code}");
            assert_eq!(walk, carried, "{code}");
        }
    }

    #[test]
    fn every_former_row_names_divisions_in_force() {
        let rows = FORMER
            .lines()
            .skip(1)
            .filter(|l| !l.trim().is_empty())
            .count();
        let idx = index();
        assert_eq!(
            idx.former.len(),
            rows,
            "a row has an unknown successor code"
        );
        for r in idx.former {
            for &s in r.successors {
                let d = idx.divs[s as usize];
                assert!(
                    d.level <= r.level,
                    "{} succeeded by {} at a lower level",
                    r.name,
                    idx.code_of(&d)
                );
            }
        }
    }

    #[test]
    fn short_forms_of_autonomous_divisions() {
        let mut v = Vec::new();
        variants("广西壮族自治区", Level::Province, &mut v);
        variants("红河哈尼族彝族自治州", Level::Prefecture, &mut v);
        variants("酉阳土家族苗族自治县", Level::County, &mut v);
        let names: Vec<&str> = v.iter().map(|(s, _)| s.as_str()).collect();
        for n in ["广西", "红河", "红河州", "酉阳", "酉阳县"] {
            assert!(names.contains(&n), "{n} missing from {names:?}");
        }
    }
}
