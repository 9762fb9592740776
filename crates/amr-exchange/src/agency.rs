//! Partner agencies: who they are, where their endpoint is, which event kinds they subscribe
//! to, the public key their answers are checked against and the kernel API key their
//! callbacks carry.
//!
//! Events (internal): `exchange.agency.added` / `exchange.agency.changed` /
//! `exchange.agency.disabled`; audit actions `exchange_agency.add|change|disable`. Adding an
//! agency issues its API key (the kernel's, named after the agency) in the same transaction;
//! disabling it revokes the key.

use chrono::{DateTime, SubsecRound, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use amr_kernel::audit::{self, Actor};
use amr_kernel::auth::Scope;
use amr_kernel::auth::store as auth_store;
use amr_kernel::db::{Db, Tx};
use amr_kernel::error::AppError;
use amr_kernel::events::{self, NewEvent};
use amr_kernel::signing::{self, VerifyingKey};
use amr_kernel::{on_conn, on_tx};

/// The kinds of partner agency.
pub const KINDS: &[(&str, &str, &str)] = &[
    ("tax", "税务", "tax"),
    ("social_security", "社会保险", "social security"),
    ("medical_insurance", "医疗保障", "medical insurance"),
    ("housing_fund", "住房公积金", "housing fund"),
    ("bank", "银行", "bank"),
    ("other", "其他部门", "other agency"),
];

/// The four agencies suspension in one go (歇业一件事) fans out to.
pub const SUSPENSION_KINDS: &[&str] = &[
    "tax",
    "social_security",
    "medical_insurance",
    "housing_fund",
];

/// The name of a kind, Chinese first.
pub fn kind_name(kind: &str) -> (&'static str, &'static str) {
    KINDS
        .iter()
        .find(|(k, _, _)| *k == kind)
        .map(|(_, zh, en)| (*zh, *en))
        .unwrap_or(("其他部门", "other agency"))
}

/// A registered agency.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Agency {
    pub id: i64,
    pub name: String,
    pub display_name: String,
    pub kind: String,
    pub endpoint: String,
    /// JSON array text; see [`Agency::prefixes`].
    #[serde(skip)]
    pub subscriptions: String,
    pub public_key: String,
    pub api_key_id: Option<i64>,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Agency {
    pub fn prefixes(&self) -> Vec<String> {
        serde_json::from_str(&self.subscriptions).unwrap_or_default()
    }

    /// Whether the agency takes events of `kind`. The exchange's own events are never
    /// delivered (that would loop).
    pub fn subscribes(&self, kind: &str) -> bool {
        !kind.starts_with("exchange.")
            && self.prefixes().iter().any(|p| kind.starts_with(p.as_str()))
    }

    pub fn verifying_key(&self) -> Result<VerifyingKey, AppError> {
        signing::parse_public_key(&self.public_key).map_err(|e| {
            AppError::Internal(anyhow::anyhow!(
                "agency {} has a bad public key: {e}",
                self.name
            ))
        })
    }

    pub fn to_json(&self) -> serde_json::Value {
        let (zh, en) = kind_name(&self.kind);
        let key_id = self
            .verifying_key()
            .map(|k| crate::proto::key_id_of(&k).to_string())
            .unwrap_or_default();
        json!({
            "id": self.id, "name": self.name, "display_name": self.display_name,
            "kind": self.kind, "kind_name": {"zh": zh, "en": en},
            "endpoint": self.endpoint, "subscriptions": self.prefixes(),
            "public_key": self.public_key, "key_id": key_id,
            "api_key_id": self.api_key_id, "active": self.active,
            "created_at": self.created_at, "updated_at": self.updated_at,
        })
    }
}

/// An agency as an administrator enters it (form, JSON, CLI).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct AgencyInput {
    pub name: String,
    pub display_name: String,
    pub kind: String,
    pub endpoint: String,
    /// Prefixes, comma/space/newline separated (a form) ...
    pub subscriptions: String,
    /// ... or as a JSON array (the API).
    pub subscription_list: Option<Vec<String>>,
    pub public_key: String,
}

/// An agency input checked: every bad field named.
#[derive(Debug, Clone)]
pub struct Checked {
    pub name: String,
    pub display_name: String,
    pub kind: String,
    pub endpoint: String,
    pub prefixes: Vec<String>,
    pub public_key: String,
}

fn bad(field: &str, message: &str) -> AppError {
    AppError::bad_request(field, message)
}

