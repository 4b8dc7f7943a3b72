//! Authenticated reads of the real server against a bare poem handler, measured by `wrk`.
//!
//! The server is the release binary (`CARGO_BIN_EXE_meetplane`, the bench profile) run as its
//! own process with its defaults: background workers on, its request log at info (written to
//! a file). `wrk` (a separate process, 64 keep-alive connections, 2 threads) drives
//! `GET /v1/orgs/{orgId}/rooms` with `Authorization: Bearer <access token>` (client
//! credentials from `POST /v1/auth/token`) and, in interleaved rounds, a bare poem route
//! returning a small fixed JSON from this process. The bare handler is the ceiling: what
//! poem, hyper, the loopback and the load generator cost on this machine, so the ratio
//! isolates meetplane's own work (token check, database reads, serialisation, middleware,
//! logging). Nothing writes during the rounds, so this is the read of a quiet org, answered
//! from memory while the database is unchanged (`cached_reads`: on SQLite after
//! `PRAGMA data_version`, on Postgres after one snapshot query shared by the requests waiting
//! for it). A third kind, a bare handler answering the list's own bytes, shows that the size
//! of the answer is not what separates the read from the bare rate (the target is judged
//! against the small fixed JSON all the same).
//!
//! Run with `cargo bench --bench reads` (SQLite) or with `MEETPLANE_BENCH_DATABASE_URL`
//! pointing at Postgres (a scratch database is created and dropped). `MEETPLANE_BENCH_SECONDS`
//! sets the length of one `wrk` run (default 5), `MEETPLANE_BENCH_ROUNDS` the rounds (default
//! 3); `MEETPLANE_BENCH_SERVER_LOG` is the server's `RUST_LOG` (default: the server's own).
mod common;

use common::{
    server::{access_token, spawn_server},
    wrk::{Load, Run},
};
use meetplane::{
    app::Application,
    domain::audit::By,
    domain::{clients, orgs, peers, rooms},
};
use poem::{
    Route, Server, handler,
    listener::{Acceptor, Listener, TcpListener},
    web::Json,
};

const CONNECTIONS: usize = 64;
const WRK_THREADS: usize = 2;
const ROOMS: usize = 10;
const PEERS_PER_ROOM: usize = 2;

/// The ceiling: no auth, no database, a fixed body about as small as a health answer.
#[handler]
fn fixed_json() -> Json<serde_json::Value> {
    Json(serde_json::json!({"status": "ok", "rooms": []}))
}

/// `wrk` against `url` with this bench's connections, with the access token if any.
async fn wrk(url: &str, token: Option<&str>, seconds: u64) -> anyhow::Result<Run> {
    let load = Load {
        threads: WRK_THREADS,
        connections: CONNECTIONS,
        seconds,
        headers: token
            .map(|t| format!("Authorization: Bearer {t}"))
            .into_iter()
            .collect(),
        script: None,
    };
    common::wrk::run(url, &load).await
}

/// The runs of one kind over the rounds.
#[derive(Default)]
struct Tally(Vec<Run>);

impl Tally {
    /// Mean rate (every run is equally long), worst p99, total failures.
    fn report(&self, name: &str) -> f64 {
        let n = self.0.len() as f64;
        let rate = self.0.iter().map(|r| r.rate).sum::<f64>() / n;
        let p50 = self.0.iter().map(|r| r.p50_ms).sum::<f64>() / n;
        let p99 = self.0.iter().map(|r| r.p99_ms).fold(0.0, f64::max);
        let failed: u64 = self.0.iter().map(|r| r.failed).sum();
        println!(
            "{name:<18} {rate:>8.0} req/s  p50 {p50:>6.2} ms  p99 (worst round) {p99:>6.2} ms  ({failed} failed)"
        );
        rate
    }

    fn worst_p99(&self) -> f64 {
        self.0.iter().map(|r| r.p99_ms).fold(0.0, f64::max)
    }
}

/// A list worth reading, written before the server starts: a few live rooms with peers, as
/// a dashboard or integration sees. Returns the org and the client's key and secret.
async fn seed(config: meetplane::config::Config) -> anyhow::Result<(uuid::Uuid, String, String)> {
    let app = Application::build(config).await?;
    let state = app.state().clone();
    drop(app);
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
    state.db.clone().close().await?;
    Ok((org, client.client.api_key, client.secret))
}

