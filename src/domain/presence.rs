//! Presence follows connections. A peer is `connected` while it holds a live realtime socket
//! (on any node); an admitted peer that never connects keeps its seat for the connect window,
//! one whose last socket closed (`away`) for the reconnect grace; then the sweeper
//! ([`run_once`]) removes it (`clientsRemoved`, reason `never_connected` or `disconnected`).
//! A waiting peer's knock lapses the same way (`withdrawn`). Connections are rows naming their
//! node, so when a node dies its sockets' rows are seen as dead once its heartbeat stops.
use chrono::{DateTime, TimeDelta, Utc};
use uuid::Uuid;

use super::{event_payloads, room_departures::end_presence, room_model::PeerView};
use crate::{
    error::{Error, Result},
    events::{EventKind, tx::WriteTx},
    state::AppState,
    store::{
        self,
        entities::{domain, peer, peer::PeerState, room},
    },
};

/// A node silent this long is dead: its peers' connections no longer count.
const NODE_SILENCE: TimeDelta = TimeDelta::seconds(5);
/// Lapsed peers removed per pass.
const PER_PASS: u64 = 500;

fn after(now: DateTime<Utc>, wait: std::time::Duration) -> DateTime<Utc> {
    now + TimeDelta::from_std(wait).unwrap_or(TimeDelta::MAX)
}

/// When a peer admitted now loses its seat unless it connects (`None`: never).
pub(super) fn connect_deadline(state: &AppState, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let p = state.config.presence;
    p.tracked().then(|| after(now, p.connect_window))
}

/// When a peer whose last connection dropped now loses its seat (`None`: never).
fn grace_deadline(state: &AppState, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let p = state.config.presence;
    p.tracked().then(|| after(now, p.reconnect_grace))
}

/// The room of `peer` locked for this transaction, with its domain.
async fn lock_room_of(
    tx: &mut WriteTx,
    peer: &peer::Model,
) -> Result<Option<(domain::Model, room::Model)>> {
    let Some(room) = store::rooms::lock_live_by_id(tx.conn(), peer.room_id).await? else {
        return Ok(None);
    };
    let domain = store::domains::find_by_id(tx.conn(), room.domain_id)
        .await?
        .ok_or_else(|| Error::Internal(anyhow::anyhow!("a room without its domain")))?;
    Ok(Some((domain, room)))
}

/// Change a present peer's state; emits `clientUpdated` when it changed.
async fn update(
    tx: &mut WriteTx,
    domain: &domain::Model,
    room: &mut room::Model,
    mut peer: peer::Model,
    to: PeerState,
    connected_at: Option<DateTime<Utc>>,
    seat_until: Option<DateTime<Utc>>,
) -> Result<()> {
    store::presence::set_state(tx.conn(), peer.id, to, connected_at, seat_until).await?;
    if peer.state == to {
        return Ok(());
    }
    peer.state = to;
    peer.connected_at = connected_at.or(peer.connected_at);
    let payload = event_payloads::client_presence(&room.name, &PeerView::from(peer));
    tx.emit_room(domain, room, EventKind::ClientUpdated, payload)
        .await
}

/// A socket of `peer_id` opened on this node: record it and mark the peer connected (a
/// waiting peer stays waiting, its knock held while it is connected). Returns the
/// connection's id for [`disconnected`], and the peer's state now.
pub async fn connected(state: &AppState, peer_id: Uuid) -> Result<(Uuid, PeerState)> {
    let id = Uuid::new_v4();
    let peer_state = connected_as(state, peer_id, id, state.node_id).await?;
    Ok((id, peer_state))
}

/// The node id under which a peer's media connections through Janus are recorded: Janus does
/// not beat, so its connections end when Janus says (events, `listparticipants`, a restart).
pub const JANUS_NODE: Uuid = Uuid::from_u128(0x6a61_6e75_7300_4000_8000_0000_0000_0001);

/// Record connection `id` of `peer_id` served by `node_id` (a second record of the same id is
/// one) and mark the peer connected; returns its state now.
pub async fn connected_as(
    state: &AppState,
    peer_id: Uuid,
    id: Uuid,
    node_id: Uuid,
) -> Result<PeerState> {
    let mut tx = WriteTx::begin(state).await?;
    let now = tx.now();
    let gone = || Error::unauthenticated(crate::error::Code::InvalidPeerToken, "the peer has left");
    let peer = store::presence::find_present(tx.conn(), peer_id)
        .await?
        .ok_or_else(gone)?;
    let (domain, mut room) = lock_room_of(&mut tx, &peer).await?.ok_or_else(gone)?;
    // Read again under the room's lock: a removal may have won the race.
    let peer = store::presence::find_present(tx.conn(), peer_id)
        .await?
        .ok_or_else(gone)?;
    store::presence::open_connection(tx.conn(), id, peer_id, node_id, now).await?;
    let now_state = match peer.state {
        PeerState::Waiting => {
            store::presence::set_state(tx.conn(), peer_id, PeerState::Waiting, None, None).await?;
            PeerState::Waiting
        }
        PeerState::Connected => PeerState::Connected,
        PeerState::Admitted | PeerState::Away => {
            let to = PeerState::Connected;
            update(&mut tx, &domain, &mut room, peer, to, Some(now), None).await?;
            to
        }
    };
    tx.commit().await?;
    Ok(now_state)
}

