//! `amr agency-sim --port P --name tax [--fail-rate R --delay MS --amr URL --key-file F]`:
//! plays a partner agency over real HTTP (see `amr_exchange::sim`).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use sha2::{Digest, Sha256};

use amr_exchange::sim::{self, AmrKeys, SimConfig};
use amr_kernel::error::AppError;

#[derive(Debug, Args)]
pub struct AgencySimArgs {
    /// Port to listen on (127.0.0.1).
    #[arg(long)]
    pub port: u16,
    /// The agency's registered code name (its acknowledgements carry it).
    #[arg(long)]
    pub name: String,
    /// tax | social_security | medical_insurance | housing_fund | bank | other (default: the
    /// name when it is one of these, else other).
    #[arg(long)]
    pub kind: Option<String>,
    /// Share of calls that fail on purpose (0.0–1.0).
    #[arg(long, default_value_t = 0.0)]
    pub fail_rate: f64,
    /// The first N calls fail on purpose.
    #[arg(long, default_value_t = 0)]
    pub fail_first: u64,
    /// Wait this many milliseconds before each answer.
    #[arg(long, default_value_t = 0)]
    pub delay: u64,
    /// AMR's base URL: its keys are fetched from {URL}/api/v1/keys.
    #[arg(long)]
    pub amr: Option<String>,
    /// AMR's published keys (the JSON of GET /api/v1/keys) instead of fetching them.
    #[arg(long)]
    pub key_file: Option<PathBuf>,
    /// The agency's own secret key seed (32 bytes, hex); made if the file does not exist.
    /// Without it the key is derived from the name (a demo key; anyone can derive it).
    #[arg(long)]
    pub seed_file: Option<PathBuf>,
    /// With --amr: answer `accepted`, then call back `done` with this API key (or @FILE).
    #[arg(long)]
    pub api_key: Option<String>,
}

/// The demo key seed of an agency name (public: for demos and tests only).
pub fn demo_seed(name: &str) -> [u8; 32] {
    Sha256::digest(format!("AMR demo agency key v1\n{name}").as_bytes()).into()
}

fn seed(a: &AgencySimArgs) -> Result<[u8; 32], AppError> {
    let Some(path) = &a.seed_file else {
        return Ok(demo_seed(&a.name));
    };
    if path.exists() {
        let text = std::fs::read_to_string(path).map_err(|e| {
            AppError::bad_request("seed_file", format!("无法读取 (cannot read): {e}"))
        })?;
        let bytes = hex::decode(text.trim())
            .ok()
            .and_then(|b| <[u8; 32]>::try_from(b.as_slice()).ok());
        return bytes.ok_or_else(|| {
            AppError::bad_request(
                "seed_file",
                "密钥文件应为 64 个十六进制字符 (the seed file holds 64 hex characters)",
            )
        });
    }
    let s: [u8; 32] = rand::random();
    std::fs::write(path, hex::encode(s))
        .map_err(|e| AppError::bad_request("seed_file", format!("无法写入 (cannot write): {e}")))?;
    Ok(s)
}

pub async fn run(a: AgencySimArgs) -> Result<ExitCode, AppError> {
    if !(0.0..=1.0).contains(&a.fail_rate) {
        return Err(AppError::bad_request(
            "fail_rate",
            "失败比例应在 0 到 1 之间 (the fail rate is between 0 and 1)",
        ));
    }
    let keys = match (&a.key_file, &a.amr) {
        (Some(f), _) => {
            let text = std::fs::read_to_string(f).map_err(|e| {
                AppError::bad_request("key_file", format!("无法读取 (cannot read): {e}"))
            })?;
            AmrKeys::Fixed(
                amr_kernel::signing::parse_key_set(&text)
                    .map_err(|e| AppError::bad_request("key_file", e))?,
            )
        }
        (None, Some(url)) => AmrKeys::Url(url.clone()),
        (None, None) => {
            return Err(AppError::bad_request(
                "amr",
                "请用 --amr URL 或 --key-file FILE 给出 AMR 的公钥 (give AMR's keys with --amr URL or --key-file FILE)",
            ));
        }
    };
    let kind = a.kind.clone().unwrap_or_else(|| {
        if amr_exchange::agency::KINDS
            .iter()
            .any(|(k, _, _)| *k == a.name)
        {
            a.name.clone()
        } else {
            "other".into()
        }
    });
    let callback = match (&a.api_key, &a.amr) {
        (Some(k), Some(url)) => {
            let key = match k.strip_prefix('@') {
                Some(p) => std::fs::read_to_string(p)
                    .map_err(|e| {
                        AppError::bad_request("api_key", format!("无法读取 (cannot read): {e}"))
                    })?
                    .trim()
                    .to_string(),
                None => k.clone(),
            };
            Some((url.clone(), key))
        }
        (Some(_), None) => {
            return Err(AppError::bad_request(
                "api_key",
                "--api-key 需要 --amr (--api-key needs --amr)",
            ));
        }
        _ => None,
    };
    let config = SimConfig {
        name: a.name.clone(),
        kind,
        fail_rate: a.fail_rate,
        fail_first: a.fail_first,
        delay: Duration::from_millis(a.delay),
        keys,
        seed: seed(&a)?,
        callback,
    };
    let running = sim::start(config, &format!("127.0.0.1:{}", a.port))
        .await
        .map_err(|e| AppError::config("port", format!("无法监听 (cannot listen): {e}")))?;
    println!(
        "模拟机构 {} 已启动 (agency simulator running): {}",
        a.name,
        running.url()
    );
    println!("公钥 (public key): {}", running.public_key);
    println!("统计 (stats): {}stats", running.url());
    let stats = running.stats.clone();
    tokio::select! {
        r = running.wait() => r.map_err(|e| AppError::Internal(e.into()))?,
        _ = tokio::signal::ctrl_c() => {}
    }
    println!("{}", stats.to_json());
    Ok(ExitCode::SUCCESS)
}
