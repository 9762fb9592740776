//! The registry's facts about entities, as the target library and the credit-risk model need
//! them. The supervision context does not read the registry's tables: it asks a
//! [`RegistrySource`], which the server implements over the registry and wires at start-up.

use std::future::Future;
use std::pin::Pin;

use chrono::NaiveDate;
use serde::Serialize;

use amr_kernel::error::AppError;

/// What the registry says about one entity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EntityFacts {
    pub uscc: String,
    pub name: String,
    /// The domicile's division code (6-digit county or 9-digit town).
    pub division: String,
    /// `enterprise`, `individual`, `cooperative`, `branch`.
    pub entity_type: String,
    /// GB/T 4754 class code (4 digits).
    pub industry: String,
    /// `active`, `suspended`, `deregistered`, ... as the registry stores it.
    pub status: String,
    pub established: NaiveDate,
    /// On the abnormal-operation list (经营异常名录).
    pub abnormal_list: bool,
    /// On the serious-violation list (严重违法失信名单).
    pub serious_list: bool,
}

pub type SourceFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, AppError>> + Send + 'a>>;

/// Read access to the registry, wired by the server.
pub trait RegistrySource: Send + Sync + std::fmt::Debug {
    /// One page of entities whose division starts with `scope`, in `(division, uscc)` order,
    /// after the key `after` (exclusive), at most `limit` of them. Every status is returned;
    /// the caller filters.
    fn page<'a>(
        &'a self,
        scope: &'a str,
        after: Option<(&'a str, &'a str)>,
        limit: usize,
    ) -> SourceFuture<'a, Vec<EntityFacts>>;

    /// One entity, or `None`.
    fn get<'a>(&'a self, uscc: &'a str) -> SourceFuture<'a, Option<EntityFacts>>;

    /// The entities of `usccs` that exist (any order; unknown codes left out), read in a few
    /// queries however many there are.
    fn get_many<'a>(&'a self, usccs: &'a [&'a str]) -> SourceFuture<'a, Vec<EntityFacts>>;
}
