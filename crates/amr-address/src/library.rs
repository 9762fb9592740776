//! The standard address library (标准地址库): per prefecture city, the standard addresses
//! (road + number + building) registrations are matched against.
//!
//! Every entry is stored with the key it is matched by, [`StdKey`]: `city|road|number|building`
//! built from the parsed address, so an entry and an applicant's address written differently
//! (全角, 一百八十号, missing upper levels) meet on the same key. Matching ([`find_match`]) gives
//! the exact entry, or the nearest ones (same road, nearest number; or the same building) with
//! the differences named.
//!
//! Writes ([`add`], [`retire`], [`import_rows`]) run in the caller's transaction with their
//! audit entry; every officer read and write is limited to the officer's jurisdiction
//! ([`Scope`]) on the entry's county code.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use amr_kernel::audit::{self, Actor, Change};
use amr_kernel::auth::Scope;
use amr_kernel::codes::division::Jurisdiction;
use amr_kernel::db::{Db, Tx};
use amr_kernel::error::AppError;
use amr_kernel::{on_conn, on_tx};

use crate::parse::{ParsedAddress, parse};

/// The matching key of a parsed address: the same city, road, number and building.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StdKey {
    pub city: String,
    pub road: String,
    pub road_no: String,
    pub road_num: Option<i64>,
    pub building: Option<String>,
    pub key: String,
}

/// The building part of an address for matching: the named place and the building in it.
pub fn building_of(p: &ParsedAddress) -> Option<String> {
    match (p.poi.as_deref(), p.building.as_deref()) {
        (Some(a), Some(b)) => Some(format!("{a}{b}")),
        (Some(a), None) => Some(a.to_string()),
        (None, Some(b)) => Some(b.to_string()),
        (None, None) => None,
    }
}

/// The digits a road number starts with (`180号` → 180).
pub fn road_num(road_no: &str) -> Option<i64> {
    let digits: String = road_no.chars().take_while(|c| c.is_ascii_digit()).collect();
    digits.parse().ok()
}

/// The key of a parsed address, when it names a city, a road and a number.
pub fn key_of(p: &ParsedAddress) -> Option<StdKey> {
    let city = p.city_code.as_deref()?.to_string();
    let road = p.road.clone()?;
    let road_no = p.road_no.clone()?;
    let building = building_of(p);
    let key = format!(
        "{city}|{road}|{road_no}|{}",
        building.as_deref().unwrap_or("")
    );
    Some(StdKey {
        road_num: road_num(&road_no),
        city,
        road,
        road_no,
        building,
        key,
    })
}

/// A library entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, sqlx::FromRow)]
pub struct Entry {
    pub id: i64,
    /// 4-digit prefecture code.
    pub city: String,
    pub county_code: String,
    pub town_code: Option<String>,
    pub road: String,
    pub road_no: String,
    pub road_num: Option<i64>,
    pub building: Option<String>,
    /// What the address is (住宅, 商业, 拆迁区域, 军事管理区, ...), when known: the negative list's
    /// type rules look at it.
    pub address_type: Option<String>,
    pub full_address: String,
    pub match_key: String,
    /// `officer`, `import:FILE`, `demo`.
    pub source: String,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
    pub retired_at: Option<DateTime<Utc>>,
    pub retired_reason: Option<String>,
}

const COLUMNS: &str = "id, city, county_code, town_code, road, road_no, road_num, building, \
     address_type, full_address, match_key, source, created_at, created_by, retired_at, retired_reason";

/// An entry to add, already parsed and checked ([`prepare`]).
#[derive(Debug, Clone, Serialize)]
pub struct NewEntry {
    pub key: StdKey,
    pub county_code: String,
    pub town_code: Option<String>,
    pub address_type: Option<String>,
    pub full_address: String,
}

/// Longest address text or type accepted.
const MAX_TEXT: usize = 200;

