//! Joining by session link, against the raw SQL the join runs. On Postgres (default
//! `postgres://postgres@127.0.0.1:5432/postgres`, or `MEETPLANE_BENCH_DATABASE_URL`), it drives
//! `GET /v1/session/{jwt}` over HTTP with 64 concurrent clients, then runs the statements
//! raw through a sqlx pool of the same size: those of a join opened alone, one transaction
//! per join, with 64 concurrent tasks (the server's statements before joins were batched);
//! and those of batches of joins, one transaction per batch, one after another (what the
//! server runs now: one writer of batches per node), once with as many joins per batch as
//! the endpoint's batches took on average (read from the server's batch size histogram in
//! the same run, after each round) and once with full batches of 64. It prints the rates,
//! latencies, the mean batch sizes and the three ratios.
//! `MEETPLANE_BENCH_JOINS` sets the number of joins (default 8,000). Without a reachable
//! Postgres it prints what it needs and exits successfully.
use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use chrono::Utc;
use futures_util::StreamExt;
use meetplane::{
    app::Application,
    auth::{seal::MasterKey, session_link},
    config::{Config, DatabaseUrl, Settings},
    domain::audit::By,
    domain::{clients, orgs, subscriptions},
    store::connect::POOL_PING_AFTER_IDLE,
};
use sea_orm::{
    ConnectionTrait,
    sqlx::{self, postgres::PgPoolOptions},
};
use uuid::Uuid;

const CONCURRENCY: usize = 64;
const GUESTS_PER_SESSION: usize = 4;

#[path = "joins/raw.rs"]
mod raw;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

struct Figures {
    rate: f64,
    p50: Duration,
    p99: Duration,
}

/// Latencies and time spent, over the rounds of one kind.
#[derive(Default)]
struct Measured {
    latencies: Vec<Duration>,
    elapsed: Duration,
    /// Links and batches the server's writer took meanwhile (its batch size histogram).
    batches: (f64, f64),
}

impl Measured {
    fn add(&mut self, latencies: Vec<Duration>, started: Instant) {
        self.elapsed += started.elapsed();
        self.latencies.extend(latencies);
    }

    fn add_batches(&mut self, before: (f64, f64), after: (f64, f64)) {
        self.batches.0 += after.0 - before.0;
        self.batches.1 += after.1 - before.1;
    }

    fn mean_batch(&self) -> f64 {
        self.batches.0 / self.batches.1.max(1.0)
    }

