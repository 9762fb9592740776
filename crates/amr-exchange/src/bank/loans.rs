//! Loans reported back by banks: `POST /api/v1/exchange/banks/loans` with the bank's API key
//! (`exchange:NAME`) as Bearer and `X-AMR-Signature` over the tag `AMR exchange loan report
//! v1\n` + the body, checked against the bank's registered key (as acknowledgements are).
//!
//! Body: `{"report_id", "agency", "at", "loans": [{"uscc", "amount_fen", "granted_on",
//! "product", "term_months"}]}` (1–1,000 loans). A report is taken whole or not at all: any
//! bad loan, or a loan for an enterprise never pushed to that bank, refuses the report with
//! every such item named. `report_id` is the idempotency key: the same report again is
//! answered as a repeat and changes nothing; another body under the same id is a conflict.
//! The signed text is kept as evidence (`in`, `loan_report`); the report is evented
//! (`exchange.bank.loans.reported`, internal) and audited (`exchange_bank.loan_report`).

use std::collections::HashMap;

use chrono::{Datelike, NaiveDate, SubsecRound, Utc};
use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use amr_kernel::audit::{self, Actor};
use amr_kernel::codes::uscc::Uscc;
use amr_kernel::db::Db;
use amr_kernel::error::AppError;
use amr_kernel::events::{self, NewEvent};
use amr_kernel::on_tx;

use crate::agency::Agency;
use crate::{evidence, proto};

/// At most this many loans a report.
pub const MAX_LOANS: usize = 1000;
/// At most 100 billion yuan a loan (in fen).
pub const MAX_AMOUNT_FEN: i64 = 10_000_000_000_000;

/// One loan, checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Loan {
    pub uscc: String,
    pub amount_fen: i64,
    pub granted_on: NaiveDate,
    pub product: String,
    pub term_months: i64,
}

/// What a report did.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub report_id: String,
    pub loans: i64,
    pub amount_fen: i64,
    /// True when this report had been received before (nothing changed).
    pub repeat: bool,
}

/// A report's body, checked (without the pushed check, which needs the database).
#[derive(Debug, Clone)]
pub struct Report {
    pub report_id: String,
    pub agency: String,
    pub loans: Vec<Loan>,
}

fn bad(field: &str, m: impl std::fmt::Display) -> AppError {
    AppError::bad_request(field, m)
}

/// Parses and checks a report body; every bad loan is named (`loans[N].field`, from 1).
pub fn parse(body: &str, today: NaiveDate) -> Result<Report, AppError> {
    let v: Value = serde_json::from_str(body).map_err(|e| {
        bad(
            "body",
            format!("贷款报告不是合法的 JSON (the loan report is not valid JSON): {e}"),
        )
    })?;
    let s = |k: &str| {
        v.get(k)
            .and_then(Value::as_str)
            .map(str::trim)
            .unwrap_or_default()
            .to_string()
    };
    let report_id = s("report_id");
    if report_id.is_empty()
        || report_id.len() > 100
        || !report_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'))
    {
        return Err(bad(
            "report_id",
            "report_id 应为 1–100 个字母、数字或 - _ . : (report_id: 1–100 letters, digits or - _ . :)",
        ));
    }
    let agency = s("agency");
    let items = v.get("loans").and_then(Value::as_array).ok_or_else(|| {
        bad(
            "loans",
            "缺少贷款列表 loans (the report lacks the loans list)",
        )
    })?;
    if items.is_empty() || items.len() > MAX_LOANS {
        return Err(bad(
            "loans",
            format!("贷款笔数应为 1–{MAX_LOANS} (a report holds 1–{MAX_LOANS} loans)"),
        ));
    }
    let mut loans = Vec::with_capacity(items.len());
    let mut errors: Vec<String> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let n = i + 1;
        let mut fail = |f: &str, zh: &str, en: &str| {
            errors.push(format!("第 {n} 笔 {f}：{zh} (loan {n} {f}: {en})"));
        };
        let uscc = match item.get("uscc").and_then(Value::as_str).map(Uscc::parse) {
            Some(Ok(u)) => Some(u.to_string()),
            _ => {
                fail("uscc", "不是有效的统一社会信用代码", "not a valid USCC");
                None
            }
        };
        let amount = match item.get("amount_fen").and_then(Value::as_i64) {
            Some(a) if (1..=MAX_AMOUNT_FEN).contains(&a) => Some(a),
            _ => {
                fail(
                    "amount_fen",
                    "金额应为正整数（分），不超过 1000 亿元",
                    "a positive whole number of fen, at most 100 billion yuan",
                );
                None
            }
        };
        let granted_on = match item
            .get("granted_on")
            .and_then(Value::as_str)
            .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        {
            Some(d) if d <= today + chrono::Duration::days(1) && d.year_ce().1 >= 2000 => Some(d),
            _ => {
                fail(
                    "granted_on",
                    "放款日期应为 YYYY-MM-DD，且不晚于今天",
                    "a date YYYY-MM-DD, not in the future",
                );
                None
            }
        };
        let product = item
            .get("product")
            .and_then(Value::as_str)
            .map(str::trim)
            .unwrap_or_default();
        if product.is_empty() || product.chars().count() > 100 {
            fail(
                "product",
                "贷款产品名称 1–100 字",
                "the product name is 1–100 characters",
            );
        }
        let term = match item.get("term_months").and_then(Value::as_i64) {
            Some(t) if (1..=600).contains(&t) => Some(t),
            _ => {
                fail(
                    "term_months",
                    "期限应为 1–600 个月",
                    "a term of 1–600 months",
                );
                None
            }
        };
        if let (Some(uscc), Some(amount_fen), Some(granted_on), Some(term_months)) =
            (uscc, amount, granted_on, term)
            && !product.is_empty()
            && product.chars().count() <= 100
        {
            loans.push(Loan {
                uscc,
                amount_fen,
                granted_on,
                product: product.to_string(),
                term_months,
            });
        }
    }
    if !errors.is_empty() {
        return Err(bad("loans", errors.join("；")));
    }
    Ok(Report {
        report_id,
        agency,
        loans,
    })
}

