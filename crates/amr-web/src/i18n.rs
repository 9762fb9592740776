//! Languages of the pages: Chinese by default, English when the `amr_lang` cookie says so.
//!
//! The catalogs are flat JSON objects (`locales/zh.json`, `locales/en.json`) embedded in the
//! binary; templates look texts up with `t("key")`. Both catalogs hold the same keys (a test
//! checks it); a missing key falls back to Chinese, then to the key itself.

use std::collections::HashMap;
use std::sync::OnceLock;

use axum::extract::{Path, Query};
use axum::http::header::SET_COOKIE;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::cookies::SetCookie;
use super::page::{PageError, Viewer};
use super::templates::WebModule;

/// The cookie that holds the chosen language.
pub const LANG_COOKIE: &str = "amr_lang";

/// The embedded catalogs, as written.
pub const ZH_JSON: &str = include_str!("../locales/zh.json");
pub const EN_JSON: &str = include_str!("../locales/en.json");

type Catalog = HashMap<String, String>;

/// The shell's catalogs merged with those of every crate with pages ([`install`]).
static CATALOGS: OnceLock<(Catalog, Catalog)> = OnceLock::new();

/// Merges the modules' catalogs into the shell's, once per process (every server of a
/// process serves the same modules). A key defined twice is a build defect: it panics.
pub fn install(modules: &[WebModule]) {
    CATALOGS.get_or_init(|| {
        let mut zh = parse_catalog(ZH_JSON, "zh");
        let mut en = parse_catalog(EN_JSON, "en");
        for m in modules {
            for (target, text, lang) in [(&mut zh, m.zh, "zh"), (&mut en, m.en, "en")] {
                for (k, v) in parse_catalog(text, m.name) {
                    if target.insert(k.clone(), v).is_some() {
                        panic!("locale key {k:?} of {} ({lang}) is defined twice", m.name);
                    }
                }
            }
        }
        (zh, en)
    });
}

fn catalogs() -> &'static (Catalog, Catalog) {
    CATALOGS.get_or_init(|| (parse_catalog(ZH_JSON, "zh"), parse_catalog(EN_JSON, "en")))
}

fn parse_catalog(text: &str, name: &str) -> Catalog {
    serde_json::from_str(text).unwrap_or_else(|e| {
        tracing::error!(catalog = name, error = %e, "locale catalog is not a flat JSON object");
        Catalog::new()
    })
}

/// A language the pages are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Zh,
    En,
}

impl Lang {
    /// The language for a cookie value; anything unknown is Chinese.
    pub fn from_cookie(value: Option<&str>) -> Lang {
        match value {
            Some("en") => Lang::En,
            _ => Lang::Zh,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }

    /// The value of `<html lang>`.
    pub fn html_lang(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    /// The text for `key` in this language.
    pub fn t(self, key: &str) -> String {
        let (zh, en) = catalogs();
        let own = match self {
            Lang::Zh => zh,
            Lang::En => en,
        };
        own.get(key)
            .or_else(|| zh.get(key))
            .cloned()
            .unwrap_or_else(|| key.to_string())
    }
}

/// The language a template is being rendered in (its `lang` variable).
pub fn lang_of(state: &minijinja::State) -> Lang {
    let code = state.lookup("lang");
    Lang::from_cookie(code.as_ref().and_then(|v| v.as_str()))
}

/// `back` when it is a path on this site (one leading `/`, no scheme, host or backslash),
/// otherwise `None`. Used for every redirect target taken from a request.
pub fn safe_local_path(back: &str) -> Option<&str> {
    let ok = back.starts_with('/')
        && !back.starts_with("//")
        && !back.contains('\\')
        && back.len() <= 2000
        && !back.chars().any(char::is_control);
    ok.then_some(back)
}

#[derive(Debug, Deserialize)]
pub struct LangQuery {
    back: Option<String>,
}

/// `GET /lang/{zh|en}?back=/path`: remembers the language for a year and goes back.
pub async fn set_lang(
    viewer: Viewer,
    Path(code): Path<String>,
    Query(q): Query<LangQuery>,
) -> Result<Response, PageError> {
    let lang = match code.as_str() {
        "zh" => Lang::Zh,
        "en" => Lang::En,
        _ => return Err(PageError::not_found()),
    };
    let back = q.back.as_deref().and_then(safe_local_path).unwrap_or("/");
    let cookie = SetCookie::new(LANG_COOKIE, lang.code())
        .max_age(365 * 24 * 3600)
        .same_site("Lax")
        .secure(viewer.https);
    Ok(([(SET_COOKIE, cookie.header())], Redirect::to(back)).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_safe() {
        assert_eq!(
            safe_local_path("/office?before=3"),
            Some("/office?before=3")
        );
        assert_eq!(safe_local_path("/"), Some("/"));
        for bad in [
            "//evil.example",
            "/\\evil.example",
            "https://evil.example",
            "",
            "office",
            "/a\nb",
        ] {
            assert_eq!(safe_local_path(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn unknown_cookie_values_are_chinese() {
        assert_eq!(Lang::from_cookie(None), Lang::Zh);
        assert_eq!(Lang::from_cookie(Some("fr")), Lang::Zh);
        assert_eq!(Lang::from_cookie(Some("en")), Lang::En);
    }

    #[test]
    fn lookups_fall_back_to_the_key() {
        assert_eq!(Lang::En.t("no.such.key"), "no.such.key");
    }
}
