//! The text-rule engine: a rule file per review domain (unfair contract clauses,
//! fair-competition review, ...), each rule citing the provision it enforces, compiled into
//! one multi-pattern matcher that returns spans with the rule and its legal basis. It knows
//! no field: the rules are data ([`file`]).
//!
//! How a text is scanned ([`RuleSet::scan`]):
//! 1. one Aho-Corasick automaton holds every rule's keywords (literal anchors, shared between
//!    rules) and runs over the whole text once (overlapping matches, so a keyword inside
//!    another still counts);
//! 2. each keyword hit is widened to its clause: back to the previous and on to the next
//!    sentence end (`。；;！!？?` or a line break), at most [`MAX_SIDE`] bytes each way;
//! 3. each rule owning the keyword is tried once per clause: none of its `unless` patterns
//!    may match the clause, all of its `require` patterns must, and every match of its
//!    `patterns` in the clause is a finding.
//!
//! Offsets are byte offsets into the scanned `&str`; [`CharCounter`] turns them into
//! character (Unicode scalar) offsets for callers that count characters.

pub mod file;

use std::collections::HashMap;

use aho_corasick::{AhoCorasick, MatchKind};
use regex::Regex;
use serde::Serialize;

pub use file::{RuleFile, RuleSpec};

/// How far a clause reaches from its keyword, each way, in bytes (about 170 Chinese
/// characters): a sentence longer than that is cut.
pub const MAX_SIDE: usize = 512;

/// The largest compiled regex a rule may bring (hostile or careless rule files).
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// A compiled rule.
#[derive(Debug)]
pub struct Rule {
    pub spec: RuleSpec,
    patterns: Regex,
    require: Vec<Regex>,
    unless: Vec<Regex>,
}

impl Rule {
    pub fn id(&self) -> &str {
        &self.spec.id
    }
    pub fn title(&self) -> &str {
        &self.spec.title
    }
    pub fn basis(&self) -> &str {
        &self.spec.basis
    }
    pub fn suggestion(&self) -> &str {
        &self.spec.suggestion
    }
}

/// A span of text a rule found: byte offsets of the match and of its clause.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Hit {
    /// The rule's index in [`RuleSet::rules`].
    pub rule: usize,
    pub start: usize,
    pub end: usize,
    pub clause_start: usize,
    pub clause_end: usize,
}

/// A compiled rule file.
#[derive(Debug)]
pub struct RuleSet {
    pub name: String,
    pub version: String,
    rules: Vec<Rule>,
    keywords: AhoCorasick,
    /// keyword index → the rules that own it.
    owners: Vec<Vec<u32>>,
}

fn is_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

fn compile_regex(pattern: &str) -> Result<Regex, String> {
    regex::RegexBuilder::new(pattern)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| e.to_string())
}

impl RuleSet {
    /// Parses and compiles the TOML text of a rule file; every problem is returned, each
    /// naming its rule.
    pub fn from_toml(text: &str) -> Result<RuleSet, Vec<String>> {
        let file = RuleFile::parse(text).map_err(|e| vec![e])?;
        RuleSet::compile(file)
    }

