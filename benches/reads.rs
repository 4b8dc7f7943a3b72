//! Authenticated reads against a bare poem handler. Drives `GET /v1/orgs/{orgId}/rooms` with
//! `Authorization: Bearer <access token>` (client credentials from `POST /v1/auth/token`) at
//! 64 concurrent keep-alive connections, and, in interleaved rounds with the same load
//! generator, a bare poem route returning a small fixed JSON from another port of the same
//! process. The bare handler is the ceiling: what poem, hyper, the loopback and the load
//! generator cost on this machine, so the ratio isolates meetplane's own work (token check,
//! database reads, serialisation, middleware). The endpoint answers repeated reads from memory
//! while the database is unchanged (`domain::cached_reads`; on Postgres with no query while the
//! server is the database's only writer, as here, else after one shared snapshot query, see
//! `store::writer_lock`); nothing writes during the rounds, so this is the read of a quiet org. A
//! third kind makes the read's domain calls without HTTP (token check, then the list from the
//! database, i.e. what a read costs after a write emptied the cache), a fourth the token check
//! alone, and a fifth a bare handler answering the list's own bytes: that the size of the
//! answer is not what separates the read from the bare rate (the target is judged against the
//! small fixed JSON all the same).
//!
//! By default no tracing subscriber is installed, so the request log line the binary writes
//! costs nothing (optimistic). `MEETPLANE_BENCH_LOGS=json` (or `text`) installs the server's own
//! subscriber at its default level, writing to stderr: run it with `2>/dev/null` to count the
//! formatting and the write without a terminal's speed.
//!
//! Run with `cargo bench --bench reads` (SQLite) or with `MEETPLANE_BENCH_DATABASE_URL` pointing
//! at Postgres (a scratch database is created and dropped). `MEETPLANE_BENCH_READS` sets the
//! number of requests per kind (default 20,000), `MEETPLANE_BENCH_ROUNDS` the rounds (default 4).
mod common;

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use meetplane::{
    api::hal::Paging,
    app::Application,
    config::LogFormat,
    domain::audit::By,
    domain::{clients, orgs, peers, rooms, tokens},
};
use poem::{
    Route, Server, handler,
    listener::{Acceptor, Listener, TcpListener},
    web::Json,
};

const CONNECTIONS: usize = 64;
const ROOMS: usize = 10;
const PEERS_PER_ROOM: usize = 2;

