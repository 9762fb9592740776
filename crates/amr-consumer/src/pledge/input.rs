//! What the three consumer-confidence parts (no-reason returns, demonstration units, advance
//! compensation) share at the edge: bounded text, dates, who is calling (an officer of a
//! jurisdiction, an enterprise account for its own USCC), and the check that a complaint
//! matter number names a complaint the officer may see.

use chrono::{DateTime, NaiveDate, Utc};

use amr_kernel::auth::store::Account;
use amr_kernel::auth::{Permission, Role, Scope};
use amr_kernel::error::AppError;
use amr_kernel::matter::{Acting, Matter, MatterNumber};
use amr_web::auth::{ApiCaller, MaybeSession};
use amr_web::error::ApiError;
use amr_web::page::{PageError, Viewer};

use crate::complaint;

/// The time rows are stamped with (microseconds, as the backends keep them).
pub fn now() -> DateTime<Utc> {
    use chrono::SubsecRound;
    Utc::now().trunc_subsecs(6)
}

/// A text field: trimmed, `min..=max` characters, no control characters but line breaks and
/// tabs; the message names the field in Chinese first.
pub fn text(
    field: &str,
    value: &str,
    min: usize,
    max: usize,
    what: &str,
) -> Result<String, AppError> {
    let v = value.replace("\r\n", "\n");
    let v = v.trim();
    let n = v.chars().count();
    if n < min || n > max || v.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        let range = if min == 0 {
            format!("不超过 {max} 字 (at most {max} characters)")
        } else {
            format!("为 {min}–{max} 字 (from {min} to {max} characters)")
        };
        return Err(AppError::bad_request(field, format!("{what}{range}")));
    }
    Ok(v.to_string())
}

/// A date `YYYY-MM-DD`; empty gives `default` when there is one.
pub fn date(
    field: &str,
    value: &str,
    what: &str,
    default: Option<NaiveDate>,
) -> Result<NaiveDate, AppError> {
    let v = value.trim();
    if v.is_empty()
        && let Some(d) = default
    {
        return Ok(d);
    }
    NaiveDate::parse_from_str(v, "%Y-%m-%d").map_err(|_| {
        AppError::bad_request(
            field,
            format!("{what}应为日期，如 2026-10-01 ({field} is a date such as 2026-10-01)"),
        )
    })
}

/// Who acts, as the stores need it: the matter engine's identity (actor, scope, USCC) and
/// the account.
#[derive(Debug, Clone)]
pub struct Caller {
    pub acting: Acting,
    pub account: Account,
}

impl Caller {
    pub fn scope(&self) -> Scope {
        self.account.scope()
    }

    /// The enterprise account's own USCC.
    pub fn uscc(&self) -> Option<&str> {
        self.account.uscc.as_deref()
    }

    pub fn is_officer(&self) -> bool {
        self.account.role().can(Permission::ReadRecords)
    }
}

fn person_api(caller: &ApiCaller, session: MaybeSession) -> Result<Caller, ApiError> {
    if caller.api_key.is_some() {
        return Err(ApiError(AppError::forbidden()));
    }
    let MaybeSession(s, ip) = session;
    let s = s.ok_or(ApiError(AppError::Unauthenticated))?;
    Ok(Caller {
        acting: Acting::account(&s.account, Some(ip)),
        account: s.account,
    })
}

/// An officer (an account that reads records within its jurisdiction) calling the API.
pub fn officer_api(caller: &ApiCaller, session: MaybeSession) -> Result<Caller, ApiError> {
    caller.require(Permission::ReadRecords)?;
    person_api(caller, session)
}

/// An enterprise account bound to its entity calling the API.
pub fn enterprise_api(caller: &ApiCaller, session: MaybeSession) -> Result<Caller, ApiError> {
    let c = person_api(caller, session)?;
    if c.account.role() != Role::Enterprise || c.account.uscc.is_none() {
        return Err(ApiError(AppError::forbidden()));
    }
    Ok(c)
}

fn person_page(viewer: &Viewer) -> Result<Caller, PageError> {
    let s = viewer.require_login()?;
    Ok(Caller {
        acting: Acting::account(&s.account, Some(viewer.ip.clone())),
        account: s.account.clone(),
    })
}

/// An officer on a page (login first; 403 for other accounts).
pub fn officer_page(viewer: &Viewer) -> Result<Caller, PageError> {
    let c = person_page(viewer)?;
    if !c.is_officer() {
        return Err(AppError::forbidden().into());
    }
    Ok(c)
}

/// An enterprise account on a page (login first; 403 for other accounts).
pub fn enterprise_page(viewer: &Viewer) -> Result<Caller, PageError> {
    let c = person_page(viewer)?;
    if c.account.role() != Role::Enterprise || c.account.uscc.is_none() {
        return Err(AppError::forbidden().into());
    }
    Ok(c)
}

