//! The lifecycle rules, without IO: each function answers `Ok` or the refusal naming the rule
//! (Chinese first, English in parentheses). Sources: 市场主体登记管理条例 art. 30 and 实施细则
//! arts. 40–43 (suspension), DOMAIN.md §5 (simplified deregistration).

use chrono::{Duration, NaiveDate};

use amr_kernel::error::AppError;

use crate::model::Status;

/// Suspension may last at most three years in total over all of an entity's suspensions,
/// counted in days: three years with one leap day.
pub const MAX_SUSPENSION_DAYS: i64 = 3 * 365 + 1;

/// An extension may be filed only in the last 30 days of the current period (the end day
/// included).
pub const EXTENSION_WINDOW_DAYS: i64 = 30;

/// The public notice of a simplified deregistration lasts 20 days.
pub const SIMPLIFIED_NOTICE_DAYS: i64 = 20;

/// After the notice ends, the application must follow within 20 days.
pub const SIMPLIFIED_APPLY_DAYS: i64 = 20;

/// Creditors declare their claims within 45 days of the public notice of a liquidation
/// (公司法 2023 art. 235); an ordinary deregistration is accepted only after that.
pub const CREDITOR_DECLARATION_DAYS: i64 = 45;

fn refused(msg: impl std::fmt::Display) -> AppError {
    AppError::rejected(msg)
}

/// The days of a period `[start, end]`, both days included.
pub fn period_days(start: NaiveDate, end: NaiveDate) -> i64 {
    (end - start).num_days() + 1
}

/// A new suspension: the entity must be active, the period must start on the filing day
/// (the record is filed before suspending: 条例 art. 30) and end on or after it, and the
/// total with the days already used must stay within [`MAX_SUSPENSION_DAYS`].
pub fn check_suspend(
    status: Status,
    deregistering: bool,
    used_days: i64,
    start: NaiveDate,
    end: NaiveDate,
    today: NaiveDate,
) -> Result<(), AppError> {
    if status != Status::Active {
        return Err(refused(format!(
            "主体状态为「{}」，只有存续的主体可以办理歇业备案 \
             (only an active entity may file a suspension; this one is {})",
            status.name_zh(),
            status.name_en()
        )));
    }
    if deregistering {
        return Err(refused(
            "注销程序进行中，不能办理歇业备案 \
             (a deregistration is under way; a suspension cannot be filed)",
        ));
    }
    if start != today {
        return Err(AppError::bad_request(
            "start",
            format!(
                "歇业应先备案后歇业，歇业期间自备案之日（{today}）起算 \
                 (the record is filed before suspending: the period starts on the filing day, {today})"
            ),
        ));
    }
    if end < start {
        return Err(AppError::bad_request(
            "end",
            "歇业结束日期不能早于开始日期 (the end date is before the start date)",
        ));
    }
    check_total(used_days + period_days(start, end))
}

fn check_total(total: i64) -> Result<(), AppError> {
    if total > MAX_SUSPENSION_DAYS {
        return Err(refused(format!(
            "歇业累计不得超过 3 年（{MAX_SUSPENSION_DAYS} 日），本次申请后累计 {total} 日 \
             (suspension may last at most 3 years, {MAX_SUSPENSION_DAYS} days, in total; \
             this would make {total} days) — 市场主体登记管理条例第三十条"
        )));
    }
    Ok(())
}

/// An extension of the current period to `new_end`: only within the last
/// [`EXTENSION_WINDOW_DAYS`] days of the period, to a later end, within the 3-year total.
/// `used_before` counts the entity's earlier (ended) suspensions.
pub fn check_extend(
    start: NaiveDate,
    end: NaiveDate,
    new_end: NaiveDate,
    used_before: i64,
    today: NaiveDate,
) -> Result<(), AppError> {
    let window_opens = end - Duration::days(EXTENSION_WINDOW_DAYS - 1);
    if today < window_opens || today > end {
        return Err(refused(format!(
            "延期须在歇业期满前 30 日内（{window_opens} 至 {end}）提出 \
             (an extension may be filed only within the last 30 days of the period, \
             {window_opens} to {end}) — 实施细则第四十一条"
        )));
    }
    if new_end <= end {
        return Err(AppError::bad_request(
            "end",
            format!("延期后的结束日期应晚于 {end} (the new end must be after {end})"),
        ));
    }
    check_total(used_before + period_days(start, new_end))
}

