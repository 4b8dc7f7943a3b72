//! Time to first frame: a guest opens a session link while the owner is in the meeting; how
//! long from opening the link until the guest's page has decoded a frame of the owner's video.
//!
//! The server is the real binary (`CARGO_BIN_EXE_meetplane`) as its own process; the owner
//! and the guest are headless Chromium with fake camera and microphone (../shared/MEDIA.md),
//! in a private network namespace (like the media tests: root needed, nothing leaves the
//! namespace). The guest "user" presses Join as soon as the page lets it; the time is the
//! page's own clock (`performance.now()`, from the navigation that opened the link, through
//! the redirect to the meeting page) at the first `getStats()` poll (every 20 ms) that shows
//! `framesDecoded > 0`. Then the guest leaves and the next link is opened: `MEETPLANE_BENCH_JOINS`
//! joins (default 20). The guest lobby is turned off for the org where the server has it (a
//! person letting each guest in is not what this measures).
//!
//! Run with `cargo bench --bench first_frame` (not with `MEETPLANE_BUILD_SKIP_WEB`: it needs the
//! meeting page); `MEETPLANE_BENCH_DATABASE_URL` for Postgres.
//! Target: p50 ≤ 1.5 s on the reference machine.
#[allow(dead_code)]
#[path = "../tests/api/browser.rs"]
mod browser;
mod common;
#[allow(dead_code)]
#[path = "../tests/media/netns.rs"]
mod netns;

use std::time::{Duration, Instant};

use common::browser_media::{MEDIA_FLAGS, seed};
use meetplane::auth::session_link;
use serde_json::{Value, json};
use thirtyfour::WebDriver;

fn link(address: &str, key: &str, secret: &str, role: &str, name: &str) -> String {
    let now = chrono::Utc::now().timestamp();
    let mut claims = json!({"iss": key, "un": name, "ref": "bench", "sid": "first-frame",
        "rle": role, "nbf": now, "iat": now, "exp": now + 3600});
    if role == "owner" {
        claims["email"] = "owner@example.com".into();
    }
    format!(
        "{address}/v1/session/{}",
        session_link::sign(&claims, secret)
    )
}

async fn run(b: &WebDriver, script: &str) -> Value {
    b.execute(script, Vec::new()).await.unwrap().json().clone()
}

/// Press Join once it is enabled; then poll until a frame from the other peer is decoded.
/// Returns the page's clock at that poll (ms since the link was opened).
async fn join_and_time(b: &WebDriver) -> anyhow::Result<f64> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while run(b, "const j = document.getElementById('join'); if (j && !j.disabled) { j.click(); return true } return false").await != json!(true) {
        anyhow::ensure!(Instant::now() < deadline, "no join button");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    loop {
        let v = run(b, "return (window.__meetplane ? window.__meetplane.stats() : Promise.resolve([])).then((s) => s.some((p) => p.framesDecoded > 0) ? performance.now() : null)").await;
        if let Some(ms) = v.as_f64() {
            return Ok(ms);
        }
        anyhow::ensure!(Instant::now() < deadline, "no frame decoded within 30 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    if !netns::run_inside("the first-frame bench", &[]) {
        return Ok(());
    }
    meetplane::install_crypto_provider();
    let joins = common::env_number("MEETPLANE_BENCH_JOINS", 20).max(1);
    let dir = tempfile::tempdir()?;
    let bench_db = common::BenchDb::create(dir.path()).await?;
    let config = common::config(dir.path(), &bench_db)?;
    let key = config.master_key.clone().expect("a master key");
    let (org, api_key, secret) = seed(config).await?;
    let (server, address) = common::server::spawn_server(dir.path(), &bench_db.url, &key).await?;
    let http = reqwest::Client::new();
    let page = http
        .get(format!("{address}/join/localhost/any"))
        .send()
        .await?
        .text()
        .await?;
    if !page.contains("id=\"meeting\"") {
        println!(
            "first_frame: skipped, the meeting page is not built into this binary (build without MEETPLANE_BUILD_SKIP_WEB, with npm)"
        );
        return Ok(());
    }
    let token: Value = http
        .post(format!("{address}/v1/auth/token"))
        .basic_auth(&api_key, Some(&secret))
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
    http.post(format!("{address}/v1/orgs/{org}/subscriptions"))
        .bearer_auth(&token)
        .json(&json!({"ref": "bench", "email": "owner@example.com", "name": "Owner"}))
        .send()
        .await?
        .error_for_status()?;
    // No lobby for this measure, where the server has one (an unknown field is refused: fine).
    let _ = http
        .patch(format!("{address}/v1/orgs/{org}"))
        .bearer_auth(&token)
        .json(&json!({"guestLobby": false}))
        .send()
        .await;

    let mut driver = browser::Driver::start().await;
    let owner = driver.browser_with("480,400", MEDIA_FLAGS).await;
    owner
        .goto(link(&address, &api_key, &secret, "owner", "Owner"))
        .await?;
    join_and_time_owner(&owner).await?;
    let guest = driver.browser_with("480,400", MEDIA_FLAGS).await;
    let mut times = Vec::with_capacity(joins);
    for i in 0..joins {
        guest
            .goto(link(
                &address,
                &api_key,
                &secret,
                "guest",
                &format!("Guest {i}"),
            ))
            .await?;
        let ms = join_and_time(&guest).await?;
        times.push(ms);
        run(
            &guest,
            "document.getElementById('leave').click(); return true",
        )
        .await;
        let deadline = Instant::now() + Duration::from_secs(10);
        while run(&guest, "return !!document.getElementById('leave')").await == json!(true) {
            anyhow::ensure!(Instant::now() < deadline, "the guest did not leave");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // Let the owner's page see the guest go before the next one comes.
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    owner.quit().await?;
    guest.quit().await?;
    drop(server);
    bench_db.drop_scratch().await?;
    let mut sorted = times.clone();
    sorted.sort_by(f64::total_cmp);
    println!(
        "first_frame: {joins} joins, binary {}",
        env!("CARGO_BIN_EXE_meetplane")
    );
    println!(
        "  each (ms): {}",
        times
            .iter()
            .map(|t| format!("{t:.0}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    println!(
        "  p50 {:.0} ms, p99 {:.0} ms, min {:.0} ms, max {:.0} ms (target p50 <= 1500 ms)",
        percentile(&sorted, 50.0),
        percentile(&sorted, 99.0),
        sorted[0],
        sorted[sorted.len() - 1]
    );
    Ok(())
}

/// The owner joins and waits in the meeting (nobody to decode yet).
async fn join_and_time_owner(b: &WebDriver) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while run(b, "const j = document.getElementById('join'); if (j && !j.disabled) { j.click(); return true } return false").await != json!(true) {
        anyhow::ensure!(Instant::now() < deadline, "no join button for the owner");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    while run(b, "return !!document.getElementById('leave')").await != json!(true) {
        anyhow::ensure!(Instant::now() < deadline, "the owner did not get in");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}
