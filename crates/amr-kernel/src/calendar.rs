//! Working-day calendar: statutory holidays and make-up working days (调休).
//!
//! The State Council publishes each year's schedule around November, so the
//! calendar is a data table, loaded year by year. A year is *loaded* when the
//! table has at least one row for it. Any query that needs a year that is not
//! loaded fails with [`CalendarError::YearNotLoaded`]; the calendar never
//! guesses from weekends alone.
//!
//! A day is a working day when it is a weekday that is not a `holiday`, or a
//! weekend day that is a `workday` (make-up working day).
//!
//! Counting follows the way statutory deadlines are counted — from the day
//! after the event:
//!
//! * [`Calendar::add_working_days`]`(start, n)` is the n-th working day after
//!   `start` (`start` itself is not counted; `n = 0` gives `start`);
//! * [`Calendar::working_days_between`]`(a, b)` is the number of working days
//!   `d` with `a < d ≤ b`, negated when `b < a`.
//!
//! Every year from the earlier to the later date involved must be loaded.
//! Over the loaded range the calendar keeps a per-day working flag, a prefix
//! sum of working days and the index of each working day, so the three
//! queries are O(1).
//!
//! The file format is described in `docs/DATA.md`; the embedded data covers
//! 2004–2026.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::LazyLock;

use chrono::{Datelike, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};

const EMBEDDED: &str = include_str!("../data/cn-holidays.csv");

/// Header of the calendar CSV format.
pub const CSV_HEADER: &str = "date,kind,name_zh,name_en";

/// Years a calendar may hold.
pub const YEAR_RANGE: std::ops::RangeInclusive<i32> = 1949..=2200;

/// Kind of a listed day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DayKind {
    /// A statutory day off (any day of the week).
    Holiday,
    /// A make-up working day on a Saturday or Sunday.
    Workday,
}

impl DayKind {
    /// `"holiday"` or `"workday"`.
    pub fn as_str(self) -> &'static str {
        match self {
            DayKind::Holiday => "holiday",
            DayKind::Workday => "workday",
        }
    }
}

/// One row of the calendar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayEntry {
    /// The day.
    pub date: NaiveDate,
    /// Holiday or make-up workday.
    pub kind: DayKind,
    /// Festival name in Chinese, e.g. `春节`.
    pub name_zh: String,
    /// Festival name in English, e.g. `Spring Festival`.
    pub name_en: String,
}

/// What is wrong with one row of calendar data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowProblem {
    /// The date is not `YYYY-MM-DD`.
    BadDate(String),
    /// The kind is neither `holiday` nor `workday`.
    UnknownKind(String),
    /// The date is listed twice.
    DuplicateDate(NaiveDate),
    /// A `workday` row on a Monday–Friday.
    WorkdayOnWeekday(NaiveDate),
    /// The year is outside [`YEAR_RANGE`].
    YearOutOfRange(i32),
    /// The row cannot be read as CSV (wrong number of fields, bad UTF-8, …).
    Malformed(String),
}

impl RowProblem {
    fn zh(&self) -> String {
        match self {
            RowProblem::BadDate(s) => format!("日期“{s}”无法识别，应为 YYYY-MM-DD"),
            RowProblem::UnknownKind(s) => format!("类型“{s}”无法识别，应为 holiday 或 workday"),
            RowProblem::DuplicateDate(d) => format!("日期 {d} 重复"),
            RowProblem::WorkdayOnWeekday(d) => format!("调休上班日 {d} 不是周六或周日"),
            RowProblem::YearOutOfRange(y) => format!("年份 {y} 超出范围"),
            RowProblem::Malformed(s) => format!("格式错误：{s}"),
        }
    }

    fn en(&self) -> String {
        match self {
            RowProblem::BadDate(s) => format!("bad date '{s}', expected YYYY-MM-DD"),
            RowProblem::UnknownKind(s) => {
                format!("unknown kind '{s}', expected holiday or workday")
            }
            RowProblem::DuplicateDate(d) => format!("duplicate date {d}"),
            RowProblem::WorkdayOnWeekday(d) => {
                format!("make-up workday {d} is not a Saturday or Sunday")
            }
            RowProblem::YearOutOfRange(y) => format!(
                "year {y} out of range {}..={}",
                YEAR_RANGE.start(),
                YEAR_RANGE.end()
            ),
            RowProblem::Malformed(s) => format!("malformed row: {s}"),
        }
    }
}

