//! Reading an import file into rows of [`ItemInput`]: a CSV text (UTF-8, with or without BOM)
//! or the first sheet of an XLSX workbook (chosen by the file's name). Columns go by their
//! header, Chinese or English, in any order; unknown columns are ignored.

use amr_kernel::error::AppError;

use super::model::ItemInput;

/// Each field and the header names it answers to.
const COLUMNS: &[(&str, &[&str])] = &[
    ("item_key", &["item_key", "key", "事项编码", "编码"]),
    ("name", &["name", "事项名称", "名称"]),
    ("stage", &["stage", "阶段", "生命周期阶段"]),
    (
        "department",
        &["department", "实施部门", "部门", "办理部门"],
    ),
    ("division", &["division", "适用区域", "区划代码"]),
    ("conditions", &["conditions", "办理条件", "申请条件"]),
    ("materials", &["materials", "申请材料", "材料"]),
    (
        "time_limit_days",
        &[
            "time_limit_days",
            "办理时限（工作日）",
            "办理时限(工作日)",
            "办理时限",
            "承诺时限",
        ],
    ),
    (
        "legal_basis",
        &["legal_basis", "设定依据", "法律依据", "依据"],
    ),
    (
        "online_url",
        &["online_url", "网上办理", "网上办理地址", "在线办理"],
    ),
    ("keywords", &["keywords", "关键词"]),
];

/// Columns a file must have.
const REQUIRED: &[&str] = &[
    "item_key",
    "name",
    "stage",
    "department",
    "conditions",
    "materials",
    "legal_basis",
];

/// The rows of a file, each with its line number in the file (the header is line 1). Empty
/// rows are left out. A file that cannot be read, or whose header lacks a required column, is
/// one error naming what is wrong.
pub fn read(name: &str, bytes: &[u8]) -> Result<Vec<(u64, ItemInput)>, AppError> {
    let bad = |m: String| AppError::bad_request("file", m);
    let mut grid: Vec<Vec<String>> = Vec::new();
    if name.to_ascii_lowercase().ends_with(".xlsx") {
        use calamine::{Reader, Xlsx};
        let mut book: Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(bytes))
            .map_err(|e| {
                bad(format!(
                    "无法读取 XLSX 文件 (cannot read the workbook): {e}"
                ))
            })?;
        let range = book
            .worksheet_range_at(0)
            .ok_or_else(|| bad("工作簿没有工作表 (the workbook has no sheet)".into()))?
            .map_err(|e| bad(format!("无法读取工作表 (cannot read the sheet): {e}")))?;
        for r in range.rows() {
            grid.push(r.iter().map(|c| c.to_string()).collect());
        }
    } else {
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        let mut rd = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(bytes);
        for (i, rec) in rd.records().enumerate() {
            let rec = rec.map_err(|e| {
                bad(format!(
                    "CSV 第 {} 行无法读取（须为 UTF-8）(CSV line {} cannot be read; UTF-8 expected): {e}",
                    i + 1,
                    i + 1
                ))
            })?;
            grid.push(rec.iter().map(str::to_string).collect());
        }
    }
    let mut it = grid.into_iter();
    let header = it
        .next()
        .ok_or_else(|| bad("文件为空 (the file is empty)".into()))?;
    let cols: Vec<Option<&'static str>> = header
        .iter()
        .map(|h| {
            let h = h.trim();
            COLUMNS
                .iter()
                .find(|(_, names)| names.iter().any(|n| n.eq_ignore_ascii_case(h)))
                .map(|(k, _)| *k)
        })
        .collect();
    let missing: Vec<&str> = REQUIRED
        .iter()
        .filter(|k| !cols.contains(&Some(**k)))
        .copied()
        .collect();
    if !missing.is_empty() {
        let zh: Vec<&str> = missing
            .iter()
            .map(|k| {
                COLUMNS
                    .iter()
                    .find(|(c, _)| c == k)
                    .and_then(|(_, names)| names.iter().find(|n| !n.is_ascii()))
                    .copied()
                    .unwrap_or(k)
            })
            .collect();
        return Err(bad(format!(
            "表头缺少必需的列：{} (the header lacks required columns: {})",
            zh.join("、"),
            missing.join(", ")
        )));
    }
    let mut out = Vec::new();
    for (i, row) in it.enumerate() {
        if row.iter().all(|v| v.trim().is_empty()) {
            continue;
        }
        let mut input = ItemInput::default();
        for (v, c) in row.into_iter().zip(&cols) {
            let slot = match c {
                Some("item_key") => &mut input.item_key,
                Some("name") => &mut input.name,
                Some("stage") => &mut input.stage,
                Some("department") => &mut input.department,
                Some("division") => &mut input.division,
                Some("conditions") => &mut input.conditions,
                Some("materials") => &mut input.materials,
                Some("time_limit_days") => &mut input.time_limit_days,
                Some("legal_basis") => &mut input.legal_basis,
                Some("online_url") => &mut input.online_url,
                Some("keywords") => &mut input.keywords,
                _ => continue,
            };
            *slot = v;
        }
        out.push((i as u64 + 2, input));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_catalogue_reads_and_validates() {
        let rows = read("catalogue.csv", crate::guide::DEFAULT_CATALOGUE.as_bytes()).unwrap();
        assert!(rows.len() >= 20, "{}", rows.len());
        let mut keys = std::collections::HashSet::new();
        for (line, r) in &rows {
            let item = r
                .validate("37")
                .unwrap_or_else(|e| panic!("line {line}: {e:?}"));
            assert!(
                keys.insert(item.item_key.clone()),
                "duplicate {}",
                item.item_key
            );
        }
    }

    #[test]
    fn a_header_without_required_columns_is_refused() {
        let e = read("x.csv", "名称,阶段\n开办,准入\n".as_bytes()).unwrap_err();
        assert!(e.to_string().contains("事项编码"), "{e}");
    }
}
