//! Outbound HTTP(S) for calls AMR makes to other systems (partner agencies, the identity
//! registry): hyper with rustls on ring, the system's root certificates plus an optional CA
//! file (PEM) for a deployment's own certificate authority, no proxy taken from the
//! environment, no redirects followed, a time limit on the whole exchange and a cap on the
//! answer's size.
//!
//! Why not `reqwest`: its TLS features either bring aws-lc or need a process-wide crypto
//! provider installed before any client is built; this client names its provider (ring)
//! itself, so nothing else in the process has to know about TLS.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::BodyExt;

use crate::error::AppError;

type HttpsClient = hyper_util::client::legacy::Client<
    hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
    http_body_util::Full<bytes::Bytes>,
>;

/// An answer: status, headers and the body (at most the client's cap).
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: http::StatusCode,
    pub headers: http::HeaderMap,
    pub body: bytes::Bytes,
}

impl Answer {
    /// A header's value as text, if present and visible ASCII.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// A client for http:// and https:// URLs. Cloning is cheap (the connection pool is shared).
#[derive(Clone)]
pub struct Outbound {
    client: HttpsClient,
    timeout: Duration,
    max_body: usize,
}

impl std::fmt::Debug for Outbound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbound")
            .field("timeout", &self.timeout)
            .field("max_body", &self.max_body)
            .finish()
    }
}

impl Outbound {
    /// A client whose requests (connection, request and answer together) end after `timeout`,
    /// reading at most `max_body` bytes of an answer, trusting the system's roots and those of
    /// `ca_file`. `setting` names the configuration item `ca_file` came from, for errors.
    pub fn new(
        timeout: Duration,
        max_body: usize,
        ca_file: Option<&Path>,
        setting: &str,
    ) -> Result<Outbound, AppError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| AppError::config(setting, format!("TLS: {e}")))?
            .with_root_certificates(root_store(ca_file, setting)?)
            .with_no_client_auth();
        let mut plain = hyper_util::client::legacy::connect::HttpConnector::new();
        plain.enforce_http(false);
        plain.set_connect_timeout(Some(timeout.min(Duration::from_secs(5))));
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(plain);
        let client =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build(connector);
        Ok(Outbound {
            client,
            timeout,
            max_body,
        })
    }

    /// POSTs `body` to `url` with `headers`. Any failure (a bad URL, no connection, a TLS
    /// failure, the time limit, an answer over the cap) is a message; an answer of any status
    /// is an `Answer`.
    pub async fn post(
        &self,
        url: &str,
        headers: &[(&str, &str)],
        body: impl Into<bytes::Bytes>,
    ) -> Result<Answer, String> {
        let uri: http::Uri = url
            .parse()
            .map_err(|e| format!("地址无效 (bad URL) {url:?}: {e}"))?;
        if !matches!(uri.scheme_str(), Some("http" | "https")) || uri.host().is_none() {
            return Err(format!(
                "地址应以 http:// 或 https:// 开头 (the URL must be http(s)://HOST/...): {url:?}"
            ));
        }
        let mut req = http::Request::post(uri);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = req
            .body(http_body_util::Full::new(body.into()))
            .map_err(|e| format!("请求无效 (bad request): {e}"))?;
        let exchange = async {
            let resp = self
                .client
                .request(req)
                .await
                .map_err(|e| format!("请求失败 (request failed): {}", chain(&e)))?;
            let (parts, body) = resp.into_parts();
            let bytes = http_body_util::Limited::new(body, self.max_body)
                .collect()
                .await
                .map_err(|e| {
                    format!(
                        "读取应答失败 (reading the answer, status {}, failed): {e}",
                        parts.status
                    )
                })?
                .to_bytes();
            Ok(Answer {
                status: parts.status,
                headers: parts.headers,
                body: bytes,
            })
        };
        tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| {
                format!(
                    "{:?} 内无应答 (no answer within {:?})",
                    self.timeout, self.timeout
                )
            })?
    }
}

/// An error and its causes on one line (hyper's errors say little without their sources,
/// e.g. which certificate check failed).
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

/// The trusted roots: the system's store and the certificates of `ca_file` (PEM; a file that
/// cannot be read, holds no certificate or a bad one is a configuration error naming
/// `setting`).
pub fn root_store(
    ca_file: Option<&Path>,
    setting: &str,
) -> Result<rustls::RootCertStore, AppError> {
    let mut roots = rustls::RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    for e in &native.errors {
        tracing::debug!(error = %e, "a system root certificate could not be loaded");
    }
    roots.add_parsable_certificates(native.certs);
    if let Some(path) = ca_file {
        let bad = |m: String| AppError::config(setting, m);
        use rustls::pki_types::CertificateDer;
        use rustls::pki_types::pem::PemObject;
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
            .map_err(|e| bad(format!("无法读取 {} (cannot read): {e}", path.display())))?
            .collect::<Result<_, _>>()
            .map_err(|e| {
                bad(format!(
                    "{} 不是 PEM 证书 (is not a PEM bundle): {e}",
                    path.display()
                ))
            })?;
        if certs.is_empty() {
            return Err(bad(format!(
                "{} 中没有证书 (holds no certificate)",
                path.display()
            )));
        }
        for c in certs {
            roots.add(c).map_err(|e| {
                bad(format!(
                    "{} 中的证书无效 (a bad certificate): {e}",
                    path.display()
                ))
            })?;
        }
    }
    Ok(roots)
}
