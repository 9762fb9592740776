//! The ledger (台账) export: CSV or XLSX, streamed.
//!
//! Rows are read in keyset pages of [`PAGE`] matters in number order (by id) and written as
//! they come: CSV straight to the writer; XLSX through rust_xlsxwriter's constant-memory mode
//! (each row goes to a temporary file, the workbook is zipped into the writer at the end), so
//! memory stays flat however many matters the ledger holds.
//!
//! Columns (Chinese, with English in brackets): number, kind, title, jurisdiction (code and
//! name), state, assignee (unit / account name), created and closed (China time), outcome,
//! deadline (the earliest running clock's due date, or for a matter without one its last
//! clock's), overdue (是/否: open and past due on the `as_of` day, or a clock that ran late).

use std::io::Write;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;

use super::Engine;
use super::china;
use super::store::{bind_conditions, conditions};
use crate::auth::Scope;
use crate::codes::division::divisions;
use crate::db::Db;
use crate::error::AppError;
use crate::on_conn;

/// Matters read per query.
pub const PAGE: i64 = 1000;

/// Rows an XLSX sheet holds below its header.
const XLSX_MAX_ROWS: u64 = 1_048_575;

/// The export's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Xlsx,
    Csv,
}

impl Format {
    pub fn parse(s: &str) -> Result<Format, AppError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "xlsx" => Ok(Format::Xlsx),
            "csv" => Ok(Format::Csv),
            _ => Err(AppError::bad_request(
                "format",
                "导出格式应为 xlsx 或 csv (the format is xlsx or csv)",
            )),
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            Format::Csv => "text/csv; charset=utf-8",
        }
    }
}

/// What to export.
#[derive(Debug, Clone, Deserialize)]
pub struct ExportFilter {
    pub kind: Option<String>,
    /// Created on or after this day (China time).
    pub from: Option<NaiveDate>,
    /// Created on or before this day (China time).
    pub to: Option<NaiveDate>,
    /// A division-code prefix (within the scope).
    pub jurisdiction: Option<String>,
    /// The day the overdue flag is judged on.
    pub as_of: NaiveDate,
}

/// The header row.
pub const HEADERS: [&str; 11] = [
    "事项编号 (number)",
    "类别 (kind)",
    "标题 (title)",
    "辖区 (jurisdiction)",
    "状态 (state)",
    "承办 (assignee)",
    "登记时间 (created)",
    "办结时间 (closed)",
    "办理结果 (outcome)",
    "办理期限 (deadline)",
    "是否超期 (overdue)",
];

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    number: String,
    kind: String,
    title: String,
    division: String,
    state: String,
    assignee_unit: Option<String>,
    assignee_name: Option<String>,
    created_at: DateTime<Utc>,
    closed_at: Option<DateTime<Utc>>,
    outcome: Option<String>,
    due_on: Option<NaiveDate>,
    last_due_on: Option<NaiveDate>,
    late: bool,
}

enum Sink<W: Write + Send> {
    Csv(Box<csv::Writer<W>>),
    Xlsx {
        book: Box<rust_xlsxwriter::Workbook>,
        out: W,
    },
}

fn xlsx_error(e: rust_xlsxwriter::XlsxError) -> AppError {
    AppError::Internal(anyhow::Error::new(e).context("writing the ledger workbook"))
}

fn csv_error(e: csv::Error) -> AppError {
    AppError::Internal(anyhow::Error::new(e).context("writing the ledger CSV"))
}

impl<W: Write + Send> Sink<W> {
    fn new(format: Format, mut out: W) -> Result<Sink<W>, AppError> {
        match format {
            Format::Csv => {
                // A BOM, so that spreadsheet programs read the file as UTF-8.
                out.write_all("\u{feff}".as_bytes())
                    .map_err(|e| AppError::Internal(e.into()))?;
                Ok(Sink::Csv(Box::new(csv::Writer::from_writer(out))))
            }
            Format::Xlsx => {
                let mut book = Box::new(rust_xlsxwriter::Workbook::new());
                book.add_worksheet_with_constant_memory()
                    .map_err(xlsx_error)?
                    .set_name("台账")
                    .map_err(xlsx_error)?;
                Ok(Sink::Xlsx { book, out })
            }
        }
    }

    fn row(&mut self, n: u32, cells: &[String]) -> Result<(), AppError> {
        match self {
            Sink::Csv(w) => w.write_record(cells).map_err(csv_error),
            Sink::Xlsx { book, .. } => {
                let sheet = book.worksheet_from_index(0).map_err(xlsx_error)?;
                for (c, v) in cells.iter().enumerate() {
                    sheet.write_string(n, c as u16, v).map_err(xlsx_error)?;
                }
                Ok(())
            }
        }
    }