/// Applies a signed loan report of bank `a` (see the module's text).
pub async fn apply(
    db: &Db,
    a: &Agency,
    body: &str,
    signature: &str,
    actor: &Actor,
    today: NaiveDate,
) -> Result<Outcome, AppError> {
    let key = a.verifying_key()?;
    if !proto::check(&key, proto::TAG_LOAN_REPORT, body, signature) {
        return Err(bad(
            "signature",
            "贷款报告签名无效：与该银行登记的公钥不符 (the loan report's signature does not match the bank's registered key)",
        ));
    }
    let r = parse(body, today)?;
    if r.agency != a.name {
        return Err(bad(
            "agency",
            "报告中的机构与调用者不符 (the report names another agency)",
        ));
    }
    let digest = hex::encode(Sha256::digest(body.as_bytes()));
    let mut tx = db.begin().await?;
    let seen: Option<(String, i64, i64)> = on_tx!(tx, c => sqlx::query_as(
        "SELECT body_sha256, loans, amount_fen FROM bank_loan_reports WHERE agency_id = $1 AND report_id = $2",
    )
    .bind(a.id)
    .bind(&r.report_id)
    .fetch_optional(&mut *c)
    .await?);
    if let Some((sha, loans, amount_fen)) = seen {
        if sha != digest {
            return Err(AppError::Conflict(format!(
                "报告 {} 已收到且内容不同 (report {} was received before with another content)",
                r.report_id, r.report_id
            )));
        }
        return Ok(Outcome {
            report_id: r.report_id,
            loans,
            amount_fen,
            repeat: true,
        });
    }
    // Which of the loans' enterprises were ever pushed to this bank (and their divisions).
    let mut usccs: Vec<&str> = r.loans.iter().map(|l| l.uscc.as_str()).collect();
    usccs.sort_unstable();
    usccs.dedup();
    let mut pushed: HashMap<String, String> = HashMap::new();
    for chunk in usccs.chunks(500) {
        let list = (0..chunk.len())
            .map(|i| format!("${}", i + 2))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT uscc, division FROM bank_pushed WHERE agency_id = $1 AND uscc IN ({list})"
        );
        let rows: Vec<(String, String)> = on_tx!(tx, c => {
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(a.id);
            for u in chunk {
                q = q.bind(*u);
            }
            q.fetch_all(&mut *c).await?
        });
        pushed.extend(rows);
    }
    let unknown: Vec<String> = r
        .loans
        .iter()
        .enumerate()
        .filter(|(_, l)| !pushed.contains_key(&l.uscc))
        .map(|(i, l)| {
            format!(
                "第 {n} 笔：企业 {u} 未推送给本银行 (loan {n}: {u} was never pushed to this bank)",
                n = i + 1,
                u = l.uscc
            )
        })
        .collect();
    if !unknown.is_empty() {
        return Err(bad("loans", unknown.join("；")));
    }
    let ev = evidence::insert(
        &mut tx,
        &evidence::NewEvidence {
            agency_id: a.id,
            delivery_id: None,
            direction: "in",
            kind: "loan_report",
            body,
            key_id: &proto::key_id_of(&key).to_string(),
            signature,
        },
    )
    .await?;
    let count = i64::try_from(r.loans.len()).unwrap_or(i64::MAX);
    let amount: i64 = r
        .loans
        .iter()
        .map(|l| l.amount_fen)
        .fold(0i64, i64::saturating_add);
    let id: i64 = on_tx!(tx, c => sqlx::query_scalar(
        "INSERT INTO bank_loan_reports (agency_id, report_id, body_sha256, evidence_id, loans, amount_fen, received_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(a.id)
    .bind(&r.report_id)
    .bind(&digest)
    .bind(ev)
    .bind(count)
    .bind(amount)
    .bind(Utc::now().trunc_subsecs(6))
    .fetch_one(&mut *c)
    .await?);
    for l in &r.loans {
        let division = pushed.get(&l.uscc).cloned().unwrap_or_default();
        on_tx!(tx, c => sqlx::query(
            "INSERT INTO bank_loans (report_id, agency_id, uscc, division, amount_fen, granted_on, product, term_months) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(id)
        .bind(a.id)
        .bind(&l.uscc)
        .bind(&division)
        .bind(l.amount_fen)
        .bind(l.granted_on)
        .bind(&l.product)
        .bind(l.term_months)
        .execute(&mut *c)
        .await?
        .rows_affected());
    }
    let body = json!({"agency": a.name, "report_id": r.report_id, "loans": count, "amount_fen": amount,
                      "evidence_id": ev});
    events::append(
        &mut tx,
        NewEvent::internal("exchange.bank.loans.reported", body.clone()).actor(actor.label()),
    )
    .await?;
    audit::record(
        &mut tx,
        actor,
        audit::Change {
            action: "exchange_bank.loan_report",
            target_kind: "exchange_agency",
            target_id: a.name.clone(),
            division: None,
            before: None,
            after: Some(body),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Outcome {
        report_id: r.report_id,
        loans: count,
        amount_fen: amount,
        repeat: false,
    })
}
