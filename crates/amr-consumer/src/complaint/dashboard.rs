//! The officers' dashboard (`/office/complaints/dashboard`): per month and per region (the
//! officer's sub-divisions) the volumes, the response times in working days (filed →
//! accepted, filed → closed) and the money recovered, as SVG charts with tables of the same
//! figures; the overdue and the escalated matters.
//!
//! The figures come from `complaint_monthly`, counters per county and month kept in the
//! transaction of each act (`followup.rs`), so a dashboard reads at most counties × months
//! rows however many matters there are. Definitions: *received* counts filings in the
//! month (in the county first routed to); *accepted* and *closed* count the acceptances and
//! close-outs (any terminal state: settled in ODR, not accepted, closed by the bureau)
//! taken in the month, where the matter was then; the averages are over those acts; *money
//! recovered* is the amount recorded at the bureau's close plus the settlements of ODR,
//! counted in the month of the close. A reopened matter's close is taken back.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use amr_kernel::auth::Scope;
use amr_kernel::db::Db;
use amr_kernel::error::AppError;
use amr_kernel::matter::{Acting, ListFilter};
use amr_kernel::on_conn;

use super::svg::{self, COLOURS, Series};
use super::views::{division_name, queue_row, state_json};
use super::{engine, model, store};

/// The query: months `YYYY-MM`, both optional (the 12 months to today's by default).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct DashQuery {
    pub from: String,
    pub to: String,
}

fn parse_month(field: &str, s: &str) -> Result<i32, AppError> {
    let bad = || AppError::bad_request(field, "月份应写作 2026-09 (a month is written 2026-09)");
    let (y, m) = s.trim().split_once('-').ok_or_else(bad)?;
    if y.len() != 4 || m.len() != 2 {
        return Err(bad());
    }
    let y: i32 = y.parse().map_err(|_| bad())?;
    let m: i32 = m.parse().map_err(|_| bad())?;
    if !(2000..=2100).contains(&y) || !(1..=12).contains(&m) {
        return Err(bad());
    }
    Ok(y * 100 + m)
}

fn next_month(m: i32) -> i32 {
    if m % 100 == 12 {
        (m / 100 + 1) * 100 + 1
    } else {
        m + 1
    }
}

fn month_text(m: i32) -> String {
    format!("{}-{:02}", m / 100, m % 100)
}

/// The months asked for: at most 36, `from` not after `to`.
pub fn months(q: &DashQuery, today: NaiveDate) -> Result<Vec<i32>, AppError> {
    let now = today.year() * 100 + today.month() as i32;
    let to = match q.to.trim() {
        "" => now,
        s => parse_month("to", s)?,
    };
    let from = match q.from.trim() {
        "" => {
            let (y, m) = (to / 100, to % 100);
            if m == 12 {
                y * 100 + 1
            } else {
                (y - 1) * 100 + m + 1
            }
        }
        s => parse_month("from", s)?,
    };
    if from > to {
        return Err(AppError::bad_request(
            "from",
            "起始月份不能晚于截止月份 (from cannot be after to)",
        ));
    }
    let mut out = vec![from];
    while *out.last().unwrap_or(&to) < to {
        out.push(next_month(*out.last().unwrap_or(&to)));
        if out.len() > 36 {
            return Err(AppError::bad_request(
                "from",
                "一次最多查看 36 个月 (at most 36 months at a time)",
            ));
        }
    }
    Ok(out)
}

/// Summed counters of a month or a region.
#[derive(Debug, Clone, Default, Serialize, sqlx::FromRow)]
pub struct Sums {
    pub key: String,
    pub received: i64,
    pub accepted: i64,
    pub accept_wd_sum: i64,
    pub closed: i64,
    pub close_wd_sum: i64,
    pub close_wd_n: i64,
    pub recovered_fen: i64,
}

impl Sums {
    fn avg_accept(&self) -> Option<f64> {
        (self.accepted > 0)
            .then(|| (self.accept_wd_sum as f64 * 10.0 / self.accepted as f64).round() / 10.0)
    }

    fn avg_close(&self) -> Option<f64> {
        (self.close_wd_n > 0)
            .then(|| (self.close_wd_sum as f64 * 10.0 / self.close_wd_n as f64).round() / 10.0)
    }

