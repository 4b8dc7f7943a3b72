//! A real Janus (Debian's `janus` 1.1.2) for the media tests, inside the test's private network
//! namespace: configured by `meetplane janus config --out DIR --ice-enforce-list v0` (so that
//! command is tested for real) and run as `janus -F DIR`. Fixed ports are fine in the
//! namespace: Janus's WebSocket API on 8188, its Admin API on 7088, and the app on 8090 so
//! Janus's event handler reaches it. Killed on drop.
use std::{
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use meetplane::config::{Config, JanusConfig, SecretString};
use serde_json::{Value, json};

const WS_URL: &str = "ws://127.0.0.1:8188";
const ADMIN_URL: &str = "http://127.0.0.1:7088/admin";
const API_SECRET: &str = "janus-api-secret-for-the-media-tests";
const ADMIN_SECRET: &str = "janus-admin-secret-for-the-media-tests";
const ADMIN_KEY: &str = "janus-admin-key-for-the-media-tests";
const EVENTS_SECRET: &str = "janus-events-secret-for-the-media-tests";
/// Where the app listens, so Janus's events reach it.
pub const APP_LISTEN: &str = "127.0.0.1:8090";

pub struct Janus {
    child: Option<Child>,
    dir: tempfile::TempDir,
    http: reqwest::Client,
}

/// Whether `janus` is installed; without it the test is skipped, saying so (in CI it fails).
pub fn installed() -> bool {
    let found = Command::new("sh")
        .args(["-c", "command -v janus"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "the Janus tests need janus: apt-get install -y janus"
        );
        eprintln!("skipped: the Janus tests need janus (apt-get install -y janus)");
    }
    found
}

/// The app's side of the same settings: Janus on, and listening where Janus posts events.
pub fn configure(c: &mut Config) {
    c.listen = APP_LISTEN.parse().unwrap();
    c.janus = Some(JanusConfig {
        ws_url: WS_URL.parse().unwrap(),
        admin_url: ADMIN_URL.parse().unwrap(),
        api_secret: SecretString::new(API_SECRET),
        admin_secret: SecretString::new(ADMIN_SECRET),
        admin_key: SecretString::new(ADMIN_KEY),
        events_secret: SecretString::new(EVENTS_SECRET),
    });
}

/// The same settings as `meetplane` reads them from its environment.
pub fn env() -> [(&'static str, &'static str); 6] {
    [
        ("MEETPLANE_JANUS_WS_URL", WS_URL),
        ("MEETPLANE_JANUS_ADMIN_URL", ADMIN_URL),
        ("MEETPLANE_JANUS_API_SECRET", API_SECRET),
        ("MEETPLANE_JANUS_ADMIN_SECRET", ADMIN_SECRET),
        ("MEETPLANE_JANUS_ADMIN_KEY", ADMIN_KEY),
        ("MEETPLANE_JANUS_EVENTS_SECRET", EVENTS_SECRET),
    ]
}

impl Janus {
    /// Write the configuration with `meetplane janus config` and start Janus; ready when its
    /// Admin API answers `ping`.
    pub async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_meetplane"));
        // meetplane refuses unknown MEETPLANE_* variables, such as the tests' own.
        for (name, _) in std::env::vars() {
            if name.starts_with("MEETPLANE_") || name == "DATABASE_URL" {
                command.env_remove(name);
            }
        }
        let out = command
            .args(["janus", "config", "--out"])
            .arg(dir.path())
            .args(["--ice-enforce-list", "v0", "--events-url"])
            .arg(format!("http://{APP_LISTEN}/internal/janus/events"))
            .envs(env())
            .output()
            .expect("meetplane runs");
        assert!(
            out.status.success(),
            "meetplane janus config: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut janus = Self {
            child: None,
            dir,
            http: reqwest::Client::new(),
        };
        janus.spawn().await;
        janus
    }

    async fn spawn(&mut self) {
        let log = std::fs::File::create(self.log_path()).unwrap();
        let child = Command::new("janus")
            .arg("-F")
            .arg(self.dir.path())
            .args(["--disable-colors", "--debug-level=4"])
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .stdin(Stdio::null())
            .spawn()
            .expect("janus starts");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("janus exited ({status}):\n{}", self.log());
            }
            if self.try_admin(json!({"janus": "ping"}), "").await.is_some() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "janus did not answer ping:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Kill Janus (its rooms, sessions and tokens go with it) and start it again.
    pub async fn restart(&mut self) {
        self.kill();
        self.spawn().await;
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn log_path(&self) -> std::path::PathBuf {
        self.dir.path().join("janus.log")
    }

    /// Janus's output so far (for failure messages).
    pub fn log(&self) -> String {
        let bytes = std::fs::read(self.log_path()).unwrap_or_default();
        let start = bytes.len().saturating_sub(6000);
        String::from_utf8_lossy(&bytes[start..]).into_owned()
    }

    /// Janus's process id (while it runs).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    async fn try_admin(&self, mut body: Value, path: &str) -> Option<Value> {
        body["transaction"] = json!(uuid::Uuid::new_v4().to_string());
        body["admin_secret"] = json!(ADMIN_SECRET);
        let r = self
            .http
            .post(format!("{ADMIN_URL}{path}"))
            .json(&body)
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .ok()?;
        r.json().await.ok()
    }

    /// An Admin API request (`path`: "", "/SESSION" or "/SESSION/HANDLE").
    pub async fn admin(&self, body: Value, path: &str) -> Value {
        let v = self
            .try_admin(body.clone(), path)
            .await
            .unwrap_or_else(|| panic!("the Admin API answers {body}"));
        assert_eq!(v["janus"], json!("success"), "{body}: {v}");
        v
    }

    /// `handle_info` of every handle of every session Janus holds now.
    pub async fn handles(&self) -> Vec<Value> {
        let mut all = Vec::new();
        let sessions = self.admin(json!({"janus": "list_sessions"}), "").await;
        for s in sessions["sessions"].as_array().cloned().unwrap_or_default() {
            let Some(handles) = self
                .try_admin(json!({"janus": "list_handles"}), &format!("/{s}"))
                .await
            else {
                continue;
            };
            for h in handles["handles"].as_array().cloned().unwrap_or_default() {
                if let Some(info) = self
                    .try_admin(json!({"janus": "handle_info"}), &format!("/{s}/{h}"))
                    .await
                    && info["janus"] == json!("success")
                {
                    all.push(info["info"].clone());
                }
            }
        }
        all
    }

    /// The peers (VideoRoom `id` = peerId) publishing media now, from the handles' VideoRoom
    /// state.
    pub async fn publishers(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .handles()
            .await
            .iter()
            .filter(|h| {
                h["plugin_specific"]["type"] == json!("publisher")
                    && !strings_at(h, "selected-pair").is_empty()
            })
            .filter_map(|h| h["plugin_specific"]["id"].as_str().map(String::from))
            .collect();
        ids.sort();
        ids
    }

    /// Janus's own ends (`address:port`) of the media connections' selected candidate pairs.
    pub async fn media_ends(&self) -> Vec<String> {
        self.handles()
            .await
            .iter()
            .flat_map(|h| strings_at(h, "selected-pair"))
            .filter_map(|pair| pair.split_whitespace().next().map(String::from))
            .collect()
    }
}

/// Every string under `key` anywhere in `v` (where handle_info puts a field varies with the
/// Janus version).
fn strings_at<'a>(v: &'a Value, key: &str) -> Vec<&'a str> {
    match v {
        Value::Object(m) => m
            .iter()
            .flat_map(|(k, x)| match x.as_str() {
                Some(s) if k == key => vec![s],
                _ => strings_at(x, key),
            })
            .collect(),
        Value::Array(a) => a.iter().flat_map(|x| strings_at(x, key)).collect(),
        _ => Vec::new(),
    }
}

impl Drop for Janus {
    fn drop(&mut self) {
        self.kill();
    }
}
