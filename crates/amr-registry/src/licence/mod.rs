//! The business licence and its enterprise code (二码合一: one code for the paper and the
//! electronic licence).
//!
//! - [`licence_of`]: the licence version of an entity. Version 1 is issued at registration;
//!   every later change that touches a licence item ([`LICENCE_FIELDS`]: name, type, legal
//!   representative, capital, domicile address, scope, establishment date) starts a new
//!   version, issued at the change's time. It is read from `entity_changes` (one row per
//!   changed field, grouped by the change's timepoint), so whatever writes changes through
//!   [`crate::store::change`] moves the version without knowing about licences. Status is not
//!   a licence item: suspension or deregistration leaves the version alone and is checked live.
//! - [`code`]: the signed payload (USCC, name, licence version, issue time, key id,
//!   signature) and its text form; [`qr`]: QR codes as SVG and PNG.
//! - [`check`]: what the verify page says about a scanned code: not authentic, no such
//!   entity, deregistered/revoked/suspended/moved out, changed since, or current.
//! - [`web`]: `GET /api/v1/entities/{uscc}/code`, `GET /api/v1/codes/{payload}`, the licence
//!   page, the print page, the QR images and the public verify page `/v/{payload}`.

pub mod code;
pub mod qr;
pub mod web;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use amr_kernel::db::Db;
use amr_kernel::error::AppError;
use amr_kernel::on_conn;
use amr_kernel::signing::{self, Keyring, Verification};

use crate::model::{Entity, PublicEntity, Status};
use code::{Claims, EnterpriseCode};

/// The `entity_changes` fields that are printed on the licence (the names the change history
/// uses; `entity_type` and `established` for changes that may come to touch them).
pub const LICENCE_FIELDS: &[&str] = &[
    "name",
    "entity_type",
    "legal_rep",
    "capital_yuan",
    "address",
    "scope",
    "established",
];

/// One version of a licence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LicenceVersion {
    pub version: u32,
    pub issued_at: DateTime<Utc>,
    /// The licence items whose change started this version (empty for version 1).
    pub fields: Vec<String>,
}

/// The licence of an entity: its current version and every version before.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Licence {
    pub version: u32,
    pub issued_at: DateTime<Utc>,
    /// Oldest first.
    pub versions: Vec<LicenceVersion>,
}

impl Licence {
    /// The licence items changed after `version` (each named once, in order of change).
    pub fn changed_since(&self, version: u32) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for v in self.versions.iter().filter(|v| v.version > version) {
            for f in &v.fields {
                if !out.contains(f) {
                    out.push(f.clone());
                }
            }
        }
        out
    }
}

/// The licence of `e`, from its change history.
pub async fn licence_of(db: &Db, e: &Entity) -> Result<Licence, AppError> {
    let list = LICENCE_FIELDS
        .iter()
        .map(|f| format!("'{f}'"))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "SELECT timepoint, changed_at, field FROM entity_changes \
         WHERE uscc = $1 AND field IN ({list}) ORDER BY timepoint, id"
    );
    let rows: Vec<(i64, DateTime<Utc>, String)> = on_conn!(db, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(&e.uscc)
            .fetch_all(c)
            .await?);
    let mut by_change: BTreeMap<i64, (DateTime<Utc>, Vec<String>)> = BTreeMap::new();
    for (tp, at, field) in rows {
        let slot = by_change.entry(tp).or_insert((at, Vec::new()));
        if !slot.1.contains(&field) {
            slot.1.push(field);
        }
    }
    let mut versions = vec![LicenceVersion {
        version: 1,
        issued_at: e.created_at,
        fields: Vec::new(),
    }];
    for (n, (_, (at, fields))) in by_change.into_iter().enumerate() {
        versions.push(LicenceVersion {
            version: n as u32 + 2,
            issued_at: at,
            fields,
        });
    }
    let last = versions.last().cloned().unwrap_or(LicenceVersion {
        version: 1,
        issued_at: e.created_at,
        fields: Vec::new(),
    });
    Ok(Licence {
        version: last.version,
        issued_at: last.issued_at,
        versions,
    })
}

/// The signed code of the current licence of `e`.
pub fn code_for(e: &Entity, licence: &Licence, keys: &Keyring) -> Result<EnterpriseCode, AppError> {
    EnterpriseCode::sign(
        Claims {
            uscc: e.uscc.clone(),
            name: e.name.clone(),
            licence_version: licence.version,
            issued_at: licence.issued_at,
        },
        keys,
    )
    .ok_or_else(|| {
        AppError::Internal(anyhow::anyhow!(
            "entity {}: the licence cannot be packed into a code",
            e.uscc
        ))
    })
}

