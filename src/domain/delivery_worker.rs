//! The delivery worker: claims due deliveries, POSTs them (`webhook_post`), and records what
//! happened. `run_once` is one pass (tests drive it directly). `run` keeps a pass going for
//! every claim, claiming again whenever slots free up (and when new deliveries are committed,
//! and every second for retries), so a slow receiver delays nobody but itself: it holds at
//! most `delivery_per_webhook_in_flight` of the node's `delivery_concurrency` slots. Meanwhile
//! a heartbeat says the node is alive; the deliveries of a node that stops beating are taken
//! over by the others, or by the restarted server, within seconds.
use std::{collections::HashMap, sync::Arc, time::Duration};

use chrono::TimeDelta;
use tokio::{
    sync::{Notify, Semaphore, mpsc},
    task::JoinSet,
};
use tokio_util::sync::CancellationToken;
use url::Url;
use uuid::Uuid;

use super::{
    chat_bridge,
    deliveries::{self, Decision, DeliveryStatus, NODE_HEARTBEAT, NODE_SILENCE, Outcome},
    domains,
};
use crate::{
    error::Result,
    events::{
        Event,
        webhook_post::{post_callback, post_signed},
    },
    state::AppState,
    store::{
        self,
        entities::{delivery, event, webhook},
    },
};

/// Deliveries claimed per pass at most.
pub const BATCH: u64 = 512;
/// Results written in one transaction at most.
const RECORD_BATCH: usize = 256;
/// Pause between claims when there is nothing due.
const POLL: Duration = Duration::from_secs(1);
/// Nodes silent this long are forgotten when a node starts (their leases are free anyway).
const FORGET_AFTER: TimeDelta = TimeDelta::hours(1);

/// Claimed deliveries with their webhook, event and signing key.
struct Claimed(
    Vec<(
        delivery::Model,
        webhook::Model,
        event::Model,
        Option<Arc<str>>,
    )>,
);

async fn claim(state: &AppState, limit: u64) -> Result<Claimed> {
    let now = state.now();
    let lease = TimeDelta::from_std(state.config.delivery_lease).unwrap_or(TimeDelta::minutes(1));
    let silence = TimeDelta::from_std(NODE_SILENCE).unwrap_or(TimeDelta::seconds(5));
    let claim = store::deliveries::Claim {
        node: state.node_id,
        now,
        lease_until: now + lease,
        alive_since: now - silence,
        limit,
        per_webhook: u64::try_from(state.config.delivery_per_webhook_in_flight).unwrap_or(1),
    };
    let claimed = store::deliveries::claim(&state.writer, &claim).await?;
    let mut keys: HashMap<Uuid, Arc<str>> = HashMap::new();
    for (_, _, e) in &claimed {
        if !keys.contains_key(&e.domain_id)
            && let Some(domain) = store::domains::find_by_id(&state.db, e.domain_id).await?
        {
            let key = domains::view(&state.sealer, domain)?.webhook_key;
            keys.insert(e.domain_id, Arc::from(key));
        }
    }
    Ok(Claimed(
        claimed
            .into_iter()
            .map(|(d, hook, e)| {
                let key = keys.get(&e.domain_id).cloned();
                (d, hook, e, key)
            })
            .collect(),
    ))
}

/// Attempt every claimed delivery at once and record the results as they come in (those
/// that finish together in one transaction), so that neither the record of a quick
/// receiver's delivery nor the next event of its room waits for a slow receiver. After each
/// record, `recorded` is told how many attempts it held. Returns how many were attempted.
async fn deliver(
    state: &AppState,
    claimed: Claimed,
    mut recorded: impl FnMut(usize),
) -> Result<usize> {
    let count = claimed.0.len();
    let (tx, mut rx) = mpsc::unbounded_channel();
    for (d, hook, e, key) in claimed.0 {
        let (state, tx) = (state.clone(), tx.clone());
        tokio::spawn(async move {
            let _ = tx.send(attempt(&state, d, hook, e, key).await);
        });
    }
    drop(tx);
    let mut first_error = None;
    let mut done = Vec::new();
    while rx.recv_many(&mut done, RECORD_BATCH).await > 0 {
        let n = done.len();
        if let Err(e) = record_all(state, std::mem::take(&mut done)).await {
            // The leases stand: the attempts are made again once they are free.
            tracing::error!(error = ?e, "recording delivery attempts failed");
            first_error.get_or_insert(e);
        }
        recorded(n);
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(count),
    }
}

/// One pass: claim due deliveries (as many as the node has slots), attempt them, record the
/// results. Returns how many were attempted.
pub async fn run_once(state: &AppState) -> Result<usize> {
    beat(state).await?;
    let limit = u64::try_from(state.config.delivery_concurrency).unwrap_or(BATCH);
    let claimed = claim(state, limit.min(BATCH)).await?;
    deliver(state, claimed, |_| {}).await
}

/// Say this node is alive.
async fn beat(state: &AppState) -> Result<()> {
    store::delivery_nodes::beat(&state.writer, state.node_id, state.now()).await?;
    Ok(())
}

/// Beat every `NODE_HEARTBEAT` until `stop` fires.
async fn heartbeat(state: AppState, stop: CancellationToken) {
    match store::delivery_nodes::forget_silent(&state.writer, state.now() - FORGET_AFTER).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(nodes = n, "forgot delivery nodes silent for an hour"),
        Err(e) => tracing::warn!(error = %e, "forgetting silent delivery nodes failed"),
    }
    loop {
        if let Err(e) = beat(&state).await {
            tracing::warn!(error = ?e, "the delivery heartbeat failed");
        }
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = tokio::time::sleep(NODE_HEARTBEAT) => {}
        }
    }
}

