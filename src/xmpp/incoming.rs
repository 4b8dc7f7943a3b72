//! What the bridge hears from the MUCs: messages (handed to storage, or the reflection of its
//! own, or a refusal of one), the subject that ends a join's history, and presences (its
//! joins and leaves).
use std::time::Instant;

use tokio_xmpp::minidom::Element;
use xmpp_parsers::{
    jid::{BareJid, Jid},
    message::{Message, MessageType},
    muc::user::{MucUser, Status},
    ns,
    presence::{Presence, Type as PresenceType},
    stanza_error::StanzaError,
    stanza_id::OriginId,
};

use super::{
    link::Asked,
    rooms::own_id,
    session::{INSTANT_ROOM, Phase, SEND_TIMEOUT, Session},
    storage::Write,
};

impl Session<'_> {
    pub(super) async fn on_message(&mut self, m: Message) {
        let Some(from) = m.from.as_ref() else { return };
        let room = from.to_bare();
        let nick = from.resource().map(|r| r.to_string());
        match m.type_ {
            MessageType::Error => return self.on_refusal(&room, &m).await,
            MessageType::Groupchat => {}
            _ => return,
        }
        if m.bodies.is_empty() && !m.subjects.is_empty() {
            // The subject comes after the history (XEP-0045 7.2.15).
            if matches!(self.rooms.get(&room), Some(r) if matches!(r.phase, Phase::History(_))) {
                self.ready(&room).await;
            }
            return;
        }
        let Some(nick) = nick else {
            return; // from the room itself (notices)
        };
        if nick == self.nick {
            return self.on_reflection(&room, &m).await;
        }
        if m.payloads.iter().any(|p| p.is("delay", ns::DELAY)) {
            return; // history
        }
        let Some((_, body)) = m.get_best_body(vec![]) else {
            return;
        };
        if body.trim().is_empty() {
            return;
        }
        let _ = self.writes.send(Write::Heard {
            room: room.to_string(),
            nick,
            body: body.clone(),
        });
    }

    /// Which of our messages a stanza from `room` is about.
    fn message_id(&self, room: &BareJid, m: &Message) -> Option<i64> {
        let room_id = self.rooms.get(room)?.room_id;
        let origin = m
            .payloads
            .iter()
            .find(|p| p.is("origin-id", ns::SID))
            .and_then(|p| OriginId::try_from(p.clone()).ok())
            .map(|o| o.id);
        origin
            .as_deref()
            .or(m.id.as_ref().map(|id| id.0.as_str()))
            .and_then(|stable| own_id(stable, room_id))
    }

    /// Our own message reflected (live or in the history): now it is surely in the MUC.
    async fn on_reflection(&mut self, room: &BareJid, m: &Message) {
        let Some(id) = self.message_id(room, m) else {
            return;
        };
        self.tokens.remove(&id);
        let Some(r) = self.rooms.get_mut(room) else {
            return;
        };
        let outcome = r.outbox.reflected(id);
        self.record(outcome.into_iter().collect());
        self.flush_room(room).await;
    }

    /// The MUC refused one of our messages.
    async fn on_refusal(&mut self, room: &BareJid, m: &Message) {
        let Some(id) = self.message_id(room, m) else {
            return;
        };
        self.tokens.remove(&id);
        let why = m
            .payloads
            .iter()
            .find(|p| p.is("error", ns::DEFAULT_NS))
            .and_then(|p| StanzaError::try_from(p.clone()).ok())
            .map_or("an error".to_string(), |e| {
                format!("{:?}: {:?}", e.defined_condition, e.texts)
            });
        tracing::warn!(%room, message = id, %why, "the XMPP room refused a message");
        let Some(r) = self.rooms.get_mut(room) else {
            return;
        };
        let outcome = r.outbox.refused(
            id,
            &format!("the XMPP room refused it: {why}"),
            Instant::now(),
        );
        self.record(outcome.into_iter().collect());
        self.flush_room(room).await;
    }

    pub(super) async fn on_presence(&mut self, p: Presence) {
        let Some(from) = p.from.as_ref() else { return };
        let room = from.to_bare();
        if !self.rooms.contains_key(&room)
            || from.resource().map(|r| r.as_str()) != Some(self.nick.as_str())
        {
            return;
        }
        if p.type_ == PresenceType::Error {
            self.state.bridge.error(
                self.state.now(),
                format!("could not join {room}: {:?}", p.payloads),
            );
            return;
        }
        let Some(user) = p
            .payloads
            .iter()
            .find(|e| e.is("x", ns::MUC_USER))
            .and_then(|e| MucUser::try_from(e.clone()).ok())
        else {
            return;
        };
        if !user.status.contains(&Status::SelfPresence) {
            return;
        }
        if p.type_ == PresenceType::Unavailable {
            // Out (kicked, or the MUC went away): what was in flight is unsure until the
            // history of the next join.
            if let Some(r) = self.rooms.get_mut(&room) {
                r.phase = Phase::Out;
                let outcomes = r.outbox.connection_lost(|_| false);
                self.record(outcomes);
            }
        } else {
            if user.status.contains(&Status::RoomHasBeenCreated) {
                self.configure_instant(&room).await;
            }
            if let Some(r) = self.rooms.get_mut(&room)
                && matches!(r.phase, Phase::Out | Phase::Joining)
            {
                r.phase = Phase::History(Instant::now() + super::session::HISTORY_WAIT);
                tracing::info!(%room, "xmpp bridge joined");
            }
        }
        self.publish_rooms();
    }

    /// Unlock a room the bridge just created, with the default configuration; the answer is
    /// heard by the session (`Asked::Configure`).
    async fn configure_instant(&mut self, room: &BareJid) {
        let Ok(form) = INSTANT_ROOM.parse::<Element>() else {
            return;
        };
        let to = Some(Jid::from(room.clone()));
        let ask = self.client.ask(
            to,
            false,
            form,
            Asked::Configure(room.to_string()),
            SEND_TIMEOUT,
        );
        let why = match tokio::time::timeout(SEND_TIMEOUT, ask).await {
            Ok(Ok(())) => return,
            Ok(Err(e)) => e.to_string(),
            Err(_) => format!("not sent within {} s", SEND_TIMEOUT.as_secs()),
        };
        self.state.bridge.error(
            self.state.now(),
            format!("could not configure {room}: {why}"),
        );
    }
}
