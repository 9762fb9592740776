//! How the supervision context reads the registry: [`RegistryFacts`] implements
//! `amr_supervision::targets::RegistrySource` over `amr_registry::store::facts`.

use amr_kernel::db::Db;
use amr_registry::store::facts::{self, Facts};
use amr_supervision::targets::{EntityFacts, RegistrySource, SourceFuture};

/// The registry as the supervision context's source of entity facts.
#[derive(Debug, Clone)]
pub struct RegistryFacts {
    pub db: Db,
}

fn convert(f: Facts) -> EntityFacts {
    EntityFacts {
        uscc: f.uscc,
        name: f.name,
        division: f.division,
        entity_type: f.entity_type,
        industry: f.industry,
        status: f.status,
        established: f.established,
        abnormal_list: f.abnormal_list,
        serious_list: f.serious_list,
    }
}

impl RegistrySource for RegistryFacts {
    fn page<'a>(
        &'a self,
        scope: &'a str,
        after: Option<(&'a str, &'a str)>,
        limit: usize,
    ) -> SourceFuture<'a, Vec<EntityFacts>> {
        Box::pin(async move {
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            let rows = facts::facts_page(&self.db, scope, after, limit).await?;
            Ok(rows.into_iter().map(convert).collect())
        })
    }

    fn get<'a>(&'a self, uscc: &'a str) -> SourceFuture<'a, Option<EntityFacts>> {
        Box::pin(async move { Ok(facts::facts_of(&self.db, uscc).await?.map(convert)) })
    }

    fn get_many<'a>(&'a self, usccs: &'a [&'a str]) -> SourceFuture<'a, Vec<EntityFacts>> {
        Box::pin(async move {
            let rows = facts::facts_of_many(&self.db, usccs).await?;
            Ok(rows.into_iter().map(convert).collect())
        })
    }
}