/// The complaint matter `number` as `acting` sees it: the number parsed (typing mistakes
/// refused by its check character), of the complaint kind (`TS`), within the actor's scope
/// (else 404).
pub async fn complaint_matter(
    db: &amr_kernel::db::Db,
    acting: &Acting,
    field: &str,
    number: &str,
) -> Result<Matter, AppError> {
    let parsed = MatterNumber::parse(number).map_err(|e| match e {
        AppError::BadRequest { message, .. } => AppError::bad_request(field, message),
        e => e,
    })?;
    if parsed.prefix() != complaint::kinds::COMPLAINT.prefix {
        return Err(AppError::bad_request(
            field,
            format!(
                "“{parsed}”不是投诉事项编号（应以 {} 开头） (not a complaint number; complaints start with {})",
                complaint::kinds::COMPLAINT.prefix,
                complaint::kinds::COMPLAINT.prefix
            ),
        ));
    }
    let m = complaint::engine()
        .get(db, acting, &parsed.to_string())
        .await
        .map_err(|e| match e {
            AppError::NotFound => AppError::bad_request(
                field,
                format!(
                    "您的辖区内没有投诉事项 {parsed} (no complaint {parsed} in your jurisdiction)"
                ),
            ),
            e => e,
        })?;
    if m.kind != complaint::kinds::COMPLAINT.name {
        return Err(AppError::bad_request(
            field,
            format!("{parsed} 不是投诉事项 (not a complaint)"),
        ));
    }
    Ok(m)
}

/// A page number `n` of a list (1-based), bounded.
pub fn page_no(value: &str) -> Result<i64, AppError> {
    match value.trim() {
        "" => Ok(1),
        v => v
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=10_000).contains(n))
            .ok_or_else(|| {
                AppError::bad_request(
                    "page",
                    "页码应为 1–10000 的整数 (the page is a whole number from 1 to 10000)",
                )
            }),
    }
}

/// A division filter typed by the public: empty, or a division code (2–9 digits) of the
/// table; returns the LIKE pattern.
pub fn area(value: &str) -> Result<Option<String>, AppError> {
    match value.trim() {
        "" => Ok(None),
        v => amr_kernel::codes::division::Jurisdiction::parse(v)
            .map(|j| Some(j.prefix().to_string()))
            .map_err(|e| AppError::bad_request("area", e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_bounded_and_trimmed() {
        assert_eq!(text("f", "  abc ", 1, 5, "字段").unwrap(), "abc");
        assert!(text("f", "", 1, 5, "字段").is_err());
        assert!(text("f", "abcdef", 1, 5, "字段").is_err());
        assert!(text("f", "a\u{7}b", 1, 5, "字段").is_err());
        let e = text("f", "abcdef", 1, 5, "字段").unwrap_err().to_string();
        assert!(e.starts_with("f: 字段为 1–5 字"), "{e}");
    }

    #[test]
    fn dates_parse_strictly() {
        let d = NaiveDate::from_ymd_opt(2026, 9, 28).unwrap();
        assert_eq!(date("d", "2026-09-28", "日期", None).unwrap(), d);
        assert_eq!(date("d", "", "日期", Some(d)).unwrap(), d);
        assert!(date("d", "2026/09/28", "日期", Some(d)).is_err());
        assert!(date("d", "", "日期", None).is_err());
    }

    #[test]
    fn pages_and_areas() {
        assert_eq!(page_no("").unwrap(), 1);
        assert_eq!(page_no("3").unwrap(), 3);
        assert!(page_no("0").is_err());
        assert!(page_no("x").is_err());
        assert_eq!(area("3701").unwrap().as_deref(), Some("3701"));
        assert!(area("99").is_err());
        assert_eq!(area(" ").unwrap(), None);
    }
}

/// A form body whose fields may repeat (checkboxes: `categories=a&categories=b` into a
/// `Vec`); a malformed one is a 400 page.
#[derive(Debug)]
pub struct MultiForm<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> axum::extract::FromRequest<S>
    for MultiForm<T>
{
    type Rejection = PageError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, PageError> {
        match axum_extra::extract::Form::<T>::from_request(req, state).await {
            Ok(axum_extra::extract::Form(v)) => Ok(MultiForm(v)),
            Err(e) => Err(AppError::bad_request(
                "form",
                format!("表单内容无法识别 (the form could not be read): {e}"),
            )
            .into()),
        }
    }
}

/// A public form's CSRF token and, for a visitor without one, the cookie that carries it
/// (the pre-login double-submit cookie; a logged-in visitor's session token).
pub fn form_token(viewer: &Viewer) -> (String, Option<amr_web::cookies::SetCookie>) {
    if let Some(s) = &viewer.session {
        return (s.csrf_token.clone(), None);
    }
    match &viewer.login_csrf {
        Some(t) if !t.is_empty() => (t.clone(), None),
        _ => {
            let (t, c) = amr_web::csrf::new_login_token(viewer.https);
            (t, Some(c))
        }
    }
}

/// Checks a public form's CSRF token against the session's or the pre-login cookie's.
pub fn check_form_csrf(viewer: &Viewer, presented: &str) -> Result<(), PageError> {
    let expected = match &viewer.session {
        Some(s) => Some(s.csrf_token.as_str()),
        None => viewer.login_csrf.as_deref(),
    };
    Ok(amr_web::csrf::check(presented, expected)?)
}

/// `resp` with the cookie set, if there is one.
pub fn with_cookie(
    resp: axum::response::Response,
    cookie: Option<amr_web::cookies::SetCookie>,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    match cookie {
        Some(c) => ([(axum::http::header::SET_COOKIE, c.header())], resp).into_response(),
        None => resp,
    }
}
