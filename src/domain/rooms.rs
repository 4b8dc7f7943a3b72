//! Rooms and their peers: the rules of who may enter, with which role, and how many.
//!
//! A room is `domain/name`, type 1 (conference) or 2 (webinar). A locked room admits hosts
//! only; a password (`key`) guards everyone else; a host key makes its bearer a host. In a
//! webinar only hosts speak: everyone else joins as a viewer. Every change to one room runs
//! in a write transaction that locks the room row, so capacity holds under concurrent joins.
use crate::error::Code;
use uuid::Uuid;

pub(super) use super::room_departures::{close_in, end_presence};

use super::{
    audit::{self, Action, AuditAction, By},
    domains, event_payloads, validate,
};
pub use super::{
    room_departures::{destroy, kick},
    room_model::*,
    room_settings::{set_lock, set_password},
};
use crate::{
    auth::{random, seal::Sealer},
    error::{Error, Result},
    events::{EventKind, tx::WriteTx},
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

pub fn open(sealer: &Sealer, purpose: String, sealed: &Option<String>) -> Result<Option<String>> {
    sealed
        .as_deref()
        .map(|s| {
            sealer
                .open_str(&purpose, s)
                .map_err(|e| Error::Internal(anyhow::anyhow!("{purpose}: {e}")))
        })
        .transpose()
}

pub(super) fn view(
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
        lobby: r.lobby,
        capacity: r.capacity,
        created_at: r.created_at,
        updated_at: r.updated_at,
        seq: r.event_seq,
        peers: peers.into_iter().map(PeerView::from).collect(),
    })
}

pub(super) async fn view_with_peers(
    db: &impl store::Conn,
    sealer: &Sealer,
    domain: &str,
    r: room::Model,
) -> Result<RoomView> {
    let peers = store::peers::active_in_rooms(db, &[r.id]).await?;
    view(sealer, domain, r, peers)
}

