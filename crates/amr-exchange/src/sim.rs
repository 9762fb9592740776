//! The agency simulator (`amr agency-sim`): a real HTTP server that plays a partner agency
//! for the demo, the tests and the delivery figures.
//!
//! - `POST /` (the endpoint to register): a delivery or a tax-figures request. The deployment's
//!   signature is checked (keys from AMR's `GET /api/v1/keys`, fetched again when an unknown key
//!   id arrives, or from a file); a bad or unknown signature is refused with 401.
//! - It fails on purpose: the first `fail_first` calls, then a `fail_rate` share at random,
//!   half of them before applying (503) and half after applying with the answer lost (500),
//!   so AMR's retry must not apply a message twice: each idempotency key is applied once, and
//!   every repeat is counted as a duplicate.
//! - It answers with an acknowledgement signed by its own Ed25519 key (printed at start, to
//!   register): `done`, or `rejected` with a reason when a suspension lacks the fields this
//!   kind of agency needs (see `docs/EXCHANGE.md`); with a callback configured (AMR's URL and
//!   the agency's API key) it answers `accepted` and calls back `done` after the delay.
//! - A `tax` agency answers tax-figures requests with figures derived from the USCC and year
//!   (deterministic; one enterprise-year in ten has no record).
//! - A `bank` agency takes push lists (`"type": "bank_push"`) and answers `done`; with a
//!   callback configured it reports loans for a deterministic quarter of the enterprises
//!   added ([`simulated_loan`]), signed, to `POST /api/v1/exchange/banks/loans`.
//! - `GET /stats`: `{"received", "applied", "duplicates", "failed_on_purpose", "rejected",
//!   "bad_signature", "tax_answers", "entities_added", "entities_removed", "loan_reports",
//!   "loans_reported"}`.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use ed25519_dalek::{Signer, SigningKey};
use rand::RngExt;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::sync::{RwLock, watch};

use amr_kernel::signing::{self, KeyId, VerifyingKey};

use crate::proto::{self, Ack, AckStatus};

/// Where the simulator gets the deployment's public keys.
#[derive(Debug, Clone)]
pub enum AmrKeys {
    /// A fixed set (a file holding the JSON of `GET /api/v1/keys`, or one key).
    Fixed(HashMap<KeyId, VerifyingKey>),
    /// AMR's base URL: `GET {url}/api/v1/keys`, again when an unknown key id arrives.
    Url(String),
}

/// How the simulator behaves.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// The agency's registered name (its acknowledgements carry it).
    pub name: String,
    /// tax | social_security | medical_insurance | housing_fund | bank | other.
    pub kind: String,
    pub fail_rate: f64,
    /// The first this many calls fail (before the random ones).
    pub fail_first: u64,
    pub delay: Duration,
    pub keys: AmrKeys,
    /// The agency's own key seed.
    pub seed: [u8; 32],
    /// AMR's base URL and this agency's API key: answer `accepted`, then call back `done`.
    pub callback: Option<(String, String)>,
}

/// The counts of `GET /stats`.
#[derive(Debug, Default)]
pub struct Stats {
    pub received: AtomicU64,
    pub applied: AtomicU64,
    pub duplicates: AtomicU64,
    pub failed_on_purpose: AtomicU64,
    pub rejected: AtomicU64,
    pub bad_signature: AtomicU64,
    pub tax_answers: AtomicU64,
    /// Bank push: entities added and removed (first receipt of each message only).
    pub entities_added: AtomicU64,
    pub entities_removed: AtomicU64,
    /// Bank push: loan reports accepted by AMR and the loans in them.
    pub loan_reports: AtomicU64,
    pub loans_reported: AtomicU64,
}

impl Stats {
    pub fn to_json(&self) -> Value {
        let g = |a: &AtomicU64| a.load(Ordering::SeqCst);
        json!({"received": g(&self.received), "applied": g(&self.applied), "duplicates": g(&self.duplicates),
               "failed_on_purpose": g(&self.failed_on_purpose), "rejected": g(&self.rejected),
               "bad_signature": g(&self.bad_signature), "tax_answers": g(&self.tax_answers),
               "entities_added": g(&self.entities_added), "entities_removed": g(&self.entities_removed),
               "loan_reports": g(&self.loan_reports), "loans_reported": g(&self.loans_reported)})
    }
}