impl AgencyInput {
    pub fn check(&self) -> Result<Checked, AppError> {
        let name = self.name.trim().to_string();
        if name.is_empty()
            || name.len() > 40
            || !name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
        {
            return Err(bad(
                "name",
                "机构代号须为 1–40 个小写字母、数字、- 或 _ (the agency name is 1–40 lower-case letters, digits, - or _)",
            ));
        }
        let display_name = self.display_name.trim().to_string();
        let display_name = if display_name.is_empty() {
            name.clone()
        } else {
            display_name
        };
        if display_name.chars().count() > 100 {
            return Err(bad(
                "display_name",
                "机构名称不超过 100 字 (the display name is at most 100 characters)",
            ));
        }
        let kind = self.kind.trim().to_string();
        if !KINDS.iter().any(|(k, _, _)| *k == kind) {
            return Err(bad(
                "kind",
                "机构类型应为 tax、social_security、medical_insurance、housing_fund、bank 或 other \
                 (kind is tax, social_security, medical_insurance, housing_fund, bank or other)",
            ));
        }
        let endpoint = self.endpoint.trim().to_string();
        let url = reqwest::Url::parse(&endpoint).map_err(|_| {
            bad(
                "endpoint",
                "接收地址应为完整的 http(s):// 网址 (the endpoint must be a full http(s):// URL)",
            )
        })?;
        if !matches!(url.scheme(), "http" | "https")
            || url.host_str().is_none()
            || endpoint.len() > 500
        {
            return Err(bad(
                "endpoint",
                "接收地址应为完整的 http(s):// 网址 (the endpoint must be a full http(s):// URL)",
            ));
        }
        let raw: Vec<String> = match &self.subscription_list {
            Some(list) => list.iter().map(|s| s.trim().to_string()).collect(),
            None => self
                .subscriptions
                .split(|c: char| c == ',' || c == '，' || c.is_whitespace())
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
        };
        // A bank may subscribe to nothing: it receives its push lists (政银合作).
        if (raw.is_empty() && kind != "bank") || raw.len() > 20 {
            return Err(bad(
                "subscriptions",
                "请填写 1–20 个订阅的事件类型前缀（银行可不填） (give 1–20 event-kind prefixes; a bank may give none)",
            ));
        }
        let mut prefixes = Vec::new();
        for p in raw {
            if p.is_empty()
                || p.len() > 100
                || p.starts_with("exchange.")
                || !p
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '_')
            {
                return Err(bad(
                    "subscriptions",
                    &format!(
                        "订阅前缀 {p:?} 不合格：小写字母、数字、. 和 _，且不能订阅 exchange.* \
                         (prefix {p:?}: lower-case letters, digits, . and _; exchange.* cannot be subscribed)"
                    ),
                ));
            }
            if !prefixes.contains(&p) {
                prefixes.push(p);
            }
        }
        let key = signing::parse_public_key(&self.public_key).map_err(|e| bad("public_key", &e))?;
        Ok(Checked {
            name,
            display_name,
            kind,
            endpoint,
            prefixes,
            public_key: signing::encode_public_key(&key),
        })
    }
}

const COLUMNS: &str = "id, name, display_name, kind, endpoint, subscriptions, public_key, api_key_id, active, created_at, updated_at";

fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// Every agency, by name.
pub async fn list(db: &Db) -> Result<Vec<Agency>, AppError> {
    let sql = format!("SELECT {COLUMNS} FROM exchange_agencies ORDER BY name");
    Ok(on_conn!(db, c => sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(c).await?))
}

/// The active agencies, inside a transaction (the delivery follower's view).
pub async fn active_in(tx: &mut Tx) -> Result<Vec<Agency>, AppError> {
    let sql = format!("SELECT {COLUMNS} FROM exchange_agencies WHERE active = $1 ORDER BY id");
    Ok(
        on_tx!(tx, c => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(true).fetch_all(&mut *c).await?),
    )
}

pub async fn by_name(db: &Db, name: &str) -> Result<Option<Agency>, AppError> {
    let sql = format!("SELECT {COLUMNS} FROM exchange_agencies WHERE name = $1");
    Ok(
        on_conn!(db, c => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(name).fetch_optional(c).await?),
    )
}

pub async fn by_id(db: &Db, id: i64) -> Result<Option<Agency>, AppError> {
    let sql = format!("SELECT {COLUMNS} FROM exchange_agencies WHERE id = $1");
    Ok(
        on_conn!(db, c => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(c).await?),
    )
}

/// The active agency of a kind (the first registered), e.g. the tax agency.
pub async fn active_of_kind(db: &Db, kind: &str) -> Result<Option<Agency>, AppError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM exchange_agencies WHERE kind = $1 AND active = $2 ORDER BY id LIMIT 1"
    );
    Ok(
        on_conn!(db, c => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(kind).bind(true).fetch_optional(c).await?),
    )
}

async fn by_name_in(tx: &mut Tx, name: &str) -> Result<Option<Agency>, AppError> {
    let sql = format!("SELECT {COLUMNS} FROM exchange_agencies WHERE name = $1");
    Ok(
        on_tx!(tx, c => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(name).fetch_optional(&mut *c).await?),
    )
}

