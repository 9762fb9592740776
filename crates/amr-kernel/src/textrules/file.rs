//! The rule file: TOML, one `[[rule]]` table per rule, each citing the provision it enforces.
//!
//! ```toml
//! name = "contract"                 # the review domain (free text)
//! version = "2026-11"
//!
//! [[rule]]
//! id = "HT-INTERPRET"               # letters, digits, '-', '_', '.'; unique in the file
//! title = "经营者保留最终解释权"
//! title_en = "the business keeps the final say on what the terms mean"   # optional
//! basis = "法释〔2022〕8号 第一条第三项"   # the article(s) the rule enforces
//! keywords = ["解释权"]             # literal anchors for the Aho-Corasick prefilter
//! patterns = ['(最终|最后)解释权']   # regexes tried on the clause around a keyword; the match is the finding
//! require = []                     # optional: regexes that must all match the clause too
//! unless = ['双方协商']             # optional: a clause matching any of these is not a finding
//! suggestion = "删除该条款……"        # optional: a fair wording
//! positive = ["本活动最终解释权归本公司所有"]   # must be found (the tests run them)
//! negative = ["对格式条款有两种以上解释的，应当作出不利于提供格式条款一方的解释"]  # must not be
//! ```
//!
//! A pattern is only tried in a clause that holds one of the rule's keywords, so every text a
//! pattern should find must contain a keyword; the examples check it.

use serde::Deserialize;

/// A rule file as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleFile {
    /// The review domain the file is for (e.g. `contract`).
    #[serde(default)]
    pub name: String,
    /// The file's own version or date.
    #[serde(default)]
    pub version: String,
    #[serde(default, rename = "rule")]
    pub rules: Vec<RuleSpec>,
}

/// One rule as written.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    pub id: String,
    pub title: String,
    #[serde(default)]
    pub title_en: String,
    /// The legal provision(s) the rule enforces.
    pub basis: String,
    pub keywords: Vec<String>,
    pub patterns: Vec<String>,
    #[serde(default)]
    pub require: Vec<String>,
    #[serde(default)]
    pub unless: Vec<String>,
    #[serde(default)]
    pub suggestion: String,
    #[serde(default)]
    pub positive: Vec<String>,
    #[serde(default)]
    pub negative: Vec<String>,
}

impl RuleFile {
    /// Parses the TOML text of a rule file (the rules are checked by
    /// [`RuleSet::compile`](super::RuleSet::compile)).
    pub fn parse(text: &str) -> Result<RuleFile, String> {
        toml::from_str(text)
            .map_err(|e| format!("规则文件无法解析 (the rule file cannot be read): {e}"))
    }
}
