//! Session links opened together: the links that arrive while others are being written go in
//! one transaction. Each is judged as if it had been opened alone after the ones before it,
//! a refused link writes nothing, and a batch whose statement fails is redone link by link.
use std::{sync::Arc, time::Duration};

use chrono::Utc;
use meetplane::{
    auth::seal::MasterKey,
    clock::SystemClock,
    domain::{session_joins::enter_together, sessions::Entered},
    error::Error,
    store::entities::domain,
};
use reqwest::{Method, StatusCode};
use sea_orm::{
    ConnectionTrait, DbBackend, QueryTrait,
    sqlx::{self, Connection},
};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{
    helpers::{TestApp, TestDb},
    nodes::postgres_url,
    receiver::Receiver,
    sessions::{guest_claims, open, owner_claims, pyjwt, subscribe},
    webhooks::validated_webhook,
};

/// An app on its own Postgres database and its org's default domain; `None` on SQLite runs.
pub async fn on_postgres() -> Option<(Arc<TestDb>, TestApp, domain::Model)> {
    let url = postgres_url()?;
    let db = Arc::new(TestDb::create_postgres(&url).await);
    let app = TestApp::start(
        db.clone(),
        MasterKey::generate(),
        Arc::new(SystemClock),
        None,
    )
    .await;
    let (_, domain) = meetplane::store::orgs::with_default_domain(&app.state.db, app.org_id)
        .await
        .unwrap()
        .unwrap();
    Some((db, app, domain))
}

fn outcome(result: &Result<Entered, Error>) -> String {
    match result {
        Ok(entered) => format!("{} in {}", entered.role, entered.session_id),
        Err(Error::NotFound { .. }) => "not_found".into(),
        Err(Error::Invalid { field, .. }) => format!("invalid {field}"),
        Err(
            Error::BadRequest { code, .. }
            | Error::Unauthenticated { code, .. }
            | Error::Forbidden { code, .. }
            | Error::Conflict { code, .. }
            | Error::TooManyRequests { code, .. },
        ) => code.to_string(),
        Err(e) => format!("internal: {e:?}"),
    }
}

fn link(app: &TestApp, sid: &str, role: &str, name: &str, reference: &str) -> String {
    let mut claims = owner_claims(app, sid, reference);
    claims["rle"] = role.into();
    claims["un"] = name.into();
    pyjwt(&claims, &app.client.secret, "HS256")
}

