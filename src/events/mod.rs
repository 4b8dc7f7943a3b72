//! Events: what happened to a room, recorded in the outbox (the `events` table) in the same
//! transaction as the change, then delivered to webhooks and pushed to realtime sockets.
pub mod bus;
pub mod legacy;
pub mod listener;
pub mod notices;
pub mod payloads;
pub mod routing;
pub mod signal_wire;
pub mod tx;
pub mod webhook_post;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::{auth::seal::Sealer, store::entities::event};

/// Event names: the room events of the xroom manual's Appendix C, booking, session and chat
/// events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    RoomCreated,
    RoomRemoved,
    RoomUpdated,
    ClientAdded,
    ClientsRemoved,
    ClientWaiting,
    ClientUpdated,
    BookingActivated,
    BookingExpired,
    BookingCompleted,
    BookingCancelled,
    SessionStarted,
    SessionEnded,
    ChatMessage,
    DialogMessage,
}

impl EventKind {
    pub const ALL: &'static [EventKind] = &[
        EventKind::RoomCreated,
        EventKind::RoomRemoved,
        EventKind::RoomUpdated,
        EventKind::ClientAdded,
        EventKind::ClientsRemoved,
        EventKind::ClientWaiting,
        EventKind::ClientUpdated,
        EventKind::BookingActivated,
        EventKind::BookingExpired,
        EventKind::BookingCompleted,
        EventKind::BookingCancelled,
        EventKind::SessionStarted,
        EventKind::SessionEnded,
        EventKind::ChatMessage,
        EventKind::DialogMessage,
    ];

    /// The events of the xroom manual (Appendix C): all that webhooks added through its API
    /// receive, besides the validation handshake.
    pub const XROOM: &'static [EventKind] = &[
        EventKind::RoomCreated,
        EventKind::RoomRemoved,
        EventKind::ClientAdded,
        EventKind::ClientsRemoved,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::RoomCreated => "roomCreated",
            EventKind::RoomRemoved => "roomRemoved",
            EventKind::RoomUpdated => "roomUpdated",
            EventKind::ClientAdded => "clientAdded",
            EventKind::ClientsRemoved => "clientsRemoved",
            EventKind::ClientWaiting => "clientWaiting",
            EventKind::ClientUpdated => "clientUpdated",
            EventKind::BookingActivated => "bookingActivated",
            EventKind::BookingExpired => "bookingExpired",
            EventKind::BookingCompleted => "bookingCompleted",
            EventKind::BookingCancelled => "bookingCancelled",
            EventKind::SessionStarted => "sessionStarted",
            EventKind::SessionEnded => "sessionEnded",
            EventKind::ChatMessage => "chatMessage",
            EventKind::DialogMessage => "dialogMessage",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|k| k.as_str() == name)
    }
}

/// A robot webhook that matched an event when it was recorded; robots receive the event over
/// the realtime socket instead of HTTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RobotTarget {
    pub webhook_id: i64,
    pub robot_id: i64,
}

/// A recorded event.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub id: Uuid,
    pub org_id: Uuid,
    pub domain_id: Uuid,
    pub domain: String,
    pub room_id: Option<Uuid>,
    pub room: Option<String>,
    /// Position in the room's event sequence (1, 2, …), so consumers can see a gap; 0 for
    /// events outside a room's sequence (booking events).
    pub seq: i64,
    pub kind: String,
    pub payload: Value,
    pub robots: Vec<RobotTarget>,
    pub created_at: DateTime<Utc>,
}

impl Event {
    /// The event as recorded, its sealed secrets put back into the payload. A row written
    /// before secrets were sealed still carries them in `payload` (until it is healed).
    pub fn from_model(m: event::Model, sealer: &Sealer) -> Self {
        let mut payload = serde_json::from_str(&m.payload).unwrap_or(Value::Null);
        if let Some(sealed) = &m.secrets {
            let opened = sealer
                .open_str(&secrets_purpose(m.id), sealed)
                .ok()
                .and_then(|s| serde_json::from_str(&s).ok());
            match opened {
                Some(secrets) => payloads::put_secrets(&mut payload, secrets),
                None => tracing::warn!(event = %m.id, "cannot open an event's sealed secrets"),
            }
        }
        Self {
            id: m.id,
            org_id: m.org_id,
            domain_id: m.domain_id,
            domain: m.domain_name,
            room_id: m.room_id,
            room: m.room_name,
            seq: m.seq,
            kind: m.kind,
            payload,
            robots: serde_json::from_str(&m.robots).unwrap_or_default(),
            created_at: m.created_at,
        }
    }

    /// `domain/room`, or the domain alone for domain-wide events.
    pub fn order_key(&self) -> String {
        match &self.room {
            Some(room) => format!("{}/{room}", self.domain),
            None => self.domain.clone(),
        }
    }

    /// The body a webhook receives: the seed's `{webhookId, event, domain, payload}`, plus the
    /// event's id, sequence number, room and time so receivers can dedupe and spot gaps.
    pub fn webhook_body(&self, webhook_id: i64) -> Value {
        serde_json::json!({
            "webhookId": webhook_id,
            "event": self.kind,
            "domain": self.domain,
            "payload": self.payload,
            "eventId": self.id,
            "seq": self.seq,
            "room": self.room,
            // Formatted like every other time of the API (RFC 3339, `+00:00`).
            "occurredAt": self.created_at.to_rfc3339(),
        })
    }
}

fn secrets_purpose(event_id: Uuid) -> String {
    format!("events.secrets:{event_id}")
}

/// `payload` as stored for event `id`: text without the secrets, and the secrets sealed.
pub fn seal_secrets(id: Uuid, payload: &Value, sealer: &Sealer) -> (String, Option<String>) {
    let room = payload.get("room").and_then(Value::as_object);
    if !room.is_some_and(|r| payloads::SECRET_FIELDS.iter().any(|f| r.contains_key(*f))) {
        return (payload.to_string(), None);
    }
    let mut stored = payload.clone();
    match payloads::take_secrets(&mut stored) {
        Some(secrets) => (
            stored.to_string(),
            Some(sealer.seal_str(&secrets_purpose(id), &secrets.to_string())),
        ),
        None => (payload.to_string(), None),
    }
}
