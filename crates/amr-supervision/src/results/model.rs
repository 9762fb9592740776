//! The rules of inspection results without IO: the outcome categories of the national results
//! publicity, what a recording form must hold, the publication deadline on the working-day
//! calendar, and what an attachment's bytes say it is.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use amr_kernel::calendar::Calendar;
use amr_kernel::error::AppError;

/// Working days between an inspection and the publication of its result (企业信息公示暂行条例
/// art. 6; DOMAIN.md §3).
pub const PUBLISH_WITHIN_WORKING_DAYS: u32 = 20;

/// The largest attachment, in bytes (2 MiB).
pub const MAX_ATTACHMENT_BYTES: usize = 2 * 1024 * 1024;

/// At most this many attachments per result.
pub const MAX_ATTACHMENTS_PER_RESULT: i64 = 20;

/// The outcome of one item on one visit: the categories of the national publicity of random
/// inspection results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// 未发现问题
    Normal,
    /// 发现问题已责令改正
    ProblemsCorrected,
    /// 发现问题待后续处理
    Problems,
    /// 未发现开展本次抽查涉及的经营活动
    NoActivity,
    /// 通过登记的住所（经营场所）无法联系
    NotFound,
    /// 不配合检查情节严重
    Refused,
    /// 已关闭停业或正在组织清算
    Closed,
}

impl Outcome {
    pub const ALL: [Outcome; 7] = [
        Outcome::Normal,
        Outcome::ProblemsCorrected,
        Outcome::Problems,
        Outcome::NoActivity,
        Outcome::NotFound,
        Outcome::Refused,
        Outcome::Closed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Normal => "normal",
            Outcome::ProblemsCorrected => "problems_corrected",
            Outcome::Problems => "problems",
            Outcome::NoActivity => "no_activity",
            Outcome::NotFound => "not_found",
            Outcome::Refused => "refused",
            Outcome::Closed => "closed",
        }
    }

    /// The category as the publicity system words it.
    pub fn name_zh(self) -> &'static str {
        match self {
            Outcome::Normal => "未发现问题",
            Outcome::ProblemsCorrected => "发现问题已责令改正",
            Outcome::Problems => "发现问题待后续处理",
            Outcome::NoActivity => "未发现开展本次抽查涉及的经营活动",
            Outcome::NotFound => "通过登记的住所（经营场所）无法联系",
            Outcome::Refused => "不配合检查情节严重",
            Outcome::Closed => "已关闭停业或正在组织清算",
        }
    }

    pub fn parse(s: &str) -> Option<Outcome> {
        Outcome::ALL.into_iter().find(|o| o.as_str() == s.trim())
    }

    /// Parses a submitted outcome; anything else is a 400 naming the allowed values.
    pub fn parse_input(s: &str) -> Result<Outcome, AppError> {
        Outcome::parse(s).ok_or_else(|| {
            AppError::bad_request(
                "outcome",
                "检查结果应为 normal、problems_corrected、problems、no_activity、not_found、\
                 refused 或 closed 之一 (the outcome is one of normal, problems_corrected, \
                 problems, no_activity, not_found, refused, closed)",
            )
        })
    }

    /// The follow-up (后续处置) this outcome opens, if any: `problem` for problems awaiting
    /// handling, `not_found` for an entity not found at its registered address (the input of
    /// the abnormal-operations list process).
    pub fn followup_kind(self) -> Option<&'static str> {
        match self {
            Outcome::Problems => Some("problem"),
            Outcome::NotFound => Some("not_found"),
            _ => None,
        }
    }

    /// Whether the findings must be written (problems and refusals are described).
    pub fn needs_findings(self) -> bool {
        matches!(
            self,
            Outcome::Problems | Outcome::ProblemsCorrected | Outcome::Refused
        )
    }
}

/// What a recording form or request holds, as text.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct RecordInput {
    pub item: String,
    pub outcome: String,
    pub findings: String,
    pub inspected_on: String,
}

/// A recording, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recording {
    pub item: String,
    pub outcome: Outcome,
    pub findings: String,
    pub inspected_on: NaiveDate,
}

/// The longest findings text, in characters.
pub const MAX_FINDINGS_CHARS: usize = 4000;

