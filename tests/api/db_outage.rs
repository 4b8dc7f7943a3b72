//! A Postgres whose connections are cut (`pg_terminate_backend`, as a failover or a restart
//! does) answers 503 with `Retry-After`, never 500, and loses no write it answered 2xx.
use std::{sync::Arc, time::Duration};

use reqwest::{Method, StatusCode};
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::{
    helpers::{TestApp, TestDb},
    nodes::postgres_url,
};

/// Terminate every backend of the app's database, again and again, until `until`.
async fn cut_connections(admin_url: String, database: String, until: Instant) -> usize {
    let admin = sea_orm::Database::connect(&admin_url).await.unwrap();
    let mut rounds = 0;
    while Instant::now() < until {
        admin
            .execute_unprepared(&format!(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                 WHERE datname = '{database}' AND pid <> pg_backend_pid()"
            ))
            .await
            .unwrap();
        rounds += 1;
        // Paced, so that connections are re-made and used between the cuts.
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    admin.close().await.ok();
    rounds
}

/// What one attempt to create a room answered.
struct Answer {
    room: String,
    status: StatusCode,
    retry_after: Option<String>,
    body: Value,
}

impl Answer {
    async fn read(room: String, resp: reqwest::Response) -> Self {
        let status = resp.status();
        let retry_after = resp
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_string());
        let body = resp.json::<Value>().await.unwrap_or(Value::Null);
        Self {
            room,
            status,
            retry_after,
            body,
        }
    }
}

async fn create_rooms(
    app: Arc<TestApp>,
    token: String,
    writer: usize,
    until: Instant,
) -> Vec<Answer> {
    let mut answers = Vec::new();
    let mut n = 0;
    while Instant::now() < until {
        let room = format!("w{writer}-{n}");
        n += 1;
        let resp = app
            .request(Method::POST, &app.org_path("/rooms"))
            .bearer_auth(&token)
            .json(&json!({"domain": "localhost", "name": room}))
            .send()
            .await
            .unwrap();
        answers.push(Answer::read(room, resp).await);
    }
    answers
}

/// The same through the xroom dialect: its envelope, and a 503 says when to retry too.
async fn init_rooms_through_xroom(app: Arc<TestApp>, until: Instant) -> Vec<Answer> {
    let mut answers = Vec::new();
    let mut n = 0;
    while Instant::now() < until {
        let room = format!("x-{n}");
        n += 1;
        let salt = hex::encode(rand::random::<[u8; 32]>());
        let resp = app
            .request(Method::POST, "/api/room")
            .header("x-api-version", "2")
            .header(
                "x-auth-key",
                meetplane::auth::xroom_hmac::sign(&app.client.secret, &salt),
            )
            .header("x-random", salt)
            .header("x-auth-id", app.client.api_key.clone())
            .json(&json!({"method": "init", "data": {"id": format!("localhost/{room}")}}))
            .send()
            .await
            .unwrap();
        answers.push(Answer::read(room, resp).await);
    }
    answers
}

#[tokio::test]
async fn cut_database_connections_answer_503_and_lose_no_accepted_write() {
    let Some(admin_url) = postgres_url() else {
        return;
    };
    let db = TestDb::create_postgres(&admin_url).await;
    let TestDb::Postgres { name, .. } = &db else {
        unreachable!()
    };
    let database = name.clone();
    let app = Arc::new(
        TestApp::start(
            Arc::new(db),
            meetplane::auth::seal::MasterKey::generate(),
            Arc::new(meetplane::clock::SystemClock),
            None,
        )
        .await,
    );
    let token = app.token().await;

    let until = Instant::now() + Duration::from_secs(4);
    let cutter = tokio::spawn(cut_connections(admin_url.clone(), database, until));
    let writers: Vec<_> = (0..4)
        .map(|w| tokio::spawn(create_rooms(app.clone(), token.clone(), w, until)))
        .collect();
    let xroom = tokio::spawn(init_rooms_through_xroom(app.clone(), until));
    let mut answers = Vec::new();
    for w in writers {
        answers.extend(w.await.unwrap());
    }
    let mut xroom_refused = 0;
    for a in xroom.await.unwrap() {
        if a.status == StatusCode::OK {
            assert_eq!(a.body["isError"], false, "{}", a.body);
            continue;
        }
        assert_eq!(
            a.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{}: {}",
            a.room,
            a.body
        );
        assert_eq!(a.body["isError"], true, "{}", a.body);
        assert!(
            a.retry_after.is_some(),
            "xroom 503 without Retry-After: {}",
            a.body
        );
        xroom_refused += 1;
    }
    assert!(
        xroom_refused > 0,
        "the cuts refused at least one xroom call"
    );
    assert!(
        cutter.await.unwrap() > 10,
        "connections were cut repeatedly"
    );

    let refused: Vec<&Answer> = answers
        .iter()
        .filter(|a| a.status != StatusCode::CREATED)
        .collect();
    for a in &refused {
        assert_eq!(
            a.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{}: {}",
            a.room,
            a.body
        );
        assert_eq!(a.body["code"], "database_unavailable", "{}", a.body);
        let wait: u64 = a
            .retry_after
            .as_deref()
            .expect("503 has Retry-After")
            .parse()
            .unwrap();
        assert!((1..=30).contains(&wait), "{wait}");
    }
    assert!(
        !refused.is_empty(),
        "cutting connections under load refused at least one request ({} answered)",
        answers.len()
    );

    // Once the database is back, a refused request succeeds when retried (or had been made
    // after all: the commit raced the cut), and every room that was answered 201 is there.
    for a in &refused {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let (s, body) = app
                .call(
                    &token,
                    Method::POST,
                    &app.org_path("/rooms"),
                    Some(json!({"domain": "localhost", "name": a.room})),
                )
                .await;
            if s == StatusCode::CREATED || s == StatusCode::CONFLICT {
                break;
            }
            assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{body}");
            assert!(Instant::now() < deadline, "the database did not come back");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    for a in answers.iter().filter(|a| a.status == StatusCode::CREATED) {
        let (s, body) = app
            .call(
                &token,
                Method::GET,
                &app.org_path(&format!("/rooms/localhost/{}", a.room)),
                None,
            )
            .await;
        assert_eq!(
            s,
            StatusCode::OK,
            "room {} answered 201 but is gone: {body}",
            a.room
        );
    }
}
