//! What the bridge hears from the MUCs: messages (stored and called back, or the reflection
//! of its own) and presences (its joins and leaves).
use tokio_xmpp::{IqRequest, IqResponse, minidom::Element};
use xmpp_parsers::{
    jid::{BareJid, Jid},
    message::{Message, MessageType},
    muc::user::{MucUser, Status},
    ns,
    presence::{Presence, Type as PresenceType},
};

use super::session::{ID_PREFIX, INSTANT_ROOM, SEND_TIMEOUT, Session};
use crate::{domain::chat_bridge, store};

impl Session<'_> {
    pub(super) async fn on_message(&mut self, m: Message) {
        if m.type_ != MessageType::Groupchat {
            return;
        }
        let Some(from) = m.from.as_ref() else { return };
        let room = from.to_bare();
        let Some(nick) = from.resource().map(|r| r.to_string()) else {
            return; // from the room itself (subject, notices)
        };
        if nick == self.nick {
            // Our own message reflected: now it is surely in the MUC.
            if let Some(id) =
                m.id.as_ref()
                    .and_then(|id| id.0.strip_prefix(ID_PREFIX))
                    .and_then(|id| id.parse::<i64>().ok())
            {
                self.in_flight.remove(&id);
                if let Err(e) = store::chat::mark_sent(&self.state.db, id).await {
                    self.state.bridge.error(
                        self.state.now(),
                        format!("cannot mark message {id} sent: {e}"),
                    );
                }
            }
            return;
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
        match chat_bridge::from_xmpp(self.state, &room.to_string(), &nick, body).await {
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(room = %room, error = %e, "message from XMPP not stored");
            }
        }
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
            if let Some(r) = self.rooms.get_mut(&room) {
                r.confirmed = false;
            }
        } else {
            if user.status.contains(&Status::RoomHasBeenCreated) {
                self.configure_instant(&room).await;
            }
            if let Some(r) = self.rooms.get_mut(&room) {
                r.confirmed = true;
            }
            tracing::info!(%room, "xmpp bridge joined");
            self.flush().await;
        }
        self.publish_rooms();
    }

    /// Unlock a room the bridge just created, with the default configuration.
    async fn configure_instant(&mut self, room: &BareJid) {
        let Ok(form) = INSTANT_ROOM.parse::<Element>() else {
            return;
        };
        let token = self
            .client
            .send_iq(Some(Jid::from(room.clone())), IqRequest::Set(form))
            .await;
        let state = self.state.clone();
        let room = room.to_string();
        tokio::spawn(async move {
            match tokio::time::timeout(SEND_TIMEOUT, token).await {
                Ok(Ok(IqResponse::Result(_))) => {}
                other => state.bridge.error(
                    state.now(),
                    format!("could not configure {room}: {other:?}"),
                ),
            }
        });
    }
}
