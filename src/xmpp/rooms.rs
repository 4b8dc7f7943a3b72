//! The MUCs of a term: following the bindings (join, leave), a join's history, and sending
//! each MUC's due messages.
use std::time::Instant;

use uuid::Uuid;
use xmpp_parsers::{
    jid::{BareJid, Jid},
    message::{Id, Lang, Message},
    muc::{Muc, muc::History},
    presence::Presence,
    stanza_id::OriginId,
};

use super::{
    outbox::Outbox,
    session::{HISTORY_STANZAS, ID_PREFIX, Phase, Room, Session, Unsent},
    storage,
};

impl Session<'_> {
    pub(super) fn publish_rooms(&self) {
        let mut joined: Vec<String> = self
            .rooms
            .iter()
            .filter(|(_, r)| matches!(r.phase, Phase::History(_) | Phase::Ready))
            .map(|(j, _)| j.to_string())
            .collect();
        joined.sort();
        self.state.bridge.update(|s| s.rooms_joined = joined);
    }

    async fn join(&mut self, jid: &BareJid) {
        let Ok(occupant) = jid.with_resource_str(&self.nick) else {
            self.state.bridge.error(
                self.state.now(),
                format!("nick {:?} is not a valid resource", self.nick),
            );
            return;
        };
        // The history tells which of our messages the MUC has (after a lost connection or a
        // restart); what others said there is skipped as old news (it has delay stamps).
        let muc = Muc {
            password: None,
            history: Some(History::new().with_maxstanzas(HISTORY_STANZAS)),
        };
        let presence = Presence::available().with_to(occupant).with_payload(muc);
        if self.send(presence).await.is_ok()
            && let Some(room) = self.rooms.get_mut(jid)
        {
            room.phase = Phase::Joining;
        }
    }

    /// Join every MUC the bridge is not in; with `again`, also those it asked to join and
    /// heard nothing from.
    pub(super) async fn join_all(&mut self, again: bool) {
        let jids: Vec<BareJid> = self
            .rooms
            .iter()
            .filter(|(_, r)| r.phase == Phase::Out || (again && r.phase == Phase::Joining))
            .map(|(j, _)| j.clone())
            .collect();
        for jid in jids {
            if !self.online {
                break;
            }
            self.join(&jid).await;
        }
        self.publish_rooms();
    }

    async fn leave(&mut self, room: &BareJid) {
        if let Ok(occupant) = room.with_resource_str(&self.nick) {
            let presence = Presence::unavailable().with_to(occupant);
            let _ = self.send(presence).await;
        }
    }

    pub(super) async fn leave_all(&mut self) {
        let jids: Vec<BareJid> = self.rooms.keys().cloned().collect();
        for jid in jids {
            if !self.online {
                break;
            }
            self.leave(&jid).await;
        }
    }

    /// Follow what the database has: join new MUCs, leave unbound ones, take in pending
    /// messages, and send.
    pub(super) async fn follow(&mut self, bound: &[storage::Bound]) {
        let gone: Vec<BareJid> = self
            .rooms
            .keys()
            .filter(|j| !bound.iter().any(|b| &b.jid == *j))
            .cloned()
            .collect();
        for jid in gone {
            self.rooms.remove(&jid);
            if self.online {
                self.leave(&jid).await;
            }
        }
        let mut outcomes = Vec::new();
        for b in bound {
            let room = self.rooms.entry(b.jid.clone()).or_insert_with(|| Room {
                room_id: b.room_id,
                phase: Phase::Out,
                outbox: Outbox::default(),
            });
            if room.room_id != b.room_id {
                // Bound anew to another room: its messages are another room's.
                room.room_id = b.room_id;
                room.outbox = Outbox::default();
            }
            outcomes.extend(room.outbox.merge(&b.pending, b.complete));
        }
        self.record(outcomes);
        if self.online {
            self.join_all(false).await;
            self.flush().await;
        } else {
            self.publish_rooms();
        }
    }

    /// Send what is due in every MUC the bridge is ready in.
    pub(super) async fn flush(&mut self) {
        let ready: Vec<BareJid> = self
            .rooms
            .iter()
            .filter(|(_, r)| r.phase == Phase::Ready)
            .map(|(j, _)| j.clone())
            .collect();
        for jid in ready {
            self.flush_room(&jid).await;
        }
    }

    /// Send what is due in one MUC, oldest first. A message that cannot go is tried again
    /// later without holding back the others.
    pub(super) async fn flush_room(&mut self, jid: &BareJid) {
        let now = Instant::now();
        let Some(room) = self.rooms.get(jid).filter(|r| r.phase == Phase::Ready) else {
            return;
        };
        let room_id = room.room_id;
        for (id, text) in room.outbox.due(now) {
            if !self.online {
                return;
            }
            let result = self.send(groupchat(jid, room_id, id, text)).await;
            let Some(room) = self.rooms.get_mut(jid) else {
                return;
            };
            match result {
                Ok(token) => {
                    room.outbox.sent(id, now);
                    self.tokens.insert(id, token);
                }
                Err(Unsent::Refused(why)) => {
                    room.outbox.sent(id, now);
                    let outcome = room.outbox.refused(id, &why, now);
                    self.record(outcome.into_iter().collect());
                }
                Err(Unsent::Offline) => return,
            }
        }
    }

    /// The MUC's history has been read: send what it did not show.
    pub(super) async fn ready(&mut self, jid: &BareJid) {
        let Some(room) = self.rooms.get_mut(jid) else {
            return;
        };
        room.phase = Phase::Ready;
        let outcomes = room.outbox.history_read();
        self.record(outcomes);
        self.flush_room(jid).await;
    }

    /// Deadlines: IQ answers, histories that never ended, messages never reflected, retries.
    pub(super) async fn on_tick(&mut self) {
        let now = Instant::now();
        self.answers_overdue(now);
        let ended: Vec<BareJid> = self
            .rooms
            .iter()
            .filter(|(_, r)| matches!(r.phase, Phase::History(until) if now >= until))
            .map(|(j, _)| j.clone())
            .collect();
        for jid in ended {
            self.ready(&jid).await;
        }
        let mut outcomes = Vec::new();
        for room in self.rooms.values_mut() {
            outcomes.extend(room.outbox.overdue(now));
        }
        self.record(outcomes);
        if self.online {
            self.flush().await;
        }
    }
}

