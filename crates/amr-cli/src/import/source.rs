//! Where import rows come from: a CSV file or the first sheet of an XLSX workbook, read on a
//! thread of its own and handed over a bounded channel, so the file is never held in memory
//! and reading overlaps with writing to the database.
//!
//! The first row sent is the header row. Each data row carries its number (data rows counted
//! from 1 after the header; in a workbook, the sheet row minus the header's, so blank rows keep
//! their numbers and row N is sheet row N + the header's row) and the reader's position for the
//! progress bar. A row that cannot be read is sent as an error for that row; an error that ends
//! the reading (an unreadable file, a damaged workbook) is the reader's result.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use calamine::{DataRef, Reader, Xlsx};
use csv::StringRecord;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use amr_kernel::error::AppError;

/// Rows read ahead of the importer.
const AHEAD: usize = 4_096;

#[derive(Debug)]
pub struct SourceRow {
    pub row: i64,
    pub pos: u64,
    pub fields: Result<StringRecord, String>,
}

#[derive(Debug, Clone, Copy)]
pub enum Unit {
    Bytes,
    Rows,
}

pub struct Source {
    pub rows: mpsc::Receiver<SourceRow>,
    /// The progress bar's length, in `unit`s.
    pub total: u64,
    pub unit: Unit,
    /// The reader's end: `Some(reason)` when it stopped before the end of the file.
    pub reader: JoinHandle<Option<String>>,
}

fn is_xlsx(file: &Path) -> bool {
    file.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("xlsx"))
}

pub fn open_source(file: &Path) -> Result<Source, AppError> {
    let bad = |e: &dyn std::fmt::Display| {
        AppError::bad_request(
            "file",
            format!("无法读取 {} (cannot read the file): {e}", file.display()),
        )
    };
    let (tx, rows) = mpsc::channel(AHEAD);
    if is_xlsx(file) {
        let mut book: Xlsx<BufReader<File>> = calamine::open_workbook(file).map_err(|e| {
            bad(&format!(
                "不是有效的 XLSX 工作簿 (not a valid XLSX workbook): {e}"
            ))
        })?;
        let Some(sheet) = book.sheet_names().first().cloned() else {
            return Err(bad(&"工作簿中没有工作表 (the workbook has no sheet)"));
        };
        let total = {
            let cells = book.worksheet_cells_reader(&sheet).map_err(|e| bad(&e))?;
            u64::from(cells.dimensions().end.0)
        };
        let reader = tokio::task::spawn_blocking(move || read_xlsx(book, &sheet, &tx));
        Ok(Source {
            rows,
            total,
            unit: Unit::Rows,
            reader,
        })
    } else {
        let f = File::open(file).map_err(|e| bad(&e))?;
        let total = f.metadata().map_err(|e| bad(&e))?.len();
        let rdr = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .has_headers(false)
            .flexible(false)
            .from_reader(f);
        let reader = tokio::task::spawn_blocking(move || read_csv(rdr, &tx));
        Ok(Source {
            rows,
            total,
            unit: Unit::Bytes,
            reader,
        })
    }
}

fn read_csv(mut rdr: csv::Reader<File>, tx: &mpsc::Sender<SourceRow>) -> Option<String> {
    let mut row = -1i64; // the header row is row 0
    let mut rec = StringRecord::new();
    loop {
        row += 1;
        let fields = match rdr.read_record(&mut rec) {
            Ok(false) => return None,
            Ok(true) => Ok(rec.clone()),
            Err(e) if matches!(e.kind(), csv::ErrorKind::Io(_)) => return Some(e.to_string()),
            Err(e) => Err(format!("无法解析该行 (malformed row): {e}")),
        };
        let pos = rdr.position().byte();
        if tx.blocking_send(SourceRow { row, pos, fields }).is_err() {
            return None; // the importer stopped
        }
    }
}

/// The text of a cell as the row parser expects it.
fn cell_text(cell: &DataRef<'_>) -> Result<String, String> {
    Ok(match cell {
        DataRef::Empty => String::new(),
        DataRef::String(s) => s.clone(),
        DataRef::SharedString(s) => (*s).to_string(),
        DataRef::Int(i) => i.to_string(),
        DataRef::Float(f) => {
            if f.fract() == 0.0 && f.abs() < 1e15 {
                format!("{}", *f as i64)
            } else if f.abs() >= 1e15 {
                // Excel keeps 15 significant digits: an 18-digit code typed as a number has
                // already lost its last digits.
                return Err(
                    "数字超过 15 位，Excel 已丢失其末位，请把该列设为文本后重新录入 \
                     (a number of more than 15 digits has lost its last digits in Excel: \
                     format the column as text and enter it again)"
                        .to_string(),
                );
            } else {
                f.to_string()
            }
        }
        DataRef::Bool(b) => b.to_string(),
        DataRef::DateTime(d) => match d.as_datetime() {
            Some(dt) if d.is_datetime() => dt.date().format("%Y-%m-%d").to_string(),
            _ => d.as_f64().to_string(),
        },
        DataRef::DateTimeIso(s) => s.get(..10).unwrap_or(s).to_string(),
        DataRef::DurationIso(s) => s.clone(),
        DataRef::Error(e) => return Err(format!("单元格含错误值 (the cell holds an error): {e}")),
    })
}

