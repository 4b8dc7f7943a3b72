//! Whatever a client sends, the answer is a problem document with a fitting 4xx, never a 500.
use reqwest::{Method, StatusCode, header};

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
