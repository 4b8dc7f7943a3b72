//! One leadership term of the bridge: a client connection and the loop that keeps the MUCs
//! joined and the messages flowing. The loop only does XMPP: it hears from the storage task
//! what is bound and pending, and hands it what to write.
//!
//! HTTP → MUC: each message goes out with a stable id (XEP-0359 origin-id) and is in the MUC
//! when the MUC reflects it (see `outbox`). A dropped connection shows at once (the client
//! dials again), and the client is replaced by a fresh one: tokio-xmpp would otherwise try to
//! resume its old stream forever after the server restarted. On every join the bridge reads
//! the MUC's history before it sends, so that what was in flight is not sent twice.
use std::{
    collections::HashMap,
    io,
    sync::Arc,
    time::{Duration, Instant},
};

use tokio::sync::{Notify, mpsc, watch};
use tokio_util::sync::CancellationToken;
use tokio_xmpp::{
    Stanza,
    minidom::Element,
    stanzastream::{StanzaStage, StanzaToken},
};
use uuid::Uuid;
use xmpp_parsers::{jid::BareJid, ping::Ping};

use super::{
    Leadership,
    connector::{Dialer, SIGN_IN_GRACE},
    link::{Asked, Heard, Link},
    outbox::{Outbox, Outcome},
    storage::{self, Snapshot, Write},
};
use crate::{config::XmppConfig, state::AppState};

/// How often the server is pinged and MUCs that did not answer a join are asked again.
const PING_EVERY: Duration = Duration::from_secs(5);
/// How often deadlines (a join's history, reflections, retries) are looked at.
const TICK_EVERY: Duration = Duration::from_secs(1);
/// Longest wait for one stanza to be written.
pub(super) const SEND_TIMEOUT: Duration = Duration::from_secs(5);
/// The history asked for on joining; the server sends at most what it keeps.
pub(super) const HISTORY_STANZAS: u32 = 50;
/// The subject ends a join's history; a MUC that sends none is taken as done after this.
pub(super) const HISTORY_WAIT: Duration = Duration::from_secs(5);
/// Prefix of the ids of messages the bridge sends: `mp-{room id}-{message id}`.
pub(super) const ID_PREFIX: &str = "mp-";
/// Submitting an empty form makes a newly created MUC an "instant room" (XEP-0045 10.1.2).
pub(super) const INSTANT_ROOM: &str = "<query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'/></query>";

/// Where the bridge is with a MUC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
    /// Not in it.
    Out,
    /// Asked to join.
    Joining,
    /// In it, reading its history until the subject (or this deadline).
    History(Instant),
    /// In it, sending.
    Ready,
}

#[derive(Debug)]
pub(super) struct Room {
    pub(super) room_id: Uuid,
    pub(super) phase: Phase,
    pub(super) outbox: Outbox,
}

pub(super) struct Session<'a> {
    pub(super) state: &'a AppState,
    pub(super) xmpp: &'a XmppConfig,
    pub(super) nick: String,
    pub(super) client: Link,
    /// Of the current client, so that news about an old one is ignored.
    pub(super) generation: u64,
    pub(super) dialer: Dialer,
    pub(super) online: bool,
    pub(super) rooms: HashMap<BareJid, Room>,
    /// Transmission of the messages in flight on the current connection.
    pub(super) tokens: HashMap<i64, StanzaToken>,
    pub(super) writes: mpsc::UnboundedSender<Write>,
    read_now: Arc<Notify>,
}

pub(super) async fn run(
    state: &AppState,
    xmpp: &XmppConfig,
    cancel: &CancellationToken,
    lock: Leadership,
) {
    let term = cancel.child_token();
    // Also on a panic: the keeper then gives the leadership up and the storage task ends.
    let _end_term = term.clone().drop_guard();
    state.bridge.update(|s| s.state = "connecting".into());
    let keeper = tokio::spawn(super::keep(state.clone(), lock, term.clone()));
    let (writes, to_write) = mpsc::unbounded_channel();
    let read_now = Arc::new(Notify::new());
    let (snapshots_tx, mut snapshots) = watch::channel(Snapshot::default());
    let storage = tokio::spawn(storage::run(
        state.clone(),
        term.clone(),
        to_write,
        read_now.clone(),
        snapshots_tx,
    ));
    let (dialer, mut dials) = Dialer::new(state.bridge.clone(), state.clock.clone());
    let (client, generation) = dialer.client(xmpp);
    let mut session = Session {
        state,
        xmpp,
        nick: xmpp.nick.clone(),
        client,
        generation,
        dialer,
        online: false,
        rooms: HashMap::new(),
        tokens: HashMap::new(),
        writes,
        read_now,
    };
    let mut tick = tokio::time::interval(TICK_EVERY);
    let mut ping = tokio::time::interval(PING_EVERY);
    loop {
        tokio::select! {
            _ = term.cancelled() => break,
            heard = session.client.next() => match heard {
                Some(heard) => session.on_heard(heard).await,
                None => {
                    state.bridge.error(state.now(), "the XMPP client stopped");
                    break;
                }
            },
            Ok(()) = snapshots.changed() => {
                let bound = snapshots.borrow_and_update().clone();
                session.follow(&bound).await;
            }
            Some(generation) = dials.recv() => session.on_dial(generation),
            _ = tick.tick() => session.on_tick().await,
            _ = ping.tick() => session.on_ping_tick().await,
        }
    }
    session.leave_all().await;
    let _ = tokio::time::timeout(SEND_TIMEOUT, session.client.close()).await;
    state.bridge.update(|s| {
        s.state = "disconnected".into();
        s.rooms_joined.clear();
        s.connected_since = None;
    });
    // The storage task writes what the session settled before it ends.
    term.cancel();
    let _ = storage.await;
    // Said only while still the leader: a node that lost the lock may already have a
    // successor whose report this would overwrite.
    if let Ok(mut lock) = keeper.await
        && lock.still_held().await
    {
        super::report(state).await;
    }
}

