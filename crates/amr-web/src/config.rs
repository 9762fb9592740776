//! Settings the server runs with (parsed and merged by the CLI from flags, environment and
//! the TOML file).

use std::time::Duration;

/// How the `Secure` attribute of cookies is decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CookieSecure {
    /// Secure when the request arrived over HTTPS (directly or per `X-Forwarded-Proto` from
    /// a trusted proxy) or when the public URL is https.
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The address people open (printed at start-up, used in links).
    pub public_url: Option<String>,
    pub cookie_secure: CookieSecure,
    pub session_ttl: Duration,
    /// Failed logins per username within `throttle_window` before refusing.
    pub max_failures_per_user: i64,
    /// Failed logins per client address within `throttle_window` before refusing.
    pub max_failures_per_ip: i64,
    pub throttle_window: Duration,
    pub max_body_bytes: usize,
    /// Trust `X-Forwarded-For` / `X-Forwarded-Proto` (only behind a proxy you run).
    pub trust_proxy: bool,
    /// How often the public stream sends a heartbeat line while idle.
    pub stream_heartbeat: Duration,
    /// Where the entity search index lives (one writing process per folder).
    pub search_dir: std::path::PathBuf,
    /// The deployment's secret signing key (created with mode 0600 on first start; see
    /// `amr_kernel::signing`).
    pub signing_key_file: std::path::PathBuf,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            public_url: None,
            cookie_secure: CookieSecure::Auto,
            session_ttl: Duration::from_secs(8 * 3600),
            max_failures_per_user: 5,
            max_failures_per_ip: 30,
            throttle_window: Duration::from_secs(15 * 60),
            max_body_bytes: 2 * 1024 * 1024,
            trust_proxy: false,
            stream_heartbeat: Duration::from_secs(25),
            search_dir: std::path::PathBuf::from("data/search/entities"),
            signing_key_file: std::path::PathBuf::from(amr_kernel::signing::DEFAULT_KEY_FILE),
        }
    }
}