struct Sim {
    config: SimConfig,
    key: SigningKey,
    known: RwLock<HashMap<KeyId, VerifyingKey>>,
    applied: Mutex<HashSet<String>>,
    calls: AtomicU64,
    stats: Arc<Stats>,
    client: reqwest::Client,
}

/// A running simulator.
#[derive(Debug)]
pub struct Running {
    pub addr: SocketAddr,
    pub public_key: String,
    pub stats: Arc<Stats>,
    shutdown: watch::Sender<bool>,
    handle: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Running {
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        let _ = self.handle.await;
    }

    pub async fn wait(self) -> std::io::Result<()> {
        self.handle.await.unwrap_or(Ok(()))
    }
}

/// The public key (base64) of a seed.
pub fn public_key_of(seed: &[u8; 32]) -> String {
    signing::encode_public_key(&SigningKey::from_bytes(seed).verifying_key())
}

/// Binds `listen` and serves until stopped.
pub async fn start(config: SimConfig, listen: &str) -> std::io::Result<Running> {
    let listener = tokio::net::TcpListener::bind(listen).await?;
    let addr = listener.local_addr()?;
    let key = SigningKey::from_bytes(&config.seed);
    let known = match &config.keys {
        AmrKeys::Fixed(k) => k.clone(),
        AmrKeys::Url(_) => HashMap::new(),
    };
    let stats = Arc::new(Stats::default());
    let sim = Arc::new(Sim {
        key,
        known: RwLock::new(known),
        applied: Mutex::new(HashSet::new()),
        calls: AtomicU64::new(0),
        stats: stats.clone(),
        client: reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .no_proxy()
            .build()
            .unwrap_or_default(),
        config,
    });
    let public_key = signing::encode_public_key(&sim.key.verifying_key());
    let app = Router::new()
        .route("/", post(inbox))
        .route("/stats", get(stats_json))
        .route("/key", get(key_json))
        .with_state(sim);
    let (tx, mut rx) = watch::channel(false);
    let handle = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = rx.wait_for(|v| *v).await;
            })
            .await
    });
    Ok(Running {
        addr,
        public_key,
        stats,
        shutdown: tx,
        handle,
    })
}

async fn stats_json(State(sim): State<Arc<Sim>>) -> Response {
    axum::Json(sim.stats.to_json()).into_response()
}

async fn key_json(State(sim): State<Arc<Sim>>) -> Response {
    let vk = sim.key.verifying_key();
    axum::Json(
        json!({"name": sim.config.name, "public_key": signing::encode_public_key(&vk),
                      "key_id": KeyId::of(&vk).to_string()}),
    )
    .into_response()
}

fn refuse(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(json!({"error": message}))).into_response()
}

impl Sim {
    async fn amr_key(&self, id: KeyId) -> Option<VerifyingKey> {
        if let Some(k) = self.known.read().await.get(&id) {
            return Some(*k);
        }
        let AmrKeys::Url(base) = &self.config.keys else {
            return None;
        };
        let url = format!("{}/api/v1/keys", base.trim_end_matches('/'));
        let text = self.client.get(&url).send().await.ok()?.text().await.ok()?;
        let set = signing::parse_key_set(&text).ok()?;
        let found = set.get(&id).copied();
        self.known.write().await.extend(set);
        found
    }

    fn sign(&self, tag: &str, body: &str) -> String {
        proto::encode_signature(&self.key.sign(&proto::signed_bytes(tag, body)).to_bytes())
    }

    fn signed(&self, status: StatusCode, tag: &str, body: String) -> Response {
        let sig = self.sign(tag, &body);
        let mut h = HeaderMap::new();
        h.insert("content-type", "application/json".parse().expect("header"));
        if let Ok(v) = sig.parse() {
            h.insert(proto::HEADER_SIGNATURE, v);
        }
        if let Ok(v) = KeyId::of(&self.key.verifying_key()).to_string().parse() {
            h.insert(proto::HEADER_KEY_ID, v);
        }
        (status, h, body).into_response()
    }

    fn ack(&self, message_id: &str, status: AckStatus, reason: Option<String>) -> String {
        let ack = Ack {
            message_id: message_id.to_string(),
            agency: self.config.name.clone(),
            status,
            reason,
            at: chrono::Utc::now().to_rfc3339(),
        };
        serde_json::to_string(&ack).unwrap_or_default()
    }