/// Errors of the calendar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CalendarError {
    /// A query needs a year that has no schedule loaded.
    YearNotLoaded(i32),
    /// The CSV header lacks a required column.
    Header(String),
    /// A row is invalid; `row` is the line number in a CSV file (header = 1),
    /// or the 1-based position for [`Calendar::from_entries`].
    Row {
        /// Line or position.
        row: u64,
        /// What is wrong.
        problem: RowProblem,
    },
}

impl fmt::Display for CalendarError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CalendarError::YearNotLoaded(y) => write!(
                f,
                "没有 {y} 年的节假日安排数据，请先导入 (no holiday schedule loaded for {y}; import it first)"
            ),
            CalendarError::Header(h) => write!(
                f,
                "表头“{h}”缺少 date 或 kind 列，应为 {CSV_HEADER} \
                 (header '{h}' lacks the date or kind column; expected {CSV_HEADER})"
            ),
            CalendarError::Row { row, problem } => write!(
                f,
                "第 {row} 行：{} (line {row}: {})",
                problem.zh(),
                problem.en()
            ),
        }
    }
}

impl std::error::Error for CalendarError {}

/// Precomputed tables over the continuous range of loaded years.
#[derive(Debug, Clone, Default)]
struct Index {
    /// First loaded year.
    first_year: i32,
    /// Day number (from CE) of `first_year`-01-01; day index 0.
    base: i32,
    /// Per year from `first_year`: loaded or not.
    loaded: Vec<bool>,
    /// `gaps[k]` = number of unloaded years among the first `k` years.
    gaps: Vec<u32>,
    /// Per day: working or not.
    working: Vec<bool>,
    /// `prefix[i]` = working days among day indices `0..i`.
    prefix: Vec<u32>,
    /// Day indices of the working days, ascending.
    nth: Vec<u32>,
}

/// A working-day calendar.
#[derive(Debug, Clone, Default)]
pub struct Calendar {
    entries: Vec<DayEntry>,
    years: BTreeSet<i32>,
    index: Index,
}

static EMBEDDED_CALENDAR: LazyLock<Calendar> =
    LazyLock::new(|| Calendar::from_csv(EMBEDDED).expect("the embedded holiday calendar is valid"));

fn is_weekend(d: NaiveDate) -> bool {
    matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
}

fn row_error(row: u64, problem: RowProblem) -> CalendarError {
    CalendarError::Row { row, problem }
}

