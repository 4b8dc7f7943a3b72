//! Whatever a client sends, the answer is a problem document with a fitting 4xx, never a 500.
use reqwest::{Method, StatusCode, header};
use serde_json::json;

use crate::helpers::{TestApp, assert_problem, read};

#[tokio::test]
async fn malformed_requests_get_clear_problems() {
    let app = TestApp::spawn().await;
    let t = app.token().await;
    let rooms = app.url(&app.org_path("/rooms"));
    let send = |body: &'static str, content_type: Option<&'static str>| {
        let mut req = app.http.post(rooms.clone()).bearer_auth(&t).body(body);
        if let Some(ct) = content_type {
            req = req.header(header::CONTENT_TYPE, ct);
        }
        async move { read(req.send().await.unwrap()).await }
    };
    let (s, b) = send("{\"domain\": ", Some("application/json")).await;
    assert_problem(s, &b, StatusCode::BAD_REQUEST, "malformed_json");
    let (s, b) = send("not json", Some("application/json")).await;
    assert_problem(s, &b, StatusCode::BAD_REQUEST, "malformed_json");
    // One JSON value, then only whitespace: trailing text is not ignored.
    let (s, b) = send(
        "{\"domain\": \"localhost\", \"name\": \"tail\"} xyz",
        Some("application/json"),
    )
    .await;
    assert_problem(s, &b, StatusCode::BAD_REQUEST, "malformed_json");
    let (s, b) = send(
        "{\"domain\": \"localhost\", \"name\": \"tail\"}{}",
        Some("application/json"),
    )
    .await;
    assert_problem(s, &b, StatusCode::BAD_REQUEST, "malformed_json");
    let (s, b) = send("", Some("application/json")).await;
    assert_problem(s, &b, StatusCode::BAD_REQUEST, "missing_body");
    let (s, b) = send("\"a string\"", Some("application/json; charset=utf-8")).await;
    assert_problem(s, &b, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let (s, b) = send("domain=x", Some("application/x-www-form-urlencoded")).await;
    assert_problem(
        s,
        &b,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    );
    let (s, b) = send("{}", None).await;
    assert_problem(
        s,
        &b,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    );
}

#[tokio::test]
async fn unknown_routes_methods_and_bad_parameters() {
    let app = TestApp::spawn().await;
    let t = app.token().await;
    let (s, b) = app.call(&t, Method::GET, "/v1/nothing-here", None).await;
    assert_problem(s, &b, StatusCode::NOT_FOUND, "route_not_found");
    let resp = app
        .request(Method::GET, "/v1/nothing-here")
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.headers()[header::CONTENT_TYPE],
        "application/problem+json"
    );
    let (s, b) = app.call(&t, Method::PUT, "/v1/auth/token", None).await;
    assert_problem(s, &b, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
    let (s, b) = app
        .call(&t, Method::GET, "/v1/orgs/not-a-uuid/rooms", None)
        .await;
    assert_problem(s, &b, StatusCode::BAD_REQUEST, "invalid_parameter");
    let (s, b) = app
        .call(
            &t,
            Method::DELETE,
            &app.org_path("/rooms/localhost/x?forceKick=maybe"),
            None,
        )
        .await;
    assert_problem(s, &b, StatusCode::BAD_REQUEST, "invalid_parameter");
}

#[tokio::test]
async fn oversized_bodies_are_refused_declared_or_streamed() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = TestApp::spawn().await;
    let t = app.token().await;
    let big = format!(
        "{{\"domain\": \"localhost\", \"name\": \"{}\"}}",
        "x".repeat(2 * 1024 * 1024)
    );
    let (s, b) = read(
        app.http
            .post(app.url(&app.org_path("/rooms")))
            .bearer_auth(&t)
            .header(header::CONTENT_TYPE, "application/json")
            .body(big.clone())
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_problem(s, &b, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");

    // Chunked, without Content-Length: counted while it streams.
    let mut stream = tokio::net::TcpStream::connect(app.address.trim_start_matches("http://"))
        .await
        .unwrap();
    let head = format!(
        "POST {} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {t}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        app.org_path("/rooms")
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    for chunk in big.as_bytes().chunks(64 * 1024) {
        let sent = async {
            stream
                .write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
                .await?;
            stream.write_all(chunk).await?;
            stream.write_all(b"\r\n").await
        };
        if sent.await.is_err() {
            break; // the server answered and closed early
        }
    }
    let _ = stream.write_all(b"0\r\n\r\n").await;
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response).await;
    let response = String::from_utf8_lossy(&response);
    assert!(response.starts_with("HTTP/1.1 413"), "{response}");
    assert!(response.contains("payload_too_large"), "{response}");
}

#[tokio::test]
async fn pages_far_past_the_end_are_empty_not_a_crash() {
    // Found by schemathesis (ci/fuzz.sh): `page * count` beyond i64::MAX panicked in the
    // Postgres driver (an aborted connection), for every paged list.
    let app = TestApp::spawn().await;
    let t = app.token().await;
    for list in [
        "/clients",
        "/link-revocations",
        "/rooms",
        "/bookings",
        "/sessions",
    ] {
        for page in ["26968924084370690", &u64::MAX.to_string()] {
            let path = app.org_path(&format!("{list}?page={page}&count=342"));
            let (s, b) = app.call(&t, Method::GET, &path, None).await;
            assert_eq!(s, StatusCode::OK, "{path}: {b}");
            assert_eq!(b["content"], json!([]), "{path}");
            assert!(b["_links"].get("next").is_none(), "{path}: {b}");
        }
    }
}

#[tokio::test]
async fn nul_characters_are_refused_before_the_database() {
    // Found by schemathesis (ci/fuzz.sh): U+0000 in a query parameter or a JSON string reached
    // PostgreSQL, which cannot store it, and came back as a 500.
    let app = TestApp::spawn().await;
    let t = app.token().await;
    for path in [
        app.org_path("/sessions?name=a%00b"),
        app.org_path("/webhooks?token=%00"),
        app.org_path("/rooms/local%00host/x"),
    ] {
        let (s, b) = app.call(&t, Method::GET, &path, None).await;
        assert_problem(s, &b, StatusCode::BAD_REQUEST, "invalid_parameter");
    }
    let resp = app
        .request(Method::POST, "/v1/admin/session")
        .json(&json!({"email": "a\u{0}@example.org", "password": "x"}))
        .send()
        .await
        .unwrap();
    let (s, b) = read(resp).await;
    assert_problem(s, &b, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(b["errors"][0]["field"], "email");
    let (s, b) = app
        .call(
            &t,
            Method::POST,
            &app.org_path("/rooms"),
            Some(json!({"domain": "localhost", "name": "r\u{0}"})),
        )
        .await;
    assert_problem(s, &b, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(b["errors"][0]["field"], "name");
    // The token endpoint's form body: a client id with NUL is an unknown client.
    let resp = app
        .request(Method::POST, "/v1/auth/token")
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "mp\u{0}"),
            ("client_secret", "x"),
        ])
        .send()
        .await
        .unwrap();
    let (s, b) = read(resp).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{b}");
    assert_eq!(b["error"], "invalid_client");
}

#[tokio::test]
async fn nul_in_a_session_link_or_a_bridge_body_is_refused_alike_on_every_backend() {
    // A link's claims are base64url in the path, so `%00` never shows: U+0000 appears only
    // once they are decoded. `iss` is looked up before any signature is checked.
    use crate::{
        chat_bridge::{body, post},
        sessions::{open, owner_claims, pyjwt, subscribe},
    };
    let app = TestApp::spawn().await;
    let t = app.token().await;
    subscribe(&app, &t, "r").await;
    for claim in ["iss", "ref", "sid", "jti", "un"] {
        let mut claims = owner_claims(&app, "s1", "r");
        claims[claim] = format!("{}\u{0}x", claims[claim].as_str().unwrap_or("j")).into();
        let (s, b) = open(&app, &pyjwt(&claims, &app.client.secret, "HS256")).await;
        assert_problem(s, &b, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert_eq!(b["errors"][0]["field"], claim, "{b}");
    }
    // The chat bridge's JSON body (its own parser, its own error shape).
    let secret = app.client.secret.clone();
    let now = chrono::Utc::now().timestamp();
    let start = r#"{"jid_room": "talk@conference.localhost"}"#;
    let (s, b) = post(
        &app,
        "/api/startChatForRoom",
        body(start, "startChatForRoom", &secret, now),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let send = r#"{"user_name": "a\u0000b", "message": "hi"}"#;
    let (s, b) = post(
        &app,
        "/api/sendChatMessage/talk@conference.localhost",
        body(send, "sendChatMessage", &secret, now),
    )
    .await;
    assert_eq!(
        (s, b["success"].as_bool()),
        (StatusCode::BAD_REQUEST, Some(false)),
        "{b}"
    );
    assert!(b["message"].as_str().unwrap().contains("user_name"), "{b}");
}

/// Send raw bytes on a fresh connection and read until the server closes it: the status
/// code, the content type and the body.
async fn raw(app: &TestApp, request: &[u8]) -> (u16, String, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(app.address.trim_start_matches("http://"))
        .await
        .unwrap();
    stream.write_all(request).await.unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer).await;
    let answer = String::from_utf8_lossy(&answer).to_string();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    let status = head.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    let content_type = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-type: ")
                .map(str::to_string)
        })
        .unwrap_or_default();
    (status, content_type, body.to_string())
}