    /// Whether this call fails on purpose, and how: `Some(true)` after applying (the answer
    /// is lost), `Some(false)` before.
    fn fails(&self) -> Option<bool> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        let mut rng = rand::rng();
        if n < self.config.fail_first || rng.random_bool(self.config.fail_rate.clamp(0.0, 1.0)) {
            self.stats.failed_on_purpose.fetch_add(1, Ordering::SeqCst);
            Some(rng.random_bool(0.5))
        } else {
            None
        }
    }
}

async fn inbox(State(sim): State<Arc<Sim>>, headers: HeaderMap, body: Bytes) -> Response {
    if !sim.config.delay.is_zero() {
        tokio::time::sleep(sim.config.delay).await;
    }
    let Ok(body) = String::from_utf8(body.to_vec()) else {
        return refuse(StatusCode::BAD_REQUEST, "body is not UTF-8");
    };
    let value: Value = match serde_json::from_str(&body) {
        Ok(v) => v,
        Err(_) => return refuse(StatusCode::BAD_REQUEST, "body is not JSON"),
    };
    let is_tax = value.get("type").and_then(Value::as_str) == Some("tax_figures_request");
    let tag = if is_tax {
        proto::TAG_TAX_REQUEST
    } else {
        proto::TAG_MESSAGE
    };
    let header = |n: &str| {
        headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let key = match KeyId::parse(&header(proto::HEADER_KEY_ID)) {
        Ok(id) => sim.amr_key(id).await,
        Err(_) => None,
    };
    let good = key.is_some_and(|k| proto::check(&k, tag, &body, &header(proto::HEADER_SIGNATURE)));
    if !good {
        sim.stats.bad_signature.fetch_add(1, Ordering::SeqCst);
        return refuse(
            StatusCode::UNAUTHORIZED,
            "signature does not verify against AMR's published keys",
        );
    }
    sim.stats.received.fetch_add(1, Ordering::SeqCst);
    if is_tax {
        return tax_answer(&sim, &value);
    }
    let failure = sim.fails();
    if failure == Some(false) {
        return refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            "failing on purpose (before applying)",
        );
    }
    let id = value
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    if id.is_empty()
        || value.get("agency").and_then(Value::as_str) != Some(sim.config.name.as_str())
    {
        return refuse(
            StatusCode::BAD_REQUEST,
            "message lacks id or names another agency",
        );
    }
    let first = sim
        .applied
        .lock()
        .map(|mut s| s.insert(id.clone()))
        .unwrap_or(false);
    if first {
        sim.stats.applied.fetch_add(1, Ordering::SeqCst);
    } else {
        sim.stats.duplicates.fetch_add(1, Ordering::SeqCst);
    }
    if value.get("type").and_then(Value::as_str) == Some("bank_push") {
        return bank_push(&sim, &value, &id, first, failure == Some(true));
    }
    let missing = missing_fields(&sim.config.kind, &value);
    if failure == Some(true) {
        return refuse(
            StatusCode::INTERNAL_SERVER_ERROR,
            "failing on purpose (after applying; answer lost)",
        );
    }
    if let Some(reason) = missing {
        if first {
            sim.stats.rejected.fetch_add(1, Ordering::SeqCst);
        }
        return sim.signed(
            StatusCode::OK,
            proto::TAG_ACK,
            sim.ack(&id, AckStatus::Rejected, Some(reason)),
        );
    }
    match sim.config.callback.clone() {
        Some((amr, api_key)) => {
            let s = sim.clone();
            let message_id = id.clone();
            tokio::spawn(async move { call_back(s, amr, api_key, message_id).await });
            sim.signed(
                StatusCode::OK,
                proto::TAG_ACK,
                sim.ack(&id, AckStatus::Accepted, None),
            )
        }
        None => sim.signed(
            StatusCode::OK,
            proto::TAG_ACK,
            sim.ack(&id, AckStatus::Done, None),
        ),
    }
}

