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
//!
//! `amr verify log --checkpoint FILE --entry FILE --proof FILE --key KEY` and `amr verify
//! consistency OLD NEW PROOF --key KEY` check the transparency log offline (module
//! [`translog`] below): exit 0 when everything holds, 1 when something does not, 2 bad input.

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
    /// Check that a log entry is in the tree of a signed checkpoint (offline).
    Log(translog::LogArgs),
    /// Check that a newer checkpoint's tree extends an older one's (offline).
    Consistency(translog::ConsistencyArgs),
    /// Check an exchange evidence export (`amr exchange export`) offline against the
    /// deployment's published keys and the agency keys in it (exit 0 all good, 1 any failure).
    Exchange(crate::exchange::VerifyExchangeArgs),
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
        VerifyCommand::Log(a) => translog::log(a),
        VerifyCommand::Consistency(a) => translog::consistency(a),
        VerifyCommand::Exchange(a) => crate::exchange::verify(a),
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

/// `amr verify log` and `amr verify consistency`: the transparency log checked offline with
/// the deployment's public key.
///
/// - `log --checkpoint FILE --entry FILE --proof FILE --key KEY`: the checkpoint (the text of
///   `GET /api/v1/log/checkpoint`) is signed by the key; the proof (the JSON of
///   `GET /api/v1/log/proof/inclusion`) is for the checkpoint's tree size; and the entry (its
///   bytes, the `entry` of `GET /api/v1/log/entries`; one final newline is ignored) hashes,
///   through the proof, to the checkpoint's root.
/// - `consistency OLD NEW PROOF --key KEY`: both checkpoints are signed by the key, and the
///   proof (the JSON of `GET /api/v1/log/proof/consistency?from=OLD&to=NEW`) shows the new
///   tree extends the old one.
///
/// Exit status: 0 everything holds; 1 something does not (a signature, a hash); 2 bad input.
pub mod translog {
    use std::path::{Path, PathBuf};
    use std::process::ExitCode;

    use clap::Args;

    use amr_kernel::error::AppError;
    use amr_kernel::signing::parse_key_set;
    use amr_kernel::translog::merkle::{self, Hash};
    use amr_kernel::translog::{decode_hash, encode_hash, note};

    #[derive(Debug, Args)]
    pub struct LogArgs {
        /// The signed checkpoint (text of GET /api/v1/log/checkpoint).
        #[arg(long, value_name = "FILE")]
        pub checkpoint: PathBuf,
        /// The entry's bytes (the "entry" of GET /api/v1/log/entries).
        #[arg(long, value_name = "FILE")]
        pub entry: PathBuf,
        /// The inclusion proof (JSON of GET /api/v1/log/proof/inclusion).
        #[arg(long, value_name = "FILE")]
        pub proof: PathBuf,
        /// The public key: base64 or hex, the JSON of GET /api/v1/keys (or one entry), or @FILE.
        #[arg(long, value_name = "PUBLIC_KEY")]
        pub key: String,
    }

    #[derive(Debug, Args)]
    pub struct ConsistencyArgs {
        /// The older signed checkpoint.
        pub old: PathBuf,
        /// The newer signed checkpoint.
        pub new: PathBuf,
        /// The consistency proof (JSON of GET /api/v1/log/proof/consistency).
        pub proof: PathBuf,
        /// The public key: base64 or hex, the JSON of GET /api/v1/keys (or one entry), or @FILE.
        #[arg(long, value_name = "PUBLIC_KEY")]
        pub key: String,
    }

    fn read(path: &Path, field: &str) -> Result<Vec<u8>, AppError> {
        std::fs::read(path).map_err(|e| {
            AppError::bad_request(
                field,
                format!(
                    "无法读取文件 {} (cannot read the file): {e}",
                    path.display()
                ),
            )
        })
    }

    fn read_text(path: &Path, field: &str) -> Result<String, AppError> {
        String::from_utf8(read(path, field)?).map_err(|_| {
            AppError::bad_request(
                field,
                format!("文件 {} 不是 UTF-8 文本 (not UTF-8 text)", path.display()),
            )
        })
    }

    fn proof_json(path: &Path) -> Result<serde_json::Value, AppError> {
        serde_json::from_slice(&read(path, "proof")?).map_err(|e| {
            AppError::bad_request(
                "proof",
                format!("证明文件不是 JSON (the proof file is not JSON): {e}"),
            )
        })
    }

    fn field_u64(v: &serde_json::Value, field: &str) -> Result<u64, AppError> {
        v[field].as_u64().ok_or_else(|| {
            AppError::bad_request(
                "proof",
                format!("证明缺少非负整数 {field} (the proof lacks the number {field})"),
            )
        })
    }

