//! Agency endpoints over https: deliveries to an agency behind TLS whose certificate the
//! deployment's CA file (`SenderOptions::ca_file`, `AMR_EXCHANGE_CA_FILE` in production)
//! vouches for are delivered and acknowledged; an agency presenting a certificate nobody
//! vouches for gets nothing, its delivery stays pending with the certificate error recorded.
//! The agencies are the in-process simulator behind a TLS-terminating proxy on loopback.

mod support;

use support::call as send;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use amr_exchange::delivery::SenderOptions;
use amr_exchange::sim::{self, AmrKeys, SimConfig};
use amr_kernel::audit::Actor;
use amr_kernel::auth::Role;
use amr_kernel::codes::uscc::{RegistrationType, Uscc};
use amr_registry::model::{EntityType, NewEntity, Status, today_in_china};
use amr_registry::store;
use chrono::NaiveDate;
use reqwest::StatusCode;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::{Value, json};
use support::{TestApp, account, backends};
use tokio::net::{TcpListener, TcpStream};

fn tls_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../amr-kernel/tests/data/tls")
}

/// A TLS-terminating proxy on a free port in front of `backend`, presenting `cert`/`key`.
async fn tls_proxy(backend: std::net::SocketAddr, cert: &str, key: &str) -> u16 {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(tls_dir().join(cert))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_file(tls_dir().join(key)).unwrap();
    let cfg = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(cfg));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((sock, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(sock).await else {
                    return;
                };
                let Ok(mut plain) = TcpStream::connect(backend).await else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
            });
        }
    });
    port
}

fn seed(name: &str) -> [u8; 32] {
    let mut s = [0u8; 32];
    for (i, b) in name.bytes().enumerate() {
        s[i % 32] ^= b;
    }
    s[31] = 9;
    s
}

async fn start_sim(app: &TestApp, name: &str) -> sim::Running {
    sim::start(
        SimConfig {
            name: name.into(),
            kind: name.into(),
            fail_rate: 0.0,
            fail_first: 0,
            delay: Duration::ZERO,
            keys: AmrKeys::Url(app.base.clone()),
            seed: seed(name),
            callback: None,
        },
        "127.0.0.1:0",
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn https_agencies_are_reached_when_the_ca_vouches_for_them() {
    amr_server::exchange_wiring::set_sender_options(SenderOptions {
        base_backoff: Duration::from_millis(40),
        max_backoff: Duration::from_millis(300),
        timeout: Duration::from_secs(3),
        poll: Duration::from_millis(50),
        ca_file: Some(tls_dir().join("ca.pem")),
        ..SenderOptions::default()
    });
    for b in backends() {
        let app = TestApp::spawn(b).await;
        let admin = account(&app, "admin1", Role::Admin, "", None).await;
        let tax = start_sim(&app, "tax").await;
        let fund = start_sim(&app, "housing_fund").await;
        // Tax behind the certificate the CA signed; the housing fund behind a self-signed one.
        let tax_port = tls_proxy(tax.addr, "server.pem", "server.key").await;
        let fund_port = tls_proxy(fund.addr, "other.pem", "other.key").await;
        for (name, endpoint, key) in [
            (
                "tax",
                format!("https://localhost:{tax_port}/"),
                &tax.public_key,
            ),
            (
                "housing_fund",
                format!("https://127.0.0.1:{fund_port}/"),
                &fund.public_key,
            ),
        ] {
            let (st, v) = send(
                &app,
                &admin,
                "POST",
                "/api/v1/exchange/agencies",
                json!({"name": name, "display_name": name, "kind": name, "endpoint": endpoint,
                       "subscriptions": ["registry.suspension."], "public_key": key}),
            )
            .await;
            assert_eq!(st, StatusCode::CREATED, "{b:?}: {v}");
        }

        let e = NewEntity {
            uscc: Uscc::generate(RegistrationType::Enterprise, "370102", &mut rand::rng())
                .unwrap()
                .to_string(),
            name: "济南泉城示例商贸有限公司".into(),
            entity_type: EntityType::Enterprise,
            legal_rep: "王建国".into(),
            legal_rep_id: None,
            phone: None,
            capital_yuan: Some(1_000_000),
            established: NaiveDate::from_ymd_opt(2020, 5, 1).unwrap(),
            address: "山东省济南市历下区泉城路1号".into(),
            division: "370102001".into(),
            scope: "日用百货销售".into(),
            industry: "5299".into(),
            status: Status::Active,
        };
        let mut tx = app.db.begin().await.unwrap();
        store::create(&mut tx, &Actor::system(), &e).await.unwrap();
        tx.commit().await.unwrap();
        let firm = account(&app, "firm", Role::Enterprise, "", Some(&e.uscc)).await;
        let end = (today_in_china() + chrono::Duration::days(90)).to_string();
        let (st, v) = send(&app, &firm, "POST", &format!("/api/v1/entities/{}/suspension", e.uscc),
            json!({"reason": "经营困难", "end": end, "service_address": "山东省济南市历下区泉城路1号",
                   "tax_last_period": "2026-10", "invoices_settled": "yes",
                   "depositor_count": "10", "seal_accounts": "yes"})).await;
        assert_eq!(st, StatusCode::CREATED, "{b:?}: {v}");

        // Tax answers over TLS; the housing fund's certificate is refused on every attempt.
        let mut last = Value::Null;
        let mut ok = false;
        for _ in 0..300 {
            let (st, v) = send(
                &app,
                &firm,
                "GET",
                &format!("/api/v1/exchange/entities/{}", e.uscc),
                Value::Null,
            )
            .await;
            assert_eq!(st, StatusCode::OK, "{v}");
            let agencies = v["fanouts"][0]["agencies"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let of = |n: &str| {
                agencies
                    .iter()
                    .find(|a| a["agency"] == n)
                    .cloned()
                    .unwrap_or(Value::Null)
            };
            if of("tax")["status"] == "done"
                && of("housing_fund")["attempts"].as_i64().unwrap_or(0) >= 2
            {
                let fund_row = of("housing_fund");
                assert_eq!(fund_row["status"], "pending", "{v}");
                let err = fund_row["last_error"]
                    .as_str()
                    .unwrap_or_default()
                    .to_lowercase();
                assert!(
                    err.contains("certificate"),
                    "the refusal names the certificate: {v}"
                );
                ok = true;
                break;
            }
            last = v;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(ok, "{b:?}: not reached in time: {last}");
        assert_eq!(tax.stats.to_json()["applied"], 1);
        assert_eq!(
            fund.stats.to_json()["received"],
            0,
            "nothing crossed the refused TLS"
        );
        tax.stop().await;
        fund.stop().await;
        app.stop().await;
    }
}