async fn set_session_capacity(app: &TestApp, t: &str, capacity: i64) {
    let (s, b) = app
        .call(
            t,
            Method::PATCH,
            &app.org_path(""),
            Some(json!({"sessionCapacity": capacity})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
}

async fn session(app: &TestApp, t: &str, sid: &str) -> Value {
    let (s, b) = app
        .call(
            t,
            Method::GET,
            &app.org_path(&format!("/sessions/{sid}")),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    b
}

fn count(v: &Value, key: &str) -> usize {
    v["content"][key].as_array().map_or(0, Vec::len)
}

/// Opens `links` as one batch on a task of its own; its outcomes, in order.
fn spawn_batch<const N: usize>(
    app: &TestApp,
    links: [String; N],
) -> tokio::task::JoinHandle<Vec<String>> {
    let state = app.state.clone();
    tokio::spawn(async move {
        let tokens: Vec<&str> = links.iter().map(String::as_str).collect();
        let results = enter_together(&state, &tokens).await;
        results.iter().map(outcome).collect()
    })
}

/// Writes a room of `kind` (`room` or `session`) as another node opening it would.
pub async fn open_room(conn: impl sqlx::PgExecutor<'_>, domain_id: Uuid, name: &str, kind: &str) {
    sqlx::query(
        "INSERT INTO rooms (id, domain_id, name, room_type, is_locked, capacity, created_at, \
         updated_at, event_seq, kind, present_count) \
         VALUES ($1, $2, $3, 1, false, 5, now(), now(), 0, $4, 0)",
    )
    .bind(Uuid::new_v4())
    .bind(domain_id)
    .bind(name)
    .bind(kind)
    .execute(conn)
    .await
    .unwrap();
}

/// Returns once `n` lock requests wait in the test's database.
pub async fn until_waiting(db: &TestDb, n: i64) {
    let mut watcher = sqlx::PgConnection::connect(&db.url()).await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let (waiting,): (i64,) = sqlx::query_as(
            "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
             WHERE NOT l.granted AND a.datname = current_database()",
        )
        .fetch_one(&mut watcher)
        .await
        .unwrap();
        if waiting >= n {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{waiting} of {n} lock requests ever waited"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn links_opened_together_are_each_judged_as_if_alone() {
    let app = TestApp::spawn().await;
    let t = app.token().await;
    crate::sessions::without_guest_lobby(&app, &t).await;
    let receiver = Receiver::start().await;
    validated_webhook(&app, &t, &receiver, json!({})).await;
    subscribe(&app, &t, "host").await;
    set_session_capacity(&app, &t, 3).await;
    let revoked = link(&app, "s3", "guest", "Revoked", "host");
    let (s, r) = app
        .call(
            &t,
            Method::POST,
            &app.org_path("/link-revocations"),
            Some(json!({"link": revoked})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    let wrong_secret = pyjwt(&guest_claims(&app, "s3", "host"), "not the secret", "HS256");
    let mut stranger = guest_claims(&app, "s3", "host");
    stranger["iss"] = "mpk_nobody".into();
    let stranger = pyjwt(&stranger, &app.client.secret, "HS256");

    let links = [
        link(&app, "s1", "guest", "G1", "host"),
        link(&app, "s1", "owner", "Host", "host"),
        link(&app, "s1", "guest", "G2", "host"),
        // The session is full now: three of three.
        link(&app, "s1", "guest", "G3", "host"),
        // The owner became live in s1 earlier in this batch.
        link(&app, "s2", "owner", "Host", "host"),
        revoked,
        wrong_secret,
        link(&app, "s3", "guest", "G", "nobody"),
        "garbage".to_string(),
        stranger,
        // Refused before its session's room would open.
        link(&app, "s4", "guest", &"n".repeat(200), "host"),
        link(&app, "s3", "guest", "G4", "host"),
        link(&app, "s3", "guest", "G5", "host"),
    ];
    let tokens: Vec<&str> = links.iter().map(String::as_str).collect();
    let results = enter_together(&app.state, &tokens).await;
    let outcomes: Vec<String> = results.iter().map(outcome).collect();
    assert_eq!(
        outcomes,
        [
            "guest in s1",
            "owner in s1",
            "guest in s1",
            "room_full",
            "subscription_busy",
            "link_revoked",
            "invalid_signature",
            "inactive_subscription",
            "malformed_link",
            "unknown_issuer",
            "invalid displayName",
            "guest in s3",
            "guest in s3",
        ]
    );

    // What was written is what was answered, nothing more.
    let s1 = session(&app, &t, "s1").await;
    assert_eq!(count(&s1, "entries"), 3, "{s1}");
    assert_eq!(count(&s1, "peers"), 3, "{s1}");
    assert_eq!(count(&session(&app, &t, "s3").await, "entries"), 2);
    let (s, _) = app
        .call(&t, Method::GET, &app.org_path("/sessions/s4"), None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "no entry for the refused link");
    let (s, _) = app
        .call(&t, Method::GET, &app.org_path("/rooms/localhost/s4"), None)
        .await;
    assert_eq!(
        s,
        StatusCode::NOT_FOUND,
        "no room opened for the refused link"
    );

    // Each room's events are numbered without gaps, and every one is delivered.
    let received = receiver.wait_for(10).await;
    let mut events: Vec<(String, String, i64)> = received
        .iter()
        .filter(|r| r.json["event"] != "validation")
        .map(|r| {
            (
                r.json["room"].as_str().unwrap_or_default().to_string(),
                r.json["event"].as_str().unwrap().to_string(),
                r.json["seq"].as_i64().unwrap(),
            )
        })
        .collect();
    events.sort_by(|a, b| (&a.0, a.2).cmp(&(&b.0, b.2)));
    let expected: Vec<(String, String, i64)> = [
        ("s1", "roomCreated", 1),
        ("s1", "sessionStarted", 2),
        ("s1", "clientAdded", 3),
        ("s1", "clientAdded", 4),
        ("s1", "clientAdded", 5),
        ("s3", "roomCreated", 1),
        ("s3", "sessionStarted", 2),
        ("s3", "clientAdded", 3),
        ("s3", "clientAdded", 4),
    ]
    .into_iter()
    .map(|(r, e, s)| (r.to_string(), e.to_string(), s))
    .collect();
    assert_eq!(events, expected, "{received:#?}");

    // The peers' tokens work: the owner may leave, and the room's count follows.
    let owner = results[1].as_ref().unwrap();
    let left = app
        .request(Method::POST, "/v1/rooms/localhost/s1/leave")
        .bearer_auth(&owner.peer_token)
        .send()
        .await
        .unwrap();
    assert_eq!(left.status(), StatusCode::OK);
    assert_eq!(count(&session(&app, &t, "s1").await, "peers"), 2);
    let (s, _) = open(&app, &link(&app, "s1", "guest", "G6", "host")).await;
    assert_eq!(s, StatusCode::OK, "a place came free");
}

#[tokio::test]
async fn a_batch_whose_statement_fails_is_redone_link_by_link() {
    let app = TestApp::spawn().await;
    let t = app.token().await;
    subscribe(&app, &t, "host").await;
    // A booking holds the room of session "booked": opening it is refused, which aborts
    // the batch's transaction.
    let start = (Utc::now() + chrono::TimeDelta::minutes(30)).to_rfc3339();
    let (s, b) = app
        .call(
            &t,
            Method::POST,
            &app.org_path("/bookings"),
            Some(json!({"domain": "localhost", "roomName": "booked", "startTime": start, "meetingOptions": {"duration": 30}})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");

    let links = [
        link(&app, "a", "guest", "A", "host"),
        link(&app, "booked", "guest", "B", "host"),
        link(&app, "a", "guest", "C", "host"),
        link(&app, "c", "owner", "Host", "host"),
    ];
    let tokens: Vec<&str> = links.iter().map(String::as_str).collect();
    let outcomes: Vec<String> = enter_together(&app.state, &tokens)
        .await
        .iter()
        .map(outcome)
        .collect();
    assert_eq!(
        outcomes,
        ["guest in a", "room_booked", "guest in a", "owner in c"]
    );
    assert_eq!(count(&session(&app, &t, "a").await, "entries"), 2);
    assert_eq!(count(&session(&app, &t, "c").await, "entries"), 1);
    let (s, _) = app
        .call(&t, Method::GET, &app.org_path("/sessions/booked"), None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn many_links_at_once_fill_a_session_exactly() {
    let app = TestApp::spawn().await;
    let t = app.token().await;
    crate::sessions::without_guest_lobby(&app, &t).await;
    subscribe(&app, &t, "host").await;
    set_session_capacity(&app, &t, 10).await;
    let links: Vec<String> = (0..40)
        .map(|i| link(&app, "crowd", "guest", &format!("G{i}"), "host"))
        .collect();
    let answers = futures_util::future::join_all(links.iter().map(|l| open(&app, l))).await;
    let admitted = answers.iter().filter(|(s, _)| *s == StatusCode::OK).count();
    let full = answers
        .iter()
        .filter(|(s, b)| *s == StatusCode::CONFLICT && b["code"] == "room_full")
        .count();
    assert_eq!((admitted, full), (10, 30), "{answers:?}");
    let crowd = session(&app, &t, "crowd").await;
    assert_eq!(count(&crowd, "peers"), 10, "{crowd}");
    assert_eq!(count(&crowd, "entries"), 10, "{crowd}");
    let (_, room) = app
        .call(
            &t,
            Method::GET,
            &app.org_path("/rooms/localhost/crowd"),
            None,
        )
        .await;
    // roomCreated, sessionStarted, then one clientAdded per admitted peer.
    assert_eq!(room["content"]["seq"], 12, "{room}");
}

/// Something that does not claim the room's name (a room created through the API: whatever
/// opens a missing room on the way to joining it claims the name, see below) opens a session's
/// room at the same moment as a batch that needs it: the batch's insert of the room waits for
/// the other's, fails on the unique name once the other commits, and the batch is redone link
/// by link into the room the other opened. (One link at a time, the first join used to answer
/// 409 here.)
#[tokio::test]
async fn a_room_opened_by_another_node_meanwhile_lets_everyone_in() {
    let Some((db, app, domain)) = on_postgres().await else {
        return;
    };
    let t = app.token().await;
    subscribe(&app, &t, "host").await;

    // The other node: the room's row written, its transaction still open.
    let mut other = sqlx::PgConnection::connect(&db.url()).await.unwrap();
    let mut opening = other.begin().await.unwrap();
    open_room(&mut *opening, domain.id, "race", "session").await;

    let links = [
        link(&app, "race", "guest", "A", "host"),
        link(&app, "race", "guest", "B", "host"),
        link(&app, "calm", "guest", "C", "host"),
    ];
    let batch = spawn_batch(&app, links);
    // Until the batch waits for the other's row lock.
    until_waiting(&db, 1).await;
    opening.commit().await.unwrap();

    assert_eq!(
        batch.await.unwrap(),
        ["guest in race", "guest in race", "guest in calm"]
    );
    let race = session(&app, &t, "race").await;
    assert_eq!(count(&race, "peers"), 2, "{race}");
    assert_eq!(count(&session(&app, &t, "calm").await, "entries"), 1);
}

/// A batch looks each of its rooms up in the live-name index, also when Postgres has no
/// statistics on the rooms yet (a burst of new sessions before autovacuum's next analyze).
/// With the keys ORed, the plan took only the domain from the index and compared the name
/// of every room in it, for every batch.
#[tokio::test]
async fn a_batch_finds_its_rooms_by_index_before_any_analyze() {
    let Some((db, app, domain)) = on_postgres().await else {
        return;
    };
    let mut conn = sqlx::PgConnection::connect(&db.url()).await.unwrap();
    sqlx::query(
        "INSERT INTO rooms (id, domain_id, name, room_type, is_locked, capacity, created_at, \
         updated_at, event_seq, kind, present_count) \
         SELECT gen_random_uuid(), $1, 's' || n, 1, false, 5, now(), now(), 0, 'session', 0 \
         FROM generate_series(1, 5000) AS n",
    )
    .bind(domain.id)
    .execute(&mut conn)
    .await
    .unwrap();

    let names = ["s10", "s2000", "s4999", "absent"];
    let keys: Vec<(Uuid, &str)> = names.iter().map(|n| (domain.id, *n)).collect();
    let mut query = meetplane::store::rooms::live_many(&keys).build(DbBackend::Postgres);
    query.sql = format!("EXPLAIN (ANALYZE, FORMAT JSON) {}", query.sql);
    let explained = app.state.db.query_one_raw(query).await.unwrap().unwrap();
    let plan: Value = explained.try_get("", "QUERY PLAN").unwrap();
    fn rows_filtered_out(node: &Value) -> u64 {
        node["Rows Removed by Filter"].as_u64().unwrap_or(0)
            + node["Plans"]
                .as_array()
                .map_or(0, |plans| plans.iter().map(rows_filtered_out).sum())
    }
    let root = &plan[0]["Plan"];
    assert_eq!(root["Actual Rows"], 3, "{plan:#}");
    assert!(rows_filtered_out(root) < 10, "{plan:#}");
}

/// Two nodes' batches open the same new sessions at the same moment, in opposite orders: each
/// waits for the other's claim on the names, then finds the rooms the other opened, instead
/// of failing on the live-name index (or deadlocking) and being redone link by link.
#[tokio::test]
async fn batches_opening_the_same_new_sessions_take_turns() {
    let Some((_db, app, _domain)) = on_postgres().await else {
        return;
    };
    let t = app.token().await;
    subscribe(&app, &t, "host").await;
    let together = |links: [String; 2]| spawn_batch(&app, links);
    for round in 0..10 {
        let (a, b) = (format!("a{round}"), format!("b{round}"));
        let one = together([
            link(&app, &a, "guest", "A1", "host"),
            link(&app, &b, "guest", "B1", "host"),
        ]);
        let two = together([
            link(&app, &b, "guest", "B2", "host"),
            link(&app, &a, "guest", "A2", "host"),
        ]);
        let (one, two) = (one.await.unwrap(), two.await.unwrap());
        assert_eq!(one, [format!("guest in {a}"), format!("guest in {b}")]);
        assert_eq!(two, [format!("guest in {b}"), format!("guest in {a}")]);
        for sid in [&a, &b] {
            let s = session(&app, &t, sid).await;
            assert_eq!(count(&s, "peers"), 2, "{s}");
        }
    }
    let metrics = crate::metrics::scrape(&app).await;
    assert_eq!(
        crate::metrics::sample(&metrics, "meetplane_session_join_batch_fallbacks_total"),
        Some(0.0),
        "a batch was redone link by link"
    );
}

/// Three transactions at once: a batch has looked its two new sessions up and claimed one
/// name (it waits for the other); meanwhile another node opens the first session's room, and
/// a third transaction locks that room and then asks for the batch's claim. When the batch
/// gets its second claim it finds the room opened, locked by the third. Waiting for it would
/// close a cycle that Postgres breaks only after `deadlock_timeout`, failing the third; the
/// batch instead gives up its claims at once and is redone link by link.
#[tokio::test]
async fn a_batch_holding_claims_does_not_wait_for_a_room_a_claimer_locked() {
    use meetplane::store::rooms::{NAME_CLAIMS, name_claim};
    let Some((db, app, domain)) = on_postgres().await else {
        return;
    };
    let t = app.token().await;
    subscribe(&app, &t, "host").await;
    let claim = |name: &str| name_claim(domain.id, name);
    let first = "tri-r";
    // The batch claims in key order: the second session's name first.
    let second = (0..)
        .map(|k| format!("tri-s{k}"))
        .find(|s| claim(s) < claim(first))
        .unwrap();
    let claim_sql = "SELECT pg_advisory_xact_lock($1, $2)";

    // Someone holds the first name's claim: the batch claims the second and waits there.
    let mut holder = sqlx::PgConnection::connect(&db.url()).await.unwrap();
    let mut holding = holder.begin().await.unwrap();
    sqlx::query(claim_sql)
        .bind(NAME_CLAIMS)
        .bind(claim(first))
        .execute(&mut *holding)
        .await
        .unwrap();
    let links = [
        link(&app, first, "guest", "A", "host"),
        link(&app, &second, "guest", "B", "host"),
    ];
    let batch = spawn_batch(&app, links);
    until_waiting(&db, 1).await;

    // Another node opens the first room; a third transaction locks it, then wants the claim
    // on the second name, which the batch holds.
    let mut opener = sqlx::PgConnection::connect(&db.url()).await.unwrap();
    open_room(&mut opener, domain.id, first, "session").await;
    let (locked, room_locked) = tokio::sync::oneshot::channel();
    let (url, domain_id, second_claim) = (db.url(), domain.id, claim(&second));
    let third = tokio::spawn(async move {
        let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
        let mut tx = conn.begin().await.unwrap();
        sqlx::query("SELECT id FROM rooms WHERE domain_id = $1 AND name = $2 FOR UPDATE")
            .bind(domain_id)
            .bind(first)
            .execute(&mut *tx)
            .await
            .unwrap();
        locked.send(()).unwrap();
        let claimed = sqlx::query(claim_sql)
            .bind(NAME_CLAIMS)
            .bind(second_claim)
            .execute(&mut *tx)
            .await
            .map(|_| ());
        match claimed {
            Ok(()) => tx.commit().await.unwrap(),
            Err(_) => tx.rollback().await.unwrap(),
        }
        claimed
    });
    room_locked.await.unwrap();
    until_waiting(&db, 2).await;
    holding.commit().await.unwrap();

    assert_eq!(
        batch.await.unwrap(),
        [format!("guest in {first}"), format!("guest in {second}")]
    );
    let third = third.await.unwrap();
    assert!(third.is_ok(), "the third transaction failed: {third:?}");
    let metrics = crate::metrics::scrape(&app).await;
    assert_eq!(
        crate::metrics::sample(&metrics, "meetplane_session_join_batch_fallbacks_total"),
        Some(1.0)
    );
}
