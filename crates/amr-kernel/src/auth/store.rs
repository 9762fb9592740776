//! Account, session, throttling and API-key storage: one function per use case, both
//! backends. Every read or change of an account by an administrator goes through a [`Scope`];
//! an account outside it is [`AppError::NotFound`].

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use super::password::{random_token, token_hash};
use super::{Role, Scope};
use crate::audit::{self, Actor, Change};
use crate::db::{Db, Tx};
use crate::error::AppError;
use crate::events::{self, NewEvent};

/// An account as everyone but the password check sees it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Account {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub role: String,
    pub department: Option<String>,
    /// Division-code prefix; "" is the whole country.
    pub jurisdiction: String,
    pub uscc: Option<String>,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Account {
    pub fn role(&self) -> Role {
        Role::parse(&self.role).unwrap_or(Role::Enterprise)
    }

    /// The scope of this account's queries.
    pub fn scope(&self) -> Scope {
        match self.role() {
            Role::Admin | Role::Officer => Scope::prefix(&self.jurisdiction),
            Role::Enterprise => Scope::none(),
        }
    }

    /// The division the account belongs to, for scoping reads of accounts themselves.
    fn division(&self) -> Option<String> {
        Some(self.jurisdiction.clone())
    }

    fn audit_view(&self) -> serde_json::Value {
        serde_json::json!({
            "username": self.username,
            "display_name": self.display_name,
            "role": self.role,
            "department": self.department,
            "jurisdiction": self.jurisdiction,
            "uscc": self.uscc,
            "active": self.active,
        })
    }
}

/// A new account, already validated at the edge.
#[derive(Debug, Clone)]
pub struct NewAccount {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub department: Option<String>,
    pub jurisdiction: String,
    pub uscc: Option<String>,
    pub password_hash: String,
}

const ACCOUNT_COLUMNS: &str = "id, username, display_name, role, department, jurisdiction, uscc, active, created_at, updated_at";

/// Validates a username: 3–64 characters of letters, digits, `.`, `_`, `-`.
pub fn check_username(username: &str) -> Result<String, AppError> {
    let u = username.trim();
    let ok = (3..=64).contains(&u.chars().count())
        && u.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(u.to_ascii_lowercase())
    } else {
        Err(AppError::bad_request(
            "username",
            "用户名须为 3–64 个字母、数字或 . _ - (a username is 3–64 letters, digits, '.', '_' or '-')",
        ))
    }
}

/// Creates an account, its audit entry and its event, in the caller's transaction.
/// `creator_scope` must cover the new account's jurisdiction.
pub async fn create_account(
    tx: &mut Tx,
    actor: &Actor,
    creator_scope: &Scope,
    new: NewAccount,
) -> Result<Account, AppError> {
    if !creator_scope.covers(&new.jurisdiction) {
        return Err(AppError::bad_request(
            "jurisdiction",
            "只能在本辖区内创建账号 (you can only create accounts within your own jurisdiction)",
        ));
    }
    let now = Utc::now();
    let sql = format!(
        "INSERT INTO accounts (username, display_name, role, department, jurisdiction, uscc, password_hash, active, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING {ACCOUNT_COLUMNS}"
    );
    let account: Account = crate::on_tx!(tx, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(&new.username)
        .bind(&new.display_name)
        .bind(new.role.as_str())
        .bind(&new.department)
        .bind(&new.jurisdiction)
        .bind(&new.uscc)
        .bind(&new.password_hash)
        .bind(true)
        .bind(now)
        .fetch_one(&mut *c)
        .await
        .map_err(|e| match AppError::from(e) {
            AppError::Conflict(_) => AppError::Conflict(format!(
                "用户名 {} 已被使用 (the username is taken)", new.username
            )),
            other => other,
        })?);
    audit::record(
        tx,
        actor,
        Change {
            action: "account.create",
            target_kind: "account",
            target_id: account.id.to_string(),
            division: account.division(),
            before: None,
            after: Some(account.audit_view()),
        },
    )
    .await?;
    events::append(
        tx,
        NewEvent::internal(
            "kernel.account.created",
            serde_json::json!({"account_id": account.id, "role": account.role}),
        )
        .division(account.jurisdiction.clone())
        .actor(actor.label()),
    )
    .await?;
    Ok(account)
}

/// The account and its password hash, for logging in. Inactive accounts are included; the
/// caller refuses them after checking the password (so timing does not tell them apart).
pub async fn find_for_login(
    db: &Db,
    username: &str,
) -> Result<Option<(Account, String)>, AppError> {
    let sql = format!("SELECT {ACCOUNT_COLUMNS}, password_hash FROM accounts WHERE username = $1");
    let row: Option<(Account, String)> = crate::on_conn!(db, c => {
        use sqlx::Row;
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(username.trim().to_ascii_lowercase())
            .fetch_optional(c)
            .await?;
        match row {
            Some(r) => {
                let hash: String = r.try_get("password_hash")?;
                Some((sqlx::FromRow::from_row(&r)?, hash))
            }
            None => None,
        }
    });
    Ok(row)
}