pub(super) fn capacity(opts: Option<i64>, max: u32) -> Result<i32> {
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

/// Options of a room about to be created, already validated.
#[derive(Debug, Clone)]
pub struct RoomSpec {
    pub room_type: RoomType,
    pub lock: bool,
    pub password: Option<String>,
    pub capacity: i32,
    pub host_key: Option<String>,
    /// A session room (session links) closes when its last peer leaves.
    pub session: bool,
    /// Room-link joins knock and wait to be let in.
    pub lobby: bool,
}

impl RoomSpec {
    /// Validate API-given options (`add_host_key` generates a host key).
    pub fn from_options(opts: &RoomOptions, max_capacity: u32) -> Result<Self> {
        Ok(Self {
            room_type: RoomType::from_code(opts.room_type.unwrap_or(1))?,
            lock: opts.lock.unwrap_or(false),
            password: opts
                .password
                .as_deref()
                .map(|p| validate::password("key", p))
                .transpose()?,
            capacity: capacity(opts.capacity, max_capacity)?,
            host_key: opts.add_host_key.then(new_host_key),
            session: false,
            lobby: opts.lobby.unwrap_or(false),
        })
    }
}

pub fn new_host_key() -> String {
    random::alphanumeric(32)
}

/// A live room the caller's transaction now holds: found open, or opened by it.
pub(super) enum HeldRoom {
    Found(room::Model),
    Opened(room::Model),
}

impl HeldRoom {
    pub(super) fn into_room(self) -> room::Model {
        match self {
            HeldRoom::Found(room) | HeldRoom::Opened(room) => room,
        }
    }
}

/// The one way every surface comes to use a room by name: the live room, locked for this
/// transaction, or, when none is open, a new one opened for `origin` with `spec()` once the
/// creation rules allow it. Concurrent callers take turns on the name (see
/// `store::rooms::lock_live_or_claim`), so the second finds the first's room.
pub(super) async fn find_or_open(
    state: &AppState,
    tx: &mut WriteTx,
    domain: &domain::Model,
    name: &str,
    origin: Origin,
    spec: impl FnOnce() -> Result<RoomSpec>,
) -> Result<HeldRoom> {
    if let Some(room) = store::rooms::lock_live_or_claim(tx.conn(), domain.id, name).await? {
        return Ok(HeldRoom::Found(room));
    }
    let room = open_new(state, tx, domain, name, origin, spec()?).await?;
    Ok(HeldRoom::Opened(room))
}

/// Open a room for `origin` once the creation rules allow it; emits `roomCreated`. A
/// booking opening its own room skips them: they were applied when it was booked.
pub(super) async fn open_new(
    state: &AppState,
    tx: &mut WriteTx,
    domain: &domain::Model,
    name: &str,
    origin: Origin,
    spec: RoomSpec,
) -> Result<room::Model> {
    if !matches!(origin, Origin::Booking(_)) {
        check_creation(tx, domain, name, origin).await?;
    }
    create_in(state, tx, domain, name, spec).await
}

/// Insert a live room and emit `roomCreated`, inside the caller's transaction.
async fn create_in(
    state: &AppState,
    tx: &mut WriteTx,
    domain: &domain::Model,
    name: &str,
    spec: RoomSpec,
) -> Result<room::Model> {
    let exists = || {
        Error::conflict(
            Code::RoomExists,
            format!("the room {}/{name} is already initialised", domain.name),
        )
    };
    if store::rooms::find_live(tx.conn(), domain.id, name, false)
        .await?
        .is_some()
    {
        return Err(exists());
    }
    let now = tx.now();
    let id = Uuid::new_v4();
    let seal = |purpose: String, value: &str| state.sealer.seal_str(&purpose, value);
    let row = store::rooms::NewRoom {
        id,
        domain_id: domain.id,
        name: name.to_string(),
        room_type: spec.room_type.code(),
        is_locked: spec.lock,
        password_sealed: spec
            .password
            .as_deref()
            .map(|p| seal(password_purpose(id), p)),
        host_key_sealed: spec
            .host_key
            .as_deref()
            .map(|k| seal(host_key_purpose(id), k)),
        capacity: spec.capacity,
        kind: if spec.session { "session" } else { "room" }.to_string(),
        lobby: spec.lobby,
        created_at: now,
    };
    // Two concurrent inits both pass the check above; the partial unique index stops one.
    let mut model = store::rooms::insert(tx.conn(), row).await.map_err(|e| {
        if Error::is_unique_violation(&e) {
            exists()
        } else {
            e.into()
        }
    })?;
    let created = view(&state.sealer, &domain.name, model.clone(), Vec::new())?;
    let payload = event_payloads::room_created(&created, spec.host_key.as_deref());
    tx.emit_room(domain, &mut model, EventKind::RoomCreated, payload)
        .await?;
    Ok(model)
}

/// May `origin` create a room `name` in `domain` now? A booking holding the room refuses
/// everyone but the booking itself; a domain may refuse rooms opened by their public link.
async fn check_creation(
    tx: &WriteTx,
    domain: &domain::Model,
    name: &str,
    origin: Origin,
) -> Result<()> {
    if origin == Origin::PublicLink && domain.forbid_non_api_rooms {
        return Err(Error::forbidden(
            Code::RoomCreationForbidden,
            format!("rooms of {} are opened through the API only", domain.name),
        ));
    }
    let holding = store::bookings::holding_room(tx.conn(), domain.id, name).await?;
    match holding.first() {
        Some(b) if origin != Origin::Booking(b.id) => Err(Error::conflict(
            Code::RoomBooked,
            format!(
                "the room {}/{name} is reserved by booking {} ({} from {})",
                domain.name, b.id, b.state, b.start_time
            ),
        )),
        _ => Ok(()),
    }
}

/// Initialise a room for `origin`; emits `roomCreated`. While a booking holds the room, only
/// the client that booked it may, once the booking is active: it gets the booked room back,
/// with the booking's host key when asked (xroom Appendix B).
pub async fn init(
    state: &AppState,
    by: &By,
    origin: Origin,
    domain_name: &str,
    name: &str,
    opts: RoomOptions,
) -> Result<CreatedRoom> {
    let name = validate::room_name("name", name)?;
    let spec = RoomSpec::from_options(&opts, state.config.max_room_capacity)?;
    let mut tx = WriteTx::begin(state).await?;
    let domain = domains::find_model(tx.conn(), by.org_id, domain_name).await?;
    let action = Action::new(AuditAction::RoomCreated, format!("{}/{name}", domain.name));
    audit::write(tx.conn(), tx.now(), by, action).await?;
    if let Origin::Client(client) = origin
        && let Some(booking) =
            super::booked_rooms::active_held_by(&tx, &domain, &name, client).await?
    {
        return super::booked_rooms::init_booked_room(state, tx, &domain, booking, &opts).await;
    }
    let host_key = spec.host_key.clone();
    let model = open_new(state, &mut tx, &domain, &name, origin, spec).await?;
    let room = view(&state.sealer, &domain.name, model, Vec::new())?;
    tx.commit().await?;
    Ok(CreatedRoom { room, host_key })
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
