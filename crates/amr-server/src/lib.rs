//! The AMR HTTP server: the JSON API under `/api/v1`, the server-rendered pages, sessions and
//! API keys, and the wiring of the contexts and their event consumers at start-up.
#![forbid(unsafe_code)]

pub mod address_wiring;
pub mod api;
pub mod consumer_wiring;
pub mod exchange_wiring;
pub mod supervision_wiring;
pub mod web;

use std::net::SocketAddr;

use std::sync::Arc;

use amr_registry::search::{EntityIndex, SearchFollower};
use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::watch;

pub use amr_web::{AppState, ServerConfig, WebModule, config};

use amr_kernel::error::AppError;
use amr_kernel::signing::Keyring;

/// Every crate's migrations, in the order they apply (the kernel's first).
pub fn migration_sets() -> Vec<amr_kernel::db::MigrationSet> {
    vec![
        amr_kernel::db::kernel_migrations(),
        amr_registry::migrations(),
        amr_address::schema::migrations(),
        amr_supervision::migrations(),
        amr_consumer::migrations(),
        amr_exchange::migrations(),
    ]
}

/// Every crate's pages (templates and texts), for the shell.
pub fn web_modules() -> Vec<WebModule> {
    let mut modules = vec![
        web::module(),
        amr_registry::web::module(),
        amr_registry::web::licence_module(),
        amr_address::schema::module(),
    ];
    modules.extend(amr_registry::web::more_modules());
    modules.extend(amr_supervision::web::modules());
    modules.extend(amr_consumer::modules());
    modules.push(amr_exchange::web::module());
    modules
}

/// A state over `db` with every crate's pages, entity-page panels and portal links.
pub fn app_state(db: amr_kernel::db::Db, config: ServerConfig) -> AppState {
    AppState::new(db, config, &web_modules())
        .with_panels(entity_panels())
        .with_portal_links(portal_links())
}

/// The pages of other crates the enterprise portal (the registry's `/portal/entities/{uscc}`)
/// links to, in the order shown.
pub fn portal_links() -> Vec<amr_web::panels::PortalLink> {
    amr_consumer::portal_links()
}

/// The sections other crates add to the public entity page, in the order shown.
pub fn entity_panels() -> Vec<Arc<dyn amr_web::panels::EntityPanel>> {
    let mut panels = Vec::new();
    panels.extend(amr_supervision::web::entity_panels());
    panels.extend(amr_consumer::entity_panels());
    panels
}

/// The ports the server wires into the contexts from outside them. Today: the tax agency
/// that prefills annual reports (the default here is `NoTaxData`; a started server uses the
/// exchange's tax agency unless it is given ports).
#[derive(Debug, Clone)]
pub struct Ports {
    pub tax: Arc<dyn amr_kernel::tax::TaxDataSource>,
}

impl Default for Ports {
    fn default() -> Ports {
        Ports {
            tax: Arc::new(amr_kernel::tax::NoTaxData),
        }
    }
}

/// Builds the whole router over a state, the open search index and the signing key, with the
/// default ports.
pub fn router(state: AppState, index: Arc<EntityIndex>, keys: Arc<Keyring>) -> Router {
    router_with(state, index, keys, Ports::default())
}

/// Builds the whole router with the given ports.
pub fn router_with(
    state: AppState,
    index: Arc<EntityIndex>,
    keys: Arc<Keyring>,
    ports: Ports,
) -> Router {
    // The credential registry for Hong Kong investors, as configured (a configuration that
    // fails answers "unavailable"; the CLI refuses to start with one).
    let verifier = amr_registry::identity::verifier::from_config_or_unavailable(
        &state.config.identity_verifier,
    );
    let supervision = amr_supervision::web::Deps {
        registry: Arc::new(supervision_wiring::RegistryFacts {
            db: state.db.clone(),
        }),
    };
    let bank = amr_exchange::bank::web::Deps {
        facts: exchange_wiring::facts_source(state.db.clone()),
        keys: keys.clone(),
    };
    let consumer = amr_consumer::complaint::Deps {
        registry: Arc::new(consumer_wiring::RegistryDirectory {
            db: state.db.clone(),
        }),
        intake: amr_consumer::complaint::flow::IntakeWriter::with_max_batch(
            state.db.clone(),
            consumer_wiring::intake_max_batch(),
        ),
    };
    Router::new()
        .merge(api::routes())
        .merge(amr_supervision::web::api_routes(supervision.clone()))
        .merge(amr_registry::web::api_routes())
        .merge(amr_consumer::api_routes(consumer.clone()))
        .merge(amr_address::web::api_routes())
        .merge(amr_address::api::routes())
        .merge(amr_exchange::web::api_routes())
        .merge(amr_exchange::bank::web::api_routes(bank.clone()))
        .merge(
            amr_exchange::web::page_routes()
                .merge(amr_exchange::bank::web::page_routes(bank))
                .layer(axum::middleware::from_fn(amr_web::page::page_frame)),
        )
        .merge(amr_registry::web::search_api_routes(index.clone()))
        .merge(amr_registry::web::registration_api_routes(index.clone()))
        .merge(amr_registry::web::licence_api_routes(keys.clone()))
        .merge(amr_registry::web::identity_api_routes(verifier.clone()))
        .merge(amr_registry::web::annual_api_routes(ports.tax.clone()))
        .merge(web::routes(
            index,
            keys,
            verifier,
            supervision,
            consumer,
            ports.tax,
        ))
        .layer(tower_http::limit::RequestBodyLimitLayer::new(
            state.config.max_body_bytes,
        ))
        .layer(axum::middleware::from_fn(amr_web::error::log_server_errors))
        .with_state(state)
}