/// The pauses between the tries of a call the agency makes to AMR (a callback, a loan
/// report): nine tries, the pauses doubling from 0.2 s and capped at 5 s, about 21 s in all,
/// as an agency's system keeps trying through a busy minute (five tries in about 6 s gave up
/// on a loaded machine). No pause follows the last try.
const RETRY_PAUSES: [Duration; 8] = [
    Duration::from_millis(200),
    Duration::from_millis(400),
    Duration::from_millis(800),
    Duration::from_millis(1_600),
    Duration::from_millis(3_200),
    Duration::from_secs(5),
    Duration::from_secs(5),
    Duration::from_secs(5),
];

/// Later, the agency says it is done (a few tries).
async fn call_back(sim: Arc<Sim>, amr: String, api_key: String, message_id: String) {
    tokio::time::sleep(sim.config.delay.max(Duration::from_millis(50))).await;
    let body = sim.ack(&message_id, AckStatus::Done, None);
    let sig = sim.sign(proto::TAG_ACK, &body);
    let url = format!("{}/api/v1/exchange/acks", amr.trim_end_matches('/'));
    for pause in RETRY_PAUSES.map(Some).into_iter().chain([None]) {
        let sent = sim
            .client
            .post(&url)
            .bearer_auth(&api_key)
            .header("content-type", "application/json")
            .header(proto::HEADER_SIGNATURE, &sig)
            .body(body.clone())
            .send()
            .await;
        if sent.is_ok_and(|r| r.status().is_success()) {
            return;
        }
        if let Some(pause) = pause {
            tokio::time::sleep(pause).await;
        }
    }
    tracing::warn!(
        message_id,
        "agency simulator: the callback did not get through"
    );
}

/// A bank's list change: counted, acknowledged `done`; with a callback, loans for a
/// deterministic quarter of the added enterprises ([`simulated_loan`]) are reported back.
fn bank_push(sim: &Arc<Sim>, value: &Value, id: &str, first: bool, lose_answer: bool) -> Response {
    let added: Vec<String> = value
        .get("added")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter_map(|e| e.get("uscc").and_then(Value::as_str).map(str::to_string))
        .collect();
    let removed = value
        .get("removed")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    if first {
        let n = |x: usize| u64::try_from(x).unwrap_or(0);
        sim.stats
            .entities_added
            .fetch_add(n(added.len()), Ordering::SeqCst);
        sim.stats
            .entities_removed
            .fetch_add(n(removed), Ordering::SeqCst);
        if let Some((amr, api_key)) = sim.config.callback.clone() {
            let today = chrono::Utc::now().date_naive();
            let loans: Vec<Value> = added
                .iter()
                .filter_map(|u| simulated_loan(u, today))
                .collect();
            if !loans.is_empty() {
                let s = sim.clone();
                let report_id = format!("loans-{id}");
                tokio::spawn(async move { report_loans(s, amr, api_key, report_id, loans).await });
            }
        }
    }
    if lose_answer {
        return refuse(
            StatusCode::INTERNAL_SERVER_ERROR,
            "failing on purpose (after applying; answer lost)",
        );
    }
    sim.signed(
        StatusCode::OK,
        proto::TAG_ACK,
        sim.ack(id, AckStatus::Done, None),
    )
}

/// The loan a simulated bank grants an enterprise pushed to it, if any: one enterprise in
/// four (by SHA-256 of `loan/USCC`), 1,000–50,000 yuan, 12, 24 or 36 months, granted `on`.
pub fn simulated_loan(uscc: &str, on: chrono::NaiveDate) -> Option<Value> {
    let h = Sha256::digest(format!("loan/{uscc}").as_bytes());
    if h[0] % 4 != 0 {
        return None;
    }
    let yuan = i64::from(u32::from_be_bytes([h[1], h[2], h[3], h[4]]) % 49_001 + 1_000);
    Some(
        json!({"uscc": uscc, "amount_fen": yuan * 100, "granted_on": on.to_string(),
                "product": "普惠小微信用贷（模拟）", "term_months": 12 * (1 + i64::from(h[5] % 3))}),
    )
}