/// A failed send: the stanza could not go (and why), or the connection is down.
pub(super) enum Unsent {
    Refused(String),
    Offline,
}

impl Session<'_> {
    /// Send a stanza; the connection is taken as down when it cannot be written in time.
    pub(super) async fn send(&mut self, stanza: impl Into<Stanza>) -> Result<StanzaToken, Unsent> {
        match tokio::time::timeout(SEND_TIMEOUT, self.client.send(stanza.into())).await {
            Ok(Ok(token)) => Ok(token),
            Ok(Err(e)) if e.kind() == io::ErrorKind::NotConnected => {
                self.set_offline(format!("sending failed: {e}"));
                Err(Unsent::Offline)
            }
            Ok(Err(e)) => Err(Unsent::Refused(format!(
                "the XMPP client cannot send it: {e}"
            ))),
            Err(_) => {
                // The stream is down (tokio-xmpp keeps reconnecting): stop sending until it
                // is back, or its queue fills and every later send waits.
                self.set_offline("sending timed out; waiting for the connection".into());
                Err(Unsent::Offline)
            }
        }
    }

    /// Hand outcomes to the storage task.
    pub(super) fn record(&self, outcomes: Vec<Outcome>) {
        for outcome in outcomes {
            let write = match outcome {
                Outcome::Sent(id) => Write::Sent(id),
                Outcome::Failed(id, why) => Write::Failed(id, why),
            };
            let _ = self.writes.send(write);
        }
    }

    async fn on_heard(&mut self, heard: Heard) {
        match heard {
            Heard::Online { bound_jid, resumed } => {
                let bound_jid = bound_jid.map(|j| j.to_string()).unwrap_or_default();
                tracing::info!(%bound_jid, resumed, "xmpp bridge online");
                self.online = true;
                self.dialer.online();
                let now = self.state.now();
                self.state.bridge.update(|s| {
                    s.state = "connected".into();
                    s.connected_since = Some(now);
                });
                if !resumed {
                    // A new stream: the MUCs no longer know us.
                    self.forget_connection();
                }
                self.read_now.notify_one();
                self.join_all(false).await;
            }
            Heard::Message(m) => self.on_message(m).await,
            Heard::Presence(p) => self.on_presence(p).await,
            // Any answer shows the connection alive.
            Heard::Answer(Asked::Ping, _) | Heard::Answer(Asked::Configure(_), Ok(())) => {}
            Heard::Answer(Asked::Configure(room), Err(why)) => self.state.bridge.error(
                self.state.now(),
                format!("could not configure {room}: {why}"),
            ),
        }
    }

    /// The current client dials again: its connection is gone.
    fn on_dial(&mut self, generation: u64) {
        if self.online && generation == self.generation {
            self.set_offline("lost the connection to the XMPP server".into());
        }
    }

    /// Out of every MUC: what was in flight is settled by the server's acknowledgement, or
    /// unsure until the next join's history.
    fn forget_connection(&mut self) {
        let tokens = std::mem::take(&mut self.tokens);
        let server_has = |id: i64| {
            tokens
                .get(&id)
                .is_some_and(|t| t.state() == StanzaStage::Acked)
        };
        let mut outcomes = Vec::new();
        for room in self.rooms.values_mut() {
            room.phase = Phase::Out;
            outcomes.extend(room.outbox.connection_lost(server_has));
        }
        self.record(outcomes);
    }

    /// The connection is gone; a fresh client takes over.
    pub(super) fn set_offline(&mut self, why: String) {
        self.online = false;
        self.forget_connection();
        (self.client, self.generation) = self.dialer.client(self.xmpp);
        self.state.bridge.error(self.state.now(), why);
        self.state.bridge.update(|s| {
            s.state = "disconnected".into();
            s.connected_since = None;
            s.rooms_joined.clear();
        });
    }

    async fn on_ping_tick(&mut self) {
        if self.online {
            self.ping().await;
            self.join_all(true).await;
        } else if self.dialer.sign_in_overdue() {
            self.state.bridge.error(self.state.now(), format!(
                "reached the XMPP server, but signing in as {} did not complete within {} s (is the password right?); retrying",
                self.xmpp.jid, SIGN_IN_GRACE.as_secs()
            ));
        }
    }

    /// Ping the server, unless a ping still awaits its answer; `answers_overdue` gives up on
    /// the connection when none comes within `SEND_TIMEOUT`.
    async fn ping(&mut self) {
        if self.client.pinging() {
            return;
        }
        let ask = self
            .client
            .ask(None, true, Element::from(Ping), Asked::Ping, SEND_TIMEOUT);
        match tokio::time::timeout(SEND_TIMEOUT, ask).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => self.set_offline(format!("ping failed: {e}")),
            Err(_) => self.set_offline("could not queue a ping".into()),
        }
    }

    /// IQs left unanswered: for a ping, the connection is gone.
    pub(super) fn answers_overdue(&mut self, now: Instant) {
        for asked in self.client.overdue(now) {
            match asked {
                Asked::Ping if self.online => self.set_offline("no answer to ping".into()),
                Asked::Ping => {}
                Asked::Configure(room) => self.state.bridge.error(
                    self.state.now(),
                    format!(
                        "could not configure {room}: no answer within {} s",
                        SEND_TIMEOUT.as_secs()
                    ),
                ),
            }
        }
    }
}
