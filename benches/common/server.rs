//! The real server for a bench: the release binary (`CARGO_BIN_EXE_meetplane`, the bench
//! profile) as its own process, with its defaults (background workers on, request log to a
//! file in the bench's directory), and what a client needs to call it.
use std::{
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use meetplane::auth::seal::MasterKey;

/// A `meetplane serve` process, killed when dropped.
pub struct ServerProcess(Child);

impl ServerProcess {
    pub fn pid(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the binary on `database_url` and waits until `/readyz` answers 200. Returns the
/// process and its base URL. `MEETPLANE_BENCH_SERVER_LOG`, when set, is the server's
/// `RUST_LOG`.
pub async fn spawn_server(
    dir: &Path,
    database_url: &str,
    key: &MasterKey,
) -> anyhow::Result<(ServerProcess, String)> {
    // A port the OS just handed out and released; good enough on an otherwise idle loopback.
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    spawn_server_with(dir, database_url, key, port, &[]).await
}

/// `spawn_server` on `port`, with more settings (`env`).
pub async fn spawn_server_with(
    dir: &Path,
    database_url: &str,
    key: &MasterKey,
    port: u16,
    env: &[(&str, &str)],
) -> anyhow::Result<(ServerProcess, String)> {
    let log_path = dir.join("server.log");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_meetplane"));
    // The bench's own environment (`MEETPLANE_BENCH_*`) must not reach the server, which
    // refuses unknown `MEETPLANE_*` variables.
    for (name, _) in std::env::vars() {
        if name.starts_with("MEETPLANE_") || name == "DATABASE_URL" || name == "RUST_LOG" {
            cmd.env_remove(name);
        }
    }
    if let Ok(filter) = std::env::var("MEETPLANE_BENCH_SERVER_LOG") {
        cmd.env("RUST_LOG", filter);
    }
    cmd.arg("serve")
        .env("DATABASE_URL", database_url)
        .env("MEETPLANE_MASTER_KEY", key.to_hex())
        .env("MEETPLANE_DATA_DIR", dir)
        .env("MEETPLANE_LISTEN", format!("127.0.0.1:{port}"))
        // One load generator from one address: the rate limits would measure themselves.
        .env("MEETPLANE_RATE_LIMIT_ADDRESS", "0")
        .env("MEETPLANE_RATE_LIMIT_CLIENT", "0")
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log_path)?);
    let mut server = ServerProcess(cmd.spawn()?);
    let address = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let started = Instant::now();
    loop {
        let ready = http.get(format!("{address}/readyz")).send().await;
        if ready.is_ok_and(|r| r.status().is_success()) {
            return Ok((server, address));
        }
        if let Some(status) = server.0.try_wait()? {
            let log = std::fs::read_to_string(&log_path)?;
            anyhow::bail!("meetplane serve exited with {status}:\n{log}");
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(60),
            "meetplane serve was not ready within 60 s"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A client-credentials access token for the API client `key`/`secret`.
pub async fn access_token(
    http: &reqwest::Client,
    address: &str,
    key: &str,
    secret: &str,
) -> anyhow::Result<String> {
    let token: serde_json::Value = http
        .post(format!("{address}/v1/auth/token"))
        .basic_auth(key, Some(secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    Ok(token["access_token"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("no access_token in {token}"))?
        .to_string())
}
