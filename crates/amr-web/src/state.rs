//! The state every handler shares, and the background workers started with the server.

use std::sync::Arc;

use amr_kernel::db::Db;
use tokio::sync::watch;

use crate::config::ServerConfig;
use crate::panels::{EntityPanel, PortalLink};
use crate::templates::{Templates, WebModule};

#[derive(Clone, Debug)]
pub struct AppState {
    pub db: Db,
    pub config: Arc<ServerConfig>,
    pub templates: Arc<Templates>,
    /// Turns true when the server is stopping; long-lived responses end on it.
    pub shutdown: watch::Receiver<bool>,
    /// Sections other crates add to the public entity page (see [`crate::panels`]).
    pub panels: Arc<Vec<Arc<dyn EntityPanel>>>,
    /// Pages of other crates the enterprise portal links to (see [`crate::panels::PortalLink`]).
    pub portal_links: Arc<Vec<PortalLink>>,
}

impl AppState {
    /// A state whose pages are the shell's plus those of `modules`.
    pub fn new(db: Db, config: ServerConfig, modules: &[WebModule]) -> AppState {
        AppState {
            db,
            config: Arc::new(config),
            templates: Arc::new(Templates::new(modules)),
            shutdown: watch::channel(false).1,
            panels: Arc::new(Vec::new()),
            portal_links: Arc::new(Vec::new()),
        }
    }

    /// The state with these entity-page panels (registered by the server at start-up).
    pub fn with_panels(mut self, panels: Vec<Arc<dyn EntityPanel>>) -> AppState {
        self.panels = Arc::new(panels);
        self
    }

    /// The state with these enterprise-portal links (registered by the server at start-up).
    pub fn with_portal_links(mut self, links: Vec<PortalLink>) -> AppState {
        self.portal_links = Arc::new(links);
        self
    }

    pub fn with_shutdown(mut self, rx: watch::Receiver<bool>) -> AppState {
        self.shutdown = rx;
        self
    }
}
