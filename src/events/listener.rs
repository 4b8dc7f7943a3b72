//! Postgres LISTEN/NOTIFY: every node hears the id of every committed event (its own too),
//! loads it and hands it to its local bus, so realtime sockets on any node see changes made
//! on any other, and each node's delivery worker wakes for new work. When the listening
//! connection is lost, events committed until it listens again are read from the table and
//! published after the reconnect, so sockets miss nothing. Notices of ended credentials
//! (`domain::socket_access`) arrive on a channel of their own; after a loss every socket checks
//! its credential again, since notices are not kept. WebRTC signals arrive on a third channel,
//! in chunks put together here (`signal_wire`); they are not kept either.
use std::{
    collections::{HashSet, VecDeque},
    sync::Arc,
    time::Duration,
};

use chrono::{DateTime, TimeDelta, Utc};
use tokio::{sync::oneshot, time::Instant};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::{
    Event,
    notices::{NOTICE_CHANNEL, Notice},
    signal_wire::{Reassembly, SIGNAL_CHANNEL},
    tx::CHANNEL,
};
use crate::{state::AppState, store};

/// How far before the loss replay starts: an event's time is taken before its transaction
/// commits, so one committed just after the loss may carry a slightly earlier time.
const REPLAY_MARGIN: TimeDelta = TimeDelta::seconds(10);
/// Events replayed after one reconnect at most; more means sockets should reload anyway.
const REPLAY_LIMIT: u64 = 10_000;
/// Ids of recently published events, so a replay does not publish one twice.
const REMEMBERED: usize = 4096;

/// Events this node has published lately.
#[derive(Default)]
struct Published {
    order: VecDeque<Uuid>,
    ids: HashSet<Uuid>,
}

impl Published {
    /// Record `id`; false if it was published already.
    fn first_time(&mut self, id: Uuid) -> bool {
        if !self.ids.insert(id) {
            return false;
        }
        self.order.push_back(id);
        if self.order.len() > REMEMBERED
            && let Some(old) = self.order.pop_front()
        {
            self.ids.remove(&old);
        }
        true
    }
}

pub async fn run(state: AppState, cancel: CancellationToken, listening: oneshot::Sender<()>) {
    let mut listening = Some(listening);
    if !store::connect::is_postgres(&state.db) {
        let _ = listening.take().map(|tx| tx.send(()));
        return;
    }
    let mut published = Published::default();
    let mut lost_at: Option<DateTime<Utc>> = None;
    while !cancel.is_cancelled() {
        let listened = listen(
            &state,
            &cancel,
            &mut listening,
            &mut published,
            &mut lost_at,
        );
        // A panic is a lost connection too: replay from the time of the failure.
        let listened = crate::background::guarded("the event listener", listened)
            .await
            .unwrap_or_else(|| Err(anyhow::anyhow!("the listener panicked")));
        match listened {
            Ok(()) => break,
            Err(e) => {
                // Kept when the reconnect itself failed: the gap began at the first loss.
                lost_at = Some(lost_at.unwrap_or_else(|| state.now()));
                tracing::warn!(error = %e, "event listener lost its connection; reconnecting");
                tokio::select! {
                    _ = cancel.cancelled() => break,
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
            }
        }
    }
}

async fn listen(
    state: &AppState,
    cancel: &CancellationToken,
    listening: &mut Option<oneshot::Sender<()>>,
    published: &mut Published,
    lost_at: &mut Option<DateTime<Utc>>,
) -> anyhow::Result<()> {
    let mut listener = store::notifications::Listener::connect(
        state.config.database_url.expose(),
        &[CHANNEL, NOTICE_CHANNEL, SIGNAL_CHANNEL],
    )
    .await?;
    let mut signals = Reassembly::default();
    let _ = listening.take().map(|tx| tx.send(()));
    if let Some(since) = *lost_at {
        // Listening again: whatever committed from now on is notified; read what came before.
        let missed = store::events::since(&state.db, since - REPLAY_MARGIN, REPLAY_LIMIT).await?;
        let mut replayed = 0;
        for model in missed {
            if published.first_time(model.id) {
                state
                    .bus
                    .publish(Arc::new(Event::from_model(model, &state.sealer)));
                replayed += 1;
            }
        }
        state.bus.wake_delivery();
        state.bus.publish_notice(Notice::All);
        tracing::info!(replayed, "event listener reconnected");
        // Caught up: a later loss starts its own gap.
        *lost_at = None;
    }
    loop {
        let notification = tokio::select! {
            _ = cancel.cancelled() => return Ok(()),
            n = listener.next() => n?,
        };
        if notification.channel == NOTICE_CHANNEL {
            if let Some(notice) = Notice::parse(&notification.payload) {
                state.bus.publish_notice(notice);
            }
            continue;
        }
        if notification.channel == SIGNAL_CHANNEL {
            if let Some(signal) = signals.accept(&notification.payload, Instant::now()) {
                state.bus.publish_signal(Arc::new(signal));
            }
            continue;
        }
        state.bus.wake_delivery();
        let Ok(id) = Uuid::parse_str(&notification.payload) else {
            continue;
        };
        if !published.first_time(id) {
            continue;
        }
        match store::events::find(&state.db, id).await {
            Ok(Some(model)) => state
                .bus
                .publish(Arc::new(Event::from_model(model, &state.sealer))),
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, event = %id, "cannot load a notified event"),
        }
    }
}
