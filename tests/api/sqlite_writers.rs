//! SQLite: the writers of one process queue for its one writer connection, never in SQLite's
//! busy handler (which sleeps). With the busy timeout at zero, a writer that met another
//! writer of the same process in SQLite would fail at once; none does.
use std::{sync::Arc, time::Duration};

use meetplane::clock::SystemClock;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{TestApp, TestDb};

#[tokio::test]
async fn concurrent_writers_queue_in_the_process_not_in_sqlites_busy_handler() {
    let app = TestApp::spawn_configured(Arc::new(SystemClock), |c| {
        c.sqlite_busy_timeout = Duration::ZERO;
    })
    .await;
    if matches!(*app.db, TestDb::Postgres { .. }) {
        eprintln!("skipped: about SQLite only (Postgres orders writers with row locks)");
        return;
    }
    let t = app.token().await;
    app.create_room(&t, json!({"domain": "localhost", "name": "busy"}))
        .await;
    let path = app.org_path("/rooms/localhost/busy/messages");
    let posts = (0..64).map(|i| {
        let (app, t, path) = (&app, &t, &path);
        async move {
            app.call(
                t,
                Method::POST,
                path,
                Some(json!({"text": format!("message {i}"), "displayName": "Load"})),
            )
            .await
        }
    });
    let answers = futures_util::future::join_all(posts).await;
    let refused: Vec<_> = answers
        .iter()
        .filter(|(s, _)| *s != StatusCode::CREATED)
        .collect();
    assert!(
        refused.is_empty(),
        "{} writes failed: {:?}",
        refused.len(),
        refused.first()
    );
}
