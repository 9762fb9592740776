//! Evidence: every signed message AMR sent and every signed answer it received, kept as the
//! exact text that was signed, exported as JSON lines and verified offline.
//!
//! Export format (`amr exchange export --agency NAME [--from --to]`), one JSON object a line:
//!
//! - first `{"type": "agency", "name", "kind", "public_key", "key_id"}`: the agency's
//!   registered key (the bundle);
//! - then `{"type": "evidence", "id", "agency", "delivery_id", "direction" ("out" | "in"),
//!   "kind" ("message" | "ack" | "tax_request" | "tax_answer"), "body", "key_id",
//!   "signature", "recorded_at"}` in the order recorded.
//!
//! [`verify`] checks every line offline: an `out` line against the deployment's published keys
//! (`GET /api/v1/keys`) by its key id, an `in` line against the agency key of the bundle; the
//! signature covers the kind's tag + `body` ([`crate::proto`]), and the body must name the
//! agency of the line. Any line that does not parse or check is a failure.

use std::collections::HashMap;
use std::io::{BufRead, Write};

use chrono::{DateTime, SubsecRound, Utc};
use serde_json::{Value, json};

use amr_kernel::db::{Db, Tx};
use amr_kernel::error::AppError;
use amr_kernel::signing::{self, KeyId, VerifyingKey};
use amr_kernel::{on_conn, on_tx};

use crate::agency::Agency;
use crate::proto;

pub struct NewEvidence<'a> {
    pub agency_id: i64,
    pub delivery_id: Option<i64>,
    pub direction: &'a str,
    pub kind: &'a str,
    pub body: &'a str,
    pub key_id: &'a str,
    pub signature: &'a str,
}

