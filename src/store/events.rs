use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use uuid::Uuid;

use super::entities::event::{ActiveModel, Column, Entity, Model};

pub async fn insert(db: &impl ConnectionTrait, event: ActiveModel) -> Result<Model, DbErr> {
    event.insert(db).await
}

pub async fn insert_many(db: &impl ConnectionTrait, rows: Vec<ActiveModel>) -> Result<(), DbErr> {
    if rows.is_empty() {
        return Ok(());
    }
    Entity::insert_many(rows).exec_without_returning(db).await?;
    Ok(())
}

pub async fn find(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<Model>, DbErr> {
    Entity::find_by_id(id).one(db).await
}

/// Events created at or after `since`, oldest first, at most `limit`.
pub async fn since(
    db: &impl ConnectionTrait,
    since: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<Model>, DbErr> {
    Entity::find()
        .filter(Column::CreatedAt.gte(since))
        .order_by_asc(Column::CreatedAt)
        .order_by_asc(Column::Seq)
        .limit(limit)
        .all(db)
        .await
}
