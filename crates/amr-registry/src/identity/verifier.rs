//! Verifying a Hong Kong investor's identity against a credential registry.
//!
//! [`IdentityVerifier`] is the pluggable interface: given a name, an HKID number and a travel
//! permit ([`IdentityClaim`]), it answers a [`VerifiedIdentity`] carrying the registry's
//! reference, or [`VerifyError`]: not found, mismatch (which fields), or unavailable.
//!
//! - [`HttpVerifier`]: the product's verifier, a configurable HTTPS endpoint (the protocol is
//!   in `docs/API.md`, "The identity verifier protocol"). Whatever comes back is hostile: the
//!   body is capped at [`MAX_RESPONSE_BYTES`], must be the documented JSON, and anything else
//!   (other statuses, timeouts, bad JSON, an unknown result, a malformed reference) is
//!   "unavailable", never "verified".
//! - [`LocalVerifier`]: a table of known identities from a CSV file (`name,name_en,hkid,
//!   permit,reference`); [`LocalVerifier::demo`] holds the demo's synthetic identities
//!   (`data/hk_identities.csv`).
//! - [`from_config`] builds the one the server's configuration names.

use std::collections::HashMap;
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use amr_kernel::error::AppError;
use amr_web::config::IdentityVerifierConfig;

use super::hkid::{HkId, half_width};
use super::permit::{PermitRegion, TravelPermit};

/// The longest name accepted (characters).
pub const MAX_NAME_CHARS: usize = 100;

/// What a person says they are: the three things checked against the registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityClaim {
    pub name: String,
    pub hkid: HkId,
    pub permit: TravelPermit,
}

impl IdentityClaim {
    /// Parses the three fields as typed; each failure is a 400 naming its field (`name`,
    /// `hkid`, `permit`). A Macao resident's permit (M...) does not go with an HKID.
    pub fn parse(name: &str, hkid: &str, permit: &str) -> Result<IdentityClaim, AppError> {
        let name = name.trim();
        if name.is_empty() {
            return Err(AppError::bad_request(
                "name",
                "请填写姓名 (the name is missing)",
            ));
        }
        if name.chars().count() > MAX_NAME_CHARS {
            return Err(AppError::bad_request(
                "name",
                format!("姓名不超过 {MAX_NAME_CHARS} 字 (at most {MAX_NAME_CHARS} characters)"),
            ));
        }
        if name.chars().any(char::is_control) {
            return Err(AppError::bad_request(
                "name",
                "姓名含有控制字符 (the name contains control characters)",
            ));
        }
        let hkid = HkId::parse(hkid).map_err(|e| AppError::bad_request("hkid", e))?;
        let permit = TravelPermit::parse(permit).map_err(|e| AppError::bad_request("permit", e))?;
        if permit.region() != PermitRegion::HongKong {
            return Err(AppError::bad_request(
                "permit",
                "该通行证属澳门居民（M 开头），与香港身份证不符，请填写以 H 开头的通行证号码 \
                 (an M permit belongs to a Macao resident and does not go with an HKID; give \
                 the H permit)",
            ));
        }
        Ok(IdentityClaim {
            name: name.to_string(),
            hkid,
            permit,
        })
    }
}

/// An identity the registry confirmed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifiedIdentity {
    pub name: String,
    #[serde(serialize_with = "ser_display")]
    pub hkid: HkId,
    #[serde(serialize_with = "ser_display")]
    pub permit: TravelPermit,
    /// The registry's reference for this identity (its record number).
    pub registry_ref: String,
    /// Which verifier answered (`local:demo`, `local:FILE`, `http:HOST`).
    pub verifier: String,
    pub verified_at: DateTime<Utc>,
}

fn ser_display<T: std::fmt::Display, S: serde::Serializer>(v: &T, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(v)
}

/// Why an identity was not verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifyError {
    /// The registry holds no identity with this HKID number.
    NotFound,
    /// It does, but these fields (`name`, `permit`) differ.
    Mismatch(Vec<String>),
    /// The registry could not be asked or gave no usable answer (the reason is for the log).
    Unavailable(String),
}

