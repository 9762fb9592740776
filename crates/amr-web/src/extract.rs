//! Form bodies and query strings for pages: malformed input is a 400 page in the layout,
//! not the plain-text rejection of the bare extractors.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use amr_kernel::error::AppError;

use super::page::PageError;

/// A form body (`application/x-www-form-urlencoded`); a malformed one is a 400 page.
#[derive(Debug)]
pub struct PageForm<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for PageForm<T> {
    type Rejection = PageError;

    async fn from_request(req: Request, state: &S) -> Result<Self, PageError> {
        match axum::Form::<T>::from_request(req, state).await {
            Ok(axum::Form(v)) => Ok(PageForm(v)),
            Err(e) => Err(AppError::bad_request(
                "form",
                format!(
                    "表单内容无法识别 (the form could not be read): {}",
                    e.body_text()
                ),
            )
            .into()),
        }
    }
}

/// A query string; a malformed one is a 400 page.
#[derive(Debug)]
pub struct PageQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for PageQuery<T> {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, PageError> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(PageQuery(v)),
            Err(e) => Err(AppError::bad_request(
                "query",
                format!(
                    "查询参数无法识别 (the query could not be read): {}",
                    e.body_text()
                ),
            )
            .into()),
        }
    }
}

/// A `before=N` paging parameter: absent, or a positive integer.
pub fn parse_before(before: Option<&str>) -> Result<Option<i64>, PageError> {
    match before.map(str::trim) {
        None | Some("") => Ok(None),
        Some(s) => match s.parse::<i64>() {
            Ok(n) if n > 0 => Ok(Some(n)),
            _ => Err(AppError::bad_request(
                "before",
                "before 须为正整数 (before must be a positive integer)",
            )
            .into()),
        },
    }
}

/// Percent-encodes a query value (everything but unreserved characters).
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_query_values() {
        assert_eq!(percent_encode("/office?before=3"), "/office%3Fbefore%3D3");
        assert_eq!(percent_encode("历"), "%E5%8E%86");
    }

    #[test]
    fn before_must_be_positive() {
        assert_eq!(parse_before(None).unwrap(), None);
        assert_eq!(parse_before(Some("12")).unwrap(), Some(12));
        assert!(parse_before(Some("0")).is_err());
        assert!(parse_before(Some("x")).is_err());
    }
}
