//! Full-text search plumbing that knows no field of work: a Chinese tokenizer over one shared
//! jieba dictionary, and helpers to open an index in a directory and to get a writer.
//!
//! - [`jieba`]: the process-wide [`Jieba`] (loading the dictionary costs ~0.2 s in release,
//!   ~1 s in debug, and each instance holds its own copy, so there is exactly one).
//! - [`JiebaTokenizer`]: a tantivy tokenizer over that shared instance. Cloning it clones an
//!   [`Arc`], which matters because tantivy clones the analyzer every time it fetches it
//!   (`tantivy-jieba`'s `with_jieba` would deep-copy the dictionary, ~25 ms, each time).
//! - [`register_tokenizers`]: registers [`JIEBA`] (words, search mode, lower-cased) and
//!   [`BIGRAM`] (overlapping pairs of characters, lower-cased) on an index; a field's
//!   schema names one of them.
//! - [`open_or_create`], [`writer`]: an index in a directory, and its writer.

use std::path::Path;
use std::sync::{Arc, LazyLock};

use jieba_rs::{Jieba, TokenizeMode};
use tantivy::schema::Schema;
use tantivy::tokenizer::{LowerCaser, NgramTokenizer, TextAnalyzer, Token, TokenStream, Tokenizer};
use tantivy::{Index, IndexWriter, TantivyDocument};

/// The name under which [`JiebaTokenizer`] is registered.
pub const JIEBA: &str = "jieba";
/// The name under which the character-bigram tokenizer is registered.
pub const BIGRAM: &str = "bigram";

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
                text: t.word.to_string(),
                position_length: 1,
            })
            .collect();
        JiebaTokenStream { tokens, index: 0 }
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
    TextAnalyzer::builder(JiebaTokenizer::default())
        .filter(LowerCaser)
        .build()
}

fn bigram_analyzer() -> TextAnalyzer {
    let bigrams = NgramTokenizer::new(2, 2, false).expect("2..=2 is a valid n-gram range");
    TextAnalyzer::builder(bigrams).filter(LowerCaser).build()
}

/// Registers [`JIEBA`] and [`BIGRAM`] on `index` (needed after every open: tokenizers are not
/// stored in the index).
pub fn register_tokenizers(index: &Index) {
    index.tokenizers().register(JIEBA, jieba_analyzer());
    index.tokenizers().register(BIGRAM, bigram_analyzer());
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
            "the index in {} cannot be opened ({e}); rebuild it",
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
}