/// A declared resumption: the entity must be suspended.
pub fn check_resume(status: Status) -> Result<(), AppError> {
    if status != Status::Suspended {
        return Err(refused(format!(
            "主体状态为「{}」，未处于歇业状态，无需恢复营业 \
             (the entity is not suspended, it is {}; there is nothing to resume)",
            status.name_zh(),
            status.name_en()
        )));
    }
    Ok(())
}

/// The two kinds of deregistration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeregKind {
    /// 普通注销: after liquidation.
    Ordinary,
    /// 简易注销: 20-day public notice, then the application.
    Simplified,
}

impl DeregKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DeregKind::Ordinary => "ordinary",
            DeregKind::Simplified => "simplified",
        }
    }

    pub fn parse(s: &str) -> Result<DeregKind, AppError> {
        match s.trim() {
            "ordinary" | "普通注销" => Ok(DeregKind::Ordinary),
            "simplified" | "简易注销" => Ok(DeregKind::Simplified),
            _ => Err(AppError::bad_request(
                "kind",
                "注销类型应为 ordinary（普通注销）或 simplified（简易注销） \
                 (the kind is ordinary or simplified)",
            )),
        }
    }
}

/// What bars a simplified deregistration (DOMAIN.md §5), from the entity's flags.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Bars {
    pub abnormal_list: bool,
    pub serious_list: bool,
    pub equity_frozen: bool,
    pub equity_pledged: bool,
}

/// Who may start a deregistration: an entity not already deregistered or moved out, with no
/// other deregistration under way; a revoked entity only by the ordinary way.
pub fn check_deregister(status: Status, kind: DeregKind, open: bool) -> Result<(), AppError> {
    match status {
        Status::Deregistered | Status::MovedOut => {
            return Err(refused(format!(
                "主体状态为「{}」，不能办理注销 (the entity is {}; it cannot be deregistered)",
                status.name_zh(),
                status.name_en()
            )));
        }
        Status::Revoked if kind == DeregKind::Simplified => {
            return Err(refused(
                "被吊销营业执照的主体应办理普通注销 \
                 (an entity whose licence was revoked deregisters by the ordinary procedure)",
            ));
        }
        _ => {}
    }
    if open {
        return Err(refused(
            "已有进行中的注销申请 (a deregistration of this entity is already under way)",
        ));
    }
    Ok(())
}

/// A simplified deregistration is refused for an entity on the abnormal-operations or the
/// serious-violation list, or with frozen or pledged equity.
pub fn check_simplified_bars(b: &Bars) -> Result<(), AppError> {
    let mut why = Vec::new();
    if b.abnormal_list {
        why.push("被列入经营异常名录 (on the abnormal-operations list)");
    }
    if b.serious_list {
        why.push("被列入严重违法失信名单 (on the serious-violation list)");
    }
    if b.equity_frozen {
        why.push("存在股权（财产份额）被冻结 (equity is frozen)");
    }
    if b.equity_pledged {
        why.push("存在股权出质 (equity is pledged)");
    }
    if why.is_empty() {
        return Ok(());
    }
    Err(refused(format!(
        "不适用简易注销：{}；请办理普通注销 \
         (simplified deregistration is not allowed; use the ordinary procedure)",
        why.join("；")
    )))
}

