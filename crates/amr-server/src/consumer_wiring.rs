//! How the consumer context reads the registry: [`RegistryDirectory`] implements
//! `amr_consumer::complaint::BusinessDirectory` over `amr_registry::store` (a complaint's
//! business looked up by its USCC and routed to the county of its registered domicile; the
//! demo's ODR participants drawn from the enterprises). The ODR sweep runs in the server's
//! housekeeping ([`odr_sweeper`]). The complaint intake's group commit takes at most
//! [`intake_max_batch`] filings a transaction.

use amr_consumer::complaint::{Business, BusinessDirectory, LookupFuture};
use amr_kernel::auth::Scope;
use amr_kernel::db::Db;
use amr_registry::model::{Entity, EntityType, Status};
use amr_registry::store::{self, EntityFilter};
use tokio::sync::watch;

/// The most filings one intake transaction takes: `AMR_INTAKE_MAX_BATCH` (1–1000; 1 turns
/// the grouping off, each filing then commits alone) or
/// `amr_consumer::complaint::flow::group::MAX_BATCH`. A value that is not a whole number in
/// range is logged and the default used.
pub fn intake_max_batch() -> usize {
    let default = amr_consumer::complaint::flow::group::MAX_BATCH;
    match std::env::var("AMR_INTAKE_MAX_BATCH") {
        Err(_) => default,
        Ok(v) => match v.trim().parse::<usize>() {
            Ok(n) if (1..=1000).contains(&n) => n,
            _ => {
                tracing::warn!(
                    value = %v,
                    "AMR_INTAKE_MAX_BATCH 应为 1–1000 的整数，已用默认值 {default} (AMR_INTAKE_MAX_BATCH is a whole number from 1 to 1000; the default is used)"
                );
                default
            }
        },
    }
}

/// The registry as the consumer context's directory of businesses.
#[derive(Debug, Clone)]
pub struct RegistryDirectory {
    pub db: Db,
}

fn convert(e: Entity) -> Business {
    Business {
        active: !matches!(e.status, Status::Deregistered | Status::Revoked),
        uscc: e.uscc,
        name: e.name,
        address: e.address,
        division: e.division,
    }
}

impl BusinessDirectory for RegistryDirectory {
    fn lookup<'a>(&'a self, uscc: &'a str) -> LookupFuture<'a, Option<Business>> {
        Box::pin(async move {
            let found = store::get_many(&self.db, &Scope::all(), &[uscc]).await?;
            Ok(found.into_iter().next().map(convert))
        })
    }

    fn enterprises<'a>(
        &'a self,
        after: Option<&'a str>,
        limit: usize,
    ) -> LookupFuture<'a, Vec<Business>> {
        Box::pin(async move {
            let filter = EntityFilter {
                entity_type: Some(EntityType::Enterprise),
                ..EntityFilter::default()
            };
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            let page = store::list_scoped(&self.db, &Scope::all(), &filter, after, limit).await?;
            Ok(page.into_iter().map(convert).collect())
        })
    }
}

/// The ODR sweep and the escalation: at start, then every 10 minutes, complaints whose
/// business let its 10 working days pass go to the county bureau
/// (`amr_consumer::complaint::flow::sweep_odr`), and consumer matters past a deadline are
/// escalated up the jurisdiction (the kernel's `escalate_overdue` on an engine of every kind
/// in `amr_consumer::matter_kinds`);
/// both idempotent. `fixed_today` is the server's fixed day, if it has one.
pub async fn odr_sweeper(
    db: Db,
    fixed_today: Option<chrono::NaiveDate>,
    mut shutdown: watch::Receiver<bool>,
) {
    // The sweep reads every running clock, so its engine must declare every kind that has
    // matters: all of this context's (complaints, reports, help requests, clause reports).
    // The complaint engine alone would stop at the first overdue clause report.
    let sweep = match amr_kernel::matter::Engine::new(&amr_consumer::matter_kinds()) {
        Ok(e) => e,
        Err(p) => {
            tracing::error!(problems = %p.join("; "), "the consumer matter kinds do not declare");
            return;
        }
    };
    match amr_kernel::calendar_store::load(&db).await {
        Ok(cal) => sweep.set_calendar(cal),
        Err(e) => {
            tracing::warn!(error = %e, "the imported calendar could not be read; the escalation uses the embedded one")
        }
    }
    loop {
        let today = fixed_today.unwrap_or_else(amr_kernel::matter::today);
        let mut pause = std::time::Duration::from_secs(600);
        match amr_consumer::complaint::flow::sweep_odr(&db, today).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                moved = n,
                "ODR complaints past their deadline sent to the bureau"
            ),
            Err(e) => {
                tracing::warn!(error = %e, "the ODR sweep failed");
                pause = std::time::Duration::from_secs(30);
            }
        }
        // Overdue complaints, reports and help requests go up the jurisdiction (督办).
        match sweep.escalate_overdue(&db, today).await {
            Ok(r) if r.escalated > 0 => {
                tracing::info!(
                    escalated = r.escalated,
                    "overdue consumer matters escalated"
                )
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "escalating overdue consumer matters failed");
                pause = std::time::Duration::from_secs(30);
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = shutdown.wait_for(|v| *v) => return,
        }
    }
}
