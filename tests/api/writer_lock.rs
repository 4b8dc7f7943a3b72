//! Postgres: a server that is the database's only writer answers cached reads without a
//! snapshot query per request, lets a second node (or the CLI) in before that one writes, so
//! reads stay exact, and takes the database back once it is alone again
//! (`store::writer_lock`, `store::snapshot_watch`).
use std::{sync::Arc, time::Duration};

use meetplane::{auth::seal::MasterKey, clock::SystemClock};
use reqwest::{Method, StatusCode};
use sea_orm::{
    ConnectionTrait,
    sqlx::{self, Connection},
};
use serde_json::json;

use crate::{
    helpers::{TestApp, TestDb},
    metrics::{sample, scrape},
    nodes::postgres_url,
};

/// The writer lock's key as Postgres shows it in `pg_locks` (the high and low halves).
const LOCK_CLASSID: i64 = 0x6d65_6574;
const LOCK_OBJID: i64 = 0x706c_616e;

async fn figure(app: &TestApp, name: &str) -> f64 {
    sample(&scrape(app).await, &format!("meetplane_{name}")).unwrap_or_else(|| panic!("{name}"))
}

/// Polls `name` until it reads `want` (the lock's task acts once a second).
async fn until_figure(app: &TestApp, name: &str, want: f64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while figure(app, name).await != want {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{name} never became {want}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn room_names(app: &TestApp, token: &str) -> Vec<String> {
    let (s, list) = app
        .call(
            token,
            Method::GET,
            &app.org_path("/rooms?domain=localhost"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{list}");
    list["content"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap().to_string())
        .collect()
}

/// Cached reads answered without a snapshot query so far, read from the server's state rather
/// than `/metrics`, whose scrape uses the pool (and so makes the next read ask again).
fn without_query(app: &TestApp) -> u64 {
    app.state.reads.snapshot_figures().expect("Postgres").1
}

/// Reads `n` lists and returns how many were answered without a snapshot query.
async fn reads_without_query(app: &TestApp, token: &str, n: usize) -> u64 {
    let before = without_query(app);
    for _ in 0..n {
        room_names(app, token).await;
    }
    without_query(app) - before
}

/// Reads lists until one is answered without a snapshot query. The read after any use of
/// the server's pool asks, and so may the next few while that connection is still being
/// returned (sqlx pings it first), more so on a loaded machine: hence reads until one does
/// not, rather than a count.
async fn until_read_without_query(app: &TestApp, token: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while reads_without_query(app, token, 5).await == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "every read asked Postgres"
        );
    }
}

async fn start(db: &Arc<TestDb>, key: &MasterKey, first: Option<&TestApp>) -> TestApp {
    TestApp::start(
        db.clone(),
        key.clone(),
        Arc::new(SystemClock),
        first.map(|a| a.client.clone()),
    )
    .await
}

#[tokio::test]
async fn a_server_alone_reads_without_asking_and_lets_a_second_node_in_before_it_writes() {
    let Some(url) = postgres_url() else { return };
    let db = Arc::new(TestDb::create_postgres(&url).await);
    let key = MasterKey::generate();
    // Without background jobs: the event listener would load the second node's events
    // through this node's pool, which alone makes reads ask again; the lock must do it.
    let a = TestApp::start_configured(db.clone(), key.clone(), Arc::new(SystemClock), None, |c| {
        c.background_workers = false
    })
    .await;
    let t = a.token().await;
    a.create_room(&t, json!({"domain": "localhost", "name": "first"}))
        .await;
    assert_eq!(figure(&a, "db_alone").await, 1.0, "alone on its database");
    until_read_without_query(&a, &t).await;
    assert_eq!(room_names(&a, &t).await, ["first"]);

    // A second node starts: the first lets go before the second's first write (its
    // migrations), and reads on the first see the second's writes at once.
    let b = start(&db, &key, Some(&a)).await;
    assert_eq!(figure(&a, "db_alone").await, 0.0, "handed over");
    assert_eq!(figure(&b, "db_alone").await, 0.0, "not alone either");
    let tb = b.token().await;
    for name in ["second", "third"] {
        // The list kept in memory, read under the latest snapshot: then the write.
        for _ in 0..3 {
            room_names(&a, &t).await;
        }
        b.create_room(&tb, json!({"domain": "localhost", "name": name}))
            .await;
        assert!(
            room_names(&a, &t).await.contains(&name.to_string()),
            "{name} seen through the first node at once"
        );
    }
    assert_eq!(reads_without_query(&a, &t, 5).await, 0, "every read asks");

    // Alone again once the second node is gone.
    b.stop().await;
    until_figure(&a, "db_alone", 1.0).await;
    until_read_without_query(&a, &t).await;
    assert_eq!(room_names(&a, &t).await, ["first", "second", "third"]);
    // /metrics tells the same counts.
    let scraped = figure(&a, "read_versions_without_query_total").await;
    assert_eq!(scraped, without_query(&a) as f64);
    assert!(figure(&a, "read_snapshot_queries_total").await >= 1.0);
}

#[tokio::test]
async fn a_write_outside_the_lock_shows_within_the_freshness_bound() {
    let Some(url) = postgres_url() else { return };
    let db = Arc::new(TestDb::create_postgres(&url).await);
    // No background jobs: nothing of the server's own touches its pool between the reads, so
    // only the bound on a version's age can make it ask again.
    let app = TestApp::start_configured(
        db.clone(),
        MasterKey::generate(),
        Arc::new(SystemClock),
        None,
        |c| c.background_workers = false,
    )
    .await;
    let t = app.token().await;
    app.create_room(&t, json!({"domain": "localhost", "name": "before"}))
        .await;
    assert_eq!(room_names(&app, &t).await, ["before"]);
    // Reads now stand on the latest snapshot without asking (nothing touches the pool from
    // here on, so only the bound on a version's age makes a read ask again).
    until_read_without_query(&app, &t).await;

    // psql or a script: a plain connection that takes no lock.
    let mut outsider = sqlx::PgConnection::connect(&db.url()).await.unwrap();
    sqlx::query("UPDATE rooms SET name = 'after' WHERE name = 'before'")
        .execute(&mut outsider)
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while room_names(&app, &t).await != ["after"] {
        assert!(
            tokio::time::Instant::now() < deadline,
            "a change outside the lock never showed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_server_whose_lock_connection_is_cut_takes_the_lock_again() {
    let Some(url) = postgres_url() else { return };
    let db = Arc::new(TestDb::create_postgres(&url).await);
    let app = start(&db, &MasterKey::generate(), None).await;
    assert_eq!(figure(&app, "db_alone").await, 1.0);
    let holder = "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted \
         AND mode = 'ExclusiveLock' AND classid = $1 AND objid = $2 \
         AND database = (SELECT oid FROM pg_database WHERE datname = current_database())";
    let mut admin = sqlx::PgConnection::connect(&db.url()).await.unwrap();
    let first: i32 = sqlx::query_scalar(holder)
        .bind(LOCK_CLASSID)
        .bind(LOCK_OBJID)
        .fetch_one(&mut admin)
        .await
        .expect("the server holds the lock exclusively");
    let killed: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1)")
        .bind(first)
        .fetch_one(&mut admin)
        .await
        .unwrap();
    assert!(killed);
    // The server notices, lets a second pass, and takes the lock on a new connection.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let now: Option<i32> = sqlx::query_scalar(holder)
            .bind(LOCK_CLASSID)
            .bind(LOCK_OBJID)
            .fetch_optional(&mut admin)
            .await
            .unwrap();
        if now.is_some_and(|pid| pid != first) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the lock was not taken again"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(figure(&app, "db_alone").await, 1.0);
    // Still a working server.
    let t = app.token().await;
    app.create_room(&t, json!({"domain": "localhost", "name": "still"}))
        .await;
    assert_eq!(room_names(&app, &t).await, ["still"]);
    app.state
        .db
        .execute_unprepared("SELECT 1")
        .await
        .expect("the pool still answers");
}
