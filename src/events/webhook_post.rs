//! Posting to webhook receivers: signed per Standard Webhooks, or as a chat-bridge callback,
//! reading the start of the answer.
use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::header::{CONTENT_TYPE, RETRY_AFTER};
use url::Url;

use super::Event;
use crate::{
    auth::{chat_checksum, webhook_signature},
    state::AppState,
    store::entities::webhook,
};

/// How much of a receiver's answer is read (enough for the validation handshake).
const MAX_ANSWER_BYTES: usize = 4096;

/// What a receiver answered.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub retry_after: Option<Duration>,
    pub body: String,
    pub latency_ms: u32,
}

fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = DateTime::parse_from_rfc2822(value)
        .ok()?
        .with_timezone(&Utc);
    (at - now).to_std().ok()
}

/// POST `body` to `url` with the Standard Webhooks headers under `webhook_key`. The signature
/// timestamp is wall-clock time: receivers compare it with theirs.
pub async fn post_signed(
    state: &AppState,
    url: &Url,
    webhook_key: &str,
    message_id: &str,
    body: &str,
) -> std::result::Result<Answer, String> {
    state.outbound.vet(url).map_err(|e| e.to_string())?;
    let timestamp = Utc::now().timestamp();
    let signature = webhook_signature::sign(webhook_key, message_id, timestamp, body);
    let headers = [
        ("webhook-id", message_id.to_string()),
        ("webhook-timestamp", timestamp.to_string()),
        ("webhook-signature", signature),
    ];
    send(state, url, body.to_string(), &headers).await
}

/// POST a chat message to a chat-bridge callback: `{"user_name", "message", "checksum"}` with
/// the seed's checksum under the callback secret, made now (the receiver checks its clock).
pub async fn post_callback(
    state: &AppState,
    hook: &webhook::Model,
    event: &Event,
    secret: &str,
) -> std::result::Result<Answer, String> {
    let url = hook
        .url
        .as_deref()
        .and_then(|u| Url::parse(u).ok())
        .ok_or("the callback has no valid url")?;
    state.outbound.vet(&url).map_err(|e| e.to_string())?;
    let message = &event.payload["message"];
    let fields = [
        (
            "user_name",
            message["sender"]["displayName"]
                .as_str()
                .unwrap_or_default(),
        ),
        ("message", message["text"].as_str().unwrap_or_default()),
    ];
    let body =
        chat_checksum::signed_body("sendChatMessage", &fields, secret, Utc::now().timestamp());
    send(state, &url, body, &[]).await
}

/// POST a JSON body with extra headers and read (the start of) the answer.
async fn send(
    state: &AppState,
    url: &Url,
    body: String,
    headers: &[(&str, String)],
) -> std::result::Result<Answer, String> {
    let started = std::time::Instant::now();
    let mut req = state
        .outbound
        .client()
        .post(url.clone())
        .header(CONTENT_TYPE, "application/json");
    for (name, value) in headers {
        req = req.header(*name, value);
    }
    let mut resp = req.body(body).send().await.map_err(describe)?;
    let status = resp.status().as_u16();
    let retry_after = resp
        .headers()
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| parse_retry_after(v, Utc::now()));
    let (answer, _) = crate::outbound::body_up_to(&mut resp, MAX_ANSWER_BYTES)
        .await
        .map_err(describe)?;
    Ok(Answer {
        status,
        retry_after,
        body: String::from_utf8_lossy(&answer).into_owned(),
        latency_ms: u32::try_from(started.elapsed().as_millis()).unwrap_or(u32::MAX),
    })
}

/// An outbound request's failure with its cause chain (for logs and the admin).
pub fn describe(e: reqwest::Error) -> String {
    use std::error::Error as _;
    let mut text = if e.is_timeout() {
        "timed out".to_string()
    } else if e.is_connect() {
        "could not connect".to_string()
    } else {
        "request failed".to_string()
    };
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
