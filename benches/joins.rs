//! Joining by session link, against the raw SQL the join runs. On Postgres (default
//! `postgres://postgres@127.0.0.1:5432/postgres`, or `MEETPLANE_BENCH_DATABASE_URL`), it drives
//! `GET /v1/session/{jwt}` over HTTP with 64 concurrent clients, then runs the same statements
//! through a raw sqlx pool of the same size with 64 concurrent tasks, and prints both rates,
//! latencies and the ratio. `MEETPLANE_BENCH_JOINS` sets the number of joins (default 8,000).
//! Without a reachable Postgres it prints what it needs and exits successfully.
use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use chrono::Utc;
use futures_util::StreamExt;
use meetplane::{
    app::Application,
    auth::{random, seal::MasterKey, session_link},
    config::{Config, DatabaseUrl, Settings},
    domain::{clients, orgs, sessions, subscriptions},
    store::connect::POOL_PING_AFTER_IDLE,
};
use sea_orm::{
    ConnectionTrait,
    sqlx::{self, postgres::PgPoolOptions},
};
use uuid::Uuid;

const CONCURRENCY: usize = 64;
const GUESTS_PER_SESSION: usize = 4;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

struct Figures {
    rate: f64,
    p50: Duration,
    p99: Duration,
}

fn figures(mut latencies: Vec<Duration>, elapsed: Duration) -> Figures {
    latencies.sort_unstable();
    Figures {
        rate: latencies.len() as f64 / elapsed.as_secs_f64(),
        p50: percentile(&latencies, 0.5),
        p99: percentile(&latencies, 0.99),
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
    orgs::update_settings(&state, org, Some(256), None).await?;
    let client = clients::create(&state, org, "bench").await?;
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
        sessions::enter(&state, &link(sid, 0)).await?;
    }
    println!(
        "backend: postgres, pool {pool_size}, {CONCURRENCY} concurrent clients, {joins} joins per kind over {sessions_n} sessions"
    );
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(CONCURRENCY)
        .build()?;
    let pool = Arc::new(
        // Checked out as the server's pool checks out (see `store::connect`).
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
    let ids: (Uuid, Uuid) = sqlx::query_as("SELECT d.id, s.id FROM domains d, subscriptions s WHERE d.is_default AND s.org_id = d.org_id")
        .fetch_one(&*pool)
        .await?;
    // Interleaved rounds, so that a database growing during the run affects every kind alike.
    let (mut api, mut direct, mut raw) = (Vec::new(), Vec::new(), Vec::new());
    let (mut api_time, mut direct_time, mut raw_time) =
        (Duration::ZERO, Duration::ZERO, Duration::ZERO);
    let mut failed = 0;
    let half = joins / 2;
    let mut next = 1;
    for _round in 0..2 {
        let links: Vec<String> = (0..half).map(|i| link(i % sessions_n, next + i)).collect();
        next += half;
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
        api_time += started.elapsed();
        failed += results.iter().filter(|(_, ok)| !ok).count();
        api.extend(results.into_iter().map(|(d, _)| d));

        // The same joins without HTTP, for where the time goes.
        let links: Vec<String> = (0..half).map(|i| link(i % sessions_n, next + i)).collect();
        next += half;
        let started = Instant::now();
        let results: Vec<Duration> = futures_util::stream::iter(links)
            .map(|l| {
                let state = state.clone();
                async move {
                    let t = Instant::now();
                    sessions::enter(&state, &l).await.expect("a direct join");
                    t.elapsed()
                }
            })
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        direct_time += started.elapsed();
        direct.extend(results);

        // The same statements, raw.
        let started = Instant::now();
        let results: Vec<Duration> = futures_util::stream::iter(0..half)
            .map(|i| {
                let (pool, api_key) = (pool.clone(), client.client.api_key.clone());
                async move {
                    let t = Instant::now();
                    raw_join(
                        &pool,
                        &api_key,
                        org,
                        ids.0,
                        ids.1,
                        &format!("s{}", i % sessions_n),
                    )
                    .await
                    .expect("raw join");
                    t.elapsed()
                }
            })
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        raw_time += started.elapsed();
        raw.extend(results);
    }
    let api = figures(api, api_time);
    let direct = figures(direct, direct_time);
    let raw = figures(raw, raw_time);

    println!(
        "join endpoint: {:>7.0} joins/s  p50 {:>6.1} ms  p99 {:>6.1} ms  ({failed} failed)",
        api.rate,
        ms(api.p50),
        ms(api.p99)
    );
    println!(
        "without HTTP:  {:>7.0} joins/s  p50 {:>6.1} ms  p99 {:>6.1} ms",
        direct.rate,
        ms(direct.p50),
        ms(direct.p99)
    );
    println!(
        "raw SQL:       {:>7.0} joins/s  p50 {:>6.1} ms  p99 {:>6.1} ms",
        raw.rate,
        ms(raw.p50),
        ms(raw.p99)
    );
    println!("ratio: {:.2} of the raw rate", api.rate / raw.rate);

    state.db.clone().close().await?;
    pool.close().await;
    admin_db
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .await?;
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The statements a guest's join runs (as logged by sqlx), with equivalent parameters.
async fn raw_join(
    pool: &sqlx::PgPool,
    api_key: &str,
    org: Uuid,
    domain: Uuid,
    subscription: Uuid,
    sid: &str,
) -> anyhow::Result<()> {
    let now = Utc::now();
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT * FROM api_clients WHERE api_key = $1 LIMIT 1")
        .bind(api_key)
        .fetch_optional(&mut *tx)
        .await?;
    sqlx::query("SELECT o.*, d.* FROM organisations o LEFT JOIN domains d ON d.org_id = o.id WHERE o.id = $1 AND d.is_default = $2 LIMIT 1")
        .bind(org).bind(true).fetch_optional(&mut *tx).await?;
    sqlx::query(
        "SELECT * FROM subscriptions WHERE org_id = $1 AND ref = $2 AND active = $3 LIMIT 1",
    )
    .bind(org)
    .bind("owner")
    .bind(true)
    .fetch_optional(&mut *tx)
    .await?;
    let hash = random::digest(sid);
    sqlx::query("SELECT COUNT(*) FROM link_revocations WHERE org_id = $1 AND (link_hash = $2 OR (session_id = $3) OR (subscription_id = $4))")
        .bind(org).bind(&hash).bind(sid).bind(subscription).fetch_one(&mut *tx).await?;
    let room: (Uuid, i64, i32) = sqlx::query_as("SELECT id, event_seq, present_count FROM rooms WHERE domain_id = $1 AND name = $2 AND removed_at IS NULL LIMIT 1 FOR UPDATE")
        .bind(domain).bind(sid).fetch_one(&mut *tx).await?;
    let peer = Uuid::new_v4();
    sqlx::query("INSERT INTO peers (id, room_id, peer_type, display_name, token_hash, joined_at, left_at, left_reason, link_hash) VALUES ($1, $2, $3, $4, $5, $6, NULL, NULL, $7) RETURNING *")
        .bind(peer).bind(room.0).bind(2i16).bind("guest").bind(random::digest(&peer.to_string())).bind(now).bind(&hash)
        .fetch_one(&mut *tx).await?;
    sqlx::query("UPDATE rooms SET event_seq = $1, present_count = $2 WHERE id = $3")
        .bind(room.1 + 1)
        .bind(room.2 + 1)
        .bind(room.0)
        .execute(&mut *tx)
        .await?;
    sqlx::query("SELECT * FROM webhooks WHERE domain_id = $1 AND status = $2 AND validated = $3 ORDER BY id").bind(domain).bind("active").bind(true).fetch_all(&mut *tx).await?;
    // (The NOTIFY comes from the trigger on events, as for the endpoint.)
    let event = Uuid::new_v4();
    sqlx::query("INSERT INTO events (id, org_id, domain_id, domain_name, room_id, room_name, seq, kind, payload, robots, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING *")
        .bind(event).bind(org).bind(domain).bind("localhost").bind(room.0).bind(sid).bind(room.1 + 1).bind("clientAdded")
        .bind(r#"{"room":{"name":"x"},"client":{"id":"x","type":2,"displayName":"guest"}}"#).bind("[]").bind(now)
        .fetch_one(&mut *tx).await?;
    sqlx::query("INSERT INTO session_entries (id, org_id, client_id, session_id, room_id, subscription_id, peer_id, role, name, access_token_id, link_hash, entry_time) SELECT $1, $2, c.id, $3, $4, $5, $6, $7, $8, $9, $10, $11 FROM api_clients c WHERE c.api_key = $12 RETURNING *")
        .bind(Uuid::new_v4()).bind(org).bind(sid).bind(room.0).bind(subscription).bind(peer).bind("guest").bind("guest")
        .bind(format!("tok_{}", Uuid::new_v4().simple())).bind(&hash).bind(now).bind(api_key)
        .fetch_one(&mut *tx).await?;
    tx.commit().await?;
    Ok(())
}
