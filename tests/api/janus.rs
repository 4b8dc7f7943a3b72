//! The Janus SFU: `meetplane janus config` writes a configuration a real Janus runs with, and
//! that Janus answers meetplane's Admin API calls. Janus runs on 127.0.0.1 with free ports;
//! its APIs need no other interface (only ICE does, which these tests do not use).
use std::{
    io::{BufRead, BufReader},
    net::TcpListener,
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use serde_json::{Value, json};

pub const API_SECRET: &str = "test-janus-api-secret";
pub const ADMIN_SECRET: &str = "test-janus-admin-secret";
pub const ADMIN_KEY: &str = "test-janus-admin-key-0";
pub const EVENTS_SECRET: &str = "test-janus-events-secret";

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn installed(binary: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| Path::new(&d).join(binary).is_file()))
}

/// Whether Janus can run here; outside CI a missing Janus skips the test with a message.
pub fn janus_installed(test: &str) -> bool {
    if installed("janus") {
        return true;
    }
    assert!(
        std::env::var("CI").is_err(),
        "{test} needs Janus (apt-get install janus)"
    );
    eprintln!("skipped: {test} needs Janus (apt-get install janus)");
    false
}

/// The Janus settings of a test: free ports on loopback, the test secrets.
#[derive(Debug, Clone)]
pub struct JanusPorts {
    pub ws: u16,
    pub admin: u16,
}

impl JanusPorts {
    pub fn pick() -> Self {
        Self {
            ws: free_port(),
            admin: free_port(),
        }
    }

    pub fn ws_url(&self) -> String {
        format!("ws://127.0.0.1:{}", self.ws)
    }

    pub fn admin_url(&self) -> String {
        format!("http://127.0.0.1:{}/admin", self.admin)
    }

    /// The environment naming this Janus to meetplane.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("MEETPLANE_JANUS_WS_URL", self.ws_url()),
            ("MEETPLANE_JANUS_ADMIN_URL", self.admin_url()),
            ("MEETPLANE_JANUS_API_SECRET", API_SECRET.into()),
            ("MEETPLANE_JANUS_ADMIN_SECRET", ADMIN_SECRET.into()),
            ("MEETPLANE_JANUS_ADMIN_KEY", ADMIN_KEY.into()),
            ("MEETPLANE_JANUS_EVENTS_SECRET", EVENTS_SECRET.into()),
        ]
    }
}