    fn finish(self) -> Result<(), AppError> {
        match self {
            Sink::Csv(mut w) => w.flush().map_err(|e| AppError::Internal(e.into())),
            Sink::Xlsx { mut book, out } => book.save_to_writer(out).map_err(xlsx_error),
        }
    }
}

impl Engine {
    /// Writes the ledger of the matters within `scope` that match `filter` to `out`, as CSV
    /// or XLSX, and returns the number of matters written. Bad filters are refused before
    /// anything is written.
    pub async fn export<W: Write + Send>(
        &self,
        db: &Db,
        scope: &Scope,
        filter: &ExportFilter,
        format: Format,
        out: W,
    ) -> Result<u64, AppError> {
        let c = conditions(
            self,
            filter.kind.as_deref(),
            None,
            filter.jurisdiction.as_deref(),
            filter.from,
            filter.to,
            4,
        )?;
        let sql = format!(
            "SELECT m.id, m.number, m.kind, m.title, m.division, m.state, m.assignee_unit, \
             a.display_name AS assignee_name, m.created_at, m.closed_at, m.outcome, m.due_on, \
             (SELECT k.due_on FROM matter_clocks k WHERE k.matter_id = m.id \
              ORDER BY k.id DESC LIMIT 1) AS last_due_on, m.late \
             FROM matters m LEFT JOIN accounts a ON a.id = m.assignee_account \
             WHERE m.id > $1 AND {}{} ORDER BY m.id LIMIT $3",
            scope.division_filter("m.division", 2),
            c.sql
        );
        let mut sink = Sink::new(format, out)?;
        sink.row(0, &HEADERS.map(String::from))?;
        let mut after = 0i64;
        let mut written: u64 = 0;
        loop {
            let rows: Vec<Row> = on_conn!(db, x => {
                let q = sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                    .bind(after)
                    .bind(scope.like_pattern())
                    .bind(PAGE);
                let q = bind_conditions!(q, c);
                q.fetch_all(x).await?
            });
            let Some(last) = rows.last() else { break };
            after = last.id;
            for r in &rows {
                written += 1;
                if format == Format::Xlsx && written > XLSX_MAX_ROWS {
                    return Err(AppError::rejected(format!(
                        "台账超过 Excel 的行数上限 {XLSX_MAX_ROWS}，请缩小范围或导出 CSV \
                         (more rows than a sheet holds; narrow the filter or export CSV)"
                    )));
                }
                sink.row(written as u32, &self.cells(r, filter.as_of))?;
            }
            if (rows.len() as i64) < PAGE {
                break;
            }
        }
        sink.finish()?;
        Ok(written)
    }

    fn cells(&self, r: &Row, as_of: NaiveDate) -> Vec<String> {
        let kind = self.kind(&r.kind);
        let time = |t: &DateTime<Utc>| {
            t.with_timezone(&china())
                .format("%Y-%m-%d %H:%M:%S")
                .to_string()
        };
        let assignee = match (&r.assignee_unit, &r.assignee_name) {
            (Some(u), Some(n)) => format!("{u} / {n}"),
            (Some(u), None) => u.clone(),
            (None, Some(n)) => n.clone(),
            (None, None) => String::new(),
        };
        let overdue = r.late || (r.closed_at.is_none() && r.due_on.is_some_and(|d| d < as_of));
        vec![
            r.number.clone(),
            kind.map_or(r.kind.clone(), |k| k.spec().label.zh.to_string()),
            r.title.clone(),
            match divisions().full_name(&r.division) {
                Some(name) => format!("{} {name}", r.division),
                None => r.division.clone(),
            },
            kind.and_then(|k| k.state(&r.state))
                .map_or(r.state.clone(), |s| s.label.zh.to_string()),
            assignee,
            time(&r.created_at),
            r.closed_at.as_ref().map(time).unwrap_or_default(),
            r.outcome
                .as_deref()
                .map(|o| {
                    kind.and_then(|k| k.outcome_label(o))
                        .map_or(o.to_string(), |l| l.zh.to_string())
                })
                .unwrap_or_default(),
            r.due_on
                .or(r.last_due_on)
                .map(|d| d.to_string())
                .unwrap_or_default(),
            if overdue { "是" } else { "否" }.to_string(),
        ]
    }
}
