//! Accounts, roles, jurisdiction scopes, sessions and API keys.
//!
//! - [`Role`]: administrator, officer, enterprise user. What each may do is [`Permission`].
//! - [`Scope`]: the division-code prefix every officer and administrator query is filtered by,
//!   in the store, so a forgotten check in a handler cannot leak another region's records.
//! - [`store`]: one function per use case over both backends.
//! - Passwords are hashed with argon2id ([`password`]); session and key tokens are random and
//!   stored only as SHA-256 hashes.

pub mod password;
pub mod store;

use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// What an account is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Manages accounts and reads the audit log within its jurisdiction.
    Admin,
    /// A market-regulation officer of a department, within a jurisdiction.
    Officer,
    /// A user acting for one business entity (bound to its USCC).
    Enterprise,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Officer => "officer",
            Role::Enterprise => "enterprise",
        }
    }

    pub fn parse(s: &str) -> Result<Role, AppError> {
        match s.trim() {
            "admin" => Ok(Role::Admin),
            "officer" => Ok(Role::Officer),
            "enterprise" => Ok(Role::Enterprise),
            other => Err(AppError::bad_request(
                "role",
                format!(
                    "未知角色 {other:?}，应为 admin、officer 或 enterprise \
                     (unknown role; use admin, officer or enterprise)"
                ),
            )),
        }
    }

    /// What this role may do. Jurisdiction narrows every one of these further.
    pub fn permissions(self) -> &'static [Permission] {
        match self {
            Role::Admin => &[
                Permission::ManageAccounts,
                Permission::ReadAudit,
                Permission::ReadEvents,
                Permission::ReadRecords,
                Permission::ManageApiKeys,
            ],
            Role::Officer => &[
                Permission::ReadEvents,
                Permission::ReadRecords,
                Permission::ExamineRegistrations,
                Permission::RecordLifecycle,
                Permission::ManageInspections,
                Permission::ManageInspectionPlans,
            ],
            Role::Enterprise => &[Permission::ActForEntity],
        }
    }

    pub fn can(self, p: Permission) -> bool {
        self.permissions().contains(&p)
    }
}

/// A capability a role grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    ManageAccounts,
    ManageApiKeys,
    ReadAudit,
    ReadEvents,
    /// Read the full records (registry and the rest) within the jurisdiction.
    ReadRecords,
    /// Examine registration filings (approve or return) within the jurisdiction.
    ExamineRegistrations,
    /// Record and decide lifecycle acts within the jurisdiction: suspensions, premises and
    /// deregistrations on an entity's behalf, deregistration decisions, objections, flags.
    RecordLifecycle,
    /// Keep the random-inspection library within the jurisdiction: items, inspectors,
    /// conflicts, target tags.
    ManageInspections,
    /// Build, publish and draw random-inspection plans (双随机) within the jurisdiction.
    ManageInspectionPlans,
    ActForEntity,
}

impl Permission {
    pub fn key(self) -> &'static str {
        match self {
            Permission::ManageAccounts => "manage_accounts",
            Permission::ManageApiKeys => "manage_api_keys",
            Permission::ReadAudit => "read_audit",
            Permission::ReadEvents => "read_events",
            Permission::ReadRecords => "read_records",
            Permission::ExamineRegistrations => "examine_registrations",
            Permission::RecordLifecycle => "record_lifecycle",
            Permission::ManageInspections => "manage_inspections",
            Permission::ManageInspectionPlans => "manage_inspection_plans",
            Permission::ActForEntity => "act_for_entity",
        }
    }
}

/// A jurisdiction filter: a division-code prefix ("" = the whole country).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Scope {
    prefix: Option<String>,
}

impl Scope {
    /// Everything (national administrators, the system itself).
    pub fn all() -> Scope {
        Scope {
            prefix: Some(String::new()),
        }
    }

    /// Nothing region-bound (enterprise users, whose access goes by their entity instead).
    pub fn none() -> Scope {
        Scope { prefix: None }
    }

    /// Records whose division code starts with `prefix` (already validated, e.g. by
    /// `codes::division::Jurisdiction`).
    pub fn prefix(prefix: &str) -> Scope {
        Scope {
            prefix: Some(prefix.to_string()),
        }
    }

    pub fn as_prefix(&self) -> Option<&str> {
        self.prefix.as_deref()
    }

    /// Whether a record with this division code is within the scope.
    pub fn contains(&self, division: Option<&str>) -> bool {
        match (&self.prefix, division) {
            (Some(p), _) if p.is_empty() => true,
            (Some(p), Some(d)) => d.starts_with(p.as_str()),
            _ => false,
        }
    }

    /// Whether every record of `other` is within this scope.
    pub fn covers(&self, other_prefix: &str) -> bool {
        match &self.prefix {
            Some(p) => other_prefix.starts_with(p.as_str()),
            None => false,
        }
    }

    /// The SQL condition on `column`, with the pattern bound as parameter `$n`
    /// (bind [`Scope::like_pattern`] there).
    pub fn division_filter(&self, column: &str, n: usize) -> String {
        format!("(${n} = '%' OR {column} LIKE ${n})")
    }

    /// The LIKE pattern for [`Scope::division_filter`]. Division codes are digits only, so
    /// no escaping is needed; a scope of nothing gets a pattern no code matches.
    pub fn like_pattern(&self) -> String {
        match &self.prefix {
            Some(p) => format!("{p}%"),
            None => "-".to_string(),
        }
    }
}
