//! Headless Chromium driven over WebDriver (Debian's `chromium` and `chromium-driver`): one
//! chromedriver per test on a free port, one browser (with its own profile) per session.
//! Screenshots go to `target/test-artifacts/`.
use std::{
    os::unix::process::CommandExt,
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use serde_json::Value;
use thirtyfour::{ChromiumLikeCapabilities, DesiredCapabilities, LoggingPrefsLogLevel, WebDriver};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// Whether Chromium and chromedriver are installed; outside CI a missing browser skips the
/// test (saying so), in CI it fails it.
pub fn available() -> bool {
    let found =
        std::path::Path::new(CHROMIUM).exists() && std::path::Path::new(CHROMEDRIVER).exists();
    if !found {
        assert!(
            std::env::var("CI").is_err(),
            "browser tests need Chromium: apt-get install -y chromium chromium-driver"
        );
        eprintln!(
            "skipped: browser tests need Chromium (apt-get install -y chromium chromium-driver)"
        );
    }
    found
}

pub struct Driver {
    url: String,
    child: Child,
    profiles: Vec<tempfile::TempDir>,
}

impl Driver {
    pub async fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        // Its own process group, so that dropping the driver also ends the browsers it started
        // when a test fails before quitting them (they would otherwise outlive the test).
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("chromedriver starts");
        let url = format!("http://127.0.0.1:{port}");
        // chromedriver has no readiness signal but its status endpoint.
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let ready = reqwest::get(format!("{url}/status"))
                .await
                .ok()
                .map(|r| r.status().is_success());
            if ready == Some(true) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver did not become ready"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Self {
            url,
            child,
            profiles: Vec::new(),
        }
    }

    /// A new headless browser.
    pub async fn browser(&mut self) -> WebDriver {
        self.browser_with("1280,800", &[]).await
    }

    /// A new headless browser with this window size ("W,H") and extra Chromium flags (e.g.
    /// the fake camera and microphone of the media tests).
    pub async fn browser_with(&mut self, window: &str, extra: &[&str]) -> WebDriver {
        let profile = tempfile::tempdir().unwrap();
        let mut caps = DesiredCapabilities::chrome();
        caps.set_binary(CHROMIUM).unwrap();
        for arg in [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ] {
            caps.add_arg(arg).unwrap();
        }
        caps.add_arg(&format!("--window-size={window}")).unwrap();
        for arg in extra {
            caps.add_arg(arg).unwrap();
        }
        caps.add_arg(&format!("--user-data-dir={}", profile.path().display()))
            .unwrap();
        // Errors on the console (uncaught ones included) can be read with `browser_log`.
        caps.set_browser_log_level(LoggingPrefsLogLevel::Severe)
            .unwrap();
        self.profiles.push(profile);
        WebDriver::new(&self.url, caps)
            .await
            .expect("a Chromium session")
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        if let Ok(group) = i32::try_from(self.child.id()) {
            // SAFETY: killpg only sends a signal to the group this driver created.
            unsafe { libc::killpg(group, libc::SIGKILL) };
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Run `script` (which returns a value) until `done` accepts its result; panic after 20 s.
pub async fn wait_for(
    browser: &WebDriver,
    what: &str,
    script: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    wait_up_to(browser, Duration::from_secs(20), what, script, done).await
}

/// `wait_for` with its own limit (a script may return a promise: its value is used).
pub async fn wait_up_to(
    browser: &WebDriver,
    limit: Duration,
    what: &str,
    script: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + limit;
    loop {
        let v = browser
            .execute(script, Vec::new())
            .await
            .unwrap()
            .json()
            .clone();
        if done(&v) {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}; last value: {v}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Save a screenshot as `target/test-artifacts/{name}.png`.
pub async fn screenshot(browser: &WebDriver, name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/test-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}.png"));
    browser.screenshot(&path).await.unwrap();
    path
}
