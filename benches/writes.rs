//! Durable writes of the real server, driven by `wrk`, against the database's own write rate.
//!
//! The server is the release binary (`CARGO_BIN_EXE_meetplane`, the bench profile) run as its
//! own process with its defaults: background workers on, its request log at info (written to
//! a file). `wrk` (a separate process, 2 threads, keep-alive connections, a Lua script making
//! each request's body) posts, at 8 and then 64 concurrent connections:
//! - room chat messages: `POST /v1/orgs/{orgId}/rooms/{domain}/{name}/messages` with a
//!   client-credentials access token, a different text each time;
//! - the chat bridge's `POST /api/sendChatMessage/{jid}` (seed 000) to a MUC started with
//!   `startChatForRoom`, each body with its own checksum, made in the script as the seed's
//!   Python client makes it (SHA-512 of the call, the body, the client's secret and the current
//!   second, through LuaJIT's FFI and the libcrypto `wrk` is linked with). The answer does not
//!   wait for XMPP: the message and its way to the MUC are stored, and the XMPP bridge (not
//!   configured here) sends them later. `chat_bridge` measures that part with a real Prosody;
//!   here a bridge catching up on thousands of queued messages would write into the next runs.
//!
//! On Postgres (`MEETPLANE_BENCH_DATABASE_URL`), each client count also runs `pgbench`
//! inserting one row per transaction into a scratch table of the same database, right after
//! meetplane's runs, and prints meetplane's rate as a ratio of it. At the end the bench counts
//! the stored messages: every acknowledged one must be there.
//!
//! Run with `cargo bench --bench writes` (SQLite) or with `MEETPLANE_BENCH_DATABASE_URL`
//! pointing at Postgres (a scratch database is created and dropped). `MEETPLANE_BENCH_SECONDS`
//! sets the length of one run (default 5); `MEETPLANE_BENCH_SERVER_LOG` is the server's
//! `RUST_LOG` (default: the server's own).
mod common;

use std::path::{Path, PathBuf};

use common::{
    pgbench,
    server::{access_token, spawn_server},
    wrk::{self, Load, Run},
};
use meetplane::{
    app::Application,
    auth::chat_checksum,
    domain::audit::By,
    domain::{clients, orgs, rooms},
};
use sea_orm::{ConnectionTrait, Statement};

const CLIENT_COUNTS: [usize; 2] = [8, 64];
const WRK_THREADS: usize = 2;
const DOMAIN: &str = "localhost";
/// The room the native API posts to.
const ROOM: &str = "write-bench";
/// The MUC the chat bridge posts to (its room, `bridge-bench`, is made by `startChatForRoom`).
const MUC: &str = "bridge-bench@conference.localhost";

/// The org, a room and an API client, written before the server starts. Returns the org and
/// the client's key and secret.
async fn seed(config: meetplane::config::Config) -> anyhow::Result<(uuid::Uuid, String, String)> {
    let app = Application::build(config).await?;
    let state = app.state().clone();
    drop(app);
    let org = orgs::resolve(&state.db, "Default").await?.id;
    let client = clients::create(&state, &By::cli(org), "bench").await?;
    let origin = rooms::Origin::Client(client.client.id);
    rooms::init(
        &state,
        &By::cli(org),
        origin,
        DOMAIN,
        ROOM,
        Default::default(),
    )
    .await?;
    state.db.clone().close().await?;
    Ok((org, client.client.api_key, client.secret))
}

/// Binds `MUC` to a room through the chat-bridge API, as the seed's client does.
async fn start_chat(http: &reqwest::Client, address: &str, secret: &str) -> anyhow::Result<()> {
    let now = chrono::Utc::now().timestamp();
    let body = chat_checksum::signed_body("startChatForRoom", &[("jid_room", MUC)], secret, now);
    let r = http
        .post(format!("{address}/api/startChatForRoom"))
        .body(body)
        .send()
        .await?;
    anyhow::ensure!(
        r.status().is_success(),
        "startChatForRoom failed: {}",
        r.text().await?
    );
    Ok(())
}

/// Gives each of wrk's threads its number (`id`) in its own Lua state.
const THREAD_IDS: &str = r#"
local next_id = 1
function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
end
local n = 0
"#;

/// A script posting room messages, each text unique to the run (`tag`), thread and request.
fn room_script(dir: &Path, tag: &str, token: &str) -> anyhow::Result<PathBuf> {
    let lua = format!(
        r#"wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer {token}"
{THREAD_IDS}
function request()
  n = n + 1
  return wrk.format(nil, nil, nil,
    string.format('{{"displayName": "bench", "text": "{tag} %d-%d"}}', id, n))
end
"#
    );
    let path = dir.join(format!("{tag}.lua"));
    std::fs::write(&path, lua)?;
    Ok(path)
}

