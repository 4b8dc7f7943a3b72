//! The bodies meetplane POSTs to webhooks, as schemas: `WebhookEvent` is a union keyed by
//! `event`. They are referenced from `GET …/deliveries/{deliveryId}/body` so that generated
//! clients get typed event handlers.
use chrono::{DateTime, Utc};
use poem_openapi::{Object, Union};
use uuid::Uuid;

/// A room, named within its domain.
#[derive(Debug, Clone, Object)]
pub struct EventRoom {
    pub name: String,
}

/// A room's options when it was created.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct CreatedRoomInfo {
    pub name: String,
    /// 1 conference, 2 webinar.
    #[oai(rename = "type")]
    pub room_type: i16,
    pub capacity: i32,
    pub is_locked: bool,
    #[oai(skip_serializing_if_is_none)]
    pub password: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    pub host_key: Option<String>,
}

/// A peer.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct EventClient {
    pub id: Uuid,
    /// 1 conference host, 2 conference user, 3 webinar host, 4 webinar viewer.
    #[oai(rename = "type")]
    pub peer_type: i16,
    pub display_name: String,
}

#[derive(Debug, Clone, Object)]
pub struct RoomCreatedPayload {
    pub room: CreatedRoomInfo,
}

/// A room's settings after a change (lock, password).
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct UpdatedRoomInfo {
    pub name: String,
    /// 1 conference, 2 webinar.
    #[oai(rename = "type")]
    pub room_type: i16,
    pub capacity: i32,
    pub is_locked: bool,
    /// Whether room-link joins knock in the lobby.
    pub lobby: bool,
    /// Whether the room has a password (never the password itself).
    pub has_password: bool,
}

#[derive(Debug, Clone, Object)]
pub struct RoomUpdatedPayload {
    pub room: UpdatedRoomInfo,
}

#[derive(Debug, Clone, Object)]
pub struct RoomRemovedPayload {
    pub room: EventRoom,
}

#[derive(Debug, Clone, Object)]
pub struct ClientAddedPayload {
    pub room: EventRoom,
    pub client: EventClient,
}

#[derive(Debug, Clone, Object)]
pub struct ClientsRemovedPayload {
    pub room: EventRoom,
    pub clients: Vec<EventClient>,
    /// `left`, `kicked`, `room_closed`, `session_ended`, `ended` (a host ended the meeting),
    /// `disconnected` (its connection dropped and the reconnect grace ran out),
    /// `never_connected` (admitted but never connected within the connect window), `denied`
    /// (a host turned its knock away) or `withdrawn` (it left the lobby).
    pub reason: String,
}

/// A peer with its presence.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct EventPresentClient {
    pub id: Uuid,
    /// 1 conference host, 2 conference user, 3 webinar host, 4 webinar viewer.
    #[oai(rename = "type")]
    pub peer_type: i16,
    pub display_name: String,
    /// `waiting` (in the lobby), `admitted` (not connected yet), `connected` or `away` (its
    /// connection dropped; its seat is held for the reconnect grace).
    pub state: String,
    #[oai(nullable)]
    pub connected_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Object)]
pub struct ClientPresencePayload {
    pub room: EventRoom,
    pub client: EventPresentClient,
}

/// A booking as it is after the change.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct EventBooking {
    pub id: i64,
    pub domain: String,
    pub room_name: String,
    pub start_time: DateTime<Utc>,
    pub end_time: DateTime<Utc>,
    /// `active`, `completed`, `expired` or `cancelled`.
    pub state: String,
}

#[derive(Debug, Clone, Object)]
pub struct BookingPayload {
    pub booking: EventBooking,
}

macro_rules! event_body {
    ($name:ident, $payload:ty, $doc:literal) => {
        #[doc = $doc]
        #[derive(Debug, Clone, Object)]
        #[oai(rename_all = "camelCase")]
        pub struct $name {
            pub webhook_id: i64,
            pub domain: String,
            pub payload: $payload,
            /// Unique id of the event (the same in every webhook's copy).
            pub event_id: Uuid,
            /// The event's number in its room: 1, 2, … A jump means a missed event. Booking
            /// events are outside the room's sequence and carry 0.
            pub seq: i64,
            #[oai(nullable)]
            pub room: Option<String>,
            pub occurred_at: DateTime<Utc>,
        }
    };
}

