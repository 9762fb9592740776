//! `Set-Cookie` headers for the page cookies (session, CSRF, language, flash).
//!
//! Every value written here is a token of letters, digits and `.`/`_`, so no quoting is
//! needed; anything else is refused by [`SetCookie::new`] (replaced by an empty value).

use axum::http::HeaderValue;

/// One `Set-Cookie` header, `Path=/`, `HttpOnly` and `SameSite=Lax` unless changed.
#[derive(Debug, Clone)]
pub struct SetCookie {
    name: &'static str,
    value: String,
    path: String,
    max_age: Option<i64>,
    same_site: &'static str,
    secure: bool,
}

impl SetCookie {
    pub fn new(name: &'static str, value: &str) -> SetCookie {
        let safe = value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        SetCookie {
            name,
            value: if safe {
                value.to_string()
            } else {
                String::new()
            },
            path: "/".to_string(),
            max_age: None,
            same_site: "Lax",
            secure: false,
        }
    }

    /// A header that deletes the cookie (same name and path).
    pub fn removal(name: &'static str) -> SetCookie {
        SetCookie::new(name, "").max_age(0)
    }

    pub fn max_age(mut self, seconds: i64) -> SetCookie {
        self.max_age = Some(seconds.max(0));
        self
    }

    pub fn path(mut self, path: &str) -> SetCookie {
        self.path = path.to_string();
        self
    }

    /// `Strict` or `Lax`.
    pub fn same_site(mut self, same_site: &'static str) -> SetCookie {
        self.same_site = same_site;
        self
    }

    pub fn secure(mut self, secure: bool) -> SetCookie {
        self.secure = secure;
        self
    }

    pub fn header(&self) -> HeaderValue {
        let mut s = format!(
            "{}={}; Path={}; HttpOnly; SameSite={}",
            self.name, self.value, self.path, self.same_site
        );
        if let Some(age) = self.max_age {
            s.push_str(&format!("; Max-Age={age}"));
        }
        if self.secure {
            s.push_str("; Secure");
        }
        HeaderValue::from_str(&s).unwrap_or_else(|_| HeaderValue::from_static(""))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_the_header() {
        let h = SetCookie::new("amr_lang", "en")
            .max_age(60)
            .same_site("Strict")
            .secure(true)
            .header();
        assert_eq!(
            h.to_str().unwrap(),
            "amr_lang=en; Path=/; HttpOnly; SameSite=Strict; Max-Age=60; Secure"
        );
    }

    #[test]
    fn refuses_unsafe_values() {
        let h = SetCookie::new("x", "a;b=c").header();
        assert!(h.to_str().unwrap().starts_with("x=; "));
    }
}
