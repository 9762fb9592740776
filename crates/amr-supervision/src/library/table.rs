//! Reading an import file (CSV, UTF-8 with or without BOM, or the first sheet of an XLSX
//! workbook, chosen by the file's name) into rows of named fields. Columns go by their header,
//! Chinese or English, in any order; unknown columns are ignored. XLSX is read cell by cell
//! (calamine's streaming cell reader), never as a whole in-memory range.

use std::collections::HashMap;

use calamine::{DataRef, Reader, Xlsx};

use amr_kernel::error::AppError;

/// A field and the header names it answers to (the first Chinese one is used in messages).
pub type Column = (&'static str, &'static [&'static str]);

/// The columns of an item file.
pub const ITEM_COLUMNS: &[Column] = &[
    ("code", &["抽查事项编码", "事项编码", "code", "item_code"]),
    (
        "name",
        &["抽查事项", "抽查事项名称", "事项名称", "name", "item"],
    ),
    ("department", &["部门", "部门编码", "department"]),
    ("domain", &["领域", "领域编码", "domain"]),
    ("legal_basis", &["依据", "抽查依据", "legal_basis", "basis"]),
    ("target_type", &["抽查对象", "target_type", "target"]),
    ("method", &["抽查方式", "method"]),
    (
        "list",
        &[
            "清单类别",
            "清单类别(一般/重点)",
            "清单类别（一般/重点）",
            "list",
        ],
    ),
    ("frequency", &["抽查频次", "frequency"]),
    ("population", &["默认抽查范围", "抽查范围", "population"]),
    ("department_name", &["部门名称", "department_name"]),
    (
        "department_name_en",
        &["部门英文名称", "department_name_en"],
    ),
    ("domain_name", &["领域名称", "domain_name"]),
];

/// Columns an item file must have.
pub const ITEM_REQUIRED: &[&str] = &[
    "code",
    "name",
    "department",
    "domain",
    "legal_basis",
    "target_type",
    "method",
    "list",
    "frequency",
];

/// The columns of an inspector file.
pub const INSPECTOR_COLUMNS: &[Column] = &[
    ("id", &["人员编号", "执法人员编号", "id", "inspector_id"]),
    ("name", &["姓名", "name"]),
    ("department", &["部门", "部门编码", "department"]),
    ("jurisdiction", &["管辖区域", "管辖区划", "jurisdiction"]),
    (
        "qualifications",
        &["检查资格", "资格领域", "qualifications"],
    ),
    (
        "certificate_no",
        &["执法证号", "执法证件号", "certificate_no"],
    ),
    (
        "certificate_expiry",
        &["执法证有效期至", "证件有效期", "certificate_expiry"],
    ),
];

/// Columns an inspector file must have.
pub const INSPECTOR_REQUIRED: &[&str] = &[
    "id",
    "name",
    "department",
    "jurisdiction",
    "qualifications",
    "certificate_no",
    "certificate_expiry",
];

/// A file read into rows.
#[derive(Debug, Clone, Default)]
pub struct Table {
    /// Each known field and the header text the file gave it (for messages).
    pub headers: HashMap<&'static str, String>,
    /// Non-empty rows with their line (the header is line 1) and their fields.
    pub rows: Vec<(u64, HashMap<&'static str, String>)>,
}

impl Table {
    /// The header of `field` as the file wrote it (or its first Chinese name).
    pub fn header_of(&self, field: &str, columns: &[Column]) -> String {
        if let Some(h) = self.headers.get(field) {
            return h.clone();
        }
        columns
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, n)| n[0].to_string())
            .unwrap_or_else(|| field.to_string())
    }
}

fn bad(m: String) -> AppError {
    AppError::bad_request("file", m)
}

fn cell_text(v: &DataRef<'_>) -> String {
    match v {
        DataRef::Int(i) => i.to_string(),
        DataRef::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        DataRef::Float(f) => f.to_string(),
        DataRef::String(s) => s.clone(),
        DataRef::SharedString(s) => (*s).to_string(),
        DataRef::Bool(b) => b.to_string(),
        DataRef::DateTime(d) => d
            .as_datetime()
            .map(|t| t.date().to_string())
            .unwrap_or_else(|| d.to_string()),
        DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => s.clone(),
        DataRef::Error(_) | DataRef::Empty => String::new(),
    }
}

/// Calls `row` with each row of the file as strings (line numbers from 1).
fn each_row(
    name: &str,
    bytes: &[u8],
    mut row: impl FnMut(u64, Vec<String>) -> Result<(), AppError>,
) -> Result<(), AppError> {
    if name.to_ascii_lowercase().ends_with(".xlsx") {
        let mut book: Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(bytes))
            .map_err(|e| {
                bad(format!(
                    "无法读取 XLSX 文件 (cannot read the workbook): {e}"
                ))
            })?;
        let sheet = book
            .sheet_names()
            .first()
            .cloned()
            .ok_or_else(|| bad("工作簿没有工作表 (the workbook has no sheet)".into()))?;
        let mut cells = book
            .worksheet_cells_reader(&sheet)
            .map_err(|e| bad(format!("无法读取工作表 (cannot read the sheet): {e}")))?;
        let mut current: Option<(u32, Vec<String>)> = None;
        while let Some(cell) = cells
            .next_cell()
            .map_err(|e| bad(format!("无法读取工作表 (cannot read the sheet): {e}")))?
        {
            let (r, c) = cell.get_position();
            if current.as_ref().is_some_and(|(cr, _)| *cr != r) {
                let (cr, values) = current.take().unwrap_or_default();
                row(u64::from(cr) + 1, values)?;
            }
            let entry = current.get_or_insert_with(|| (r, Vec::new()));
            let c = c as usize;
            if c > 200 {
                continue;
            }
            if entry.1.len() <= c {
                entry.1.resize(c + 1, String::new());
            }
            entry.1[c] = cell_text(cell.get_value());
        }
        if let Some((cr, values)) = current {
            row(u64::from(cr) + 1, values)?;
        }
        Ok(())
    } else {
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        let mut rd = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(bytes);
        for (i, rec) in rd.records().enumerate() {
            let line = i as u64 + 1;
            let rec = rec.map_err(|e| {
                bad(format!(
                    "CSV 第 {line} 行无法读取（须为 UTF-8）(CSV line {line} cannot be read; UTF-8 expected): {e}"
                ))
            })?;
            row(line, rec.iter().map(str::to_string).collect())?;
        }
        Ok(())
    }
}

