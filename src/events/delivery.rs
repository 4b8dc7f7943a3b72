//! The delivery worker: claims due deliveries, POSTs them signed per Standard Webhooks, and
//! records what happened. `run_once` is one pass (tests drive it directly); `run` loops it
//! until shutdown, woken when new deliveries are committed and otherwise polling for retries.
use std::{collections::HashMap, sync::Arc, time::Duration};

use chrono::{DateTime, TimeDelta, Utc};
use futures_util::StreamExt;
use reqwest::header::{CONTENT_TYPE, RETRY_AFTER};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
use tokio_util::sync::CancellationToken;
use url::Url;
use uuid::Uuid;

use super::Event;
use crate::{
    auth::{chat_checksum, webhook_signature},
    domain::{
        chat_bridge,
        deliveries::{self, DELIVERED, Decision, Outcome},
        domains,
    },
    error::Result,
    state::AppState,
    store::{
        self,
        entities::{delivery, event, webhook},
    },
};

/// Deliveries claimed per pass.
pub const BATCH: u64 = 512;
/// How much of a receiver's answer is read (enough for the validation handshake).
const MAX_ANSWER_BYTES: usize = 4096;
/// Pause between passes when there is nothing due.
const POLL: Duration = Duration::from_secs(1);

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
async fn post_callback(
    state: &AppState,
    hook: &webhook::Model,
    event: &Event,
) -> std::result::Result<Answer, String> {
    let url = hook
        .url
        .as_deref()
        .and_then(|u| Url::parse(u).ok())
        .ok_or("the callback has no valid url")?;
    state.outbound.vet(&url).map_err(|e| e.to_string())?;
    let secret = chat_bridge::callback_secret(state, hook)
        .map_err(|e| e.to_string())?
        .ok_or("the callback has no secret")?;
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
        chat_checksum::signed_body("sendChatMessage", &fields, &secret, Utc::now().timestamp());
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

/// One pass: claim due deliveries and attempt them concurrently. Returns how many were
/// attempted.
pub async fn run_once(state: &AppState) -> Result<usize> {
    let now = state.now();
    let lease =
        now + TimeDelta::from_std(state.config.delivery_lease).unwrap_or(TimeDelta::minutes(1));
    let claimed = store::deliveries::claim(&state.db, now, lease, BATCH).await?;
    if claimed.is_empty() {
        return Ok(0);
    }
    let mut keys: HashMap<Uuid, Arc<str>> = HashMap::new();
    for (_, _, e) in &claimed {
        if !keys.contains_key(&e.domain_id)
            && let Some(domain) = store::domains::find_by_id(&state.db, e.domain_id).await?
        {
            let key = domains::view(&state.sealer, domain)?.webhook_key;
            keys.insert(e.domain_id, Arc::from(key));
        }
    }
    let count = claimed.len();
    let attempted: Vec<Attempted> = futures_util::stream::iter(claimed)
        .map(|(d, hook, e)| {
            let key = keys.get(&e.domain_id).cloned();
            attempt(state, d, hook, e, key)
        })
        .buffer_unordered(state.config.delivery_concurrency)
        .collect()
        .await;
    record_all(state, lease, attempted).await?;
    Ok(count)
}

/// One attempt's result, recorded with the rest of its pass.
struct Attempted {
    delivery: delivery::Model,
    hook: webhook::Model,
    outcome: Outcome,
    decision: Decision,
    attempts: i32,
    at: DateTime<Utc>,
}

async fn attempt(
    state: &AppState,
    d: delivery::Model,
    hook: webhook::Model,
    e: event::Model,
    key: Option<Arc<str>>,
) -> Attempted {
    let event = Event::from_model(e, &state.sealer);
    let answer = if hook.kind == chat_bridge::CALLBACK {
        post_callback(state, &hook, &event).await
    } else {
        let body = event.webhook_body(hook.id).to_string();
        match (key, hook.url.as_deref().map(Url::parse)) {
            (Some(key), Some(Ok(url))) => {
                post_signed(state, &url, &key, &d.message_id, &body).await
            }
            (None, _) => Err("the webhook's domain is gone".to_string()),
            _ => Err("the webhook has no valid url".to_string()),
        }
    };
    let outcome = match answer {
        Ok(a) if (200..300).contains(&a.status) => Outcome::Delivered {
            status: a.status,
            latency_ms: a.latency_ms,
        },
        Ok(a) => Outcome::Failed {
            status: Some(a.status),
            latency_ms: a.latency_ms,
            error: format!("the receiver answered HTTP {}", a.status),
            retry_after: a.retry_after,
        },
        Err(error) => Outcome::Failed {
            status: None,
            latency_ms: 0,
            error,
            retry_after: None,
        },
    };
    let at = state.now();
    let attempts = d.attempts + 1;
    let decision = deliveries::decide(
        attempts,
        &outcome,
        at,
        hook.failing_since,
        state.config.webhook_disable_after,
    );
    state.metrics.delivery_attempt(match decision.status {
        DELIVERED => "delivered",
        deliveries::FAILED => "failed",
        _ => "retrying",
    });
    if decision.status != DELIVERED {
        tracing::info!(webhook = hook.id, delivery = d.id, attempts, status = decision.status,
            outcome = ?outcome, "webhook delivery attempt failed");
    }
    Attempted {
        delivery: d,
        hook,
        outcome,
        decision,
        attempts,
        at,
    }
}

/// Write a pass's results in one transaction (one commit, not one per delivery), and the
/// webhooks' failure streaks and disabling.
async fn record_all(
    state: &AppState,
    lease: DateTime<Utc>,
    attempted: Vec<Attempted>,
) -> Result<()> {
    let txn = store::connect::begin_write(&state.db).await?;
    let mut failing = std::collections::BTreeSet::new();
    let mut recovered = std::collections::BTreeSet::new();
    for a in &attempted {
        record(&txn, a, lease).await?;
        if a.decision.failing {
            failing.insert(a.hook.id);
        } else if a.hook.failing_since.is_some() {
            recovered.insert(a.hook.id);
        }
        if let Some(reason) = &a.decision.disable_webhook {
            tracing::warn!(webhook = a.hook.id, %reason, "disabling webhook");
            store::webhooks::disable(&txn, a.hook.id, reason, a.at).await?;
        }
    }
    let now = state.now();
    for id in &failing {
        store::webhooks::mark_failing(&txn, *id, now).await?;
    }
    for id in recovered.difference(&failing) {
        store::webhooks::clear_failing(&txn, *id).await?;
    }
    txn.commit().await?;
    Ok(())
}

/// Store the attempt, but only while this worker still holds the lease: if the lease ran
/// out and another worker took the delivery over, its result stands.
async fn record(
    db: &impl sea_orm::ConnectionTrait,
    a: &Attempted,
    lease: DateTime<Utc>,
) -> Result<()> {
    let (d, outcome, decision, attempts, now) =
        (&a.delivery, &a.outcome, &a.decision, a.attempts, a.at);
    use delivery::Column as C;
    let (status_code, latency, error) = match outcome {
        Outcome::Delivered { status, latency_ms } => (Some(*status), *latency_ms, None),
        Outcome::Failed {
            status,
            latency_ms,
            error,
            ..
        } => (*status, *latency_ms, Some(error.clone())),
    };
    delivery::Entity::update_many()
        .col_expr(C::Status, Expr::value(decision.status))
        .col_expr(C::Attempts, Expr::value(attempts))
        .col_expr(C::NextAttemptAt, Expr::value(decision.next_attempt_at))
        .col_expr(C::LeaseUntil, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(C::LastAttemptAt, Expr::value(now))
        .col_expr(C::LastStatusCode, Expr::value(status_code.map(i32::from)))
        .col_expr(
            C::LastLatencyMs,
            Expr::value(i32::try_from(latency).unwrap_or(i32::MAX)),
        )
        .col_expr(C::LastError, Expr::value(error))
        .col_expr(
            C::DeliveredAt,
            Expr::value((decision.status == DELIVERED).then_some(now)),
        )
        .filter(C::Id.eq(d.id))
        .filter(C::LeaseUntil.eq(lease))
        .exec(db)
        .await?;
    Ok(())
}

/// Loop `run_once` until `cancel` fires; a pass in progress is finished first.
pub async fn run(state: AppState, cancel: CancellationToken) {
    let wake = state.bus.delivery_wake();
    loop {
        if cancel.is_cancelled() {
            break;
        }
        match crate::background::guarded("a delivery pass", run_once(&state)).await {
            Some(Ok(n)) if n > 0 => continue,
            Some(Ok(_)) | None => {}
            Some(Err(e)) => tracing::error!(error = ?e, "delivery pass failed"),
        }
        tokio::select! {
            _ = cancel.cancelled() => break,
            _ = wake.notified() => {}
            _ = tokio::time::sleep(POLL) => {}
        }
    }
    tracing::info!("delivery worker stopped");
}