#[tokio::test]
async fn answers_hyper_writes_itself_are_problems_too() {
    // hyper refuses these before any route sees them; they still come as problem documents.
    let app = TestApp::spawn().await;
    let long_uri = format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(70_000));
    let big_header = format!(
        "GET / HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(500_000)
    );
    let many_headers = format!(
        "GET / HTTP/1.1\r\nHost: x\r\n{}\r\n",
        (0..200)
            .map(|i| format!("X-{i}: a\r\n"))
            .collect::<String>()
    );
    for (request, status, code) in [
        (long_uri.into_bytes(), 414, "uri_too_long"),
        (big_header.into_bytes(), 431, "header_fields_too_large"),
        (many_headers.into_bytes(), 431, "header_fields_too_large"),
        (
            b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x7fb\r\n\r\n".to_vec(),
            400,
            "malformed_request",
        ),
    ] {
        let (got, content_type, body) = raw(&app, &request).await;
        assert_eq!(
            (got, content_type.as_str()),
            (status, "application/problem+json"),
            "{body}"
        );
        let problem: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            (problem["status"].as_u64(), problem["code"].as_str()),
            (Some(status.into()), Some(code))
        );
    }
    // A missing dashboard asset, too.
    let resp = app
        .request(Method::GET, "/assets/missing.js")
        .send()
        .await
        .unwrap();
    let (s, b) = read(resp).await;
    assert_problem(s, &b, StatusCode::NOT_FOUND, "asset_not_found");
}