/// A script calling `sendChatMessage` as the seed's client: the body's checksum is
/// `sha512_hex("sendChatMessage" + json.dumps(body) + secret + str(int(time.time())))`, made
/// per request. Each message is unique to the run, thread and request, so no checksum repeats.
fn bridge_script(dir: &Path, tag: &str, secret: &str) -> anyhow::Result<PathBuf> {
    let lua = format!(
        r#"local ffi = require("ffi")
ffi.cdef[[unsigned char *SHA512(const unsigned char *d, size_t n, unsigned char *md);]]
local md = ffi.new("unsigned char[64]")
local hex = {{}}
for b = 0, 255 do hex[b] = string.format("%02x", b) end
local digits = {{}}
local function sha512_hex(s)
  ffi.C.SHA512(s, #s, md)
  for i = 0, 63 do digits[i + 1] = hex[md[i]] end
  return table.concat(digits)
end
wrk.method = "POST"
{THREAD_IDS}
function request()
  n = n + 1
  local fields = string.format('"user_name": "bench", "message": "{tag} %d-%d"', id, n)
  local sum = sha512_hex("sendChatMessage{{" .. fields .. "}}{secret}" .. tostring(os.time()))
  return wrk.format(nil, nil, nil, "{{" .. fields .. ', "checksum": "' .. sum .. '"}}')
end
"#
    );
    let path = dir.join(format!("{tag}.lua"));
    std::fs::write(&path, lua)?;
    Ok(path)
}

/// One line of figures; `ratio` against the database's own rate when there is one.
fn report(name: &str, clients: usize, run: &Run, of: Option<&Run>) {
    let ratio = of.map_or(String::new(), |db| {
        format!("  {:.3} x pgbench", run.rate / db.rate)
    });
    println!(
        "{name:<16} {clients:>3} clients {:>8.0} /s  p50 {:>7.2} ms  p99 {:>7.2} ms  {:>7} done, {} failed{ratio}",
        run.rate, run.p50_ms, run.p99_ms, run.requests, run.failed
    );
}

/// Messages stored in the database (both kinds go to the rooms' chat).
async fn stored_messages(url: &str) -> anyhow::Result<i64> {
    let db = sea_orm::Database::connect(url).await?;
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT COUNT(*) AS n FROM chat_messages",
        ))
        .await?
        .ok_or_else(|| anyhow::anyhow!("COUNT(*) returned no row"))?;
    let n = row.try_get::<i64>("", "n")?;
    db.close().await?;
    Ok(n)
}

/// Where the runs go: the server, what the scripts need, and the figures so far.
struct Bench {
    dir: PathBuf,
    room_url: String,
    bridge_url: String,
    token: String,
    secret: String,
    runs: usize,
    /// Every meetplane run's figures.
    runs_done: Vec<Run>,
}

impl Bench {
    /// `wrk` with `clients` connections posting room messages (`bridge` false) or
    /// `sendChatMessage` (true), with a script whose texts no other run uses.
    async fn wrk(&mut self, bridge: bool, clients: usize, seconds: u64) -> anyhow::Result<Run> {
        self.runs += 1;
        let tag = format!("run{}", self.runs);
        let (script, url) = if bridge {
            let script = bridge_script(&self.dir, &tag, &self.secret)?;
            (script, &self.bridge_url)
        } else {
            (room_script(&self.dir, &tag, &self.token)?, &self.room_url)
        };
        let load = Load {
            threads: WRK_THREADS.min(clients),
            connections: clients,
            seconds,
            headers: Vec::new(),
            script: Some(&script),
        };
        let run = wrk::run(url, &load).await?;
        self.runs_done.push(run);
        Ok(run)
    }

    /// Both kinds at `clients` connections, then `pgbench` at as many clients when `script`
    /// (Postgres) is given, back to back; prints the lines.
    async fn measure(
        &mut self,
        clients: usize,
        seconds: u64,
        url: &str,
        script: Option<&Path>,
    ) -> anyhow::Result<Figures> {
        let room = self.wrk(false, clients, seconds).await?;
        let bridge = self.wrk(true, clients, seconds).await?;
        let db = match script {
            Some(script) => {
                Some(pgbench::run(url, script, &self.dir, clients, WRK_THREADS, seconds).await?)
            }
            None => None,
        };
        report("room message", clients, &room, db.as_ref());
        report("sendChatMessage", clients, &bridge, db.as_ref());
        if let Some(db) = &db {
            report("pgbench insert", clients, db, None);
        }
        Ok(Figures(room, bridge, db))
    }
}

/// One client count's figures: room messages, `sendChatMessage`, `pgbench` (Postgres only).
struct Figures(Run, Run, Option<Run>);

