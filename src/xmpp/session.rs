//! One leadership term of the bridge: a client connection (tokio-xmpp reconnects it by
//! itself) and the loop that keeps the MUCs joined and the messages flowing.
//!
//! HTTP → MUC is at least once: a pending message is sent with the id `mp-{messageId}` and
//! marked sent only when the MUC reflects it back, so a message lost with a connection is
//! sent again after the reconnect. MUC → HTTP: each live groupchat message (not history, not
//! the bridge's own) is stored with its callback delivery in one transaction.
use std::{
    collections::{HashMap, HashSet},
    time::Duration,
};

use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_xmpp::{Client, Event, IqRequest, Stanza, minidom::Element};
use uuid::Uuid;
use xmpp_parsers::{
    jid::{BareJid, Jid},
    message::{Id, Lang, Message},
    muc::{Muc, muc::History},
    ping::Ping,
    presence::Presence,
};

use super::{
    Leadership,
    connector::{Dialer, SIGN_IN_GRACE},
};
use crate::{
    config::XmppConfig,
    domain::{bridge_status, chat_bridge},
    state::AppState,
    store,
};

/// How often bindings and pending messages are looked at without a wake-up (bindings made
/// on other nodes, retries).
const SYNC_EVERY: Duration = Duration::from_secs(1);
/// How often the server is pinged and the leadership checked.
const PING_EVERY: Duration = Duration::from_secs(5);
/// Longest wait for one stanza to be written.
pub(super) const SEND_TIMEOUT: Duration = Duration::from_secs(5);
/// Prefix of the ids of messages the bridge sends.
pub(super) const ID_PREFIX: &str = "mp-";
/// Submitting an empty form makes a newly created MUC an "instant room" (XEP-0045 10.1.2).
pub(super) const INSTANT_ROOM: &str = "<query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'/></query>";

#[derive(Debug)]
pub(super) struct Joined {
    pub(super) room_id: Uuid,
    /// The MUC confirmed our presence (status 110).
    pub(super) confirmed: bool,
}

pub(super) struct Session<'a> {
    pub(super) state: &'a AppState,
    pub(super) xmpp: &'a XmppConfig,
    pub(super) nick: String,
    pub(super) client: Client,
    pub(super) dialer: Dialer,
    pub(super) online: bool,
    pub(super) rooms: HashMap<BareJid, Joined>,
    /// Messages sent but not yet reflected by their MUC.
    pub(super) in_flight: HashSet<i64>,
    /// Counts client replacements, so a late ping answer about an old client is ignored.
    pub(super) generation: u64,
}

pub(super) async fn run(
    state: &AppState,
    xmpp: &XmppConfig,
    cancel: &CancellationToken,
    mut lock: Leadership,
) {
    state.bridge.update(|s| s.state = "connecting".into());
    report(state).await;
    let dialer = Dialer::new(state.bridge.clone(), state.clock.clone());
    let mut session = Session {
        state,
        xmpp,
        nick: xmpp.nick.clone(),
        client: dialer.client(xmpp),
        dialer,
        online: false,
        rooms: HashMap::new(),
        in_flight: HashSet::new(),
        generation: 0,
    };
    let wake = state.bus.bridge_wake();
    let mut sync = tokio::time::interval(SYNC_EVERY);
    let mut ping = tokio::time::interval(PING_EVERY);
    let (pong_tx, mut pong_rx) = mpsc::channel::<(u64, Result<(), String>)>(4);
    loop {
        tokio::select! {
            _ = cancel.cancelled() => break,
            event = session.client.next() => match event {
                Some(event) => session.on_event(event).await,
                None => {
                    state.bridge.error(state.now(), "the XMPP client stopped");
                    break;
                }
            },
            _ = wake.notified() => session.sync().await,
            _ = sync.tick() => session.sync().await,
            Some((generation, pong)) = pong_rx.recv() => session.on_pong(generation, pong),
            _ = ping.tick() => {
                if !lock.still_held().await {
                    state.bridge.error(state.now(), "lost the bridge lock (database connection); stepping down");
                    break;
                }
                report(state).await;
                session.ping(pong_tx.clone()).await;
                if session.online {
                    session.rejoin().await;
                } else if session.dialer.sign_in_overdue() {
                    state.bridge.error(state.now(), format!(
                        "reached the XMPP server, but signing in as {} did not complete within {} s (is the password right?); retrying",
                        xmpp.jid, SIGN_IN_GRACE.as_secs()
                    ));
                }
            }
        }
    }
    session.leave_all().await;
    let _ = tokio::time::timeout(SEND_TIMEOUT, session.client.send_end()).await;
    state.bridge.update(|s| {
        s.state = "disconnected".into();
        s.rooms_joined.clear();
        s.connected_since = None;
    });
    // Said only while still the leader: a node that lost the lock may already have a
    // successor whose report this would overwrite.
    if lock.still_held().await {
        report(state).await;
    }
}

