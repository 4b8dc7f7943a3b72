//! Who enters a room, with which role: the public link (password, host key, lock) or the
//! org's own API client; and leaving. Every admission and departure is an event.
use crate::error::Code;
use subtle::ConstantTimeEq;
use uuid::Uuid;

use super::{
    domains, event_payloads,
    room_model::{Origin, RoomOptions},
    rooms::{
        self, Admitted, HeldRoom, PeerView, Role, RoomSpec, RoomType, end_presence,
        host_key_purpose, lock_room, open, password_purpose, peer_type, view_with_peers,
    },
    validate,
};
use crate::{
    auth::random,
    error::{Error, Result},
    events::{EventKind, tx::WriteTx},
    state::AppState,
    store::{
        self,
        entities::{domain, peer, peer::PeerState, room},
    },
};

/// How a peer asks to enter.
#[derive(Debug, Clone)]
pub enum Entry {
    /// Anyone with the room's link: a host key makes a host; otherwise the lock and password
    /// apply.
    Public {
        password: Option<String>,
        host_key: Option<String>,
    },
    /// The org's own API client admits someone with a chosen role (lock and password do not
    /// apply; capacity does).
    Trusted(Role),
    /// A session link signed by the org's client: its role; the link's digest is kept with
    /// the peer so that a kick can refuse the link afterwards, and its `rtn` (where the peer
    /// returns after the call) so that the join page need trust no other.
    Link {
        role: Role,
        link_hash: String,
        return_url: Option<String>,
        /// The peer knocks and waits in the lobby (a guest where the org's guest lobby is on).
        lobby: bool,
    },
}

impl Entry {
    /// Whether this entry into `room` knocks rather than enters: a guest's session link where
    /// the org has its guest lobby on; a room link (without a host key) into a room with a
    /// lobby, or into a locked room, which lets people knock instead of refusing them.
    fn knocks(&self, room: &room::Model) -> bool {
        match self {
            Entry::Public { host_key: None, .. } => room.lobby || room.is_locked,
            Entry::Link { lobby, .. } => *lobby,
            Entry::Public { .. } | Entry::Trusted(_) => false,
        }
    }
}

fn matches_secret(given: &str, expected: &str) -> bool {
    given.as_bytes().ct_eq(expected.as_bytes()).into()
}

fn decide_role(state: &AppState, room: &room::Model, entry: &Entry) -> Result<Role> {
    match entry {
        Entry::Trusted(role) | Entry::Link { role, .. } => Ok(*role),
        Entry::Public {
            host_key: Some(given),
            ..
        } => {
            let expected = open(
                &state.sealer,
                host_key_purpose(room.id),
                &room.host_key_sealed,
            )?;
            match expected {
                Some(k) if matches_secret(given, &k) => Ok(Role::Host),
                _ => Err(Error::forbidden(
                    Code::InvalidHostKey,
                    "the host key is not valid for this room",
                )),
            }
        }
        // A locked room is knocked on (see `Entry::knocks`); the password still applies.
        Entry::Public { password, .. } => {
            let expected = open(
                &state.sealer,
                password_purpose(room.id),
                &room.password_sealed,
            )?;
            match (expected, password) {
                (None, _) => Ok(Role::User),
                (Some(_), None) => Err(Error::forbidden(
                    Code::PasswordRequired,
                    "the room has a password; pass it as key",
                )),
                (Some(k), Some(given)) if matches_secret(given, &k) => Ok(Role::User),
                (Some(_), Some(_)) => Err(Error::forbidden(
                    Code::InvalidPassword,
                    "the room password is wrong",
                )),
            }
        }
    }
}

/// Admit into a room whose row `tx` holds locked; emits `clientAdded`. Returns the peer and
/// its token; the caller commits (and may record more in the same transaction).
pub(super) async fn admit_in(
    state: &AppState,
    tx: &mut WriteTx,
    domain: &domain::Model,
    room: &mut room::Model,
    display_name: &str,
    entry: &Entry,
    site_user_id: Option<String>,
) -> Result<(PeerView, String)> {
    let (peer, token) = admission(state, room, display_name, entry, site_user_id, tx.now())?;
    store::peers::insert_many(tx.conn(), vec![peer.clone()]).await?;
    let peer = admitted(tx, domain, room, peer).await?;
    Ok((peer, token))
}