/// A running server: its address and the switch that stops it.
#[derive(Debug)]
pub struct Running {
    pub addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    handle: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Running {
    /// Stops accepting, lets open requests finish (long-lived streams end), stops workers.
    pub async fn stop(self) -> std::io::Result<()> {
        let _ = self.shutdown.send(true);
        self.handle.await.unwrap_or(Ok(()))
    }

    /// Waits until the server stops by itself (it does not, unless it fails).
    pub async fn wait(self) -> std::io::Result<()> {
        self.handle.await.unwrap_or(Ok(()))
    }

    pub fn shutdown_switch(&self) -> watch::Sender<bool> {
        self.shutdown.clone()
    }
}

/// Binds `listen` and serves `state` until stopped; background workers start with it. The
/// signing key is opened from `signing_key_file` (created and published on first run).
/// Annual reports get their tax figures from the tax agency registered in the exchange
/// (`exchange_wiring::tax_source`).
pub async fn start(state: AppState, listen: &str) -> Result<Running, AppError> {
    start_on(state, listen, None).await
}

/// [`start`] with the given ports (e.g. a tax agency of a test).
pub async fn start_with(state: AppState, listen: &str, ports: Ports) -> Result<Running, AppError> {
    start_on(state, listen, Some(ports)).await
}

async fn start_on(
    state: AppState,
    listen: &str,
    ports: Option<Ports>,
) -> Result<Running, AppError> {
    let listener = TcpListener::bind(listen).await.map_err(|e| {
        AppError::config("listen", format!("无法监听 {listen} (cannot listen): {e}"))
    })?;
    let addr = listener
        .local_addr()
        .map_err(|e| AppError::Internal(e.into()))?;
    // A bulk load that did not finish leaves the registry's secondary indexes dropped.
    if amr_registry::store::ensure_indexes(&state.db).await? {
        tracing::warn!("registry indexes were missing (an unfinished bulk load) and were rebuilt");
    }
    // An index built by an earlier version is rebuilt here, before the server answers.
    let index =
        Arc::new(amr_registry::search::open_current(&state.db, &state.config.search_dir).await?);
    let keys = Arc::new(Keyring::open(&state.db, &state.config.signing_key_file).await?);
    // Complaint deadlines count in the database's calendar (imported years included).
    amr_consumer::complaint::load_calendar(&state.db).await?;
    tracing::info!(key_id = %keys.key_id(), "signing key loaded");
    // The exchange's client, built once for the sender and the tax source (a bad
    // `AMR_EXCHANGE_CA_FILE` stops the start before any worker runs). Without ports given,
    // annual reports ask the tax agency registered in the exchange.
    let exchange_client = exchange_wiring::http_client()?;
    let ports = ports.unwrap_or_else(|| Ports {
        tax: exchange_wiring::tax_source(state.db.clone(), keys.clone(), exchange_client.clone()),
    });
    let (tx, rx) = watch::channel(false);
    let state = state.with_shutdown(rx.clone());
    exchange_wiring::spawn(&state, keys.clone(), exchange_client, rx.clone());
    spawn_workers(&state, index.clone(), rx.clone());
    api::log::spawn_follower(&state, keys.clone(), rx.clone());
    let app =
        router_with(state, index, keys, ports).into_make_service_with_connect_info::<SocketAddr>();
    let mut stop = rx;
    let handle = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stop.wait_for(|v| *v).await;
            })
            .await
    });
    Ok(Running {
        addr,
        shutdown: tx,
        handle,
    })
}

