//! Annual reports (年度报告, 多报合一; 企业信息公示暂行条例 arts. 8, 9; DOMAIN.md §4): the
//! enterprise files the report for year Y between 1 January and 30 June of Y+1, the eight
//! financial items prefilled from the tax agency through the kernel's
//! [`amr_kernel::tax::TaxDataSource`] (each value labelled with its source and evidence,
//! editable, the change from the agency's value recorded); individual businesses file a
//! simpler form; the entity chooses which optional items to publish. See
//! `docs/ANNUAL-REPORTS.md`.
//!
//! - [`model`]: the input, its validation, the stored report and its public items.
//! - [`rules`]: the window (season, late filing, corrections).
//! - [`store`]: filing and corrections (rows + event + audit in one transaction), reads.
//! - [`demo`]: the demo's reports (most filed, some not), deterministic and batched.
//! - [`web`]: the form and filing (page and JSON), the public and officer views.

pub mod demo;
pub mod model;
pub mod rules;
pub mod store;
pub mod web;

use amr_web::WebModule;

/// The templates and texts of annual reports and the abnormal list.
pub fn module() -> WebModule {
    WebModule {
        name: "registry.annual",
        templates: &[
            (
                "annual/form.html",
                include_str!("../../templates/annual/form.html"),
            ),
            (
                "annual/filed.html",
                include_str!("../../templates/annual/filed.html"),
            ),
            (
                "annual/section.html",
                include_str!("../../templates/annual/section.html"),
            ),
            (
                "abnormal/list.html",
                include_str!("../../templates/abnormal/list.html"),
            ),
            (
                "abnormal/office.html",
                include_str!("../../templates/abnormal/office.html"),
            ),
            (
                "abnormal/section.html",
                include_str!("../../templates/abnormal/section.html"),
            ),
            (
                "abnormal/portal.html",
                include_str!("../../templates/abnormal/portal.html"),
            ),
            (
                "abnormal/requests.html",
                include_str!("../../templates/abnormal/requests.html"),
            ),
            (
                "abnormal/sweeps.html",
                include_str!("../../templates/abnormal/sweeps.html"),
            ),
        ],
        zh: include_str!("../../locales/annual.zh.json"),
        en: include_str!("../../locales/annual.en.json"),
    }
}
