//! Stored answers to requests sent with an Idempotency-Key.
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait,
    QueryFilter,
};

use super::entities::idempotency_key::{ActiveModel, Column, Entity, Model};

/// Claim a key, with no answer yet; a unique violation means another request holds it
/// already.
pub async fn insert(
    db: &impl ConnectionTrait,
    scope: &str,
    key: &str,
    request_hash: &str,
    now: DateTime<Utc>,
) -> Result<Model, DbErr> {
    ActiveModel {
        scope: Set(scope.to_string()),
        key: Set(key.to_string()),
        request_hash: Set(request_hash.to_string()),
        status_code: Set(None),
        content_type: Set(None),
        location: Set(None),
        body: Set(None),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
}

pub async fn find(
    db: &impl ConnectionTrait,
    scope: &str,
    key: &str,
) -> Result<Option<Model>, DbErr> {
    Entity::find()
        .filter(Column::Scope.eq(scope))
        .filter(Column::Key.eq(key))
        .one(db)
        .await
}

/// The answer kept for replays of a claimed key.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status_code: i32,
    pub content_type: Option<String>,
    pub location: Option<String>,
    /// The body, sealed.
    pub body: String,
}

pub async fn complete(db: &impl ConnectionTrait, id: i64, answer: Answer) -> Result<Model, DbErr> {
    ActiveModel {
        id: Set(id),
        status_code: Set(Some(answer.status_code)),
        content_type: Set(answer.content_type),
        location: Set(answer.location),
        body: Set(Some(answer.body)),
        ..Default::default()
    }
    .update(db)
    .await
}

pub async fn delete(db: &impl ConnectionTrait, id: i64) -> Result<(), DbErr> {
    Entity::delete_by_id(id).exec(db).await?;
    Ok(())
}

/// Forget keys created before `cutoff`.
pub async fn purge(db: &impl ConnectionTrait, cutoff: DateTime<Utc>) -> Result<u64, DbErr> {
    Ok(Entity::delete_many()
        .filter(Column::CreatedAt.lt(cutoff))
        .exec(db)
        .await?
        .rows_affected)
}