/// The automatic end of suspensions: at start (catching up on every period that ended while
/// the server was down), on the server's day (its fixed day when set), then every minute (5 s after a failed sweep) and soon after any
/// commit of this process (at most once a second), entities whose suspension period has ended are resumed
/// (`amr_registry::lifecycle::suspension::resume_expired`, idempotent, one transaction each).
async fn lifecycle_sweeper(
    db: amr_kernel::db::Db,
    fixed_today: Option<chrono::NaiveDate>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut commits = amr_kernel::events::subscribe();
    loop {
        let today = fixed_today.unwrap_or_else(amr_kernel::matter::today);
        // After a failure (the database busy or away) the next try comes in 5 s, not 60.
        let mut pause = std::time::Duration::from_secs(60);
        match amr_registry::lifecycle::suspension::resume_expired(&db, today).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(resumed = n, "suspension periods ended"),
            Err(e) => {
                tracing::warn!(error = %e, "resuming ended suspensions failed");
                pause = std::time::Duration::from_secs(5);
            }
        }
        let woken = tokio::select! {
            _ = tokio::time::sleep(pause) => false,
            _ = commits.changed() => true,
            _ = shutdown.wait_for(|v| *v) => return,
        };
        if woken {
            // At most one sweep a second, however many commits.
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        }
    }
}

/// The abnormal-operation list's daily work (`amr_registry::abnormal::store::sweep`,
/// idempotent): the listing of entities without last year's report from its decision day, the
/// 3-year warnings and the transfers to the serious-violation list. At start, then every hour
/// (a minute after a failed run). The day is the server's (`fixed_today` when set); the
/// working-day calendar is read from the database at each run (imported years included).
async fn abnormal_sweeper(
    db: amr_kernel::db::Db,
    fixed_today: Option<chrono::NaiveDate>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let today = fixed_today.unwrap_or_else(amr_kernel::matter::today);
        let mut pause = std::time::Duration::from_secs(3600);
        let run = async {
            let cal = amr_kernel::calendar_store::load(&db).await?;
            amr_registry::abnormal::store::sweep(&db, &cal, today).await
        };
        match run.await {
            Ok(o) if o == Default::default() => {}
            Ok(o) => tracing::info!(
                listed = o.listed,
                warned = o.warned,
                transferred = o.transferred,
                "abnormal-operation list sweep"
            ),
            Err(e) => {
                tracing::warn!(error = %e, "abnormal-operation list sweep failed");
                pause = std::time::Duration::from_secs(60);
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = shutdown.wait_for(|v| *v) => return,
        }
    }
}

/// Starts the workers that run beside the server: the search index and the address risk
/// counts follow the event log, ended suspensions are resumed, ODR complaints past their
/// deadline go to the bureau, and expired sessions are purged.
fn spawn_workers(state: &AppState, index: Arc<EntityIndex>, mut shutdown: watch::Receiver<bool>) {
    let db = state.db.clone();
    tokio::spawn(amr_kernel::events::runner::run(
        db.clone(),
        SearchFollower {
            db: db.clone(),
            index,
        },
        amr_kernel::events::runner::RunnerOptions::default(),
        shutdown.clone(),
    ));
    tokio::spawn(amr_kernel::events::runner::run(
        db.clone(),
        address_wiring::AddressRiskFollower { db: db.clone() },
        amr_kernel::events::runner::RunnerOptions::default(),
        shutdown.clone(),
    ));
    tokio::spawn(lifecycle_sweeper(
        db.clone(),
        state.config.fixed_today,
        shutdown.clone(),
    ));
    tokio::spawn(abnormal_sweeper(
        db.clone(),
        state.config.fixed_today,
        shutdown.clone(),
    ));
    tokio::spawn(consumer_wiring::odr_sweeper(
        db.clone(),
        state.config.fixed_today,
        shutdown.clone(),
    ));
    amr_supervision::risk::follower::spawn(
        db.clone(),
        Arc::new(supervision_wiring::RegistryFacts { db: db.clone() }),
        state.config.fixed_today,
        shutdown.clone(),
    );
    tokio::spawn(async move {
        loop {
            if let Err(e) = amr_kernel::auth::store::purge_expired(&db).await {
                tracing::warn!(error = %e, "purging expired sessions failed");
            }
            tokio::select! {
                _ = tokio::time::sleep(std::time::Duration::from_secs(600)) => {}
                _ = shutdown.wait_for(|v| *v) => return,
            }
        }
    });
}