/// Janus lost every media connection (it restarted): their peers are away unless another
/// connection holds them.
pub async fn janus_lost(state: &AppState) -> Result<usize> {
    let mut tx = WriteTx::begin(state).await?;
    let peers = store::presence::drop_node_connections(tx.conn(), JANUS_NODE).await?;
    for peer_id in &peers {
        dropped(state, &mut tx, *peer_id).await?;
    }
    tx.commit().await?;
    Ok(peers.len())
}

/// A socket recorded by [`connected`] closed. When it was the peer's last, the peer is away
/// (its seat held for the reconnect grace; a waiting peer's knock likewise).
pub async fn disconnected(state: &AppState, connection_id: Uuid) -> Result<()> {
    let mut tx = WriteTx::begin(state).await?;
    let Some(peer_id) = store::presence::close_connection(tx.conn(), connection_id).await? else {
        return Ok(());
    };
    dropped(state, &mut tx, peer_id).await?;
    tx.commit().await
}

/// The peer lost a connection: if none is left, it is away until the grace ends.
async fn dropped(state: &AppState, tx: &mut WriteTx, peer_id: Uuid) -> Result<()> {
    let Some(peer) = store::presence::find_present(tx.conn(), peer_id).await? else {
        return Ok(());
    };
    let Some((domain, mut room)) = lock_room_of(tx, &peer).await? else {
        return Ok(());
    };
    if store::presence::connection_count(tx.conn(), peer_id).await? > 0 {
        return Ok(());
    }
    let Some(peer) = store::presence::find_present(tx.conn(), peer_id).await? else {
        return Ok(());
    };
    let until = grace_deadline(state, tx.now());
    let to = match peer.state {
        PeerState::Waiting => PeerState::Waiting,
        _ => PeerState::Away,
    };
    update(tx, &domain, &mut room, peer, to, None, until).await
}

/// One sweep: forget the connections of dead nodes, then remove peers whose seat or knock
/// lapsed. Returns how many peers left.
pub async fn run_once(state: &AppState) -> Result<usize> {
    let now = state.now();
    let orphaned = {
        let mut tx = WriteTx::begin(state).await?;
        let peers = store::presence::drop_dead_connections(
            tx.conn(),
            state.node_id,
            JANUS_NODE,
            now - NODE_SILENCE,
        )
        .await?;
        for peer_id in &peers {
            dropped(state, &mut tx, *peer_id).await?;
        }
        tx.commit().await?;
        peers.len()
    };
    if orphaned > 0 {
        tracing::info!(
            peers = orphaned,
            "peers lost their connections on a silent node"
        );
    }
    let lapsed = store::presence::lapsed(&state.db, now, PER_PASS).await?;
    let mut by_room: Vec<(Uuid, Vec<Uuid>)> = Vec::new();
    for p in lapsed {
        match by_room.iter_mut().find(|(r, _)| *r == p.room_id) {
            Some((_, ids)) => ids.push(p.id),
            None => by_room.push((p.room_id, vec![p.id])),
        }
    }
    let mut removed = 0;
    for (room_id, ids) in by_room {
        removed += remove_lapsed(state, room_id, &ids).await?;
    }
    Ok(removed)
}

/// Remove those of `ids` whose seat still lapsed once their room is locked.
async fn remove_lapsed(state: &AppState, room_id: Uuid, ids: &[Uuid]) -> Result<usize> {
    let mut tx = WriteTx::begin(state).await?;
    let now = tx.now();
    let Some(mut room) = store::rooms::lock_live_by_id(tx.conn(), room_id).await? else {
        return Ok(0);
    };
    let domain = store::domains::find_by_id(tx.conn(), room.domain_id)
        .await?
        .ok_or_else(|| Error::Internal(anyhow::anyhow!("a room without its domain")))?;
    let present = store::peers::active_in_rooms(tx.conn(), &[room_id]).await?;
    let mut removed = 0;
    for (reason, from) in [
        ("withdrawn", PeerState::Waiting),
        ("never_connected", PeerState::Admitted),
        ("disconnected", PeerState::Away),
    ] {
        let leaving: Vec<peer::Model> = present
            .iter()
            .filter(|p| ids.contains(&p.id) && p.state == from)
            .filter(|p| p.seat_until.is_some_and(|t| t < now))
            .cloned()
            .collect();
        removed += end_presence(&mut tx, &domain, &mut room, leaving, reason)
            .await?
            .len();
    }
    super::sessions::after_departure(&mut tx, &domain, room).await?;
    tx.commit().await?;
    Ok(removed)
}
