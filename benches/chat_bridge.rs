//! Chat-bridge throughput and HTTP → MUC latency against a real Prosody (apt `prosody`): a
//! private Prosody on a free port, meetplane bridging one MUC, and an observer client in the
//! MUC timing each message's arrival. Prints sendChatMessage/s sequentially (one keep-alive
//! connection) and with 8 concurrent clients, p50/p99 of HTTP request → MUC arrival, and how
//! many messages reached the MUC more than once (none should).
//! Run with `cargo bench --bench chat_bridge` (SQLite) or with `MEETPLANE_BENCH_DATABASE_URL`
//! pointing at Postgres; `MEETPLANE_BENCH_MESSAGES` changes the count (default 2000);
//! `MEETPLANE_BENCH_LOG=1` logs the bridge (reconnects, errors) to stderr, `RUST_LOG` filters.
//!
//! PROTOCOLS.md measured the original bridge on a 2-core machine at ~230/s sequential, ~360/s
//! with 8 clients and an HTTP → MUC p99 of 9 ms.
mod common;

use std::{
    collections::HashMap,
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use futures_util::StreamExt;
use meetplane::{
    app::Application,
    config::{ChatConfig, Settings},
    domain::audit::By,
    domain::{clients, orgs},
};
use sha2::{Digest, Sha512};
use tokio_xmpp::{Client, Event, Stanza, connect::DnsConfig, xmlstream::Timeouts};
use xmpp_parsers::{jid::BareJid, muc::Muc, presence::Presence};

const ROOM: &str = "bench@conference.localhost";

/// The server, and its folder (kept until the server is gone).
struct Prosody(Child, #[allow(dead_code)] tempfile::TempDir);

impl Drop for Prosody {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn prosody(port: u16) -> anyhow::Result<Prosody> {
    let dir = tempfile::tempdir()?;
    let cfg = dir.path().join("prosody.cfg.lua");
    std::fs::create_dir_all(dir.path().join("data"))?;
    std::fs::write(
        &cfg,
        format!(
            r#"run_as_root = true
daemonize = false
pidfile = "{d}/prosody.pid"
data_path = "{d}/data"
log = {{ error = "{d}/prosody.log" }}
interfaces = {{ "127.0.0.1" }}
c2s_ports = {{ {port} }}
s2s_ports = {{ }}
http_ports = {{ }}
https_ports = {{ }}
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
authentication = "internal_plain"
modules_enabled = {{ "saslauth", "disco", "ping", "roster" }}
modules_disabled = {{ "s2s", "http", "posix" }}
VirtualHost "localhost"
Component "conference.localhost" "muc"
    muc_room_locking = false
    max_history_messages = 0
"#,
            d = dir.path().display()
        ),
    )?;
    for (user, pw) in [("bridge", "bridgepw"), ("observer", "observerpw")] {
        let ok = Command::new("prosodyctl")
            .arg("--config")
            .arg(&cfg)
            .args(["register", user, "localhost", pw])
            .status()?
            .success();
        anyhow::ensure!(ok, "prosodyctl register failed");
    }
    let child = Command::new("prosody")
        .arg("--config")
        .arg(&cfg)
        .arg("-F")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let p = Prosody(child, dir);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(p)
}

fn body(user: &str, message: &str, secret: &str) -> String {
    let python = format!(r#"{{"user_name": "{user}", "message": "{message}"}}"#);
    let ts = chrono::Utc::now().timestamp();
    let sum = hex::encode(Sha512::digest(
        format!("sendChatMessage{python}{secret}{ts}").as_bytes(),
    ));
    format!(r#"{{"user_name": "{user}", "message": "{message}", "checksum": "{sum}"}}"#)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    meetplane::install_crypto_provider();
    if std::env::var_os("MEETPLANE_BENCH_LOG").is_some() {
        meetplane::telemetry::init(
            meetplane::config::LogFormat::Text,
            "warn,meetplane::xmpp=info",
        );
    }
    if Command::new("prosody").arg("--help").output().is_err() {
        println!("skipped: the chat-bridge benchmark needs Prosody (apt-get install -y prosody)");
        return Ok(());
    }
    let n: usize = std::env::var("MEETPLANE_BENCH_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let _prosody = prosody(port).await?;

    let dir = tempfile::tempdir()?;
    let bench_db = common::BenchDb::create(dir.path()).await?;
    let mut config = common::config(dir.path(), &bench_db)?;
    // One load generator from one address: the rate limits would measure themselves.
    config.limits.per_client_per_minute = None;
    config.limits.per_address_per_minute = None;
    config.chat = ChatConfig::from_settings(&Settings {
        xmpp_jid: Some("bridge@localhost".into()),
        xmpp_password: Some("bridgepw".into()),
        xmpp_server: Some(format!("127.0.0.1:{port}")),
        ..Default::default()
    })?;
    let app = Application::build(config).await?;
    let state = app.state().clone();
    let base = format!("http://127.0.0.1:{}", app.port());
    let org = orgs::resolve(&state.db, "Default").await?.id;
    let secret = clients::create(&state, &By::cli(org), "bench")
        .await?
        .secret;
    tokio::spawn(app.run_until(std::future::pending()));
    let http = reqwest::Client::new();

    let python = format!(r#"{{"jid_room": "{ROOM}"}}"#);
    let ts = chrono::Utc::now().timestamp();
    let sum = hex::encode(Sha512::digest(
        format!("startChatForRoom{python}{secret}{ts}").as_bytes(),
    ));
    let r = http
        .post(format!("{base}/api/startChatForRoom"))
        .body(format!(r#"{{"jid_room": "{ROOM}", "checksum": "{sum}"}}"#))
        .send()
        .await?;
    anyhow::ensure!(r.status().is_success(), "start failed: {}", r.text().await?);
    while !state.bridge.get().rooms_joined.iter().any(|r| r == ROOM) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // The observer: notes when each message arrives in the MUC.
    let arrivals: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let duplicates: Arc<Mutex<usize>> = Arc::default();
    let mut observer = Client::new_plaintext(
        BareJid::new("observer@localhost")?,
        "observerpw".to_string(),
        DnsConfig::addr(&format!("127.0.0.1:{port}")),
        Timeouts::tight(),
    );
    while let Some(e) = observer.next().await {
        if e.is_online() {
            break;
        }
    }
    let occupant = BareJid::new(ROOM)?.with_resource_str("observer")?;
    observer
        .send_stanza(
            Presence::available()
                .with_to(occupant)
                .with_payload(Muc::default())
                .into(),
        )
        .await?;
    let seen = arrivals.clone();
    let again = duplicates.clone();
    tokio::spawn(async move {
        while let Some(e) = observer.next().await {
            if let Event::Stanza(Stanza::Message(m)) = e
                && let Some((_, body)) = m.get_best_body(vec![])
                && let Some(key) = body.strip_prefix("bench wrote:\n")
            {
                let mut seen = seen.lock().unwrap();
                if seen.contains_key(key) {
                    *again.lock().unwrap() += 1;
                } else {
                    seen.insert(key.to_string(), Instant::now());
                }
            }
        }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;

    println!("backend: {}, messages: {n}", bench_db.backend());
    let send_url = format!("{base}/api/sendChatMessage/{ROOM}");
    // Sequential, one keep-alive connection.
    let mut sent_at = HashMap::new();
    let started = Instant::now();
    for i in 0..n {
        let key = format!("s{i}");
        sent_at.insert(key.clone(), Instant::now());
        let r = http
            .post(&send_url)
            .body(body("bench", &key, &secret))
            .send()
            .await?;
        anyhow::ensure!(r.status().is_success(), "send failed: {}", r.text().await?);
    }
    let secs = started.elapsed().as_secs_f64();
    println!("sequential: {:.0} sendChatMessage/s", n as f64 / secs);

    // 8 concurrent clients.
    let started = Instant::now();
    let results = futures_util::stream::iter(0..n)
        .map(|i| {
            let (http, url, b) = (
                http.clone(),
                send_url.clone(),
                body("bench", &format!("c{i}"), &secret),
            );
            async move {
                http.post(&url)
                    .body(b)
                    .send()
                    .await
                    .map(|r| r.status().is_success())
            }
        })
        .buffer_unordered(8)
        .collect::<Vec<_>>()
        .await;
    let secs = started.elapsed().as_secs_f64();
    anyhow::ensure!(
        results.iter().all(|r| matches!(r, Ok(true))),
        "a send failed"
    );
    println!("8 clients: {:.0} sendChatMessage/s", n as f64 / secs);

    // Latency of the sequential phase: request sent → message in the MUC.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let got = arrivals.lock().unwrap().len();
        if got >= 2 * n || Instant::now() > deadline {
            println!(
                "arrived in the MUC: {got} of {}, {} more than once",
                2 * n,
                duplicates.lock().unwrap()
            );
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let arrived = arrivals.lock().unwrap().clone();
    let mut ms: Vec<f64> = sent_at
        .iter()
        .filter_map(|(k, t)| {
            arrived
                .get(k)
                .map(|a| a.duration_since(*t).as_secs_f64() * 1000.0)
        })
        .collect();
    ms.sort_by(f64::total_cmp);
    if !ms.is_empty() {
        println!(
            "HTTP -> MUC latency (sequential): p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            percentile(&ms, 0.5),
            percentile(&ms, 0.99),
            ms[ms.len() - 1]
        );
    }
    bench_db.drop_scratch().await?;
    Ok(())
}