/// One account within `scope`.
pub async fn get_account(db: &Db, scope: &Scope, id: i64) -> Result<Account, AppError> {
    let sql = format!(
        "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = $1 AND {}",
        scope.division_filter("jurisdiction", 2)
    );
    let found: Option<Account> = crate::on_conn!(db, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(scope.like_pattern())
        .fetch_optional(c)
        .await?);
    found.ok_or(AppError::NotFound)
}

/// The accounts within `scope`, by username.
pub async fn list_accounts(db: &Db, scope: &Scope) -> Result<Vec<Account>, AppError> {
    let sql = format!(
        "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE {} ORDER BY username LIMIT 1000",
        scope.division_filter("jurisdiction", 1)
    );
    Ok(
        crate::on_conn!(db, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(scope.like_pattern())
        .fetch_all(c)
        .await?),
    )
}

/// How many accounts of a role exist (any jurisdiction).
pub async fn count_role(db: &Db, role: Role) -> Result<i64, AppError> {
    Ok(crate::on_conn!(db, c => sqlx::query_scalar::<_, i64>(
        "SELECT count(*) FROM accounts WHERE role = $1"
    )
    .bind(role.as_str())
    .fetch_one(c)
    .await?))
}

/// Turns an account on or off within `scope`; turning it off also ends its sessions.
pub async fn set_active(
    tx: &mut Tx,
    actor: &Actor,
    scope: &Scope,
    id: i64,
    active: bool,
) -> Result<Account, AppError> {
    let before = get_account_tx(tx, scope, id).await?;
    let sql = format!(
        "UPDATE accounts SET active = $1, updated_at = $2 WHERE id = $3 RETURNING {ACCOUNT_COLUMNS}"
    );
    let after: Account = crate::on_tx!(tx, c => {
        let a: Account = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(active)
            .bind(Utc::now())
            .bind(id)
            .fetch_one(&mut *c)
            .await?;
        if !active {
            sqlx::query("DELETE FROM sessions WHERE account_id = $1")
                .bind(id)
                .execute(&mut *c)
                .await?;
        }
        a
    });
    audit::record(
        tx,
        actor,
        Change {
            action: if active {
                "account.activate"
            } else {
                "account.deactivate"
            },
            target_kind: "account",
            target_id: id.to_string(),
            division: after.division(),
            before: Some(before.audit_view()),
            after: Some(after.audit_view()),
        },
    )
    .await?;
    events::append(
        tx,
        NewEvent::internal(
            "kernel.account.changed",
            serde_json::json!({"account_id": id, "active": active}),
        )
        .division(after.jurisdiction.clone())
        .actor(actor.label()),
    )
    .await?;
    Ok(after)
}

/// Sets a new password hash for an account within `scope` and ends its sessions.
pub async fn set_password(
    tx: &mut Tx,
    actor: &Actor,
    scope: &Scope,
    id: i64,
    password_hash: &str,
) -> Result<(), AppError> {
    let account = get_account_tx(tx, scope, id).await?;
    crate::on_tx!(tx, c => {
        sqlx::query("UPDATE accounts SET password_hash = $1, updated_at = $2 WHERE id = $3")
            .bind(password_hash)
            .bind(Utc::now())
            .bind(id)
            .execute(&mut *c)
            .await?;
        sqlx::query("DELETE FROM sessions WHERE account_id = $1")
            .bind(id)
            .execute(&mut *c)
            .await?;
    });
    audit::record(
        tx,
        actor,
        Change {
            action: "account.password",
            target_kind: "account",
            target_id: id.to_string(),
            division: account.division(),
            before: None,
            after: Some(serde_json::json!({"password": "changed"})),
        },
    )
    .await?;
    Ok(())
}

async fn get_account_tx(tx: &mut Tx, scope: &Scope, id: i64) -> Result<Account, AppError> {
    let sql = format!(
        "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = $1 AND {}",
        scope.division_filter("jurisdiction", 2)
    );
    let found: Option<Account> = crate::on_tx!(tx, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(scope.like_pattern())
        .fetch_optional(&mut *c)
        .await?);
    found.ok_or(AppError::NotFound)
}

/// A live session.
#[derive(Debug, Clone)]
pub struct Session {
    pub account: Account,
    pub csrf_token: String,
    pub expires_at: DateTime<Utc>,
}