event_body!(
    RoomCreatedEvent,
    RoomCreatedPayload,
    "A room was initialised."
);
event_body!(
    RoomRemovedEvent,
    RoomRemovedPayload,
    "A room was destroyed."
);
event_body!(
    RoomUpdatedEvent,
    RoomUpdatedPayload,
    "A room's settings changed: locked, unlocked, or its password set or removed."
);
event_body!(
    ClientAddedEvent,
    ClientAddedPayload,
    "A peer entered a room."
);
event_body!(
    ClientsRemovedEvent,
    ClientsRemovedPayload,
    "Peers left, were kicked or the room closed."
);

event_body!(
    ClientWaitingEvent,
    ClientPresencePayload,
    "A peer knocked: it waits in the lobby until a host admits or denies it."
);
event_body!(
    ClientUpdatedEvent,
    ClientPresencePayload,
    "A present peer's state changed (connected, away)."
);

event_body!(
    BookingActivatedEvent,
    BookingPayload,
    "A booking started: its room is open."
);
event_body!(
    BookingExpiredEvent,
    BookingPayload,
    "Nobody came within a booking's grace; its room was released."
);
event_body!(
    BookingCompletedEvent,
    BookingPayload,
    "A booking ended; its room was closed."
);
event_body!(
    BookingCancelledEvent,
    BookingPayload,
    "A booking was cancelled."
);

/// A session (the `sid` of its links).
#[derive(Debug, Clone, Object)]
pub struct EventSession {
    pub id: String,
}

#[derive(Debug, Clone, Object)]
pub struct SessionPayload {
    pub room: EventRoom,
    pub session: EventSession,
}

event_body!(
    SessionStartedEvent,
    SessionPayload,
    "The first session link opened a session's room."
);
event_body!(
    SessionEndedEvent,
    SessionPayload,
    "A session's room closed (its last peer left, or it was destroyed)."
);

/// Who wrote a chat message.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct EventSender {
    /// `peer`, `client` or `xmpp`.
    pub kind: String,
    #[oai(nullable)]
    pub peer_id: Option<Uuid>,
    pub display_name: String,
}

#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct EventMessage {
    pub id: i64,
    pub sender: EventSender,
    pub text: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Object)]
pub struct ChatMessagePayload {
    pub room: EventRoom,
    pub message: EventMessage,
}

event_body!(
    ChatMessageEvent,
    ChatMessagePayload,
    "A message in a room's chat."
);

/// A message of a direct dialog between two site users of a chat widget.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct EventDialogMessage {
    pub id: i64,
    pub dialog_id: i64,
    /// The site user id of the sender.
    pub from: String,
    /// The sender's name from the site's users-info URL (or `User {id}`).
    pub from_name: String,
    pub text: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct DialogMessagePayload {
    pub widget_id: String,
    pub dialog_id: i64,
    /// The dialog's two site user ids.
    pub users: Vec<String>,
    pub message: EventDialogMessage,
}

event_body!(
    DialogMessageEvent,
    DialogMessagePayload,
    "A message in a chat widget's direct dialog (an event of the org's default domain)."
);

/// The body of a webhook delivery, by `event`.
#[derive(Debug, Clone, Union)]
#[oai(discriminator_name = "event")]
pub enum WebhookEvent {
    #[oai(mapping = "roomCreated")]
    RoomCreated(RoomCreatedEvent),
    #[oai(mapping = "roomRemoved")]
    RoomRemoved(RoomRemovedEvent),
    #[oai(mapping = "roomUpdated")]
    RoomUpdated(RoomUpdatedEvent),
    #[oai(mapping = "clientAdded")]
    ClientAdded(ClientAddedEvent),
    #[oai(mapping = "clientsRemoved")]
    ClientsRemoved(ClientsRemovedEvent),
    #[oai(mapping = "clientWaiting")]
    ClientWaiting(ClientWaitingEvent),
    #[oai(mapping = "clientUpdated")]
    ClientUpdated(ClientUpdatedEvent),
    #[oai(mapping = "bookingActivated")]
    BookingActivated(BookingActivatedEvent),
    #[oai(mapping = "bookingExpired")]
    BookingExpired(BookingExpiredEvent),
    #[oai(mapping = "bookingCompleted")]
    BookingCompleted(BookingCompletedEvent),
    #[oai(mapping = "bookingCancelled")]
    BookingCancelled(BookingCancelledEvent),
    #[oai(mapping = "sessionStarted")]
    SessionStarted(SessionStartedEvent),
    #[oai(mapping = "sessionEnded")]
    SessionEnded(SessionEndedEvent),
    #[oai(mapping = "chatMessage")]
    ChatMessage(ChatMessageEvent),
    #[oai(mapping = "dialogMessage")]
    DialogMessage(DialogMessageEvent),
}