/// The liquidation facts of an ordinary deregistration: the liquidation group was formed,
/// the creditors' notice was published at least [`CREDITOR_DECLARATION_DAYS`] days ago, and
/// the liquidation report was confirmed after the notice; none in the future.
pub fn check_liquidation(
    group_on: Option<NaiveDate>,
    notice_on: Option<NaiveDate>,
    report_on: Option<NaiveDate>,
    today: NaiveDate,
) -> Result<(), AppError> {
    let need = |v: Option<NaiveDate>, field: &str, what: &str| {
        v.ok_or_else(|| AppError::bad_request(field, what.to_string()))
    };
    let group = need(
        group_on,
        "liquidation_group_on",
        "普通注销须填写清算组成立（备案）日期 (the date the liquidation group was formed is required)",
    )?;
    let notice = need(
        notice_on,
        "creditor_notice_on",
        "普通注销须填写债权人公告日期 (the date of the creditors' notice is required)",
    )?;
    let report = need(
        report_on,
        "liquidation_report_on",
        "普通注销须填写清算报告确认日期 (the date the liquidation report was confirmed is required)",
    )?;
    for (field, d) in [
        ("liquidation_group_on", group),
        ("creditor_notice_on", notice),
        ("liquidation_report_on", report),
    ] {
        if d > today {
            return Err(AppError::bad_request(
                field,
                "日期不能晚于今天 (the date is in the future)",
            ));
        }
    }
    if notice < group {
        return Err(AppError::bad_request(
            "creditor_notice_on",
            "债权人公告应在清算组成立之后 (the creditors' notice follows the liquidation group)",
        ));
    }
    let open_until = notice + Duration::days(CREDITOR_DECLARATION_DAYS);
    if today < open_until {
        return Err(refused(format!(
            "债权申报期（公告之日起 45 日）至 {open_until} 届满前不能申请注销 \
             (creditors may declare claims for 45 days after the notice, until {open_until}; \
             apply after that) — 公司法第二百三十五条"
        )));
    }
    if report < open_until {
        return Err(AppError::bad_request(
            "liquidation_report_on",
            format!(
                "清算报告应在债权申报期届满（{open_until}）后确认 \
                 (the liquidation report is confirmed after the declaration period, {open_until})"
            ),
        ));
    }
    Ok(())
}

/// The notice window of a simplified deregistration filed on `start`: `[start, end]`.
pub fn notice_end(start: NaiveDate) -> NaiveDate {
    start + Duration::days(SIMPLIFIED_NOTICE_DAYS - 1)
}

/// The application after the notice: not before the notice has ended, not more than
/// [`SIMPLIFIED_APPLY_DAYS`] days after it, and not while objections are open.
pub fn check_simplified_apply(
    notice_end: NaiveDate,
    open_objections: i64,
    today: NaiveDate,
) -> Result<(), AppError> {
    if today <= notice_end {
        return Err(refused(format!(
            "公示期至 {notice_end} 届满，期满后方可申请简易注销 \
             (the 20-day public notice runs until {notice_end}; apply after it ends)"
        )));
    }
    let last = notice_end + Duration::days(SIMPLIFIED_APPLY_DAYS);
    if today > last {
        return Err(refused(format!(
            "公示期满后 20 日内（至 {last}）未提出申请，须重新公示 \
             (the application was due within 20 days after the notice, by {last}; \
             publish a new notice)"
        )));
    }
    if open_objections > 0 {
        return Err(refused(format!(
            "有 {open_objections} 件异议尚未处理，处理完毕前不能注销 \
             ({open_objections} objection(s) are open; an officer must resolve them first)"
        )));
    }
    Ok(())
}

/// Checks a free-text field: present (when `required`), at most `max` characters, no
/// control characters, and no ID or mobile number when the text is published.
pub fn text_field(
    field: &str,
    value: &str,
    max: usize,
    required: bool,
    public: bool,
) -> Result<String, AppError> {
    let v = value.trim();
    if required && v.is_empty() {
        return Err(AppError::bad_request(field, "不能为空 (required)"));
    }
    if v.chars().count() > max {
        return Err(AppError::bad_request(
            field,
            format!("不超过 {max} 字 (at most {max} characters)"),
        ));
    }
    if v.chars().any(char::is_control) {
        return Err(AppError::bad_request(
            field,
            "含有控制字符 (contains control characters)",
        ));
    }
    if public && amr_kernel::events::find_personal_data(v).is_some() {
        return Err(AppError::bad_request(
            field,
            "此项将公示，不得包含身份证号或手机号 \
             (this is published: no ID or mobile numbers)",
        ));
    }
    Ok(v.to_string())
}

