//! Configuration: command-line flags, then `AMR_...` environment variables, then the TOML
//! file (`--config FILE` or `AMR_CONFIG`), then defaults — in that order of precedence.
//! Every error names the setting at fault.

use std::path::{Path, PathBuf};
use std::time::Duration;

use amr_kernel::error::AppError;
use amr_server::config::{CookieSecure, IdentityVerifierConfig, ServerConfig};
use serde::Deserialize;

pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/amr.db";
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// The settings a TOML file may hold (all optional; unknown keys are errors).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub database_url: Option<String>,
    pub listen: Option<String>,
    pub public_url: Option<String>,
    /// `auto`, `always` or `never`.
    pub cookie_secure: Option<String>,
    pub session_ttl_minutes: Option<u64>,
    pub trust_proxy: Option<bool>,
    pub log: Option<String>,
    pub max_failures_per_user: Option<i64>,
    pub max_failures_per_ip: Option<i64>,
    /// Folder of the entity search index (default data/search/entities).
    pub search_dir: Option<PathBuf>,
    /// The deployment's secret signing key (default data/keys/signing.key).
    pub signing_key_file: Option<PathBuf>,
    /// The credential registry for Hong Kong investors: `none`, `demo`, `local` (a CSV
    /// table, `identity_verifier_file`) or `http` (`identity_verifier_url`). Unset: `http`
    /// when a URL is given, `local` when a file is, else `none`.
    pub identity_verifier: Option<String>,
    pub identity_verifier_file: Option<PathBuf>,
    pub identity_verifier_url: Option<String>,
    /// Better given as AMR_IDENTITY_VERIFIER_API_KEY (which wins) than in the file.
    pub identity_verifier_api_key: Option<String>,
    /// Per request, 1–120 (default 10).
    pub identity_verifier_timeout_seconds: Option<u64>,
    /// Extra trusted root certificates (PEM) for the registry's HTTPS.
    pub identity_verifier_ca_file: Option<PathBuf>,
}

impl FileConfig {
    pub fn load(path: &Path) -> Result<FileConfig, AppError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            AppError::config(
                "config",
                format!(
                    "无法读取配置文件 {} (cannot read the config file): {e}",
                    path.display()
                ),
            )
        })?;
        toml::from_str(&text).map_err(|e| {
            // Name the setting: an unknown key is quoted in the message; otherwise take the
            // key on the line the error points at.
            let key = e
                .message()
                .strip_prefix("unknown field `")
                .and_then(|m| m.split('`').next())
                .map(str::to_string)
                .or_else(|| {
                    let at = e.span()?.start;
                    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
                    let line = text[line_start..].lines().next()?;
                    let k = line.split('=').next()?.trim();
                    (!k.is_empty()).then(|| k.to_string())
                })
                .unwrap_or_else(|| "config".into());
            AppError::config(
                key,
                format!(
                    "配置文件 {} 有误 (error in the config file): {e}",
                    path.display()
                ),
            )
        })
    }
}

/// The merged settings the commands use.
#[derive(Debug, Clone)]
pub struct Settings {
    pub database_url: String,
    pub listen: String,
    pub server: ServerConfig,
    pub log: String,
}

/// Values given on the command line or in the environment (clap has merged those two).
#[derive(Debug, Default, Clone)]
pub struct Given {
    pub config: Option<PathBuf>,
    pub database_url: Option<String>,
    pub listen: Option<String>,
    pub public_url: Option<String>,
    pub cookie_secure: Option<String>,
    pub log: Option<String>,
    pub signing_key_file: Option<PathBuf>,
}