/// Reads a file with these columns. A file that cannot be read, has no header, or whose
/// header lacks a required column is one error naming what is wrong; rows are checked by the
/// caller. At most `max_rows` rows.
pub fn read(
    name: &str,
    bytes: &[u8],
    columns: &[Column],
    required: &[&str],
    max_rows: usize,
) -> Result<Table, AppError> {
    let mut table = Table::default();
    let mut cols: Option<Vec<Option<&'static str>>> = None;
    each_row(name, bytes, |line, values| {
        match &cols {
            None => {
                if values.iter().all(|v| v.trim().is_empty()) {
                    return Ok(());
                }
                let mapped: Vec<Option<&'static str>> = values
                    .iter()
                    .map(|h| {
                        let h = h.trim();
                        columns
                            .iter()
                            .find(|(_, names)| names.iter().any(|n| n.eq_ignore_ascii_case(h)))
                            .map(|(k, _)| *k)
                    })
                    .collect();
                for (v, c) in values.iter().zip(&mapped) {
                    if let Some(c) = c {
                        table
                            .headers
                            .entry(c)
                            .or_insert_with(|| v.trim().to_string());
                    }
                }
                let missing: Vec<&str> = required
                    .iter()
                    .filter(|k| !mapped.contains(&Some(**k)))
                    .copied()
                    .collect();
                if !missing.is_empty() {
                    let zh: Vec<&str> = missing
                        .iter()
                        .map(|k| {
                            columns
                                .iter()
                                .find(|(c, _)| c == k)
                                .map(|(_, n)| n[0])
                                .unwrap_or(k)
                        })
                        .collect();
                    return Err(bad(format!(
                        "表头缺少必需的列：{} (the header lacks required columns: {})",
                        zh.join("、"),
                        missing.join(", ")
                    )));
                }
                cols = Some(mapped);
            }
            Some(mapped) => {
                if values.iter().all(|v| v.trim().is_empty()) {
                    return Ok(());
                }
                if table.rows.len() >= max_rows {
                    return Err(bad(format!(
                        "文件超过 {max_rows} 行 (the file has more than {max_rows} rows)"
                    )));
                }
                let mut fields = HashMap::new();
                for (v, c) in values.into_iter().zip(mapped) {
                    if let Some(c) = c {
                        fields.insert(*c, v);
                    }
                }
                table.rows.push((line, fields));
            }
        }
        Ok(())
    })?;
    if cols.is_none() {
        return Err(bad("文件为空 (the file is empty)".into()));
    }
    Ok(table)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_csv_reads_by_chinese_or_english_headers() {
        let csv = "\u{feff}抽查事项编码,抽查事项,部门,领域,依据,抽查对象,抽查方式,清单类别(一般/重点),抽查频次,默认抽查范围,备注\n\
                   X01-01,检查一,X,X01,《法》,企业,现场检查,一般,每年1次,industry:62,无关\n\
                   ,,,,,,,,,,\n";
        let t = read("a.csv", csv.as_bytes(), ITEM_COLUMNS, ITEM_REQUIRED, 10).unwrap();
        assert_eq!(t.rows.len(), 1);
        assert_eq!(t.rows[0].0, 2);
        assert_eq!(t.rows[0].1["population"], "industry:62");
        assert_eq!(t.header_of("list", ITEM_COLUMNS), "清单类别(一般/重点)");
        let en = "code,name,department,domain,legal_basis,target_type,method,list,frequency\nA,B,C,D,E,F,G,key,H\n";
        let t = read("a.csv", en.as_bytes(), ITEM_COLUMNS, ITEM_REQUIRED, 10).unwrap();
        assert_eq!(t.rows[0].1["list"], "key");
    }

    #[test]
    fn missing_columns_and_too_many_rows_are_refused() {
        let e = read(
            "a.csv",
            "抽查事项,部门\n".as_bytes(),
            ITEM_COLUMNS,
            ITEM_REQUIRED,
            10,
        )
        .unwrap_err();
        assert!(e.to_string().contains("抽查事项编码"), "{e}");
        let many = "code,name,department,domain,legal_basis,target_type,method,list,frequency\nA,B,C,D,E,F,G,key,H\nA,B,C,D,E,F,G,key,H\n";
        assert!(read("a.csv", many.as_bytes(), ITEM_COLUMNS, ITEM_REQUIRED, 1).is_err());
        assert!(read("a.csv", b"", ITEM_COLUMNS, ITEM_REQUIRED, 1).is_err());
        assert!(read("a.xlsx", b"not a zip", ITEM_COLUMNS, ITEM_REQUIRED, 1).is_err());
    }
}
