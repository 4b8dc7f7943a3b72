//! Presence: peers' live connections by node, their state and seat deadlines, and the peers
//! whose seats lapsed.
use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Set, TryInsertResult, sea_query::Expr,
};
use uuid::Uuid;

use super::entities::{
    delivery_node,
    peer::{self, PeerState},
    peer_connection::{ActiveModel, Column, Entity, Model},
};

/// Record a live connection of `peer_id` served by `node_id`.
pub async fn open_connection(
    db: &impl ConnectionTrait,
    id: Uuid,
    peer_id: Uuid,
    node_id: Uuid,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    // A connection recorded twice (Janus telling of one PeerConnection again) is one.
    let _: TryInsertResult<_> = Entity::insert(ActiveModel {
        id: Set(id),
        peer_id: Set(peer_id),
        node_id: Set(node_id),
        opened_at: Set(now),
    })
    .on_conflict_do_nothing()
    .exec(db)
    .await?;
    Ok(())
}

/// Forget every connection served by `node_id`; returns the peers that had them.
pub async fn drop_node_connections(
    db: &impl ConnectionTrait,
    node_id: Uuid,
) -> Result<Vec<Uuid>, DbErr> {
    let rows = Entity::find()
        .filter(Column::NodeId.eq(node_id))
        .all(db)
        .await?;
    Entity::delete_many()
        .filter(Column::NodeId.eq(node_id))
        .exec(db)
        .await?;
    let mut peers: Vec<Uuid> = rows.into_iter().map(|c| c.peer_id).collect();
    peers.sort_unstable();
    peers.dedup();
    Ok(peers)
}

/// The connections served by `node_id` of the given peers.
pub async fn node_connections_of(
    db: &impl ConnectionTrait,
    node_id: Uuid,
    peer_ids: &[Uuid],
) -> Result<Vec<Model>, DbErr> {
    Entity::find()
        .filter(Column::NodeId.eq(node_id))
        .filter(Column::PeerId.is_in(peer_ids.iter().copied()))
        .all(db)
        .await
}

/// Every connection served by `node_id`.
pub async fn connections_of_node(
    db: &impl ConnectionTrait,
    node_id: Uuid,
) -> Result<Vec<Model>, DbErr> {
    Entity::find()
        .filter(Column::NodeId.eq(node_id))
        .all(db)
        .await
}

/// How many peers hold a connection served by `node_id`.
pub async fn peers_on_node(db: &impl ConnectionTrait, node_id: Uuid) -> Result<u64, DbErr> {
    let mut peers: Vec<Uuid> = Entity::find()
        .select_only()
        .column(Column::PeerId)
        .filter(Column::NodeId.eq(node_id))
        .into_tuple()
        .all(db)
        .await?;
    peers.sort_unstable();
    peers.dedup();
    Ok(peers.len() as u64)
}

/// Forget a connection; returns its peer (`None` when it was already gone).
pub async fn close_connection(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<Uuid>, DbErr> {
    let Some(row) = Entity::find_by_id(id).one(db).await? else {
        return Ok(None);
    };
    Entity::delete_by_id(id).exec(db).await?;
    Ok(Some(row.peer_id))
}

/// How many live connections the peer holds.
pub async fn connection_count(db: &impl ConnectionTrait, peer_id: Uuid) -> Result<u64, DbErr> {
    Entity::find()
        .filter(Column::PeerId.eq(peer_id))
        .count(db)
        .await
}

/// Forget the connections of nodes that stopped beating (or never beat) since `alive_since`,
/// other than `me` and `beatless` (a server that does not beat, whose connections end by its
/// own word), opened before then; returns the peers that had them.
pub async fn drop_dead_connections(
    db: &impl ConnectionTrait,
    me: Uuid,
    beatless: Uuid,
    alive_since: DateTime<Utc>,
) -> Result<Vec<Uuid>, DbErr> {
    let alive: Vec<Uuid> = delivery_node::Entity::find()
        .select_only()
        .column(delivery_node::Column::Id)
        .filter(delivery_node::Column::HeartbeatAt.gte(alive_since))
        .into_tuple()
        .all(db)
        .await?;
    let dead = Entity::find()
        .filter(Column::NodeId.ne(me))
        .filter(Column::NodeId.ne(beatless))
        .filter(Column::NodeId.is_not_in(alive))
        .filter(Column::OpenedAt.lt(alive_since))
        .all(db)
        .await?;
    if dead.is_empty() {
        return Ok(Vec::new());
    }
    Entity::delete_many()
        .filter(Column::Id.is_in(dead.iter().map(|c| c.id)))
        .exec(db)
        .await?;
    let mut peers: Vec<Uuid> = dead.into_iter().map(|c| c.peer_id).collect();
    peers.sort_unstable();
    peers.dedup();
    Ok(peers)
}

/// Set a present peer's state and seat deadline; `connected_at` is changed only when given.
pub async fn set_state(
    db: &impl ConnectionTrait,
    peer_id: Uuid,
    state: PeerState,
    connected_at: Option<DateTime<Utc>>,
    seat_until: Option<DateTime<Utc>>,
) -> Result<(), DbErr> {
    let mut update = peer::Entity::update_many()
        .col_expr(peer::Column::State, Expr::value(state.as_str()))
        .col_expr(peer::Column::SeatUntil, Expr::value(seat_until));
    if let Some(at) = connected_at {
        update = update.col_expr(peer::Column::ConnectedAt, Expr::value(at));
    }
    update
        .filter(peer::Column::Id.eq(peer_id))
        .filter(peer::Column::LeftAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

/// A present peer by id.
pub async fn find_present(
    db: &impl ConnectionTrait,
    peer_id: Uuid,
) -> Result<Option<peer::Model>, DbErr> {
    peer::Entity::find_by_id(peer_id)
        .filter(peer::Column::LeftAt.is_null())
        .one(db)
        .await
}

/// The present peer a link admitted into a room, if it is still there.
pub async fn find_by_link(
    db: &impl ConnectionTrait,
    room_id: Uuid,
    link_hash: &str,
) -> Result<Option<peer::Model>, DbErr> {
    peer::Entity::find()
        .filter(peer::Column::RoomId.eq(room_id))
        .filter(peer::Column::LinkHash.eq(link_hash))
        .filter(peer::Column::LeftAt.is_null())
        .one(db)
        .await
}

/// Give a present peer a new token (resuming it from its link again).
pub async fn replace_token(
    db: &impl ConnectionTrait,
    peer_id: Uuid,
    token_hash: &str,
) -> Result<(), DbErr> {
    peer::Entity::update_many()
        .col_expr(peer::Column::TokenHash, Expr::value(token_hash))
        .filter(peer::Column::Id.eq(peer_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Present peers whose seat (or knock) lapsed before `now`, oldest deadline first.
pub async fn lapsed(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<peer::Model>, DbErr> {
    peer::Entity::find()
        .filter(peer::Column::LeftAt.is_null())
        .filter(peer::Column::SeatUntil.lt(now))
        .order_by_asc(peer::Column::SeatUntil)
        .limit(limit)
        .all(db)
        .await
}