/// Run `meetplane janus config` for these ports into `dir`.
pub fn write_config(ports: &JanusPorts, dir: &Path, events_url: &str) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_meetplane"));
    cmd.args(["janus", "config", "--out"])
        .arg(dir)
        .args(["--events-url", events_url])
        .env("RUST_LOG", "warn");
    for (k, v) in ports.env() {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

/// A Janus process configured by `meetplane janus config`; killed when dropped.
pub struct JanusProcess {
    child: Child,
    pub ports: JanusPorts,
    pub dir: tempfile::TempDir,
}

impl Drop for JanusProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl JanusProcess {
    /// Configure and start a Janus whose events go to `events_url`; waits until its Admin
    /// API answers.
    pub async fn start(events_url: &str) -> Self {
        Self::start_on(JanusPorts::pick(), events_url).await
    }

    /// The same on the ports a meetplane was configured with.
    pub async fn start_on(ports: JanusPorts, events_url: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let out = write_config(&ports, dir.path(), events_url);
        assert!(out.status.success(), "{out:?}");
        let child = spawn(dir.path());
        let janus = Self { child, ports, dir };
        janus.wait_until_it_answers().await;
        janus
    }

    /// Kill Janus and start it again with the same configuration (its rooms and tokens,
    /// which live in memory only, are gone).
    pub async fn restart(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.child = spawn(self.dir.path());
        self.wait_until_it_answers().await;
    }

    pub async fn admin(&self, mut body: Value) -> Value {
        body["transaction"] = json!("t");
        body["admin_secret"] = json!(ADMIN_SECRET);
        reqwest::Client::new()
            .post(self.ports.admin_url())
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// The peers' tokens Janus holds (meetplane's own restart sentinel aside).
    pub async fn tokens(&self) -> Vec<String> {
        let answer = self.admin(json!({"janus": "list_tokens"})).await;
        answer["data"]["tokens"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["token"].as_str().unwrap().to_string())
            .filter(|t| t.starts_with("mpj_"))
            .collect()
    }

    async fn wait_until_it_answers(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        let http = reqwest::Client::new();
        loop {
            let ping = json!({"janus": "ping", "transaction": "p", "admin_secret": ADMIN_SECRET});
            let answer = http.post(self.ports.admin_url()).json(&ping).send().await;
            if let Ok(resp) = answer
                && resp
                    .json::<Value>()
                    .await
                    .is_ok_and(|v| v["janus"] == "pong")
            {
                return;
            }
            assert!(Instant::now() < deadline, "Janus did not start answering");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

fn spawn(dir: &Path) -> Child {
    let mut child = Command::new("janus")
        .arg("-F")
        .arg(dir)
        .args(["-o", "-d", "3"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if std::env::var("MEETPLANE_TEST_NODE_LOGS").is_ok() {
                eprintln!("janus: {line}");
            }
        }
    });
    child
}

#[tokio::test]
async fn janus_config_writes_files_a_real_janus_runs_with() {
    let ports = JanusPorts::pick();
    let dir = tempfile::tempdir().unwrap();
    let events = "http://127.0.0.1:9/internal/janus/events";
    let out = write_config(&ports, dir.path(), events);
    assert!(out.status.success(), "{out:?}");
    let read = |name: &str| std::fs::read_to_string(dir.path().join(name)).unwrap();
    let core = read("janus.jcfg");
    for expected in [
        "token_auth = true",
        &format!("api_secret = \"{API_SECRET}\""),
        &format!("admin_secret = \"{ADMIN_SECRET}\""),
        "broadcast = true",
        "libjanus_echotest.so",
        "libjanus_pfunix.so",
        "libjanus_wsevh.so",
    ] {
        assert!(core.contains(expected), "{expected} in {core}");
    }
    assert!(!core.contains("token_auth_secret"), "{core}");
    assert!(!core.contains("ice_enforce_list"), "{core}");
    let room = read("janus.plugin.videoroom.jcfg");
    assert!(
        room.contains(&format!("admin_key = \"{ADMIN_KEY}\"")),
        "{room}"
    );
    assert!(room.contains("string_ids = true"), "{room}");
    let ws = read("janus.transport.websockets.jcfg");
    assert!(ws.contains(&format!("ws_port = {}", ports.ws)), "{ws}");
    assert!(ws.contains("ws_ip = \"127.0.0.1\""), "{ws}");
    assert!(ws.contains("admin_ws = false"), "{ws}");
    let http = read("janus.transport.http.jcfg");
    assert!(http.contains("http = false"), "{http}");
    assert!(
        http.contains(&format!("admin_port = {}", ports.admin)),
        "{http}"
    );
    assert!(http.contains("admin_base_path = \"/admin\""), "{http}");
    let evh = read("janus.eventhandler.sampleevh.jcfg");
    assert!(evh.contains(&format!("backend = \"{events}\"")), "{evh}");
    assert!(
        evh.contains(&format!("backend_pwd = \"{EVENTS_SECRET}\"")),
        "{evh}"
    );
    assert!(
        evh.contains("events = \"sessions,handles,plugins,webrtc\""),
        "{evh}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("janus.jcfg"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "secrets are readable by their owner only");
    }

    // The interface Janus gathers candidates on (a media test's veth), when named.
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_meetplane"));
    cmd.args(["janus", "config", "--ice-enforce-list", "v0", "--out"])
        .arg(dir.path().join("enforced"));
    for (k, v) in ports.env() {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let enforced = std::fs::read_to_string(dir.path().join("enforced/janus.jcfg")).unwrap();
    assert!(enforced.contains("ice_enforce_list = \"v0\""), "{enforced}");

    // Without Janus settings the command says what is missing.
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_meetplane"));
    let out = cmd
        .args(["janus", "config", "--out"])
        .arg(dir.path().join("none"))
        .env_remove("MEETPLANE_JANUS_WS_URL")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("MEETPLANE_JANUS_WS_URL"),
        "{out:?}"
    );

    if !janus_installed("the Janus configuration test") {
        return;
    }
    let janus = JanusProcess::start(events).await;
    let info = janus.admin(json!({"janus": "info"})).await;
    assert_eq!(info["janus"], "server_info", "{info}");
    assert_eq!(info["api_secret"], true, "{info}");
    assert_eq!(info["auth_token"], true, "{info}");
    let plugins: Vec<&String> = info["plugins"].as_object().unwrap().keys().collect();
    assert_eq!(plugins, ["janus.plugin.videoroom"], "{info}");
    let transports: Vec<&String> = info["transports"].as_object().unwrap().keys().collect();
    assert_eq!(
        transports,
        ["janus.transport.http", "janus.transport.websockets"],
        "{info}"
    );
    let handlers: Vec<&String> = info["events"].as_object().unwrap().keys().collect();
    assert_eq!(handlers, ["janus.eventhandler.sampleevh"], "{info}");
    // The admin secret is what lets a request in (ping answers anyone).
    let refused: Value = reqwest::Client::new()
        .post(janus.ports.admin_url())
        .json(&json!({"janus": "list_tokens", "transaction": "t", "admin_secret": "wrong"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(refused["error"]["code"], 403, "{refused}");
}