/// Decide whether `entry` admits into `room` (whose row the caller holds locked) and make the
/// peer row and its token, without writing anything: the caller writes the row, then calls
/// [`admitted`].
pub(super) fn admission(
    state: &AppState,
    room: &room::Model,
    display_name: &str,
    entry: &Entry,
    site_user_id: Option<String>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(peer::Model, String)> {
    let display_name = display_name_of(display_name)?;
    let role = decide_role(state, room, entry)?;
    let waiting = entry.knocks(room);
    // The headcount on the locked room row (kept with every admission and departure). A
    // knock takes no seat; admitting it checks capacity then.
    let present = room.present_count;
    if !waiting && present >= room.capacity {
        return Err(Error::conflict(
            Code::RoomFull,
            format!(
                "the room is full ({} of {} places taken)",
                present, room.capacity
            ),
        ));
    }
    let room_type = RoomType::from_code(i64::from(room.room_type))?;
    let token = random::token("mppt_");
    let peer = peer::Model {
        id: Uuid::new_v4(),
        room_id: room.id,
        peer_type: peer_type(room_type, role),
        display_name,
        token_hash: random::digest(&token),
        joined_at: now,
        left_at: None,
        left_reason: None,
        link_hash: match entry {
            Entry::Link { link_hash, .. } => Some(link_hash.clone()),
            _ => None,
        },
        site_user_id,
        return_url: match entry {
            Entry::Link { return_url, .. } => return_url.clone(),
            _ => None,
        },
        state: if waiting {
            PeerState::Waiting
        } else {
            PeerState::Admitted
        },
        connected_at: None,
        seat_until: super::presence::connect_deadline(state, now),
    };
    Ok((peer, token))
}

/// A peer's display name as given, checked.
pub(super) fn display_name_of(given: &str) -> Result<String> {
    validate::display_text("displayName", given, 128)
}

/// Count a written admission on the room and emit its `clientAdded`; a knock emits
/// `clientWaiting` and takes no seat.
pub(super) async fn admitted(
    tx: &mut WriteTx,
    domain: &domain::Model,
    room: &mut room::Model,
    peer: peer::Model,
) -> Result<PeerView> {
    let peer = PeerView::from(peer);
    if peer.state == PeerState::Waiting {
        let payload = event_payloads::client_presence(&room.name, &peer);
        tx.emit_room(domain, room, EventKind::ClientWaiting, payload)
            .await?;
        return Ok(peer);
    }
    room.present_count += 1;
    let payload = event_payloads::client_added(&room.name, &peer);
    tx.emit_room(domain, room, EventKind::ClientAdded, payload)
        .await?;
    Ok(peer)
}

async fn admit_locked(
    state: &AppState,
    mut tx: WriteTx,
    domain: &domain::Model,
    mut room: room::Model,
    display_name: &str,
    entry: Entry,
    site_user_id: Option<String>,
) -> Result<Admitted> {
    let (peer, peer_token) = admit_in(
        state,
        &mut tx,
        domain,
        &mut room,
        display_name,
        &entry,
        site_user_id,
    )
    .await?;
    let room = view_with_peers(tx.conn(), &state.sealer, &domain.name, room).await?;
    tx.commit().await?;
    Ok(Admitted {
        peer,
        room,
        peer_token,
    })
}

/// Enter a room through its public link (no API credentials): the domain name is global.
pub async fn join(
    state: &AppState,
    domain_name: &str,
    name: &str,
    display_name: &str,
    entry: Entry,
) -> Result<Admitted> {
    let mut tx = WriteTx::begin(state).await?;
    let domain = domains::find_global(tx.conn(), domain_name)
        .await?
        .ok_or(Error::not_found("room"))?;
    // Where the domain allows rooms outside the API (and no booking holds the name), opening
    // a room's link opens the room, and its opener is the host.
    let default_spec = || {
        validate::room_name("name", name)?;
        display_name_of(display_name)?;
        RoomSpec::from_options(&RoomOptions::default(), state.config.max_room_capacity)
    };
    let held = rooms::find_or_open(
        state,
        &mut tx,
        &domain,
        name,
        Origin::PublicLink,
        default_spec,
    )
    .await
    // For a link, a room that may not open does not exist.
    .map_err(|e| match e {
        Error::Forbidden { .. } => Error::not_found("room"),
        other => other,
    })?;
    let (room, entry) = match held {
        HeldRoom::Found(room) => (room, entry),
        HeldRoom::Opened(room) => (room, Entry::Trusted(Role::Host)),
    };
    admit_locked(state, tx, &domain, room, display_name, entry, None).await
}

/// Admit a peer on behalf of the org's API client; `site_user_id` names the chat-widget user
/// it stands for (whose widget then shows the room's chat).
pub async fn admit(
    state: &AppState,
    org_id: Uuid,
    domain_name: &str,
    name: &str,
    display_name: &str,
    role: Role,
    site_user_id: Option<String>,
) -> Result<Admitted> {
    let site_user_id = site_user_id
        .map(|id| {
            crate::auth::widget_token::user_id_of(&serde_json::Value::String(id))
                .ok_or_else(|| Error::invalid("siteUserId", "must be a short id without commas"))
        })
        .transpose()?;
    let (tx, domain, room) = lock_room(state, org_id, domain_name, name).await?;
    let entry = Entry::Trusted(role);
    admit_locked(state, tx, &domain, room, display_name, entry, site_user_id).await
}

/// The peer holding `token` leaves the room `domain/name`; emits `clientsRemoved`.
pub async fn leave(
    state: &AppState,
    domain_name: &str,
    name: &str,
    token: &str,
) -> Result<PeerView> {
    let mut tx = WriteTx::begin(state).await?;
    let (peer, _) = store::peers::find_active_by_token(tx.conn(), &random::digest(token))
        .await?
        .ok_or_else(|| {
            Error::unauthenticated(
                Code::InvalidPeerToken,
                "the peer token is unknown or has left",
            )
        })?;
    let domain = domains::find_global(tx.conn(), domain_name)
        .await?
        .ok_or_else(|| {
            Error::forbidden(
                Code::PeerNotInRoom,
                "the peer token belongs to another room",
            )
        })?;
    // Lock the room row before changing its peers, like every other room change.
    let mut room = store::rooms::find_live(tx.conn(), domain.id, name, true)
        .await?
        .filter(|r| r.id == peer.room_id)
        .ok_or_else(|| {
            Error::forbidden(
                Code::PeerNotInRoom,
                "the peer token belongs to another room",
            )
        })?;
    // Leaving the lobby withdraws the knock.
    let reason = match peer.state {
        PeerState::Waiting => "withdrawn",
        _ => "left",
    };
    let mut left = end_presence(&mut tx, &domain, &mut room, vec![peer], reason).await?;
    super::sessions::after_departure(&mut tx, &domain, room).await?;
    tx.commit().await?;
    Ok(left.remove(0))
}
