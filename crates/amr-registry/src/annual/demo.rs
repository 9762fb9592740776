//! The demo's annual reports: for the report year, most entities that had to report filed in
//! the season, the rest did not (so the abnormal sweep has work). Deterministic (a hash of the
//! seed and the code decides), streamed in code order, written in multi-row batches, one
//! internal event and one audit entry per batch (like the registry's bulk load).

use chrono::{Datelike, NaiveDate};
use serde_json::json;

use amr_kernel::audit::{self, Actor};
use amr_kernel::db::Db;
use amr_kernel::error::AppError;
use amr_kernel::events::{self, NewEvent};
use amr_kernel::{on_conn, on_tx};

use super::model::{Contact, FINANCIAL, Figure, Form, Report, TaxProvenance};
use crate::model::EntityType;

/// Entities read and reports written per transaction.
const BATCH: i64 = 500;

/// In 1,000 entities that had to report, how many filed (the rest are left unreported).
pub const FILED_PER_MILLE: u64 = 900;

fn fnv(seed: u64, s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ seed;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Whether the demo entity `uscc` filed its report (the same answer on every run).
pub fn filed(seed: u64, uscc: &str) -> bool {
    fnv(seed, uscc) % 1000 < FILED_PER_MILLE
}

fn report_of(
    seed: u64,
    uscc: &str,
    t: EntityType,
    address: &str,
    year: i32,
) -> (Report, Vec<String>) {
    let h = fnv(seed ^ 0x5eed, uscc);
    let form = Form::of(t);
    let revenue = ((h >> 8) % 50_000_000) as i64 * 100;
    let assets = revenue / 2 + ((h >> 20) % 10_000_000) as i64 * 100;
    let liabilities = assets * ((h % 60) as i64) / 100;
    let profit = revenue / 20 - ((h >> 30) % 1_000_000) as i64 * 100;
    let tax = (revenue / 100).max(0);
    let values = |k: &str| match k {
        "total_assets" => assets,
        "total_liabilities" => liabilities,
        "owners_equity" => assets - liabilities,
        "total_revenue" => revenue,
        "main_business_revenue" => revenue * 9 / 10,
        "total_profit" => profit,
        "net_profit" => profit * 3 / 4,
        _ => tax,
    };
    let financials = form
        .financial_keys()
        .into_iter()
        .map(|k| Figure {
            key: k.to_string(),
            value_fen: values(k),
            source: "tax".into(),
            tax_value_fen: Some(values(k)),
            changed: false,
        })
        .collect();
    let mut published = vec![];
    if h.is_multiple_of(2) {
        published.push("headcount".to_string());
    }
    if h.is_multiple_of(3) {
        published.extend(
            FINANCIAL
                .iter()
                .map(|f| f.0.to_string())
                .filter(|k| form.financial_keys().contains(&k.as_str())),
        );
    }
    let r = Report {
        form,
        contact: Contact {
            address: address.to_string(),
            postcode: String::new(),
            phone: format!("0531-8{:07}", h % 10_000_000),
            email: String::new(),
        },
        operating_status: "operating".into(),
        investments: vec![],
        shareholders: vec![],
        equity_transfers: vec![],
        websites: vec![],
        headcount: ((h >> 40) % 200) as i64 + 1,
        guarantees: vec![],
        financials,
        tax: TaxProvenance {
            source: Some("tax".into()),
            evidence: Some(format!("demo-{year}-{uscc}")),
            answered_at: None,
            note: None,
        },
    };
    (r, published)
}

type Row = (String, String, String, NaiveDate, String);

/// A report row as bound: uscc, division, form, content, published, filed_on, filed_at.
type Encoded = (
    String,
    String,
    String,
    String,
    String,
    NaiveDate,
    chrono::DateTime<chrono::Utc>,
);

/// Writes the demo's reports for `year` filed by `today` at the latest (entities that had to
/// report, active or suspended, [`filed`] decides); existing reports are kept. Returns how many
/// were written.
pub async fn generate(db: &Db, seed: u64, year: i32, today: NaiveDate) -> Result<u64, AppError> {
    let actor = Actor::cli();
    let last_day = NaiveDate::from_ymd_opt(year, 12, 31).expect("31 December exists");
    let season_start = NaiveDate::from_ymd_opt(year + 1, 1, 2).expect("2 January exists");
    let season_end = super::rules::season_end(year).min(today);
    if season_end < season_start {
        return Ok(0);
    }
    let span = (season_end - season_start).num_days().max(0) as u64 + 1;
    let mut cursor = String::new();
    let mut written = 0u64;
    loop {
        let page: Vec<Row> = on_conn!(db, c => sqlx::query_as(
            "SELECT uscc, division, entity_type, established, address FROM entities \
             WHERE uscc > $1 AND status IN ('active', 'suspended') ORDER BY uscc LIMIT $2",
        )
        .bind(&cursor)
        .bind(BATCH)
        .fetch_all(c)
        .await?);
        let Some(last) = page.last() else {
            return Ok(written);
        };
        cursor = last.0.clone();
        let rows: Vec<_> = page
            .iter()
            .filter(|r| r.3 <= last_day && filed(seed, &r.0))
            .map(|r| {
                let t = EntityType::parse(&r.2).unwrap_or(EntityType::Enterprise);
                let (rep, published) = report_of(seed, &r.0, t, &r.4, year);
                let on = season_start + chrono::Duration::days((fnv(seed ^ 7, &r.0) % span) as i64);
                (r.0.clone(), r.1.clone(), rep, published, on)
            })
            .collect();
        if !rows.is_empty() {
            let mut sql = String::from(
                "INSERT INTO annual_reports (uscc, division, year, form, content, published, late, \
                 version, filed_on, filed_at, filed_by) VALUES ",
            );
            for i in 0..rows.len() {
                let b = i * 9;
                if i > 0 {
                    sql.push_str(", ");
                }
                let p: Vec<String> = (1..=9).map(|k| format!("${}", b + k)).collect();
                sql.push_str(&format!(
                    "({}, {}, {}, {}, {}, {}, {}, 1, {}, {}, 'demo')",
                    p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8]
                ));
            }
            sql.push_str(" ON CONFLICT (uscc, year) DO NOTHING");
            let mut tx = db.begin().await?;
            let n = {
                let encoded: Vec<Encoded> = rows
                    .iter()
                    .map(|(u, d, rep, p, on)| {
                        (
                            u.clone(),
                            d.clone(),
                            rep.form.as_str().to_string(),
                            serde_json::to_string(rep).unwrap_or_default(),
                            serde_json::to_string(p).unwrap_or_default(),
                            *on,
                            on.and_hms_opt(2, 0, 0).expect("02:00 exists").and_utc(),
                        )
                    })
                    .collect();
                on_tx!(tx, c => {
                    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.clone()));
                    for (u, d, f, content, p, on, at) in &encoded {
                        q = q.bind(u).bind(d).bind(year).bind(f).bind(content).bind(p).bind(false).bind(*on).bind(*at);
                    }
                    q.execute(&mut *c).await?.rows_affected()
                })
            };
            events::append(
                &mut tx,
                NewEvent::internal(
                    "registry.annual_reports.demo_loaded",
                    json!({"year": year, "reports": n, "through": cursor}),
                )
                .actor(actor.label()),
            )
            .await?;
            audit::record(
                &mut tx,
                &actor,
                audit::Change {
                    action: "annual_report.demo_load",
                    target_kind: "annual_reports",
                    target_id: format!("{year}:{cursor}"),
                    division: None,
                    before: None,
                    after: Some(json!({"year": year, "reports": n})),
                },
            )
            .await?;
            tx.commit().await?;
            written += n;
        }
        if (page.len() as i64) < BATCH {
            return Ok(written);
        }
    }
}

/// The report year of the demo on `today`: the last one whose season has begun.
pub fn demo_year(today: NaiveDate) -> i32 {
    today.year() - 1
}
