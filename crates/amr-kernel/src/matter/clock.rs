//! Clock arithmetic in working days, without IO.
//!
//! - A clock started on day `s` with a limit of `n` working days is due on the `n`-th working
//!   day after `s` ([`Calendar::add_working_days`]: the start day itself is not counted, as
//!   statutory deadlines are counted from the day after the event).
//! - Paused on `p` and resumed on `r`, it was paused for the working days `d` with
//!   `p < d ≤ r`, and its due date moves that many working days later.
//! - It is overdue on a day after its due date; escalation level `k` (1, 2, …) is reached
//!   when at least `1 + (k - 1) × every` working days have passed since the due date.

use chrono::NaiveDate;

use crate::calendar::{Calendar, CalendarError};
use crate::error::AppError;

pub(crate) fn calendar_error(e: CalendarError) -> AppError {
    AppError::rejected(e.to_string())
}

/// The due date of a clock of `working_days` started on `start`.
pub fn due_on(cal: &Calendar, start: NaiveDate, working_days: u32) -> Result<NaiveDate, AppError> {
    cal.add_working_days(start, working_days)
        .map_err(calendar_error)
}

/// The working days a clock paused on `paused` and resumed on `resumed` was paused for, and
/// its new due date.
pub fn resumed(
    cal: &Calendar,
    due: NaiveDate,
    paused: NaiveDate,
    resumed: NaiveDate,
) -> Result<(u32, NaiveDate), AppError> {
    let days = cal
        .working_days_between(paused, resumed)
        .map_err(calendar_error)?
        .max(0) as u32;
    let new_due = cal.add_working_days(due, days).map_err(calendar_error)?;
    Ok((days, new_due))
}

/// A clock stopped on `today`: a paused one (`paused_on` set for a paused clock only) first
/// counts its pause. Returns its final due date, its paused working days in all, and whether
/// it stopped late. The store's `stop_clock` and a course played in memory share it.
pub fn stopped(
    cal: &Calendar,
    due: NaiveDate,
    paused_days: i64,
    paused_on: Option<NaiveDate>,
    today: NaiveDate,
) -> Result<(NaiveDate, i64, bool), AppError> {
    let (mut due, mut paused_days) = (due, paused_days);
    if let Some(p) = paused_on {
        let (days, new_due) = resumed(cal, due, p, today)?;
        due = new_due;
        paused_days += i64::from(days);
    }
    Ok((due, paused_days, today > due))
}

/// The escalation level a running clock due on `due` has reached on `today` (0: none).
pub fn level_reached(
    cal: &Calendar,
    due: NaiveDate,
    today: NaiveDate,
    every: u32,
) -> Result<u32, AppError> {
    if today <= due {
        return Ok(0);
    }
    let late = cal
        .working_days_between(due, today)
        .map_err(calendar_error)?;
    if late < 1 {
        return Ok(0);
    }
    Ok(1 + ((late - 1) as u32) / every.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn due_dates_skip_the_national_day_week() {
        let cal = Calendar::embedded();
        // Started Wednesday 2026-09-30: 10-01..07 are holidays, 10-10 (Saturday) is a
        // make-up working day. Working days after 09-30: 10-08, 10-09, 10-10, 10-12, ...
        assert_eq!(due_on(cal, d("2026-09-30"), 1).unwrap(), d("2026-10-08"));
        assert_eq!(due_on(cal, d("2026-09-30"), 3).unwrap(), d("2026-10-10"));
        assert_eq!(due_on(cal, d("2026-09-30"), 7).unwrap(), d("2026-10-15"));
    }

    #[test]
    fn pausing_moves_the_due_date_by_the_working_days_paused() {
        let cal = Calendar::embedded();
        // Paused 09-29, resumed 10-09: working days 09-30, 10-08, 10-09 = 3.
        let (days, due) = resumed(cal, d("2026-10-15"), d("2026-09-29"), d("2026-10-09")).unwrap();
        assert_eq!(days, 3);
        assert_eq!(due, d("2026-10-20"));
        // Paused and resumed on the same day: nothing moves.
        let (days, due) = resumed(cal, d("2026-10-15"), d("2026-10-09"), d("2026-10-09")).unwrap();
        assert_eq!((days, due), (0, d("2026-10-15")));
    }

    #[test]
    fn levels_count_working_days_past_due() {
        let cal = Calendar::embedded();
        let due = d("2026-09-30");
        assert_eq!(level_reached(cal, due, d("2026-09-30"), 5).unwrap(), 0);
        // The holidays are not working days: not yet a working day late.
        assert_eq!(level_reached(cal, due, d("2026-10-07"), 5).unwrap(), 0);
        assert_eq!(level_reached(cal, due, d("2026-10-08"), 5).unwrap(), 1);
        // 10-08, 09, 10, 12, 13 = 5 working days late: still level 1; the 6th is level 2.
        assert_eq!(level_reached(cal, due, d("2026-10-13"), 5).unwrap(), 1);
        assert_eq!(level_reached(cal, due, d("2026-10-14"), 5).unwrap(), 2);
    }

    #[test]
    fn a_year_without_a_schedule_is_a_clear_error() {
        let cal = Calendar::embedded();
        let e = due_on(cal, d("2026-12-20"), 30).unwrap_err();
        assert!(e.to_string().contains("2027"), "{e}");
    }
}
