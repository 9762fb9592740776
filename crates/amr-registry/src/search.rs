//! The search index of entities: by a few characters of the name, by words of the business
//! scope, by a USCC prefix; filtered by city, county, type and status; ranked.
//!
//! The index holds only what a results list shows (USCC, name, type, status, division); the
//! record itself always comes from the database. Fields:
//!
//! | field | indexed as | why |
//! |---|---|---|
//! | `uscc` | raw term, no field length | upsert key; prefix search by regex on the term dictionary |
//! | `name` | jieba words, with frequencies | whole words rank high |
//! | `name_bigram` | character pairs, documents only | two or three characters typed (`泉城`, `老李`) always match |
//! | `scope` | jieba words once each, documents only | words of the business scope |
//! | `city`, `county` | raw 4- and 6-digit codes, no field length | filters |
//! | `entity_type`, `status` | raw keys, no field length | filters |
//!
//! A server that finds an index built with another schema (an earlier version) rebuilds it
//! before it answers ([`open_current`]).
//!
//! [`reindex`] builds a fresh index next to the target from a streaming read of every entity
//! and swaps it in when complete; [`SearchFollower`] keeps it current from the event log.

mod update;

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Mutex;

use serde::Serialize;
use tantivy::collector::{Count, TopDocs};
use tantivy::query::{
    BooleanQuery, BoostQuery, ConstScoreQuery, Occur, Query, RegexQuery, TermQuery,
};
use tantivy::schema::{
    Field, IndexRecordOption, STORED, Schema, TextFieldIndexing, TextOptions, Value,
};
use tantivy::tokenizer::TokenStream;
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};

use amr_kernel::error::AppError;
use amr_kernel::search::{self as ks, BIGRAM, JIEBA};

use crate::model::{Entity, EntityType, Status};

pub use update::{
    SearchFollower, built_by_another_version, open_current, reindex, reindex_command,
};

/// The durable name of the follower's cursor.
pub const CONSUMER: &str = "registry.search";
/// Most results per page, and the deepest offset served.
pub const MAX_LIMIT: usize = 50;
pub const MAX_OFFSET: usize = 1_000;
/// The longest query text, in characters.
pub const MAX_QUERY_CHARS: usize = 100;
/// Writer memory of a rebuild (all threads together) and of the follower.
const BUILD_MEMORY: usize = 512_000_000;
const FOLLOW_MEMORY: usize = 20_000_000;
/// The characters of a USCC (GB 32100: digits and capitals without I, O, S, V, Z).
const USCC_ALPHABET: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";

/// A search: `text` and optional filters; `offset`/`limit` page through the ranked hits.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SearchQuery {
    pub text: String,
    /// 4-digit prefecture code.
    pub city: Option<String>,
    /// 6-digit county code.
    pub county: Option<String>,
    pub entity_type: Option<EntityType>,
    pub status: Option<Status>,
    pub offset: usize,
    pub limit: usize,
}

/// One result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hit {
    pub uscc: String,
    pub name: String,
    pub status: Status,
    pub entity_type: EntityType,
    pub division: String,
    pub score: f32,
}

/// A page of results and how many entities match in all.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchResults {
    pub total: usize,
    pub items: Vec<Hit>,
}

#[derive(Debug, Clone, Copy)]
struct Fields {
    uscc: Field,
    name: Field,
    name_bigram: Field,
    scope: Field,
    city: Field,
    county: Field,
    entity_type: Field,
    status: Field,
    division: Field,
}

/// The tokenizer of the business scope: [`ks::JiebaListTokenizer`] without the standard
/// clauses that close nearly every scope (经营范围规范表述), which match every entity.
const SCOPE_TOKENIZER: &str = "registry_scope";

/// Phrases of a business scope that say nothing about the business.
const SCOPE_STOP_PHRASES: [&str; 6] = [
    "依法须经批准的项目",
    "经相关部门批准后方可开展经营活动",
    "具体经营项目以相关部门批准文件或许可证件为准",
    "一般项目",
    "许可项目",
    "除依法须经批准的项目外",
];

