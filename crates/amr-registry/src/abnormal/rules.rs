//! The rules of the abnormal-operation list (DOMAIN.md §4; 企业信息公示暂行条例 art. 17, 实施细则):
//! grounds, legal bases, the decision day of the no-report listing, the 3-year warning and
//! transfer.

use chrono::{Months, NaiveDate};

use amr_kernel::calendar::Calendar;
use amr_kernel::error::AppError;

/// A ground for listing: key, Chinese name, legal basis.
pub const GROUNDS: [(&str, &str, &str); 4] = [
    (
        "no_annual_report",
        "未按规定报送年度报告",
        "《企业信息公示暂行条例》第八条、第十七条",
    ),
    (
        "instant_info",
        "未在责令的期限内公示即时信息",
        "《企业信息公示暂行条例》第十条、第十七条",
    ),
    (
        "false_info",
        "公示信息隐瞒真实情况、弄虚作假",
        "《企业信息公示暂行条例》第十七条",
    ),
    (
        "unreachable",
        "通过登记的住所或者经营场所无法联系",
        "《企业信息公示暂行条例》第十七条",
    ),
];

/// The grounds of removal: key, Chinese name, and the listing ground each can end.
pub const REMOVAL_GROUNDS: [(&str, &str, &[&str]); 4] = [
    ("back_report", "已补报年度报告", &["no_annual_report"]),
    (
        "info_published",
        "已公示相关信息或更正公示信息",
        &["instant_info", "false_info"],
    ),
    ("address_changed", "已办理住所变更登记", &["unreachable"]),
    (
        "address_confirmed",
        "经核实可通过登记的住所联系",
        &["unreachable"],
    ),
];

/// The basis cited for the move to the serious-violation list.
pub const SERIOUS_BASIS: &str = "《企业信息公示暂行条例》第十七条第二款";

/// Days before the 3-year mark from which the warning is published.
pub const WARNING_DAYS: i64 = 60;

pub fn ground(key: &str) -> Result<(&'static str, &'static str, &'static str), AppError> {
    GROUNDS.iter().copied().find(|g| g.0 == key).ok_or_else(|| {
        AppError::bad_request(
            "ground",
            "列入事由应为 no_annual_report、instant_info、false_info 或 unreachable (ground must be one of no_annual_report, instant_info, false_info, unreachable)",
        )
    })
}

pub fn removal_ground(key: &str, listing_ground: &str) -> Result<&'static str, AppError> {
    let (k, _, ends) = REMOVAL_GROUNDS
        .iter()
        .copied()
        .find(|g| g.0 == key)
        .ok_or_else(|| {
            AppError::bad_request(
                "ground",
                "移出事由应为 back_report、info_published、address_changed 或 address_confirmed (removal ground must be back_report, info_published, address_changed or address_confirmed)",
            )
        })?;
    if !ends.contains(&listing_ground) {
        return Err(AppError::bad_request(
            "ground",
            "该移出事由不对应此项列入事由 (this removal ground does not answer the listing's ground)",
        ));
    }
    Ok(k)
}

/// The decision day of the no-report listing for `year`: the first working day after 30 June
/// of the next year (kernel calendar). The 10-working-day limit then ends on
/// [`decision_deadline`].
pub fn decision_day(cal: &Calendar, year: i32) -> Result<NaiveDate, AppError> {
    let end = crate::annual::rules::season_end(year);
    cal.add_working_days(end, 1)
        .map_err(|e| AppError::rejected(format!("工作日历缺少数据 (calendar data missing): {e}")))
}

/// The last day the no-report listing for `year` may be decided: 10 working days after 30 June.
pub fn decision_deadline(cal: &Calendar, year: i32) -> Result<NaiveDate, AppError> {
    let end = crate::annual::rules::season_end(year);
    cal.add_working_days(end, 10)
        .map_err(|e| AppError::rejected(format!("工作日历缺少数据 (calendar data missing): {e}")))
}

/// The 3-year mark of a listing made on `listed_on`.
pub fn three_years(listed_on: NaiveDate) -> NaiveDate {
    listed_on + Months::new(36)
}

/// The day from which the warning is published (60 days before the mark).
pub fn warning_from(listed_on: NaiveDate) -> NaiveDate {
    three_years(listed_on) - chrono::Duration::days(WARNING_DAYS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        let cal = Calendar::embedded();
        // 30 June 2026 is a Tuesday: the decision day is Wednesday 1 July.
        assert_eq!(decision_day(cal, 2025).unwrap().to_string(), "2026-07-01");
        assert_eq!(
            decision_deadline(cal, 2025).unwrap().to_string(),
            "2026-07-14"
        );
        let d = NaiveDate::from_ymd_opt(2023, 7, 3).unwrap();
        assert_eq!(three_years(d).to_string(), "2026-07-03");
        assert_eq!(warning_from(d).to_string(), "2026-05-04");
        assert!(removal_ground("back_report", "unreachable").is_err());
        assert!(removal_ground("address_confirmed", "unreachable").is_ok());
    }
}
