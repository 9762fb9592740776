//! The reporting window (DOMAIN.md §4; 企业信息公示暂行条例 art. 8): the report for year Y is
//! filed between 1 January and 30 June of Y+1; an entity established in Y+1 first reports for
//! Y+1; corrections until 30 June; a first filing after 30 June is accepted and marked late.

use chrono::{Datelike, NaiveDate};

use amr_kernel::error::AppError;

use crate::model::{Entity, Status};

/// The last day of the season for report year `year` (30 June of the next year).
pub fn season_end(year: i32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year + 1, 6, 30).expect("30 June exists")
}

/// Whether an entity had to report for `year`: established in or before it (and not
/// deregistered or moved out; that is checked against the status where it matters).
pub fn must_report(established: NaiveDate, year: i32) -> bool {
    established.year() <= year
}

/// The year whose season is open (or whose report is due) on `today`: the previous one.
pub fn due_year(today: NaiveDate) -> i32 {
    today.year() - 1
}

/// Checks a filing of `e` for `year` on `today` (`corrected`: a report for that year exists);
/// answers whether it is late.
pub fn check_filing(
    e: &Entity,
    year: i32,
    today: NaiveDate,
    corrected: bool,
) -> Result<bool, AppError> {
    if matches!(e.status, Status::Deregistered | Status::MovedOut) {
        return Err(AppError::rejected(
            "该主体已注销或迁出，不再报送年报 (the entity is deregistered or moved out and files no reports)",
        ));
    }
    if year >= today.year() {
        return Err(AppError::rejected(format!(
            "{year} 年度尚未结束：该年度报告自 {} 年 1 月 1 日起报送 (the year has not ended: its report is filed from 1 January {})",
            year + 1,
            year + 1
        )));
    }
    if !must_report(e.established, year) {
        return Err(AppError::rejected(format!(
            "该主体成立于 {}，自成立次年起报送成立当年的年报，无 {year} 年度报告 (established {}: the first report is for the year of establishment, filed the next year; there is no report for {year})",
            e.established, e.established
        )));
    }
    let end = season_end(year);
    if corrected {
        if today > end {
            return Err(AppError::rejected(format!(
                "已公示的 {year} 年度报告只能在 {end} 前更正 (a published report for {year} can be corrected until {end})"
            )));
        }
        return Ok(false);
    }
    Ok(today > end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn season() {
        assert_eq!(season_end(2025).to_string(), "2026-06-30");
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert!(must_report(d("2025-12-31"), 2025));
        assert!(!must_report(d("2026-01-01"), 2025));
        assert_eq!(due_year(d("2026-03-01")), 2025);
    }
}
