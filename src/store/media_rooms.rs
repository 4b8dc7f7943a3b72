//! Media rooms on the Janus SFU and the peers' Janus tokens (see the migration `media_rooms`),
//! and which of them Janus must forget (their meetplane room closed, their peer left).
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QuerySelect,
    QueryTrait, TryInsertResult,
};
use uuid::Uuid;

use super::entities::{media_peer, media_room, peer, room};

/// Insert `row` unless the room has one; returns the room's row either way.
pub async fn insert_room(
    db: &impl ConnectionTrait,
    row: media_room::Model,
) -> Result<media_room::Model, DbErr> {
    let room_id = row.room_id;
    let active: media_room::ActiveModel = row.into();
    let _: TryInsertResult<_> = media_room::Entity::insert(active)
        .on_conflict_do_nothing()
        .exec(db)
        .await?;
    media_room::Entity::find_by_id(room_id)
        .one(db)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("media room".into()))
}

pub async fn find_room(
    db: &impl ConnectionTrait,
    room_id: Uuid,
) -> Result<Option<media_room::Model>, DbErr> {
    media_room::Entity::find_by_id(room_id).one(db).await
}

/// Insert `row` unless the peer has one; returns the peer's row either way.
pub async fn insert_peer(
    db: &impl ConnectionTrait,
    row: media_peer::Model,
) -> Result<media_peer::Model, DbErr> {
    let peer_id = row.peer_id;
    let active: media_peer::ActiveModel = row.into();
    let _: TryInsertResult<_> = media_peer::Entity::insert(active)
        .on_conflict_do_nothing()
        .exec(db)
        .await?;
    media_peer::Entity::find_by_id(peer_id)
        .one(db)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("media peer".into()))
}

pub async fn find_peer(
    db: &impl ConnectionTrait,
    peer_id: Uuid,
) -> Result<Option<media_peer::Model>, DbErr> {
    media_peer::Entity::find_by_id(peer_id).one(db).await
}

/// Media rooms whose meetplane room is closed or gone.
pub async fn rooms_closed(
    db: &impl ConnectionTrait,
    limit: u64,
) -> Result<Vec<media_room::Model>, DbErr> {
    let live = room::Entity::find()
        .select_only()
        .column(room::Column::Id)
        .filter(room::Column::RemovedAt.is_null())
        .into_query();
    media_room::Entity::find()
        .filter(media_room::Column::RoomId.not_in_subquery(live))
        .limit(limit)
        .all(db)
        .await
}

/// Janus tokens of peers that left (or are gone).
pub async fn peers_gone(
    db: &impl ConnectionTrait,
    limit: u64,
) -> Result<Vec<media_peer::Model>, DbErr> {
    let present = peer::Entity::find()
        .select_only()
        .column(peer::Column::Id)
        .filter(peer::Column::LeftAt.is_null())
        .into_query();
    media_peer::Entity::find()
        .filter(media_peer::Column::PeerId.not_in_subquery(present))
        .limit(limit)
        .all(db)
        .await
}

pub async fn all_rooms(db: &impl ConnectionTrait) -> Result<Vec<media_room::Model>, DbErr> {
    media_room::Entity::find().all(db).await
}

pub async fn peers_of(
    db: &impl ConnectionTrait,
    room_id: Uuid,
) -> Result<Vec<media_peer::Model>, DbErr> {
    media_peer::Entity::find()
        .filter(media_peer::Column::RoomId.eq(room_id))
        .all(db)
        .await
}

pub async fn delete_room(db: &impl ConnectionTrait, room_id: Uuid) -> Result<(), DbErr> {
    media_room::Entity::delete_by_id(room_id).exec(db).await?;
    Ok(())
}

pub async fn delete_peer(db: &impl ConnectionTrait, peer_id: Uuid) -> Result<(), DbErr> {
    media_peer::Entity::delete_by_id(peer_id).exec(db).await?;
    Ok(())
}

/// How many media rooms exist.
pub async fn room_count(db: &impl ConnectionTrait) -> Result<u64, DbErr> {
    media_room::Entity::find().count(db).await
}