impl RecordInput {
    /// Parses the input for a plan whose inspections start on `inspection_start`, on `today`.
    /// The item's membership of the visit is checked by the store.
    pub fn parse(
        &self,
        inspection_start: NaiveDate,
        today: NaiveDate,
    ) -> Result<Recording, AppError> {
        let item = self.item.trim();
        if item.is_empty() || item.len() > 64 || item.chars().any(|c| c.is_control()) {
            return Err(AppError::bad_request(
                "item",
                "请选择检查事项 (choose the inspection item)",
            ));
        }
        let outcome = Outcome::parse_input(&self.outcome)?;
        let findings = self.findings.trim().replace("\r\n", "\n");
        if findings.chars().count() > MAX_FINDINGS_CHARS
            || findings
                .chars()
                .any(|c| c.is_control() && c != '\n' && c != '\t')
        {
            return Err(AppError::bad_request(
                "findings",
                "检查情况不超过 4000 字，且不含控制字符 (the findings are at most 4,000 characters, without control characters)",
            ));
        }
        if outcome.needs_findings() && findings.chars().count() < 2 {
            return Err(AppError::bad_request(
                "findings",
                "该检查结果须写明检查发现的问题或情况 (this outcome needs the findings written)",
            ));
        }
        let inspected_on = NaiveDate::parse_from_str(self.inspected_on.trim(), "%Y-%m-%d")
            .map_err(|_| {
                AppError::bad_request(
                    "inspected_on",
                    "检查日期应为 YYYY-MM-DD (the inspection date is YYYY-MM-DD)",
                )
            })?;
        if inspected_on > today {
            return Err(AppError::bad_request(
                "inspected_on",
                format!(
                    "检查日期不能晚于今天 {today} (the inspection date cannot be in the future)"
                ),
            ));
        }
        if inspected_on < inspection_start {
            return Err(AppError::bad_request(
                "inspected_on",
                format!(
                    "检查日期不能早于计划的检查开始日期 {inspection_start} \
                     (the inspection date cannot be before the plan's inspection start)"
                ),
            ));
        }
        Ok(Recording {
            item: item.to_string(),
            outcome,
            findings,
            inspected_on,
        })
    }
}

/// The last day to publish a result inspected on `inspected_on`: 20 working days later on
/// `calendar`. A date whose deadline falls in (or crosses) a year without calendar data is
/// refused naming that year, never guessed.
pub fn publish_due(calendar: &Calendar, inspected_on: NaiveDate) -> Result<NaiveDate, AppError> {
    calendar
        .add_working_days(inspected_on, PUBLISH_WITHIN_WORKING_DAYS)
        .map_err(|e| {
            AppError::rejected(format!(
                "无法计算公示期限：{e} (the publication deadline cannot be computed)"
            ))
        })
}

/// Today in China (UTC+8), the day every deadline is counted in (the kernel's one clock).
pub use amr_kernel::matter::today as today_in_china;

/// What the bytes of an upload are, by their signature (the name's extension only tells the
/// ZIP-based office formats apart). `None`: a kind not accepted as an attachment.
pub fn sniff_content_type(name: &str, bytes: &[u8]) -> Option<&'static str> {
    let ext = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    if bytes.starts_with(b"%PDF-") {
        return Some("application/pdf");
    }
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Some("image/png");
    }
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Some("image/jpeg");
    }
    if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        return Some("image/gif");
    }
    if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        return Some("image/webp");
    }
    if bytes.starts_with(b"PK\x03\x04") {
        return match ext.as_str() {
            "docx" => {
                Some("application/vnd.openxmlformats-officedocument.wordprocessingml.document")
            }
            "xlsx" => Some("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
            _ => Some("application/zip"),
        };
    }
    if !bytes.is_empty()
        && std::str::from_utf8(bytes).is_ok_and(|s| {
            s.chars()
                .all(|c| !c.is_control() || matches!(c, '\n' | '\r' | '\t'))
        })
    {
        return Some("text/plain; charset=utf-8");
    }
    None
}

