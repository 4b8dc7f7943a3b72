//! Delivery rules: the retry schedule, what each answer of a receiver means, and the
//! delivery log.
use crate::error::Code;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use rand::Rng;
use uuid::Uuid;

use crate::{
    error::{Error, Result},
    state::AppState,
    store::{self, Window, entities::delivery},
};

pub use crate::store::entities::delivery::DeliveryStatus;

/// Waits after the 1st, 2nd, … failed attempt (Svix's schedule); the first attempt is
/// immediate, so a delivery gets `SCHEDULE.len() + 1` attempts before it is given up.
pub const SCHEDULE: [Duration; 7] = [
    Duration::from_secs(5),
    Duration::from_secs(5 * 60),
    Duration::from_secs(30 * 60),
    Duration::from_secs(2 * 3600),
    Duration::from_secs(5 * 3600),
    Duration::from_secs(10 * 3600),
    Duration::from_secs(10 * 3600),
];

/// How often a delivery node says it is alive (`delivery_nodes`).
pub const NODE_HEARTBEAT: Duration = Duration::from_secs(1);
/// A node silent this long is taken for dead: the deliveries it had in flight are free for
/// any node (a restarted server, or the others) to attempt again, with the same `webhook-id`
/// and in room order, instead of waiting for their lease to run out. Several heartbeats long,
/// so that a busy but live node is not taken for dead.
pub const NODE_SILENCE: Duration = Duration::from_secs(5);

/// Longest `Retry-After` honoured; a receiver cannot park a delivery for longer than this.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 3600);

/// What came back from one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A 2xx answer.
    Delivered { status: u16, latency_ms: u32 },
    /// Anything else: a non-2xx answer (with its `Retry-After`), a timeout, a refused
    /// connection or target.
    Failed {
        status: Option<u16>,
        latency_ms: u32,
        error: String,
        retry_after: Option<Duration>,
    },
}

/// What to do with the delivery and its webhook after an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub status: DeliveryStatus,
    pub next_attempt_at: DateTime<Utc>,
    /// Disable the webhook, for this reason.
    pub disable_webhook: Option<String>,
    /// The webhook's failure streak: `Some(true)` starts/continues it, `Some(false)` ends it.
    pub failing: bool,
}

/// Decide after attempt number `attempts` (1-based) of a delivery.
pub fn decide(
    attempts: i32,
    outcome: &Outcome,
    now: DateTime<Utc>,
    failing_since: Option<DateTime<Utc>>,
    disable_after: Duration,
) -> Decision {
    match outcome {
        Outcome::Delivered { .. } => Decision {
            status: DeliveryStatus::Delivered,
            next_attempt_at: now,
            disable_webhook: None,
            failing: false,
        },
        Outcome::Failed {
            status: Some(410), ..
        } => Decision {
            status: DeliveryStatus::Failed,
            next_attempt_at: now,
            disable_webhook: Some("the receiver answered 410 Gone".to_string()),
            failing: true,
        },
        Outcome::Failed {
            retry_after,
            error,
            status,
            ..
        } => {
            let streak_start = failing_since.unwrap_or(now);
            let disable_webhook = (now - streak_start
                >= TimeDelta::from_std(disable_after).unwrap_or(TimeDelta::MAX))
            .then(|| {
                format!(
                    "failing since {}; last error: {}",
                    streak_start.to_rfc3339(),
                    status.map_or_else(|| error.clone(), |s| format!("HTTP {s}"))
                )
            });
            let index = usize::try_from(attempts - 1).unwrap_or(0);
            match SCHEDULE.get(index) {
                None => Decision {
                    status: DeliveryStatus::Failed,
                    next_attempt_at: now,
                    disable_webhook,
                    failing: true,
                },
                Some(wait) => {
                    let jittered = jitter(*wait);
                    let asked = retry_after
                        .map(|r| r.min(MAX_RETRY_AFTER))
                        .unwrap_or_default();
                    let wait = jittered.max(asked);
                    Decision {
                        status: DeliveryStatus::Pending,
                        next_attempt_at: now
                            + TimeDelta::from_std(wait).unwrap_or(TimeDelta::hours(10)),
                        disable_webhook,
                        failing: true,
                    }
                }
            }
        }
    }
}

/// ±10 %, so that receivers coming back are not hit by every retry at the same instant.
fn jitter(wait: Duration) -> Duration {
    let factor = rand::rng().random_range(0.9..=1.1);
    wait.mul_f64(factor)
}

