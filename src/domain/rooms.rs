//! Rooms and their peers: the rules of who may enter, with which role, and how many.
//!
//! A room is `domain/name`, type 1 (conference) or 2 (webinar). A locked room admits hosts
//! only; a password (`key`) guards everyone else; a host key makes its bearer a host. In a
//! webinar only hosts speak: everyone else joins as a viewer. Every change to one room runs
//! in a write transaction that locks the room row, so capacity holds under concurrent joins.
use sea_orm::{ActiveValue::Set, ConnectionTrait};
use uuid::Uuid;

pub use super::room_model::*;
use super::{domains, validate};
use crate::{
    auth::{random, seal::Sealer},
    error::{Error, Result},
    events::{EventKind, payloads, tx::WriteTx},
    state::AppState,
    store::{
        self, Window,
        entities::{domain, peer, room},
    },
};

pub(super) fn password_purpose(room_id: Uuid) -> String {
    format!("rooms.password:{room_id}")
}
pub(super) fn host_key_purpose(room_id: Uuid) -> String {
    format!("rooms.host_key:{room_id}")
}

pub(super) fn open(
    sealer: &Sealer,
    purpose: String,
    sealed: &Option<String>,
) -> Result<Option<String>> {
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
        seq: r.event_seq,
        peers: peers.into_iter().map(PeerView::from).collect(),
    })
}

