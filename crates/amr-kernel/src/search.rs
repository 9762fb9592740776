//! Full-text search plumbing that knows no field of work: a Chinese tokenizer over one shared
//! jieba dictionary, and helpers to open an index in a directory and to get a writer.
//!
//! - [`jieba`]: the process-wide [`Jieba`] (loading the dictionary costs ~0.2 s in release,
//!   ~1 s in debug, and each instance holds its own copy, so there is exactly one).
//! - [`JiebaTokenizer`]: a tantivy tokenizer over that shared instance. Cloning it clones an
//!   [`Arc`], which matters because tantivy clones the analyzer every time it fetches it
//!   (`tantivy-jieba`'s `with_jieba` would deep-copy the dictionary, ~25 ms, each time).
//! - [`JiebaListTokenizer`]: the same words for text that is a list of standard phrases
//!   (a business scope: `软件开发；信息技术咨询服务；…`): each phrase is cut once per thread
//!   and remembered, and a word is indexed once per text.
//! - [`register_tokenizers`]: registers [`JIEBA`] (words, search mode) and [`BIGRAM`]
//!   (overlapping pairs of characters) on an index; a field's schema names one of them. A
//!   [`JiebaListTokenizer`] is registered by the crate that owns the field, with that field's
//!   stop phrases. All fold case ([`fold_case`]) as they cut, rather than in a separate filter:
//!   Chinese has no case, so the common path is a scan that changes nothing.
//! - [`open_or_create`], [`writer`]: an index in a directory, and its writer.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, LazyLock};

use jieba_rs::{Jieba, TokenizeMode};
use tantivy::schema::Schema;
use tantivy::tokenizer::{TextAnalyzer, Token, TokenStream, Tokenizer};
use tantivy::{Index, IndexWriter, TantivyDocument};

/// The name under which [`JiebaTokenizer`] is registered.
pub const JIEBA: &str = "jieba";
/// The name under which the character-bigram tokenizer is registered.
pub const BIGRAM: &str = "bigram";

/// Lower-cases the characters that have case: ASCII and full-width Latin letters, and any
/// other character below the CJK blocks (Greek, Cyrillic, ...). CJK text is returned as is,
/// without allocating.
pub fn fold_case(s: &str) -> Cow<'_, str> {
    let has_case = |c: char| c < '\u{3000}' || ('\u{FF21}'..='\u{FF3A}').contains(&c);
    if !s.chars().any(|c| has_case(c) && c.is_uppercase()) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if has_case(c) {
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

static JIEBA_INSTANCE: LazyLock<Arc<Jieba>> = LazyLock::new(|| Arc::new(Jieba::new()));

/// The process-wide jieba instance (the embedded dictionary, loaded on first use).
pub fn jieba() -> Arc<Jieba> {
    Arc::clone(&JIEBA_INSTANCE)
}

/// A tantivy tokenizer that cuts Chinese text into words with a shared [`Jieba`].
///
/// It uses jieba's search mode (long words also yield their dictionary sub-words, so
/// `中华人民共和国` is found by `人民` too) with the HMM for words not in the dictionary.
/// Tokens made only of whitespace or punctuation are dropped.
#[derive(Clone)]
pub struct JiebaTokenizer {
    jieba: Arc<Jieba>,
}

impl JiebaTokenizer {
    pub fn new(jieba: Arc<Jieba>) -> JiebaTokenizer {
        JiebaTokenizer { jieba }
    }
}

impl Default for JiebaTokenizer {
    fn default() -> JiebaTokenizer {
        JiebaTokenizer::new(jieba())
    }
}

impl std::fmt::Debug for JiebaTokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JiebaTokenizer")
    }
}

/// The tokens of one text, handed out one by one.
#[derive(Debug)]
pub struct JiebaTokenStream {
    tokens: Vec<Token>,
    index: usize,
}

impl Tokenizer for JiebaTokenizer {
    type TokenStream<'a> = JiebaTokenStream;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> JiebaTokenStream {
        let tokens = self
            .jieba
            .tokenize(text, TokenizeMode::Search, true)
            .into_iter()
            .filter(|t| t.word.chars().any(char::is_alphanumeric))
            .enumerate()
            .map(|(position, t)| Token {
                offset_from: t.byte_start,
                offset_to: t.byte_end,
                position,
                text: fold_case(t.word).into_owned(),
                position_length: 1,
            })
            .collect();
        JiebaTokenStream { tokens, index: 0 }
    }
}

/// The characters that separate the phrases of a list.
fn is_list_separator(c: char) -> bool {
    matches!(
        c,
        '；' | ';' | '，' | ',' | '、' | '。' | '：' | ':' | '（' | '）' | '(' | ')' | '\n' | '\r'
    )
}

/// Phrases remembered per thread before the memory is cleared and started again.
const PHRASE_CACHE_MAX: usize = 200_000;

/// A phrase and its words.
type PhraseWords = HashMap<Box<str>, Box<[Box<str>]>>;

thread_local! {
    static PHRASE_WORDS: RefCell<PhraseWords> = RefCell::new(HashMap::new());
}