/// Parses an address for the library of `city` (4 digits): it must name a county of that city,
/// a road and a number. Errors name the field, in Chinese first.
pub fn prepare(
    city: &str,
    address: &str,
    address_type: Option<&str>,
) -> Result<NewEntry, AppError> {
    let address = address.trim();
    if address.is_empty() || address.chars().count() > MAX_TEXT {
        return Err(AppError::bad_request(
            "address",
            "请填写地址（不超过 200 字）(give the address, at most 200 characters)",
        ));
    }
    let address_type = match address_type.map(str::trim) {
        None | Some("") => None,
        Some(t) if t.chars().count() > 20 => {
            return Err(AppError::bad_request(
                "address_type",
                "地址类型不超过 20 字 (the address type is at most 20 characters)",
            ));
        }
        Some(t) => Some(t.to_string()),
    };
    let p = parse(address, Some(city));
    let county_code = p
        .county_code
        .as_deref()
        .filter(|c| c.starts_with(city))
        .ok_or_else(|| {
            AppError::bad_request(
                "address",
                format!(
                    "地址中未能识别出本市（{city}）的区县 \
                     (no county of city {city} could be read from the address)"
                ),
            )
        })?
        .to_string();
    let key = key_of(&p).ok_or_else(|| {
        AppError::bad_request(
            "address",
            "标准地址须有道路和门牌号，如“泉城路180号” \
             (a standard address needs a road and a number, e.g. 泉城路180号)",
        )
    })?;
    Ok(NewEntry {
        key,
        county_code,
        town_code: p.town_code.as_deref().map(str::to_string),
        address_type,
        full_address: p.normalized.clone().unwrap_or_else(|| address.to_string()),
    })
}

/// Checks a city code given by a person: exactly 4 digits of a prefecture in the table.
pub fn parse_city(city: &str) -> Result<String, AppError> {
    let city = city.trim();
    let bad = || {
        AppError::bad_request(
            "city",
            "请填写 4 位地级市代码，如 3701（济南市）(give the 4-digit city code, e.g. 3701)",
        )
    };
    if city.len() != 4 {
        return Err(bad());
    }
    let j = Jurisdiction::parse(city).map_err(|_| bad())?;
    Ok(j.prefix().to_string())
}

fn now() -> DateTime<Utc> {
    use chrono::SubsecRound;
    Utc::now().trunc_subsecs(6)
}

fn out_of_scope(scope: &Scope, county: &str) -> Result<(), AppError> {
    if scope.contains(Some(county)) {
        Ok(())
    } else {
        Err(AppError::bad_request(
            "address",
            format!("该地址（{county}）不在您的辖区内 (the address is outside your jurisdiction)"),
        ))
    }
}

/// Inserts `e` unless an active entry has its key; returns the new id (`None` when it was
/// already there).
async fn insert(
    tx: &mut Tx,
    e: &NewEntry,
    source: &str,
    by: &str,
) -> Result<Option<i64>, AppError> {
    let id: Option<i64> = on_tx!(tx, c => sqlx::query_scalar(
        "INSERT INTO address_library (city, county_code, town_code, road, road_no, road_num, building, \
         address_type, full_address, match_key, source, created_at, created_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
         ON CONFLICT DO NOTHING RETURNING id",
    )
    .bind(&e.key.city)
    .bind(&e.county_code)
    .bind(&e.town_code)
    .bind(&e.key.road)
    .bind(&e.key.road_no)
    .bind(e.key.road_num)
    .bind(&e.key.building)
    .bind(&e.address_type)
    .bind(&e.full_address)
    .bind(&e.key.key)
    .bind(source)
    .bind(now())
    .bind(by)
    .fetch_optional(&mut *c)
    .await?);
    Ok(id)
}

/// Adds one entry (an officer's), audited; 409 when the library already has it.
pub async fn add(
    tx: &mut Tx,
    actor: &Actor,
    scope: &Scope,
    e: &NewEntry,
) -> Result<Entry, AppError> {
    out_of_scope(scope, &e.county_code)?;
    let id = insert(tx, e, "officer", &actor.name)
        .await?
        .ok_or_else(|| {
            AppError::Conflict(format!(
                "标准地址库中已有该地址：{} (the library already holds this address)",
                e.full_address
            ))
        })?;
    let entry = get_in(tx, id).await?;
    audit::record(
        tx,
        actor,
        Change {
            action: "address.library.add",
            target_kind: "address_library",
            target_id: id.to_string(),
            division: Some(entry.county_code.clone()),
            before: None,
            after: Some(serde_json::to_value(&entry).map_err(|e| AppError::Internal(e.into()))?),
        },
    )
    .await?;
    Ok(entry)
}

async fn get_in(tx: &mut Tx, id: i64) -> Result<Entry, AppError> {
    let sql = format!("SELECT {COLUMNS} FROM address_library WHERE id = $1");
    Ok(on_tx!(tx, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_one(&mut *c)
        .await?))
}