    fn figures(mut self) -> Figures {
        self.latencies.sort_unstable();
        Figures {
            rate: self.latencies.len() as f64 / self.elapsed.as_secs_f64(),
            p50: percentile(&self.latencies, 0.5),
            p99: percentile(&self.latencies, 0.99),
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    meetplane::install_crypto_provider();
    let joins: usize = std::env::var("MEETPLANE_BENCH_JOINS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(8_000);
    let admin = std::env::var("MEETPLANE_BENCH_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let name = format!("mp_bench_{}", Uuid::new_v4().simple());
    // `cargo bench` runs every bench: without Postgres this one says what it needs and stands
    // aside rather than failing the others.
    let admin_db = match sea_orm::Database::connect(&admin).await {
        Ok(db) => db,
        Err(e) => {
            println!(
                "skipped: the joins benchmark needs Postgres (MEETPLANE_BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/postgres): {e}"
            );
            return Ok(());
        }
    };
    admin_db
        .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
        .await?;
    let mut url = url::Url::parse(&admin)?;
    url.set_path(&name);
    let dir = tempfile::tempdir()?;
    let mut config = Config::from_settings(&Settings::default(), Vec::new())?;
    config.database_url = DatabaseUrl::new(url.to_string());
    config.listen = "127.0.0.1:0".parse()?;
    config.data_dir = dir.path().to_path_buf();
    config.master_key = Some(MasterKey::generate());
    // One load generator from one address: the rate limits would measure themselves.
    config.limits.per_client_per_minute = None;
    config.limits.per_address_per_minute = None;
    config.background_workers = false;
    if let Some(pool) = std::env::var("MEETPLANE_BENCH_POOL")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        config.db_max_connections = pool;
    }
    let pool_size = config.db_max_connections;
    let app = Application::build(config).await?;
    let state = app.state().clone();
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until(std::future::pending()));

    let org = orgs::resolve(&state.db, "Default").await?.id;
    orgs::update_settings(&state, org, Some(256), None, Some(false)).await?;
    let client = clients::create(&state, &By::cli(org), "bench").await?;
    subscriptions::create(&state, org, "owner", "owner@example.org", "Owner").await?;
    let sessions_n = joins / GUESTS_PER_SESSION;
    let now = Utc::now().timestamp();
    let link = |sid: usize, n: usize| {
        let claims = serde_json::json!({"iss": client.client.api_key, "un": format!("guest {n}"), "ref": "owner",
            "sid": format!("s{sid}"), "rle": "guest", "nbf": now, "exp": now + 3600});
        session_link::sign(&claims, &client.secret)
    };
    // Open every session once first, so that the measured joins all take the same path.
    for sid in 0..sessions_n {
        meetplane::join_queue::enter(&state, &link(sid, 0)).await?;
    }
    println!(
        "backend: postgres, pool {pool_size}, {CONCURRENCY} concurrent clients, {joins} joins per kind over {sessions_n} sessions"
    );
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(CONCURRENCY)
        .build()?;
    let pool = Arc::new(
        // Checked out as the server's pool checks out (see `store::connect`); sqlx switches
        // Nagle off on its sockets.
        PgPoolOptions::new()
            .max_connections(pool_size)
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for >= POOL_PING_AFTER_IDLE {
                        sqlx::Connection::ping(conn).await?;
                    }
                    Ok(true)
                })
            })
            .connect(url.as_str())
            .await?,
    );
    let (domain, subscription): (Uuid, Uuid) = sqlx::query_as("SELECT d.id, s.id FROM domains d, subscriptions s WHERE d.is_default AND s.org_id = d.org_id")
        .fetch_one(&*pool)
        .await?;
    let ids = Arc::new(raw::Ids {
        api_key: client.client.api_key.clone(),
        client: client.client.id,
        org,
        domain,
        subscription,
    });
    // Interleaved rounds, so that a database growing during the run affects every kind alike.
    let mut api = Measured::default();
    let mut direct = Measured::default();
    let mut alone = Measured::default();
    let mut together = Measured::default();
    let mut same_size = Measured::default();
    let mut failed = 0;
    let half = joins / 2;
    let mut next = 1;
    let sid = |i: usize| format!("s{}", i % sessions_n);
    for _round in 0..2 {
        let links: Vec<String> = (0..half).map(|i| link(i % sessions_n, next + i)).collect();
        next += half;
        let before = batch_totals(&http, &address).await?;
        let started = Instant::now();
        let results: Vec<(Duration, bool)> = futures_util::stream::iter(links)
            .map(|l| {
                let (http, address) = (http.clone(), address.clone());
                async move {
                    let t = Instant::now();
                    let ok = http
                        .get(format!("{address}/v1/session/{l}"))
                        .header("accept", "application/json")
                        .send()
                        .await
                        .is_ok_and(|r| r.status().is_success());
                    (t.elapsed(), ok)
                }
            })
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        failed += results.iter().filter(|(_, ok)| !ok).count();
        api.add(results.into_iter().map(|(d, _)| d).collect(), started);
        let after = batch_totals(&http, &address).await?;
        api.add_batches(before, after);
        let before = after;

        // The same joins without HTTP, for where the time goes.
        let links: Vec<String> = (0..half).map(|i| link(i % sessions_n, next + i)).collect();
        next += half;
        let started = Instant::now();
        let results: Vec<Duration> = futures_util::stream::iter(links)
            .map(|l| {
                let state = state.clone();
                async move {
                    let t = Instant::now();
                    meetplane::join_queue::enter(&state, &l)
                        .await
                        .expect("a direct join");
                    t.elapsed()
                }
            })
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        direct.add(results, started);
        direct.add_batches(before, batch_totals(&http, &address).await?);

        // The statements of joins opened alone, raw.
        let started = Instant::now();
        let results: Vec<Duration> = futures_util::stream::iter(0..half)
            .map(|i| {
                let (pool, ids, sid) = (pool.clone(), ids.clone(), sid(i));
                async move {
                    let t = Instant::now();
                    raw::join_alone(
                        &pool,
                        &ids.api_key,
                        ids.org,
                        ids.domain,
                        ids.subscription,
                        &sid,
                    )
                    .await
                    .expect("raw join");
                    t.elapsed()
                }
            })
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        alone.add(results, started);

        // The statements of batches of joins, raw: every join of a batch waits for all of it.
        // Once in batches of the size the endpoint's batches had on average (its very
        // statements), once in full batches of 64 (the most a batch takes).
        let sids: Vec<String> = (0..half).map(sid).collect();
        let size = (api.mean_batch().round() as usize).clamp(1, CONCURRENCY);
        let started = Instant::now();
        same_size.add(raw_batches(&pool, &ids, &sids, size).await?, started);
        let started = Instant::now();
        together.add(raw_batches(&pool, &ids, &sids, CONCURRENCY).await?, started);
    }
    let line = |label: &str, f: &Figures, note: &str| {
        println!(
            "{label:<26}{:>7.0} joins/s  p50 {:>6.1} ms  p99 {:>6.1} ms{note}",
            f.rate,
            ms(f.p50),
            ms(f.p99)
        )
    };
    println!(
        "links per batch (mean): endpoint {:.1}, without HTTP {:.1}",
        api.mean_batch(),
        direct.mean_batch()
    );
    let api_batch = api.mean_batch();
    let api = api.figures();
    line("join endpoint:", &api, &format!("  ({failed} failed)"));
    line("without HTTP:", &direct.figures(), "");
    let size = (api_batch.round() as usize).clamp(1, CONCURRENCY);
    let alone = alone.figures();
    let same_size = same_size.figures();
    let together = together.figures();
    line("raw SQL, joins alone:", &alone, "");
    line(&format!("raw SQL, batches of {size}:"), &same_size, "");
    line("raw SQL, batches of 64:", &together, "");
    println!(
        "ratio: {:.2} of the raw rate of joins alone, {:.2} of raw batches of the endpoint's size, {:.2} of raw batches of 64",
        api.rate / alone.rate,
        api.rate / same_size.rate,
        api.rate / together.rate
    );

    state.db.clone().close().await?;
    pool.close().await;
    admin_db
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .await?;
    Ok(())
}

/// Raw batches of `size` joins into these sessions, one after another; each join's latency
/// is its batch's.
async fn raw_batches(
    pool: &sqlx::PgPool,
    ids: &raw::Ids,
    sids: &[String],
    size: usize,
) -> anyhow::Result<Vec<Duration>> {
    let mut latencies = Vec::with_capacity(sids.len());
    for batch in sids.chunks(size) {
        let t = Instant::now();
        raw::joins_together(pool, ids, batch).await?;
        latencies.extend(std::iter::repeat_n(t.elapsed(), batch.len()));
    }
    Ok(latencies)
}

/// The sum and count of the server's `meetplane_session_join_batch_size` histogram.
async fn batch_totals(http: &reqwest::Client, address: &str) -> anyhow::Result<(f64, f64)> {
    let text = http
        .get(format!("{address}/metrics"))
        .send()
        .await?
        .error_for_status()?
        .text()
        .await?;
    let value = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.trim().parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    Ok((
        value("meetplane_session_join_batch_size_sum"),
        value("meetplane_session_join_batch_size_count"),
    ))
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