/// Opens (or creates) an entity index in `dir` with the kernel's tokenizers and the scope's.
fn open_index(dir: &Path, schema: Schema) -> Result<tantivy::Index, AppError> {
    let index = ks::open_or_create(dir, schema).map_err(AppError::Internal)?;
    index.tokenizers().register(
        SCOPE_TOKENIZER,
        tantivy::tokenizer::TextAnalyzer::builder(ks::JiebaListTokenizer::with_stop_phrases(
            &SCOPE_STOP_PHRASES,
        ))
        .build(),
    );
    Ok(index)
}

fn schema() -> (Schema, Fields) {
    // Ranked text: BM25 needs the field lengths (fieldnorms). Term frequencies are kept only
    // for the name's words: a scope word is indexed once a document (the list tokenizer
    // drops repeats) and a character pair almost never repeats within a name, so their
    // frequencies would always be 1 — what BM25 assumes for a field without them.
    let text = |tokenizer: &str, record: IndexRecordOption| {
        TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(tokenizer)
                .set_index_option(record),
        )
    };
    // Exact keys (the code, the filters): matched, never ranked, so no field lengths.
    let key = || {
        TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer("raw")
                .set_fieldnorms(false)
                .set_index_option(IndexRecordOption::Basic),
        )
    };
    let mut b = Schema::builder();
    let f = Fields {
        uscc: b.add_text_field("uscc", key().set_stored()),
        name: b.add_text_field(
            "name",
            text(JIEBA, IndexRecordOption::WithFreqs).set_stored(),
        ),
        name_bigram: b.add_text_field("name_bigram", text(BIGRAM, IndexRecordOption::Basic)),
        scope: b.add_text_field("scope", text(SCOPE_TOKENIZER, IndexRecordOption::Basic)),
        city: b.add_text_field("city", key()),
        county: b.add_text_field("county", key()),
        entity_type: b.add_text_field("entity_type", key().set_stored()),
        status: b.add_text_field("status", key().set_stored()),
        division: b.add_text_field("division", STORED),
    };
    (b.build(), f)
}

fn internal(e: impl std::fmt::Display) -> AppError {
    AppError::Internal(anyhow::anyhow!("search index: {e}"))
}

/// What the index takes of an entity (entity type and status as their keys).
struct Row<'a> {
    uscc: &'a str,
    name: &'a str,
    scope: &'a str,
    division: &'a str,
    entity_type: &'a str,
    status: &'a str,
}

impl<'a> From<&'a Entity> for Row<'a> {
    fn from(e: &'a Entity) -> Row<'a> {
        Row {
            uscc: &e.uscc,
            name: &e.name,
            scope: &e.scope,
            division: &e.division,
            entity_type: e.entity_type.as_str(),
            status: e.status.as_str(),
        }
    }
}

fn document(f: &Fields, r: &Row<'_>) -> TantivyDocument {
    let mut d = TantivyDocument::default();
    d.add_text(f.uscc, r.uscc);
    d.add_text(f.name, r.name);
    d.add_text(f.name_bigram, r.name);
    d.add_text(f.scope, r.scope);
    d.add_text(f.city, r.division.get(..4).unwrap_or(r.division));
    d.add_text(f.county, r.division.get(..6).unwrap_or(r.division));
    d.add_text(f.entity_type, r.entity_type);
    d.add_text(f.status, r.status);
    d.add_text(f.division, r.division);
    d
}

/// The entity index in a directory: searching, and upserts from the event log.
pub struct EntityIndex {
    index: Index,
    reader: IndexReader,
    /// Created on the first upsert (it locks the directory and reserves its memory).
    writer: Mutex<Option<IndexWriter>>,
    f: Fields,
}

impl std::fmt::Debug for EntityIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EntityIndex").finish_non_exhaustive()
    }
}

impl EntityIndex {
    /// Opens the index in `dir`, creating an empty one if there is none.
    pub fn open(dir: &Path) -> Result<EntityIndex, AppError> {
        let (schema, f) = schema();
        let index = open_index(dir, schema)?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(internal)?;
        Ok(EntityIndex {
            index,
            reader,
            writer: Mutex::new(None),
            f,
        })
    }

