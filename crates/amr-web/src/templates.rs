//! The template environment. Templates are embedded in the binary; `.html` templates are
//! auto-escaped, so every value a page shows is escaped unless a template says otherwise
//! (none does).
//!
//! Besides the minijinja built-ins, templates have:
//! - `t("key")`: the text for `key` in the page's language (see [`super::i18n`]);
//! - `|datetime`: an RFC 3339 timestamp as Beijing time, `2024-05-01 09:30:00`;
//! - `|division_name`: a division code's full name (`370102` → 山东省济南市历下区), the
//!   whole country for `""`, empty when the code is not in the table;
//! - `|pretty_json`: a JSON text indented for reading.

use amr_kernel::codes::division::Jurisdiction;
use amr_kernel::error::AppError;
use chrono::{DateTime, FixedOffset};
use minijinja::{Environment, UndefinedBehavior, Value};

use super::i18n::lang_of;

/// The shell's own templates: the layout, shared macros and the error page.
pub const SHELL_TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../templates/base.html")),
    ("macros.html", include_str!("../templates/macros.html")),
    ("error.html", include_str!("../templates/error.html")),
];

/// What a crate with pages brings to the shell: its templates (names should start with the
/// crate's own folder, e.g. `registry/entity.html`) and its text catalogs (flat JSON objects,
/// keys prefixed with the crate's name, e.g. `registry.entity.title`).
#[derive(Debug, Clone, Copy)]
pub struct WebModule {
    pub name: &'static str,
    pub templates: &'static [(&'static str, &'static str)],
    pub zh: &'static str,
    pub en: &'static str,
}

#[derive(Debug)]
pub struct Templates {
    env: Environment<'static>,
}

impl Templates {
    /// Compiles the embedded templates. They are part of the binary, so a template that does
    /// not compile is a build defect: this panics with the template's error (a test renders
    /// every page, so it cannot reach a release).
    pub fn new(modules: &[WebModule]) -> Templates {
        super::i18n::install(modules);
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::SemiStrict);
        let all = SHELL_TEMPLATES
            .iter()
            .chain(modules.iter().flat_map(|m| m.templates.iter()));
        for (name, source) in all {
            if let Err(e) = env.add_template(name, source) {
                panic!("embedded template {name} does not compile: {e:#}");
            }
        }
        env.add_function("t", |state: &minijinja::State, key: &str| {
            lang_of(state).t(key)
        });
        env.add_filter("datetime", datetime);
        env.add_filter("division_name", division_name);
        env.add_filter("pretty_json", pretty_json);
        Templates { env }
    }

    pub fn env(&self) -> &Environment<'static> {
        &self.env
    }

    /// Renders a template with a context.
    pub fn render(&self, name: &str, ctx: Value) -> Result<String, AppError> {
        self.env
            .get_template(name)
            .and_then(|t| t.render(ctx))
            .map_err(|e| AppError::Internal(anyhow::anyhow!("rendering {name}: {e:#}")))
    }
}

/// China Standard Time, the time every AMR office works in.
fn beijing() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("+08:00 is a valid offset")
}

fn datetime(value: &Value) -> String {
    let Some(s) = value.as_str() else {
        return String::new();
    };
    match DateTime::parse_from_rfc3339(s) {
        Ok(t) => t
            .with_timezone(&beijing())
            .format("%Y-%m-%d %H:%M:%S")
            .to_string(),
        Err(_) => s.to_string(),
    }
}

fn division_name(state: &minijinja::State, code: &Value) -> String {
    let code = code.as_str().unwrap_or_default();
    match Jurisdiction::parse(code) {
        Ok(j) if j.is_all() => lang_of(state).t("jurisdiction.all"),
        Ok(j) => j.display_name(),
        Err(_) => String::new(),
    }
}

fn pretty_json(value: &Value) -> String {
    let Some(s) = value.as_str() else {
        return String::new();
    };
    serde_json::from_str::<serde_json::Value>(s)
        .and_then(|v| serde_json::to_string_pretty(&v))
        .unwrap_or_else(|_| s.to_string())
}

/// Asserts that every literal `t("key")` in `templates` exists in the Chinese catalog of the
/// shell plus `modules` (crates with pages call this from their own tests).
pub fn assert_keys_in_catalog(templates: &[(&str, &str)], modules: &[WebModule]) {
    {
        let mut zh: std::collections::HashMap<String, String> =
            serde_json::from_str(super::i18n::ZH_JSON).unwrap();
        for m in modules {
            let more: std::collections::HashMap<String, String> =
                serde_json::from_str(m.zh).unwrap();
            zh.extend(more);
        }
        for (name, source) in templates {
            for part in source.split("t(\"").skip(1) {
                let key = part.split('"').next().unwrap_or_default();
                if key.ends_with('.') {
                    continue; // a key built in the template, e.g. "role." ~ role
                }
                assert!(
                    zh.contains_key(key),
                    "{name}: key {key:?} missing in zh.json"
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_compiles() {
        let t = Templates::new(&[]);
        for (name, _) in SHELL_TEMPLATES {
            assert!(t.env().get_template(name).is_ok(), "{name}");
        }
    }

    #[test]
    fn filters() {
        let v = Value::from("2024-05-01T01:30:00Z");
        assert_eq!(datetime(&v), "2024-05-01 09:30:00");
        let j = Value::from("{\"a\":1}");
        assert_eq!(pretty_json(&j), "{\n  \"a\": 1\n}");
    }

    #[test]
    fn every_literal_key_is_in_the_catalog() {
        assert_keys_in_catalog(SHELL_TEMPLATES, &[]);
    }
}
