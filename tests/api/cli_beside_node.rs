//! The CLI and other writers beside a running node: a command never waits on the node (not
//! even a stopped one), the node holds no lock of its own, and a write made anywhere shows in
//! the node's very next read, cached or not.
use std::{
    process::{Child, Command},
    sync::Arc,
    time::Duration,
};

use meetplane::{auth::seal::MasterKey, clock::SystemClock, config::DatabaseUrl, store::connect};
use reqwest::{Method, StatusCode};
use sea_orm::{
    ConnectionTrait,
    sqlx::{self, Connection},
};
use serde_json::json;

use crate::{
    helpers::{TestApp, TestDb},
    metrics::{sample, scrape},
    nodes::{Cluster, postgres_url},
};

/// Well under the 30 s a CLI command used to wait for a node to share the database.
const CLI_DEADLINE: Duration = Duration::from_secs(20);

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

fn signal(child: &Child, name: &str) {
    let sent = Command::new("kill")
        .args([name, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success(), "kill {name}");
}

/// Runs a CLI command to its end, failing the test if that takes longer than `CLI_DEADLINE`.
async fn run_within_deadline(mut cmd: Command) -> std::process::Output {
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = tokio::time::Instant::now() + CLI_DEADLINE;
    while child.try_wait().unwrap().is_none() {
        if tokio::time::Instant::now() >= deadline {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "the CLI command waited on the node: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.wait_with_output().unwrap()
}

#[tokio::test]
async fn a_cli_command_never_waits_on_a_node_and_its_write_shows_in_the_next_read() {
    let cluster = Cluster::new(TestDb::create().await);
    let mut node = cluster.start();
    let client = cluster.client();
    let token = node.token(&client).await;
    let rooms = format!("/v1/orgs/{}/rooms", client.org_id);
    // The token check is kept in memory from here on.
    for _ in 0..3 {
        let (s, body) = node.call(&token, Method::GET, &rooms, None).await;
        assert_eq!(s, StatusCode::OK, "{body}");
    }

    // A node that cannot answer anything (stopped, as a debugger or SIGSTOP leaves it).
    signal(node.child(), "-STOP");
    let out = run_within_deadline(cluster.command(&["client", "revoke", &client.api_key])).await;
    signal(node.child(), "-CONT");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The node's very next read sees the revocation.
    let (s, body) = node.call(&token, Method::GET, &rooms, None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{body}");
    node.terminate().await;
}

#[tokio::test]
async fn a_write_by_any_connection_shows_in_the_next_read() {
    let db = Arc::new(TestDb::create().await);
    // No background jobs: nothing of the server's own touches the database between reads.
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
    // Kept in memory after the first read.
    for _ in 0..3 {
        assert_eq!(room_names(&app, &t).await, ["before"]);
    }
    // psql or a script: a connection of no pool of the server's.
    let outsider = connect::connect(&DatabaseUrl::new(db.url()), 1, false)
        .await
        .unwrap();
    for name in ["after", "later"] {
        outsider
            .execute_unprepared(&format!("UPDATE rooms SET name = '{name}'"))
            .await
            .unwrap();
        assert_eq!(room_names(&app, &t).await, [name], "seen at once");
        assert_eq!(room_names(&app, &t).await, [name]);
    }
    outsider.close().await.unwrap();
}

#[tokio::test]
async fn a_node_on_postgres_holds_no_lock() {
    let Some(url) = postgres_url() else { return };
    let db = Arc::new(TestDb::create_postgres(&url).await);
    // Without background jobs, whose XMPP bridge takes a leader lock of its own.
    let app = TestApp::start_configured(
        db.clone(),
        MasterKey::generate(),
        Arc::new(SystemClock),
        None,
        |c| c.background_workers = false,
    )
    .await;
    let t = app.token().await;
    app.create_room(&t, json!({"domain": "localhost", "name": "r"}))
        .await;
    assert_eq!(room_names(&app, &t).await, ["r"]);
    let mut admin = sqlx::PgConnection::connect(&db.url()).await.unwrap();
    let locks: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' \
         AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
    )
    .fetch_one(&mut admin)
    .await
    .unwrap();
    assert_eq!(locks, 0, "the node holds an advisory lock");
    // Every read asked for the snapshot (there is no other way to know it is current).
    let scraped = scrape(&app).await;
    let queries = sample(&scraped, "meetplane_read_snapshot_queries_total").unwrap();
    assert!(queries >= 1.0, "{scraped}");
}