/// Retires an active entry (it stays, with who and why), audited; 404 outside the scope.
pub async fn retire(
    tx: &mut Tx,
    actor: &Actor,
    scope: &Scope,
    id: i64,
    reason: &str,
) -> Result<Entry, AppError> {
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > MAX_TEXT {
        return Err(AppError::bad_request(
            "reason",
            "请填写注销原因（不超过 200 字）(give the reason, at most 200 characters)",
        ));
    }
    let before = get_in(tx, id).await?;
    if !scope.contains(Some(&before.county_code)) {
        return Err(AppError::NotFound);
    }
    if before.retired_at.is_some() {
        return Err(AppError::Conflict(
            "该标准地址已注销 (this entry is already retired)".into(),
        ));
    }
    on_tx!(tx, c => sqlx::query(
        "UPDATE address_library SET retired_at = $1, retired_by = $2, retired_reason = $3 WHERE id = $4",
    )
    .bind(now())
    .bind(&actor.name)
    .bind(reason)
    .bind(id)
    .execute(&mut *c)
    .await?.rows_affected());
    let after = get_in(tx, id).await?;
    let json = |e: &Entry| serde_json::to_value(e).map_err(|e| AppError::Internal(e.into()));
    audit::record(
        tx,
        actor,
        Change {
            action: "address.library.retire",
            target_kind: "address_library",
            target_id: id.to_string(),
            division: Some(after.county_code.clone()),
            before: Some(json(&before)?),
            after: Some(json(&after)?),
        },
    )
    .await?;
    Ok(after)
}

/// Active entries of `city` within the scope whose address contains `q`, 100 at most, after
/// id `after` (keyset paging).
pub async fn search(
    db: &Db,
    scope: &Scope,
    city: &str,
    q: &str,
    after: i64,
) -> Result<Vec<Entry>, AppError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM address_library WHERE city = $1 AND retired_at IS NULL \
         AND {} AND ($3 = '' OR full_address LIKE $4) AND id > $5 ORDER BY id LIMIT 100",
        scope.division_filter("county_code", 2)
    );
    let like = format!("%{}%", q.replace(['%', '_', '\\'], ""));
    Ok(on_conn!(db, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(city)
        .bind(scope.like_pattern())
        .bind(q)
        .bind(&like)
        .bind(after)
        .fetch_all(c)
        .await?))
}

/// Number of active entries in a city (for the library page).
pub async fn count_city(db: &Db, city: &str) -> Result<i64, AppError> {
    Ok(on_conn!(db, c => sqlx::query_scalar(
        "SELECT count(*) FROM address_library WHERE city = $1 AND retired_at IS NULL",
    )
    .bind(city)
    .fetch_one(c)
    .await?))
}

/// One way a nearest entry differs from the address checked.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Difference {
    /// `road_no` or `building`.
    pub field: &'static str,
    pub given: Option<String>,
    pub standard: Option<String>,
}

/// A library entry close to the address, with how it differs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Nearest {
    pub entry: Entry,
    pub differences: Vec<Difference>,
    /// How far the numbers are apart on the same road.
    pub number_distance: Option<i64>,
}

/// At most this many nearest entries are shown.
pub const NEAREST: usize = 5;

