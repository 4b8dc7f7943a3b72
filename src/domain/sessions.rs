//! Sessions (Coviu): a call named by the `sid` of its links, living in a room of the org's
//! default domain. Opening a valid session link records a session entry and admits a peer:
//! the owner (an active subscription, not live in another session at the same time) as host,
//! guests as users, within the org's session capacity.
use crate::error::Code;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{
    event_payloads,
    room_model::{Origin, PeerView, RoomType},
    rooms::{self, RoomSpec},
    validate,
};
use crate::{
    auth::{
        random,
        session_link::{LinkClaims, LinkError},
    },
    error::{Error, Result},
    events::{EventKind, tx::WriteTx},
    state::AppState,
    store::{
        self,
        entities::{domain, room, session_entry},
    },
};

/// A session's room name: the `sid` itself when it is a valid room name (a UUID is), else a
/// stable digest of it.
pub fn room_name(sid: &str) -> String {
    match validate::room_name("sid", sid) {
        Ok(name) => name,
        Err(_) => format!("sid-{}", &random::digest(sid)[..40]),
    }
}

pub(super) fn link_error(e: LinkError) -> Error {
    let message = e.to_string();
    match e {
        LinkError::TooLong => Error::bad_request(Code::LinkTooLong, message),
        LinkError::Malformed(_) => Error::bad_request(Code::MalformedLink, message),
        LinkError::UnsupportedAlgorithm(_) => {
            Error::unauthenticated(Code::UnsupportedAlgorithm, message)
        }
        LinkError::BadSignature => Error::unauthenticated(Code::InvalidSignature, message),
        LinkError::Expired(_) => Error::unauthenticated(Code::LinkExpired, message),
        LinkError::NotYetValid(_) => Error::unauthenticated(Code::LinkNotYetValid, message),
        LinkError::MissingClaim(name) | LinkError::InvalidClaim(name, _) => {
            Error::invalid(name, message)
        }
    }
}

/// What opening a link produced.
#[derive(Debug, Clone)]
pub struct Entered {
    pub entry_id: Uuid,
    pub org_id: Uuid,
    pub session_id: String,
    pub role: &'static str,
    pub peer: PeerView,
    pub peer_token: String,
    pub domain: String,
    pub room: String,
}

/// Open the room of a new session; emits `roomCreated` and `sessionStarted`.
pub(super) async fn open_session_room(
    state: &AppState,
    tx: &mut WriteTx,
    domain: &domain::Model,
    name: &str,
    claims: &LinkClaims,
    client_id: Uuid,
    capacity: i32,
) -> Result<room::Model> {
    let spec = RoomSpec {
        room_type: RoomType::Conference,
        lock: false,
        password: None,
        capacity,
        host_key: None,
        session: true,
        lobby: false,
    };
    let origin = Origin::Client(client_id);
    let mut room = rooms::open_new(state, tx, domain, name, origin, spec).await?;
    let payload = event_payloads::session(&claims.sid, name);
    tx.emit_room(domain, &mut room, EventKind::SessionStarted, payload)
        .await?;
    Ok(room)
}

/// After peers left or were removed: a session room that is now empty ends (`roomRemoved`,
/// `sessionEnded`).
pub(super) async fn after_departure(
    tx: &mut WriteTx,
    domain: &domain::Model,
    room: room::Model,
) -> Result<()> {
    if room.kind == "session" && room.present_count == 0 {
        rooms::close_in(tx, domain, room, Vec::new(), "session_ended").await?;
    }
    Ok(())
}

/// `sessionEnded` when a session room closes, however that happens.
pub(super) async fn on_close(
    tx: &mut WriteTx,
    domain: &domain::Model,
    room: &mut room::Model,
) -> Result<()> {
    if room.kind != "session" {
        return Ok(());
    }
    let sid = store::session_entries::session_of_room(tx.conn(), room.id)
        .await?
        .unwrap_or_else(|| room.name.clone());
    let payload = event_payloads::session(&sid, &room.name);
    tx.emit_room(domain, room, EventKind::SessionEnded, payload)
        .await
}

/// A session entry as the Coviu API shows it.
#[derive(Debug, Clone)]
pub struct EntryView {
    pub entry_id: Uuid,
    pub name: String,
    pub access_token: String,
    pub client_id: Uuid,
    pub session_id: String,
    pub org_id: Uuid,
    pub entry_time: DateTime<Utc>,
    pub subscription_id: Uuid,
    pub role: String,
    pub peer_id: Uuid,
    /// `denied` or `withdrawn` when the entry knocked and never got in.
    pub outcome: Option<String>,
}

impl From<session_entry::Model> for EntryView {
    fn from(e: session_entry::Model) -> Self {
        Self {
            entry_id: e.id,
            name: e.name,
            access_token: e.access_token_id,
            client_id: e.client_id,
            session_id: e.session_id,
            org_id: e.org_id,
            entry_time: e.entry_time,
            subscription_id: e.subscription_id,
            role: e.role,
            peer_id: e.peer_id,
            outcome: e.outcome,
        }
    }
}

pub use super::session_entries::{EntryFilter, csv, entries, of_subscription, session};