impl Calendar {
    /// The calendar embedded in the binary (State Council schedules 2004–2026).
    pub fn embedded() -> &'static Calendar {
        &EMBEDDED_CALENDAR
    }

    /// Reads calendar CSV (see `docs/DATA.md`): a header naming at least `date`
    /// and `kind` (`name_zh`, `name_en` optional), then one row per listed day.
    /// Blank lines and lines starting with `#` are skipped. Each row is checked
    /// and the first bad one is reported with its line number.
    pub fn from_csv(text: &str) -> Result<Calendar, CalendarError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut rdr = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .comment(Some(b'#'))
            .flexible(true)
            .from_reader(text.as_bytes());
        let header = rdr
            .headers()
            .map_err(|e| CalendarError::Header(e.to_string()))?
            .clone();
        let col = |name: &str| header.iter().position(|h| h.eq_ignore_ascii_case(name));
        let (Some(c_date), Some(c_kind)) = (col("date"), col("kind")) else {
            return Err(CalendarError::Header(
                header.iter().collect::<Vec<_>>().join(","),
            ));
        };
        let (c_zh, c_en) = (col("name_zh"), col("name_en"));
        let mut rows = Vec::new();
        for rec in rdr.records() {
            let rec = rec.map_err(|e| {
                let line = e.position().map_or(0, |p| p.line());
                row_error(line, RowProblem::Malformed(e.to_string()))
            })?;
            let line = rec.position().map_or(0, |p| p.line());
            let field = |c: Option<usize>| c.and_then(|c| rec.get(c)).unwrap_or("");
            let (date, kind) = (field(Some(c_date)), field(Some(c_kind)));
            if rec.len() < 2 || date.is_empty() {
                return Err(row_error(
                    line,
                    RowProblem::Malformed(rec.iter().collect::<Vec<_>>().join(",")),
                ));
            }
            let date = NaiveDate::parse_from_str(date, "%Y-%m-%d")
                .map_err(|_| row_error(line, RowProblem::BadDate(date.to_owned())))?;
            let kind = match kind.to_ascii_lowercase().as_str() {
                "holiday" => DayKind::Holiday,
                "workday" => DayKind::Workday,
                _ => return Err(row_error(line, RowProblem::UnknownKind(kind.to_owned()))),
            };
            let entry = DayEntry {
                date,
                kind,
                name_zh: field(c_zh).to_owned(),
                name_en: field(c_en).to_owned(),
            };
            rows.push((line, entry));
        }
        Calendar::build(rows)
    }

    /// Builds a calendar from rows (e.g. read back from a database), with the
    /// same checks as [`Calendar::from_csv`]; errors give the 1-based position.
    pub fn from_entries(
        entries: impl IntoIterator<Item = DayEntry>,
    ) -> Result<Calendar, CalendarError> {
        Calendar::build(entries.into_iter().zip(1..).map(|(e, i)| (i, e)).collect())
    }

    fn build(rows: Vec<(u64, DayEntry)>) -> Result<Calendar, CalendarError> {
        let mut map = BTreeMap::new();
        for (row, e) in rows {
            if !YEAR_RANGE.contains(&e.date.year()) {
                return Err(row_error(row, RowProblem::YearOutOfRange(e.date.year())));
            }
            if e.kind == DayKind::Workday && !is_weekend(e.date) {
                return Err(row_error(row, RowProblem::WorkdayOnWeekday(e.date)));
            }
            if map.contains_key(&e.date) {
                return Err(row_error(row, RowProblem::DuplicateDate(e.date)));
            }
            map.insert(e.date, e);
        }
        Ok(Calendar::from_sorted(map.into_values().collect()))
    }

    /// Builds the index from valid entries sorted by date.
    fn from_sorted(entries: Vec<DayEntry>) -> Calendar {
        let years: BTreeSet<i32> = entries.iter().map(|e| e.date.year()).collect();
        let (Some(&first), Some(&last)) = (years.first(), years.last()) else {
            return Calendar::default();
        };
        let start = NaiveDate::from_yo_opt(first, 1).expect("year in range");
        let end = NaiveDate::from_yo_opt(last + 1, 1).expect("year in range");
        let base = start.num_days_from_ce();
        let days = (end.num_days_from_ce() - base) as usize;
        let loaded: Vec<bool> = (first..=last).map(|y| years.contains(&y)).collect();
        let mut gaps = Vec::with_capacity(loaded.len() + 1);
        gaps.push(0u32);
        for &l in &loaded {
            gaps.push(gaps[gaps.len() - 1] + u32::from(!l));
        }
        let mut working: Vec<bool> = start
            .iter_days()
            .take(days)
            .map(|d| !is_weekend(d))
            .collect();
        for e in &entries {
            working[(e.date.num_days_from_ce() - base) as usize] = e.kind == DayKind::Workday;
        }
        let mut prefix = Vec::with_capacity(days + 1);
        let mut nth = Vec::with_capacity(days * 5 / 7 + 8);
        prefix.push(0u32);
        for (i, &w) in working.iter().enumerate() {
            if w {
                nth.push(i as u32);
            }
            prefix.push(nth.len() as u32);
        }
        let index = Index {
            first_year: first,
            base,
            loaded,
            gaps,
            working,
            prefix,
            nth,
        };
        Calendar {
            entries,
            years,
            index,
        }
    }

    /// A calendar holding `self` with every year present in `other` replaced
    /// wholly by `other`'s rows for that year.
    pub fn merge(&self, other: &Calendar) -> Calendar {
        let mut entries: Vec<DayEntry> = self
            .entries
            .iter()
            .filter(|e| !other.years.contains(&e.date.year()))
            .chain(other.entries.iter())
            .cloned()
            .collect();
        entries.sort_by_key(|e| e.date);
        Calendar::from_sorted(entries)
    }

    /// The loaded years, ascending.
    pub fn years(&self) -> Vec<i32> {
        self.years.iter().copied().collect()
    }

    /// Whether a year is loaded.
    pub fn is_loaded(&self, year: i32) -> bool {
        self.years.contains(&year)
    }

    /// All rows, by date.
    pub fn rows(&self) -> impl Iterator<Item = &DayEntry> {
        self.entries.iter()
    }

    /// The row listing `date`, if any.
    pub fn entry(&self, date: NaiveDate) -> Option<&DayEntry> {
        self.entries
            .binary_search_by_key(&date, |e| e.date)
            .ok()
            .map(|i| &self.entries[i])
    }

    /// The rows of one year as calendar CSV, header included (header only
    /// when the year is not loaded).
    pub fn to_csv_year(&self, year: i32) -> String {
        write_csv(self.entries.iter().filter(|e| e.date.year() == year))
    }

    /// All rows as calendar CSV.
    pub fn to_csv(&self) -> String {
        write_csv(self.entries.iter())
    }

    /// Checks that a year is loaded.
    #[inline]
    fn require_year(&self, year: i32) -> Result<(), CalendarError> {
        let ix = &self.index;
        let k = year.wrapping_sub(ix.first_year);
        if k >= 0 && (k as usize) < ix.loaded.len() && ix.loaded[k as usize] {
            Ok(())
        } else {
            Err(CalendarError::YearNotLoaded(year))
        }
    }

    /// Checks that every year in `from..=to` is loaded, naming the first that is not.
    #[inline]
    fn require_years(&self, from: i32, to: i32) -> Result<(), CalendarError> {
        self.require_year(from)?;
        self.require_year(to)?;
        let ix = &self.index;
        let (a, b) = (
            (from - ix.first_year) as usize,
            (to - ix.first_year) as usize,
        );
        if ix.gaps[b + 1] == ix.gaps[a] {
            return Ok(());
        }
        let gap = (from..=to).find(|&y| !self.is_loaded(y)).unwrap_or(from);
        Err(CalendarError::YearNotLoaded(gap))
    }

    #[inline]
    fn day_index(&self, d: NaiveDate) -> usize {
        (d.num_days_from_ce() - self.index.base) as usize
    }

    /// Whether `date` is a working day.
    #[inline]
    pub fn is_working_day(&self, date: NaiveDate) -> Result<bool, CalendarError> {
        self.require_year(date.year())?;
        Ok(self.index.working[self.day_index(date)])
    }

    /// The n-th working day after `start` (`start` itself is not counted);
    /// `n = 0` returns `start`. Fails if `start`'s year, the result's year or
    /// any year between is not loaded.
    #[inline]
    pub fn add_working_days(&self, start: NaiveDate, n: u32) -> Result<NaiveDate, CalendarError> {
        self.require_year(start.year())?;
        if n == 0 {
            return Ok(start);
        }
        let ix = &self.index;
        let target = ix.prefix[self.day_index(start) + 1] as usize + n as usize - 1;
        let Some(&day) = ix.nth.get(target) else {
            let last = ix.first_year + ix.loaded.len() as i32;
            let gap = (start.year()..last)
                .find(|&y| !self.is_loaded(y))
                .unwrap_or(last);
            return Err(CalendarError::YearNotLoaded(gap));
        };
        let date = NaiveDate::from_num_days_from_ce_opt(ix.base + day as i32)
            .expect("index lies within loaded years");
        self.require_years(start.year(), date.year())?;
        Ok(date)
    }

    /// Number of working days `d` with `a < d ≤ b`; negative (the count for
    /// `b < d ≤ a`, negated) when `b < a`. Fails unless every year from the
    /// earlier to the later date is loaded.
    #[inline]
    pub fn working_days_between(&self, a: NaiveDate, b: NaiveDate) -> Result<i64, CalendarError> {
        let (lo, hi, sign) = if a <= b { (a, b, 1) } else { (b, a, -1) };
        self.require_years(lo.year(), hi.year())?;
        let p = &self.index.prefix;
        let count = i64::from(p[self.day_index(hi) + 1]) - i64::from(p[self.day_index(lo) + 1]);
        Ok(sign * count)
    }
}

