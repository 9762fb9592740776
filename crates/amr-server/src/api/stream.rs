//! `GET /api/v1/stream?timepoint=N`: the public change stream.
//!
//! NDJSON, one public event per line, oldest first, starting after timepoint `N` (0 = from
//! the beginning). After catching up the response stays open and sends each new public event
//! as it commits; while idle it sends `{"heartbeat":true,"timepoint":T}` lines (T = the last
//! timepoint the stream has looked at) so proxies keep the connection and clients can store a
//! resume point. A client resumes by reconnecting with the last timepoint it processed.
//! Only public events are sent, in their public view (no actor).

use std::convert::Infallible;

use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::Response;
use serde::Deserialize;

use amr_kernel::error::AppError;
use amr_kernel::events;

use amr_web::error::ApiError;
use amr_web::state::AppState;

const PAGE: i64 = 500;

#[derive(Debug, Deserialize)]
pub struct StreamQuery {
    timepoint: Option<String>,
    /// Close after catching up instead of following (for batch clients).
    follow: Option<String>,
}

pub async fn get_stream(
    State(state): State<AppState>,
    Query(q): Query<StreamQuery>,
) -> Result<Response, ApiError> {
    let from: i64 = match q.timepoint.as_deref() {
        None | Some("") => 0,
        Some(s) => s
            .trim()
            .parse()
            .ok()
            .filter(|n: &i64| *n >= 0)
            .ok_or_else(|| {
                AppError::bad_request(
                    "timepoint",
                    "timepoint 须为非负整数 (timepoint must be a non-negative integer)",
                )
            })?,
    };
    let follow = !matches!(q.follow.as_deref(), Some("false" | "0" | "no"));
    let heartbeat = state.config.stream_heartbeat;
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, Infallible>>(4);
    let db = state.db.clone();
    let mut shutdown = state.shutdown.clone();
    tokio::spawn(async move {
        let mut commits = events::subscribe();
        let mut cursor = from;
        let mut idle = tokio::time::Instant::now();
        loop {
            let batch = match events::public_after(&db, cursor, PAGE).await {
                Ok(b) => b,
                Err(e) => {
                    tracing::error!(error = %e, "public stream read failed");
                    return;
                }
            };
            if !batch.is_empty() {
                let mut buf = Vec::with_capacity(batch.len() * 256);
                for e in &batch {
                    serde_json::to_writer(&mut buf, &e.public_view()).ok();
                    buf.push(b'\n');
                    cursor = e.timepoint;
                }
                if tx.send(Ok(Bytes::from(buf))).await.is_err() {
                    return; // the client went away
                }
                idle = tokio::time::Instant::now();
                if batch.len() as i64 == PAGE {
                    continue;
                }
            }
            if !follow {
                return;
            }
            if idle.elapsed() >= heartbeat {
                // Private events also advance the head; report the last public one we passed.
                let line = format!("{{\"heartbeat\":true,\"timepoint\":{cursor}}}\n");
                if tx.send(Ok(Bytes::from(line))).await.is_err() {
                    return;
                }
                idle = tokio::time::Instant::now();
            }
            tokio::select! {
                _ = commits.changed() => {}
                _ = tokio::time::sleep(std::time::Duration::from_millis(500)) => {}
                _ = shutdown.wait_for(|v| *v) => return,
                _ = tx.closed() => return,
            }
        }
    });
    let body = Body::from_stream(tokio_stream::wrappers::ReceiverStream::new(rx));
    Ok(Response::builder()
        .header(header::CONTENT_TYPE, "application/x-ndjson; charset=utf-8")
        .header(header::CACHE_CONTROL, "no-cache")
        .header("x-accel-buffering", "no")
        .body(body)
        .map_err(|e| AppError::Internal(e.into()))?)
}