impl std::fmt::Display for VerifyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            VerifyError::NotFound => write!(
                f,
                "身份核验未通过：证件登记机构没有该香港身份证号码的记录 \
                 (identity not verified: the credential registry has no record of this HKID \
                 number)"
            ),
            VerifyError::Mismatch(fields) => {
                let zh: Vec<&str> = fields
                    .iter()
                    .map(|f| match f.as_str() {
                        "name" => "姓名",
                        "permit" => "港澳居民来往内地通行证号码",
                        "hkid" => "香港身份证号码",
                        _ => "其他信息",
                    })
                    .collect();
                write!(
                    f,
                    "身份核验未通过：{} 与登记记录不符 (identity not verified: {} do not match the \
                     registry's record)",
                    zh.join("、"),
                    fields.join(", ")
                )
            }
            VerifyError::Unavailable(_) => write!(
                f,
                "身份核验服务暂不可用，请稍后再试 (the identity verification service is \
                 unavailable; please try again later)"
            ),
        }
    }
}

impl From<VerifyError> for AppError {
    fn from(e: VerifyError) -> AppError {
        match &e {
            VerifyError::Unavailable(reason) => {
                tracing::warn!(reason = %reason, "identity verifier unavailable");
                AppError::unavailable(e)
            }
            _ => AppError::rejected(e),
        }
    }
}

/// The future a verifier returns.
pub type VerifyFuture<'a> =
    Pin<Box<dyn Future<Output = Result<VerifiedIdentity, VerifyError>> + Send + 'a>>;

/// A credential registry that confirms identities.
pub trait IdentityVerifier: Send + Sync + std::fmt::Debug {
    /// A short label recorded with each binding (`local:demo`, `http:registry.example`).
    fn label(&self) -> String;
    fn verify<'a>(&'a self, claim: &'a IdentityClaim) -> VerifyFuture<'a>;
}

/// Names are compared without spaces, commas, dots, hyphens and middle dots, in upper case
/// and half-width: `Chan, Tai-man` = `CHAN TAI MAN`.
pub fn name_key(name: &str) -> String {
    name.chars()
        .map(half_width)
        .filter(|c| !c.is_whitespace() && !matches!(c, ',' | '.' | '-' | '·' | '•' | '，'))
        .flat_map(char::to_uppercase)
        .collect()
}

/// One identity a [`LocalVerifier`] knows.
#[derive(Debug, Clone)]
pub struct KnownIdentity {
    pub name: String,
    pub name_en: String,
    pub hkid: HkId,
    pub permit: TravelPermit,
    pub reference: String,
}

/// A verifier over a table of known identities (tests, the demo, a registry's export).
#[derive(Debug, Clone)]
pub struct LocalVerifier {
    label: String,
    by_hkid: HashMap<HkId, KnownIdentity>,
}

#[derive(Deserialize)]
struct Row {
    name: String,
    #[serde(default)]
    name_en: String,
    hkid: String,
    permit: String,
    reference: String,
}

impl LocalVerifier {
    pub fn new(label: impl Into<String>, identities: Vec<KnownIdentity>) -> LocalVerifier {
        LocalVerifier {
            label: label.into(),
            by_hkid: identities
                .into_iter()
                .map(|i| (i.hkid.clone(), i))
                .collect(),
        }
    }

    /// The demo's synthetic identities (`data/hk_identities.csv`, embedded).
    pub fn demo() -> LocalVerifier {
        LocalVerifier::from_csv("local:demo", DEMO_IDENTITIES)
            .expect("the embedded demo identities are valid")
    }

