//! Inspection results (检查结果), follow-ups (后续处置) and their publication (一公开).
//!
//! - [`model`]: the outcome categories of the national results publicity, the recording
//!   rules, the 20-working-day deadline, attachment sniffing (no IO).
//! - [`visit`]: a drawn visit with its tasks, items and crews, as recording needs it.
//! - [`store`]: record / correct (before publication), publish (a visit or a plan),
//!   attachments.
//! - [`followups`]: the follow-ups results open and officers close.
//! - [`query`]: the officers' list of unpublished results, the public list.
//! - [`pages`]: the officers' pages; [`api`]: the officers' JSON API; [`public`]: the public
//!   page, the public JSON API and the public entity page's panel.
//!
//! `docs/INSPECTION-RESULTS.md` describes the whole part.

pub mod api;
pub mod followups;
pub mod model;
pub mod pages;
pub mod public;
pub mod query;
pub mod store;
pub mod visit;

use amr_web::WebModule;

/// The templates and texts of the results part.
pub fn module() -> WebModule {
    WebModule {
        name: "supervision.results",
        templates: TEMPLATES,
        zh: include_str!("../../locales/results.zh.json"),
        en: include_str!("../../locales/results.en.json"),
    }
}

/// The part's templates.
pub const TEMPLATES: &[(&str, &str)] = &[
    (
        "results/visit.html",
        include_str!("../../templates/results/visit.html"),
    ),
    (
        "results/pending.html",
        include_str!("../../templates/results/pending.html"),
    ),
    (
        "results/followups.html",
        include_str!("../../templates/results/followups.html"),
    ),
    (
        "results/public.html",
        include_str!("../../templates/results/public.html"),
    ),
    (
        "results/panel.html",
        include_str!("../../templates/results/panel.html"),
    ),
];

#[cfg(test)]
mod tests {
    #[test]
    fn every_literal_key_is_in_the_catalog() {
        amr_web::templates::assert_keys_in_catalog(super::TEMPLATES, &[super::module()]);
    }

    #[test]
    fn catalogs_have_the_same_keys() {
        let zh: std::collections::BTreeMap<String, String> =
            serde_json::from_str(super::module().zh).unwrap();
        let en: std::collections::BTreeMap<String, String> =
            serde_json::from_str(super::module().en).unwrap();
        assert_eq!(zh.keys().collect::<Vec<_>>(), en.keys().collect::<Vec<_>>());
    }
}
