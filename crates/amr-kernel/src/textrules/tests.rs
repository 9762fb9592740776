use super::*;

const FILE: &str = r#"
name = "test"
version = "1"

[[rule]]
id = "R-INTERPRET"
title = "最终解释权"
basis = "法释〔2022〕8号 第一条"
keywords = ["解释权"]
patterns = ['(最终|最后)解释权']
unless = ['不享有']
suggestion = "删除"
positive = ["本活动最终解释权归本店所有"]
negative = ["本店不享有最终解释权", "对条款的解释权属于双方"]

[[rule]]
id = "R-NORETURN"
title = "概不退换"
basis = "消费者权益保护法 第二十六条"
keywords = ["不退", "不换"]
patterns = ['(概|均|一律)不(退|换)', '不退不换']
require = ['售出|出售|购买']
positive = ["商品一经售出概不退换", "购买后不退不换"]
negative = ["本店概不退换", "商品售出七日内可退换"]
"#;

fn set() -> RuleSet {
    RuleSet::from_toml(FILE).unwrap()
}

#[test]
fn examples_pass() {
    assert_eq!(set().check_examples(), Vec::<String>::new());
}

#[test]
fn finds_spans_with_rule_and_clause() {
    let s = set();
    let text = "第一条 双方友好协商。第二条 本活动最终解释权归本店所有；第三条 其他。";
    let hits = s.scan(text);
    assert_eq!(hits.len(), 1);
    let h = hits[0];
    assert_eq!(s.rule(h.rule).id(), "R-INTERPRET");
    assert_eq!(&text[h.start..h.end], "最终解释权");
    assert_eq!(
        &text[h.clause_start..h.clause_end],
        "第二条 本活动最终解释权归本店所有"
    );
    assert_eq!(s.rule(h.rule).basis(), "法释〔2022〕8号 第一条");
}

#[test]
fn unless_and_require_work_per_clause() {
    let s = set();
    // `unless` suppresses only its own clause.
    let hits = s.scan("本店不享有最终解释权。最后解释权归商场。");
    assert_eq!(hits.len(), 1);
    // `require` must hold in the same clause, not elsewhere in the text.
    assert!(s.scan("商品售出。本店概不退换。").is_empty());
    assert_eq!(s.scan("商品售出后概不退换").len(), 1);
}

#[test]
fn one_finding_per_rule_and_span_with_overlapping_keywords() {
    let s = set();
    // "不退" and "不换" both hit; the rule is tried once on the clause.
    let text = "购买后不退不换";
    let hits = s.scan(text);
    assert_eq!(hits.len(), 1, "{hits:?}");
    assert_eq!(&text[hits[0].start..hits[0].end], "不退不换");
    // Two matches of the rule in one clause are two findings.
    let text = "售出商品概不退，赠品一律不换";
    assert_eq!(s.scan(text).len(), 2);
}

#[test]
fn several_rules_on_one_text_in_order() {
    let s = set();
    let text = "商品一经售出概不退换。\n本活动最终解释权归本店。";
    let hits = s.scan(text);
    let ids: Vec<&str> = hits.iter().map(|h| s.rule(h.rule).id()).collect();
    assert_eq!(ids, ["R-NORETURN", "R-INTERPRET"]);
    assert!(hits[0].start < hits[1].start);
}

#[test]
fn a_clause_is_cut_at_max_side() {
    let long = "甲".repeat(400);
    let text = format!("{long}最终解释权{long}");
    let hits = set().scan(&text);
    assert_eq!(hits.len(), 1);
    let h = hits[0];
    assert!(h.start - h.clause_start <= MAX_SIDE);
    assert!(h.clause_end - h.end <= MAX_SIDE);
    assert!(text.is_char_boundary(h.clause_start) && text.is_char_boundary(h.clause_end));
}

#[test]
fn nothing_found_in_empty_or_unrelated_text() {
    let s = set();
    assert!(s.scan("").is_empty());
    assert!(s.scan("解释权").is_empty());
    assert!(s.scan("双方应当按照约定全面履行自己的义务。").is_empty());
}

#[test]
fn bad_files_name_every_problem() {
    let bad = r#"
[[rule]]
id = "A B"
title = ""
basis = ""
keywords = []
patterns = ['(unclosed']

[[rule]]
id = "X"
title = "x"
basis = "y"
keywords = ["k"]
patterns = ['k']

[[rule]]
id = "X"
title = "x"
basis = "y"
keywords = [""]
patterns = []
require = ['[z']
"#;
    let problems = RuleSet::from_toml(bad).unwrap_err();
    let all = problems.join("\n");
    for needle in [
        "the id is 1 to 64",
        "no title",
        "no legal basis",
        "no keywords",
        "(unclosed",
        "the id is used twice",
        "an empty keyword",
        "no patterns",
        "[z",
    ] {
        assert!(all.contains(needle), "{needle} missing in:\n{all}");
    }
    assert!(RuleSet::from_toml("[[rule]]\nid = 1").is_err());
    assert!(RuleSet::from_toml("").is_err());
    assert!(RuleSet::from_toml("[[rule]]\nid=\"a\"\ntitle=\"t\"\nbasis=\"b\"\nkeywords=[\"k\"]\npatterns=[\"k\"]\nextra=1").is_err());
}

#[test]
fn examples_that_fail_are_reported() {
    let file = FILE.replace("\"本店概不退换\",", "\"售出概不退换\",");
    let s = RuleSet::from_toml(&file).unwrap();
    let failures = s.check_examples();
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert!(failures[0].contains("R-NORETURN") && failures[0].contains("售出概不退换"));
}

#[test]
fn char_offsets_count_characters() {
    let text = "ab甲乙c最终解释权";
    let mut c = CharCounter::new(text);
    let start = text.find("最终").unwrap();
    assert_eq!(c.at(start), 5);
    assert_eq!(c.at(text.len()), 10);
    assert_eq!(c.at(0), 0);
    assert_eq!(count_chars("甲a".as_bytes()), 2);
}

#[test]
fn clause_handles_edges() {
    let text = "最终解释权";
    assert_eq!(clause(text, 0, text.len()), (0, text.len()));
    let text = "！最终解释权？";
    let (s, e) = clause(text, 3, 3 + "最终解释权".len());
    assert_eq!(&text[s..e], "最终解释权");
}