pub(super) async fn view_with_peers(
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
pub(super) async fn lock_room(
    state: &AppState,
    org_id: Uuid,
    domain_name: &str,
    name: &str,
) -> Result<(WriteTx, domain::Model, room::Model)> {
    let tx = WriteTx::begin(state).await?;
    let domain = domains::find_model(tx.conn(), org_id, domain_name).await?;
    let room = store::rooms::find_live(tx.conn(), domain.id, name, true)
        .await?
        .ok_or(Error::not_found("room"))?;
    Ok((tx, domain, room))
}

/// Initialise a room; emits `roomCreated`.
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
    let mut tx = WriteTx::begin(state).await?;
    let domain = domains::find_model(tx.conn(), org_id, domain_name).await?;
    let exists = || {
        Error::conflict(
            "room_exists",
            format!("the room {}/{name} is already initialised", domain.name),
        )
    };
    if store::rooms::find_live(tx.conn(), domain.id, &name, false)
        .await?
        .is_some()
    {
        return Err(exists());
    }
    let id = Uuid::new_v4();
    let host_key = opts.add_host_key.then(|| random::alphanumeric(32));
    let seal = |purpose: String, value: &str| state.sealer.seal_str(&purpose, value);
    let row = room::ActiveModel {
        id: Set(id),
        domain_id: Set(domain.id),
        name: Set(name.clone()),
        room_type: Set(room_type.code()),
        is_locked: Set(opts.lock.unwrap_or(false)),
        password_sealed: Set(password.as_deref().map(|p| seal(password_purpose(id), p))),
        host_key_sealed: Set(host_key.as_deref().map(|k| seal(host_key_purpose(id), k))),
        capacity: Set(capacity),
        created_at: Set(now),
        updated_at: Set(now),
        removed_at: Set(None),
        event_seq: Set(0),
    };
    // Two concurrent inits both pass the check above; the partial unique index stops one.
    let mut model = store::rooms::insert(tx.conn(), row).await.map_err(|e| {
        if Error::is_unique_violation(&e) {
            exists()
        } else {
            e.into()
        }
    })?;
    let view_now = view(&state.sealer, &domain.name, model.clone(), Vec::new())?;
    let payload = payloads::room_created(&view_now, host_key.as_deref());
    tx.emit_room(&domain, &mut model, EventKind::RoomCreated, payload)
        .await?;
    tx.commit().await?;
    Ok(CreatedRoom {
        room: RoomView {
            seq: model.event_seq,
            ..view_now
        },
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

/// Change room settings inside the room's lock (no event: the seed has none for this).
async fn update_settings(
    state: &AppState,
    org_id: Uuid,
    domain_name: &str,
    name: &str,
    change: impl FnOnce(&mut room::ActiveModel, Uuid),
) -> Result<RoomView> {
    let (tx, domain, room) = lock_room(state, org_id, domain_name, name).await?;
    let id = room.id;
    let mut active: room::ActiveModel = room.into();
    change(&mut active, id);
    active.updated_at = Set(state.now());
    let room = store::rooms::update(tx.conn(), active).await?;
    let view = view_with_peers(tx.conn(), &state.sealer, &domain.name, room).await?;
    tx.commit().await?;
    Ok(view)
}

pub async fn set_lock(
    state: &AppState,
    org_id: Uuid,
    domain_name: &str,
    name: &str,
    lock: bool,
) -> Result<RoomView> {
    update_settings(state, org_id, domain_name, name, |room, _| {
        room.is_locked = Set(lock);
    })
    .await
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
    let sealer = state.sealer.clone();
    update_settings(state, org_id, domain_name, name, move |room, id| {
        room.password_sealed = Set(password.map(|p| sealer.seal_str(&password_purpose(id), &p)));
    })
    .await
}

/// Remove one peer or everyone; emits `clientsRemoved`. Returns the peers removed.
pub async fn kick(
    state: &AppState,
    org_id: Uuid,
    domain_name: &str,
    name: &str,
    target: KickTarget,
) -> Result<Vec<PeerView>> {
    let (mut tx, domain, mut room) = lock_room(state, org_id, domain_name, name).await?;
    let present = store::peers::active_in_rooms(tx.conn(), &[room.id]).await?;
    let targets: Vec<peer::Model> = match target {
        KickTarget::All => present,
        KickTarget::Peer(id) => vec![
            present
                .into_iter()
                .find(|p| p.id == id)
                .ok_or(Error::not_found("peer"))?,
        ],
    };
    let kicked = end_presence(&mut tx, &domain, &mut room, targets, "kicked").await?;
    tx.commit().await?;
    Ok(kicked)
}

/// End the given peers' presence and emit `clientsRemoved` for them (nothing when none).
pub(super) async fn end_presence(
    tx: &mut WriteTx,
    domain: &domain::Model,
    room: &mut room::Model,
    peers: Vec<peer::Model>,
    reason: &str,
) -> Result<Vec<PeerView>> {
    if peers.is_empty() {
        return Ok(Vec::new());
    }
    let now = tx.now();
    let ids: Vec<Uuid> = peers.iter().map(|p| p.id).collect();
    store::peers::mark_left(tx.conn(), &ids, reason, now).await?;
    let removed: Vec<PeerView> = peers
        .into_iter()
        .map(|p| PeerView {
            left_at: Some(now),
            left_reason: Some(reason.to_string()),
            ..PeerView::from(p)
        })
        .collect();
    let payload = payloads::clients_removed(&room.name, &removed, reason);
    tx.emit_room(domain, room, EventKind::ClientsRemoved, payload)
        .await?;
    Ok(removed)
}

/// Close a room. Refused while peers are in it unless `force_kick`, which removes them first
/// (`clientsRemoved`); then `roomRemoved`. Returns the peers that were removed.
pub async fn destroy(
    state: &AppState,
    org_id: Uuid,
    domain_name: &str,
    name: &str,
    force_kick: bool,
) -> Result<Vec<PeerView>> {
    let (mut tx, domain, mut room) = lock_room(state, org_id, domain_name, name).await?;
    let present = store::peers::active_in_rooms(tx.conn(), &[room.id]).await?;
    if !present.is_empty() && !force_kick {
        return Err(Error::conflict(
            "room_not_empty",
            format!(
                "the room has {} peer(s); remove them first or pass forceKick",
                present.len()
            ),
        ));
    }
    let removed = end_presence(&mut tx, &domain, &mut room, present, "room_closed").await?;
    let payload = payloads::room_removed(&room.name);
    tx.emit_room(&domain, &mut room, EventKind::RoomRemoved, payload)
        .await?;
    let now = tx.now();
    store::rooms::mark_removed(tx.conn(), room, now).await?;
    tx.commit().await?;
    Ok(removed)
}