/// What the verify page says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The signature does not verify, or no published key has its id.
    NotAuthentic,
    /// Authentic, but no entity with this code is registered here.
    UnknownEntity,
    Deregistered,
    Revoked,
    MovedOut,
    Suspended,
    /// Authentic, active, but the licence has had a newer version since.
    Changed,
    /// Authentic, active and the current version.
    Current,
}

impl Verdict {
    /// Whether the code proves a licence in force right now.
    pub fn is_current(self) -> bool {
        self == Verdict::Current
    }

    /// The message people read (Chinese, then English).
    pub fn message(self) -> &'static str {
        match self {
            Verdict::NotAuthentic => {
                "此码不是本平台签发的真实营业执照码，请勿相信 (this code is not authentic: it was not issued by this platform)"
            }
            Verdict::UnknownEntity => {
                "此码签名真实，但本平台没有该主体的登记记录 (the code is authentic, but no such entity is registered here)"
            }
            Verdict::Deregistered => {
                "此码对应的营业执照已注销 (the licence of this code was deregistered)"
            }
            Verdict::Revoked => "此码对应的营业执照已吊销 (the licence of this code was revoked)",
            Verdict::MovedOut => {
                "此码对应的主体已迁出本登记机关 (the entity of this code moved to another registry)"
            }
            Verdict::Suspended => "此码对应的营业执照已歇业 (the entity of this code is suspended)",
            Verdict::Changed => {
                "此码对应的营业执照已变更，请以现行营业执照为准 (the licence of this code has been changed; a newer licence is in force)"
            }
            Verdict::Current => {
                "真实有效：此码对应现行营业执照，主体存续 (authentic and current: the licence in force, entity active)"
            }
        }
    }
}

/// The result of checking a code against the published keys and the current record.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub verdict: Verdict,
    pub authentic: bool,
    pub current: bool,
    pub message: &'static str,
    /// What the code says (only when it is authentic: a forged code's claims are not shown).
    pub claims: Option<Claims>,
    pub key_id: String,
    /// The signing key has since been retired (the code stays authentic).
    pub key_retired: bool,
    /// The record as it is now (when the code is authentic and the entity known).
    pub entity: Option<PublicEntity>,
    pub licence: Option<Licence>,
    /// Licence items changed since the code's version.
    pub changed_fields: Vec<String>,
}

/// Checks a decoded code: signature by key id against the published keys, then the record.
pub async fn check(db: &Db, code: &EnterpriseCode) -> Result<Check, AppError> {
    let verification =
        signing::verify(db, code.key_id, &code.signed_message(), &code.signature).await?;
    let mut out = Check {
        verdict: Verdict::NotAuthentic,
        authentic: false,
        current: false,
        message: Verdict::NotAuthentic.message(),
        claims: None,
        key_id: code.key_id.to_string(),
        key_retired: false,
        entity: None,
        licence: None,
        changed_fields: Vec::new(),
    };
    let Verification::Valid { retired } = verification else {
        return Ok(out);
    };
    out.authentic = true;
    out.key_retired = retired;
    out.claims = Some(code.claims.clone());
    let entity = match crate::store::get_public(db, &code.claims.uscc).await {
        Ok(e) => e,
        Err(AppError::NotFound) => {
            out.verdict = Verdict::UnknownEntity;
            out.message = out.verdict.message();
            return Ok(out);
        }
        Err(e) => return Err(e),
    };
    let licence = licence_of(db, &entity).await?;
    out.verdict = match entity.status {
        Status::Deregistered => Verdict::Deregistered,
        Status::Revoked => Verdict::Revoked,
        Status::MovedOut => Verdict::MovedOut,
        Status::Suspended => Verdict::Suspended,
        Status::Active if code.claims.licence_version < licence.version => Verdict::Changed,
        Status::Active if code.claims.licence_version == licence.version => Verdict::Current,
        // A version beyond the record's cannot have been issued by this record: a database
        // restored from an old backup, or a mix-up of deployments. It is not current.
        Status::Active => Verdict::UnknownEntity,
    };
    out.current = out.verdict.is_current();
    out.message = out.verdict.message();
    out.changed_fields = licence.changed_since(code.claims.licence_version);
    out.entity = Some(PublicEntity::from(&entity));
    out.licence = Some(licence);
    Ok(out)
}
