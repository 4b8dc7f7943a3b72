use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, sea_query::Expr,
};
use uuid::Uuid;

use super::entities::{
    peer::{ActiveModel, Column, Entity, Model},
    room,
};

/// Write these peers (made whole by the caller) in one statement.
pub async fn insert_many(db: &impl ConnectionTrait, rows: Vec<Model>) -> Result<(), DbErr> {
    if rows.is_empty() {
        return Ok(());
    }
    let rows = rows.into_iter().map(|p| ActiveModel::from(p).reset_all());
    Entity::insert_many(rows).exec_without_returning(db).await?;
    Ok(())
}

/// The site user a peer was admitted for, if any (`None` also for an unknown peer).
pub async fn site_user_of(
    db: &impl ConnectionTrait,
    peer_id: Uuid,
) -> Result<Option<String>, DbErr> {
    Ok(Entity::find_by_id(peer_id)
        .one(db)
        .await?
        .and_then(|p| p.site_user_id))
}

/// Peers still in the given rooms, oldest first.
pub async fn active_in_rooms(
    db: &impl ConnectionTrait,
    room_ids: &[Uuid],
) -> Result<Vec<Model>, DbErr> {
    if room_ids.is_empty() {
        return Ok(Vec::new());
    }
    Entity::find()
        .filter(Column::RoomId.is_in(room_ids.iter().copied()))
        .filter(Column::LeftAt.is_null())
        .order_by_asc(Column::JoinedAt)
        .order_by_asc(Column::Id)
        .all(db)
        .await
}

/// End the given peers' presence (only those still present).
pub async fn mark_left(
    db: &impl ConnectionTrait,
    peer_ids: &[Uuid],
    reason: &str,
    now: DateTime<Utc>,
) -> Result<u64, DbErr> {
    if peer_ids.is_empty() {
        return Ok(0);
    }
    let result = Entity::update_many()
        .col_expr(Column::LeftAt, Expr::value(now))
        .col_expr(Column::LeftReason, Expr::value(reason))
        .filter(Column::Id.is_in(peer_ids.iter().copied()))
        .filter(Column::LeftAt.is_null())
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}

/// The present peer holding this token digest, with its room.
pub async fn find_active_by_token(
    db: &impl ConnectionTrait,
    token_hash: &str,
) -> Result<Option<(Model, room::Model)>, DbErr> {
    let found = Entity::find()
        .filter(Column::TokenHash.eq(token_hash))
        .filter(Column::LeftAt.is_null())
        .find_also_related(room::Entity)
        .one(db)
        .await?;
    Ok(found.and_then(|(peer, room)| room.map(|r| (peer, r))))
}

/// Whether anybody ever entered the room (present or since left).
pub async fn anyone_joined(db: &impl ConnectionTrait, room_id: Uuid) -> Result<bool, DbErr> {
    Ok(Entity::find()
        .filter(Column::RoomId.eq(room_id))
        .count(db)
        .await?
        > 0)
}

/// The peers standing for a chat-widget site user, still in live rooms, with their rooms.
pub async fn active_for_site_user(
    db: &impl ConnectionTrait,
    site_user_id: &str,
) -> Result<Vec<(Model, room::Model)>, DbErr> {
    let found = Entity::find()
        .filter(Column::SiteUserId.eq(site_user_id))
        .filter(Column::LeftAt.is_null())
        .find_also_related(room::Entity)
        .filter(room::Column::RemovedAt.is_null())
        .order_by_asc(Column::JoinedAt)
        .all(db)
        .await?;
    Ok(found
        .into_iter()
        .filter_map(|(peer, room)| room.map(|r| (peer, r)))
        .collect())
}
