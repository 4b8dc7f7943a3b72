//! The XMPP bridge: one c2s connection that joins the multi-user chat of every chat binding,
//! sends the rooms' pending messages there and stores what others say in the rooms' chats.
//!
//! One node bridges at a time: on Postgres the node holding an advisory lock (on a connection
//! kept for the purpose) is the leader, the others wait; on SQLite there is one node. The
//! bridge's state is kept here for `/readyz`; the bridging node also writes it to the
//! database (`domain::bridge_status`) for the API on every node, at each change.
//!
//! The XMPP loop (`session`) never waits for the database: a storage task (`storage`) reads
//! the bindings and pending messages and writes what the loop settles, and the keeper below
//! checks the leadership and writes the status.
use std::{
    sync::{Arc, RwLock},
    time::Duration,
};

use chrono::{DateTime, Utc};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::{
    domain::bridge_status,
    state::AppState,
    store::{
        self,
        leader_lock::{self, Leadership},
    },
};

mod connector;
mod incoming;
mod link;
mod outbox;
mod rooms;
mod session;
mod storage;

/// Advisory lock key of the bridge leader ("meetplane xmpp").
pub const LEADER_LOCK: i64 = 0x6d70_786d_7070;

/// Become the bridging node, if no other node is.
async fn lead(state: &AppState) -> Result<Option<Leadership>, store::DbError> {
    leader_lock::try_lead(&state.db, LEADER_LOCK).await
}
/// Pause before trying to become leader again, or after a lost lock connection.
const RETRY: Duration = Duration::from_secs(2);
/// How often the leadership is checked and the status written without a change.
const KEEP_EVERY: Duration = Duration::from_secs(5);

/// What the bridge is doing, as shown by `/readyz` and `GET /v1/chat-bridge`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BridgeStatus {
    /// `disabled` (not configured), `standby` (another node bridges), `connecting`,
    /// `connected`, `disconnected`.
    pub state: String,
    pub jid: Option<String>,
    /// MUCs the bridge is in.
    pub rooms_joined: Vec<String>,
    pub last_error: Option<String>,
    pub last_error_at: Option<DateTime<Utc>>,
    pub connected_since: Option<DateTime<Utc>>,
    /// This node bridges (holds the leadership).
    pub leader: bool,
}

/// The bridge status of this node, shared with the HTTP side.
#[derive(Debug, Clone)]
pub struct StatusCell {
    status: Arc<RwLock<BridgeStatus>>,
    /// Notified when the status changes.
    changed: Arc<Notify>,
}

impl Default for StatusCell {
    fn default() -> Self {
        Self {
            status: Arc::new(RwLock::new(BridgeStatus {
                state: "disabled".into(),
                ..Default::default()
            })),
            changed: Arc::default(),
        }
    }
}

impl StatusCell {
    pub fn get(&self) -> BridgeStatus {
        self.status.read().map(|s| s.clone()).unwrap_or_default()
    }
    pub(crate) fn update(&self, change: impl FnOnce(&mut BridgeStatus)) {
        let changed = match self.status.write() {
            Ok(mut s) => {
                let before = s.clone();
                change(&mut s);
                *s != before
            }
            Err(_) => false,
        };
        if changed {
            self.changed.notify_one();
        }
    }
    pub(crate) fn error(&self, now: DateTime<Utc>, error: impl Into<String>) {
        let error = error.into();
        tracing::warn!(error = %error, "xmpp bridge");
        self.update(|s| {
            s.last_error = Some(error);
            s.last_error_at = Some(now);
        });
    }
}

/// Run the bridge until `cancel`, when it is configured.
pub async fn run(state: AppState, cancel: CancellationToken) {
    let Some(xmpp) = state.config.chat.xmpp.clone() else {
        return;
    };
    state.bridge.update(|s| {
        s.state = "standby".into();
        s.jid = Some(xmpp.jid.to_string());
    });
    while !cancel.is_cancelled() {
        let lock = match lead(&state).await {
            Ok(Some(lock)) => lock,
            Ok(None) => {
                state.bridge.update(|s| s.state = "standby".into());
                if sleep_or_cancel(&cancel, RETRY).await {
                    break;
                }
                continue;
            }
            Err(e) => {
                state
                    .bridge
                    .error(state.now(), format!("cannot take the bridge lock: {e}"));
                if sleep_or_cancel(&cancel, RETRY).await {
                    break;
                }
                continue;
            }
        };
        tracing::info!(jid = %xmpp.jid, "this node bridges XMPP");
        state.bridge.update(|s| s.leader = true);
        let session = session::run(&state, &xmpp, &cancel, lock);
        let ended = crate::background::guarded("the xmpp bridge session", session).await;
        state.bridge.update(|s| s.leader = false);
        // A panic may repeat at once: pause as after a lost lock.
        if ended.is_none() && sleep_or_cancel(&cancel, RETRY).await {
            break;
        }
    }
}

/// Hold the term's leadership, and write the status for the other nodes at each change and
/// every `KEEP_EVERY`; the term ends (`term` is cancelled) when the lock is lost.
async fn keep(state: AppState, mut lock: Leadership, term: CancellationToken) -> Leadership {
    let mut tick = tokio::time::interval(KEEP_EVERY);
    loop {
        tokio::select! {
            _ = term.cancelled() => return lock,
            _ = tick.tick() => {
                if !lock.still_held().await {
                    state.bridge.error(state.now(), "lost the bridge lock (database connection); stepping down");
                    term.cancel();
                    return lock;
                }
            }
            _ = state.bridge.changed.notified() => {}
        }
        report(&state).await;
    }
}

/// Write this node's status for the other nodes; a failure is logged and the next change or
/// tick tries again.
async fn report(state: &AppState) {
    // Guarded: the keeper holds the leadership, which a panic here must not drop.
    let reported =
        crate::background::guarded("the xmpp bridge status", bridge_status::report(state));
    if let Some(Err(e)) = reported.await {
        tracing::warn!(error = ?e, "cannot write the xmpp bridge status");
    }
}

/// True when cancelled during the pause.
async fn sleep_or_cancel(cancel: &CancellationToken, pause: Duration) -> bool {
    tokio::select! {
        _ = cancel.cancelled() => true,
        _ = tokio::time::sleep(pause) => false,
    }
}