    /// Reads a CSV file with the header `name,name_en,hkid,permit,reference` (lines starting
    /// with `#` are comments). Every bad row is reported with its line.
    pub fn from_file(path: &Path) -> Result<LocalVerifier, AppError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            AppError::config(
                "identity_verifier_file",
                format!(
                    "无法读取身份表 {} (cannot read the identity table): {e}",
                    path.display()
                ),
            )
        })?;
        LocalVerifier::from_csv(&format!("local:{}", path.display()), &text)
            .map_err(|m| AppError::config("identity_verifier_file", m))
    }

    /// Parses the CSV text of a table; the error lists the bad rows.
    pub fn from_csv(label: &str, text: &str) -> Result<LocalVerifier, String> {
        let mut reader = csv::ReaderBuilder::new()
            .comment(Some(b'#'))
            .trim(csv::Trim::All)
            .from_reader(text.as_bytes());
        let mut out = Vec::new();
        let mut errors = Vec::new();
        for row in reader.deserialize::<Row>() {
            let row = match row {
                Ok(r) => r,
                Err(e) => {
                    errors.push(format!("{e}"));
                    continue;
                }
            };
            let line = out.len() + errors.len() + 1;
            let parsed = (|| -> Result<KnownIdentity, String> {
                let claim = IdentityClaim::parse(&row.name, &row.hkid, &row.permit)
                    .map_err(|e| e.to_string())?;
                if !valid_reference(&row.reference) {
                    return Err("reference: 记录编号应为 1–64 个字母、数字或 ._:/- \
                                (1–64 letters, digits or ._:/-)"
                        .into());
                }
                Ok(KnownIdentity {
                    name: claim.name,
                    name_en: row.name_en.clone(),
                    hkid: claim.hkid,
                    permit: claim.permit,
                    reference: row.reference.clone(),
                })
            })();
            match parsed {
                Ok(k) => out.push(k),
                Err(e) => errors.push(format!("第 {line} 条记录 (record {line}): {e}")),
            }
        }
        if errors.is_empty() {
            Ok(LocalVerifier::new(label, out))
        } else {
            Err(errors.join("; "))
        }
    }

    pub fn len(&self) -> usize {
        self.by_hkid.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_hkid.is_empty()
    }

    fn check(&self, claim: &IdentityClaim) -> Result<VerifiedIdentity, VerifyError> {
        let known = self.by_hkid.get(&claim.hkid).ok_or(VerifyError::NotFound)?;
        let mut differ = Vec::new();
        let given = name_key(&claim.name);
        if given != name_key(&known.name)
            && (known.name_en.is_empty() || given != name_key(&known.name_en))
        {
            differ.push("name".to_string());
        }
        if claim.permit.permanent_number() != known.permit.permanent_number() {
            differ.push("permit".to_string());
        }
        if !differ.is_empty() {
            return Err(VerifyError::Mismatch(differ));
        }
        Ok(VerifiedIdentity {
            name: known.name.clone(),
            hkid: known.hkid.clone(),
            permit: claim.permit.clone(),
            registry_ref: known.reference.clone(),
            verifier: self.label.clone(),
            verified_at: Utc::now(),
        })
    }
}

impl IdentityVerifier for LocalVerifier {
    fn label(&self) -> String {
        self.label.clone()
    }

    fn verify<'a>(&'a self, claim: &'a IdentityClaim) -> VerifyFuture<'a> {
        Box::pin(async move { self.check(claim) })
    }
}

/// The demo's synthetic identities.
pub const DEMO_IDENTITIES: &str = include_str!("../../data/hk_identities.csv");

/// A verifier that cannot answer (none configured, or its configuration failed at start).
#[derive(Debug, Clone)]
pub struct UnavailableVerifier {
    pub reason: String,
}

impl IdentityVerifier for UnavailableVerifier {
    fn label(&self) -> String {
        "unavailable".into()
    }

    fn verify<'a>(&'a self, _claim: &'a IdentityClaim) -> VerifyFuture<'a> {
        Box::pin(async move { Err(VerifyError::Unavailable(self.reason.clone())) })
    }
}

/// The largest response body read from the registry.
pub const MAX_RESPONSE_BYTES: usize = 16 * 1024;

/// A reference is 1–64 characters of `A-Z a-z 0-9 . _ : / -`.
pub fn valid_reference(r: &str) -> bool {
    (1..=64).contains(&r.len())
        && r.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'/' | b'-'))
}

/// The product's verifier: asks the credential registry's HTTP endpoint (hyper, rustls on
/// ring; the system's root certificates plus an optional CA file; no redirects followed, no
/// proxy).
#[derive(Clone)]
pub struct HttpVerifier {
    url: http::Uri,
    api_key: Option<String>,
    /// Holds the time limit and the trusted roots.
    client: amr_kernel::outbound::Outbound,
}

impl std::fmt::Debug for HttpVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpVerifier")
            .field("url", &self.url)
            .field("api_key", &self.api_key.as_ref().map(|_| "***"))
            .field("client", &self.client)
            .finish()
    }
}

/// The request body sent to the registry.
#[derive(Debug, Serialize)]
struct VerifyRequestBody<'a> {
    name: &'a str,
    hkid: String,
    travel_permit: &'a str,
}

/// The response body the registry sends.
#[derive(Debug, Deserialize)]
struct VerifyResponseBody {
    result: String,
    #[serde(default)]
    reference: Option<String>,
    #[serde(default)]
    fields: Vec<String>,
}

