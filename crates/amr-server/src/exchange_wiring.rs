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

/// Starts the delivery follower and the sender. A CA file that cannot be used
/// (`AMR_EXCHANGE_CA_FILE`) stops the start with the reason.
pub fn spawn(
    state: &AppState,
    keys: Arc<Keyring>,
    shutdown: watch::Receiver<bool>,
) -> Result<(), amr_kernel::error::AppError> {
    let opts = sender_options();
    delivery::http_client(opts.timeout, opts.ca_file.as_deref())?;
    tokio::spawn(amr_kernel::events::runner::run(
        state.db.clone(),
        DeliveryFollower { keys },
        amr_kernel::events::runner::RunnerOptions::default(),
        shutdown.clone(),
    ));
    tokio::spawn(delivery::run_sender(state.db.clone(), opts, shutdown));
    Ok(())
}

/// The annual reports' source of tax figures: the registered tax agency through the exchange.
/// The integrator swaps the registry's default (`NoTaxData`) for this one with
/// `exchange_wiring::tax_source(state.db.clone(), keys.clone())?` (an unusable `AMR_EXCHANGE_CA_FILE` is an error).
pub fn tax_source(
    db: amr_kernel::db::Db,
    keys: Arc<Keyring>,
) -> Result<Arc<dyn TaxDataSource>, amr_kernel::error::AppError> {
    let opts = sender_options();
    Ok(Arc::new(amr_exchange::tax::ExchangeTaxSource::new(
        db,
        keys,
        opts.ca_file.as_deref(),
    )?))
}
