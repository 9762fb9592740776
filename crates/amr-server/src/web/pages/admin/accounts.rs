//! `GET /admin/accounts` (the accounts within my jurisdiction and the form for a new one) and
//! `POST /admin/accounts` (create it; bad input re-renders the form with the field errors and
//! the entered values, status 400, nothing stored).

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::SET_COOKIE;
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};

use amr_kernel::auth::store::{self, NewAccount};
use amr_kernel::auth::{Role, password};
use amr_kernel::codes::uscc::Uscc;
use amr_kernel::error::AppError;

use super::{field_message, flash, parse_jurisdiction};
use amr_web::extract::PageForm;
use amr_web::page::{PageError, Viewer, render};
use amr_web::state::AppState;

/// Field name → message (Chinese first, English in parentheses).
type FieldErrors = BTreeMap<&'static str, String>;

/// The create form as entered (the password is never sent back to the page).
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct AccountForm {
    #[serde(skip_serializing)]
    csrf: String,
    username: String,
    display_name: String,
    role: String,
    department: String,
    jurisdiction: String,
    uscc: String,
    #[serde(skip_serializing)]
    password: String,
}

/// A valid new account, before its password is hashed.
struct ValidAccount {
    new: NewAccount,
    /// The password to set; `None` → generate one.
    password: Option<String>,
}

pub async fn get_accounts(
    viewer: Viewer,
    State(state): State<AppState>,
) -> Result<Response, PageError> {
    viewer.require_admin()?;
    let form = AccountForm {
        role: "officer".into(),
        ..AccountForm::default()
    };
    render_list(&state, &viewer, StatusCode::OK, &form, &FieldErrors::new()).await
}

pub async fn post_accounts(
    viewer: Viewer,
    State(state): State<AppState>,
    PageForm(form): PageForm<AccountForm>,
) -> Result<Response, PageError> {
    let session = viewer.require_admin()?;
    viewer.check_csrf(&form.csrf)?;
    let valid = match validate(&form, &session.account.jurisdiction) {
        Ok(v) => v,
        Err(errors) => {
            return render_list(&state, &viewer, StatusCode::BAD_REQUEST, &form, &errors).await;
        }
    };
    let (plain, generated) = match valid.password {
        Some(p) => (p, false),
        None => (password::generate(), true),
    };
    let hash = hash_password(plain.clone()).await?;
    let actor = viewer.actor().ok_or(AppError::Unauthenticated)?;
    let mut tx = state.db.begin().await?;
    let new = NewAccount {
        password_hash: hash,
        ..valid.new
    };
    let account = match store::create_account(&mut tx, &actor, &session.account.scope(), new).await
    {
        Ok(a) => a,
        Err(AppError::Conflict(message)) => {
            let errors = FieldErrors::from([("username", message)]);
            return render_list(&state, &viewer, StatusCode::BAD_REQUEST, &form, &errors).await;
        }
        Err(e) => return Err(e.into()),
    };
    tx.commit().await?;
    let target = Redirect::to(&format!("/admin/accounts/{}", account.id));
    if !generated {
        return Ok(target.into_response());
    }
    let cookie = flash::set("pw", account.id, &plain, viewer.https);
    Ok(([(SET_COOKIE, cookie.header())], target).into_response())
}

/// Hashes a password off the async threads.
pub(super) async fn hash_password(plain: String) -> Result<String, PageError> {
    Ok(tokio::task::spawn_blocking(move || password::hash(&plain))
        .await
        .map_err(|e| AppError::Internal(e.into()))??)
}

async fn render_list(
    state: &AppState,
    viewer: &Viewer,
    status: StatusCode,
    form: &AccountForm,
    errors: &FieldErrors,
) -> Result<Response, PageError> {
    let session = viewer.require_admin()?;
    let accounts = store::list_accounts(&state.db, &session.account.scope()).await?;
    let page = serde_json::json!({
        "accounts": accounts,
        "form": form,
        "errors": errors,
        "roles": ["officer", "enterprise", "admin"],
        "own_jurisdiction": session.account.jurisdiction,
    });
    render(state, viewer, status, "admin/accounts.html", page)
}