/// The library entry of a parsed address, or its nearest entries: same road with the nearest
/// numbers, then the same building elsewhere.
pub async fn find_match(
    db: &Db,
    p: &ParsedAddress,
) -> Result<(Option<Entry>, Vec<Nearest>), AppError> {
    let Some(city) = p.city_code.as_deref() else {
        return Ok((None, Vec::new()));
    };
    let key = key_of(p);
    let building = building_of(p);
    let mut found: Vec<Entry> = Vec::new();
    if let Some(road) = p.road.as_deref() {
        let n = p.road_no.as_deref().and_then(road_num).unwrap_or(0);
        let sql = format!(
            "SELECT {COLUMNS} FROM address_library WHERE city = $1 AND road = $2 AND retired_at IS NULL \
             ORDER BY abs(coalesce(road_num, 0) - $3), id LIMIT 20"
        );
        let rows: Vec<Entry> = on_conn!(db, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(city)
            .bind(road)
            .bind(n)
            .fetch_all(c)
            .await?);
        found.extend(rows);
    }
    if let Some(b) = building.as_deref() {
        let sql = format!(
            "SELECT {COLUMNS} FROM address_library WHERE city = $1 AND building = $2 AND retired_at IS NULL \
             ORDER BY id LIMIT 10"
        );
        let rows: Vec<Entry> = on_conn!(db, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(city)
            .bind(b)
            .fetch_all(c)
            .await?);
        for r in rows {
            if !found.iter().any(|f| f.id == r.id) {
                found.push(r);
            }
        }
    }
    let exact = key
        .as_ref()
        .and_then(|k| found.iter().position(|e| e.match_key == k.key))
        .map(|i| found.remove(i));
    let nearest = found
        .into_iter()
        .take(NEAREST)
        .map(|e| {
            let mut differences = Vec::new();
            if p.road.as_deref() != Some(e.road.as_str()) {
                differences.push(Difference {
                    field: "road",
                    given: p.road.clone(),
                    standard: Some(e.road.clone()),
                });
            }
            if p.road_no.as_deref() != Some(e.road_no.as_str()) {
                differences.push(Difference {
                    field: "road_no",
                    given: p.road_no.clone(),
                    standard: Some(e.road_no.clone()),
                });
            }
            if building != e.building {
                differences.push(Difference {
                    field: "building",
                    given: building.clone(),
                    standard: e.building.clone(),
                });
            }
            let number_distance = match (p.road_no.as_deref().and_then(road_num), e.road_num) {
                (Some(a), Some(b)) if p.road.as_deref() == Some(e.road.as_str()) => {
                    Some((a - b).abs())
                }
                _ => None,
            };
            Nearest {
                entry: e,
                differences,
                number_distance,
            }
        })
        .collect();
    Ok((exact, nearest))
}

// ---------------------------------------------------------------------------------------
// Import from CSV and XLSX
// ---------------------------------------------------------------------------------------

/// A row of an import file that was not taken, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RowError {
    /// Data row number (1 = the first row after the header).
    pub row: u64,
    pub field: String,
    pub message: String,
}

/// A row of an import file that was taken: its standard form, and whether it was new.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AcceptedRow {
    /// Data row number (1 = the first row after the header).
    pub row: u64,
    pub full_address: String,
    /// False when the library already held the address (or an earlier row repeated it).
    pub inserted: bool,
}

/// At most this many taken rows are listed in a report (every row is counted).
pub const LISTED_ROWS: usize = 2000;

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ImportReport {
    pub rows: u64,
    pub inserted: u64,
    /// Rows whose address the library already held (or that repeated an earlier row).
    pub duplicates: u64,
    /// Rows refused (each is in `errors`, unless the list was cut for storage).
    #[serde(default)]
    pub refused: u64,
    pub errors: Vec<RowError>,
    /// The first [`LISTED_ROWS`] rows taken.
    #[serde(default)]
    pub accepted: Vec<AcceptedRow>,
}

/// The columns an import file may have (header names, Chinese or English, any order).
/// `address` (地址), or `road` (道路) + `road_no` (门牌号) [+ `building` (楼宇)]; optional
/// `county_code` (区县代码) and `address_type` (地址类型).
const COLUMN_NAMES: &[(&str, &[&str])] = &[
    ("address", &["address", "地址", "标准地址"]),
    ("county_code", &["county_code", "区县代码", "区划代码"]),
    ("road", &["road", "道路", "街路巷"]),
    ("road_no", &["road_no", "门牌号", "门牌"]),
    ("building", &["building", "楼宇", "建筑物"]),
    ("address_type", &["address_type", "地址类型", "类型"]),
];

/// Reads an import table: a CSV text (UTF-8, with or without BOM) or the first sheet of an
/// XLSX workbook (by the file's name). Returns the header-mapped rows.
pub fn read_table(name: &str, bytes: &[u8]) -> Result<Vec<Vec<(String, String)>>, AppError> {
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
    let mut cols: Vec<Option<&'static str>> = Vec::new();
    for h in &header {
        let h = h.trim();
        cols.push(
            COLUMN_NAMES
                .iter()
                .find(|(_, names)| names.iter().any(|n| n.eq_ignore_ascii_case(h)))
                .map(|(k, _)| *k),
        );
    }
    let has = |k: &str| cols.contains(&Some(k));
    if !(has("address") || (has("road") && has("road_no"))) {
        return Err(bad("表头须有“地址”列，或“道路”和“门牌号”列 \
             (the header needs an address column, or road and road_no)"
            .into()));
    }
    Ok(it
        .map(|row| {
            row.into_iter()
                .zip(&cols)
                .filter_map(|(v, c)| c.map(|c| (c.to_string(), v.trim().to_string())))
                .collect()
        })
        .collect())
}