/// A message for a MUC, with the stable id its reflection is recognised by.
fn groupchat(jid: &BareJid, room_id: Uuid, id: i64, text: String) -> Message {
    let stable = format!("{ID_PREFIX}{}-{id}", room_id.simple());
    let mut message = Message::groupchat(Some(Jid::from(jid.clone())));
    message.id = Some(Id(stable.clone()));
    message.bodies.insert(Lang::default(), text);
    message.with_payload(OriginId { id: stable })
}

/// The message id in one of our stable ids for `room_id` (or the bare `mp-{id}` of earlier
/// versions).
pub(super) fn own_id(stable: &str, room_id: Uuid) -> Option<i64> {
    let rest = stable.strip_prefix(ID_PREFIX)?;
    let id = match rest.split_once('-') {
        Some((room, id)) if room == room_id.simple().to_string() => id,
        Some(_) => return None,
        None => rest,
    };
    id.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_ids_name_the_room_and_the_message() {
        let room = Uuid::new_v4();
        let jid = BareJid::new("talk@conference.localhost").unwrap();
        let m = groupchat(&jid, room, 42, "Bob wrote:\nhi".into());
        let stable = m.id.clone().unwrap().0;
        let origin = m
            .payloads
            .iter()
            .find_map(|p| OriginId::try_from(p.clone()).ok())
            .unwrap();
        assert_eq!(origin.id, stable);
        assert_eq!(own_id(&stable, room), Some(42));
        assert_eq!(own_id(&stable, Uuid::new_v4()), None, "another room's");
        assert_eq!(own_id("mp-7", room), Some(7), "an earlier version's");
        assert_eq!(own_id("1234", room), None);
    }
}
