//! CSRF protection: every form carries the session's token (or, before login, the token of
//! the `amr_csrf` cookie), and every POST is refused unless it matches.
//!
//! - Logged in: the hidden field `csrf` must equal the session's `csrf_token`.
//! - Not logged in (the login form): double submit. The `amr_csrf` cookie (random, HttpOnly,
//!   SameSite=Strict) is set when a form is rendered and the browser has none; the hidden
//!   field must equal it. It is replaced by a new one at login.

use amr_kernel::auth::password::random_token;
use amr_kernel::error::AppError;
use subtle::ConstantTimeEq;

use super::cookies::SetCookie;

/// The pre-login CSRF cookie.
pub const CSRF_COOKIE: &str = "amr_csrf";

/// Compares two tokens in constant time; empty tokens never match.
pub fn tokens_match(presented: &str, expected: &str) -> bool {
    !presented.is_empty()
        && !expected.is_empty()
        && presented.len() == expected.len()
        && bool::from(presented.as_bytes().ct_eq(expected.as_bytes()))
}

/// The refusal of a form whose token is missing or wrong.
pub fn refusal() -> AppError {
    AppError::Forbidden(
        "表单已过期或来源不明（CSRF 令牌缺失或错误），请返回并刷新页面后重试 \
         (the form has expired or did not come from this site: missing or wrong CSRF token; \
         go back, reload the page and try again)"
            .into(),
    )
}

/// Checks a presented token against the expected one.
pub fn check(presented: &str, expected: Option<&str>) -> Result<(), AppError> {
    match expected {
        Some(e) if tokens_match(presented, e) => Ok(()),
        _ => Err(refusal()),
    }
}

/// A new pre-login token and the cookie that carries it.
pub fn new_login_token(secure: bool) -> (String, SetCookie) {
    let token = random_token();
    let cookie = SetCookie::new(CSRF_COOKIE, &token)
        .same_site("Strict")
        .secure(secure);
    (token, cookie)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matching() {
        assert!(tokens_match("abc", "abc"));
        assert!(!tokens_match("abc", "abd"));
        assert!(!tokens_match("", ""));
        assert!(!tokens_match("ab", "abc"));
        assert!(check("x", None).is_err());
        assert!(check("abc", Some("abc")).is_ok());
    }
}