fn field<'a>(row: &'a [(String, String)], name: &str) -> &'a str {
    row.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or("")
}

/// Rows per transaction.
const IMPORT_CHUNK: usize = 1000;

/// Imports rows read by [`read_table`] into the library of `city`: rows that parse go in
/// (an address the library already holds is counted, not an error), each bad row is reported
/// with its number and reason and nothing of it is written. One audit entry per chunk of
/// [`IMPORT_CHUNK`] rows.
pub async fn import_rows(
    db: &Db,
    actor: &Actor,
    scope: &Scope,
    city: &str,
    source: &str,
    rows: &[Vec<(String, String)>],
    mut progress: impl FnMut(u64),
) -> Result<ImportReport, AppError> {
    // The city is within the jurisdiction, or the jurisdiction within the city (a county
    // officer imports the county's rows; the rest are refused row by row).
    if !scope.covers(city) && !scope.as_prefix().is_some_and(|p| p.starts_with(city)) {
        return Err(AppError::bad_request(
            "city",
            format!("{city} 不在您的辖区内 (the city is outside your jurisdiction)"),
        ));
    }
    let mut report = ImportReport::default();
    for (ci, chunk) in rows.chunks(IMPORT_CHUNK).enumerate() {
        let mut tx = db.begin().await?;
        let mut inserted = 0u64;
        for (i, row) in chunk.iter().enumerate() {
            let n = (ci * IMPORT_CHUNK + i + 1) as u64;
            report.rows += 1;
            if row.iter().all(|(_, v)| v.is_empty()) {
                continue;
            }
            let text = match field(row, "address") {
                "" => format!(
                    "{}{}{}",
                    field(row, "road"),
                    field(row, "road_no"),
                    field(row, "building")
                ),
                a => a.to_string(),
            };
            let county = field(row, "county_code");
            let prepared = if county.is_empty() {
                prepare(city, &text, Some(field(row, "address_type")))
            } else if !county.starts_with(city) || county.len() != 6 {
                Err(AppError::bad_request(
                    "county_code",
                    format!("区县代码 {county} 不属于 {city} (the county code is not in the city)"),
                ))
            } else {
                // The county settles what the text leaves open.
                let p = parse(&text, Some(county));
                match (key_of(&p), p.county_code.as_deref() == Some(county)) {
                    (Some(key), true) => Ok(NewEntry {
                        key,
                        county_code: county.to_string(),
                        town_code: p.town_code.as_deref().map(str::to_string),
                        address_type: Some(field(row, "address_type").to_string())
                            .filter(|t| !t.is_empty()),
                        full_address: p.normalized.clone().unwrap_or(text.clone()),
                    }),
                    _ => prepare(city, &text, Some(field(row, "address_type"))),
                }
            };
            let e = match prepared.and_then(|e| {
                if scope.contains(Some(&e.county_code)) {
                    Ok(e)
                } else {
                    Err(AppError::bad_request(
                        "county_code",
                        "不在您的辖区内 (outside your jurisdiction)",
                    ))
                }
            }) {
                Ok(e) => e,
                Err(AppError::BadRequest { field, message }) => {
                    report.refused += 1;
                    report.errors.push(RowError {
                        row: n,
                        field,
                        message,
                    });
                    continue;
                }
                Err(e) => return Err(e),
            };
            let new = match insert(&mut tx, &e, source, &actor.name).await? {
                Some(_) => {
                    inserted += 1;
                    true
                }
                None => {
                    report.duplicates += 1;
                    false
                }
            };
            if report.accepted.len() < LISTED_ROWS {
                report.accepted.push(AcceptedRow {
                    row: n,
                    full_address: e.full_address.clone(),
                    inserted: new,
                });
            }
        }
        if inserted > 0 {
            audit::record(
                &mut tx,
                actor,
                Change {
                    action: "address.library.import",
                    target_kind: "address_library",
                    target_id: format!("{city}:{source}"),
                    division: Some(city.to_string()),
                    before: None,
                    after: Some(serde_json::json!({
                        "source": source,
                        "first_row": ci * IMPORT_CHUNK + 1,
                        "rows": chunk.len(),
                        "inserted": inserted,
                    })),
                },
            )
            .await?;
        }
        tx.commit().await?;
        report.inserted += inserted;
        progress(report.rows);
    }
    Ok(report)
}

