//! A client of one organisation never sees or touches another organisation's data.
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{TestApp, assert_problem};

#[tokio::test]
async fn another_orgs_resources_do_not_exist_for_a_client() {
    let app = TestApp::spawn().await;
    let mine = app.token().await;
    app.create_room(&mine, json!({"domain": "localhost", "name": "private"}))
        .await;

    let other = app.other_org("Other", "other.example").await;
    let theirs = app.token_for(&other).await;
    let my_org = app.org_id;

    // Every org-scoped route answers 404 for a foreign org id.
    for (method, path, body) in [
        (Method::GET, format!("/v1/orgs/{my_org}"), None),
        (Method::GET, format!("/v1/orgs/{my_org}/rooms"), None),
        (
            Method::GET,
            format!("/v1/orgs/{my_org}/rooms/localhost/private"),
            None,
        ),
        (
            Method::DELETE,
            format!("/v1/orgs/{my_org}/rooms/localhost/private?forceKick=true"),
            None,
        ),
        (
            Method::PUT,
            format!("/v1/orgs/{my_org}/rooms/localhost/private/lock"),
            Some(json!({"lock": true})),
        ),
        (
            Method::POST,
            format!("/v1/orgs/{my_org}/rooms/localhost/private/kick"),
            Some(json!({"peerId": "all"})),
        ),
        (Method::GET, format!("/v1/orgs/{my_org}/domains"), None),
        (
            Method::GET,
            format!("/v1/orgs/{my_org}/domains/localhost"),
            None,
        ),
        (
            Method::POST,
            format!("/v1/orgs/{my_org}/domains/localhost/rotate-key"),
            None,
        ),
        (Method::GET, format!("/v1/orgs/{my_org}/clients"), None),
        (
            Method::POST,
            format!("/v1/orgs/{my_org}/clients"),
            Some(json!({"name": "x"})),
        ),
    ] {
        let (s, b) = app.call(&theirs, method.clone(), &path, body).await;
        assert_problem(s, &b, StatusCode::NOT_FOUND, "organisation_not_found");
    }

    // Through its own org, my domain does not exist for the other client.
    let their_org = other.org_id;
    let (s, b) = app
        .call(
            &theirs,
            Method::POST,
            &format!("/v1/orgs/{their_org}/rooms"),
            Some(json!({"domain": "localhost", "name": "grab"})),
        )
        .await;
    assert_problem(s, &b, StatusCode::NOT_FOUND, "domain_not_found");
    let (s, b) = app
        .call(
            &theirs,
            Method::GET,
            &format!("/v1/orgs/{their_org}/rooms/localhost/private"),
            None,
        )
        .await;
    assert_problem(s, &b, StatusCode::NOT_FOUND, "domain_not_found");
    let (s, b) = app
        .call(
            &theirs,
            Method::GET,
            &format!("/v1/orgs/{their_org}/rooms?domain=localhost"),
            None,
        )
        .await;
    assert_problem(s, &b, StatusCode::NOT_FOUND, "domain_not_found");
    let (s, list) = app
        .call(
            &theirs,
            Method::GET,
            &format!("/v1/orgs/{their_org}/rooms"),
            None,
        )
        .await;
    assert_eq!(
        (s, list["content"].as_array().unwrap().len()),
        (StatusCode::OK, 0)
    );
    let (_, clients) = app
        .call(
            &theirs,
            Method::GET,
            &format!("/v1/orgs/{their_org}/clients"),
            None,
        )
        .await;
    assert_eq!(
        clients["content"].as_array().unwrap().len(),
        1,
        "only its own client"
    );

    // A client id of my org is not found under theirs.
    let my_client = meetplane::domain::clients::find_by_api_key(&app.state.db, &app.client.api_key)
        .await
        .unwrap();
    let (s, b) = app
        .call(
            &theirs,
            Method::DELETE,
            &format!("/v1/orgs/{their_org}/clients/{}", my_client.id),
            None,
        )
        .await;
    assert_problem(s, &b, StatusCode::NOT_FOUND, "api_client_not_found");
    // My room is untouched.
    let (s, _) = app
        .call(
            &mine,
            Method::GET,
            &app.org_path("/rooms/localhost/private"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
}
