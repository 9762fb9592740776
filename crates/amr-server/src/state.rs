//! The state every handler shares, and the background workers started with the server.

use std::sync::Arc;

use amr_kernel::db::Db;
use tokio::sync::watch;

use crate::config::ServerConfig;
use crate::web::templates::Templates;

#[derive(Clone, Debug)]
pub struct AppState {
    pub db: Db,
    pub config: Arc<ServerConfig>,
    pub templates: Arc<Templates>,
    /// Turns true when the server is stopping; long-lived responses end on it.
    pub shutdown: watch::Receiver<bool>,
}

impl AppState {
    pub fn new(db: Db, config: ServerConfig) -> AppState {
        AppState {
            db,
            config: Arc::new(config),
            templates: Arc::new(Templates::new()),
            shutdown: watch::channel(false).1,
        }
    }

    pub(crate) fn with_shutdown(mut self, rx: watch::Receiver<bool>) -> AppState {
        self.shutdown = rx;
        self
    }
}

/// Starts the housekeeping that runs beside the server.
pub(crate) fn spawn_workers(state: &AppState, mut shutdown: watch::Receiver<bool>) {
    let db = state.db.clone();
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