/// Claim for the free slots and start a pass on what was claimed. Returns how many.
async fn start_pass(
    state: &AppState,
    slots: &Arc<Semaphore>,
    freed: &Arc<Notify>,
    passes: &mut JoinSet<Result<usize>>,
) -> Result<usize> {
    let free = slots.available_permits();
    if free == 0 {
        return Ok(0);
    }
    let claimed = claim(state, u64::try_from(free).unwrap_or(BATCH).min(BATCH)).await?;
    let n = claimed.0.len();
    if n == 0 {
        return Ok(0);
    }
    // Only this loop takes slots, so the ones counted free above are still free.
    let mut held = Arc::clone(slots)
        .try_acquire_many_owned(u32::try_from(n).unwrap_or(u32::MAX))
        .map_err(anyhow::Error::from)?;
    let (state, freed) = (state.clone(), Arc::clone(freed));
    passes.spawn(async move {
        deliver(&state, claimed, move |k| {
            drop(held.split(k));
            freed.notify_one();
        })
        .await
    });
    Ok(n)
}

fn report(ended: std::result::Result<Result<usize>, tokio::task::JoinError>) {
    match ended {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => tracing::error!(error = ?e, "delivery pass failed"),
        Err(e) => tracing::error!(error = %e, "delivery pass panicked"),
    }
}

/// Keep claiming and delivering until `cancel` fires; passes in progress are finished
/// first, then the node says it is gone.
pub async fn run(state: AppState, cancel: CancellationToken) {
    let slots = Arc::new(Semaphore::new(state.config.delivery_concurrency));
    let freed = Arc::new(Notify::new());
    let wake = state.bus.delivery_wake();
    let beating = CancellationToken::new();
    let heartbeat = tokio::spawn(heartbeat(state.clone(), beating.clone()));
    let mut passes = JoinSet::new();
    loop {
        if cancel.is_cancelled() {
            break;
        }
        let pass = start_pass(&state, &slots, &freed, &mut passes);
        match crate::background::guarded("claiming deliveries", pass).await {
            Some(Ok(n)) if n > 0 => continue,
            Some(Ok(_)) | None => {}
            Some(Err(e)) => tracing::error!(error = ?e, "claiming deliveries failed"),
        }
        tokio::select! {
            _ = cancel.cancelled() => break,
            _ = wake.notified() => {}
            _ = freed.notified() => {}
            Some(ended) = passes.join_next() => report(ended),
            _ = tokio::time::sleep(POLL) => {}
        }
    }
    while let Some(ended) = passes.join_next().await {
        report(ended);
    }
    beating.cancel();
    let _ = heartbeat.await;
    if let Err(e) = store::delivery_nodes::remove(&state.writer, state.node_id).await {
        tracing::warn!(error = %e, "could not say this delivery node is gone");
    }
    tracing::info!("delivery worker stopped");
}

/// One attempt's result, recorded with the others that finished with it.
struct Attempted {
    delivery: delivery::Model,
    hook: webhook::Model,
    result: store::deliveries::Attempt,
    decision: Decision,
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
        match chat_bridge::callback_secret(state, &hook) {
            Ok(Some(secret)) => post_callback(state, &hook, &event, &secret).await,
            Ok(None) => Err("the callback has no secret".to_string()),
            Err(e) => Err(e.to_string()),
        }
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
        DeliveryStatus::Delivered => "delivered",
        DeliveryStatus::Failed => "failed",
        DeliveryStatus::Pending => "retrying",
    });
    if decision.status != DeliveryStatus::Delivered {
        tracing::info!(webhook = hook.id, delivery = d.id, attempts, status = decision.status.as_str(),
            outcome = ?outcome, "webhook delivery attempt failed");
    }
    let (status_code, latency_ms, error) = match outcome {
        Outcome::Delivered { status, latency_ms } => (Some(status), latency_ms, None),
        Outcome::Failed {
            status,
            latency_ms,
            error,
            ..
        } => (status, latency_ms, Some(error)),
    };
    Attempted {
        delivery: d,
        hook,
        result: store::deliveries::Attempt {
            status: decision.status,
            attempts,
            next_attempt_at: decision.next_attempt_at,
            at,
            status_code,
            latency_ms,
            error,
            delivered: decision.status == DeliveryStatus::Delivered,
        },
        decision,
    }
}

/// Write attempts' results in one transaction (one commit, not one per delivery), and the
/// webhooks' failure streaks and disabling.
async fn record_all(state: &AppState, attempted: Vec<Attempted>) -> Result<()> {
    let txn = store::connect::begin_write(&state.writer).await?;
    let mut failing = std::collections::BTreeSet::new();
    let mut recovered = std::collections::BTreeSet::new();
    for a in &attempted {
        store::deliveries::record(&txn, &a.delivery, &a.result).await?;
        if a.decision.failing {
            failing.insert(a.hook.id);
        } else if a.hook.failing_since.is_some() {
            recovered.insert(a.hook.id);
        }
        if let Some(reason) = &a.decision.disable_webhook {
            tracing::warn!(webhook = a.hook.id, %reason, "disabling webhook");
            store::webhooks::disable(&txn, a.hook.id, reason, a.result.at).await?;
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