    /// The proof's hashes. A hash that is not 32 bytes of base64 means the proof was changed:
    /// reported as a failed check (exit 1), like any other change of the proof.
    fn hashes(v: &serde_json::Value) -> Result<Result<Vec<Hash>, String>, AppError> {
        let list = v["hashes"].as_array().ok_or_else(|| {
            AppError::bad_request(
                "proof",
                "证明缺少 hashes 数组 (the proof lacks the hashes array)",
            )
        })?;
        Ok(list
            .iter()
            .enumerate()
            .map(|(i, h)| {
                h.as_str().and_then(decode_hash).ok_or_else(|| {
                    format!("证明的第 {} 个哈希不是 32 字节的 base64 (hash {i} is not 32 bytes of base64)", i + 1)
                })
            })
            .collect())
    }

    fn fail(what: &str) -> ExitCode {
        println!("验证失败 (VERIFICATION FAILED): {what}");
        ExitCode::from(1)
    }

    fn keys(
        arg: &str,
    ) -> Result<
        std::collections::HashMap<amr_kernel::signing::KeyId, amr_kernel::signing::VerifyingKey>,
        AppError,
    > {
        parse_key_set(&super::key_text(arg)?).map_err(|e| AppError::bad_request("key", e))
    }

    pub fn log(a: LogArgs) -> Result<ExitCode, AppError> {
        let keys = keys(&a.key)?;
        let text = read_text(&a.checkpoint, "checkpoint")?;
        let proof = proof_json(&a.proof)?;
        let mut entry = read(&a.entry, "entry")?;
        if entry.ends_with(b"\r\n") {
            entry.truncate(entry.len() - 2);
        } else if entry.ends_with(b"\n") {
            entry.truncate(entry.len() - 1);
        }
        let cp = match note::verify_note(&text, &keys) {
            Ok(v) => v,
            Err(e) => return Ok(fail(&e)),
        };
        let index = field_u64(&proof, "index")?;
        let size = field_u64(&proof, "tree_size")?;
        let path = match hashes(&proof)? {
            Ok(p) => p,
            Err(e) => return Ok(fail(&e)),
        };
        if size != cp.checkpoint.size {
            return Ok(fail(&format!(
                "证明针对树大小 {size}，检查点的树大小为 {}；请取 size={} 的证明 \
                 (the proof is for another tree size than the checkpoint's)",
                cp.checkpoint.size, cp.checkpoint.size
            )));
        }
        let leaf = merkle::leaf_hash(&entry);
        if let Some(stated) = proof["leaf_hash"].as_str()
            && decode_hash(stated) != Some(leaf)
        {
            return Ok(fail(
                "条目的哈希与证明所述不符 (the entry does not hash to the proof's leaf_hash)",
            ));
        }
        if !merkle::verify_inclusion(index, size, &leaf, &path, &cp.checkpoint.root) {
            return Ok(fail(
                "条目经证明算出的根哈希与检查点不符 \
                 (the entry and the proof do not lead to the checkpoint's root)",
            ));
        }
        println!("验证通过 (VERIFIED): 条目在日志中 (the entry is in the log)");
        println!(
            "  条目序号 (index): {index} · 树大小 (tree size): {size} · 来源 (origin): {}",
            cp.checkpoint.origin
        );
        println!(
            "  叶哈希 (leaf hash): {} · 根哈希 (root): {}",
            encode_hash(&leaf),
            encode_hash(&cp.checkpoint.root)
        );
        println!("  签名密钥 (key id): {}", cp.key_id);
        Ok(ExitCode::SUCCESS)
    }

    pub fn consistency(a: ConsistencyArgs) -> Result<ExitCode, AppError> {
        let keys = keys(&a.key)?;
        let old_text = read_text(&a.old, "old")?;
        let new_text = read_text(&a.new, "new")?;
        let proof = proof_json(&a.proof)?;
        let old = match note::verify_note(&old_text, &keys) {
            Ok(v) => v.checkpoint,
            Err(e) => return Ok(fail(&format!("旧检查点 (old checkpoint): {e}"))),
        };
        let new = match note::verify_note(&new_text, &keys) {
            Ok(v) => v.checkpoint,
            Err(e) => return Ok(fail(&format!("新检查点 (new checkpoint): {e}"))),
        };
        if old.origin != new.origin {
            return Ok(fail(
                "两个检查点来自不同的日志 (the checkpoints are of different logs)",
            ));
        }
        let from = field_u64(&proof, "from")?;
        let to = field_u64(&proof, "to")?;
        if from != old.size || to != new.size {
            return Ok(fail(&format!(
                "证明针对 {from} → {to}，检查点为 {} → {} (the proof is for other tree sizes)",
                old.size, new.size
            )));
        }
        let path = match hashes(&proof)? {
            Ok(p) => p,
            Err(e) => return Ok(fail(&e)),
        };
        if !merkle::verify_consistency(old.size, new.size, &old.root, &new.root, &path) {
            return Ok(fail(
                "新树不是旧树的延续 (the new tree does not extend the old one: the log was rewritten, \
                 or the proof or a checkpoint was changed)",
            ));
        }
        println!(
            "验证通过 (VERIFIED): 大小 {} 的树是大小 {} 的树的前缀 (the log only grew)",
            old.size, new.size
        );
        Ok(ExitCode::SUCCESS)
    }
}