fn read_xlsx(
    mut book: Xlsx<BufReader<File>>,
    sheet: &str,
    tx: &mpsc::Sender<SourceRow>,
) -> Option<String> {
    let mut cells = match book.worksheet_cells_reader(sheet) {
        Ok(c) => c,
        Err(e) => return Some(e.to_string()),
    };
    let mut header_row: Option<u32> = None;
    let mut current: Option<u32> = None;
    let mut fields: Vec<String> = Vec::new();
    let mut problem: Option<String> = None;
    let send = |sheet_row: u32,
                header: u32,
                fields: &mut Vec<String>,
                problem: &mut Option<String>|
     -> bool {
        let rec = StringRecord::from(std::mem::take(fields));
        let fields = match problem.take() {
            Some(p) => Err(p),
            None => Ok(rec),
        };
        let row = i64::from(sheet_row - header);
        tx.blocking_send(SourceRow {
            row,
            pos: u64::from(sheet_row),
            fields,
        })
        .is_ok()
    };
    loop {
        let cell = match cells.next_cell() {
            Ok(Some(c)) => c,
            Ok(None) => break,
            Err(e) => return Some(e.to_string()),
        };
        let (r, c) = cell.get_position();
        if current != Some(r) {
            if let Some(prev) = current {
                let header = *header_row.get_or_insert(prev);
                if !send(prev, header, &mut fields, &mut problem) {
                    return None;
                }
            }
            current = Some(r);
        }
        let c = c as usize;
        if c >= 64 {
            // Far beyond the 13 columns: ignored unless it holds something.
            if !matches!(cell.get_value(), DataRef::Empty) && problem.is_none() {
                problem = Some(format!(
                    "第 {} 列超出表头 (a value beyond the header's columns)",
                    c + 1
                ));
            }
            continue;
        }
        if fields.len() <= c {
            fields.resize(c + 1, String::new());
        }
        match cell_text(cell.get_value()) {
            Ok(t) => fields[c] = t.trim().to_string(),
            Err(e) => {
                if problem.is_none() {
                    problem = Some(format!("第 {} 列 (column {}): {e}", c + 1, c + 1));
                }
            }
        }
    }
    if let Some(prev) = current {
        let header = *header_row.get_or_insert(prev);
        send(prev, header, &mut fields, &mut problem);
    }
    None
}

/// The accepted names of each column: the key, or its Chinese name as registry forms and
/// exports label it.
const ALIASES: [(&str, &[&str]); 13] = [
    ("uscc", &["统一社会信用代码", "信用代码"]),
    ("name", &["名称", "企业名称", "主体名称"]),
    ("entity_type", &["类型", "主体类型", "市场主体类型"]),
    (
        "legal_rep",
        &["法定代表人", "法定代表人/负责人/经营者", "负责人", "经营者"],
    ),
    (
        "legal_rep_id",
        &["证件号码", "法定代表人证件号码", "身份证号码"],
    ),
    ("phone", &["联系电话", "电话"]),
    ("capital", &["注册资本", "注册资本(元)", "注册资本（元）"]),
    ("established", &["成立日期"]),
    ("address", &["住所", "住所/经营场所", "经营场所", "地址"]),
    (
        "division",
        &["行政区划代码", "住所行政区划代码", "区划代码"],
    ),
    ("scope", &["经营范围"]),
    ("industry", &["行业代码", "国民经济行业代码", "行业"]),
    ("status", &["登记状态", "状态"]),
];

/// Maps the header row to the column keys; an unknown or repeated column is an error.
pub fn canonical_headers(headers: &StringRecord) -> Result<StringRecord, AppError> {
    let mut out = Vec::with_capacity(headers.len());
    for h in headers.iter() {
        let h = h.trim_start_matches('\u{feff}').trim();
        let key = ALIASES
            .iter()
            .find(|(k, names)| *k == h || names.contains(&h))
            .map(|(k, _)| *k);
        let Some(key) = key else {
            let list: Vec<String> = ALIASES
                .iter()
                .map(|(k, names)| format!("{k}/{}", names[0]))
                .collect();
            return Err(AppError::bad_request(
                "file",
                format!(
                    "未知的列 “{h}”，可用的列：{} (unknown column; the columns are listed)",
                    list.join(", ")
                ),
            ));
        };
        if out.contains(&key) {
            return Err(AppError::bad_request(
                "file",
                format!("列 “{h}” 重复 (the column {key} appears twice)"),
            ));
        }
        out.push(key);
    }
    Ok(StringRecord::from(out))
}
