//! Freezing the lists a draw reads: the target list of a scope (active entities from the
//! registry, each with its credit-risk class and its tags), the inspector list (active
//! inspectors whose jurisdiction overlaps the scope, with their declared conflicts, by id) and
//! the plan's items. The inspectors and items are the library's own lists for a draw
//! ([`crate::library::inspectors_for_draw`], [`crate::library::items_for_draw`]), the stored
//! tags its [`crate::library::tags_in`].
//!
//! The targets stream: pages of 10,000 entities from [`RegistrySource::page`] in
//! `(division, uscc)` order, merge-joined with pages of `credit_risk` in the same order (an
//! entity without a row is class B); the scope's stored tags (sparse) are read once into a
//! map. Memory stays flat apart from the engine's compact target set; when a
//! transaction is given, each 10,000 targets are written as a chunk as they come.

use std::collections::{BTreeSet, VecDeque};

use amr_kernel::db::{Db, Tx};
use amr_kernel::error::AppError;
use amr_kernel::on_conn;

use super::chunks::{self, ChunkWriter};
use super::engine::{self, TargetSet};
use crate::draw::model::{ItemRef, Plan, RiskClass, Target};
use crate::targets::RegistrySource;

/// Entities a registry page.
pub const PAGE: usize = 10_000;

/// The end of a division-prefix range (`:` sorts right after `9`).
fn range_end(prefix: &str) -> String {
    format!("{prefix}:")
}

/// Credit-risk rows of the scope in `(division, uscc)` order, a page at a time.
struct RiskPages<'a> {
    db: &'a Db,
    scope: &'a str,
    buf: VecDeque<(String, String, String)>,
    last: Option<(String, String)>,
    done: bool,
}

impl<'a> RiskPages<'a> {
    fn new(db: &'a Db, scope: &'a str) -> RiskPages<'a> {
        RiskPages {
            db,
            scope,
            buf: VecDeque::new(),
            last: None,
            done: false,
        }
    }

    async fn fill(&mut self) -> Result<(), AppError> {
        let hi = range_end(self.scope);
        let limit = PAGE as i64;
        let rows: Vec<(String, String, String)> = match &self.last {
            Some((d, u)) => on_conn!(self.db, c => sqlx::query_as(
                "SELECT division, uscc, class FROM credit_risk \
                 WHERE (division, uscc) > ($1, $2) AND division < $3 \
                 ORDER BY division, uscc LIMIT $4",
            )
            .bind(d)
            .bind(u)
            .bind(&hi)
            .bind(limit)
            .fetch_all(c)
            .await?),
            None => on_conn!(self.db, c => sqlx::query_as(
                "SELECT division, uscc, class FROM credit_risk \
                 WHERE division >= $1 AND division < $2 \
                 ORDER BY division, uscc LIMIT $3",
            )
            .bind(self.scope)
            .bind(&hi)
            .bind(limit)
            .fetch_all(c)
            .await?),
        };
        if rows.len() < PAGE {
            self.done = true;
        }
        if let Some((d, u, _)) = rows.last() {
            self.last = Some((d.clone(), u.clone()));
        }
        self.buf.extend(rows);
        Ok(())
    }

    /// The class of the entity at `(division, uscc)`; keys must be asked in ascending order.
    async fn class_of(&mut self, division: &str, uscc: &str) -> Result<RiskClass, AppError> {
        loop {
            while let Some((d, u, _)) = self.buf.front() {
                if (d.as_str(), u.as_str()) < (division, uscc) {
                    self.buf.pop_front();
                } else {
                    break;
                }
            }
            if self.buf.is_empty() && !self.done {
                self.fill().await?;
                continue;
            }
            return Ok(match self.buf.front() {
                Some((d, u, class)) if d == division && u == uscc => {
                    RiskClass::parse(class).unwrap_or(RiskClass::B)
                }
                _ => RiskClass::B,
            });
        }
    }
}

/// The target library's entity type (`enterprise`, `individual`, `cooperative`, `branch`)
/// of the registry's (`individual_business`, `farmer_cooperative` are the registry's keys).
pub fn target_type(registry_type: &str) -> &str {
    match registry_type {
        "individual_business" => "individual",
        "farmer_cooperative" => "cooperative",
        other => other,
    }
}

