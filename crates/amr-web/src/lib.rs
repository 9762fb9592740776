//! The web shell: what every crate with pages or API routes builds on, so that a context
//! crate owns its routes without depending on the server (arrows point down only).
//!
//! - [`state`]: `AppState` (database, settings, templates, shutdown signal).
//! - [`error`]: `ApiError` (JSON errors by the kernel's policy) and 5xx logging.
//! - [`auth`]: who is calling — `MaybeSession` (cookie) and `ApiCaller` (session or key).
//! - [`page`]: `Viewer`, `PageError`, `render`, the page frame (error pages, security headers).
//! - [`panels`]: sections other crates add to the public entity page.
//! - [`templates`]: the template environment and `WebModule` (a crate's templates and texts).
//! - [`i18n`], [`csrf`], [`cookies`], [`extract`]: languages, CSRF, cookies, form extractors.
//! - [`static_files`]: the embedded stylesheet.
#![forbid(unsafe_code)]

pub mod auth;
pub mod config;
pub mod cookies;
pub mod csrf;
pub mod error;
pub mod extract;
pub mod i18n;
pub mod page;
pub mod panels;
pub mod state;
pub mod static_files;
pub mod templates;

pub use config::ServerConfig;
pub use state::AppState;
pub use templates::WebModule;
