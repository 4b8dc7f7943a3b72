use chrono::{DateTime, Utc};
use sea_orm::{ActiveValue::Set, ConnectionTrait, DbErr, EntityTrait, TryInsertResult};
use uuid::Uuid;

use super::entities::seen_salt::{ActiveModel, Entity};

/// Record a salt; `false` when this client used it before.
pub async fn record(
    db: &impl ConnectionTrait,
    client_id: Uuid,
    salt_hash: String,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let result = Entity::insert(ActiveModel {
        client_id: Set(client_id),
        salt_hash: Set(salt_hash),
        seen_at: Set(now),
    })
    .on_conflict_do_nothing()
    .exec(db)
    .await?;
    Ok(!matches!(result, TryInsertResult::Conflicted))
}
