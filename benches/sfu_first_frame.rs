//! A webinar through Janus: one host publishing, viewers (headless Chromium, fake devices)
//! joining by the room link and watching through the SFU. It prints the viewers' time to first
//! frame (from opening the room link to the first `getStats()` poll, every 20 ms, showing a
//! decoded frame of the host; the page's own clock) as p50/p99, and what meetplane costs
//! meanwhile: its CPU (utime + stime from /proc/PID/stat over wall time) while viewers join and
//! while they all just watch, and its memory (VmRSS, VmHWM from /proc/PID/status). Janus's CPU
//! is printed beside it: the media goes through Janus, never through meetplane.
//!
//! Like first_frame, everything runs in a private network namespace (root needed); Janus is
//! configured with `meetplane janus config` (tests/media/janus_proc.rs). The viewers stay in the
//! room; after the first round each join is a viewer leaving and coming back while the others
//! watch. `MEETPLANE_BENCH_VIEWERS` (default 6: with the host, about what two cores carry; at
//! 10 the browsers saturate them), `MEETPLANE_BENCH_JOINS` (default 20);
//! `MEETPLANE_BENCH_DATABASE_URL` for Postgres.
//! Run with `cargo bench --bench sfu_first_frame` (not with MEETPLANE_BUILD_SKIP_WEB).
#[allow(dead_code)]
#[path = "../tests/api/browser.rs"]
mod browser;
mod common;
#[allow(dead_code)]
#[path = "../tests/media/janus_proc.rs"]
mod janus_proc;
#[allow(dead_code)]
#[path = "../tests/media/netns.rs"]
mod netns;

use std::time::{Duration, Instant};

use common::browser_media::{MEDIA_FLAGS, seed};
use serde_json::{Value, json};
use thirtyfour::WebDriver;

/// How long all viewers watch while meetplane's steady CPU is measured.
const STEADY: Duration = Duration::from_secs(10);

async fn run(b: &WebDriver, script: &str) -> Value {
    b.execute(script, Vec::new()).await.unwrap().json().clone()
}

/// Poll `script` every 20 ms until it returns something other than null/false.
async fn until(b: &WebDriver, what: &str, script: &str) -> anyhow::Result<Value> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let v = run(b, script).await;
        if !v.is_null() && v != json!(false) {
            return Ok(v);
        }
        if Instant::now() > deadline {
            let state = run(b, "return {mode: window.__meetplaneMediaMode ?? null, status: document.getElementById('status')?.textContent ?? null, notice: document.getElementById('notice')?.textContent ?? null, sfuError: window.__meetplane?.sfuError?.() ?? null}").await;
            anyhow::bail!("{what}: not within 30 s (the page: {state})");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Open the room link, enter the name and join at once; the page's clock (ms since the link
/// was opened) at the first poll that shows a decoded frame of the host.
async fn join_and_time(b: &WebDriver, url: &str, name: &str) -> anyhow::Result<f64> {
    b.goto(url).await?;
    until(b, "the join button", &fill_and_join(name)).await?;
    let ms = until(b, "a frame of the host", "return (window.__meetplane ? window.__meetplane.stats() : Promise.resolve([])).then((s) => s.some((p) => p.framesDecoded > 0) ? performance.now() : null)").await?;
    Ok(ms.as_f64().unwrap_or_default())
}

/// A script that enters `name` and presses Join once the page enables it (true when pressed).
fn fill_and_join(name: &str) -> String {
    format!(
        "const i = document.getElementById('display-name'); const j = document.getElementById('join'); \
         if (!i || !j) return false; \
         if (i.value !== {name:?}) {{ i.value = {name:?}; i.dispatchEvent(new Event('input', {{bubbles: true}})); }} \
         if (j.disabled) return false; j.click(); return true"
    )
}

async fn leave(b: &WebDriver) -> anyhow::Result<()> {
    run(b, "document.getElementById('leave')?.click(); return true").await;
    until(
        b,
        "the viewer gone",
        "return !document.getElementById('leave')",
    )
    .await?;
    Ok(())
}

/// CPU seconds (user + system) of process `pid` so far.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces) start at its closing parenthesis.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // SAFETY: sysconf has no preconditions.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    (ticks(11) + ticks(12)) / per_second
}