/// A tantivy tokenizer for text that is a list of phrases (see the module docs): the words of
/// [`JiebaTokenizer`], each once per text, positions in order of first appearance, offsets
/// those of the phrase the word came from.
///
/// Stop phrases ([`JiebaListTokenizer::with_stop_phrases`]) are phrases left out whole: the
/// boilerplate a field's texts all carry, which would cost every document the same postings
/// and find nothing.
#[derive(Clone)]
pub struct JiebaListTokenizer {
    jieba: Arc<Jieba>,
    stop: Arc<[&'static str]>,
}

impl Default for JiebaListTokenizer {
    fn default() -> JiebaListTokenizer {
        JiebaListTokenizer {
            jieba: jieba(),
            stop: Arc::from([]),
        }
    }
}

impl JiebaListTokenizer {
    /// A tokenizer that skips the phrases in `stop` (compared after trimming).
    pub fn with_stop_phrases(stop: &[&'static str]) -> JiebaListTokenizer {
        JiebaListTokenizer {
            jieba: jieba(),
            stop: Arc::from(stop),
        }
    }
}

impl std::fmt::Debug for JiebaListTokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JiebaListTokenizer")
    }
}

impl Tokenizer for JiebaListTokenizer {
    type TokenStream<'a> = JiebaTokenStream;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> JiebaTokenStream {
        let mut tokens: Vec<Token> = Vec::new();
        let mut start = 0;
        for part in text.split(is_list_separator) {
            let (from, to) = (start, start + part.len());
            start = to + text[to..].chars().next().map_or(0, char::len_utf8);
            let phrase = part.trim();
            if phrase.is_empty() || self.stop.contains(&phrase) {
                continue;
            }
            PHRASE_WORDS.with(|cache| {
                let mut cache = cache.borrow_mut();
                if !cache.contains_key(phrase) {
                    if cache.len() >= PHRASE_CACHE_MAX {
                        cache.clear();
                    }
                    let words: Box<[Box<str>]> = self
                        .jieba
                        .cut_for_search(phrase, true)
                        .into_iter()
                        .filter(|t| t.word.chars().any(char::is_alphanumeric))
                        .map(|t| Box::from(fold_case(t.word).as_ref()))
                        .collect();
                    cache.insert(Box::from(phrase), words);
                }
                for w in cache.get(phrase).into_iter().flatten() {
                    if !tokens.iter().any(|t| t.text == **w) {
                        tokens.push(Token {
                            offset_from: from,
                            offset_to: to,
                            position: tokens.len(),
                            text: w.to_string(),
                            position_length: 1,
                        });
                    }
                }
            });
        }
        JiebaTokenStream { tokens, index: 0 }
    }
}

/// Overlapping pairs of characters, case folded: `济南泉城` → `济南`, `南泉`, `泉城`.
#[derive(Clone, Debug, Default)]
pub struct BigramTokenizer;

impl Tokenizer for BigramTokenizer {
    type TokenStream<'a> = BigramTokenStream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> BigramTokenStream<'a> {
        BigramTokenStream {
            text: fold_case(text),
            next: 0,
            token: Token::default(),
        }
    }
}

/// The pairs of [`BigramTokenizer`], produced one at a time in one reused token (no
/// allocation a pair: the index build tokenizes every name).
#[derive(Debug)]
pub struct BigramTokenStream<'a> {
    text: Cow<'a, str>,
    /// Byte offset of the next pair's first character.
    next: usize,
    token: Token,
}

impl TokenStream for BigramTokenStream<'_> {
    fn advance(&mut self) -> bool {
        let mut chars = self.text[self.next..].chars();
        let (Some(a), Some(b)) = (chars.next(), chars.next()) else {
            return false;
        };
        let from = self.next;
        let t = &mut self.token;
        t.text.clear();
        t.text.push(a);
        t.text.push(b);
        t.position = if from == 0 { 0 } else { t.position + 1 };
        t.offset_from = from;
        t.offset_to = from + a.len_utf8() + b.len_utf8();
        t.position_length = 1;
        self.next = from + a.len_utf8();
        true
    }

    fn token(&self) -> &Token {
        &self.token
    }

    fn token_mut(&mut self) -> &mut Token {
        &mut self.token
    }
}

impl TokenStream for JiebaTokenStream {
    fn advance(&mut self) -> bool {
        if self.index < self.tokens.len() {
            self.index += 1;
            true
        } else {
            false
        }
    }

    fn token(&self) -> &Token {
        &self.tokens[self.index - 1]
    }

    fn token_mut(&mut self) -> &mut Token {
        &mut self.tokens[self.index - 1]
    }
}

/// The words of `text` as [`JIEBA`] indexes them (for building queries by hand).
pub fn words(text: &str) -> Vec<String> {
    let mut analyzer = jieba_analyzer();
    let mut stream = analyzer.token_stream(text);
    let mut out = Vec::new();
    while let Some(t) = stream.next() {
        out.push(t.text.clone());
    }
    out
}

fn jieba_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(JiebaTokenizer::default()).build()
}