/// The ceiling: no auth, no database, a fixed body about as small as a health answer.
#[handler]
fn fixed_json() -> Json<serde_json::Value> {
    Json(serde_json::json!({"status": "ok", "rooms": []}))
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Requests, wall time and latencies of one kind, summed over the rounds.
#[derive(Default)]
struct Tally {
    latencies: Vec<Duration>,
    elapsed: Duration,
    failed: usize,
}

impl Tally {
    fn report(&mut self, name: &str) -> (f64, Duration) {
        self.latencies.sort_unstable();
        let rate = self.latencies.len() as f64 / self.elapsed.as_secs_f64();
        let p99 = percentile(&self.latencies, 0.99);
        println!(
            "{name:<18} {rate:>8.0} req/s  p50 {:>6.2} ms  p99 {:>6.2} ms  max {:>6.1} ms  ({} failed)",
            ms(percentile(&self.latencies, 0.5)),
            ms(p99),
            ms(*self.latencies.last().unwrap()),
            self.failed
        );
        (rate, p99)
    }
}

/// `n` calls of `one` by `CONNECTIONS` spawned workers, so that the load generator itself can
/// use both cores (a single task with `buffer_unordered` would not).
async fn drive<F, Fut>(n: usize, tally: &mut Tally, one: F)
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: Future<Output = bool> + Send,
{
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let workers: Vec<_> = (0..CONNECTIONS)
        .map(|_| {
            let (one, next) = (one.clone(), next.clone());
            tokio::spawn(async move {
                let mut seen = Vec::with_capacity(n / CONNECTIONS + 1);
                let mut failed = 0;
                while next.fetch_add(1, Ordering::Relaxed) < n {
                    let t = Instant::now();
                    let ok = one().await;
                    seen.push(t.elapsed());
                    failed += usize::from(!ok);
                }
                (seen, failed)
            })
        })
        .collect();
    for w in workers {
        let (seen, failed) = w.await.expect("a load worker");
        tally.latencies.extend(seen);
        tally.failed += failed;
    }
    tally.elapsed += started.elapsed();
}

/// One GET through the shared pool (64 keep-alive connections), whole body read.
fn get(
    http: &reqwest::Client,
    url: &str,
    token: Option<&str>,
) -> impl Fn() -> std::pin::Pin<Box<dyn Future<Output = bool> + Send>> + Clone + Send + 'static {
    let (http, url, token) = (http.clone(), url.to_string(), token.map(str::to_string));
    move || {
        let mut req = http.get(&url);
        if let Some(token) = &token {
            req = req.bearer_auth(token);
        }
        Box::pin(async move {
            match req.send().await {
                Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
                Err(_) => false,
            }
        })
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    meetplane::install_crypto_provider();
    match std::env::var("MEETPLANE_BENCH_LOGS").as_deref() {
        Ok("json") => meetplane::telemetry::init(LogFormat::Json, "info,sqlx=warn,sea_orm=warn"),
        Ok("text") => meetplane::telemetry::init(LogFormat::Text, "info,sqlx=warn,sea_orm=warn"),
        _ => {}
    }
    let reads = common::env_number("MEETPLANE_BENCH_READS", 20_000);
    let rounds = common::env_number("MEETPLANE_BENCH_ROUNDS", 4).max(1);
    let dir = tempfile::tempdir()?;
    let bench_db = common::BenchDb::create(dir.path()).await?;
    let mut config = common::config(dir.path(), &bench_db)?;
    // One load generator from one address: the rate limits would measure themselves.
    config.limits.per_client_per_minute = None;
    config.limits.per_address_per_minute = None;
    config.background_workers = false;
    let pool_size = config.db_max_connections;
    let app = Application::build(config).await?;
    let state = app.state().clone();
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until(std::future::pending()));

    // A list worth reading: a few live rooms with peers, as a dashboard or integration sees.
    let org = orgs::resolve(&state.db, "Default").await?.id;
    let client = clients::create(&state, &By::cli(org), "bench").await?;
    for r in 0..ROOMS {
        let name = format!("room-{r}");
        let origin = rooms::Origin::Client(client.client.id);
        rooms::init(
            &state,
            &By::cli(org),
            origin,
            "localhost",
            &name,
            Default::default(),
        )
        .await?;
        for p in 0..PEERS_PER_ROOM {
            let who = format!("peer {p}");
            peers::admit(
                &state,
                org,
                "localhost",
                &name,
                &who,
                rooms::Role::User,
                None,
            )
            .await?;
        }
    }

    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(CONNECTIONS)
        .build()?;
    let token: serde_json::Value = http
        .post(format!("{address}/v1/auth/token"))
        .basic_auth(&client.client.api_key, Some(&client.secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let token = token["access_token"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("no access_token in {token}"))?
        .to_string();
    let rooms_url = format!("{address}/v1/orgs/{org}/rooms");
    let listed: serde_json::Value = http
        .get(&rooms_url)
        .bearer_auth(&token)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let bytes = listed.to_string().len();

    // The bare handlers, on their own port: a small fixed JSON, and the list's own bytes
    // (what carrying the same answer costs without any of meetplane's work).
    let same_bytes = bytes::Bytes::from(listed.to_string());
    let acceptor = TcpListener::bind("127.0.0.1:0").into_acceptor().await?;
    let bare_port = acceptor.local_addr()[0].as_socket_addr().unwrap().port();
    let bare_app = Route::new().at("/bare", poem::get(fixed_json)).at(
        "/bare-same",
        poem::get(poem::endpoint::make_sync(move |_| {
            poem::Response::builder()
                .content_type("application/json; charset=utf-8")
                .body(same_bytes.clone())
        })),
    );
    tokio::spawn(async move { Server::new_with_acceptor(acceptor).run(bare_app).await });
    let bare_url = format!("http://127.0.0.1:{bare_port}/bare");
    let same_url = format!("http://127.0.0.1:{bare_port}/bare-same");

    println!(
        "backend: {}, pool {pool_size}, {CONNECTIONS} connections, {reads} requests per kind in {rounds} interleaved rounds",
        bench_db.backend()
    );
    println!(
        "authenticated read: GET /v1/orgs/{{orgId}}/rooms ({ROOMS} rooms x {PEERS_PER_ROOM} peers, {bytes} bytes of JSON); bare: GET /bare (fixed JSON)"
    );
    println!(
        "note: server and load generator (reqwest, {CONNECTIONS} keep-alive connections) share this process and its {} cores",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );

    let read_get = get(&http, &rooms_url, Some(&token));
    let bare_get = get(&http, &bare_url, None);
    let same_get = get(&http, &same_url, None);
    // The same work as the read without HTTP (token check, then the list, which the domain
    // always reads from the database): what a read costs when the cache cannot answer it.
    let direct = {
        let (state, token) = (state.clone(), token.clone());
        move || {
            let (state, token) = (state.clone(), token.clone());
            async move {
                let window = Paging::new(None, None).window();
                tokens::authenticate(&state, &token).await.is_ok()
                    && rooms::list(&state, org, None, window).await.is_ok()
            }
        }
    };
    // The token check alone (one lookup of the token's family and client per request).
    let token_only = {
        let (state, token) = (state.clone(), token.clone());
        move || {
            let (state, token) = (state.clone(), token.clone());
            async move { tokens::authenticate(&state, &token).await.is_ok() }
        }
    };

    // Warm-up: opens the connections of the HTTP and database pools, fills caches.
    drive(2_000, &mut Tally::default(), read_get.clone()).await;
    drive(2_000, &mut Tally::default(), bare_get.clone()).await;
    drive(2_000, &mut Tally::default(), same_get.clone()).await;
    // Interleaved rounds, so that anything else using the machine weighs on every kind alike.
    let (mut reads_t, mut direct_t, mut token_t, mut bare_t, mut same_t): (
        Tally,
        Tally,
        Tally,
        Tally,
        Tally,
    ) = Default::default();
    // The read and the bare handler run back to back in each round, so that each round's
    // ratio compares two rates taken under nearly the same conditions of the machine.
    let mut round_ratios = Vec::new();
    for round in 0..rounds {
        let share = reads / rounds + usize::from(round < reads % rounds);
        let (read_before, bare_before) = (reads_t.elapsed, bare_t.elapsed);
        drive(share, &mut reads_t, read_get.clone()).await;
        drive(share, &mut bare_t, bare_get.clone()).await;
        round_ratios.push(
            (bare_t.elapsed - bare_before).as_secs_f64()
                / (reads_t.elapsed - read_before).as_secs_f64(),
        );
        drive(share, &mut same_t, same_get.clone()).await;
        drive(share, &mut direct_t, direct.clone()).await;
        drive(share, &mut token_t, token_only.clone()).await;
    }
    let (read_rate, read_p99) = reads_t.report("authenticated GET");
    direct_t.report("  list from the DB");
    token_t.report("  token check only");
    let (bare_rate, _) = bare_t.report("bare poem GET");
    let (same_rate, _) = same_t.report("bare, same bytes");
    let ratio = read_rate / bare_rate;
    println!("ratio: {ratio:.2} of the bare rate");
    println!(
        "ratio: {:.2} of the same-bytes bare rate",
        read_rate / same_rate
    );
    round_ratios.sort_by(f64::total_cmp);
    println!(
        "ratio per round: {} (median {:.2})",
        round_ratios
            .iter()
            .map(|r| format!("{r:.2}"))
            .collect::<Vec<_>>()
            .join(" "),
        round_ratios[round_ratios.len() / 2]
    );
    let verdict = |met: bool| if met { "met" } else { "NOT met" };
    println!(
        "target reads >= 0.6 x bare: {} ({ratio:.2})",
        verdict(ratio >= 0.6)
    );
    println!(
        "target p99 < 10 ms at {CONNECTIONS} connections: {} ({:.2} ms)",
        verdict(read_p99 < Duration::from_millis(10)),
        ms(read_p99)
    );

    state.db.clone().close().await?;
    bench_db.drop_scratch().await?;
    Ok(())
}
