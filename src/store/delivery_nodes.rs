//! Delivery nodes' heartbeats: a node holding delivery leases beats its row; a lease whose
//! node has not beaten lately (or has no row) is free (see `deliveries::claim`).
use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set, sea_query::OnConflict,
};
use uuid::Uuid;

use super::entities::delivery_node::{ActiveModel, Column, Entity};

/// Say that node `id` is alive at `now` (registering it on its first beat).
pub async fn beat(db: &impl ConnectionTrait, id: Uuid, now: DateTime<Utc>) -> Result<(), DbErr> {
    Entity::insert(ActiveModel {
        id: Set(id),
        started_at: Set(now),
        heartbeat_at: Set(now),
    })
    .on_conflict(
        OnConflict::column(Column::Id)
            .update_column(Column::HeartbeatAt)
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// Forget nodes that have not beaten since `before` (their leases are free either way).
pub async fn forget_silent(db: &impl ConnectionTrait, before: DateTime<Utc>) -> Result<u64, DbErr> {
    let done = Entity::delete_many()
        .filter(Column::HeartbeatAt.lt(before))
        .exec(db)
        .await?;
    Ok(done.rows_affected)
}

/// A node that stops: its row goes, so nothing it still held waits for its silence.
pub async fn remove(db: &impl ConnectionTrait, id: Uuid) -> Result<(), DbErr> {
    Entity::delete_by_id(id).exec(db).await?;
    Ok(())
}