/// Posts a signed loan report to AMR (a few tries; a refusal is final).
async fn report_loans(
    sim: Arc<Sim>,
    amr: String,
    api_key: String,
    report_id: String,
    loans: Vec<Value>,
) {
    tokio::time::sleep(sim.config.delay).await;
    let n = u64::try_from(loans.len()).unwrap_or(0);
    let body = json!({"report_id": report_id, "agency": sim.config.name,
                      "at": chrono::Utc::now().to_rfc3339(), "loans": loans})
    .to_string();
    let sig = sim.sign(proto::TAG_LOAN_REPORT, &body);
    let url = format!("{}/api/v1/exchange/banks/loans", amr.trim_end_matches('/'));
    for pause in RETRY_PAUSES.map(Some).into_iter().chain([None]) {
        let sent = sim
            .client
            .post(&url)
            .bearer_auth(&api_key)
            .header("content-type", "application/json")
            .header(proto::HEADER_SIGNATURE, &sig)
            .body(body.clone())
            .send()
            .await;
        match sent {
            Ok(r) if r.status().is_success() => {
                sim.stats.loan_reports.fetch_add(1, Ordering::SeqCst);
                sim.stats.loans_reported.fetch_add(n, Ordering::SeqCst);
                return;
            }
            Ok(r) if r.status().is_client_error() => {
                tracing::warn!(report_id, status = %r.status(), "agency simulator: the loan report was refused");
                return;
            }
            _ => {}
        }
        if let Some(pause) = pause {
            tokio::time::sleep(pause).await;
        }
    }
    tracing::warn!(
        report_id,
        "agency simulator: the loan report did not get through"
    );
}

/// The fields each kind of agency needs on a suspension (see `docs/EXCHANGE.md`); the reason
/// of the rejection when one is missing.
fn missing_fields(kind: &str, message: &Value) -> Option<String> {
    let event_kind = message
        .pointer("/event/kind")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if event_kind != "registry.suspension.filed" {
        return None;
    }
    let needed: &[(&str, &str)] = match kind {
        "tax" => &[
            ("tax_last_period", "最后申报所属期"),
            ("invoices_settled", "发票缴销"),
        ],
        "social_security" => &[
            ("insured_count", "参保人数"),
            ("suspend_from", "暂停缴费起始月"),
        ],
        "medical_insurance" => &[
            ("insured_count", "参保人数"),
            ("suspend_from", "暂停缴费起始月"),
        ],
        "housing_fund" => &[("depositor_count", "缴存人数"), ("seal_accounts", "封存")],
        _ => &[],
    };
    let extra = message.get("extra");
    let missing: Vec<&str> = needed
        .iter()
        .filter(|(k, _)| extra.and_then(|e| e.get(*k)).is_none_or(Value::is_null))
        .map(|(_, zh)| *zh)
        .collect();
    if missing.is_empty() {
        None
    } else {
        Some(format!("缺少{} (missing fields)", missing.join("、")))
    }
}

/// The answer to a tax-figures request: figures derived from SHA-256(uscc + year), in fen;
/// one enterprise-year in ten has no record.
fn tax_answer(sim: &Sim, request: &Value) -> Response {
    let uscc = request
        .get("uscc")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let year = request
        .get("year")
        .and_then(Value::as_i64)
        .unwrap_or_default();
    let request_id = request
        .get("request_id")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if sim.config.kind != "tax" {
        return refuse(StatusCode::NOT_FOUND, "this agency answers no tax requests");
    }
    sim.stats.tax_answers.fetch_add(1, Ordering::SeqCst);
    let h = Sha256::digest(format!("{uscc}/{year}").as_bytes());
    let n =
        |i: usize| i64::from(u32::from_be_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]) % 50_000_000);
    let found = h[31] % 10 != 0;
    let assets = n(0) * 10;
    let liabilities = assets * (n(4) % 80) / 100;
    let revenue = n(8) * 5;
    let main = revenue * (70 + n(12) % 30) / 100;
    let profit = revenue * (n(16) % 20) / 100 - revenue / 50;
    let tax = revenue * 3 / 100;
    let net = profit - (profit.max(0) / 4);
    let figures = json!({
        "total_assets": assets, "total_liabilities": liabilities, "owners_equity": assets - liabilities,
        "total_revenue": revenue, "main_business_revenue": main, "total_profit": profit,
        "net_profit": net, "total_tax": tax,
    });
    let body = json!({
        "request_id": request_id, "agency": sim.config.name, "uscc": uscc, "year": year,
        "found": found, "figures": if found { figures } else { json!({}) },
        "at": chrono::Utc::now().to_rfc3339(),
    });
    sim.signed(StatusCode::OK, proto::TAG_TAX_ANSWER, body.to_string())
}