/// A date field (`YYYY-MM-DD`); empty is `None`.
pub fn date_field(field: &str, value: &str) -> Result<Option<NaiveDate>, AppError> {
    let v = value.trim();
    if v.is_empty() {
        return Ok(None);
    }
    NaiveDate::parse_from_str(v, "%Y-%m-%d")
        .map(Some)
        .map_err(|_| {
            AppError::bad_request(
                field,
                "日期格式应为 YYYY-MM-DD (a date is written YYYY-MM-DD)",
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn suspension_limits() {
        let t = d("2026-03-01");
        assert!(check_suspend(Status::Active, false, 0, t, d("2029-02-28"), t).is_ok());
        // 2026-03-01..=2029-03-01 is 1,097 days.
        let e = check_suspend(Status::Active, false, 0, t, d("2029-03-01"), t).unwrap_err();
        assert!(e.to_string().contains("3 年"), "{e}");
        assert!(check_suspend(Status::Active, false, 1000, t, d("2026-06-30"), t).is_err());
        assert!(check_suspend(Status::Deregistered, false, 0, t, t, t).is_err());
        assert!(check_suspend(Status::Suspended, false, 0, t, t, t).is_err());
        assert!(check_suspend(Status::Active, true, 0, t, t, t).is_err());
        assert!(check_suspend(Status::Active, false, 0, d("2026-03-02"), t, t).is_err());
        assert!(check_suspend(Status::Active, false, 0, t, d("2026-02-28"), t).is_err());
    }

    #[test]
    fn extension_window() {
        let (s, e) = (d("2026-01-01"), d("2026-12-31"));
        assert!(check_extend(s, e, d("2027-06-30"), 0, d("2026-12-02")).is_ok());
        assert!(check_extend(s, e, d("2027-06-30"), 0, d("2026-12-31")).is_ok());
        assert!(check_extend(s, e, d("2027-06-30"), 0, d("2026-12-01")).is_err());
        assert!(check_extend(s, e, d("2027-06-30"), 0, d("2027-01-01")).is_err());
        assert!(check_extend(s, e, d("2026-12-31"), 0, d("2026-12-20")).is_err());
        assert!(check_extend(s, e, d("2029-01-01"), 0, d("2026-12-20")).is_err());
        assert!(check_extend(s, e, d("2028-12-31"), 0, d("2026-12-20")).is_ok());
    }

    #[test]
    fn simplified() {
        assert!(check_simplified_bars(&Bars::default()).is_ok());
        let e = check_simplified_bars(&Bars {
            equity_pledged: true,
            ..Bars::default()
        })
        .unwrap_err();
        assert!(e.to_string().contains("出质"));
        let end = notice_end(d("2026-03-01"));
        assert_eq!(end, d("2026-03-20"));
        assert!(check_simplified_apply(end, 0, d("2026-03-20")).is_err());
        assert!(check_simplified_apply(end, 0, d("2026-03-21")).is_ok());
        assert!(check_simplified_apply(end, 0, d("2026-04-09")).is_ok());
        assert!(check_simplified_apply(end, 0, d("2026-04-10")).is_err());
        assert!(check_simplified_apply(end, 1, d("2026-03-25")).is_err());
        assert!(check_deregister(Status::Revoked, DeregKind::Simplified, false).is_err());
        assert!(check_deregister(Status::Revoked, DeregKind::Ordinary, false).is_ok());
        assert!(check_deregister(Status::Active, DeregKind::Ordinary, true).is_err());
    }

    #[test]
    fn liquidation() {
        let t = d("2026-06-01");
        let ok = check_liquidation(
            Some(d("2026-01-05")),
            Some(d("2026-01-10")),
            Some(d("2026-03-01")),
            t,
        );
        assert!(ok.is_ok(), "{ok:?}");
        assert!(check_liquidation(None, Some(t), Some(t), t).is_err());
        // The declaration period has not run.
        assert!(
            check_liquidation(Some(d("2026-05-01")), Some(d("2026-05-02")), Some(t), t).is_err()
        );
        assert!(
            check_liquidation(
                Some(d("2026-01-05")),
                Some(d("2026-01-10")),
                Some(d("2026-01-20")),
                t
            )
            .is_err()
        );
    }

    #[test]
    fn texts() {
        assert!(text_field("reason", "  ", 10, true, true).is_err());
        assert!(text_field("reason", "联系13912345678", 50, true, true).is_err());
        assert_eq!(
            text_field("reason", " 疫情 ", 10, true, true).unwrap(),
            "疫情"
        );
        assert!(date_field("end", "2026-13-01").is_err());
        assert_eq!(date_field("end", "").unwrap(), None);
    }
}