    /// How many entities the index holds.
    pub fn len(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The ranked hits of `q` (see [`SearchQuery`]); a bad query is a bad request naming
    /// the field (`q`, `city`, `county`, `offset`).
    pub fn search(&self, q: &SearchQuery) -> Result<SearchResults, AppError> {
        let text = q.text.trim();
        let n = text.chars().count();
        if n == 0 || n > MAX_QUERY_CHARS {
            return Err(AppError::bad_request(
                "q",
                format!(
                    "请输入 1–{MAX_QUERY_CHARS} 个字符的检索词 \
                     (enter a search text of 1–{MAX_QUERY_CHARS} characters)"
                ),
            ));
        }
        if q.offset > MAX_OFFSET {
            return Err(AppError::bad_request(
                "offset",
                format!("最多翻到第 {MAX_OFFSET} 条 (results beyond {MAX_OFFSET} are not served)"),
            ));
        }
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = vec![(Occur::Must, self.text_query(text))];
        let mut filter = |field: Field, value: &str| {
            let term = TermQuery::new(
                Term::from_field_text(field, value),
                IndexRecordOption::Basic,
            );
            clauses.push((
                Occur::Must,
                Box::new(ConstScoreQuery::new(Box::new(term), 0.0)),
            ));
        };
        for (name, field, len, value) in [
            ("city", self.f.city, 4, &q.city),
            ("county", self.f.county, 6, &q.county),
        ] {
            if let Some(v) = value.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
                if v.len() != len || !v.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(AppError::bad_request(
                        name,
                        format!("{name} 应为 {len} 位区划代码 (a {len}-digit division code)"),
                    ));
                }
                filter(field, v);
            }
        }
        if let Some(t) = q.entity_type {
            filter(self.f.entity_type, t.as_str());
        }
        if let Some(s) = q.status {
            filter(self.f.status, s.as_str());
        }
        let query = BooleanQuery::new(clauses);
        let limit = q.limit.clamp(1, MAX_LIMIT);
        let searcher = self.reader.searcher();
        let top = TopDocs::with_limit(limit)
            .and_offset(q.offset)
            .order_by_score();
        let (docs, total) = searcher.search(&query, &(top, Count)).map_err(internal)?;
        let mut items = Vec::with_capacity(docs.len());
        for (score, addr) in docs {
            let d: TantivyDocument = searcher.doc(addr).map_err(internal)?;
            let get = |field| {
                d.get_first(field)
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default()
            };
            items.push(Hit {
                uscc: get(self.f.uscc),
                name: get(self.f.name),
                status: Status::parse(&get(self.f.status)).unwrap_or(Status::Active),
                entity_type: EntityType::parse(&get(self.f.entity_type))
                    .unwrap_or(EntityType::Enterprise),
                division: get(self.f.division),
                score,
            });
        }
        Ok(SearchResults { total, items })
    }

    /// USCC prefix (when the text could be one) OR every character pair of the name OR every
    /// name word OR every scope word; name matches weigh more.
    fn text_query(&self, text: &str) -> Box<dyn Query> {
        let mut should: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        let upper = compact.to_uppercase();
        if (4..=18).contains(&upper.len())
            && upper.chars().all(|c| USCC_ALPHABET.contains(c))
            && let Ok(q) = RegexQuery::from_pattern(&format!("{upper}.*"), self.f.uscc)
        {
            should.push((Occur::Should, Box::new(BoostQuery::new(Box::new(q), 8.0))));
        }
        let mut bigrams = BTreeSet::new();
        let mut analyzer = self
            .index
            .tokenizers()
            .get(BIGRAM)
            .expect("registered on open");
        for part in text.split_whitespace() {
            let mut stream = analyzer.token_stream(part);
            while let Some(t) = stream.next() {
                bigrams.insert(t.text.clone());
            }
        }
        let words: BTreeSet<String> = ks::words(text).into_iter().collect();
        for (field, terms, boost) in [
            (self.f.name_bigram, &bigrams, 4.0),
            (self.f.name, &words, 2.0),
            (self.f.scope, &words, 1.0),
        ] {
            if terms.is_empty() {
                continue;
            }
            let all: Vec<(Occur, Box<dyn Query>)> = terms
                .iter()
                .map(|t| {
                    let term = Term::from_field_text(field, t);
                    let q: Box<dyn Query> =
                        Box::new(TermQuery::new(term, IndexRecordOption::WithFreqs));
                    (Occur::Must, q)
                })
                .collect();
            let q = Box::new(BooleanQuery::new(all));
            should.push((Occur::Should, Box::new(BoostQuery::new(q, boost))));
        }
        Box::new(BooleanQuery::new(should))
    }
}