pub fn resolve(given: &Given) -> Result<Settings, AppError> {
    let file = match &given.config {
        Some(p) => FileConfig::load(p)?,
        None => FileConfig::default(),
    };
    let database_url = given
        .database_url
        .clone()
        .or(file.database_url)
        .unwrap_or_else(|| DEFAULT_DATABASE_URL.into());
    if !(database_url.starts_with("sqlite:")
        || database_url.starts_with("postgres://")
        || database_url.starts_with("postgresql://"))
    {
        return Err(AppError::config(
            "database_url",
            format!(
                "{database_url:?} 应以 sqlite:// 或 postgres:// 开头 (must start with sqlite:// or postgres://)"
            ),
        ));
    }
    let listen = given
        .listen
        .clone()
        .or(file.listen)
        .unwrap_or_else(|| DEFAULT_LISTEN.into());
    if listen.parse::<std::net::SocketAddr>().is_err() {
        return Err(AppError::config(
            "listen",
            format!("{listen:?} 不是 地址:端口 (is not ADDRESS:PORT, e.g. 127.0.0.1:8080)"),
        ));
    }
    let public_url = given.public_url.clone().or(file.public_url);
    if let Some(u) = &public_url
        && !(u.starts_with("http://") || u.starts_with("https://"))
    {
        return Err(AppError::config(
            "public_url",
            format!("{u:?} 应以 http:// 或 https:// 开头 (must start with http:// or https://)"),
        ));
    }
    let cookie_secure = match given
        .cookie_secure
        .clone()
        .or(file.cookie_secure)
        .as_deref()
        .unwrap_or("auto")
    {
        "auto" => CookieSecure::Auto,
        "always" => CookieSecure::Always,
        "never" => CookieSecure::Never,
        other => {
            return Err(AppError::config(
                "cookie_secure",
                format!("{other:?} 应为 auto、always 或 never (must be auto, always or never)"),
            ));
        }
    };
    let mut server = ServerConfig {
        public_url,
        cookie_secure,
        ..ServerConfig::default()
    };
    if let Some(m) = file.session_ttl_minutes {
        if !(5..=60 * 24 * 30).contains(&m) {
            return Err(AppError::config(
                "session_ttl_minutes",
                "须在 5 到 43200 之间 (must be between 5 and 43200)",
            ));
        }
        server.session_ttl = Duration::from_secs(m * 60);
    }
    if let Some(d) = file.search_dir {
        server.search_dir = d;
    }
    if let Some(k) = given.signing_key_file.clone().or(file.signing_key_file) {
        server.signing_key_file = k;
    }
    if let Some(t) = file.trust_proxy {
        server.trust_proxy = t;
    }
    if let Some(n) = file.max_failures_per_user {
        server.max_failures_per_user = positive("max_failures_per_user", n)?;
    }
    if let Some(n) = file.max_failures_per_ip {
        server.max_failures_per_ip = positive("max_failures_per_ip", n)?;
    }
    server.identity_verifier = identity_verifier(
        file.identity_verifier.as_deref(),
        file.identity_verifier_file,
        file.identity_verifier_url,
        std::env::var("AMR_IDENTITY_VERIFIER_API_KEY")
            .ok()
            .filter(|k| !k.is_empty())
            .or(file.identity_verifier_api_key),
        file.identity_verifier_timeout_seconds,
        file.identity_verifier_ca_file,
    )?;
    let log = given
        .log
        .clone()
        .or(file.log)
        .unwrap_or_else(|| "info".into());
    Ok(Settings {
        database_url,
        listen,
        server,
        log,
    })
}

/// The verifier settings, checked by building the verifier once (so a bad URL, an unreadable
/// table or certificate file stops the start with the setting named).
fn identity_verifier(
    kind: Option<&str>,
    file: Option<PathBuf>,
    url: Option<String>,
    api_key: Option<String>,
    timeout_seconds: Option<u64>,
    ca_file: Option<PathBuf>,
) -> Result<IdentityVerifierConfig, AppError> {
    let kind = kind.unwrap_or(match (&url, &file) {
        (Some(_), _) => "http",
        (None, Some(_)) => "local",
        (None, None) => "none",
    });
    let cfg = match kind {
        "none" => IdentityVerifierConfig::None,
        "demo" => IdentityVerifierConfig::Demo,
        "local" => IdentityVerifierConfig::Local {
            file: file.ok_or_else(|| {
                AppError::config(
                    "identity_verifier_file",
                    "identity_verifier = \"local\" 需要身份表文件 (needs the table file)",
                )
            })?,
        },
        "http" => IdentityVerifierConfig::Http {
            url: url.ok_or_else(|| {
                AppError::config(
                    "identity_verifier_url",
                    "identity_verifier = \"http\" 需要核验服务地址 (needs the endpoint URL)",
                )
            })?,
            api_key,
            timeout: Duration::from_secs(timeout_seconds.unwrap_or(10)),
            ca_file,
        },
        other => {
            return Err(AppError::config(
                "identity_verifier",
                format!(
                    "{other:?} 应为 none、demo、local 或 http (must be none, demo, local or http)"
                ),
            ));
        }
    };
    amr_registry::identity::verifier::from_config(&cfg)?;
    Ok(cfg)
}