impl HttpVerifier {
    /// A verifier for `url` (http or https) with an optional bearer key, a total time limit per
    /// request, and optional extra root certificates (PEM).
    pub fn new(
        url: &str,
        api_key: Option<String>,
        timeout: Duration,
        ca_file: Option<&Path>,
    ) -> Result<HttpVerifier, AppError> {
        let setting = |m: String| AppError::config("identity_verifier_url", m);
        let parsed: http::Uri = url
            .parse()
            .map_err(|e| setting(format!("{url:?} 不是有效地址 (is not a valid URL): {e}")))?;
        if !matches!(parsed.scheme_str(), Some("http" | "https")) || parsed.host().is_none() {
            return Err(setting(format!(
                "{url:?} 应以 http:// 或 https:// 开头并带主机名 (must be http(s)://HOST/...)"
            )));
        }
        if timeout.is_zero() || timeout > Duration::from_secs(120) {
            return Err(AppError::config(
                "identity_verifier_timeout_seconds",
                "须在 1 到 120 秒之间 (must be between 1 and 120 seconds)",
            ));
        }
        let client = amr_kernel::outbound::Outbound::new(
            timeout,
            MAX_RESPONSE_BYTES,
            ca_file,
            "identity_verifier_ca_file",
        )?;
        Ok(HttpVerifier {
            url: parsed,
            api_key: api_key.filter(|k| !k.is_empty()),
            client,
        })
    }

    /// Sends the request and reads at most [`MAX_RESPONSE_BYTES`] of the answer, within the
    /// time limit (the kernel's outbound client).
    async fn exchange(&self, body: Vec<u8>) -> Result<(http::StatusCode, bytes::Bytes), String> {
        let bearer = self.api_key.as_ref().map(|k| format!("Bearer {k}"));
        let mut headers = vec![
            ("content-type", "application/json"),
            ("accept", "application/json"),
        ];
        if let Some(b) = &bearer {
            headers.push(("authorization", b.as_str()));
        }
        let a = self
            .client
            .post(&self.url.to_string(), &headers, body)
            .await?;
        Ok((a.status, a.body))
    }

    async fn ask(&self, claim: &IdentityClaim) -> Result<VerifiedIdentity, VerifyError> {
        let unavailable = VerifyError::Unavailable;
        let body = serde_json::to_vec(&VerifyRequestBody {
            name: &claim.name,
            hkid: claim.hkid.display(),
            travel_permit: claim.permit.as_str(),
        })
        .map_err(|e| unavailable(e.to_string()))?;
        let (status, bytes) = self.exchange(body).await.map_err(unavailable)?;
        if status != http::StatusCode::OK {
            return Err(unavailable(format!("status {status}")));
        }
        let answer: VerifyResponseBody = serde_json::from_slice(&bytes)
            .map_err(|e| unavailable(format!("malformed response: {e}")))?;
        match answer.result.as_str() {
            "verified" => {
                let reference = answer.reference.unwrap_or_default();
                if !valid_reference(&reference) {
                    return Err(unavailable(
                        "verified without a well-formed reference".into(),
                    ));
                }
                Ok(VerifiedIdentity {
                    name: claim.name.clone(),
                    hkid: claim.hkid.clone(),
                    permit: claim.permit.clone(),
                    registry_ref: reference,
                    verifier: self.label(),
                    verified_at: Utc::now(),
                })
            }
            "not_found" => Err(VerifyError::NotFound),
            "mismatch" => {
                let mut fields: Vec<String> = answer
                    .fields
                    .into_iter()
                    .filter(|f| matches!(f.as_str(), "name" | "hkid" | "travel_permit"))
                    .map(|f| {
                        if f == "travel_permit" {
                            "permit".into()
                        } else {
                            f
                        }
                    })
                    .collect();
                fields.dedup();
                if fields.is_empty() {
                    fields.push("other".into());
                }
                Err(VerifyError::Mismatch(fields))
            }
            other => Err(unavailable(format!(
                "unknown result {:?}",
                other.chars().take(40).collect::<String>()
            ))),
        }
    }
}

impl IdentityVerifier for HttpVerifier {
    fn label(&self) -> String {
        format!("http:{}", self.url.host().unwrap_or("?"))
    }

    fn verify<'a>(&'a self, claim: &'a IdentityClaim) -> VerifyFuture<'a> {
        Box::pin(self.ask(claim))
    }
}