/// A file name safe to store and to send back in a header: the last path component, control
/// characters, quotes and separators removed, at most 120 characters.
pub fn clean_filename(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = last
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '"' | ';' | '<' | '>'))
        .take(120)
        .collect();
    let cleaned = cleaned.trim().to_string();
    if cleaned.is_empty() || cleaned == "." || cleaned == ".." {
        "attachment".to_string()
    } else {
        cleaned
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn input(outcome: &str, findings: &str, date: &str) -> RecordInput {
        RecordInput {
            item: "SC-001".into(),
            outcome: outcome.into(),
            findings: findings.into(),
            inspected_on: date.into(),
        }
    }

    #[test]
    fn outcomes_round_trip_and_open_followups() {
        for o in Outcome::ALL {
            assert_eq!(Outcome::parse(o.as_str()), Some(o));
        }
        assert_eq!(Outcome::parse("ok"), None);
        assert_eq!(Outcome::Problems.followup_kind(), Some("problem"));
        assert_eq!(Outcome::NotFound.followup_kind(), Some("not_found"));
        assert_eq!(Outcome::ProblemsCorrected.followup_kind(), None);
        assert_eq!(Outcome::Normal.followup_kind(), None);
    }

    #[test]
    fn recording_rules() {
        let start = d("2026-03-01");
        let today = d("2026-06-10");
        let ok = input("normal", "", "2026-06-10")
            .parse(start, today)
            .unwrap();
        assert_eq!(ok.outcome, Outcome::Normal);
        let future = input("normal", "", "2026-06-11").parse(start, today);
        assert!(
            matches!(future, Err(AppError::BadRequest { ref field, .. }) if field == "inspected_on")
        );
        let early = input("normal", "", "2026-02-28").parse(start, today);
        assert!(
            matches!(early, Err(AppError::BadRequest { ref field, .. }) if field == "inspected_on")
        );
        let bad = input("fine", "", "2026-06-01").parse(start, today);
        match bad {
            Err(AppError::BadRequest { field, message }) => {
                assert_eq!(field, "outcome");
                assert!(message.starts_with("检查结果应为"));
            }
            other => panic!("{other:?}"),
        }
        let silent = input("problems", " ", "2026-06-01").parse(start, today);
        assert!(
            matches!(silent, Err(AppError::BadRequest { ref field, .. }) if field == "findings")
        );
        let long = input("problems", &"字".repeat(4001), "2026-06-01").parse(start, today);
        assert!(long.is_err());
        let p = input("problems", "消防通道堵塞", "2026-06-01")
            .parse(start, today)
            .unwrap();
        assert_eq!(p.findings, "消防通道堵塞");
    }

    #[test]
    fn due_is_twenty_working_days_on_the_calendar() {
        let cal = Calendar::embedded();
        // 2024-09-02 (Mon) + 20 working days crosses the Mid-Autumn holiday (Sep 15–17, with
        // Sep 14 a make-up workday) and lands before National Day.
        let due = publish_due(cal, d("2024-09-02")).unwrap();
        let n = cal.working_days_between(d("2024-09-02"), due).unwrap();
        assert_eq!(n, 20);
        assert!(cal.is_working_day(due).unwrap());
        // Plain weeks: Monday 2024-07-01 + 20 working days = Monday 2024-07-29; from Monday
        // 2024-06-03 the Dragon Boat Festival (Monday 2024-06-10) pushes it a day.
        assert_eq!(publish_due(cal, d("2024-07-01")).unwrap(), d("2024-07-29"));
        assert_eq!(publish_due(cal, d("2024-06-03")).unwrap(), d("2024-07-02"));
    }

    #[test]
    fn a_deadline_beyond_the_calendar_names_the_year() {
        let cal = Calendar::from_csv(
            "date,kind,name_zh,name_en\n2025-10-01,holiday,国庆节,National Day\n",
        )
        .unwrap();
        let err = publish_due(&cal, d("2025-12-20")).unwrap_err();
        assert_eq!(err.status(), 422);
        assert!(
            err.public_message().contains("2026"),
            "{}",
            err.public_message()
        );
    }

    #[test]
    fn sniffing_looks_at_the_bytes() {
        assert_eq!(
            sniff_content_type("a.txt", b"%PDF-1.7\n..."),
            Some("application/pdf")
        );
        assert_eq!(
            sniff_content_type("x.pdf", b"\x89PNG\r\n\x1a\n...."),
            Some("image/png")
        );
        assert_eq!(
            sniff_content_type("note.txt", "现场照片说明\n".as_bytes()),
            Some("text/plain; charset=utf-8")
        );
        assert_eq!(
            sniff_content_type("r.xlsx", b"PK\x03\x04rest"),
            Some("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        );
        assert_eq!(sniff_content_type("evil.pdf", b"MZ\x90\x00\x03\x00"), None);
        assert_eq!(sniff_content_type("empty.txt", b""), None);
    }

    #[test]
    fn filenames_are_cleaned() {
        assert_eq!(clean_filename("C:\\tmp\\照片 1.jpg"), "照片 1.jpg");
        assert_eq!(clean_filename("../../etc/passwd"), "passwd");
        assert_eq!(clean_filename("a\"b;c\r\n.pdf"), "abc.pdf");
        assert_eq!(clean_filename(".."), "attachment");
    }
}
