//! The exchange context in the server: its delivery follower (`exchange.deliveries`, which
//! needs the signing key) and its sender start beside the other workers; the tax agency
//! becomes the annual reports' `TaxDataSource`.
//!
//! The sender's pacing is [`sender_options`]: the defaults of
//! `amr_exchange::delivery::SenderOptions`, with `AMR_EXCHANGE_STUCK_AFTER_SECS` (when a
//! delivery without a final answer is escalated; default 24 h) and
//! `AMR_EXCHANGE_BACKOFF_MS` (the first retry's wait; default 2 s) and `AMR_EXCHANGE_CA_FILE`
//! (extra trusted roots, PEM, for https agency endpoints) read from the environment;
//! tests set them in-process with [`set_sender_options`].

use std::sync::{Arc, Mutex};
use std::time::Duration;

use amr_exchange::delivery::{self, DeliveryFollower, SenderOptions};
use amr_kernel::outbound::Outbound;
use amr_kernel::sharing::{EntityFactsSource, FactsFuture, SharedFacts};
use amr_kernel::signing::Keyring;
use amr_kernel::tax::TaxDataSource;
use amr_web::AppState;
use tokio::sync::watch;

static OPTIONS: Mutex<Option<SenderOptions>> = Mutex::new(None);

/// Replaces the sender options of servers started after this call (tests, benchmarks).
pub fn set_sender_options(opts: SenderOptions) {
    if let Ok(mut o) = OPTIONS.lock() {
        *o = Some(opts);
    }
}

/// The sender options in force.
pub fn sender_options() -> SenderOptions {
    if let Some(o) = OPTIONS.lock().ok().and_then(|o| o.clone()) {
        return o;
    }
    let mut o = SenderOptions::default();
    let env = |k: &str| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
    };
    if let Some(s) = env("AMR_EXCHANGE_STUCK_AFTER_SECS") {
        o.stuck_after = Duration::from_secs(s.max(1));
    }
    if let Some(ms) = env("AMR_EXCHANGE_BACKOFF_MS") {
        o.base_backoff = Duration::from_millis(ms.max(1));
    }
    if let Some(f) = std::env::var_os("AMR_EXCHANGE_CA_FILE").filter(|f| !f.is_empty()) {
        o.ca_file = Some(f.into());
    }
    o
}

static BANK_PUSH_EVERY: Mutex<Option<Option<Duration>>> = Mutex::new(None);

/// Replaces the schedule of bank pushes of servers started after this call (`None`: no
/// scheduled pushes; tests run them on demand).
pub fn set_bank_push_every(every: Option<Duration>) {
    if let Ok(mut o) = BANK_PUSH_EVERY.lock() {
        *o = Some(every);
    }
}

/// How often each bank gets a scheduled push: `AMR_BANK_PUSH_EVERY_SECS` (0 = never),
/// default daily.
pub fn bank_push_every() -> Option<Duration> {
    if let Some(o) = BANK_PUSH_EVERY.lock().ok().and_then(|o| *o) {
        return o;
    }
    match std::env::var("AMR_BANK_PUSH_EVERY_SECS")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
    {
        Some(0) => None,
        Some(s) => Some(Duration::from_secs(s.max(60))),
        None => Some(Duration::from_secs(24 * 3600)),
    }
}

/// The exchange's HTTP(S) client for the sender options in force (a CA file that cannot be
/// used, `AMR_EXCHANGE_CA_FILE`, is an error naming it). The server builds it once, before
/// any worker starts, for the sender and the tax source.
pub fn http_client() -> Result<Outbound, amr_kernel::error::AppError> {
    let opts = sender_options();
    delivery::http_client(opts.timeout, opts.ca_file.as_deref())
}

/// Starts the delivery follower, the sender (with `client`) and the scheduled bank pushes.
pub fn spawn(
    state: &AppState,
    keys: Arc<Keyring>,
    client: Outbound,
    shutdown: watch::Receiver<bool>,
) {
    let opts = sender_options();
    if let Some(every) = bank_push_every() {
        let today = state.config.fixed_today;
        tokio::spawn(amr_exchange::bank::push::run_schedule(
            state.db.clone(),
            keys.clone(),
            facts_source(state.db.clone()),
            every,
            today,
            shutdown.clone(),
        ));
    }
    tokio::spawn(amr_kernel::events::runner::run(
        state.db.clone(),
        DeliveryFollower { keys },
        amr_kernel::events::runner::RunnerOptions::default(),
        shutdown.clone(),
    ));
    tokio::spawn(delivery::run_sender_with(
        state.db.clone(),
        opts,
        client,
        shutdown,
    ));
}

/// The annual reports' source of tax figures: the registered tax agency through the exchange,
/// asked through `client` ([`http_client`]).
pub fn tax_source(
    db: amr_kernel::db::Db,
    keys: Arc<Keyring>,
    client: Outbound,
) -> Arc<dyn TaxDataSource> {
    Arc::new(amr_exchange::tax::ExchangeTaxSource::new(db, keys, client))
}

/// The exchange's bank push reads the facts of consenting enterprises here: the registry's
/// facts (`amr_registry::store::facts`) and the credit-risk class
/// (`amr_supervision::risk::store`, B when not scored), so the exchange imports neither.
#[derive(Debug, Clone)]
pub struct SharingFacts {
    pub db: amr_kernel::db::Db,
}

impl EntityFactsSource for SharingFacts {
    fn facts_of<'a>(&'a self, usccs: &'a [String]) -> FactsFuture<'a> {
        Box::pin(async move {
            let refs: Vec<&str> = usccs.iter().map(String::as_str).collect();
            let facts = amr_registry::store::facts::facts_of_many(&self.db, &refs).await?;
            let found: Vec<&str> = facts.iter().map(|f| f.uscc.as_str()).collect();
            let classes = amr_supervision::risk::store::classes_of_many(&self.db, &found).await?;
            Ok(facts
                .into_iter()
                .map(|f| SharedFacts {
                    industry_section: amr_supervision::risk::model::section_of(&f.industry),
                    risk_class: classes.get(&f.uscc).map_or("B", |c| c.as_str()).to_string(),
                    uscc: f.uscc,
                    name: f.name,
                    entity_type: f.entity_type,
                    industry: f.industry,
                    division: f.division,
                    established: f.established,
                    status: f.status,
                    abnormal_list: f.abnormal_list,
                })
                .collect())
        })
    }
}

/// The facts port of the bank push, over `db`.
pub fn facts_source(db: amr_kernel::db::Db) -> Arc<dyn EntityFactsSource> {
    Arc::new(SharingFacts { db })
}