    fn json(&self) -> Value {
        json!({
            "received": self.received, "accepted": self.accepted, "closed": self.closed,
            "avg_accept_days": self.avg_accept(), "avg_close_days": self.avg_close(),
            "recovered": model::yuan(self.recovered_fen), "recovered_fen": self.recovered_fen,
        })
    }
}

/// The length of the region codes one level below the scope.
fn region_len(scope: &Scope) -> usize {
    match scope.as_prefix().map(str::len) {
        Some(0) | None => 2,
        Some(2) => 4,
        Some(_) => 6,
    }
}

async fn sums(
    db: &Db,
    scope: &Scope,
    key_sql: &str,
    from: i32,
    to: i32,
) -> Result<Vec<Sums>, AppError> {
    let sql = format!(
        "SELECT {key_sql} AS key, CAST(SUM(received) AS BIGINT) AS received, \
         CAST(SUM(accepted) AS BIGINT) AS accepted, \
         CAST(SUM(accept_wd_sum) AS BIGINT) AS accept_wd_sum, CAST(SUM(closed) AS BIGINT) AS closed, \
         CAST(SUM(close_wd_sum) AS BIGINT) AS close_wd_sum, \
         CAST(SUM(close_wd_n) AS BIGINT) AS close_wd_n, \
         CAST(SUM(recovered_fen) AS BIGINT) AS recovered_fen \
         FROM complaint_monthly WHERE {} AND month >= $2 AND month <= $3 \
         GROUP BY {key_sql} ORDER BY {key_sql}",
        scope.division_filter("division", 1)
    );
    Ok(on_conn!(db, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(scope.like_pattern())
        .bind(from)
        .bind(to)
        .fetch_all(c)
        .await?))
}

