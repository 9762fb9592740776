//! `amr verify enterprise-code PAYLOAD --key KEY [--status-url URL]`: checks an enterprise code
//! offline against a published public key, and optionally whether its licence is still the
//! one in force.
//!
//! `--key` takes a public key (base64 as `GET /api/v1/keys` publishes it, or 64 hex digits),
//! the JSON of `GET /api/v1/keys` or one of its entries, or `@FILE` holding any of those.
//! `--status-url` (HTTP, or HTTPS on rustls with the system's root certificates) is the
//! deployment's address (`https://amr.example.gov.cn`; the record is read
//! from `/api/v1/entities/{uscc}/code`) or a full address with `{uscc}` in it.
//!
//! Exit status: 0 authentic (and, with `--status-url`, current); 1 not authentic, or not
//! current; 2 bad input or the record could not be read.

use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Subcommand};

use amr_kernel::error::AppError;
use amr_kernel::signing::parse_key_set;
use amr_registry::licence::Verdict;
use amr_registry::licence::code::EnterpriseCode;

#[derive(Debug, Subcommand)]
pub enum VerifyCommand {
    /// Check an enterprise code (the QR payload, or the address a scan opened).
    EnterpriseCode(EnterpriseCodeArgs),
}

#[derive(Debug, Args)]
pub struct EnterpriseCodeArgs {
    /// The payload (base64url) or the verify address that ends in it.
    pub payload: String,
    /// The public key: base64 or hex, the JSON of GET /api/v1/keys (or one entry), or @FILE.
    #[arg(long, value_name = "PUBLIC_KEY")]
    pub key: String,
    /// Also check that the licence is still the one in force: the deployment's address, or an
    /// address with {uscc} in it.
    #[arg(long, value_name = "URL")]
    pub status_url: Option<String>,
}

pub async fn run(c: VerifyCommand) -> Result<ExitCode, AppError> {
    match c {
        VerifyCommand::EnterpriseCode(a) => enterprise_code(a).await,
    }
}

fn key_text(arg: &str) -> Result<String, AppError> {
    match arg.strip_prefix('@') {
        Some(path) => std::fs::read_to_string(path).map_err(|e| {
            AppError::bad_request(
                "key",
                format!("无法读取公钥文件 {path} (cannot read the key file): {e}"),
            )
        }),
        None => Ok(arg.to_string()),
    }
}

async fn enterprise_code(a: EnterpriseCodeArgs) -> Result<ExitCode, AppError> {
    let keys = parse_key_set(&key_text(&a.key)?).map_err(|e| AppError::bad_request("key", e))?;
    let code =
        EnterpriseCode::decode(&a.payload).map_err(|e| AppError::bad_request("payload", e))?;
    let authentic = keys.get(&code.key_id).is_some_and(|k| code.verify_with(k));
    if !authentic {
        println!(
            "不真实 (NOT AUTHENTIC): {}",
            Verdict::NotAuthentic.message()
        );
        if !keys.contains_key(&code.key_id) {
            println!(
                "  码的签名密钥 {} 不在所给公钥之中 (the code's key {} is not among the keys given)",
                code.key_id, code.key_id
            );
        }
        return Ok(ExitCode::from(1));
    }
    let c = &code.claims;
    println!("真实 (AUTHENTIC): 签名有效 (the signature is valid)");
    println!("  统一社会信用代码 (USCC): {}", c.uscc);
    println!("  名称 (name): {}", c.name);
    println!(
        "  执照版本 (licence version): {} · 发照时间 (issued): {}",
        c.licence_version,
        c.issued_at.to_rfc3339()
    );
    println!("  签名密钥 (key id): {}", code.key_id);
    let Some(url) = a.status_url else {
        return Ok(ExitCode::SUCCESS);
    };
    let Some(record) = fetch_record(&url, &c.uscc).await? else {
        println!(
            "已非现行 (NOT CURRENT): {}",
            Verdict::UnknownEntity.message()
        );
        return Ok(ExitCode::from(1));
    };
    let status = record["status"].as_str().unwrap_or("");
    let version = record["licence"]["version"].as_u64();
    let verdict = match (status, version) {
        ("deregistered", _) => Verdict::Deregistered,
        ("revoked", _) => Verdict::Revoked,
        ("moved_out", _) => Verdict::MovedOut,
        ("suspended", _) => Verdict::Suspended,
        ("active", Some(v)) if v > u64::from(c.licence_version) => Verdict::Changed,
        ("active", Some(v)) if v == u64::from(c.licence_version) => Verdict::Current,
        ("active", Some(_)) => Verdict::UnknownEntity,
        _ => {
            return Err(AppError::unavailable(format!(
                "登记记录格式不对 (the record has no status or licence version): {record}"
            )));
        }
    };
    if verdict.is_current() {
        println!("现行有效 (CURRENT): {}", verdict.message());
        Ok(ExitCode::SUCCESS)
    } else {
        println!("已非现行 (NOT CURRENT): {}", verdict.message());
        if let Some(v) = version {
            println!(
                "  现行执照版本 (licence version in force): {v} · 登记状态 (status): {status}"
            );
        }
        Ok(ExitCode::from(1))
    }
}

/// Reads the current record of `uscc` from the deployment at `url` (`None`: not registered).
async fn fetch_record(url: &str, uscc: &str) -> Result<Option<serde_json::Value>, AppError> {
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(AppError::bad_request(
            "status-url",
            "应以 http:// 或 https:// 开头 (must start with http:// or https://)",
        ));
    }
    let address = if url.contains("{uscc}") {
        url.replace("{uscc}", uscc)
    } else {
        format!("{}/api/v1/entities/{uscc}/code", url.trim_end_matches('/'))
    };
    let uri: hyper::Uri = address.parse().map_err(|e| {
        AppError::bad_request("status-url", format!("地址无效 (not a valid address): {e}"))
    })?;
    let unreachable = |e: &dyn std::fmt::Display| {
        AppError::unavailable(format!(
            "无法读取登记记录 {address} (cannot read the record): {e}"
        ))
    };
    // rustls on ring with the system's root certificates; plain HTTP for a local address.
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_provider_and_native_roots(rustls::crypto::ring::default_provider())
        .map_err(|e| unreachable(&e))?
        .https_or_http()
        .enable_http1()
        .build();
    let client: hyper_util::client::legacy::Client<_, http_body_util::Empty<bytes::Bytes>> =
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .build(https);
    let request = hyper::Request::get(uri)
        .header(hyper::header::ACCEPT, "application/json")
        .header(hyper::header::USER_AGENT, "amr-verify")
        .body(http_body_util::Empty::new())
        .map_err(|e| AppError::Internal(e.into()))?;
    let fetch = async {
        let resp = client.request(request).await.map_err(|e| unreachable(&e))?;
        let status = resp.status();
        let body = http_body_util::BodyExt::collect(http_body_util::Limited::new(
            resp.into_body(),
            4 * 1024 * 1024,
        ))
        .await
        .map_err(|e| unreachable(&e))?
        .to_bytes();
        Ok::<_, AppError>((status, body))
    };
    let (status, body) = tokio::time::timeout(Duration::from_secs(15), fetch)
        .await
        .map_err(|_| unreachable(&"超时 (timed out after 15 s)"))??;
    if status == hyper::StatusCode::NOT_FOUND {
        return Ok(None);
    }
    if !status.is_success() {
        return Err(AppError::unavailable(format!(
            "读取登记记录失败 {address} (reading the record failed): HTTP {status}"
        )));
    }
    serde_json::from_slice(&body)
        .map(Some)
        .map_err(|e| unreachable(&e))
}