#[tokio::test]
async fn connections_that_never_finish_their_headers_are_closed() {
    use std::time::{Duration, Instant};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let timeout = Duration::from_millis(500);
    let app = TestApp::spawn_configured(std::sync::Arc::new(meetplane::clock::SystemClock), |c| {
        c.limits.header_read_timeout = timeout
    })
    .await;
    let address = app.address.trim_start_matches("http://").to_string();
    // Nothing at all, half a request line, headers that never end; all at once.
    let partials: [&[u8]; 3] = [
        b"",
        b"GET /healthz HT",
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: a",
    ];
    let closed = partials.map(|partial| {
        let address = address.clone();
        async move {
            let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
            let opened = Instant::now();
            stream.write_all(partial).await.unwrap();
            let mut rest = Vec::new();
            // The server closes it (EOF, or a reset): no answer is owed to a request never sent.
            let waited =
                tokio::time::timeout(Duration::from_secs(20), stream.read_to_end(&mut rest)).await;
            assert!(waited.is_ok(), "{partial:?}: still open after 20 s");
            opened.elapsed()
        }
    });
    for elapsed in futures_util::future::join_all(closed).await {
        assert!(
            elapsed >= timeout - Duration::from_millis(50),
            "{elapsed:?}"
        );
        assert!(elapsed < Duration::from_secs(10), "{elapsed:?}");
    }
    // A request that arrives in time is served as before.
    let resp = app.request(Method::GET, "/healthz").send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
}