/// Write this node's status for the other nodes (at the start, with every ping and at the
/// end of a term); a failure is logged and the next ping tries again.
async fn report(state: &AppState) {
    if let Err(e) = bridge_status::report(state).await {
        tracing::warn!(error = ?e, "cannot write the xmpp bridge status");
    }
}

impl Session<'_> {
    pub(super) async fn send(&mut self, stanza: impl Into<Stanza>) -> bool {
        match tokio::time::timeout(SEND_TIMEOUT, self.client.send_stanza(stanza.into())).await {
            Ok(Ok(_)) => true,
            Ok(Err(e)) => {
                self.state
                    .bridge
                    .error(self.state.now(), format!("sending failed: {e}"));
                false
            }
            Err(_) => {
                // The stream is down (tokio-xmpp keeps reconnecting): stop sending until it
                // is back, or its queue fills and every later send waits.
                self.set_offline("sending timed out; waiting for the connection".into());
                false
            }
        }
    }

    async fn on_event(&mut self, event: Event) {
        match event {
            Event::Online {
                bound_jid, resumed, ..
            } => {
                tracing::info!(%bound_jid, resumed, "xmpp bridge online");
                self.online = true;
                self.dialer.online();
                let now = self.state.now();
                self.state.bridge.update(|s| {
                    s.state = "connected".into();
                    s.connected_since = Some(now);
                });
                if !resumed {
                    // A new stream: the MUCs no longer know us, and what was in flight may
                    // be lost.
                    for room in self.rooms.values_mut() {
                        room.confirmed = false;
                    }
                    self.in_flight.clear();
                }
                self.rejoin().await;
                self.sync().await;
            }
            Event::Disconnected(e) => {
                self.set_offline(format!("disconnected: {e}"));
            }
            Event::Stanza(Stanza::Message(m)) => self.on_message(m).await,
            Event::Stanza(Stanza::Presence(p)) => self.on_presence(p).await,
            Event::Stanza(Stanza::Iq(_)) => {}
        }
    }

    /// The connection is gone. The client is replaced by a fresh one: tokio-xmpp would
    /// otherwise try to resume its old stream forever after the server restarted (the server
    /// refuses, the client reconnects and asks again).
    pub(super) fn set_offline(&mut self, why: String) {
        self.online = false;
        self.client = self.dialer.client(self.xmpp);
        self.generation += 1;
        for room in self.rooms.values_mut() {
            room.confirmed = false;
        }
        self.state.bridge.error(self.state.now(), why);
        self.state.bridge.update(|s| {
            s.state = "disconnected".into();
            s.connected_since = None;
            s.rooms_joined.clear();
        });
    }

    pub(super) fn publish_rooms(&self) {
        let mut joined: Vec<String> = self
            .rooms
            .iter()
            .filter(|(_, r)| r.confirmed)
            .map(|(j, _)| j.to_string())
            .collect();
        joined.sort();
        self.state.bridge.update(|s| s.rooms_joined = joined);
    }

    async fn join(&mut self, room: &BareJid) {
        let Ok(occupant) = room.with_resource_str(&self.nick) else {
            self.state.bridge.error(
                self.state.now(),
                format!("nick {:?} is not a valid resource", self.nick),
            );
            return;
        };
        // No history: it would be old news, and it carries delay stamps the bridge skips anyway.
        let muc = Muc {
            password: None,
            history: Some(History::new().with_maxstanzas(0)),
        };
        let presence = Presence::available().with_to(occupant).with_payload(muc);
        self.send(presence).await;
    }

    /// Join every MUC the bridge is not confirmed in.
    async fn rejoin(&mut self) {
        let jids: Vec<BareJid> = self
            .rooms
            .iter()
            .filter(|(_, r)| !r.confirmed)
            .map(|(j, _)| j.clone())
            .collect();
        for jid in jids {
            self.join(&jid).await;
        }
        self.publish_rooms();
    }

    async fn leave(&mut self, room: &BareJid) {
        if let Ok(occupant) = room.with_resource_str(&self.nick) {
            let presence = Presence::unavailable().with_to(occupant);
            self.send(presence).await;
        }
    }

    async fn leave_all(&mut self) {
        if self.online {
            let jids: Vec<BareJid> = self.rooms.keys().cloned().collect();
            for jid in jids {
                self.leave(&jid).await;
            }
        }
    }

    /// Follow the bindings (join new MUCs, leave ended ones) and send pending messages.
    async fn sync(&mut self) {
        let bindings = match store::chat::all_bindings(&self.state.db).await {
            Ok(b) => b,
            Err(e) => {
                self.state
                    .bridge
                    .error(self.state.now(), format!("cannot read chat bindings: {e}"));
                return;
            }
        };
        let wanted: HashMap<BareJid, Uuid> = bindings
            .into_iter()
            .filter_map(|b| BareJid::new(&b.jid).ok().map(|j| (j, b.room_id)))
            .collect();
        let gone: Vec<BareJid> = self
            .rooms
            .keys()
            .filter(|j| !wanted.contains_key(*j))
            .cloned()
            .collect();
        for jid in gone {
            self.rooms.remove(&jid);
            if self.online {
                self.leave(&jid).await;
            }
        }
        for (jid, room_id) in wanted {
            if !self.rooms.contains_key(&jid) {
                self.rooms.insert(
                    jid.clone(),
                    Joined {
                        room_id,
                        confirmed: false,
                    },
                );
                if self.online {
                    self.join(&jid).await;
                }
            }
        }
        self.publish_rooms();
        if self.online {
            self.flush().await;
        }
    }

    /// Send the pending messages of the joined MUCs, oldest first.
    pub(super) async fn flush(&mut self) {
        let targets: Vec<(BareJid, Uuid)> = self
            .rooms
            .iter()
            .filter(|(_, r)| r.confirmed)
            .map(|(j, r)| (j.clone(), r.room_id))
            .collect();
        for (jid, room_id) in targets {
            let pending = match store::chat::pending_for_room(&self.state.db, room_id).await {
                Ok(p) => p,
                Err(e) => {
                    self.state.bridge.error(
                        self.state.now(),
                        format!("cannot read pending messages: {e}"),
                    );
                    return;
                }
            };
            for m in pending {
                if self.in_flight.contains(&m.id) {
                    continue;
                }
                let mut message = Message::groupchat(Some(Jid::from(jid.clone())));
                message.id = Some(Id(format!("{ID_PREFIX}{}", m.id)));
                message.bodies.insert(
                    Lang::default(),
                    chat_bridge::muc_text(&m.display_name, &m.text),
                );
                if !self.send(message).await {
                    return;
                }
                self.in_flight.insert(m.id);
            }
        }
    }

    /// Ping the server; the answer (or its absence) arrives through `pong`, tagged with the
    /// client generation it is about.
    async fn ping(&mut self, pong: mpsc::Sender<(u64, Result<(), String>)>) {
        if !self.online {
            return;
        }
        let generation = self.generation;
        let request = self
            .client
            .send_iq(None, IqRequest::Get(Element::from(Ping)));
        let Ok(token) = tokio::time::timeout(SEND_TIMEOUT, request).await else {
            self.set_offline("could not queue a ping".into());
            return;
        };
        tokio::spawn(async move {
            let result = match tokio::time::timeout(SEND_TIMEOUT, token).await {
                Ok(Ok(_)) => Ok(()),
                Ok(Err(e)) => Err(format!("ping failed: {e:?}")),
                Err(_) => Err("no answer to ping".to_string()),
            };
            let _ = pong.send((generation, result)).await;
        });
    }

    fn on_pong(&mut self, generation: u64, pong: Result<(), String>) {
        if let Err(why) = pong
            && self.online
            && generation == self.generation
        {
            self.set_offline(why);
        }
    }
}