/// Registers an agency and issues its callback API key (the secret is returned once).
pub async fn add(
    tx: &mut Tx,
    actor: &Actor,
    input: &AgencyInput,
) -> Result<(Agency, String), AppError> {
    let c = input.check()?;
    if by_name_in(tx, &c.name).await?.is_some() {
        return Err(AppError::Conflict(format!(
            "机构代号 {} 已登记 (an agency named {} is already registered)",
            c.name, c.name
        )));
    }
    let (key, secret) = auth_store::create_api_key(
        tx,
        actor,
        &Scope::all(),
        &format!("exchange:{}", c.name),
        "",
    )
    .await?;
    let at = now();
    let id: i64 = on_tx!(tx, x => sqlx::query_scalar(
        "INSERT INTO exchange_agencies (name, display_name, kind, endpoint, subscriptions, public_key, \
         api_key_id, active, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING id",
    )
    .bind(&c.name)
    .bind(&c.display_name)
    .bind(&c.kind)
    .bind(&c.endpoint)
    .bind(serde_json::to_string(&c.prefixes).unwrap_or_else(|_| "[]".into()))
    .bind(&c.public_key)
    .bind(key.id)
    .bind(true)
    .bind(at)
    .fetch_one(&mut *x)
    .await?);
    let agency = by_name_in(tx, &c.name).await?.ok_or(AppError::NotFound)?;
    debug_assert_eq!(agency.id, id);
    record(tx, actor, "add", None, Some(agency.to_json())).await?;
    Ok((agency, secret))
}

/// Changes an agency's endpoint, subscriptions, key or names (the name stays).
pub async fn change(
    tx: &mut Tx,
    actor: &Actor,
    name: &str,
    input: &AgencyInput,
) -> Result<Agency, AppError> {
    let before = by_name_in(tx, name).await?.ok_or(AppError::NotFound)?;
    let mut input = input.clone();
    input.name = before.name.clone();
    let c = input.check()?;
    on_tx!(tx, x => sqlx::query(
        "UPDATE exchange_agencies SET display_name = $2, kind = $3, endpoint = $4, subscriptions = $5, \
         public_key = $6, updated_at = $7 WHERE id = $1",
    )
    .bind(before.id)
    .bind(&c.display_name)
    .bind(&c.kind)
    .bind(&c.endpoint)
    .bind(serde_json::to_string(&c.prefixes).unwrap_or_else(|_| "[]".into()))
    .bind(&c.public_key)
    .bind(now())
    .execute(&mut *x)
    .await?
    .rows_affected());
    let after = by_name_in(tx, name).await?.ok_or(AppError::NotFound)?;
    record(
        tx,
        actor,
        "change",
        Some(before.to_json()),
        Some(after.to_json()),
    )
    .await?;
    Ok(after)
}

/// Disables an agency: no new deliveries, pending ones are no longer sent, its API key is
/// revoked. Kept (with its evidence) for the record.
pub async fn disable(tx: &mut Tx, actor: &Actor, name: &str) -> Result<Agency, AppError> {
    let before = by_name_in(tx, name).await?.ok_or(AppError::NotFound)?;
    if !before.active {
        return Err(AppError::rejected(
            "该机构已停用 (the agency is already disabled)",
        ));
    }
    on_tx!(tx, x => sqlx::query("UPDATE exchange_agencies SET active = $2, updated_at = $3 WHERE id = $1")
        .bind(before.id)
        .bind(false)
        .bind(now())
        .execute(&mut *x)
        .await?
        .rows_affected());
    if let Some(k) = before.api_key_id {
        match auth_store::revoke_api_key(tx, actor, &Scope::all(), k).await {
            Ok(()) | Err(AppError::NotFound) => {}
            Err(e) => return Err(e),
        }
    }
    let after = by_name_in(tx, name).await?.ok_or(AppError::NotFound)?;
    record(
        tx,
        actor,
        "disable",
        Some(before.to_json()),
        Some(after.to_json()),
    )
    .await?;
    Ok(after)
}

async fn record(
    tx: &mut Tx,
    actor: &Actor,
    verb: &str,
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
) -> Result<(), AppError> {
    let subject = after
        .as_ref()
        .or(before.as_ref())
        .cloned()
        .unwrap_or_default();
    let name = subject["name"].as_str().unwrap_or_default().to_string();
    let kind = match verb {
        "add" => "exchange.agency.added",
        "change" => "exchange.agency.changed",
        _ => "exchange.agency.disabled",
    };
    events::append(
        tx,
        NewEvent::internal(kind, json!({"agency": name, "after": after})).actor(actor.label()),
    )
    .await?;
    audit::record(
        tx,
        actor,
        audit::Change {
            action: match verb {
                "add" => "exchange_agency.add",
                "change" => "exchange_agency.change",
                _ => "exchange_agency.disable",
            },
            target_kind: "exchange_agency",
            target_id: name,
            division: None,
            before,
            after,
        },
    )
    .await?;
    Ok(())
}