/// The bare handlers on a port of this process: a small fixed JSON, and `same` (what carrying
/// the read's answer costs without any of meetplane's work). Returns their two URLs.
async fn spawn_bare(same: bytes::Bytes) -> anyhow::Result<(String, String)> {
    let acceptor = TcpListener::bind("127.0.0.1:0").into_acceptor().await?;
    let port = acceptor.local_addr()[0]
        .as_socket_addr()
        .ok_or_else(|| anyhow::anyhow!("the bare server has no address"))?
        .port();
    let bare_app = Route::new().at("/bare", poem::get(fixed_json)).at(
        "/bare-same",
        poem::get(poem::endpoint::make_sync(move |_| {
            poem::Response::builder()
                .content_type("application/json; charset=utf-8")
                .body(same.clone())
        })),
    );
    tokio::spawn(async move { Server::new_with_acceptor(acceptor).run(bare_app).await });
    Ok((
        format!("http://127.0.0.1:{port}/bare"),
        format!("http://127.0.0.1:{port}/bare-same"),
    ))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    meetplane::install_crypto_provider();
    let seconds = common::env_number("MEETPLANE_BENCH_SECONDS", 5).max(1) as u64;
    let rounds = common::env_number("MEETPLANE_BENCH_ROUNDS", 3).max(1);
    let dir = tempfile::tempdir()?;
    let bench_db = common::BenchDb::create(dir.path()).await?;
    let config = common::config(dir.path(), &bench_db)?;
    let key = config
        .master_key
        .clone()
        .expect("the bench's config has a key");
    let (org, api_key, secret) = seed(config).await?;
    let (server, address) = spawn_server(dir.path(), &bench_db.url, &key).await?;

    let http = reqwest::Client::new();
    let token = access_token(&http, &address, &api_key, &secret).await?;
    let rooms_url = format!("{address}/v1/orgs/{org}/rooms");
    let listed = http
        .get(&rooms_url)
        .bearer_auth(&token)
        .send()
        .await?
        .error_for_status()?
        .bytes()
        .await?;
    let bytes = listed.len();
    let (bare_url, same_url) = spawn_bare(listed).await?;

    let target = if bench_db.backend() == "postgres" {
        0.4
    } else {
        0.5
    };
    println!(
        "backend: {}, server: {} (background workers on, RUST_LOG {}), wrk {WRK_THREADS} threads x {CONNECTIONS} connections, {rounds} interleaved rounds of {seconds} s per kind",
        bench_db.backend(),
        env!("CARGO_BIN_EXE_meetplane"),
        std::env::var("MEETPLANE_BENCH_SERVER_LOG").unwrap_or_else(|_| "default".into()),
    );
    println!(
        "authenticated read: GET /v1/orgs/{{orgId}}/rooms ({ROOMS} rooms x {PEERS_PER_ROOM} peers, {bytes} bytes of JSON); bare: GET /bare (fixed JSON) in the bench process"
    );
    println!(
        "note: server, bare handler and wrk share this machine's {} cores",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );

    // Warm-up: the server's pools and caches, the bare server's connections.
    wrk(&rooms_url, Some(&token), 1).await?;
    wrk(&bare_url, None, 1).await?;
    let (mut reads_t, mut bare_t, mut same_t) =
        (Tally::default(), Tally::default(), Tally::default());
    // The read and the bare handler run back to back in each round, so that each round's
    // ratio compares two rates taken under nearly the same conditions of the machine.
    let mut round_ratios = Vec::new();
    for _ in 0..rounds {
        let read = wrk(&rooms_url, Some(&token), seconds).await?;
        let bare = wrk(&bare_url, None, seconds).await?;
        round_ratios.push(read.rate / bare.rate);
        reads_t.0.push(read);
        bare_t.0.push(bare);
        same_t.0.push(wrk(&same_url, None, seconds).await?);
    }
    let read_rate = reads_t.report("authenticated GET");
    let bare_rate = bare_t.report("bare poem GET");
    let same_rate = same_t.report("bare, same bytes");
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
        "target reads >= {target} x bare ({}): {} ({ratio:.2})",
        bench_db.backend(),
        verdict(ratio >= target)
    );
    println!(
        "target p99 < 10 ms at {CONNECTIONS} connections: {} ({:.2} ms)",
        verdict(reads_t.worst_p99() < 10.0),
        reads_t.worst_p99()
    );

    drop(server);
    bench_db.drop_scratch().await?;
    Ok(())
}
