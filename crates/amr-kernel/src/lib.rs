//! The AMR kernel: what every crate shares and that knows no field of work.
//!
//! - [`db`]: the database handle over SQLite or PostgreSQL, transactions, migrations.
//! - [`events`]: the transactional outbox event log and the worker runner that follows it.
//! - [`audit`]: the append-only audit log of every write by a person or key.
//! - [`auth`]: accounts, roles, jurisdiction scopes, sessions, API keys (model and store).
//! - [`error`]: the one error type and its written policy.
//! - [`matter`]: the matter (事项/台账) engine: kinds declared in code, numbers, clocks in
//!   working days, escalation, timeline, ledger export.
//! - [`textrules`]: the text-rule engine (rule files, Aho-Corasick prefilter, precise
//!   patterns, spans with the rule and its legal basis).
//! - [`outbound`]: HTTP(S) calls to other systems (rustls on ring, system roots plus a CA
//!   file, time limit, answer cap).
//! - [`signing`]: the deployment's Ed25519 signing keys (key file, published public keys,
//!   sign/verify, rotation).
//! - [`tax`]: the port through which annual reports get tax figures (`TaxDataSource`),
//!   implemented by the exchange context and wired by the server.
//! - [`sharing`]: the port through which the exchange reads the facts (registry and credit
//!   risk) of enterprises it shares with banks (`EntityFactsSource`), wired by the server.
//! - [`translog`]: the transparency log (RFC 6962 Merkle tree, signed checkpoints, proofs).
//!
//! Contexts (registry, supervision, ...) build on these and never on each other.
#![forbid(unsafe_code)]

pub mod audit;
pub mod auth;
pub mod calendar;
pub mod calendar_store;
pub mod codes;
pub mod db;
pub mod error;
pub mod events;
pub mod matter;
pub mod outbound;
pub mod search;
pub mod sharing;
pub mod signing;
pub mod tax;
pub mod testing;
pub mod textrules;
pub mod translog;