/// Keeps one signed text; returns its id.
pub async fn insert(tx: &mut Tx, e: &NewEvidence<'_>) -> Result<i64, AppError> {
    Ok(on_tx!(tx, c => sqlx::query_scalar(
        "INSERT INTO exchange_evidence (agency_id, delivery_id, direction, kind, body, key_id, signature, recorded_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(e.agency_id)
    .bind(e.delivery_id)
    .bind(e.direction)
    .bind(e.kind)
    .bind(e.body)
    .bind(e.key_id)
    .bind(e.signature)
    .bind(Utc::now().trunc_subsecs(6))
    .fetch_one(&mut *c)
    .await?))
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Row {
    pub id: i64,
    pub delivery_id: Option<i64>,
    pub direction: String,
    pub kind: String,
    pub body: String,
    pub key_id: String,
    pub signature: String,
    pub recorded_at: DateTime<Utc>,
}

impl Row {
    pub fn to_json(&self, agency: &str) -> Value {
        json!({"type": "evidence", "id": self.id, "agency": agency, "delivery_id": self.delivery_id,
               "direction": self.direction, "kind": self.kind, "body": self.body, "key_id": self.key_id,
               "signature": self.signature, "recorded_at": self.recorded_at})
    }
}

/// The evidence rows of a delivery, in order.
pub async fn for_delivery(db: &Db, delivery_id: i64) -> Result<Vec<Row>, AppError> {
    Ok(on_conn!(db, c => sqlx::query_as(
        "SELECT id, delivery_id, direction, kind, body, key_id, signature, recorded_at FROM exchange_evidence \
         WHERE delivery_id = $1 ORDER BY id",
    )
    .bind(delivery_id)
    .fetch_all(c)
    .await?))
}

/// The bundle line of an agency.
pub fn agency_line(a: &Agency) -> Value {
    let key_id = a
        .verifying_key()
        .map(|k| proto::key_id_of(&k).to_string())
        .unwrap_or_default();
    json!({"type": "agency", "name": a.name, "kind": a.kind, "public_key": a.public_key, "key_id": key_id})
}

/// Writes the evidence of agency `a` recorded in `[from, to)` (either open) as JSON lines,
/// a page of 1,000 rows at a time (constant memory). Returns the number of evidence lines.
pub async fn export<W: Write>(
    db: &Db,
    a: &Agency,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    out: &mut W,
) -> Result<u64, AppError> {
    let io = |e: std::io::Error| AppError::Internal(e.into());
    writeln!(out, "{}", agency_line(a)).map_err(io)?;
    // Open ends as ordinary dates: SQLite compares the stored text, where the extreme
    // years of chrono (with a sign) would sort wrongly.
    let from = from.unwrap_or(DateTime::<Utc>::UNIX_EPOCH);
    let to = to.unwrap_or_else(|| {
        chrono::NaiveDate::from_ymd_opt(9999, 12, 31)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|d| d.and_utc())
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
    });
    let mut after = 0i64;
    let mut n = 0u64;
    loop {
        let rows: Vec<Row> = on_conn!(db, c => sqlx::query_as(
            "SELECT id, delivery_id, direction, kind, body, key_id, signature, recorded_at FROM exchange_evidence \
             WHERE agency_id = $1 AND id > $2 AND recorded_at >= $3 AND recorded_at < $4 ORDER BY id LIMIT 1000",
        )
        .bind(a.id)
        .bind(after)
        .bind(from)
        .bind(to)
        .fetch_all(c)
        .await?);
        let Some(last) = rows.last().map(|r| r.id) else {
            break;
        };
        for r in &rows {
            writeln!(out, "{}", r.to_json(&a.name)).map_err(io)?;
            n += 1;
        }
        after = last;
    }
    out.flush().map_err(io)?;
    Ok(n)
}

/// What an offline check found.
#[derive(Debug, Default)]
pub struct Report {
    pub agencies: usize,
    pub checked: u64,
    /// `line N: what is wrong`, Chinese first.
    pub problems: Vec<String>,
}

/// Checks every line of an export against the deployment's keys (`keys`) and the agency keys
/// in the bundle.
pub fn verify<R: BufRead>(input: R, keys: &HashMap<KeyId, VerifyingKey>) -> Report {
    let mut report = Report::default();
    let mut agencies: HashMap<String, VerifyingKey> = HashMap::new();
    for (i, line) in input.lines().enumerate() {
        let no = i + 1;
        let line = match line {
            Ok(l) => l,
            Err(e) => {
                report.problems.push(format!(
                    "第 {no} 行无法读取 (line {no} cannot be read): {e}"
                ));
                continue;
            }
        };
        if line.trim().is_empty() {
            continue;
        }
        if let Err(p) = check_line(&line, keys, &mut agencies, &mut report) {
            report.problems.push(format!("第 {no} 行 (line {no}): {p}"));
        }
    }
    report.agencies = agencies.len();
    report
}

fn check_line(
    line: &str,
    keys: &HashMap<KeyId, VerifyingKey>,
    agencies: &mut HashMap<String, VerifyingKey>,
    report: &mut Report,
) -> Result<(), String> {
    let v: Value =
        serde_json::from_str(line).map_err(|e| format!("不是合法的 JSON (not valid JSON): {e}"))?;
    let s = |k: &str| {
        v.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    match s("type").as_str() {
        "agency" => {
            let key = signing::parse_public_key(&s("public_key"))?;
            if !s("key_id").is_empty() && s("key_id") != proto::key_id_of(&key).to_string() {
                return Err(
                    "机构公钥编号与公钥不符 (the agency key id does not match its key)".into(),
                );
            }
            agencies.insert(s("name"), key);
            Ok(())
        }
        "evidence" => {
            let kind = s("kind");
            let tag = proto::tag_of(&kind)
                .ok_or_else(|| format!("未知的凭证类型 {kind:?} (unknown evidence kind)"))?;
            let body = s("body");
            let agency = s("agency");
            let key = match s("direction").as_str() {
                "out" => {
                    let id = KeyId::parse(&s("key_id"))?;
                    *keys.get(&id).ok_or_else(|| {
                        format!("本部署的公钥中没有 {id} (no published deployment key {id})")
                    })?
                }
                "in" => *agencies.get(&agency).ok_or_else(|| {
                    format!("清单中没有机构 {agency:?} 的公钥 (the bundle has no key for agency {agency:?})")
                })?,
                other => return Err(format!("未知方向 {other:?} (unknown direction)")),
            };
            if !proto::check(&key, tag, &body, &s("signature")) {
                return Err("签名无效，内容可能被改动 (the signature does not verify; the text was changed)".into());
            }
            let named: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
            if named.get("agency").and_then(Value::as_str) != Some(agency.as_str()) {
                return Err(
                    "签名内容中的机构与该行不符 (the signed text names another agency)".into(),
                );
            }
            report.checked += 1;
            Ok(())
        }
        other => Err(format!("未知的行类型 {other:?} (unknown line type)")),
    }
}