/// Checks every field, collecting all errors at once.
fn validate(form: &AccountForm, own_jurisdiction: &str) -> Result<ValidAccount, FieldErrors> {
    let mut errors = FieldErrors::new();
    let username = store::check_username(&form.username)
        .map_err(|e| note(&mut errors, "username", e))
        .ok();
    let display_name = check_text(&form.display_name, 50, true)
        .map_err(|m| errors.insert("display_name", m))
        .ok();
    let role = Role::parse(&form.role)
        .map_err(|e| note(&mut errors, "role", e))
        .ok();
    let department = check_text(&form.department, 50, role == Some(Role::Officer))
        .map_err(|m| errors.insert("department", m))
        .ok();
    let jurisdiction = parse_jurisdiction(&form.jurisdiction, own_jurisdiction)
        .map_err(|m| errors.insert("jurisdiction", m))
        .ok();
    let uscc = match role {
        Some(Role::Enterprise) => Uscc::parse(form.uscc.trim())
            .map(|u| Some(u.as_str().to_string()))
            .map_err(|e| errors.insert("uscc", e.to_string()))
            .ok(),
        _ => Some(None),
    };
    let password = match form.password.as_str() {
        "" => Some(None),
        p => password::check_policy(p)
            .map(|()| Some(p.to_string()))
            .map_err(|e| note(&mut errors, "password", e))
            .ok(),
    };
    match (
        username,
        display_name,
        role,
        department,
        jurisdiction,
        uscc,
        password,
    ) {
        (
            Some(username),
            Some(display_name),
            Some(role),
            Some(department),
            Some(j),
            Some(uscc),
            Some(password),
        ) if errors.is_empty() => Ok(ValidAccount {
            new: NewAccount {
                username,
                display_name,
                role,
                department: Some(department).filter(|d| !d.is_empty()),
                jurisdiction: j.prefix().to_string(),
                uscc,
                password_hash: String::new(),
            },
            password,
        }),
        _ => Err(errors),
    }
}

fn note(errors: &mut FieldErrors, field: &'static str, e: AppError) {
    let message = field_message(e).unwrap_or_else(|_| "无效 (invalid)".to_string());
    errors.insert(field, message);
}

/// A one-line text of at most `max` characters; `required` refuses an empty one.
fn check_text(input: &str, max: usize, required: bool) -> Result<String, String> {
    let s = input.trim();
    if s.is_empty() && required {
        return Err("此项必填 (this field is required)".into());
    }
    if s.chars().count() > max || s.chars().any(char::is_control) {
        return Err(format!(
            "最多 {max} 个字符，且不能换行 (at most {max} characters, on one line)"
        ));
    }
    Ok(s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form() -> AccountForm {
        AccountForm {
            username: "lixia.officer".into(),
            display_name: "张三".into(),
            role: "officer".into(),
            department: "登记注册科".into(),
            jurisdiction: "370102".into(),
            ..AccountForm::default()
        }
    }

    #[test]
    fn a_complete_form_is_valid() {
        let v = validate(&form(), "3701")
            .map_err(|e| format!("{e:?}"))
            .unwrap();
        assert_eq!(v.new.jurisdiction, "370102");
        assert!(v.password.is_none());
    }

    #[test]
    fn every_bad_field_is_reported() {
        let f = AccountForm {
            username: "x".into(),
            display_name: String::new(),
            department: String::new(),
            jurisdiction: "370103".into(),
            password: "short".into(),
            ..form()
        };
        let errors = match validate(&f, "370102") {
            Err(e) => e,
            Ok(_) => panic!("accepted a bad form"),
        };
        let fields: Vec<_> = errors.keys().copied().collect();
        assert_eq!(
            fields,
            [
                "department",
                "display_name",
                "jurisdiction",
                "password",
                "username"
            ]
        );
    }

    #[test]
    fn enterprise_users_need_a_valid_uscc() {
        let f = AccountForm {
            role: "enterprise".into(),
            uscc: "91350100M000100Y4Z".into(),
            ..form()
        };
        assert!(validate(&f, "").is_err());
        let f = AccountForm {
            uscc: "91350100M000100Y43".into(),
            ..f
        };
        assert!(validate(&f, "").is_ok());
    }
}