fn positive(name: &str, n: i64) -> Result<i64, AppError> {
    if n > 0 {
        Ok(n)
    } else {
        Err(AppError::config(
            name,
            "须为正整数 (must be a positive integer)",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> tempfile::NamedTempFile {
        let f = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(f.path(), text).unwrap();
        f
    }

    #[test]
    fn flags_beat_file_and_file_beats_defaults() {
        let f = file("database_url = \"postgres://db/amr\"\nlisten = \"0.0.0.0:9000\"\n");
        let s = resolve(&Given {
            config: Some(f.path().into()),
            listen: Some("127.0.0.1:7000".into()),
            ..Given::default()
        })
        .unwrap();
        assert_eq!(s.listen, "127.0.0.1:7000");
        assert_eq!(s.database_url, "postgres://db/amr");
        let d = resolve(&Given::default()).unwrap();
        assert_eq!(d.database_url, DEFAULT_DATABASE_URL);
    }

    #[test]
    fn errors_name_the_setting() {
        let f = file("databse_url = \"x\"\n");
        let e = resolve(&Given {
            config: Some(f.path().into()),
            ..Given::default()
        })
        .unwrap_err();
        assert!(e.to_string().contains("databse_url"), "{e}");
        let f = file("cookie_secure = \"sometimes\"\n");
        let e = resolve(&Given {
            config: Some(f.path().into()),
            ..Given::default()
        })
        .unwrap_err();
        assert!(e.to_string().contains("cookie_secure"), "{e}");
        let e = resolve(&Given {
            listen: Some("nowhere".into()),
            ..Given::default()
        })
        .unwrap_err();
        assert!(e.to_string().contains("listen"), "{e}");
        let f = file("session_ttl_minutes = \"long\"\n");
        let e = resolve(&Given {
            config: Some(f.path().into()),
            ..Given::default()
        })
        .unwrap_err();
        assert!(e.to_string().contains("session_ttl_minutes"), "{e}");
    }

    #[test]
    fn identity_verifier_settings() {
        let d = resolve(&Given::default()).unwrap();
        assert_eq!(d.server.identity_verifier, IdentityVerifierConfig::None);
        let f = file("identity_verifier = \"demo\"\n");
        let s = resolve(&Given {
            config: Some(f.path().into()),
            ..Given::default()
        })
        .unwrap();
        assert_eq!(s.server.identity_verifier, IdentityVerifierConfig::Demo);
        let f = file(
            "identity_verifier_url = \"https://registry.example/verify\"\nidentity_verifier_timeout_seconds = 3\n",
        );
        let s = resolve(&Given {
            config: Some(f.path().into()),
            ..Given::default()
        })
        .unwrap();
        assert!(matches!(
            s.server.identity_verifier,
            IdentityVerifierConfig::Http { ref url, timeout, .. }
                if url == "https://registry.example/verify" && timeout == Duration::from_secs(3)
        ));
        for (text, setting) in [
            ("identity_verifier = \"ldap\"\n", "identity_verifier"),
            ("identity_verifier = \"local\"\n", "identity_verifier_file"),
            (
                "identity_verifier_file = \"/nonexistent/ids.csv\"\n",
                "identity_verifier_file",
            ),
            (
                "identity_verifier_url = \"ftp://x\"\n",
                "identity_verifier_url",
            ),
            (
                "identity_verifier_url = \"https://x/v\"\nidentity_verifier_timeout_seconds = 0\n",
                "identity_verifier_timeout_seconds",
            ),
        ] {
            let f = file(text);
            let e = resolve(&Given {
                config: Some(f.path().into()),
                ..Given::default()
            })
            .unwrap_err();
            assert!(e.to_string().contains(setting), "{text}: {e}");
        }
    }
}
