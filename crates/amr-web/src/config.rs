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
    /// The credential registry that verifies Hong Kong investors' identities
    /// (`amr_registry::identity`).
    pub identity_verifier: IdentityVerifierConfig,
    /// A fixed day that statutory deadlines count from instead of today in China (tests and
    /// training deployments that replay a period; `None` in production).
    pub fixed_today: Option<chrono::NaiveDate>,
}

/// Which identity verifier the server asks (built by `amr_registry::identity::verifier`).
#[derive(Clone, Default, PartialEq)]
pub enum IdentityVerifierConfig {
    /// None configured: verification answers "unavailable".
    #[default]
    None,
    /// The demo's synthetic identities, embedded (never a production setting).
    Demo,
    /// A table of known identities read from a CSV file.
    Local { file: std::path::PathBuf },
    /// The credential registry's HTTP endpoint.
    Http {
        url: String,
        /// Sent as `Authorization: Bearer ...`.
        api_key: Option<String>,
        timeout: Duration,
        /// Extra trusted root certificates (PEM), for a registry on a private CA.
        ca_file: Option<std::path::PathBuf>,
    },
}

impl std::fmt::Debug for IdentityVerifierConfig {
    /// Never prints the API key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IdentityVerifierConfig::None => f.write_str("None"),
            IdentityVerifierConfig::Demo => f.write_str("Demo"),
            IdentityVerifierConfig::Local { file } => {
                f.debug_struct("Local").field("file", file).finish()
            }
            IdentityVerifierConfig::Http {
                url,
                api_key,
                timeout,
                ca_file,
            } => f
                .debug_struct("Http")
                .field("url", url)
                .field("api_key", &api_key.as_ref().map(|_| "***"))
                .field("timeout", timeout)
                .field("ca_file", ca_file)
                .finish(),
        }
    }
}

impl ServerConfig {
    /// The server's day: its fixed day when it has one (tests, training deployments), else
    /// today in China. Deadlines, windows and sweeps count from it.
    pub fn today(&self) -> chrono::NaiveDate {
        self.fixed_today.unwrap_or_else(amr_kernel::matter::today)
    }
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
            identity_verifier: IdentityVerifierConfig::None,
            fixed_today: None,
        }
    }
}