/// A /proc/PID/status line's value in MiB (`VmRSS`, `VmHWM`).
fn memory_mib(pid: u32, field: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// CPU use of processes over a stretch of wall time, in % of one core.
struct CpuWindow {
    started: Instant,
    at_start: Vec<f64>,
    pids: Vec<u32>,
}

impl CpuWindow {
    fn start(pids: &[u32]) -> Self {
        Self {
            started: Instant::now(),
            at_start: pids.iter().map(|p| cpu_seconds(*p)).collect(),
            pids: pids.to_vec(),
        }
    }

    fn percent(&self) -> Vec<f64> {
        let wall = self.started.elapsed().as_secs_f64();
        self.pids
            .iter()
            .zip(&self.at_start)
            .map(|(p, s)| 100.0 * (cpu_seconds(*p) - s) / wall)
            .collect()
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    if !netns::run_inside("the SFU first-frame bench", &[]) {
        return Ok(());
    }
    if !janus_proc::installed() {
        return Ok(());
    }
    meetplane::install_crypto_provider();
    let viewers = common::env_number("MEETPLANE_BENCH_VIEWERS", 6).max(1);
    let joins = common::env_number("MEETPLANE_BENCH_JOINS", 20).max(viewers);
    let dir = tempfile::tempdir()?;
    let bench_db = common::BenchDb::create(dir.path()).await?;
    let config = common::config(dir.path(), &bench_db)?;
    let key = config.master_key.clone().expect("a master key");
    let (org, api_key, secret) = seed(config).await?;
    let janus = janus_proc::Janus::start().await;
    let port: u16 = janus_proc::APP_LISTEN.rsplit(':').next().unwrap().parse()?;
    let (server, address) = common::server::spawn_server_with(
        dir.path(),
        &bench_db.url,
        &key,
        port,
        &janus_proc::env(),
    )
    .await?;
    let http = reqwest::Client::new();
    let page = http
        .get(format!("{address}/join/localhost/any"))
        .send()
        .await?
        .text()
        .await?;
    if !page.contains("id=\"meeting\"") {
        println!("sfu_first_frame: skipped, the meeting page is not built into this binary");
        return Ok(());
    }
    let token = common::server::access_token(&http, &address, &api_key, &secret).await?;
    let created: Value = http
        .post(format!("{address}/v1/orgs/{org}/rooms"))
        .bearer_auth(&token)
        .json(&json!({"domain": "localhost", "name": "bench", "type": 2, "addHostKey": true}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let host_key = created["content"]["hostKey"].as_str().unwrap_or_default();
    let room_url = format!("{address}/join/localhost/bench");

    let mut driver = browser::Driver::start().await;
    let host = driver.browser_with("480,400", MEDIA_FLAGS).await;
    host.goto(format!("{room_url}#hostKey={host_key}")).await?;
    until(&host, "the host's join button", &fill_and_join("Host")).await?;
    until(&host, "the host publishing", "return window.__meetplaneMediaMode === 'sfu' && window.__meetplane.connections().some((pc) => pc.connectionState === 'connected')").await?;
    let mut pages = Vec::new();
    for _ in 0..viewers {
        pages.push(driver.browser_with("480,400", MEDIA_FLAGS).await);
    }
    let pids = [server.pid(), janus.pid().unwrap_or_default()];
    let joining = CpuWindow::start(&pids);
    let mut times = Vec::with_capacity(joins);
    for i in 0..joins {
        let b = &pages[i % viewers];
        if i >= viewers {
            leave(b).await?;
        }
        times.push(join_and_time(b, &room_url, &format!("Viewer {i}")).await?);
    }
    let cpu_joining = joining.percent();
    let steady = CpuWindow::start(&pids);
    tokio::time::sleep(STEADY).await;
    let cpu_steady = steady.percent();
    let (rss, peak) = (
        memory_mib(server.pid(), "VmRSS"),
        memory_mib(server.pid(), "VmHWM"),
    );
    for b in pages {
        b.quit().await?;
    }
    host.quit().await?;
    drop(server);
    drop(janus);
    bench_db.drop_scratch().await?;

    let mut sorted = times.clone();
    sorted.sort_by(f64::total_cmp);
    println!(
        "sfu_first_frame: 1 host, {viewers} viewers, {joins} joins through Janus, {} database",
        bench_db_name()
    );
    let each: Vec<String> = times.iter().map(|t| format!("{t:.0}")).collect();
    println!("  each (ms): {}", each.join(" "));
    println!(
        "  time to first frame: p50 {:.0} ms, p99 {:.0} ms, min {:.0} ms, max {:.0} ms",
        percentile(&sorted, 50.0),
        percentile(&sorted, 99.0),
        sorted[0],
        sorted[sorted.len() - 1]
    );
    println!(
        "  meetplane CPU: {:.1}% of a core while viewers join, {:.1}% while {viewers} watch ({} s); Janus: {:.1}% and {:.1}%",
        cpu_joining[0],
        cpu_steady[0],
        STEADY.as_secs(),
        cpu_joining[1],
        cpu_steady[1]
    );
    println!("  meetplane memory: RSS {rss:.1} MiB, peak {peak:.1} MiB");
    Ok(())
}

fn bench_db_name() -> &'static str {
    if std::env::var("MEETPLANE_BENCH_DATABASE_URL").is_ok() {
        "Postgres"
    } else {
        "SQLite"
    }
}
