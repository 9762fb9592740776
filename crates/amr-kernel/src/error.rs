//! The one error type, [`AppError`], and its policy.
//!
//! Policy:
//! - Bad input from outside (a form field, a query parameter, a code on the command line) is
//!   [`AppError::BadRequest`] naming the field, with a message in Chinese first and English in
//!   parentheses. It maps to HTTP 400 (or 422 for a well-formed request the rules refuse:
//!   [`AppError::Rejected`]).
//! - Something the caller may not see, or that does not exist, is [`AppError::NotFound`] (404).
//!   Records outside an officer's jurisdiction are reported as not found, never as forbidden,
//!   so that their existence does not leak.
//! - [`AppError::Unauthenticated`] (401) asks the caller to log in; [`AppError::Forbidden`]
//!   (403) is for actions the caller's *role* never allows (not for other regions' records).
//! - [`AppError::Conflict`] (409) is a unique key or a stale state; [`AppError::TooManyRequests`]
//!   (429) is throttling.
//! - [`AppError::Config`] names the bad setting; [`AppError::Unavailable`] (503) is a backend
//!   that cannot be reached.
//! - Everything else is [`AppError::Internal`]: the caller sees an opaque 500 with a request
//!   reference, and the cause chain goes to the log, never to the response.

use std::fmt;

/// The error every AMR layer returns.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{field}: {message}")]
    BadRequest { field: String, message: String },
    #[error("{message}")]
    Rejected { message: String },
    #[error("未找到 (not found)")]
    NotFound,
    #[error("请先登录 (please log in)")]
    Unauthenticated,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    TooManyRequests(String),
    #[error("配置项 {setting} 无效 (invalid setting {setting}): {message}")]
    Config { setting: String, message: String },
    #[error("{0}")]
    Unavailable(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl AppError {
    pub fn bad_request(field: impl Into<String>, message: impl fmt::Display) -> AppError {
        AppError::BadRequest {
            field: field.into(),
            message: message.to_string(),
        }
    }

    pub fn rejected(message: impl fmt::Display) -> AppError {
        AppError::Rejected {
            message: message.to_string(),
        }
    }

    pub fn config(setting: impl Into<String>, message: impl fmt::Display) -> AppError {
        AppError::Config {
            setting: setting.into(),
            message: message.to_string(),
        }
    }

    pub fn unavailable(message: impl fmt::Display) -> AppError {
        AppError::Unavailable(message.to_string())
    }

    pub fn forbidden() -> AppError {
        AppError::Forbidden("您的角色无权执行此操作 (your role does not allow this action)".into())
    }

    /// The HTTP status this error maps to, by the policy above.
    pub fn status(&self) -> u16 {
        match self {
            AppError::BadRequest { .. } => 400,
            AppError::Rejected { .. } => 422,
            AppError::NotFound => 404,
            AppError::Unauthenticated => 401,
            AppError::Forbidden(_) => 403,
            AppError::Conflict(_) => 409,
            AppError::TooManyRequests(_) => 429,
            AppError::Config { .. } | AppError::Internal(_) => 500,
            AppError::Unavailable(_) => 503,
        }
    }

    /// A stable machine-readable code for API clients.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::BadRequest { .. } => "bad_request",
            AppError::Rejected { .. } => "rejected",
            AppError::NotFound => "not_found",
            AppError::Unauthenticated => "unauthenticated",
            AppError::Forbidden(_) => "forbidden",
            AppError::Conflict(_) => "conflict",
            AppError::TooManyRequests(_) => "too_many_requests",
            AppError::Config { .. } => "config",
            AppError::Unavailable(_) => "unavailable",
            AppError::Internal(_) => "internal",
        }
    }

    /// The message safe to show to the caller (internal causes are hidden).
    pub fn public_message(&self) -> String {
        match self {
            AppError::Internal(_) | AppError::Config { .. } => {
                "服务器内部错误，已记录 (internal error; it has been logged)".to_string()
            }
            other => other.to_string(),
        }
    }
}

impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> AppError {
        if let sqlx::Error::Database(db) = &e
            && db.is_unique_violation()
        {
            return AppError::Conflict(
                "记录已存在 (a record with this key already exists)".to_string(),
            );
        }
        match e {
            sqlx::Error::RowNotFound => AppError::NotFound,
            sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) => {
                AppError::Unavailable(format!("数据库暂不可用 (database unavailable): {e}"))
            }
            other => AppError::Internal(anyhow::Error::new(other)),
        }
    }
}

impl From<sqlx::migrate::MigrateError> for AppError {
    fn from(e: sqlx::migrate::MigrateError) -> AppError {
        AppError::Internal(anyhow::Error::new(e).context("database migration failed"))
    }
}
