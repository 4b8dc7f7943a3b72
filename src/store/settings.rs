use chrono::{DateTime, Utc};
use sea_orm::{ActiveValue::Set, ConnectionTrait, DbErr, EntityTrait};

use super::entities::server_setting::{self, Entity};

pub async fn get(db: &impl ConnectionTrait, key: &str) -> Result<Option<String>, DbErr> {
    Ok(Entity::find_by_id(key.to_string())
        .one(db)
        .await?
        .map(|m| m.value))
}

/// Store `value` unless the key exists; return the value that is stored afterwards. Two
/// nodes racing to initialise a setting therefore agree on one value.
pub async fn get_or_insert(
    db: &impl ConnectionTrait,
    key: &str,
    value: String,
    now: DateTime<Utc>,
) -> Result<String, DbErr> {
    Entity::insert(server_setting::ActiveModel {
        key: Set(key.to_string()),
        value: Set(value),
        updated_at: Set(now),
    })
    .on_conflict_do_nothing()
    .exec(db)
    .await?;
    get(db, key)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound(format!("server setting {key}")))
}