fn write_csv<'a>(rows: impl Iterator<Item = &'a DayEntry>) -> String {
    let mut w = csv::WriterBuilder::new().from_writer(Vec::new());
    w.write_record(CSV_HEADER.split(','))
        .expect("write to memory");
    for e in rows {
        let date = e.date.format("%Y-%m-%d").to_string();
        w.write_record([date.as_str(), e.kind.as_str(), &e.name_zh, &e.name_en])
            .expect("write to memory");
    }
    let bytes = w.into_inner().expect("flush to memory");
    String::from_utf8(bytes).expect("CSV of UTF-8 fields is UTF-8")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn embedded_covers_2004_to_2026() {
        let c = Calendar::embedded();
        assert_eq!(c.years(), (2004..=2026).collect::<Vec<_>>());
        assert_eq!(c.rows().count(), 769);
    }

    #[test]
    fn schedule_2026() {
        let c = Calendar::embedded();
        let w = |s| c.is_working_day(d(s)).unwrap();
        assert!(w("2026-02-14")); // Saturday make-up day
        assert!(!w("2026-02-16"));
        assert!(w("2026-10-08")); // Thursday after National Day
        assert!(!w("2026-10-07"));
        assert!(w("2026-10-10")); // Saturday make-up day
        assert!(!w("2026-10-11"));
        assert_eq!(c.add_working_days(d("2026-09-30"), 1), Ok(d("2026-10-08")));
        assert_eq!(c.add_working_days(d("2026-09-30"), 0), Ok(d("2026-09-30")));
        assert_eq!(
            c.working_days_between(d("2026-09-30"), d("2026-10-08")),
            Ok(1)
        );
        assert_eq!(
            c.working_days_between(d("2026-10-08"), d("2026-09-30")),
            Ok(-1)
        );
        assert_eq!(c.entry(d("2026-02-14")).unwrap().kind, DayKind::Workday);
    }

    #[test]
    fn unloaded_year_is_an_error() {
        let c = Calendar::embedded();
        let e = c.is_working_day(d("2027-01-04")).unwrap_err();
        assert_eq!(e, CalendarError::YearNotLoaded(2027));
        assert_eq!(
            e.to_string(),
            "没有 2027 年的节假日安排数据，请先导入 (no holiday schedule loaded for 2027; import it first)"
        );
        assert_eq!(
            c.add_working_days(d("2026-12-25"), 10),
            Err(CalendarError::YearNotLoaded(2027))
        );
        assert_eq!(
            c.working_days_between(d("2003-12-31"), d("2004-01-05")),
            Err(CalendarError::YearNotLoaded(2003))
        );
    }

    #[test]
    fn rejects_bad_rows_with_line_numbers() {
        let bad = |body: &str| Calendar::from_csv(&format!("{CSV_HEADER}\n{body}")).unwrap_err();
        let row = |e: CalendarError| match e {
            CalendarError::Row { row, problem } => (row, problem),
            other => panic!("{other}"),
        };
        assert_eq!(
            row(bad("2026-01-01,holiday,元旦,NY\n2026-02-30,holiday,x,y")),
            (3, RowProblem::BadDate("2026-02-30".into()))
        );
        assert_eq!(
            row(bad("2026-01-01,off,a,b")),
            (2, RowProblem::UnknownKind("off".into()))
        );
        assert_eq!(
            row(bad("2026-01-01,holiday,a,b\n2026-01-01,holiday,a,b")),
            (3, RowProblem::DuplicateDate(d("2026-01-01")))
        );
        assert_eq!(
            row(bad("2026-01-05,workday,a,b")),
            (2, RowProblem::WorkdayOnWeekday(d("2026-01-05")))
        );
        let msg = bad("2026-01-05,workday,a,b").to_string();
        assert!(
            msg.starts_with("第 2 行：") && msg.contains("(line 2: "),
            "{msg}"
        );
        assert!(matches!(
            Calendar::from_csv("day,type\n2026-01-01,holiday"),
            Err(CalendarError::Header(_))
        ));
        // A holiday may fall on any day, including a weekend.
        assert!(Calendar::from_csv(&format!("{CSV_HEADER}\n2026-01-03,holiday,元旦,NY")).is_ok());
    }

    #[test]
    fn merge_replaces_whole_years_and_gaps_are_named() {
        let base = Calendar::embedded();
        let y2028 = Calendar::from_csv(&format!(
            "{CSV_HEADER}\n2028-01-01,holiday,元旦,New Year's Day"
        ))
        .unwrap();
        let merged = base.merge(&y2028);
        assert!(merged.is_loaded(2028) && !merged.is_loaded(2027));
        assert!(!merged.is_working_day(d("2028-01-01")).unwrap());
        assert!(merged.is_working_day(d("2028-01-03")).unwrap());
        assert_eq!(
            merged.working_days_between(d("2026-12-01"), d("2028-01-10")),
            Err(CalendarError::YearNotLoaded(2027))
        );
        assert_eq!(
            merged.add_working_days(d("2026-12-01"), 40),
            Err(CalendarError::YearNotLoaded(2027))
        );
        // Replacing 2026 with a one-row year drops its other rows.
        let only =
            Calendar::from_csv(&format!("{CSV_HEADER}\n2026-03-02,holiday,测试,Test")).unwrap();
        let replaced = base.merge(&only);
        assert!(replaced.is_working_day(d("2026-10-08")).unwrap());
        assert!(replaced.is_working_day(d("2026-10-01")).unwrap());
        assert!(!replaced.is_working_day(d("2026-03-02")).unwrap());
        assert_eq!(replaced.to_csv_year(2026).lines().count(), 2);
    }

    #[test]
    fn csv_round_trip() {
        let c = Calendar::embedded();
        let text = c.to_csv_year(2026);
        assert!(
            text.starts_with("date,kind,name_zh,name_en\n2026-01-01,holiday,元旦,New Year's Day\n")
        );
        let back = Calendar::from_csv(&text).unwrap();
        assert_eq!(
            back.rows().collect::<Vec<_>>(),
            c.rows()
                .filter(|e| e.date.year() == 2026)
                .collect::<Vec<_>>()
        );
        let all = Calendar::from_entries(c.rows().cloned()).unwrap();
        assert_eq!(all.to_csv(), c.to_csv());
    }
}
