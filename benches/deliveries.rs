//! Webhook delivery throughput: fills the outbox with events across many rooms, then lets the
//! delivery worker drain it into a local receiver, printing signed deliveries per second and
//! the outbox depth over time. Run with `cargo bench --bench deliveries`; set
//! `MEETPLANE_BENCH_DATABASE_URL=postgres://…/postgres` to run on Postgres (a scratch
//! database is created and dropped). `MEETPLANE_BENCH_ROOMS` and `MEETPLANE_BENCH_EVENTS_PER_ROOM`
//! size the run (default 500 × 20 = 10,000 deliveries).
use std::{
    collections::HashSet,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use meetplane::{
    app::Application,
    auth::{seal::MasterKey, xroom_hmac},
    config::{Config, DatabaseUrl, Settings},
    domain::{clients, domains, orgs, peers, rooms, webhooks},
    events::delivery,
    store,
};
use poem::{
    EndpointExt, Request, Route, Server, handler,
    http::StatusCode,
    listener::{Acceptor, Listener, TcpListener},
    web::Data,
};
use sea_orm::ConnectionTrait;

#[derive(Default)]
struct Seen {
    count: AtomicUsize,
    ids: Mutex<HashSet<String>>,
    key: Mutex<String>,
}

#[handler]
async fn receive(req: &Request, body: String, Data(seen): Data<&Arc<Seen>>) -> poem::Response {
    let json: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
    if let Some(sign_this) = json["signThis"].as_str() {
        let key = seen.key.lock().unwrap().clone();
        return poem::Response::builder().body(xroom_hmac::sign(&key, sign_this));
    }
    if let Some(id) = req
        .headers()
        .get("webhook-id")
        .and_then(|v| v.to_str().ok())
    {
        seen.ids.lock().unwrap().insert(id.to_string());
    }
    seen.count.fetch_add(1, Ordering::Relaxed);
    poem::Response::builder().status(StatusCode::OK).finish()
}

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    meetplane::install_crypto_provider();
    let rooms_n = env_number("MEETPLANE_BENCH_ROOMS", 500);
    let per_room = env_number("MEETPLANE_BENCH_EVENTS_PER_ROOM", 20);
    let dir = tempfile::tempdir()?;
    let (url, pg) = match std::env::var("MEETPLANE_BENCH_DATABASE_URL") {
        Ok(admin) => {
            let name = format!("mp_bench_{}", uuid::Uuid::new_v4().simple());
            let db = sea_orm::Database::connect(&admin).await?;
            db.execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                .await?;
            let mut u = url::Url::parse(&admin)?;
            u.set_path(&name);
            (u.to_string(), Some((admin, name)))
        }
        Err(_) => (
            format!(
                "sqlite://{}?mode=rwc",
                dir.path().join("bench.db").display()
            ),
            None,
        ),
    };
    let mut config = Config::from_settings(&Settings::default(), Vec::new())?;
    config.database_url = DatabaseUrl::new(url.clone());
    config.listen = "127.0.0.1:0".parse()?;
    config.data_dir = dir.path().to_path_buf();
    config.master_key = Some(MasterKey::generate());
    config.allow_private_targets = true;
    config.background_workers = false;
    let app = Application::build(config).await?;
    let state = app.state().clone();

    let seen = Arc::new(Seen::default());
    let acceptor = TcpListener::bind("127.0.0.1:0").into_acceptor().await?;
    let port = acceptor.local_addr()[0].as_socket_addr().unwrap().port();
    let ep = Route::new().at("/*p", receive).data(seen.clone());
    tokio::spawn(async move { Server::new_with_acceptor(acceptor).run(ep).await });

    let org = orgs::resolve(&state.db, "Default").await?.id;
    let client = clients::create(&state, org, "bench").await?.client.id;
    *seen.key.lock().unwrap() = domains::get(&state, org, "localhost").await?.webhook_key;
    let hook = webhooks::add(
        &state,
        org,
        webhooks::NewWebhook {
            domain: "localhost".into(),
            kind: "url".into(),
            url: Some(format!("http://127.0.0.1:{port}/hook")),
            ..Default::default()
        },
    )
    .await?;
    let (_, validation) = webhooks::validate(&state, org, hook.id).await?;
    assert!(validation.validated, "{:?}", validation.reason);

    println!(
        "backend: {}",
        if pg.is_some() { "postgres" } else { "sqlite" }
    );
    println!("filling the outbox: {rooms_n} rooms x {per_room} events");
    let started = Instant::now();
    let fill = futures_util::stream::iter(0..rooms_n).map(|r| {
        let state = state.clone();
        async move {
            rooms::init(
                &state,
                rooms::Origin::Client(client),
                org,
                "localhost",
                &format!("room-{r}"),
                rooms::RoomOptions {
                    capacity: Some(256),
                    ..Default::default()
                },
            )
            .await?;
            for p in 1..per_room {
                peers::admit(
                    &state,
                    org,
                    "localhost",
                    &format!("room-{r}"),
                    &format!("peer {p}"),
                    rooms::Role::User,
                    None,
                )
                .await?;
            }
            anyhow::Ok(())
        }
    });
    use futures_util::StreamExt;
    let results: Vec<_> = fill.buffer_unordered(8).collect().await;
    for r in results {
        r?;
    }
    let expected = rooms_n * per_room;
    let depth = store::deliveries::pending_count(&state.db).await?;
    println!(
        "outbox filled: {depth} deliveries pending in {:.1}s",
        started.elapsed().as_secs_f64()
    );

    let started = Instant::now();
    let worker_state = state.clone();
    let worker = tokio::spawn(async move {
        let started = Instant::now();
        loop {
            let n = delivery::run_once(&worker_state)
                .await
                .expect("a delivery pass");
            if n == 0
                && store::deliveries::pending_count(&worker_state.db)
                    .await
                    .unwrap()
                    == 0
            {
                break;
            }
        }
        started.elapsed()
    });
    println!(
        "{:>8}  {:>10}  {:>12}",
        "t (s)", "delivered", "outbox depth"
    );
    while !worker.is_finished() {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let depth = store::deliveries::pending_count(&state.db).await?;
        println!(
            "{:>8.1}  {:>10}  {:>12}",
            started.elapsed().as_secs_f64(),
            seen.count.load(Ordering::Relaxed),
            depth
        );
    }
    let elapsed = worker.await?.as_secs_f64();
    let delivered = seen.count.load(Ordering::Relaxed);
    let unique = seen.ids.lock().unwrap().len();
    println!(
        "delivered {delivered} signed webhooks ({unique} distinct) of {expected} in {elapsed:.2}s"
    );
    println!("throughput: {:.0} deliveries/s", delivered as f64 / elapsed);
    println!(
        "dropped: {}  duplicates: {}",
        expected.saturating_sub(unique),
        delivered - unique
    );

    state.db.clone().close().await?;
    if let Some((admin, name)) = pg {
        let db = sea_orm::Database::connect(&admin).await?;
        db.execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
            .await?;
    }
    Ok(())
}
