//! The xroom request signature verifier, signing exactly as the public wrappers do, against a
//! real database: good signatures, wrong keys, short and replayed salts, missing headers.
use meetplane::{
    auth::xroom_hmac,
    domain::request_auth::{SignedRequest, verify_xroom},
    error::Error,
};
use rand::{Rng, distr::Alphanumeric};

use crate::helpers::TestApp;

fn js_python_salt() -> String {
    // 32 random bytes as 64 hex characters.
    let bytes: [u8; 32] = rand::random();
    hex::encode(bytes)
}

fn php_salt() -> String {
    const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,!#%=?+-";
    let mut rng = rand::rng();
    (0..32)
        .map(|_| CHARS[rng.random_range(0..CHARS.len())] as char)
        .collect()
}

fn java_salt() -> String {
    rand::rng()
        .sample_iter(Alphanumeric)
        .take(32)
        .map(char::from)
        .collect()
}

fn code_of(err: Error) -> &'static str {
    match err {
        Error::Unauthenticated { code, .. } => code.as_str(),
        other => panic!("expected an authentication error, got {other:?}"),
    }
}

#[tokio::test]
async fn wrapper_salts_verify_and_replays_are_refused() {
    let app = TestApp::spawn().await;
    let (id, secret) = (app.client.api_key.clone(), app.client.secret.clone());
    for salt in [js_python_salt(), php_salt(), java_salt()] {
        let key = xroom_hmac::sign(&secret, &salt);
        let req = SignedRequest {
            auth_id: Some(&id),
            random: Some(&salt),
            auth_key: Some(&key),
        };
        let client = verify_xroom(&app.state, req.clone())
            .await
            .expect("a fresh salt verifies");
        assert_eq!(client.api_key, id);
        let err = verify_xroom(&app.state, req).await.unwrap_err();
        assert_eq!(code_of(err), "replayed_salt");
    }
    // Upper-case hex is the same signature.
    let salt = js_python_salt();
    let key = xroom_hmac::sign(&secret, &salt).to_uppercase();
    let req = SignedRequest {
        auth_id: Some(&id),
        random: Some(&salt),
        auth_key: Some(&key),
    };
    verify_xroom(&app.state, req).await.unwrap();
}

#[tokio::test]
async fn bad_signatures_are_refused_with_a_reason() {
    let app = TestApp::spawn().await;
    let (id, secret) = (app.client.api_key.clone(), app.client.secret.clone());
    let salt = js_python_salt();
    let good = xroom_hmac::sign(&secret, &salt);
    let wrong = xroom_hmac::sign("another secret", &salt);
    let short = "a".repeat(31);
    let short_key = xroom_hmac::sign(&secret, &short);
    let cases: Vec<(SignedRequest, &str)> = vec![
        (
            SignedRequest {
                auth_id: Some(&id),
                random: Some(&salt),
                auth_key: Some(&wrong),
            },
            "invalid_signature",
        ),
        (
            SignedRequest {
                auth_id: Some(&id),
                random: Some(&short),
                auth_key: Some(&short_key),
            },
            "salt_too_short",
        ),
        (
            SignedRequest {
                auth_id: None,
                random: Some(&salt),
                auth_key: Some(&good),
            },
            "missing_auth_id",
        ),
        (
            SignedRequest {
                auth_id: Some(&id),
                random: None,
                auth_key: Some(&good),
            },
            "missing_salt",
        ),
        (
            SignedRequest {
                auth_id: Some(&id),
                random: Some(&salt),
                auth_key: None,
            },
            "missing_signature",
        ),
        (
            SignedRequest {
                auth_id: Some("nobody"),
                random: Some(&salt),
                auth_key: Some(&good),
            },
            "unknown_client",
        ),
    ];
    for (req, expected) in cases {
        let err = verify_xroom(&app.state, req).await.unwrap_err();
        assert_eq!(code_of(err), expected);
    }
    // Failed attempts did not burn the salt: the right signature still works once.
    let req = SignedRequest {
        auth_id: Some(&id),
        random: Some(&salt),
        auth_key: Some(&good),
    };
    verify_xroom(&app.state, req).await.unwrap();
}

#[tokio::test]
async fn a_revoked_client_cannot_sign() {
    let app = TestApp::spawn().await;
    let client = meetplane::domain::clients::find_by_api_key(&app.state.db, &app.client.api_key)
        .await
        .unwrap();
    meetplane::domain::clients::revoke(
        &app.state,
        &meetplane::domain::audit::By::cli(client.org_id),
        &client,
    )
    .await
    .unwrap();
    let salt = js_python_salt();
    let key = xroom_hmac::sign(&app.client.secret, &salt);
    let req = SignedRequest {
        auth_id: Some(&app.client.api_key),
        random: Some(&salt),
        auth_key: Some(&key),
    };
    assert_eq!(
        code_of(verify_xroom(&app.state, req).await.unwrap_err()),
        "client_revoked"
    );
}

#[tokio::test]
async fn salts_are_per_client() {
    let app = TestApp::spawn().await;
    let created = meetplane::domain::clients::create(
        &app.state,
        &meetplane::domain::audit::By::cli(app.org_id),
        "second",
    )
    .await
    .unwrap();
    let salt = js_python_salt();
    for (id, secret) in [
        (app.client.api_key.as_str(), app.client.secret.as_str()),
        (created.client.api_key.as_str(), created.secret.as_str()),
    ] {
        let key = xroom_hmac::sign(secret, &salt);
        let req = SignedRequest {
            auth_id: Some(id),
            random: Some(&salt),
            auth_key: Some(&key),
        };
        verify_xroom(&app.state, req).await.unwrap();
    }
}
