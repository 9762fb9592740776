//! The transparency log over HTTP (public, no login) and its follower.
//!
//! - `GET /api/v1/log/checkpoint[?size=S]`: the newest signed checkpoint (or the one kept for
//!   tree size `S`), `text/plain` (a C2SP signed note).
//! - `GET /api/v1/log/proof/inclusion?index=N[&size=S]`: the audit path of leaf `N` in the
//!   tree of `S` leaves (default: the newest checkpoint's size).
//! - `GET /api/v1/log/proof/consistency?from=A[&to=B]`: the consistency proof between the
//!   trees of `A` and `B` leaves (default `B`: the newest checkpoint's size).
//! - `GET /api/v1/log/entries?start=A[&end=B]`: leaves `[A, B)`, at most 1,000.
//! - `GET /api/v1/log/entries/by-timepoint/{tp}`: the leaf of the event at timepoint `tp`.
//!
//! Hashes are standard base64 (as in the checkpoint). Bad parameters answer 400, Chinese
//! first.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;
use tokio::sync::watch;

use amr_kernel::error::AppError;
use amr_kernel::signing::Keyring;
use amr_kernel::translog::{self, LogFollower, store};
use amr_web::error::ApiError;
use amr_web::state::AppState;

/// The kinds of public event the log records (prefixes): the acts of registration, change,
/// suspension and resumption, deregistration and premises (`registry.entity.*`), published
/// inspection results and plans, and the kinds still to come: abnormal-operation listing
/// and removal, penalty publicity.
pub const PUBLIC_ACT_PREFIXES: &[&str] = &[
    "registry.entity.",
    "registry.abnormal.",
    "supervision.inspection.result_published",
    "supervision.plan.",
    "enforcement.penalty.",
];

/// Entries a page of `/api/v1/log/entries` holds at most.
pub const MAX_PAGE: u64 = 1000;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/log/checkpoint", get(checkpoint))
        .route("/api/v1/log/proof/inclusion", get(inclusion))
        .route("/api/v1/log/proof/consistency", get(consistency))
        .route("/api/v1/log/entries", get(entries))
        .route("/api/v1/log/entries/by-timepoint/{tp}", get(by_timepoint))
}

/// Starts the follower that appends public acts to the log and signs a checkpoint after
/// each batch.
pub fn spawn_follower(state: &AppState, keys: Arc<Keyring>, shutdown: watch::Receiver<bool>) {
    tokio::spawn(amr_kernel::events::runner::run(
        state.db.clone(),
        LogFollower::new(keys, PUBLIC_ACT_PREFIXES),
        amr_kernel::events::runner::RunnerOptions {
            batch_size: 1000,
            ..Default::default()
        },
        shutdown,
    ));
}

type Params = Query<HashMap<String, String>>;

/// A non-negative integer parameter.
fn number(q: &HashMap<String, String>, field: &str) -> Result<Option<u64>, AppError> {
    match q.get(field) {
        None => Ok(None),
        Some(v) => v
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|n| *n <= i64::MAX as u64)
            .map(Some)
            .ok_or_else(|| {
                AppError::bad_request(
                    field,
                    format!("{field} 应为非负整数 ({field} must be a non-negative integer)"),
                )
            }),
    }
}

fn required(q: &HashMap<String, String>, field: &str) -> Result<u64, AppError> {
    number(q, field)?.ok_or_else(|| {
        AppError::bad_request(
            field,
            format!("缺少参数 {field} (the parameter {field} is required)"),
        )
    })
}

fn b64(h: &translog::merkle::Hash) -> String {
    translog::encode_hash(h)
}

/// The size of the newest checkpoint (0 before the first).
async fn checkpoint_size(state: &AppState) -> Result<u64, AppError> {
    Ok(store::latest_checkpoint(&state.db)
        .await?
        .map(|c| c.size)
        .unwrap_or(0))
}

async fn checkpoint(State(state): State<AppState>, Query(q): Params) -> Result<Response, ApiError> {
    let found = match number(&q, "size")? {
        Some(size) => store::checkpoint_at(&state.db, size).await?,
        None => store::latest_checkpoint(&state.db).await?,
    };
    let c = found.ok_or(AppError::NotFound)?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        c.note,
    )
        .into_response())
}

async fn inclusion(
    State(state): State<AppState>,
    Query(q): Params,
) -> Result<Json<serde_json::Value>, ApiError> {
    let index = required(&q, "index")?;
    let size = match number(&q, "size")? {
        Some(s) => s,
        None => checkpoint_size(&state).await?,
    };
    let (leaf, path) = store::inclusion_proof_with_leaf(&state.db, index, size).await?;
    Ok(Json(json!({
        "index": index,
        "tree_size": size,
        "timepoint": leaf.timepoint,
        "leaf_hash": b64(&leaf.leaf_hash),
        "hashes": path.iter().map(b64).collect::<Vec<_>>(),
    })))
}

async fn consistency(
    State(state): State<AppState>,
    Query(q): Params,
) -> Result<Json<serde_json::Value>, ApiError> {
    let from = required(&q, "from")?;
    let to = match number(&q, "to")? {
        Some(t) => t,
        None => checkpoint_size(&state).await?,
    };
    let proof = store::consistency_proof(&state.db, from, to).await?;
    Ok(Json(json!({
        "from": from,
        "to": to,
        "hashes": proof.iter().map(b64).collect::<Vec<_>>(),
    })))
}

fn leaf_json(l: &store::Leaf) -> serde_json::Value {
    json!({
        "index": l.index,
        "timepoint": l.timepoint,
        "leaf_hash": b64(&l.leaf_hash),
        "entry": l.entry,
        "appended_at": l.appended_at,
    })
}

async fn entries(
    State(state): State<AppState>,
    Query(q): Params,
) -> Result<Json<serde_json::Value>, ApiError> {
    let start = required(&q, "start")?;
    let end = number(&q, "end")?.unwrap_or(start.saturating_add(100));
    if end < start {
        return Err(AppError::bad_request(
            "end",
            "end 不能小于 start (end must not be below start)",
        )
        .into());
    }
    let end = end.min(start.saturating_add(MAX_PAGE));
    let items = store::entries(&state.db, start, end).await?;
    Ok(Json(json!({
        "start": start,
        "end": start + items.len() as u64,
        "tree_size": store::size(&state.db).await?,
        "entries": items.iter().map(leaf_json).collect::<Vec<_>>(),
    })))
}

async fn by_timepoint(
    State(state): State<AppState>,
    Path(tp): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let tp: i64 = tp
        .trim()
        .parse()
        .map_err(|_| AppError::bad_request("tp", "时间点应为整数 (a timepoint is an integer)"))?;
    let leaf = store::by_timepoint(&state.db, tp)
        .await?
        .ok_or(AppError::NotFound)?;
    let mut v = leaf_json(&leaf);
    v["inclusion_proof"] = json!(format!("/api/v1/log/proof/inclusion?index={}", leaf.index));
    Ok(Json(v))
}
