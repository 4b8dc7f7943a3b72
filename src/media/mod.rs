//! Outbound media infrastructure: the Janus SFU's APIs as meetplane calls them, and this
//! node's view of that Janus (up or not). No rules here (who gets which media room and token
//! is `domain::media_rooms`).
pub mod janus;

use std::{
    sync::{
        Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use tokio::sync::Notify;
use url::Url;

use crate::config::{JanusConfig, SecretString};

/// The Janus this node drives.
#[derive(Debug)]
pub struct JanusPlane {
    pub client: janus::Janus,
    /// Where browsers' frames are relayed to.
    pub ws_url: Url,
    pub api_secret: SecretString,
    pub events_secret: SecretString,
    /// Wakes the pass that tells Janus about departures and closed rooms.
    wake: Notify,
    /// Whether Janus answered the last call made to it.
    up: AtomicBool,
    /// A token this node keeps in Janus: when Janus no longer knows it, Janus restarted (and
    /// lost every room and token).
    pub sentinel: String,
    /// When Janus's live handles were last compared with the media connections on record.
    handles_checked: Mutex<Option<Instant>>,
}

impl JanusPlane {
    pub fn new(config: &JanusConfig) -> Self {
        Self {
            client: janus::Janus::new(config),
            ws_url: config.ws_url.clone(),
            api_secret: config.api_secret.clone(),
            events_secret: config.events_secret.clone(),
            wake: Notify::new(),
            up: AtomicBool::new(false),
            sentinel: crate::auth::random::token("mpsentinel_"),
            handles_checked: Mutex::new(None),
        }
    }

    /// Ask for a pass of `domain::media_rooms::run_once` (after a commit that removed peers
    /// or closed rooms).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    pub async fn woken(&self) {
        self.wake.notified().await;
    }

    pub fn is_up(&self) -> bool {
        self.up.load(Ordering::Relaxed)
    }

    /// Whether `every` has passed since the last comparison of handles (and if so, it starts
    /// now): listing every session's handles is a call per session, too many for each pass.
    pub fn handle_check_due(&self, every: Duration) -> bool {
        let mut last = self
            .handles_checked
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let due = last.is_none_or(|at| at.elapsed() >= every);
        if due {
            *last = Some(Instant::now());
        }
        due
    }

    /// Record whether Janus answered.
    pub fn set_up(&self, up: bool) {
        self.up.store(up, Ordering::Relaxed);
    }
}
