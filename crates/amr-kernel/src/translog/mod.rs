//! The transparency log: public acts in an append-only Merkle tree (RFC 6962 hashing) with
//! signed checkpoints, so anyone can check offline that an act was published and that the
//! log was never rewritten.
//!
//! - [`merkle`]: hashing, tree heads, inclusion and consistency proofs and their
//!   verification, without IO.
//! - [`note`]: checkpoints as signed notes (C2SP `tlog-checkpoint`), signed with the
//!   deployment key ([`crate::signing::Keyring`]).
//! - [`store`]: leaves, complete subtree hashes and checkpoints in the database; proofs that
//!   read O(log n) rows.
//! - [`LogFollower`]: the event-log consumer that appends the public acts (public events whose
//!   kind starts with one of a configured list of prefixes) and signs a checkpoint after each
//!   batch that appended something, in the batch's transaction.
//!
//! An entry is the canonical JSON of its event ([`entry_of`]): the keys `division`, `kind`,
//! `payload`, `time`, `timepoint`, `uscc`, object keys sorted at every depth, no whitespace.
//! It holds nothing that the public change stream does not already publish (the actor is
//! left out; public payloads are checked for personal data when they are written).
//!
//! The log is derived from the event log like the search index: appends write no event and
//! no audit entry of their own (they would be events about events); what they did is the
//! checkpoint they sign.

pub mod merkle;
pub mod note;
pub mod store;

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::SecondsFormat;
use serde_json::Value;

use crate::db::Tx;
use crate::error::AppError;
use crate::events::Event;
use crate::events::runner::Consumer;
use crate::signing::Keyring;

/// A hash in standard base64 (as checkpoints and proofs write it).
pub fn encode_hash(h: &merkle::Hash) -> String {
    STANDARD.encode(h)
}

/// A hash from standard base64 (32 bytes).
pub fn decode_hash(text: &str) -> Option<merkle::Hash> {
    STANDARD
        .decode(text.trim())
        .ok()
        .and_then(|b| merkle::Hash::try_from(b.as_slice()).ok())
}

/// The cursor name of the log's follower.
pub const CONSUMER: &str = "kernel.translog";

/// JSON text with object keys sorted at every depth and no whitespace.
pub fn canonical_json(v: &Value) -> String {
    let mut out = String::new();
    write_canonical(v, &mut out);
    out
}

fn write_canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String((*k).clone()).to_string());
                out.push(':');
                write_canonical(&map[*k], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// The log entry of an event.
pub fn entry_of(e: &Event) -> String {
    canonical_json(&serde_json::json!({
        "kind": e.kind,
        "timepoint": e.timepoint,
        "uscc": e.uscc,
        "division": e.division,
        "payload": e.payload_json(),
        "time": e.recorded_at.to_rfc3339_opts(SecondsFormat::Micros, true),
    }))
}

/// Follows the event log and appends the public acts.
#[derive(Debug, Clone)]
pub struct LogFollower {
    keys: Arc<Keyring>,
    origin: String,
    prefixes: Vec<String>,
}

impl LogFollower {
    /// A follower that logs the public events whose kind starts with one of `prefixes`,
    /// signing checkpoints with `keys` under [`note::DEFAULT_ORIGIN`].
    pub fn new(keys: Arc<Keyring>, prefixes: &[&str]) -> LogFollower {
        LogFollower {
            keys,
            origin: note::DEFAULT_ORIGIN.to_string(),
            prefixes: prefixes.iter().map(|p| p.to_string()).collect(),
        }
    }

    /// The same with another origin line (one per deployment, e.g. `amr.sd.gov.cn/log`).
    pub fn with_origin(mut self, origin: &str) -> LogFollower {
        self.origin = origin.to_string();
        self
    }

    /// Whether `e` is a public act this log records.
    pub fn is_logged(&self, e: &Event) -> bool {
        e.public && self.prefixes.iter().any(|p| e.kind.starts_with(p.as_str()))
    }
}

impl Consumer for LogFollower {
    fn name(&self) -> &str {
        CONSUMER
    }

    fn wants(&self, e: &Event) -> bool {
        self.is_logged(e)
    }

    async fn handle(&self, tx: &mut Tx, batch: &[Event]) -> Result<(), AppError> {
        let entries: Vec<store::NewEntry> = batch
            .iter()
            .filter(|e| self.is_logged(e))
            .map(|e| store::NewEntry {
                timepoint: e.timepoint,
                entry: entry_of(e),
            })
            .collect();
        if entries.is_empty() {
            return Ok(());
        }
        let head = store::append(tx, &entries).await?;
        store::write_checkpoint(tx, &self.keys, &self.origin, head).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_json_sorts_keys_at_every_depth() {
        let v = serde_json::json!({"b": 1, "a": {"z": [3, {"y": null, "x": "文"}], "c": true}});
        assert_eq!(
            canonical_json(&v),
            r#"{"a":{"c":true,"z":[3,{"x":"文","y":null}]},"b":1}"#
        );
    }
}
