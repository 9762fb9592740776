//! The outbound client against a real https peer on loopback (tokio-rustls with the test
//! certificate of `tests/data/tls`): trusted through the CA file it answers; without the CA
//! file the same call fails on the certificate; plain http still works; the time limit and the
//! answer cap hold.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use amr_kernel::outbound::Outbound;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

fn tls_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/tls")
}

/// An HTTP/1.1 peer answering every request with `body` (after `delay`), over TLS when
/// `tls` is true. Returns its port.
async fn peer(tls: bool, body: &'static str, delay: Duration) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let acceptor = tls.then(|| {
        let certs: Vec<CertificateDer<'static>> =
            CertificateDer::pem_file_iter(tls_dir().join("server.pem"))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
        let key = PrivateKeyDer::from_pem_file(tls_dir().join("server.key")).unwrap();
        let cfg = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
        tokio_rustls::TlsAcceptor::from(Arc::new(cfg))
    });
    tokio::spawn(async move {
        loop {
            let (sock, _) = listener.accept().await.unwrap();
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\nx-peer: yes\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                match acceptor {
                    Some(a) => {
                        let Ok(mut s) = a.accept(sock).await else {
                            return;
                        };
                        let _ = read_request(&mut s).await;
                        tokio::time::sleep(delay).await;
                        let _ = s.write_all(answer.as_bytes()).await;
                        let _ = s.shutdown().await;
                    }
                    None => {
                        let mut s = sock;
                        let _ = read_request(&mut s).await;
                        tokio::time::sleep(delay).await;
                        let _ = s.write_all(answer.as_bytes()).await;
                        let _ = s.shutdown().await;
                    }
                }
            });
        }
    });
    port
}

/// Reads the request head and a body of `content-length` bytes.
async fn read_request<S: AsyncReadExt + Unpin>(s: &mut S) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = s.read(&mut chunk).await?;
        if n == 0 {
            return Ok(buf);
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let len = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            if buf.len() >= end + 4 + len {
                return Ok(buf);
            }
        }
    }
}

fn client(ca: bool) -> Outbound {
    let ca_file = tls_dir().join("ca.pem");
    Outbound::new(
        Duration::from_secs(3),
        1024,
        ca.then_some(ca_file.as_path()),
        "test_ca_file",
    )
    .unwrap()
}

#[tokio::test]
async fn https_with_the_deployment_ca_answers() {
    let port = peer(true, "hello over tls", Duration::ZERO).await;
    for host in ["localhost", "127.0.0.1"] {
        let a = client(true)
            .post(
                &format!("https://{host}:{port}/x"),
                &[("content-type", "application/json")],
                b"{}".to_vec(),
            )
            .await
            .unwrap();
        assert_eq!(a.status, 200);
        assert_eq!(a.header("x-peer"), Some("yes"));
        assert_eq!(&a.body[..], b"hello over tls");
    }
}

#[tokio::test]
async fn https_to_an_untrusted_certificate_fails() {
    let port = peer(true, "secret", Duration::ZERO).await;
    let e = client(false)
        .post(&format!("https://127.0.0.1:{port}/x"), &[], b"{}".to_vec())
        .await
        .unwrap_err();
    assert!(
        e.contains("certificate") || e.contains("Certificate"),
        "{e}"
    );
}

#[tokio::test]
async fn plain_http_still_works_and_limits_hold() {
    let port = peer(false, "plain", Duration::ZERO).await;
    let a = client(false)
        .post(&format!("http://127.0.0.1:{port}/x"), &[], b"{}".to_vec())
        .await
        .unwrap();
    assert_eq!(&a.body[..], b"plain");

    // Over the cap of 1,024 bytes.
    let big: &'static str = Box::leak("x".repeat(5000).into_boxed_str());
    let port = peer(false, big, Duration::ZERO).await;
    let e = client(false)
        .post(&format!("http://127.0.0.1:{port}/x"), &[], b"{}".to_vec())
        .await
        .unwrap_err();
    assert!(e.contains("读取应答失败"), "{e}");

    // Slower than the time limit.
    let slow = Outbound::new(Duration::from_millis(300), 1024, None, "t").unwrap();
    let port = peer(false, "late", Duration::from_secs(2)).await;
    let e = slow
        .post(&format!("http://127.0.0.1:{port}/x"), &[], b"{}".to_vec())
        .await
        .unwrap_err();
    assert!(e.contains("无应答"), "{e}");

    // Not http(s).
    let e = slow
        .post("ftp://127.0.0.1/x", &[], b"".to_vec())
        .await
        .unwrap_err();
    assert!(e.contains("http://"), "{e}");
}

#[test]
fn a_bad_ca_file_is_a_configuration_error() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("ca.pem");
    std::fs::write(&p, "not a certificate").unwrap();
    let e = Outbound::new(Duration::from_secs(1), 1024, Some(&p), "exchange_ca_file").unwrap_err();
    assert!(
        e.to_string().contains("exchange_ca_file") || format!("{e:?}").contains("exchange_ca_file"),
        "{e:?}"
    );
    let missing = dir.path().join("none.pem");
    assert!(Outbound::new(Duration::from_secs(1), 1024, Some(&missing), "x").is_err());
}
