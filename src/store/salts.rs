use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect,
    QueryTrait, TryInsertResult,
};
use uuid::Uuid;

use super::entities::{
    api_client,
    seen_salt::{ActiveModel, Column, Entity},
};

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

/// Forget the salts of revoked clients.
pub async fn prune_revoked_clients(db: &impl ConnectionTrait) -> Result<u64, DbErr> {
    let revoked = api_client::Entity::find()
        .select_only()
        .column(api_client::Column::Id)
        .filter(api_client::Column::RevokedAt.is_not_null())
        .into_query();
    let result = Entity::delete_many()
        .filter(Column::ClientId.in_subquery(revoked))
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}
