//! The Coviu surface: subscriptions, session links checked at join time, session entries.
//! Links are built exactly as PyJWT builds them: header `{"alg":"HS256","typ":"JWT"}`, compact
//! JSON payload, base64url without padding, HMAC-SHA256.
use std::sync::Arc;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::Utc;
use hmac::{Hmac, Mac};
use meetplane::clock::SystemClock;
use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::helpers::{TestApp, assert_problem, read};

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// `jwt.encode(claims, secret, algorithm=alg)` as PyJWT writes it (HS* only).
pub fn pyjwt(claims: &Value, secret: &str, alg: &str) -> String {
    let header = format!(r#"{{"alg":"{alg}","typ":"JWT"}}"#);
    let signing_input = format!(
        "{}.{}",
        b64(header.as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let signature = match alg {
        "HS256" => {
            let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
            mac.update(signing_input.as_bytes());
            mac.finalize().into_bytes().to_vec()
        }
        "HS512" => {
            let mut mac = Hmac::<sha2::Sha512>::new_from_slice(secret.as_bytes()).unwrap();
            mac.update(signing_input.as_bytes());
            mac.finalize().into_bytes().to_vec()
        }
        _ => vec![1, 2, 3],
    };
    format!("{signing_input}.{}", b64(&signature))
}

pub fn owner_claims(app: &TestApp, sid: &str, reference: &str) -> Value {
    let now = Utc::now().timestamp();
    json!({"rle": "owner", "un": "Dr. Jane Who", "exp": now + 3600, "img": "http://www.fillmurray.com/200/300",
           "sid": sid, "iss": app.client.api_key, "rtn": "https://coviu.com", "ref": reference,
           "email": "dr.who@gmail.com", "nbf": now})
}

pub fn guest_claims(app: &TestApp, sid: &str, reference: &str) -> Value {
    let mut c = owner_claims(app, sid, reference);
    c["rle"] = "guest".into();
    c["un"] = "Joe Guest".into();
    c.as_object_mut().unwrap().remove("email");
    c
}

/// Open a link as an API client would (`Accept: application/json`).
pub async fn open(app: &TestApp, link: &str) -> (StatusCode, Value) {
    read(
        app.request(Method::GET, &format!("/v1/session/{link}"))
            .header(header::ACCEPT, "application/json")
            .send()
            .await
            .unwrap(),
    )
    .await
}

pub async fn subscribe(app: &TestApp, t: &str, reference: &str) -> Value {
    let (s, b) = app
        .call(
            t,
            Method::POST,
            &app.org_path("/subscriptions"),
            Some(json!({"ref": reference, "email": "dr.who@gmail.com", "name": "Dr. Who"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    b
}

#[tokio::test]
async fn every_bad_link_is_refused_with_a_clear_code() {
    let app = TestApp::spawn().await;
    let t = app.token().await;
    subscribe(&app, &t, "owner-1").await;
    let good = owner_claims(&app, "s1", "owner-1");
    let secret = app.client.secret.clone();
    let now = Utc::now().timestamp();
    let with = |changes: Value| {
        let mut c = good.clone();
        for (k, v) in changes.as_object().unwrap() {
            if v.is_null() {
                c.as_object_mut().unwrap().remove(k);
            } else {
                c[k] = v.clone();
            }
        }
        c
    };
    let tampered = {
        let link = pyjwt(&good, &secret, "HS256");
        let parts: Vec<&str> = link.split('.').collect();
        let payload = b64(with(json!({"rle": "owner", "un": "Mallory"}))
            .to_string()
            .as_bytes());
        format!("{}.{payload}.{}", parts[0], parts[2])
    };
    let none_alg = format!(
        "{}.{}.",
        b64(br#"{"alg":"none","typ":"JWT"}"#),
        b64(good.to_string().as_bytes())
    );
    let cases: Vec<(String, StatusCode, &str)> = vec![
        (
            pyjwt(&with(json!({"exp": now - 120})), &secret, "HS256"),
            StatusCode::UNAUTHORIZED,
            "link_expired",
        ),
        (
            pyjwt(&with(json!({"nbf": now + 600})), &secret, "HS256"),
            StatusCode::UNAUTHORIZED,
            "link_not_yet_valid",
        ),
        (
            pyjwt(&good, "not the secret", "HS256"),
            StatusCode::UNAUTHORIZED,
            "invalid_signature",
        ),
        (
            pyjwt(&with(json!({"iss": "nobody"})), &secret, "HS256"),
            StatusCode::UNAUTHORIZED,
            "unknown_issuer",
        ),
        (none_alg, StatusCode::UNAUTHORIZED, "unsupported_algorithm"),
        (
            pyjwt(&good, &secret, "HS512"),
            StatusCode::UNAUTHORIZED,
            "unsupported_algorithm",
        ),
        (
            pyjwt(&good, &secret, "RS256"),
            StatusCode::UNAUTHORIZED,
            "unsupported_algorithm",
        ),
        (tampered, StatusCode::UNAUTHORIZED, "invalid_signature"),
        (
            pyjwt(&with(json!({"un": null})), &secret, "HS256"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            pyjwt(&with(json!({"email": null})), &secret, "HS256"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            pyjwt(&with(json!({"sid": 5})), &secret, "HS256"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            pyjwt(&with(json!({"rle": "admin"})), &secret, "HS256"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            pyjwt(&with(json!({"img": "not a url"})), &secret, "HS256"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            pyjwt(&with(json!({"ref": "unknown-ref"})), &secret, "HS256"),
            StatusCode::FORBIDDEN,
            "inactive_subscription",
        ),
        (
            "not-a-jwt".to_string(),
            StatusCode::BAD_REQUEST,
            "malformed_link",
        ),
        (
            "a.b.c".to_string(),
            StatusCode::BAD_REQUEST,
            "malformed_link",
        ),
        (
            format!("{}.{}.x", b64(br#"{"alg":"HS256"}"#), "A".repeat(10 * 1024)),
            StatusCode::BAD_REQUEST,
            "link_too_long",
        ),
    ];
    for (link, status, code) in cases {
        let (s, b) = open(&app, &link).await;
        assert_problem(s, &b, status, code);
    }
    let (_, b) = open(&app, &pyjwt(&with(json!({"un": null})), &secret, "HS256")).await;
    assert_eq!(b["errors"][0]["field"], "un");

    // A revoked issuer.
    let created = meetplane::domain::clients::create(
        &app.state,
        &meetplane::domain::audit::By::cli(app.org_id),
        "short-lived",
    )
    .await
    .unwrap();
    let link = pyjwt(
        &with(json!({"iss": created.client.api_key})),
        &created.secret,
        "HS256",
    );
    let model = meetplane::domain::clients::find_by_api_key(&app.state.db, &created.client.api_key)
        .await
        .unwrap();
    meetplane::domain::clients::revoke(
        &app.state,
        &meetplane::domain::audit::By::cli(model.org_id),
        &model,
    )
    .await
    .unwrap();
    let (s, b) = open(&app, &link).await;
    assert_problem(s, &b, StatusCode::UNAUTHORIZED, "unknown_issuer");
}

#[tokio::test]
async fn one_subscription_hosts_one_session_at_a_time_within_capacity() {
    let app = TestApp::spawn().await;
    let t = app.token().await;
    without_guest_lobby(&app, &t).await;
    subscribe(&app, &t, "host").await;
    let link = |sid: &str, rle: &str, un: &str| {
        let mut c = owner_claims(&app, sid, "host");
        c["rle"] = rle.into();
        c["un"] = un.into();
        pyjwt(&c, &app.client.secret, "HS256")
    };
    let (s, _) = open(&app, &link("a", "owner", "Host")).await;
    assert_eq!(s, StatusCode::OK);
    // The same owner again in the same session is fine; in another session it is not.
    assert_eq!(
        open(&app, &link("a", "owner", "Host on phone")).await.0,
        StatusCode::OK
    );
    let (s, b) = open(&app, &link("b", "owner", "Host")).await;
    assert_problem(s, &b, StatusCode::CONFLICT, "subscription_busy");

    // Capacity: the org's session capacity (5 by default; set 3 here).
    let (s, _) = app
        .call(
            &t,
            Method::PATCH,
            &app.org_path(""),
            Some(json!({"sessionCapacity": 3})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        open(&app, &link("c", "guest", "G1")).await.0,
        StatusCode::OK
    );
    assert_eq!(
        open(&app, &link("c", "guest", "G2")).await.0,
        StatusCode::OK
    );
    assert_eq!(
        open(&app, &link("c", "guest", "G3")).await.0,
        StatusCode::OK
    );
    let (s, b) = open(&app, &link("c", "guest", "G4")).await;
    assert_problem(s, &b, StatusCode::CONFLICT, "room_full");
}

#[tokio::test]
async fn a_browser_is_sent_to_the_join_page() {
    let app = TestApp::spawn().await;
    let t = app.token().await;
    subscribe(&app, &t, "r").await;
    let link = pyjwt(
        &owner_claims(&app, "browser-session", "r"),
        &app.client.secret,
        "HS256",
    );
    let resp = app
        .request(Method::GET, &format!("/v1/session/{link}"))
        .header(header::ACCEPT, "text/html,application/xhtml+xml")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FOUND);
    let location = resp.headers()[header::LOCATION]
        .to_str()
        .unwrap()
        .to_string();
    // The return URL is not in the page's URL (anyone can craft that); the page asks the
    // server for it.
    assert!(
        location.starts_with("/join/localhost/browser-session#peerToken=mppt_"),
        "{location}"
    );
    let page = app
        .request(Method::GET, location.split('#').next().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    // The meeting page (built with the dashboard; a binary built without npm says so, which
    // CI does not accept).
    let body = page.text().await.unwrap();
    let built = body.contains("id=\"meeting\"");
    assert!(
        built || (std::env::var("CI").is_err() && body.contains("meeting page was not built")),
        "{body}"
    );
    // The token in the fragment works for the peer's room view.
    let token = location.split("#peerToken=").nth(1).unwrap();
    let (s, room) = read(
        app.request(Method::GET, "/v1/rooms/localhost/browser-session")
            .bearer_auth(token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{room}");
    assert_eq!(room["content"]["peers"][0]["displayName"], "Dr. Jane Who");
    assert!(
        room["content"].get("key").is_none(),
        "no password for peers"
    );
    // Where this peer returns: its link's rtn, vouched for by the server.
    assert_eq!(room["content"]["returnUrl"], "https://coviu.com", "{room}");
    // A peer that came without a link has none.
    let (s, joined) = app
        .join(
            "localhost/browser-session",
            json!({"displayName": "Walk-in"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{joined}");
    let (_, room) = read(
        app.request(Method::GET, "/v1/rooms/localhost/browser-session")
            .bearer_auth(joined["content"]["peerToken"].as_str().unwrap())
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(room["content"]["returnUrl"].is_null(), "{room}");
}

#[tokio::test]
async fn links_are_revoked_by_link_session_subscription_or_kick() {
    let app = TestApp::spawn().await;
    let t = app.token().await;
    let sub = subscribe(&app, &t, "r").await;
    let sub_id = sub["content"]["subscriptionId"]
        .as_str()
        .unwrap()
        .to_string();
    let guest = |sid: &str, un: &str| {
        let mut c = guest_claims(&app, sid, "r");
        c["un"] = un.into();
        pyjwt(&c, &app.client.secret, "HS256")
    };
    let revoke = |body: Value| {
        let (app, t) = (&app, &t);
        async move {
            app.call(
                t,
                Method::POST,
                &app.org_path("/link-revocations"),
                Some(body),
            )
            .await
        }
    };

    let one = guest("s", "one");
    let (s, r) = revoke(json!({"link": one})).await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    let (s, b) = open(&app, &one).await;
    assert_problem(s, &b, StatusCode::FORBIDDEN, "link_revoked");
    assert_eq!(
        open(&app, &guest("s", "two")).await.0,
        StatusCode::OK,
        "other links still work"
    );

    // Every link of a session issued before now (these carry nbf = now, so the cutoff is
    // set a little later).
    let cutoff = (Utc::now() + chrono::TimeDelta::seconds(5)).to_rfc3339();
    revoke(json!({"sessionId": "s2", "issuedBefore": cutoff})).await;
    let (s, b) = open(&app, &guest("s2", "x")).await;
    assert_problem(s, &b, StatusCode::FORBIDDEN, "link_revoked");
    revoke(json!({"subscriptionId": sub_id, "issuedBefore": cutoff})).await;
    let (s, b) = open(&app, &guest("s3", "y")).await;
    assert_problem(s, &b, StatusCode::FORBIDDEN, "link_revoked");
    let (s, b) = revoke(json!({"jti": "a", "sessionId": "b"})).await;
    assert_problem(s, &b, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");

    // A kicked peer's link is refused afterwards… (a fresh subscription: "r" is revoked now)
    subscribe(&app, &t, "r2").await;
    let guest = |sid: &str, un: &str| {
        let mut c = guest_claims(&app, sid, "r2");
        c["un"] = un.into();
        pyjwt(&c, &app.client.secret, "HS256")
    };
    let kicked = guest("k", "kicked");
    let (_, entered) = open(&app, &kicked).await;
    let room = entered["content"]["room"].as_str().unwrap().to_string();
    app.call(
        &t,
        Method::POST,
        &app.org_path(&format!("/rooms/{room}/kick")),
        Some(json!({"peerId": entered["content"]["peerId"]})),
    )
    .await;
    let (s, b) = open(&app, &kicked).await;
    assert_problem(s, &b, StatusCode::FORBIDDEN, "link_revoked");
    // …unless the org lets kicked peers rejoin.
    app.call(
        &t,
        Method::PATCH,
        &app.org_path(""),
        Some(json!({"allowRejoinAfterKick": true})),
    )
    .await;
    let again = guest("k2", "kicked");
    let (_, entered) = open(&app, &again).await;
    let room = entered["content"]["room"].as_str().unwrap().to_string();
    app.call(
        &t,
        Method::POST,
        &app.org_path(&format!("/rooms/{room}/kick")),
        Some(json!({"peerId": entered["content"]["peerId"]})),
    )
    .await;
    assert_eq!(open(&app, &again).await.0, StatusCode::OK);
    let (_, list) = app
        .call(&t, Method::GET, &app.org_path("/link-revocations"), None)
        .await;
    assert_eq!(list["content"].as_array().unwrap().len(), 4);
}

#[tokio::test]
async fn the_entries_csv_neutralises_formulas() {
    // A spreadsheet runs a cell beginning with = + - @ (or a tab or CR) as a formula.
    let app = TestApp::spawn_with_clock(Arc::new(SystemClock)).await;
    let t = app.token().await;
    subscribe(&app, &t, "r").await;
    let mut owner = owner_claims(&app, "talk", "r");
    owner["un"] = "=HYPERLINK(\"http://evil.example\")".into();
    let mut guest = guest_claims(&app, "talk", "r");
    guest["un"] = "-1+2".into();
    for claims in [owner, guest] {
        let (s, b) = open(&app, &pyjwt(&claims, &app.client.secret, "HS256")).await;
        assert_eq!(s, StatusCode::OK, "{b}");
    }
    let resp = app
        .request(Method::GET, &app.org_path("/session-entries.csv"))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    let text = resp.text().await.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[1].contains(",owner,\"'=HYPERLINK(\"\"http://evil.example\"\")\","),
        "{text}"
    );
    assert!(lines[2].contains(",guest,'-1+2,"), "{text}");
}

#[tokio::test]
async fn a_session_shows_its_entries_exports_csv_and_ends_when_empty() {
    let app = TestApp::spawn_with_clock(Arc::new(SystemClock)).await;
    let t = app.token().await;
    without_guest_lobby(&app, &t).await;
    subscribe(&app, &t, "r").await;
    let (_, o) = open(
        &app,
        &pyjwt(
            &owner_claims(&app, "talk", "r"),
            &app.client.secret,
            "HS256",
        ),
    )
    .await;
    let (_, g) = open(
        &app,
        &pyjwt(
            &guest_claims(&app, "talk", "r"),
            &app.client.secret,
            "HS256",
        ),
    )
    .await;
    let (s, session) = app
        .call(&t, Method::GET, &app.org_path("/sessions/talk"), None)
        .await;
    assert_eq!(s, StatusCode::OK, "{session}");
    assert_eq!(
        (
            session["content"]["live"].clone(),
            session["content"]["room"].clone()
        ),
        (json!(true), json!("localhost/talk"))
    );
    assert_eq!(session["content"]["entries"].as_array().unwrap().len(), 2);
    assert_eq!(session["content"]["peers"].as_array().unwrap().len(), 2);

    let resp = app
        .request(Method::GET, &app.org_path("/session-entries.csv"))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(
        resp.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let text = resp.text().await.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "entryTime,entryId,sessionId,role,name,peerId,subscriptionId,clientId,accessToken"
    );
    assert_eq!(lines.len(), 3);
    assert!(lines[1].contains(",talk,owner,Dr. Jane Who,"), "{text}");
    let future = url::form_urlencoded::byte_serialize(
        (Utc::now() + chrono::TimeDelta::hours(1))
            .to_rfc3339()
            .as_bytes(),
    )
    .collect::<String>();
    let (s, empty) = read(
        app.request(
            Method::GET,
            &app.org_path(&format!("/session-entries.csv?from={future}")),
        )
        .bearer_auth(&t)
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        empty["raw"].as_str().unwrap().lines().count(),
        1,
        "just the header"
    );

    // Both leave: the session ends and its room closes.
    for entered in [&o, &g] {
        let token = entered["content"]["peerToken"].as_str().unwrap();
        let resp = app
            .request(Method::POST, "/v1/rooms/localhost/talk/leave")
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
    }
    let (_, session) = app
        .call(&t, Method::GET, &app.org_path("/sessions/talk"), None)
        .await;
    assert_eq!(session["content"]["live"], false);
    let (s, b) = app
        .call(&t, Method::GET, &app.org_path("/sessions/never"), None)
        .await;
    assert_problem(s, &b, StatusCode::NOT_FOUND, "session_not_found");
}

#[tokio::test]
async fn subscriptions_are_validated_and_refs_unique_while_active() {
    let app = TestApp::spawn().await;
    let t = app.token().await;
    let post = |body: Value| {
        let (app, t) = (&app, &t);
        async move {
            app.call(t, Method::POST, &app.org_path("/subscriptions"), Some(body))
                .await
        }
    };
    for (body, field) in [
        (
            json!({"ref": "x".repeat(257), "email": "a@b.org", "name": "n"}),
            "ref",
        ),
        (
            json!({"ref": "r", "email": "not-an-email", "name": "n"}),
            "email",
        ),
        (json!({"ref": "r", "email": "a@b.org", "name": ""}), "name"),
        (json!({"ref": "r", "email": "a@b.org"}), "name"),
    ] {
        let (s, b) = post(body).await;
        assert_problem(s, &b, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert_eq!(b["errors"][0]["field"], field);
    }
    let first = subscribe(&app, &t, "same").await;
    let (s, b) = post(json!({"ref": "same", "email": "a@b.org", "name": "n"})).await;
    assert_problem(s, &b, StatusCode::CONFLICT, "subscription_exists");
    app.call(
        &t,
        Method::DELETE,
        first["_links"]["self"]["href"].as_str().unwrap(),
        None,
    )
    .await;
    let (s, _) = post(json!({"ref": "same", "email": "a@b.org", "name": "n"})).await;
    assert_eq!(
        s,
        StatusCode::OK,
        "the ref is free once the old subscription ended"
    );
    let (_, list) = app
        .call(&t, Method::GET, &app.org_path("/subscriptions"), None)
        .await;
    assert_eq!(list["content"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn sessions_start_and_end_with_events() {
    use crate::realtime::{connect, next, next_of, send};
    let app = TestApp::spawn().await;
    let t = app.token().await;
    subscribe(&app, &t, "r").await;
    let mut socket = connect(&app.address, &t).await;
    next(&mut socket).await;
    send(&mut socket, json!({"type": "subscribe", "org": true})).await;
    next_of(&mut socket, "subscribed").await;
    let (_, o) = open(
        &app,
        &pyjwt(&owner_claims(&app, "ev", "r"), &app.client.secret, "HS256"),
    )
    .await;
    let token = o["content"]["peerToken"].as_str().unwrap();
    app.request(Method::POST, "/v1/rooms/localhost/ev/leave")
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let mut seen = Vec::new();
    while seen.len() < 6 {
        let e = next_of(&mut socket, "event").await;
        seen.push((
            e["event"].as_str().unwrap().to_string(),
            e["seq"].as_i64().unwrap(),
        ));
        if e["event"] == "sessionStarted" || e["event"] == "sessionEnded" {
            assert_eq!(e["payload"]["session"]["id"], "ev");
        }
    }
    let names: Vec<&str> = seen.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "roomCreated",
            "sessionStarted",
            "clientAdded",
            "clientsRemoved",
            "roomRemoved",
            "sessionEnded"
        ]
    );
    assert_eq!(
        seen.iter().map(|(_, s)| *s).collect::<Vec<_>>(),
        [1, 2, 3, 4, 5, 6]
    );
}

// Two threads: the CLI waits for this test's server to share the writer lock while this
// thread blocks on it (see tests/api/cli.rs).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_prints_a_link_that_opens() {
    let app = TestApp::spawn().await;
    let t = app.token().await;
    subscribe(&app, &t, "cli-ref").await;
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_meetplane"))
        .args([
            "link",
            "--client",
            &app.client.api_key,
            "--sid",
            "cli-session",
            "--role",
            "owner",
            "--name",
            "Dr. Who",
            "--ref",
            "cli-ref",
            "--email",
            "who@example.org",
            "--ttl",
            "10m",
        ])
        .env("DATABASE_URL", app.db.url())
        .env("MEETPLANE_MASTER_KEY", app.master_key.to_hex())
        .env("MEETPLANE_DATA_DIR", app.db.dir())
        .env("MEETPLANE_PUBLIC_URL", &app.address)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let link = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let prefix = format!("{}/v1/session/", app.address);
    assert!(link.starts_with(&prefix), "{link}");
    let (s, b) = open(&app, link.trim_start_matches(&prefix)).await;
    assert_eq!(
        (s, b["content"]["role"].clone()),
        (StatusCode::OK, json!("owner")),
        "{b}"
    );
    // An owner link without an email is refused by the CLI itself.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_meetplane"))
        .args([
            "link",
            "--client",
            &app.client.api_key,
            "--sid",
            "x",
            "--role",
            "owner",
            "--name",
            "n",
            "--ref",
            "cli-ref",
        ])
        .env("DATABASE_URL", app.db.url())
        .env("MEETPLANE_MASTER_KEY", app.master_key.to_hex())
        .env("MEETPLANE_DATA_DIR", app.db.dir())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--email"));
}

#[tokio::test]
async fn session_entries_filter_by_session_role_name_and_time() {
    let app = TestApp::spawn().await;
    let t = app.token().await;
    subscribe(&app, &t, "r1").await;
    subscribe(&app, &t, "r2").await;
    for (sid, reference) in [("talk-a", "r1"), ("talk-b", "r2")] {
        for claims in [
            owner_claims(&app, sid, reference),
            guest_claims(&app, sid, reference),
        ] {
            let (s, b) = open(&app, &pyjwt(&claims, &app.client.secret, "HS256")).await;
            assert_eq!(s, StatusCode::OK, "{b}");
        }
    }
    let list = |query: &'static str| {
        let app = &app;
        let t = &t;
        async move {
            app.call(
                t,
                Method::GET,
                &app.org_path(&format!("/sessions?{query}")),
                None,
            )
            .await
        }
    };
    let names = |body: &Value| -> Vec<(String, String)> {
        body["content"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                let c = &e["content"];
                (
                    c["sessionId"].as_str().unwrap().to_string(),
                    c["name"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    let (s, b) = list("sessionId=talk-a").await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(
        names(&b),
        [
            ("talk-a".into(), "Joe Guest".into()),
            ("talk-a".into(), "Dr. Jane Who".into())
        ]
    );
    let (_, b) = list("role=guest&name=jOE").await;
    assert_eq!(names(&b).len(), 2, "{b}");
    assert!(names(&b).iter().all(|(_, n)| n == "Joe Guest"));
    // LIKE wildcards in the text are plain characters.
    let (_, b) = list("name=%25").await;
    assert_eq!(names(&b).len(), 0, "{b}");
    let (_, b) = list("to=2000-01-01T00:00:00Z").await;
    assert_eq!(names(&b).len(), 0, "{b}");
    // Paging links keep the filter.
    let (_, b) = list("role=owner&count=1").await;
    let next = b["_links"]["next"]["href"].as_str().unwrap();
    assert!(
        next.contains("role=owner") && next.contains("page=1"),
        "{next}"
    );
    let (s, b) = list("role=host").await;
    assert_problem(s, &b, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let (s, b) = list("from=2030-01-01T00:00:00Z&to=2020-01-01T00:00:00Z").await;
    assert_problem(s, &b, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
}

/// Let guests of session links in at once (tests of capacity and batching, not of the lobby).
pub async fn without_guest_lobby(app: &TestApp, t: &str) {
    let (s, b) = app
        .call(
            t,
            Method::PATCH,
            &format!("/v1/orgs/{}", app.org_id),
            Some(json!({"guestLobby": false})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
}
