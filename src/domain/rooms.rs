//! Rooms and their peers: the rules of who may enter, with which role, and how many.
//!
//! A room is `domain/name`, type 1 (conference) or 2 (webinar). A locked room admits hosts
//! only; a password (`key`) guards everyone else; a host key makes its bearer a host. In a
//! webinar only hosts speak: everyone else joins as a viewer. Every change to one room runs
//! in a write transaction that locks the room row, so capacity holds under concurrent joins.
use chrono::{DateTime, Utc};
use sea_orm::{ActiveValue::Set, ConnectionTrait, DatabaseTransaction};
use subtle::ConstantTimeEq;
use uuid::Uuid;

use super::{domains, validate};
use crate::{
    auth::{random, seal::Sealer},
    error::{Error, Result},
    state::AppState,
    store::{
        self, Window,
        connect::begin_write,
        entities::{domain, peer, room},
    },
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoomType {
    Conference = 1,
    Webinar = 2,
}

impl RoomType {
    pub fn from_code(code: i64) -> Result<Self> {
        match code {
            1 => Ok(RoomType::Conference),
            2 => Ok(RoomType::Webinar),
            _ => Err(Error::invalid(
                "type",
                "must be 1 (conference) or 2 (webinar)",
            )),
        }
    }
    pub fn code(self) -> i16 {
        self as i16
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Host,
    User,
}

/// Peer type codes of the xroom manual (Appendix A).
pub fn peer_type(room_type: RoomType, role: Role) -> i16 {
    match (room_type, role) {
        (RoomType::Conference, Role::Host) => 1,
        (RoomType::Conference, Role::User) => 2,
        (RoomType::Webinar, Role::Host) => 3,
        (RoomType::Webinar, Role::User) => 4,
    }
}

#[derive(Debug, Clone, Default)]
pub struct RoomOptions {
    pub room_type: Option<i64>,
    pub lock: Option<bool>,
    pub password: Option<String>,
    pub add_host_key: bool,
    pub capacity: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerView {
    pub id: Uuid,
    pub peer_type: i16,
    pub display_name: String,
    pub joined_at: DateTime<Utc>,
    pub left_at: Option<DateTime<Utc>>,
    pub left_reason: Option<String>,
}

impl From<peer::Model> for PeerView {
    fn from(p: peer::Model) -> Self {
        Self {
            id: p.id,
            peer_type: p.peer_type,
            display_name: p.display_name,
            joined_at: p.joined_at,
            left_at: p.left_at,
            left_reason: p.left_reason,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomView {
    pub id: Uuid,
    pub domain: String,
    pub name: String,
    pub room_type: i16,
    pub is_locked: bool,
    pub password: Option<String>,
    pub has_host_key: bool,
    pub capacity: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub peers: Vec<PeerView>,
}

impl RoomView {
    /// The xroom room id, `domain/name`.
    pub fn full_id(&self) -> String {
        format!("{}/{}", self.domain, self.name)
    }
}

#[derive(Debug, Clone)]
pub struct CreatedRoom {
    pub room: RoomView,
    /// Present when a host key was asked for; shown here only.
    pub host_key: Option<String>,
}

/// A peer admitted to a room, with its bearer token (shown once).
#[derive(Debug, Clone)]
pub struct Admitted {
    pub peer: PeerView,
    pub room: RoomView,
    pub peer_token: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KickTarget {
    All,
    Peer(Uuid),
}

fn password_purpose(room_id: Uuid) -> String {
    format!("rooms.password:{room_id}")
}
fn host_key_purpose(room_id: Uuid) -> String {
    format!("rooms.host_key:{room_id}")
}

fn open(sealer: &Sealer, purpose: String, sealed: &Option<String>) -> Result<Option<String>> {
    sealed
        .as_deref()
        .map(|s| {
            sealer
                .open_str(&purpose, s)
                .map_err(|e| Error::Internal(anyhow::anyhow!("{purpose}: {e}")))
        })
        .transpose()
}

fn view(
    sealer: &Sealer,
    domain: &str,
    r: room::Model,
    peers: Vec<peer::Model>,
) -> Result<RoomView> {
    Ok(RoomView {
        password: open(sealer, password_purpose(r.id), &r.password_sealed)?,
        has_host_key: r.host_key_sealed.is_some(),
        id: r.id,
        domain: domain.to_string(),
        name: r.name,
        room_type: r.room_type,
        is_locked: r.is_locked,
        capacity: r.capacity,
        created_at: r.created_at,
        updated_at: r.updated_at,
        peers: peers.into_iter().map(PeerView::from).collect(),
    })
}

async fn view_with_peers(
    db: &impl ConnectionTrait,
    sealer: &Sealer,
    domain: &str,
    r: room::Model,
) -> Result<RoomView> {
    let peers = store::peers::active_in_rooms(db, &[r.id]).await?;
    view(sealer, domain, r, peers)
}

fn capacity(opts: Option<i64>, max: u32) -> Result<i32> {
    let cap = opts.unwrap_or(i64::from(max));
    if cap < 1 || cap > i64::from(max) {
        return Err(Error::invalid(
            "capacity",
            format!("must be between 1 and {max}"),
        ));
    }
    Ok(cap as i32)
}

/// Open a write transaction holding the org's domain and its live room, row-locked.
async fn lock_room(
    state: &AppState,
    org_id: Uuid,
    domain_name: &str,
    name: &str,
) -> Result<(DatabaseTransaction, domain::Model, room::Model)> {
    let txn = begin_write(&state.db).await?;
    let domain = domains::find_model(&txn, org_id, domain_name).await?;
    let room = store::rooms::find_live(&txn, domain.id, name, true)
        .await?
        .ok_or(Error::not_found("room"))?;
    Ok((txn, domain, room))
}

pub async fn init(
    state: &AppState,
    org_id: Uuid,
    domain_name: &str,
    name: &str,
    opts: RoomOptions,
) -> Result<CreatedRoom> {
    let name = validate::room_name("name", name)?;
    let room_type = RoomType::from_code(opts.room_type.unwrap_or(1))?;
    let capacity = capacity(opts.capacity, state.config.max_room_capacity)?;
    let password = opts
        .password
        .as_deref()
        .map(|p| validate::password("key", p))
        .transpose()?;
    let now = state.now();
    let txn = begin_write(&state.db).await?;
    let domain = domains::find_model(&txn, org_id, domain_name).await?;
    if store::rooms::find_live(&txn, domain.id, &name, false)
        .await?
        .is_some()
    {
        return Err(Error::conflict(
            "room_exists",
            format!("the room {}/{name} is already initialised", domain.name),
        ));
    }
    let id = Uuid::new_v4();
    let host_key = opts.add_host_key.then(|| random::alphanumeric(32));
    let model =
        store::rooms::insert(
            &txn,
            room::ActiveModel {
                id: Set(id),
                domain_id: Set(domain.id),
                name: Set(name),
                room_type: Set(room_type.code()),
                is_locked: Set(opts.lock.unwrap_or(false)),
                password_sealed: Set(
                    password.map(|p| state.sealer.seal_str(&password_purpose(id), &p))
                ),
                host_key_sealed: Set(host_key
                    .as_deref()
                    .map(|k| state.sealer.seal_str(&host_key_purpose(id), k))),
                capacity: Set(capacity),
                created_at: Set(now),
                updated_at: Set(now),
                removed_at: Set(None),
            },
        )
        .await
        .map_err(|e| Error::from(e).classify_db())?;
    txn.commit().await?;
    Ok(CreatedRoom {
        room: view(&state.sealer, &domain.name, model, Vec::new())?,
        host_key,
    })
}

pub async fn get(
    state: &AppState,
    org_id: Uuid,
    domain_name: &str,
    name: &str,
) -> Result<RoomView> {
    let domain = domains::find_model(&state.db, org_id, domain_name).await?;
    let room = store::rooms::find_live(&state.db, domain.id, name, false)
        .await?
        .ok_or(Error::not_found("room"))?;
    view_with_peers(&state.db, &state.sealer, &domain.name, room).await
}

pub async fn list(
    state: &AppState,
    org_id: Uuid,
    domain_name: Option<&str>,
    window: Window,
) -> Result<(Vec<RoomView>, bool)> {
    let domain_id = match domain_name {
        Some(d) => Some(domains::find_model(&state.db, org_id, d).await?.id),
        None => None,
    };
    let rows = store::rooms::list_live_for_org(&state.db, org_id, domain_id, window).await?;
    let (rows, more) = window.split(rows);
    let ids: Vec<Uuid> = rows.iter().map(|(r, _)| r.id).collect();
    let mut peers = store::peers::active_in_rooms(&state.db, &ids).await?;
    let views = rows
        .into_iter()
        .map(|(r, domain)| {
            let (mine, rest): (Vec<_>, Vec<_>) = peers.drain(..).partition(|p| p.room_id == r.id);
            peers = rest;
            view(&state.sealer, &domain, r, mine)
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((views, more))
}

pub async fn set_lock(
    state: &AppState,
    org_id: Uuid,
    domain_name: &str,
    name: &str,
    lock: bool,
) -> Result<RoomView> {
    let (txn, domain, room) = lock_room(state, org_id, domain_name, name).await?;
    let mut active: room::ActiveModel = room.into();
    active.is_locked = Set(lock);
    active.updated_at = Set(state.now());
    let room = store::rooms::update(&txn, active).await?;
    let view = view_with_peers(&txn, &state.sealer, &domain.name, room).await?;
    txn.commit().await?;
    Ok(view)
}

/// Set the room password, or remove it with `None`.
pub async fn set_password(
    state: &AppState,
    org_id: Uuid,
    domain_name: &str,
    name: &str,
    password: Option<&str>,
) -> Result<RoomView> {
    let password = password
        .map(|p| validate::password("password", p))
        .transpose()?;
    let (txn, domain, room) = lock_room(state, org_id, domain_name, name).await?;
    let id = room.id;
    let mut active: room::ActiveModel = room.into();
    active.password_sealed =
        Set(password.map(|p| state.sealer.seal_str(&password_purpose(id), &p)));
    active.updated_at = Set(state.now());
    let room = store::rooms::update(&txn, active).await?;
    let view = view_with_peers(&txn, &state.sealer, &domain.name, room).await?;
    txn.commit().await?;
    Ok(view)
}

/// Remove one peer or everyone; returns the peers removed.
pub async fn kick(
    state: &AppState,
    org_id: Uuid,
    domain_name: &str,
    name: &str,
    target: KickTarget,
) -> Result<Vec<PeerView>> {
    let (txn, _domain, room) = lock_room(state, org_id, domain_name, name).await?;
    let present = store::peers::active_in_rooms(&txn, &[room.id]).await?;
    let targets: Vec<peer::Model> = match target {
        KickTarget::All => present,
        KickTarget::Peer(id) => vec![
            present
                .into_iter()
                .find(|p| p.id == id)
                .ok_or(Error::not_found("peer"))?,
        ],
    };
    let kicked = end_presence(&txn, targets, "kicked", state.now()).await?;
    txn.commit().await?;
    Ok(kicked)
}

async fn end_presence(
    db: &impl ConnectionTrait,
    peers: Vec<peer::Model>,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<Vec<PeerView>> {
    let ids: Vec<Uuid> = peers.iter().map(|p| p.id).collect();
    store::peers::mark_left(db, &ids, reason, now).await?;
    Ok(peers
        .into_iter()
        .map(|p| PeerView {
            left_at: Some(now),
            left_reason: Some(reason.to_string()),
            ..PeerView::from(p)
        })
        .collect())
}

/// Close a room. Refused while peers are in it unless `force_kick`, which removes them first.
/// Returns the peers that were removed.
pub async fn destroy(
    state: &AppState,
    org_id: Uuid,
    domain_name: &str,
    name: &str,
    force_kick: bool,
) -> Result<Vec<PeerView>> {
    let (txn, _domain, room) = lock_room(state, org_id, domain_name, name).await?;
    let present = store::peers::active_in_rooms(&txn, &[room.id]).await?;
    if !present.is_empty() && !force_kick {
        return Err(Error::conflict(
            "room_not_empty",
            format!(
                "the room has {} peer(s); remove them first or pass forceKick",
                present.len()
            ),
        ));
    }
    let now = state.now();
    let removed = end_presence(&txn, present, "room_closed", now).await?;
    store::rooms::mark_removed(&txn, room, now).await?;
    txn.commit().await?;
    Ok(removed)
}

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
}

fn matches_secret(given: &str, expected: &str) -> bool {
    given.as_bytes().ct_eq(expected.as_bytes()).into()
}

fn decide_role(state: &AppState, room: &room::Model, entry: &Entry) -> Result<Role> {
    match entry {
        Entry::Trusted(role) => Ok(*role),
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
                    "invalid_host_key",
                    "the host key is not valid for this room",
                )),
            }
        }
        Entry::Public { password, .. } => {
            if room.is_locked {
                return Err(Error::forbidden(
                    "room_locked",
                    "the room is locked; only hosts may enter",
                ));
            }
            let expected = open(
                &state.sealer,
                password_purpose(room.id),
                &room.password_sealed,
            )?;
            match (expected, password) {
                (None, _) => Ok(Role::User),
                (Some(_), None) => Err(Error::forbidden(
                    "password_required",
                    "the room has a password; pass it as key",
                )),
                (Some(k), Some(given)) if matches_secret(given, &k) => Ok(Role::User),
                (Some(_), Some(_)) => Err(Error::forbidden(
                    "invalid_password",
                    "the room password is wrong",
                )),
            }
        }
    }
}

async fn admit_locked(
    state: &AppState,
    txn: DatabaseTransaction,
    domain: &domain::Model,
    room: room::Model,
    display_name: &str,
    entry: Entry,
) -> Result<Admitted> {
    let display_name = validate::display_text("displayName", display_name, 128)?;
    let role = decide_role(state, &room, &entry)?;
    let present = store::peers::count_active(&txn, room.id).await?;
    if present >= room.capacity as u64 {
        return Err(Error::conflict(
            "room_full",
            format!(
                "the room is full ({} of {} places taken)",
                present, room.capacity
            ),
        ));
    }
    let room_type = RoomType::from_code(i64::from(room.room_type))?;
    let token = random::token("mppt_");
    let peer = store::peers::insert(
        &txn,
        peer::ActiveModel {
            id: Set(Uuid::new_v4()),
            room_id: Set(room.id),
            peer_type: Set(peer_type(room_type, role)),
            display_name: Set(display_name),
            token_hash: Set(random::digest(&token)),
            joined_at: Set(state.now()),
            left_at: Set(None),
            left_reason: Set(None),
        },
    )
    .await?;
    let room = view_with_peers(&txn, &state.sealer, &domain.name, room).await?;
    txn.commit().await?;
    Ok(Admitted {
        peer: peer.into(),
        room,
        peer_token: token,
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
    let txn = begin_write(&state.db).await?;
    let domain = store::domains::find_by_name(&txn, &domain_name.to_ascii_lowercase())
        .await?
        .ok_or(Error::not_found("room"))?;
    let room = store::rooms::find_live(&txn, domain.id, name, true)
        .await?
        .ok_or(Error::not_found("room"))?;
    admit_locked(state, txn, &domain, room, display_name, entry).await
}

/// Admit a peer on behalf of the org's API client.
pub async fn admit(
    state: &AppState,
    org_id: Uuid,
    domain_name: &str,
    name: &str,
    display_name: &str,
    role: Role,
) -> Result<Admitted> {
    let (txn, domain, room) = lock_room(state, org_id, domain_name, name).await?;
    admit_locked(
        state,
        txn,
        &domain,
        room,
        display_name,
        Entry::Trusted(role),
    )
    .await
}

/// The peer holding `token` leaves the room `domain/name`.
pub async fn leave(
    state: &AppState,
    domain_name: &str,
    name: &str,
    token: &str,
) -> Result<PeerView> {
    let txn = begin_write(&state.db).await?;
    let (peer, room) = store::peers::find_active_by_token(&txn, &random::digest(token))
        .await?
        .ok_or_else(|| {
            Error::unauthenticated(
                "invalid_peer_token",
                "the peer token is unknown or has left",
            )
        })?;
    let domain = store::domains::find_by_name(&txn, &domain_name.to_ascii_lowercase()).await?;
    if domain.map(|d| d.id) != Some(room.domain_id) || room.name != name {
        return Err(Error::forbidden(
            "peer_not_in_room",
            "the peer token belongs to another room",
        ));
    }
    let mut left = end_presence(&txn, vec![peer], "left", state.now()).await?;
    txn.commit().await?;
    Ok(left.remove(0))
}