/// Where frozen targets go besides the engine's set, as chunks.
#[derive(Debug)]
pub enum Sink<'a> {
    /// Nowhere (previews, proposals).
    None,
    /// `targets` chunks of a plan, in the publishing transaction.
    Plan(&'a mut Tx, i64),
    /// Compressed chunks in memory (`amr inspect draw`, which writes them to its bundle).
    Memory(Vec<Vec<u8>>),
}

impl Sink<'_> {
    async fn put(&mut self, n: i64, bytes: Vec<u8>) -> Result<(), AppError> {
        match self {
            Sink::None => Ok(()),
            Sink::Plan(tx, plan_id) => {
                chunks::insert(tx, *plan_id, chunks::TARGETS, n, &bytes).await
            }
            Sink::Memory(v) => {
                v.push(bytes);
                Ok(())
            }
        }
    }
}

/// Freezes the targets of `scope`: every active entity with its class and tags, pushed into
/// the engine's set in `(division, uscc)` order, and written as chunks to `sink`. `progress`
/// gets the count so far.
pub async fn targets(
    db: &Db,
    registry: &dyn RegistrySource,
    scope: &str,
    sink: &mut Sink<'_>,
    progress: &mut (dyn FnMut(u64) + Send),
) -> Result<TargetSet, AppError> {
    let keep = !matches!(sink, Sink::None);
    let tags = crate::library::tags_in(db, scope).await?;
    let mut risk = RiskPages::new(db, scope);
    let mut set = TargetSet::new();
    let mut writer = ChunkWriter::new();
    let mut after: Option<(String, String)> = None;
    let mut count = 0u64;
    loop {
        let page = registry
            .page(
                scope,
                after.as_ref().map(|(d, u)| (d.as_str(), u.as_str())),
                PAGE,
            )
            .await?;
        let full = page.len() >= PAGE;
        if let Some(last) = page.last() {
            after = Some((last.division.clone(), last.uscc.clone()));
        }
        for e in page {
            if e.status != "active" {
                continue;
            }
            let class = risk.class_of(&e.division, &e.uscc).await?;
            let entity_type = target_type(&e.entity_type).to_string();
            // Stored tags (officers, rules) and the licences the library's rules derive from
            // the industry (they stand in for a licence register), merged.
            // A stored tag the engine cannot hash (not `licence:…`/`tag:…`) is not a
            // target-library tag.
            let mut own: Vec<String> = tags
                .get(&e.uscc)
                .into_iter()
                .flatten()
                .filter(|t| engine::valid_tag(t))
                .cloned()
                .collect();
            own.extend(crate::library::rules::derived_tags(
                &e.industry,
                &entity_type,
            ));
            own.sort();
            own.dedup();
            let target = Target {
                tags: own,
                uscc: e.uscc,
                division: e.division,
                entity_type,
                industry: e.industry,
                risk: class,
            };
            engine::push(&mut set, &target)?;
            if keep && let Some((n, bytes)) = writer.push(&target)? {
                sink.put(n, bytes).await?;
            }
            count += 1;
        }
        progress(count);
        if !full {
            break;
        }
    }
    if keep && let Some((n, bytes)) = writer.finish()? {
        sink.put(n, bytes).await?;
    }
    Ok(set)
}

/// Every item code a plan names (lead and joined departments), sorted.
pub fn item_codes(plan: &Plan) -> BTreeSet<String> {
    let mut codes = BTreeSet::new();
    for t in &plan.tasks {
        codes.extend(t.items.iter().cloned());
        for p in &t.joined {
            codes.extend(p.items.iter().cloned());
        }
    }
    codes
}

/// The items a plan names, from the library, sorted by code; an item the library does not
/// hold (or holds inactive) is a 400 naming it.
pub async fn items(db: &Db, plan: &Plan) -> Result<Vec<ItemRef>, AppError> {
    let wanted = item_codes(plan);
    let library = crate::library::items_for_draw(db).await?;
    let found: Vec<ItemRef> = library
        .into_iter()
        .filter(|i| wanted.contains(&i.code))
        .collect();
    if let Some(missing) = wanted.iter().find(|c| !found.iter().any(|i| &i.code == *c)) {
        return Err(AppError::bad_request(
            "items",
            format!("抽查事项 {missing} 不在事项清单中 (item {missing} is not in the item list)"),
        ));
    }
    Ok(found)
}