/// Builds the verifier the configuration names. Errors name the setting at fault.
pub fn from_config(cfg: &IdentityVerifierConfig) -> Result<Arc<dyn IdentityVerifier>, AppError> {
    Ok(match cfg {
        IdentityVerifierConfig::None => Arc::new(UnavailableVerifier {
            reason: "no identity verifier is configured".into(),
        }),
        IdentityVerifierConfig::Demo => Arc::new(LocalVerifier::demo()),
        IdentityVerifierConfig::Local { file } => Arc::new(LocalVerifier::from_file(file)?),
        IdentityVerifierConfig::Http {
            url,
            api_key,
            timeout,
            ca_file,
        } => Arc::new(HttpVerifier::new(
            url,
            api_key.clone(),
            *timeout,
            ca_file.as_deref(),
        )?),
    })
}

/// Like [`from_config`], but a configuration that fails becomes a verifier that answers
/// "unavailable" (the CLI checks the configuration before the server starts; this keeps the
/// router infallible).
pub fn from_config_or_unavailable(cfg: &IdentityVerifierConfig) -> Arc<dyn IdentityVerifier> {
    from_config(cfg).unwrap_or_else(|e| {
        tracing::error!(error = %e, "the identity verifier could not be set up");
        Arc::new(UnavailableVerifier {
            reason: e.to_string(),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim(name: &str, hkid: &str, permit: &str) -> IdentityClaim {
        IdentityClaim::parse(name, hkid, permit).unwrap()
    }

    #[tokio::test]
    async fn local_verifier_answers_each_case() {
        let v = LocalVerifier::demo();
        assert_eq!(v.len(), 5);
        let ok = v
            .verify(&claim("陈大文", "A123456(3)", "H12345678"))
            .await
            .unwrap();
        assert_eq!(ok.registry_ref, "HKDEMO-0001");
        assert_eq!(ok.verifier, "local:demo");
        // The English name in another spelling, and the permit's older form (issue count 02).
        let ok = v
            .verify(&claim("Chan, Tai-Man", "a1234563", "H1234567802"))
            .await
            .unwrap();
        assert_eq!(ok.name, "陈大文");
        assert_eq!(
            v.verify(&claim("陈大文", "B123456(6)", "H12345678")).await,
            Err(VerifyError::NotFound)
        );
        assert_eq!(
            v.verify(&claim("陈小文", "A123456(3)", "H12345679")).await,
            Err(VerifyError::Mismatch(vec!["name".into(), "permit".into()]))
        );
    }

    #[test]
    fn claims_name_the_bad_field() {
        let field = |r: Result<IdentityClaim, AppError>| match r {
            Err(AppError::BadRequest { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            field(IdentityClaim::parse(" ", "A123456(3)", "H12345678")),
            "name"
        );
        assert_eq!(
            field(IdentityClaim::parse("陈大文", "A123456(4)", "H12345678")),
            "hkid"
        );
        assert_eq!(
            field(IdentityClaim::parse("陈大文", "A123456(3)", "H123")),
            "permit"
        );
        assert_eq!(
            field(IdentityClaim::parse("陈大文", "A123456(3)", "M12345678")),
            "permit"
        );
        assert_eq!(
            field(IdentityClaim::parse(
                "陈\u{7}大文",
                "A123456(3)",
                "H12345678"
            )),
            "name"
        );
    }

    #[test]
    fn a_bad_table_lists_its_bad_rows() {
        let e = LocalVerifier::from_csv(
            "t",
            "name,name_en,hkid,permit,reference\n陈大文,,A123456(4),H12345678,R1\n李四,,A123456(3),H12345678,bad ref\n",
        )
        .unwrap_err();
        assert!(
            e.contains("第 1 条记录") && e.contains("第 2 条记录"),
            "{e}"
        );
    }

    #[test]
    fn configuration_errors_name_the_setting() {
        for (url, setting) in [
            ("ftp://x/verify", "identity_verifier_url"),
            ("not a url", "identity_verifier_url"),
        ] {
            let e = HttpVerifier::new(url, None, Duration::from_secs(5), None).unwrap_err();
            assert!(e.to_string().contains(setting), "{e}");
        }
        let not_pem = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(not_pem.path(), "not a certificate").unwrap();
        let e = HttpVerifier::new(
            "https://x/v",
            None,
            Duration::from_secs(5),
            Some(not_pem.path()),
        )
        .unwrap_err();
        assert!(e.to_string().contains("identity_verifier_ca_file"), "{e}");
        let e = HttpVerifier::new("https://x/v", None, Duration::ZERO, None).unwrap_err();
        assert!(e.to_string().contains("identity_verifier_timeout_seconds"));
        let v = from_config_or_unavailable(&IdentityVerifierConfig::Local {
            file: "/nonexistent/ids.csv".into(),
        });
        assert_eq!(v.label(), "unavailable");
    }
}
