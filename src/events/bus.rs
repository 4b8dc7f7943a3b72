//! Fan-out of recorded events inside one node: realtime sockets subscribe here, and the
//! delivery worker is woken when new deliveries exist. On SQLite (one node) committed events
//! are published directly; on Postgres every node, this one included, learns of them through
//! LISTEN/NOTIFY (see `listener`), so a socket on any node sees changes made on any other.
//! Notices of ended credentials travel the same two ways, so sockets opened with them close,
//! and so do WebRTC signals between peers (`domain::signalling`).
use std::sync::Arc;

use tokio::sync::{Notify, broadcast};

use super::Event;
use super::{notices::Notice, signal_wire::Signal};

#[derive(Debug, Clone)]
pub struct EventBus {
    sender: broadcast::Sender<Arc<Event>>,
    notices: broadcast::Sender<Notice>,
    signals: broadcast::Sender<Arc<Signal>>,
    delivery_wake: Arc<Notify>,
    bridge_wake: Arc<Notify>,
    /// True on Postgres: publishing goes through NOTIFY, not directly.
    distributed: bool,
}

/// Events a slow socket may fall behind by before it is told it lagged.
const CAPACITY: usize = 4096;
/// Credential notices a socket may fall behind by (it then checks its credential anyway).
const NOTICES: usize = 256;
/// Signals a peer socket may fall behind by (a negotiation in flight is a few dozen).
const SIGNALS: usize = 1024;

impl EventBus {
    pub fn new(distributed: bool) -> Self {
        Self {
            sender: broadcast::channel(CAPACITY).0,
            notices: broadcast::channel(NOTICES).0,
            signals: broadcast::channel(SIGNALS).0,
            delivery_wake: Arc::new(Notify::new()),
            bridge_wake: Arc::new(Notify::new()),
            distributed,
        }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.sender.subscribe()
    }

    /// Called after a transaction that recorded events committed.
    pub fn committed(&self, events: Vec<Event>, deliveries_created: bool) {
        if !self.distributed {
            for event in events {
                self.publish(Arc::new(event));
            }
        }
        if deliveries_created {
            self.delivery_wake.notify_one();
        }
    }

    pub fn subscribe_notices(&self) -> broadcast::Receiver<Notice> {
        self.notices.subscribe()
    }

    /// Called after a change that may end credentials committed (on Postgres a trigger
    /// notifies every node instead).
    pub fn credentials_changed(&self, notice: Notice) {
        if !self.distributed {
            self.publish_notice(notice);
        }
    }

    /// Hand a credential notice to this node's sockets.
    pub fn publish_notice(&self, notice: Notice) {
        let _ = self.notices.send(notice);
    }

    /// Hand an event to this node's subscribers (no subscribers is fine).
    pub fn publish(&self, event: Arc<Event>) {
        let _ = self.sender.send(event);
    }

    /// True on Postgres: what other nodes must see goes through NOTIFY.
    pub fn is_distributed(&self) -> bool {
        self.distributed
    }

    pub fn subscribe_signals(&self) -> broadcast::Receiver<Arc<Signal>> {
        self.signals.subscribe()
    }

    /// Hand a signal to this node's sockets (no socket of its recipient here is fine).
    pub fn publish_signal(&self, signal: Arc<Signal>) {
        let _ = self.signals.send(signal);
    }

    pub fn wake_delivery(&self) {
        self.delivery_wake.notify_one();
    }

    pub fn wake_bridge(&self) {
        self.bridge_wake.notify_one();
    }

    pub fn bridge_wake(&self) -> Arc<Notify> {
        self.bridge_wake.clone()
    }

    pub fn delivery_wake(&self) -> Arc<Notify> {
        self.delivery_wake.clone()
    }
}