    /// Compiles a rule file. Refused, naming every problem: a bad or repeated id, an empty
    /// title or basis, no keywords or an empty one, no patterns, a pattern that does not
    /// compile. (The examples are checked by [`RuleSet::check_examples`].)
    pub fn compile(file: RuleFile) -> Result<RuleSet, Vec<String>> {
        let mut problems = Vec::new();
        let mut seen = HashMap::new();
        let mut rules = Vec::with_capacity(file.rules.len());
        let mut keyword_index: HashMap<String, usize> = HashMap::new();
        let mut keywords: Vec<String> = Vec::new();
        let mut owners: Vec<Vec<u32>> = Vec::new();
        if file.rules.is_empty() {
            problems.push("规则文件中没有规则 (the rule file has no [[rule]])".to_string());
        }
        for (n, spec) in file.rules.into_iter().enumerate() {
            let name = if spec.id.is_empty() {
                format!("#{}", n + 1)
            } else {
                spec.id.clone()
            };
            let mut bad = |m: String| problems.push(format!("规则 {name} (rule {name}): {m}"));
            if !is_id(&spec.id) {
                bad("编号须为 1–64 个字母、数字或 -_. (the id is 1 to 64 letters, digits, '-', '_' or '.')".into());
            } else if seen.insert(spec.id.clone(), n).is_some() {
                bad("编号重复 (the id is used twice)".into());
            }
            if spec.title.trim().is_empty() {
                bad("缺少标题 (no title)".into());
            }
            if spec.basis.trim().is_empty() {
                bad("缺少法律依据 (no legal basis)".into());
            }
            if spec.keywords.is_empty() {
                bad("缺少关键词 (no keywords)".into());
            }
            if spec.keywords.iter().any(|k| k.is_empty()) {
                bad("关键词不能为空 (an empty keyword)".into());
            }
            if spec.patterns.is_empty() {
                bad("缺少匹配模式 (no patterns)".into());
            }
            let mut compile = |what: &str, p: &str| match compile_regex(p) {
                Ok(r) => Some(r),
                Err(e) => {
                    problems.push(format!(
                        "规则 {name} (rule {name}): {what} 模式无法编译 (a pattern does not compile): {p:?}: {e}"
                    ));
                    None
                }
            };
            let joined = spec
                .patterns
                .iter()
                .map(|p| format!("(?:{p})"))
                .collect::<Vec<_>>()
                .join("|");
            // Each pattern alone first, so a problem names the pattern.
            let each_ok = spec
                .patterns
                .iter()
                .all(|p| compile("patterns", p).is_some());
            let patterns = if each_ok && !spec.patterns.is_empty() {
                compile("patterns", &joined)
            } else {
                None
            };
            let require: Vec<Option<Regex>> =
                spec.require.iter().map(|p| compile("require", p)).collect();
            let unless: Vec<Option<Regex>> =
                spec.unless.iter().map(|p| compile("unless", p)).collect();
            if let (Some(patterns), true, true) = (
                patterns,
                require.iter().all(Option::is_some),
                unless.iter().all(Option::is_some),
            ) {
                let index = rules.len() as u32;
                for k in &spec.keywords {
                    if k.is_empty() {
                        continue;
                    }
                    let ki = *keyword_index.entry(k.clone()).or_insert_with(|| {
                        keywords.push(k.clone());
                        owners.push(Vec::new());
                        keywords.len() - 1
                    });
                    if !owners[ki].contains(&index) {
                        owners[ki].push(index);
                    }
                }
                rules.push(Rule {
                    spec,
                    patterns,
                    require: require.into_iter().flatten().collect(),
                    unless: unless.into_iter().flatten().collect(),
                });
            }
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        let automaton = AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .build(&keywords)
            .map_err(|e| vec![format!("关键词自动机无法构建 (the keyword automaton): {e}")])?;
        Ok(RuleSet {
            name: file.name,
            version: file.version,
            rules,
            keywords: automaton,
            owners,
        })
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    pub fn rule(&self, index: usize) -> &Rule {
        &self.rules[index]
    }

    /// Every finding in `text`, in order of start (then rule); one per rule and span.
    pub fn scan(&self, text: &str) -> Vec<Hit> {
        let mut hits = Vec::new();
        // The clause each rule was last tried on: hits arrive in text order, so a rule is
        // tried once per clause however many of its keywords the clause holds.
        let mut tried: Vec<usize> = vec![usize::MAX; self.rules.len()];
        for m in self.keywords.find_overlapping_iter(text) {
            let owners = &self.owners[m.pattern().as_usize()];
            let (cs, ce) = clause(text, m.start(), m.end());
            for &r in owners {
                let r = r as usize;
                if tried[r] == cs {
                    continue;
                }
                tried[r] = cs;
                let rule = &self.rules[r];
                let c = &text[cs..ce];
                if rule.unless.iter().any(|u| u.is_match(c))
                    || !rule.require.iter().all(|q| q.is_match(c))
                {
                    continue;
                }
                for p in rule.patterns.find_iter(c) {
                    if p.start() == p.end() {
                        continue;
                    }
                    hits.push(Hit {
                        rule: r,
                        start: cs + p.start(),
                        end: cs + p.end(),
                        clause_start: cs,
                        clause_end: ce,
                    });
                }
            }
        }
        hits.sort_unstable_by_key(|h| (h.start, h.rule, h.end));
        hits.dedup_by_key(|h| (h.start, h.rule, h.end));
        hits
    }

    /// Runs every rule's examples: each positive one must be found by its rule, no negative
    /// one may be. Returns the failures, each naming the rule and the example.
    pub fn check_examples(&self) -> Vec<String> {
        let mut failures = Vec::new();
        for (i, rule) in self.rules.iter().enumerate() {
            for p in &rule.spec.positive {
                if !self.scan(p).iter().any(|h| h.rule == i) {
                    failures.push(format!(
                        "{}: 未检出正例 (positive example not found): {p}",
                        rule.id()
                    ));
                }
            }
            for n in &rule.spec.negative {
                if self.scan(n).iter().any(|h| h.rule == i) {
                    failures.push(format!(
                        "{}: 反例被误报 (negative example found): {n}",
                        rule.id()
                    ));
                }
            }
            if rule.spec.positive.is_empty() {
                failures.push(format!("{}: 没有正例 (no positive example)", rule.id()));
            }
        }
        failures
    }
}

/// Whether `c` ends a clause.
fn is_clause_end(c: char) -> bool {
    matches!(c, '。' | '；' | ';' | '！' | '!' | '？' | '?' | '\n' | '\r')
}

fn floor_boundary(text: &str, mut i: usize) -> usize {
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn ceil_boundary(text: &str, mut i: usize) -> usize {
    while i < text.len() && !text.is_char_boundary(i) {
        i += 1;
    }
    i
}

/// The clause around the keyword at `start..end` (byte offsets, without the delimiters).
pub fn clause(text: &str, start: usize, end: usize) -> (usize, usize) {
    // Within MAX_SIDE bytes each way, on character boundaries.
    let lo = ceil_boundary(text, start.saturating_sub(MAX_SIDE));
    let hi = floor_boundary(text, end.saturating_add(MAX_SIDE).min(text.len()));
    let cs = match text[lo..start].rfind(is_clause_end) {
        Some(i) => {
            let after = lo + i;
            after + text[after..].chars().next().map_or(1, char::len_utf8)
        }
        None => lo,
    };
    let ce = match text[end..hi].find(is_clause_end) {
        Some(i) => end + i,
        None => hi,
    };
    (cs, ce)
}

/// Turns increasing byte offsets of one text into character offsets, counting each byte once.
#[derive(Debug)]
pub struct CharCounter<'a> {
    text: &'a str,
    byte: usize,
    chars: usize,
}

impl<'a> CharCounter<'a> {
    pub fn new(text: &'a str) -> CharCounter<'a> {
        CharCounter {
            text,
            byte: 0,
            chars: 0,
        }
    }

    /// The character offset of byte offset `at` (a char boundary). Offsets should not
    /// decrease; one that does is counted from the start again.
    pub fn at(&mut self, at: usize) -> usize {
        if at < self.byte {
            self.byte = 0;
            self.chars = 0;
        }
        self.chars += count_chars(&self.text.as_bytes()[self.byte..at]);
        self.byte = at;
        self.chars
    }
}

/// The number of characters in UTF-8 bytes (those that are not continuation bytes).
pub fn count_chars(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| (b as i8) >= -0x40).count()
}

#[cfg(test)]
mod tests;