/// Issue 33's targets at 8 concurrent writers, with its figures from before the work (room
/// messages on both databases, `sendChatMessage` on SQLite only).
fn targets(Figures(room, bridge, db): &Figures) {
    let verdict = |met: bool| if met { "met" } else { "NOT met" };
    let kinds = [
        (
            "room message",
            room,
            "2,345/s, p99 474 ms",
            2345.0,
            "1,003/s = 0.05 x pgbench, p99 72 ms",
        ),
        (
            "sendChatMessage",
            bridge,
            "2,281/s, p99 523 ms",
            2281.0,
            "not measured",
        ),
    ];
    for (name, run, before_sqlite, rate_before, before_pg) in kinds {
        match db {
            None => println!(
                "target {name} at 8 clients, SQLite (before: {before_sqlite}): p99 <= 10 ms {} ({:.2} ms); rate >= before {} ({:.0}/s)",
                verdict(run.p99_ms <= 10.0),
                run.p99_ms,
                verdict(run.rate >= rate_before),
                run.rate
            ),
            Some(db) => println!(
                "target {name} at 8 clients, Postgres (before: {before_pg}): >= 0.25 x pgbench {} ({:.3}); p99 <= 15 ms {} ({:.2} ms)",
                verdict(run.rate >= 0.25 * db.rate),
                run.rate / db.rate,
                verdict(run.p99_ms <= 15.0),
                run.p99_ms
            ),
        }
    }
}

/// The 1-, 5- and 15-minute load averages of the machine.
fn load_average() -> String {
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    load.split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

fn header(backend: &str, seconds: u64) {
    println!(
        "backend: {backend}, server: {} (background workers on, RUST_LOG {}), wrk {WRK_THREADS} threads, {seconds} s per run",
        env!("CARGO_BIN_EXE_meetplane"),
        std::env::var("MEETPLANE_BENCH_SERVER_LOG").unwrap_or_else(|_| "default".into()),
    );
    println!(
        "room message: POST /v1/orgs/{{orgId}}/rooms/{DOMAIN}/{ROOM}/messages (access token); sendChatMessage: POST /api/sendChatMessage/{MUC} (seed checksum, no XMPP server)"
    );
    if backend == "postgres" {
        println!("pgbench: one INSERT of one row per transaction, same database, same clients");
    }
    println!(
        "note: server, database, wrk and pgbench share this machine's {} cores; load average before: {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        load_average()
    );
}

/// Prints whether any request failed, and whether every acknowledged message (2xx) of `runs`
/// is in the database (more may be: requests in flight when a run ended).
async fn check_stored(runs: &[Run], url: &str) -> anyhow::Result<()> {
    let failed: u64 = runs.iter().map(|r| r.failed).sum();
    // Socket errors are not among the answered requests, non-2xx answers are.
    let acknowledged: u64 = runs
        .iter()
        .map(|r| r.requests.saturating_sub(r.non_2xx))
        .sum();
    let stored = stored_messages(url).await?;
    println!(
        "failed requests: {} ({failed}); acknowledged {acknowledged}, stored {stored}: {}",
        if failed == 0 { "none" } else { "SOME" },
        if stored as u64 >= acknowledged {
            "every acknowledged message is stored"
        } else {
            "ACKNOWLEDGED MESSAGES MISSING"
        }
    );
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    meetplane::install_crypto_provider();
    let seconds = common::env_number("MEETPLANE_BENCH_SECONDS", 5).max(1) as u64;
    let dir = tempfile::tempdir()?;
    let bench_db = common::BenchDb::create(dir.path()).await?;
    let config = common::config(dir.path(), &bench_db)?;
    let key = config
        .master_key
        .clone()
        .expect("the bench's config has a key");
    let (org, api_key, secret) = seed(config).await?;
    let postgres = bench_db.backend() == "postgres";
    let pgbench_script = if postgres {
        Some(pgbench::prepare(&bench_db.url, dir.path()).await?)
    } else {
        None
    };
    let (server, address) = spawn_server(dir.path(), &bench_db.url, &key).await?;
    let http = reqwest::Client::new();
    let token = access_token(&http, &address, &api_key, &secret).await?;
    start_chat(&http, &address, &secret).await?;
    let mut bench = Bench {
        dir: dir.path().to_path_buf(),
        room_url: format!("{address}/v1/orgs/{org}/rooms/{DOMAIN}/{ROOM}/messages"),
        bridge_url: format!("{address}/api/sendChatMessage/{MUC}"),
        token,
        secret,
        runs: 0,
        runs_done: Vec::new(),
    };

    header(bench_db.backend(), seconds);

    // Warm-up: the server's pools and caches.
    bench.wrk(false, 8, 1).await?;
    bench.wrk(true, 8, 1).await?;
    let mut at_8 = None;
    for clients in CLIENT_COUNTS {
        let figures = bench
            .measure(clients, seconds, &bench_db.url, pgbench_script.as_deref())
            .await?;
        if clients == 8 {
            at_8 = Some(figures);
        }
    }
    if let Some(figures) = &at_8 {
        targets(figures);
    }
    println!("load average after: {}", load_average());

    drop(server);
    check_stored(&bench.runs_done, &bench_db.url).await?;
    bench_db.drop_scratch().await?;
    Ok(())
}
