//! Webhook delivery throughput: fills the outbox with events across many rooms, then lets the
//! delivery worker drain it into a local receiver, printing signed deliveries per second and
//! the outbox depth over time. Run with `cargo bench --bench deliveries`; set
//! `MEETPLANE_BENCH_DATABASE_URL=postgres://…/postgres` to run on Postgres (a scratch
//! database is created and dropped). `MEETPLANE_BENCH_ROOMS` and `MEETPLANE_BENCH_EVENTS_PER_ROOM`
//! size the run (default 500 × 20 = 10,000 deliveries).
mod common;

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
    auth::xroom_hmac,
    domain::audit::By,
    domain::delivery_worker as delivery,
    domain::{clients, domains, orgs, peers, rooms, webhooks},
    store,
};
use poem::{
    EndpointExt, Request, Route, Server, handler,
    http::StatusCode,
    listener::{Acceptor, Listener, TcpListener},
    web::Data,
};

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

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    meetplane::install_crypto_provider();
    let rooms_n = common::env_number("MEETPLANE_BENCH_ROOMS", 500);
    let per_room = common::env_number("MEETPLANE_BENCH_EVENTS_PER_ROOM", 20);
    let dir = tempfile::tempdir()?;
    let bench_db = common::BenchDb::create(dir.path()).await?;
    let mut config = common::config(dir.path(), &bench_db)?;
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
    let client = clients::create(&state, &By::cli(org), "bench")
        .await?
        .client
        .id;
    *seen.key.lock().unwrap() = domains::get(&state, org, "localhost").await?.webhook_key;
    let hook = webhooks::add(
        &state,
        &By::cli(org),
        webhooks::NewWebhook {
            domain: "localhost".into(),
            kind: "url".into(),
            url: Some(format!("http://127.0.0.1:{port}/hook")),
            ..Default::default()
        },
    )
    .await?;
    let (_, validation) = webhooks::validate(&state, &By::cli(org), hook.id).await?;
    assert!(validation.validated, "{:?}", validation.reason);

    println!("backend: {}", bench_db.backend());
    println!("filling the outbox: {rooms_n} rooms x {per_room} events");
    let started = Instant::now();
    let fill = futures_util::stream::iter(0..rooms_n).map(|r| {
        let state = state.clone();
        async move {
            rooms::init(
                &state,
                &By::cli(org),
                rooms::Origin::Client(client),
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
    bench_db.drop_scratch().await?;
    Ok(())
}