/// An import made from the office pages, kept for its result page.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredImport {
    pub id: i64,
    pub city: String,
    /// `import:form` (pasted text) or `import:FILE` (an uploaded file).
    pub source: String,
    pub report: ImportReport,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
}

/// Keeps the report of an import (refused rows beyond [`LISTED_ROWS`] are counted, not
/// listed); returns its id.
pub async fn save_import(
    db: &Db,
    actor: &Actor,
    city: &str,
    source: &str,
    report: &ImportReport,
) -> Result<i64, AppError> {
    let mut kept = report.clone();
    kept.errors.truncate(LISTED_ROWS);
    kept.accepted.truncate(LISTED_ROWS);
    let json = serde_json::to_string(&kept).map_err(|e| AppError::Internal(e.into()))?;
    let mut tx = db.begin().await?;
    let id: i64 = on_tx!(tx, c => sqlx::query_scalar(
        "INSERT INTO address_imports (city, source, report, created_at, created_by) \
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(city)
    .bind(source)
    .bind(&json)
    .bind(now())
    .bind(&actor.name)
    .fetch_one(&mut *c)
    .await?);
    tx.commit().await?;
    Ok(id)
}

/// A kept import report: the person who made it sees it, and so does anyone whose
/// jurisdiction covers its city; 404 for everyone else.
pub async fn get_import(
    db: &Db,
    scope: &Scope,
    viewer: &str,
    id: i64,
) -> Result<StoredImport, AppError> {
    let row: Option<(i64, String, String, String, DateTime<Utc>, String)> = on_conn!(db, c => sqlx::query_as(
            "SELECT id, city, source, report, created_at, created_by FROM address_imports WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(c)
        .await?);
    let (id, city, source, report, created_at, created_by) = row.ok_or(AppError::NotFound)?;
    if created_by != viewer && !scope.covers(&city) {
        return Err(AppError::NotFound);
    }
    let report = serde_json::from_str(&report).map_err(|e| AppError::Internal(e.into()))?;
    Ok(StoredImport {
        id,
        city,
        source,
        report,
        created_at,
        created_by,
    })
}

/// Adds entries without an officer (the demo province, a migration): no scope check, one
/// audit entry per call. Returns how many were new.
pub async fn add_batch(
    tx: &mut Tx,
    actor: &Actor,
    source: &str,
    entries: &[NewEntry],
) -> Result<u64, AppError> {
    let mut n = 0;
    for e in entries {
        if insert(tx, e, source, &actor.name).await?.is_some() {
            n += 1;
        }
    }
    if n > 0 {
        audit::record(
            tx,
            actor,
            Change {
                action: "address.library.import",
                target_kind: "address_library",
                target_id: source.to_string(),
                division: None,
                before: None,
                after: Some(serde_json::json!({ "source": source, "inserted": n })),
            },
        )
        .await?;
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_the_same_however_the_address_is_written() {
        let a = key_of(&parse(
            "山东省济南市历下区泉城路180号齐鲁国际大厦10楼",
            None,
        ))
        .unwrap();
        let b = key_of(&parse("历下区泉城路一百八十号齐鲁国际大厦", None)).unwrap();
        assert_eq!(a.key, "3701|泉城路|180号|齐鲁国际大厦");
        assert_eq!(a.key, b.key);
        assert_eq!(a.road_num, Some(180));
    }

    #[test]
    fn prepare_names_what_is_missing() {
        assert!(prepare("3701", "历下区泉城路180号", None).is_ok());
        let e = prepare("3701", "历下区泉城路", None).unwrap_err();
        assert!(e.to_string().contains("门牌号"), "{e}");
        let e = prepare("3702", "历下区泉城路180号", None).unwrap_err();
        assert!(e.to_string().contains("区县"), "{e}");
        assert!(prepare("3701", " ", None).is_err());
        assert!(parse_city("3701").is_ok());
        assert!(parse_city("37").is_err());
        assert!(parse_city("9999").is_err());
    }

    #[test]
    fn tables_map_chinese_headers() {
        let csv = "\u{feff}地址,地址类型\n历下区泉城路180号,商业\n";
        let rows = read_table("a.csv", csv.as_bytes()).unwrap();
        assert_eq!(field(&rows[0], "address"), "历下区泉城路180号");
        assert_eq!(field(&rows[0], "address_type"), "商业");
        let e = read_table("a.csv", "名称\nx\n".as_bytes()).unwrap_err();
        assert!(e.to_string().contains("表头"), "{e}");
    }
}
