//! One-time messages across a redirect: a secret shown once on the page after a POST.
//!
//! The cookie `amr_flash` (HttpOnly, SameSite=Strict, `Path=/admin`, five minutes) holds
//! `kind.id.secret`; the page for that kind and id shows the secret and deletes the cookie.
//! Templates escape it like any other value.

use axum_extra::extract::CookieJar;

use amr_web::cookies::SetCookie;

const FLASH_COOKIE: &str = "amr_flash";
const FLASH_PATH: &str = "/admin";
const FLASH_SECONDS: i64 = 300;

/// The cookie that carries `secret` to the page of record `id` of `kind`.
pub fn set(kind: &str, id: i64, secret: &str, secure: bool) -> SetCookie {
    SetCookie::new(FLASH_COOKIE, &format!("{kind}.{id}.{secret}"))
        .path(FLASH_PATH)
        .max_age(FLASH_SECONDS)
        .same_site("Strict")
        .secure(secure)
}

/// The waiting secret of `kind` as (record id, secret), if any, and the cookie removal to
/// send with the page (whenever a flash cookie was present, so a stale one does not linger).
pub fn take(jar: &CookieJar, kind: &str) -> (Option<(i64, String)>, Option<SetCookie>) {
    let Some(c) = jar.get(FLASH_COOKIE) else {
        return (None, None);
    };
    let removal = Some(SetCookie::removal(FLASH_COOKIE).path(FLASH_PATH));
    let mut parts = c.value().splitn(3, '.');
    let found = match (parts.next(), parts.next(), parts.next()) {
        (Some(k), Some(id), Some(secret)) if k == kind && !secret.is_empty() => {
            id.parse().ok().map(|id| (id, secret.to_string()))
        }
        _ => None,
    };
    (found, removal)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{HeaderMap, HeaderValue, header::COOKIE};

    fn jar(value: &str) -> CookieJar {
        let mut h = HeaderMap::new();
        h.insert(
            COOKIE,
            HeaderValue::from_str(&format!("amr_flash={value}")).unwrap(),
        );
        CookieJar::from_headers(&h)
    }

    #[test]
    fn only_the_right_kind_shows_it() {
        let (s, rm) = take(&jar("pw.7.abcDEF234"), "pw");
        assert_eq!(s, Some((7, "abcDEF234".to_string())));
        assert!(rm.is_some());
        let (s, rm) = take(&jar("pw.7.abcDEF234"), "key");
        assert_eq!(s, None);
        assert!(rm.is_some());
        let (s, rm) = take(&CookieJar::new(), "pw");
        assert_eq!((s, rm.is_none()), (None, true));
    }
}
