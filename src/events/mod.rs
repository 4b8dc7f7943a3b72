//! Events: what happened to a room, recorded in the outbox (the `events` table) in the same
//! transaction as the change, then delivered to webhooks and pushed to realtime sockets.
pub mod bus;
pub mod delivery;
pub mod listener;
pub mod payloads;
pub mod tx;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::store::entities::event;

/// Event names: the room events of the xroom manual's Appendix C, booking, session and chat
/// events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    RoomCreated,
    RoomRemoved,
    ClientAdded,
    ClientsRemoved,
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
        EventKind::ClientAdded,
        EventKind::ClientsRemoved,
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
            EventKind::ClientAdded => "clientAdded",
            EventKind::ClientsRemoved => "clientsRemoved",
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
    pub fn from_model(m: event::Model) -> Self {
        Self {
            id: m.id,
            org_id: m.org_id,
            domain_id: m.domain_id,
            domain: m.domain_name,
            room_id: m.room_id,
            room: m.room_name,
            seq: m.seq,
            kind: m.kind,
            payload: serde_json::from_str(&m.payload).unwrap_or(Value::Null),
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
