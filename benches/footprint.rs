//! What the real binary costs to start and to keep running, on SQLite: cold start (spawning
//! `meetplane serve` until `/readyz` answers 200) on fresh data dirs and on an existing
//! migrated one, idle RSS, and RSS with 10,000 realtime WebSockets subscribed to their org.
//! The binary is the one cargo builds for this bench (`CARGO_BIN_EXE_meetplane`, the bench
//! profile, i.e. release), run with its defaults except for the data dir and a free port.
//!
//! Run with `cargo bench --bench footprint`. `MEETPLANE_BENCH_STARTS` sets the starts of each
//! kind (default 10), `MEETPLANE_BENCH_SOCKETS` the sockets (default 10,000). The bench raises
//! its own open-files soft limit to the hard limit; the server inherits it. Each socket costs
//! one descriptor on either side, so the hard limit must exceed the socket count (the bench
//! opens fewer, and says so, when it does not).
use std::{
    io::{Read, Write},
    net::TcpStream,
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::{
    connect_async_with_config,
    tungstenite::{Message, protocol::WebSocketConfig},
};

const BIN: &str = env!("CARGO_BIN_EXE_meetplane");
/// Sockets being opened at once (the server's accept queue and handshakes, not the target).
const OPENING: usize = 64;

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A meetplane command on `data_dir` with only that and `listen` set: the environment this
/// bench runs in (`MEETPLANE_BENCH_*`, `DATABASE_URL`, …) must not reach the server, which
/// refuses unknown `MEETPLANE_*` variables.
fn command(data_dir: &Path, port: u16) -> Command {
    let mut cmd = Command::new(BIN);
    for (name, _) in std::env::vars() {
        if name.starts_with("MEETPLANE_") || name == "DATABASE_URL" {
            cmd.env_remove(name);
        }
    }
    cmd.env("MEETPLANE_DATA_DIR", data_dir)
        .env("MEETPLANE_LISTEN", format!("127.0.0.1:{port}"))
        // 10,000 sockets from one address in seconds: far over the default address limit.
        .env("MEETPLANE_RATE_LIMIT_ADDRESS", "0")
        .env("MEETPLANE_RATE_LIMIT_CLIENT", "0");
    cmd
}

/// A `meetplane serve` process, stopped with SIGTERM (as a service manager would) when done.
struct Server {
    child: Child,
    port: u16,
    spawned: Instant,
}

impl Server {
    fn spawn(data_dir: &Path) -> anyhow::Result<Self> {
        // A port the OS just handed out and released; good enough on an otherwise idle loopback.
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let log = std::fs::File::create(data_dir.with_extension("log"))?;
        let mut cmd = command(data_dir, port);
        cmd.arg("serve").stdout(Stdio::null()).stderr(log);
        let spawned = Instant::now();
        let child = cmd.spawn()?;
        Ok(Self {
            child,
            port,
            spawned,
        })
    }

    /// Time from spawning until `/readyz` answers 200, polling every millisecond.
    fn wait_ready(&mut self, data_dir: &Path) -> anyhow::Result<Duration> {
        loop {
            if readyz_ok(self.port) {
                return Ok(self.spawned.elapsed());
            }
            if let Some(status) = self.child.try_wait()? {
                let log = std::fs::read_to_string(data_dir.with_extension("log"))?;
                anyhow::bail!("meetplane serve exited with {status}:\n{log}");
            }
            anyhow::ensure!(
                self.spawned.elapsed() < Duration::from_secs(60),
                "meetplane serve was not ready within 60 s"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// A field of /proc/PID/status in KiB (VmRSS: resident now, VmHWM: peak resident).
    fn memory_kib(&self, field: &str) -> anyhow::Result<u64> {
        status_kib(&format!("/proc/{}/status", self.child.id()), field)
    }

    fn stop(mut self) -> anyhow::Result<()> {
        // SAFETY: kill(2) on our own child's pid, which we have not reaped yet.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        let asked = Instant::now();
        while self.child.try_wait()?.is_none() {
            if asked.elapsed() > Duration::from_secs(10) {
                anyhow::bail!("meetplane serve did not stop within 10 s of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        Ok(())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// One `GET /readyz` on a fresh connection (no client library: nothing to warm up or pool).
fn readyz_ok(port: u16) -> bool {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    let mut status = [0u8; 12];
    s.write_all(b"GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .is_ok()
        && s.read_exact(&mut status).is_ok()
        && &status == b"HTTP/1.1 200"
}

fn status_kib(path: &str, field: &str) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(path)?;
    let line = status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .ok_or_else(|| anyhow::anyhow!("no {field} in {path}"))?;
    Ok(line.trim().trim_end_matches("kB").trim().parse()?)
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// Raise the open-files soft limit to the hard limit; returns the soft limit now in force.
fn raise_nofile() -> libc::rlim_t {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain getrlimit/setrlimit on a valid, initialised struct.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return 1024;
        }
        if limit.rlim_cur < limit.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: limit.rlim_max,
                rlim_max: limit.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                return raised.rlim_cur;
            }
        }
    }
    limit.rlim_cur
}

fn summary(name: &str, mut times: Vec<Duration>) {
    times.sort_unstable();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "cold start, {name:<22} median {:>6.1} ms  max {:>6.1} ms  (min {:.1} ms, {} starts)",
        ms(times[times.len() / 2]),
        ms(*times.last().unwrap()),
        ms(times[0]),
        times.len()
    );
}

fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "NOT met" }
}

fn main() -> anyhow::Result<()> {
    meetplane::install_crypto_provider();
    let starts = env_number("MEETPLANE_BENCH_STARTS", 10).max(1);
    let wanted = env_number("MEETPLANE_BENCH_SOCKETS", 10_000);
    let nofile = raise_nofile();
    // Headroom for the database, the listener and the runtime on the server's side.
    let sockets = wanted.min((nofile as usize).saturating_sub(200));
    println!(
        "binary: {BIN}\nbackend: sqlite, open-files limit {nofile}, {} cores shared by server and bench",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let root = tempfile::tempdir()?;

    // Fresh: every start creates the database, migrates, makes the default org and master key.
    let mut fresh = Vec::new();
    for i in 0..starts {
        let dir = root.path().join(format!("fresh-{i}"));
        let mut server = Server::spawn(&dir)?;
        fresh.push(server.wait_ready(&dir)?);
        server.stop()?;
    }
    // Existing: the last fresh dir, already migrated; what a restart costs.
    let dir = root.path().join(format!("fresh-{}", starts - 1));
    let mut existing = Vec::new();
    for _ in 0..starts {
        let mut server = Server::spawn(&dir)?;
        existing.push(server.wait_ready(&dir)?);
        server.stop()?;
    }
    let slowest = fresh.iter().chain(&existing).max().copied().unwrap();
    summary("fresh data dir:", fresh);
    summary("existing migrated dir:", existing);
    println!(
        "target cold start <= 200 ms: {} (slowest {:.1} ms)",
        verdict(slowest <= Duration::from_millis(200)),
        slowest.as_secs_f64() * 1000.0
    );

    // Idle: started, ready, then left alone so start-up allocations and lazy pools settle.
    let mut server = Server::spawn(&dir)?;
    server.wait_ready(&dir)?;
    let at_ready = server.memory_kib("VmRSS")?;
    std::thread::sleep(Duration::from_secs(5));
    let idle = server.memory_kib("VmRSS")?;
    println!(
        "idle RSS: {:.1} MiB at ready, {:.1} MiB ({:.1} MB) after 5 s idle: {:.1} MiB anonymous, {:.1} MiB file-backed (pages of the binary)",
        mib(at_ready),
        mib(idle),
        idle as f64 * 1024.0 / 1e6,
        mib(server.memory_kib("RssAnon")?),
        mib(server.memory_kib("RssFile")?)
    );
    println!(
        "target idle RSS <= 30 MB: {}",
        verdict(idle * 1024 <= 30_000_000)
    );

    // The socket part needs the async client; the server is a separate process throughout.
    let runtime = tokio::runtime::Runtime::new()?;
    let with_sockets = runtime.block_on(realtime(&server, &dir, sockets))?;
    println!(
        "RSS with {sockets} realtime sockets: {:.1} MiB ({:.1} MB; {:.1} KiB per socket over idle; peak {:.1} MiB)",
        mib(with_sockets),
        with_sockets as f64 * 1024.0 / 1e6,
        (with_sockets.saturating_sub(idle)) as f64 / sockets.max(1) as f64,
        mib(server.memory_kib("VmHWM")?)
    );
    println!(
        "target {sockets} sockets <= 300 MB: {}{}",
        verdict(with_sockets * 1024 <= 300_000_000),
        if sockets < wanted {
            format!(" (only {sockets} of {wanted}: raise `ulimit -Hn`)")
        } else {
            String::new()
        }
    );
    server.stop()
}

/// Opens `n` sockets subscribed to the org, returns the server's RSS with all of them open,
/// then checks that one event reaches every socket (so they are live, not just accepted).
async fn realtime(server: &Server, dir: &Path, n: usize) -> anyhow::Result<u64> {
    let out = command(dir, server.port)
        .args(["client", "create", "--org", "Default", "--name", "bench"])
        .arg("--json")
        .output()?;
    anyhow::ensure!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let client: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let http = reqwest::Client::new();
    let address = format!("http://127.0.0.1:{}", server.port);
    let token: serde_json::Value = http
        .post(format!("{address}/v1/auth/token"))
        .basic_auth(
            client["apiKey"].as_str().unwrap(),
            client["apiKeySecret"].as_str(),
        )
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let token = token["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let url = format!("ws://127.0.0.1:{}/v1/realtime?token={token}", server.port);

    // The bench's own sockets read with small buffers (tungstenite preallocates 128 KiB per
    // socket by default), so that the client side of 10,000 sockets stays small on a shared box.
    let config = WebSocketConfig::default().read_buffer_size(4 * 1024);
    let started = Instant::now();
    let opened: Vec<_> = futures_util::stream::iter(0..n)
        .map(|_| async {
            let (mut ws, _) = connect_async_with_config(url.as_str(), Some(config), false).await?;
            let subscribe = r#"{"type":"subscribe","org":true}"#;
            ws.send(Message::Text(subscribe.into())).await?;
            // The welcome comes first; the socket counts once the subscription is confirmed.
            while let Some(msg) = ws.next().await {
                if let Message::Text(t) = msg?
                    && t.contains(r#""type":"subscribed""#)
                {
                    return anyhow::Ok(ws);
                }
            }
            anyhow::bail!("the socket closed before confirming the subscription")
        })
        .buffer_unordered(OPENING)
        .collect()
        .await;
    let mut sockets = opened.into_iter().collect::<Result<Vec<_>, _>>()?;
    println!(
        "opened and subscribed {} sockets in {:.1} s",
        sockets.len(),
        started.elapsed().as_secs_f64()
    );
    // Let the handshakes' transient buffers go before measuring.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let rss = server.memory_kib("VmRSS")?;
    println!(
        "bench process (client side, 4 KiB read buffers) RSS: {:.1} MiB",
        mib(status_kib("/proc/self/status", "VmRSS")?)
    );

    // One event, fanned out to every socket.
    let org = client["orgId"].as_str().unwrap_or_default();
    let started = Instant::now();
    http.post(format!("{address}/v1/orgs/{org}/rooms"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"domain": "localhost", "name": "footprint"}))
        .send()
        .await?
        .error_for_status()?;
    let reached = futures_util::future::join_all(sockets.iter_mut().map(|ws| async move {
        let wait = tokio::time::timeout(Duration::from_secs(30), async {
            while let Some(Ok(msg)) = ws.next().await {
                if let Message::Text(t) = msg
                    && t.contains(r#""type":"event""#)
                {
                    return true;
                }
            }
            false
        });
        wait.await.unwrap_or(false)
    }))
    .await;
    println!(
        "one event reached {} of {} sockets within {:.0} ms",
        reached.iter().filter(|r| **r).count(),
        sockets.len(),
        started.elapsed().as_secs_f64() * 1000.0
    );
    Ok(rss)
}
