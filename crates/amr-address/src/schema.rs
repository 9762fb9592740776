//! What the address service brings to the server: its tables (a migration set, versions
//! 2000–2999) and its pages (templates and zh/en texts).

use amr_kernel::db::MigrationSet;
use amr_web::WebModule;

/// The address service's tables (migration versions 2000–2999).
pub fn migrations() -> MigrationSet {
    MigrationSet {
        name: "address",
        sqlite: || sqlx::migrate!("./migrations/sqlite"),
        postgres: || sqlx::migrate!("./migrations/postgres"),
    }
}

/// The address pages' templates and texts, for the shell.
pub fn module() -> WebModule {
    WebModule {
        name: "address",
        templates: TEMPLATES,
        zh: include_str!("../locales/zh.json"),
        en: include_str!("../locales/en.json"),
    }
}

/// The address pages' templates.
pub const TEMPLATES: &[(&str, &str)] = &[
    (
        "address/check.html",
        include_str!("../templates/address/check.html"),
    ),
    (
        "address/library.html",
        include_str!("../templates/address/library.html"),
    ),
    (
        "address/import.html",
        include_str!("../templates/address/import.html"),
    ),
    (
        "address/rules.html",
        include_str!("../templates/address/rules.html"),
    ),
    (
        "address/risk.html",
        include_str!("../templates/address/risk.html"),
    ),
    (
        "address/commitments.html",
        include_str!("../templates/address/commitments.html"),
    ),
];
