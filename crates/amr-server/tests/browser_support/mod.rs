//! What the browser tests share: Debian's `chromedriver` started on a free port (killed when
//! dropped), a headless Chromium session on it, and the rule for a machine without them
//! ([`available`]).

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder};

/// Whether the browser tests can run here. Without `chromedriver` they print a NOTICE and
/// pass, unless `AMR_BROWSER_REQUIRED=1` (then they fail).
pub fn available() -> bool {
    if Path::new(CHROMEDRIVER).exists() {
        return true;
    }
    if std::env::var("AMR_BROWSER_REQUIRED").is_ok_and(|v| v == "1") {
        panic!("AMR_BROWSER_REQUIRED=1 but {CHROMEDRIVER} is missing");
    }
    eprintln!(
        "NOTICE: browser test skipped: {CHROMEDRIVER} is missing \
         (apt-get install chromium chromium-driver)."
    );
    false
}

pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
pub const CHROMIUM: &str = "/usr/bin/chromium";

/// The chromedriver child process, killed when dropped (also when the test panics).
pub struct Driver {
    child: Child,
    pub url: String,
    _profile: tempfile::TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    l.local_addr().unwrap().port()
}

/// Starts chromedriver on a free port and waits until it answers.
pub async fn start_driver() -> Driver {
    let port = free_port();
    let child = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let driver = Driver {
        child,
        url: format!("http://127.0.0.1:{port}"),
        _profile: tempfile::tempdir().expect("profile dir"),
    };
    let status = format!("{}/status", driver.url);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(r) = reqwest::get(&status).await
            && r.status().is_success()
        {
            return driver;
        }
        assert!(Instant::now() < deadline, "chromedriver did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub async fn open_browser(driver: &Driver) -> Client {
    let profile = format!("--user-data-dir={}", driver._profile.path().display());
    let caps = serde_json::json!({
        "goog:chromeOptions": {
            "binary": CHROMIUM,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", profile,
            ],
        }
    });
    let serde_json::Value::Object(caps) = caps else {
        unreachable!("a JSON object")
    };
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    ClientBuilder::new(connector)
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .expect("open a Chromium session")
}