/// Starts a session; returns the cookie token (only its hash is stored) and the session.
pub async fn create_session(
    db: &Db,
    account: &Account,
    ttl: Duration,
    ip: Option<&str>,
) -> Result<(String, Session), AppError> {
    let token = random_token();
    let csrf = random_token();
    let now = Utc::now();
    let expires = now + ttl;
    crate::on_conn!(db, c => sqlx::query(
        "INSERT INTO sessions (token_hash, account_id, csrf_token, created_at, expires_at, ip) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(token_hash(&token))
    .bind(account.id)
    .bind(&csrf)
    .bind(now)
    .bind(expires)
    .bind(ip)
    .execute(c)
    .await?.rows_affected());
    Ok((
        token,
        Session {
            account: account.clone(),
            csrf_token: csrf,
            expires_at: expires,
        },
    ))
}

/// The session for a cookie token, if it exists, has not expired and its account is active.
pub async fn find_session(db: &Db, token: &str) -> Result<Option<Session>, AppError> {
    if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(None);
    }
    let sql = "SELECT a.id, a.username, a.display_name, a.role, a.department, a.jurisdiction, a.uscc, a.active, a.created_at, a.updated_at, \
               s.csrf_token, s.expires_at FROM sessions s JOIN accounts a ON a.id = s.account_id \
               WHERE s.token_hash = $1 AND s.expires_at > $2 AND a.active = $3";
    let found: Option<Session> = crate::on_conn!(db, c => {
        use sqlx::Row;
        let row = sqlx::query(sql)
            .bind(token_hash(token))
            .bind(Utc::now())
            .bind(true)
            .fetch_optional(c)
            .await?;
        match row {
            Some(r) => Some(Session {
                account: sqlx::FromRow::from_row(&r)?,
                csrf_token: r.try_get("csrf_token")?,
                expires_at: r.try_get("expires_at")?,
            }),
            None => None,
        }
    });
    Ok(found)
}

/// Ends a session (logout).
pub async fn delete_session(db: &Db, token: &str) -> Result<(), AppError> {
    crate::on_conn!(db, c => sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
        .bind(token_hash(token))
        .execute(c)
        .await?.rows_affected());
    Ok(())
}

/// Removes expired sessions and old login failures; returns how many rows went.
pub async fn purge_expired(db: &Db) -> Result<u64, AppError> {
    let now = Utc::now();
    let old = now - Duration::days(1);
    let n = crate::on_conn!(db, c => {
        let a = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1").bind(now).execute(c).await?.rows_affected();
        let b = sqlx::query("DELETE FROM login_failures WHERE at <= $1").bind(old).execute(c).await?.rows_affected();
        a + b
    });
    Ok(n)
}

/// Records a failed login for throttling.
pub async fn record_login_failure(db: &Db, username: &str, ip: &str) -> Result<(), AppError> {
    crate::on_conn!(db, c => sqlx::query("INSERT INTO login_failures (username, ip, at) VALUES ($1, $2, $3)")
        .bind(username.trim().to_ascii_lowercase())
        .bind(ip)
        .bind(Utc::now())
        .execute(c)
        .await?.rows_affected());
    Ok(())
}

/// Failed logins since `since`: (for this username, from this address).
pub async fn recent_login_failures(
    db: &Db,
    username: &str,
    ip: &str,
    since: DateTime<Utc>,
) -> Result<(i64, i64), AppError> {
    let u = username.trim().to_ascii_lowercase();
    Ok(crate::on_conn!(db, c => {
        let by_user: i64 = sqlx::query_scalar("SELECT count(*) FROM login_failures WHERE username = $1 AND at > $2")
            .bind(&u).bind(since).fetch_one(c).await?;
        let by_ip: i64 = sqlx::query_scalar("SELECT count(*) FROM login_failures WHERE ip = $1 AND at > $2")
            .bind(ip).bind(since).fetch_one(c).await?;
        (by_user, by_ip)
    }))
}

/// Forgets a username's failures after a successful login.
pub async fn clear_login_failures(db: &Db, username: &str) -> Result<(), AppError> {
    crate::on_conn!(db, c => sqlx::query("DELETE FROM login_failures WHERE username = $1")
        .bind(username.trim().to_ascii_lowercase())
        .execute(c)
        .await?.rows_affected());
    Ok(())
}

/// A partner agency's API key (the secret itself is never stored).
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ApiKey {
    pub id: i64,
    pub agency: String,
    pub key_prefix: String,
    pub jurisdiction: String,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
}