#[derive(Debug, Clone)]
pub struct DeliveryView {
    pub id: i64,
    pub message_id: String,
    pub webhook_id: i64,
    pub event_id: Uuid,
    pub event: Option<String>,
    pub seq: Option<i64>,
    pub room: Option<String>,
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_attempt_at: Option<DateTime<Utc>>,
    pub last_status_code: Option<i32>,
    pub last_latency_ms: Option<i32>,
    pub last_error: Option<String>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

fn view(d: delivery::Model, e: Option<store::entities::event::Model>) -> DeliveryView {
    DeliveryView {
        next_attempt_at: (d.status == DeliveryStatus::Pending).then_some(d.next_attempt_at),
        event: e.as_ref().map(|e| e.kind.clone()),
        seq: e.as_ref().map(|e| e.seq),
        room: e.and_then(|e| e.room_name),
        id: d.id,
        message_id: d.message_id,
        webhook_id: d.webhook_id,
        event_id: d.event_id,
        status: d.status.as_str().to_string(),
        attempts: d.attempts,
        last_attempt_at: d.last_attempt_at,
        last_status_code: d.last_status_code,
        last_latency_ms: d.last_latency_ms,
        last_error: d.last_error,
        delivered_at: d.delivered_at,
        created_at: d.created_at,
    }
}

pub fn parse_status(status: Option<&str>) -> Result<Option<DeliveryStatus>> {
    match status {
        None => Ok(None),
        Some("pending") => Ok(Some(DeliveryStatus::Pending)),
        Some("delivered") => Ok(Some(DeliveryStatus::Delivered)),
        Some("failed") => Ok(Some(DeliveryStatus::Failed)),
        Some(_) => Err(Error::invalid(
            "status",
            "must be pending, delivered or failed",
        )),
    }
}

pub async fn list(
    state: &AppState,
    org_id: Uuid,
    webhook_id: i64,
    status: Option<&str>,
    window: Window,
) -> Result<(Vec<DeliveryView>, bool)> {
    super::webhooks::find(state, org_id, webhook_id).await?;
    let status = parse_status(status)?;
    let rows = store::deliveries::list_for_webhook(&state.db, webhook_id, status, window).await?;
    let (rows, more) = window.split(rows);
    Ok((rows.into_iter().map(|(d, e)| view(d, e)).collect(), more))
}

pub async fn get(state: &AppState, org_id: Uuid, webhook_id: i64, id: i64) -> Result<DeliveryView> {
    super::webhooks::find(state, org_id, webhook_id).await?;
    let (d, e) = store::deliveries::find_for_webhook(&state.db, webhook_id, id)
        .await?
        .ok_or(Error::not_found("delivery"))?;
    Ok(view(d, e))
}

/// The exact body of a delivery, as POSTed.
pub async fn body(
    state: &AppState,
    org_id: Uuid,
    webhook_id: i64,
    id: i64,
) -> Result<serde_json::Value> {
    super::webhooks::find(state, org_id, webhook_id).await?;
    let (d, e) = store::deliveries::find_for_webhook(&state.db, webhook_id, id)
        .await?
        .ok_or(Error::not_found("delivery"))?;
    let event = e.ok_or(Error::not_found("delivery"))?;
    Ok(crate::events::Event::from_model(event, &state.sealer).webhook_body(d.webhook_id))
}

/// Send a finished delivery again (same message id, so receivers can dedupe).
pub async fn redeliver(
    state: &AppState,
    org_id: Uuid,
    webhook_id: i64,
    id: i64,
) -> Result<DeliveryView> {
    let current = get(state, org_id, webhook_id, id).await?;
    if current.status == DeliveryStatus::Pending.as_str() {
        return Err(Error::conflict(
            Code::DeliveryPending,
            "the delivery is still queued; it will be attempted without being asked",
        ));
    }
    store::deliveries::requeue_one(&state.db, id, state.now()).await?;
    state.bus.wake_delivery();
    get(state, org_id, webhook_id, id).await
}

/// Send again every finished delivery of a webhook created in `[since, until)`.
pub async fn redeliver_range(
    state: &AppState,
    org_id: Uuid,
    webhook_id: i64,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<u64> {
    super::webhooks::find(state, org_id, webhook_id).await?;
    if since >= until {
        return Err(Error::invalid("until", "must be after since"));
    }
    let n =
        store::deliveries::requeue_range(&state.db, webhook_id, since, until, state.now()).await?;
    state.bus.wake_delivery();
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed(status: Option<u16>, retry_after: Option<Duration>) -> Outcome {
        Outcome::Failed {
            status,
            latency_ms: 1,
            error: "boom".into(),
            retry_after,
        }
    }

    #[test]
    fn schedule_then_give_up() {
        let now = Utc::now();
        let week = Duration::from_secs(7 * 86400);
        let d = decide(1, &failed(Some(500), None), now, None, week);
        assert_eq!(d.status, DeliveryStatus::Pending);
        let wait = (d.next_attempt_at - now).num_milliseconds();
        assert!((4500..=5500).contains(&wait), "{wait}");
        let d = decide(7, &failed(None, None), now, Some(now), week);
        let wait = (d.next_attempt_at - now).num_seconds();
        assert!((9 * 3600..=11 * 3600).contains(&wait), "{wait}");
        let d = decide(8, &failed(Some(500), None), now, Some(now), week);
        assert_eq!(d.status, DeliveryStatus::Failed);
        assert!(d.disable_webhook.is_none());
    }

    #[test]
    fn retry_after_is_honoured_but_capped() {
        let now = Utc::now();
        let week = Duration::from_secs(7 * 86400);
        let d = decide(
            1,
            &failed(Some(503), Some(Duration::from_secs(120))),
            now,
            None,
            week,
        );
        assert_eq!((d.next_attempt_at - now).num_seconds(), 120);
        let d = decide(
            1,
            &failed(Some(429), Some(Duration::from_secs(90 * 86400))),
            now,
            None,
            week,
        );
        assert_eq!((d.next_attempt_at - now).num_seconds(), 86400);
    }

    #[test]
    fn gone_disables_and_long_failure_streaks_disable() {
        let now = Utc::now();
        let week = Duration::from_secs(7 * 86400);
        let d = decide(1, &failed(Some(410), None), now, None, week);
        assert_eq!(d.status, DeliveryStatus::Failed);
        assert!(d.disable_webhook.unwrap().contains("410"));
        let d = decide(
            2,
            &failed(Some(500), None),
            now,
            Some(now - TimeDelta::days(8)),
            week,
        );
        assert_eq!(d.status, DeliveryStatus::Pending);
        assert!(d.disable_webhook.unwrap().contains("HTTP 500"));
        let d = decide(
            1,
            &Outcome::Delivered {
                status: 200,
                latency_ms: 3,
            },
            now,
            Some(now),
            week,
        );
        assert_eq!((d.status, d.failing), (DeliveryStatus::Delivered, false));
    }
}
