//! Who may read the secrets that let their holder in: room passwords, host keys (a host key
//! makes its bearer a host) and domains' webhook keys. The org's API clients and its owners and
//! admins may, since they can change them anyway; a dashboard viewer, who may change nothing,
//! and a room's peers may not. Every surface passes its answers and pushed events through here.
use serde_json::Value;

use super::{
    admins::Role,
    bookings::BookingView,
    principal::{Actor, Principal},
    room_model::RoomView,
};
use crate::events::payloads;

/// Who an answer or a pushed event is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reader {
    Client,
    Admin(Role),
    /// A room's peer or a chat widget's site user.
    Peer,
}

impl From<&Principal> for Reader {
    fn from(p: &Principal) -> Self {
        match &p.actor {
            Actor::Client { .. } => Reader::Client,
            Actor::Admin { role, .. } => Reader::Admin(*role),
        }
    }
}

/// The rule: whether `reader` sees the secrets.
pub fn sees_secrets(reader: Reader) -> bool {
    matches!(
        reader,
        Reader::Client | Reader::Admin(Role::Owner | Role::Admin)
    )
}

/// What of a value is secret.
pub trait Secrets {
    fn hide_secrets(&mut self);
}

/// `value` as `reader` may see it.
pub fn shown_to<T: Secrets>(reader: Reader, mut value: T) -> T {
    if !sees_secrets(reader) {
        value.hide_secrets();
    }
    value
}

impl Secrets for RoomView {
    /// Whether a host key exists stays visible; the key itself is never in a room view.
    fn hide_secrets(&mut self) {
        self.password = None;
    }
}

impl Secrets for BookingView {
    fn hide_secrets(&mut self) {
        self.password = None;
        self.host_key = None;
    }
}

/// An event payload (`roomCreated` carries the room's password and host key).
impl Secrets for Value {
    fn hide_secrets(&mut self) {
        payloads::take_secrets(self);
    }
}

/// A webhook body (`{webhookId, event, domain, payload, …}`), as robots and the delivery log
/// show it.
pub fn webhook_body_shown_to(reader: Reader, mut body: Value) -> Value {
    if !sees_secrets(reader)
        && let Some(payload) = body.get_mut("payload")
    {
        payload.hide_secrets();
    }
    body
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn viewers_and_peers_see_no_secrets_owners_admins_and_clients_do() {
        let payload = json!({"room": {"name": "r", "password": "pw", "hostKey": "hk"}});
        for (reader, sees) in [
            (Reader::Client, true),
            (Reader::Admin(Role::Owner), true),
            (Reader::Admin(Role::Admin), true),
            (Reader::Admin(Role::Viewer), false),
            (Reader::Peer, false),
        ] {
            let shown = shown_to(reader, payload.clone());
            assert_eq!(shown == payload, sees, "{reader:?}: {shown}");
            if !sees {
                assert_eq!(shown, json!({"room": {"name": "r"}}));
                let body = json!({"event": "roomCreated", "payload": payload.clone()});
                let body = webhook_body_shown_to(reader, body);
                assert_eq!(body["payload"], json!({"room": {"name": "r"}}));
            }
        }
    }
}
