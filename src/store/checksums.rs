//! Chat-bridge checksums already accepted (seed 000 has no nonce: the checksum, which covers
//! the body and a timestamp, is what must not come twice).
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter,
    TryInsertResult,
};

use super::entities::seen_checksum::{ActiveModel, Column, Entity};

/// Record a checksum's digest; `false` when it was recorded before.
pub async fn record(
    db: &impl ConnectionTrait,
    digest: String,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let result = Entity::insert(ActiveModel {
        digest: Set(digest),
        seen_at: Set(now),
    })
    .on_conflict_do_nothing()
    .exec(db)
    .await?;
    Ok(!matches!(result, TryInsertResult::Conflicted))
}

/// Forget checksums seen before `before` (they can no longer be valid).
pub async fn prune(db: &impl ConnectionTrait, before: DateTime<Utc>) -> Result<u64, DbErr> {
    let result = Entity::delete_many()
        .filter(Column::SeenAt.lt(before))
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}
