//! The frozen lists and the samples of a plan as gzip-compressed JSON-lines chunks in
//! `insp_plan_chunks` (at most [`CHUNK_LINES`] lines a chunk), written inside the caller's
//! transaction and read back one chunk at a time, so a list of millions never sits in memory
//! as text.

use std::io::{BufRead, BufReader, Write};

use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use serde::Serialize;
use serde::de::DeserializeOwned;

use amr_kernel::db::{Db, Tx};
use amr_kernel::error::AppError;
use amr_kernel::{on_conn, on_tx};

/// Lines a chunk.
pub const CHUNK_LINES: usize = 10_000;

/// The kinds of chunk.
pub const TARGETS: &str = "targets";
pub const INSPECTORS: &str = "inspectors";
pub const ITEMS: &str = "items";
pub const SAMPLES: &str = "samples";

fn internal(what: &str, e: impl std::fmt::Display) -> AppError {
    AppError::Internal(anyhow::anyhow!("plan chunk: {what}: {e}"))
}

/// Builds chunks line by line; [`ChunkWriter::push`] hands back a full chunk to store.
#[derive(Debug)]
pub struct ChunkWriter {
    enc: GzEncoder<Vec<u8>>,
    lines: usize,
    next_chunk: i64,
}

impl Default for ChunkWriter {
    fn default() -> Self {
        ChunkWriter::new()
    }
}

impl ChunkWriter {
    pub fn new() -> ChunkWriter {
        ChunkWriter {
            enc: GzEncoder::new(Vec::new(), Compression::fast()),
            lines: 0,
            next_chunk: 0,
        }
    }

    /// Adds one line; returns `(chunk number, bytes)` when the chunk is full.
    pub fn push<T: Serialize>(&mut self, value: &T) -> Result<Option<(i64, Vec<u8>)>, AppError> {
        serde_json::to_writer(&mut self.enc, value).map_err(|e| internal("encode", e))?;
        self.enc.write_all(b"\n").map_err(|e| internal("gzip", e))?;
        self.lines += 1;
        if self.lines >= CHUNK_LINES {
            return self.take().map(Some);
        }
        Ok(None)
    }

    fn take(&mut self) -> Result<(i64, Vec<u8>), AppError> {
        let enc = std::mem::replace(
            &mut self.enc,
            GzEncoder::new(Vec::new(), Compression::fast()),
        );
        let bytes = enc.finish().map_err(|e| internal("gzip", e))?;
        let n = self.next_chunk;
        self.next_chunk += 1;
        self.lines = 0;
        Ok((n, bytes))
    }

    /// The last, partly filled chunk (`None` when it is empty).
    pub fn finish(mut self) -> Result<Option<(i64, Vec<u8>)>, AppError> {
        if self.lines == 0 {
            return Ok(None);
        }
        self.take().map(Some)
    }
}

/// Stores one chunk in the transaction.
pub async fn insert(
    tx: &mut Tx,
    plan_id: i64,
    kind: &str,
    chunk: i64,
    data: &[u8],
) -> Result<(), AppError> {
    let chunk = i32::try_from(chunk).map_err(|e| internal("chunk number", e))?;
    on_tx!(tx, c => sqlx::query(
        "INSERT INTO insp_plan_chunks (plan_id, kind, chunk, data) VALUES ($1, $2, $3, $4)",
    )
    .bind(plan_id)
    .bind(kind)
    .bind(chunk)
    .bind(data)
    .execute(&mut *c)
    .await?
    .rows_affected());
    Ok(())
}

/// Writes a whole (small) list as chunks.
pub async fn write_all<T: Serialize>(
    tx: &mut Tx,
    plan_id: i64,
    kind: &str,
    values: &[T],
) -> Result<(), AppError> {
    let mut w = ChunkWriter::new();
    for v in values {
        if let Some((n, bytes)) = w.push(v)? {
            insert(tx, plan_id, kind, n, &bytes).await?;
        }
    }
    if let Some((n, bytes)) = w.finish()? {
        insert(tx, plan_id, kind, n, &bytes).await?;
    }
    Ok(())
}

/// One stored chunk's bytes, or `None` past the last one.
pub async fn read(
    db: &Db,
    plan_id: i64,
    kind: &str,
    chunk: i64,
) -> Result<Option<Vec<u8>>, AppError> {
    let chunk = i32::try_from(chunk).map_err(|e| internal("chunk number", e))?;
    let data: Option<Vec<u8>> = on_conn!(db, c => sqlx::query_scalar(
        "SELECT data FROM insp_plan_chunks WHERE plan_id = $1 AND kind = $2 AND chunk = $3",
    )
    .bind(plan_id)
    .bind(kind)
    .bind(chunk)
    .fetch_optional(c)
    .await?);
    Ok(data)
}

/// Decodes one chunk into its values.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<Vec<T>, AppError> {
    let mut out = Vec::new();
    for line in BufReader::new(GzDecoder::new(bytes)).lines() {
        let line = line.map_err(|e| internal("gunzip", e))?;
        if line.is_empty() {
            continue;
        }
        out.push(serde_json::from_str(&line).map_err(|e| internal("decode", e))?);
    }
    Ok(out)
}

/// Calls `each` for every value of a kind, chunk by chunk (one chunk in memory at a time).
pub async fn for_each<T: DeserializeOwned>(
    db: &Db,
    plan_id: i64,
    kind: &str,
    mut each: impl FnMut(T) -> Result<(), AppError>,
) -> Result<u64, AppError> {
    let mut n = 0u64;
    let mut chunk = 0i64;
    while let Some(bytes) = read(db, plan_id, kind, chunk).await? {
        for v in decode::<T>(&bytes)? {
            each(v)?;
            n += 1;
        }
        chunk += 1;
    }
    Ok(n)
}

/// A whole (small) list.
pub async fn read_all<T: DeserializeOwned>(
    db: &Db,
    plan_id: i64,
    kind: &str,
) -> Result<Vec<T>, AppError> {
    let mut out = Vec::new();
    for_each(db, plan_id, kind, |v| {
        out.push(v);
        Ok(())
    })
    .await?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_split_at_the_line_limit_and_decode_back() {
        let mut w = ChunkWriter::new();
        let mut chunks = Vec::new();
        for i in 0..(CHUNK_LINES + 5) {
            if let Some(c) = w.push(&serde_json::json!({ "n": i })).unwrap() {
                chunks.push(c);
            }
        }
        chunks.extend(w.finish().unwrap());
        assert_eq!(chunks.len(), 2);
        assert_eq!(chunks[0].0, 0);
        assert_eq!(chunks[1].0, 1);
        let first: Vec<serde_json::Value> = decode(&chunks[0].1).unwrap();
        let second: Vec<serde_json::Value> = decode(&chunks[1].1).unwrap();
        assert_eq!(first.len(), CHUNK_LINES);
        assert_eq!(second.len(), 5);
        assert_eq!(second[4]["n"], CHUNK_LINES + 4);
    }

    #[test]
    fn an_empty_writer_makes_no_chunk() {
        assert!(ChunkWriter::new().finish().unwrap().is_none());
    }
}