/// Registers [`JIEBA`] and [`BIGRAM`] on `index` (needed after every open: tokenizers are
/// not stored in the index).
pub fn register_tokenizers(index: &Index) {
    index.tokenizers().register(JIEBA, jieba_analyzer());
    index
        .tokenizers()
        .register(BIGRAM, TextAnalyzer::builder(BigramTokenizer).build());
}

/// Opens the index in `dir`, or creates an empty one with `schema` (creating the directory).
/// An existing index with another schema is an error, so a changed schema is noticed and the
/// index rebuilt rather than misread. The tokenizers are registered.
pub fn open_or_create(dir: &Path, schema: Schema) -> anyhow::Result<Index> {
    std::fs::create_dir_all(dir)
        .map_err(|e| anyhow::anyhow!("cannot create the index folder {}: {e}", dir.display()))?;
    let directory = tantivy::directory::MmapDirectory::open(dir)
        .map_err(|e| anyhow::anyhow!("cannot open the index folder {}: {e}", dir.display()))?;
    let index = Index::open_or_create(directory, schema).map_err(|e| {
        anyhow::anyhow!(
            "检索索引 {} 无法打开（{e}），请用 amr search reindex 重建 \
             (the index in {} cannot be opened ({e}); rebuild it with `amr search reindex`)",
            dir.display(),
            dir.display()
        )
    })?;
    register_tokenizers(&index);
    Ok(index)
}

/// A writer with `memory_budget` bytes in total, on at most `threads` indexing threads
/// (tantivy needs at least 15 MB per thread; fewer threads are used if the budget is small).
pub fn writer(
    index: &Index,
    threads: usize,
    memory_budget: usize,
) -> anyhow::Result<IndexWriter<TantivyDocument>> {
    const PER_THREAD_MIN: usize = 15_000_000;
    let threads = threads.clamp(1, (memory_budget / PER_THREAD_MIN).max(1));
    Ok(index.writer_with_num_threads(threads, memory_budget.max(PER_THREAD_MIN))?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_cut_lower_cased_and_without_punctuation() {
        let w = words("济南泉城ABC科技有限公司，软件开发");
        assert!(w.contains(&"济南".to_string()), "{w:?}");
        assert!(w.contains(&"abc".to_string()), "{w:?}");
        assert!(w.contains(&"软件".to_string()), "{w:?}");
        assert!(!w.iter().any(|t| t == "，"), "{w:?}");
    }

    fn texts(mut t: impl Tokenizer, text: &str) -> Vec<String> {
        let mut stream = t.token_stream(text);
        let mut out = Vec::new();
        while let Some(t) = stream.next() {
            out.push(t.text.clone());
        }
        out
    }

    #[test]
    fn case_is_folded_only_where_there_is_case() {
        assert!(matches!(fold_case("济南泉城"), Cow::Borrowed(_)));
        assert_eq!(fold_case("ABC济南Ｘ"), "abc济南ｘ");
        assert_eq!(fold_case("ΑΒΓ"), "αβγ");
    }

    #[test]
    fn bigrams_are_pairs_of_characters() {
        assert_eq!(texts(BigramTokenizer, "济南AB"), ["济南", "南a", "ab"]);
        assert!(texts(BigramTokenizer, "济").is_empty());
        assert!(texts(BigramTokenizer, "").is_empty());
        // One token reused: positions count from 0, offsets point into the folded text.
        let mut t = BigramTokenizer;
        let mut s = t.token_stream("济南AB");
        let mut seen = Vec::new();
        while let Some(tok) = s.next() {
            seen.push((
                tok.position,
                tok.offset_from,
                tok.offset_to,
                tok.text.clone(),
            ));
        }
        assert_eq!(
            seen,
            [
                (0, 0, 6, "济南".to_string()),
                (1, 3, 7, "南a".to_string()),
                (2, 6, 8, "ab".to_string())
            ]
        );
    }

    #[test]
    fn list_words_are_the_phrase_words_once_each() {
        let text = "一般项目：软件开发；信息技术咨询服务；软件开发、ABC销售";
        let listed = texts(JiebaListTokenizer::default(), text);
        let mut expected: Vec<String> = Vec::new();
        for w in words(text) {
            if !expected.contains(&w) {
                expected.push(w);
            }
        }
        let mut a = listed.clone();
        a.sort();
        expected.sort();
        assert_eq!(a, expected, "{listed:?}");
        // Cached the second time, same answer; offsets point at the phrase.
        assert_eq!(texts(JiebaListTokenizer::default(), text), listed);
        let stopped = texts(
            JiebaListTokenizer::with_stop_phrases(&["一般项目", "信息技术咨询服务"]),
            text,
        );
        assert!(stopped.contains(&"软件".to_string()), "{stopped:?}");
        assert!(
            !stopped.iter().any(|w| w == "咨询" || w == "项目"),
            "{stopped:?}"
        );
        let mut t = JiebaListTokenizer::default();
        let mut s = t.token_stream(text);
        s.advance();
        let tok = s.token();
        assert!(
            text[tok.offset_from..tok.offset_to].contains(&tok.text),
            "{tok:?}"
        );
    }
}