/// The dashboard's figures, lists and charts for `acting`'s jurisdiction.
pub async fn dashboard(
    db: &Db,
    acting: &Acting,
    q: &DashQuery,
    today: NaiveDate,
) -> Result<Value, AppError> {
    let months = months(q, today)?;
    let (from, to) = (months[0], *months.last().unwrap_or(&months[0]));
    let by_month = sums(db, &acting.scope, "CAST(month AS TEXT)", from, to).await?;
    let len = region_len(&acting.scope);
    let by_region = sums(
        db,
        &acting.scope,
        &format!("substr(division, 1, {len})"),
        from,
        to,
    )
    .await?;
    let month_rows: Vec<Sums> = months
        .iter()
        .map(|m| {
            let k = m.to_string();
            by_month
                .iter()
                .find(|s| s.key == k)
                .cloned()
                .map(|s| Sums {
                    key: month_text(*m),
                    ..s
                })
                .unwrap_or(Sums {
                    key: month_text(*m),
                    ..Sums::default()
                })
        })
        .collect();
    let labels: Vec<String> = month_rows.iter().map(|s| s.key.clone()).collect();
    let series = |name: &str, f: &dyn Fn(&Sums) -> f64, colour| Series {
        name: name.to_string(),
        values: month_rows.iter().map(f).collect(),
        colour,
    };
    let volume = svg::bar_chart(
        "chart-volume",
        "每月收到与办结件数 (matters received and closed per month)",
        "柱状图，数据见下表 (bar chart; the table below has the figures)",
        &labels,
        &[
            series("收到 received", &|s| s.received as f64, COLOURS[0]),
            series("办结 closed", &|s| s.closed as f64, COLOURS[1]),
        ],
    );
    let times = svg::line_chart(
        "chart-times",
        "平均办理时间（工作日）(average working days)",
        "折线图：登记至受理、登记至办结的平均工作日 (filed to accepted, filed to closed)",
        &labels,
        &[
            series(
                "至受理 to acceptance",
                &|s| s.avg_accept().unwrap_or(f64::NAN),
                COLOURS[0],
            ),
            series(
                "至办结 to close",
                &|s| s.avg_close().unwrap_or(f64::NAN),
                COLOURS[1],
            ),
        ],
    );
    let money = svg::bar_chart(
        "chart-money",
        "每月挽回经济损失（元）(money recovered per month, yuan)",
        "柱状图，数据见下表 (bar chart; the table below has the figures)",
        &labels,
        &[series(
            "挽回 recovered",
            &|s| s.recovered_fen as f64 / 100.0,
            COLOURS[2],
        )],
    );
    let region_labels: Vec<String> = by_region.iter().map(|s| division_name(&s.key)).collect();
    let regions_chart = svg::bar_chart(
        "chart-regions",
        "各辖区收到件数与挽回损失（元）(received and money recovered by region)",
        "柱状图，数据见下表 (bar chart; the table below has the figures)",
        &region_labels,
        &[
            Series {
                name: "收到 received".into(),
                values: by_region.iter().map(|s| s.received as f64).collect(),
                colour: COLOURS[0],
            },
            Series {
                name: "办结 closed".into(),
                values: by_region.iter().map(|s| s.closed as f64).collect(),
                colour: COLOURS[1],
            },
        ],
    );
    let total = month_rows.iter().fold(Sums::default(), |a, s| Sums {
        key: String::new(),
        received: a.received + s.received,
        accepted: a.accepted + s.accepted,
        accept_wd_sum: a.accept_wd_sum + s.accept_wd_sum,
        closed: a.closed + s.closed,
        close_wd_sum: a.close_wd_sum + s.close_wd_sum,
        close_wd_n: a.close_wd_n + s.close_wd_n,
        recovered_fen: a.recovered_fen + s.recovered_fen,
    });
    let (overdue, _) = store::queue(db, &acting.scope, None, Some(today), None, 50).await?;
    let mut escalated = Vec::new();
    for kind in ["complaint", "report", "help"] {
        let page = engine()
            .list(
                db,
                acting,
                &ListFilter {
                    kind: Some(kind.to_string()),
                    escalated: Some(true),
                    limit: Some(50),
                    ..ListFilter::default()
                },
                today,
            )
            .await?;
        escalated.extend(page.items.into_iter().filter(|m| m.closed_at.is_none()));
    }
    escalated.sort_by(|a, b| a.due_on.cmp(&b.due_on).then(a.id.cmp(&b.id)));
    Ok(json!({
        "as_of": today,
        "from": month_text(from),
        "to": month_text(to),
        "months": month_rows.iter().map(|s| { let mut v = s.json(); v["month"] = json!(s.key); v }).collect::<Vec<_>>(),
        "regions": by_region.iter().map(|s| {
            let mut v = s.json();
            v["code"] = json!(s.key);
            v["name"] = json!(division_name(&s.key));
            v
        }).collect::<Vec<_>>(),
        "total": total.json(),
        "overdue": overdue.iter().map(|r| queue_row(r, today)).collect::<Vec<_>>(),
        "escalated": escalated.iter().map(|m| json!({
            "number": m.number, "kind": m.kind, "state": state_json(&m.kind, &m.state),
            "division": {"code": m.division, "name": division_name(&m.division)},
            "escalated_to": {"code": m.escalated_to, "name": m.escalated_to.as_deref().map(division_name)},
            "due_on": m.due_on, "title": m.title,
        })).collect::<Vec<_>>(),
        "charts": {"volume": volume, "times": times, "money": money, "regions": regions_chart},
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn the_default_is_the_twelve_months_to_today() {
        let m = months(&DashQuery::default(), d("2026-09-28")).unwrap();
        assert_eq!(m.len(), 12);
        assert_eq!((m[0], m[11]), (202510, 202609));
        let q = DashQuery {
            from: "2025-12".into(),
            to: "2026-02".into(),
        };
        assert_eq!(
            months(&q, d("2026-09-28")).unwrap(),
            [202512, 202601, 202602]
        );
        for (from, to) in [
            ("2026-13", ""),
            ("2026-9", ""),
            ("2026-05", "2026-04"),
            ("2020-01", "2026-01"),
        ] {
            let q = DashQuery {
                from: from.into(),
                to: to.into(),
            };
            assert!(months(&q, d("2026-09-28")).is_err(), "{from} {to}");
        }
    }

    #[test]
    fn regions_are_one_level_below_the_scope() {
        assert_eq!(region_len(&Scope::all()), 2);
        assert_eq!(region_len(&Scope::prefix("37")), 4);
        assert_eq!(region_len(&Scope::prefix("3701")), 6);
        assert_eq!(region_len(&Scope::prefix("370102")), 6);
    }
}
