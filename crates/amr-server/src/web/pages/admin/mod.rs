//! The administrator's pages: accounts, the audit log, partner agencies' API keys.
//!
//! Only administrators get in (others logged in see 403, visitors are sent to log in). An
//! administrator works within its own jurisdiction: lists and lookups go through its
//! [`Scope`](amr_kernel::auth::Scope) in the store, so an account or key elsewhere is 404.
//! A secret made here (a generated password, an API key) is shown once: it travels to the
//! page after the redirect in a short-lived HttpOnly cookie ([`flash`]), never in a URL.

mod account;
mod accounts;
mod audit;
pub mod flash;
mod keys;

use axum::Router;
use axum::response::Redirect;
use axum::routing::{get, post};

use amr_kernel::codes::division::Jurisdiction;
use amr_kernel::error::AppError;

use amr_web::page::PageError;
use amr_web::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin", get(|| async { Redirect::to("/admin/accounts") }))
        .route(
            "/admin/accounts",
            get(accounts::get_accounts).post(accounts::post_accounts),
        )
        .route("/admin/accounts/{id}", get(account::get_account))
        .route("/admin/accounts/{id}/active", post(account::post_active))
        .route(
            "/admin/accounts/{id}/password",
            post(account::post_password),
        )
        .route("/admin/audit", get(audit::get_audit))
        .route("/admin/keys", get(keys::get_keys).post(keys::post_keys))
        .route("/admin/keys/{id}/revoke", post(keys::post_revoke))
}

/// A record id from the path; anything but a positive integer is not found.
fn parse_id(id: &str) -> Result<i64, PageError> {
    id.parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(PageError::not_found)
}

/// A jurisdiction entered in a form, which must lie within the administrator's own.
fn parse_jurisdiction(input: &str, own: &str) -> Result<Jurisdiction, String> {
    let j = Jurisdiction::parse(input).map_err(|e| e.to_string())?;
    let own_j = Jurisdiction::parse(own).map_err(|e| e.to_string())?;
    if j.is_within(&own_j) {
        Ok(j)
    } else {
        Err(format!(
            "只能选择本辖区（{}）内的行政区划 (choose a division within your own jurisdiction, {})",
            own_j.display_name(),
            if own.is_empty() { "*" } else { own },
        ))
    }
}

/// The message of a field error, for showing next to the field.
fn field_message(e: AppError) -> Result<String, PageError> {
    match e {
        AppError::BadRequest { message, .. } => Ok(message),
        other => Err(other.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jurisdiction_must_be_within_own() {
        assert!(parse_jurisdiction("370102", "3701").is_ok());
        assert!(parse_jurisdiction("370102", "").is_ok());
        assert!(parse_jurisdiction("370103", "370102").is_err());
        assert!(parse_jurisdiction("", "37").is_err());
        assert!(parse_jurisdiction("12x", "").is_err());
    }

    #[test]
    fn ids_are_positive_integers() {
        assert_eq!(parse_id("12").unwrap(), 12);
        assert!(parse_id("0").is_err());
        assert!(parse_id("abc").is_err());
    }
}
