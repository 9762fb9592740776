//! Unfair standard-form clauses (不公平格式条款).
//!
//! - the rules: `data/contract_rules.toml` (each rule with its legal basis, patterns, a fair
//!   wording and examples), compiled once by the kernel's text-rule engine ([`rules`]);
//! - [`report`]: the matter kind `contract_report` (prefix `HT`) a public "你提我点" report
//!   becomes: received → reviewing → confirmed / dismissed;
//! - [`store`]: the reports' own rows (the clause, the contract text, what the rules found),
//!   model contracts by industry, the export of confirmed clauses as labelled JSONL lines;
//! - [`web`]: `/contracts/check`, `/contracts/reports`, `/contracts/models` (public);
//!   `/office/contracts` (the reports queue), `/office/contracts/models` (officers).

pub mod report;
pub mod store;
pub mod web;

use std::sync::OnceLock;

use amr_kernel::textrules::RuleSet;
use serde::Serialize;

/// The shipped rule file.
pub const RULES_TOML: &str = include_str!("../../data/contract_rules.toml");

/// The shipped rules, compiled on first use. The file is part of the binary, so a file that
/// does not compile is a build defect (the crate's tests compile it and run its examples).
pub fn rules() -> &'static RuleSet {
    static RULES: OnceLock<RuleSet> = OnceLock::new();
    RULES.get_or_init(|| match RuleSet::from_toml(RULES_TOML) {
        Ok(r) => r,
        Err(problems) => panic!("contract_rules.toml: {}", problems.join("; ")),
    })
}

/// A finding as pages and the API show it: character offsets, the clause around it.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub rule: String,
    pub title: String,
    pub basis: String,
    pub suggestion: String,
    /// Character offsets of the match in the text.
    pub start: usize,
    pub end: usize,
    pub text: String,
    /// The clause around the match, split for highlighting.
    pub before: String,
    pub after: String,
}

/// Every finding of the shipped rules in `text`.
pub fn check(text: &str) -> Vec<Finding> {
    let rules = rules();
    let mut chars = amr_kernel::textrules::CharCounter::new(text);
    rules
        .scan(text)
        .into_iter()
        .map(|h| {
            let r = rules.rule(h.rule);
            let start = chars.at(h.start);
            let found = &text[h.start..h.end];
            Finding {
                rule: r.id().to_string(),
                title: r.title().to_string(),
                basis: r.basis().to_string(),
                suggestion: r.suggestion().to_string(),
                start,
                end: start + found.chars().count(),
                text: found.to_string(),
                before: text[h.clause_start..h.start].to_string(),
                after: text[h.end..h.clause_end].to_string(),
            }
        })
        .collect()
}

/// Text cut to `max` characters with an ellipsis, for lists.
pub fn short(s: &str, max: usize) -> String {
    let s = s.trim();
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(max).collect();
        out.push('…');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rule_file_compiles_and_its_examples_pass() {
        let failures = rules().check_examples();
        assert!(failures.is_empty(), "{}", failures.join("\n"));
        assert!(rules().rules().len() >= 10);
        for r in rules().rules() {
            assert!(!r.suggestion().is_empty(), "{} has no suggestion", r.id());
            assert!(
                [
                    "民法典",
                    "消费者权益保护法",
                    "法释〔2022〕8号",
                    "合同行政监督管理办法"
                ]
                .iter()
                .any(|b| r.basis().contains(b)),
                "{} cites none of the four sources",
                r.id()
            );
        }
    }

    #[test]
    fn check_gives_character_offsets_and_the_clause() {
        let text = "第一条 甲方提供服务。第二条 本活动最终解释权归甲方所有。";
        let f = check(text);
        assert_eq!(f.len(), 1);
        let chars: Vec<char> = text.chars().collect();
        let found: String = chars[f[0].start..f[0].end].iter().collect();
        assert_eq!(found, f[0].text);
        assert_eq!(f[0].rule, "HT-INTERPRET");
        assert_eq!(
            format!("{}{}{}", f[0].before, f[0].text, f[0].after),
            "第二条 本活动最终解释权归甲方所有"
        );
    }
}