/// Issues an API key; returns the record and the secret (shown once).
pub async fn create_api_key(
    tx: &mut Tx,
    actor: &Actor,
    creator_scope: &Scope,
    agency: &str,
    jurisdiction: &str,
) -> Result<(ApiKey, String), AppError> {
    let agency = agency.trim();
    if agency.is_empty() || agency.chars().count() > 100 {
        return Err(AppError::bad_request(
            "agency",
            "请填写机构名称（不超过 100 字）(give the agency name, at most 100 characters)",
        ));
    }
    if !creator_scope.covers(jurisdiction) {
        return Err(AppError::bad_request(
            "jurisdiction",
            "只能在本辖区内发放密钥 (you can only issue keys within your own jurisdiction)",
        ));
    }
    let secret = format!("amr_{}", random_token());
    let prefix = secret[..12].to_string();
    let key: ApiKey = crate::on_tx!(tx, c => sqlx::query_as(
        "INSERT INTO api_keys (agency, key_prefix, key_hash, jurisdiction, active, created_at) VALUES ($1, $2, $3, $4, $5, $6) \
         RETURNING id, agency, key_prefix, jurisdiction, active, created_at, last_used_at",
    )
    .bind(agency)
    .bind(&prefix)
    .bind(token_hash(&secret))
    .bind(jurisdiction)
    .bind(true)
    .bind(Utc::now())
    .fetch_one(&mut *c)
    .await?);
    audit::record(
        tx,
        actor,
        Change {
            action: "api_key.create",
            target_kind: "api_key",
            target_id: key.id.to_string(),
            division: Some(key.jurisdiction.clone()),
            before: None,
            after: Some(serde_json::json!({"agency": key.agency, "key_prefix": key.key_prefix, "jurisdiction": key.jurisdiction})),
        },
    )
    .await?;
    Ok((key, secret))
}

/// The active key for a presented secret, marking it used.
pub async fn find_api_key(db: &Db, secret: &str) -> Result<Option<ApiKey>, AppError> {
    if !secret.starts_with("amr_") || secret.len() != 68 {
        return Ok(None);
    }
    Ok(crate::on_conn!(db, c => sqlx::query_as(
        "UPDATE api_keys SET last_used_at = $1 WHERE key_hash = $2 AND active = $3 \
         RETURNING id, agency, key_prefix, jurisdiction, active, created_at, last_used_at",
    )
    .bind(Utc::now())
    .bind(token_hash(secret))
    .bind(true)
    .fetch_optional(c)
    .await?))
}

/// API keys within `scope`.
pub async fn list_api_keys(db: &Db, scope: &Scope) -> Result<Vec<ApiKey>, AppError> {
    let sql = format!(
        "SELECT id, agency, key_prefix, jurisdiction, active, created_at, last_used_at FROM api_keys WHERE {} ORDER BY id",
        scope.division_filter("jurisdiction", 1)
    );
    Ok(
        crate::on_conn!(db, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(scope.like_pattern())
        .fetch_all(c)
        .await?),
    )
}

/// Revokes a key within `scope`.
pub async fn revoke_api_key(
    tx: &mut Tx,
    actor: &Actor,
    scope: &Scope,
    id: i64,
) -> Result<(), AppError> {
    let sql = format!(
        "UPDATE api_keys SET active = $1 WHERE id = $2 AND {} RETURNING jurisdiction",
        scope.division_filter("jurisdiction", 3)
    );
    let division: Option<String> = crate::on_tx!(tx, c => sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(false)
        .bind(id)
        .bind(scope.like_pattern())
        .fetch_optional(&mut *c)
        .await?);
    let division = division.ok_or(AppError::NotFound)?;
    audit::record(
        tx,
        actor,
        Change {
            action: "api_key.revoke",
            target_kind: "api_key",
            target_id: id.to_string(),
            division: Some(division),
            before: Some(serde_json::json!({"active": true})),
            after: Some(serde_json::json!({"active": false})),
        },
    )
    .await?;
    Ok(())
}

/// On first run (no administrator yet), creates the national administrator `admin` with a
/// random password and returns it, to be printed once. Otherwise returns `None`.
pub async fn ensure_first_admin(db: &Db) -> Result<Option<(String, String)>, AppError> {
    if count_role(db, Role::Admin).await? > 0 {
        return Ok(None);
    }
    let password = super::password::generate();
    let hash = {
        let p = password.clone();
        tokio::task::spawn_blocking(move || super::password::hash(&p))
            .await
            .map_err(|e| AppError::Internal(e.into()))??
    };
    let mut tx = db.begin().await?;
    let account = create_account(
        &mut tx,
        &Actor::system(),
        &Scope::all(),
        NewAccount {
            username: "admin".into(),
            display_name: "系统管理员".into(),
            role: Role::Admin,
            department: None,
            jurisdiction: String::new(),
            uscc: None,
            password_hash: hash,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Some((account.username, password)))
}
