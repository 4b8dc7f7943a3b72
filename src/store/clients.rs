use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, sea_query::Expr,
};
use uuid::Uuid;

use super::{
    Window,
    entities::api_client::{ActiveModel, Column, Entity, Model},
};

/// An API client to create, its secret sealed already; it gets a fresh api key.
#[derive(Debug, Clone)]
pub struct NewClient {
    pub id: Uuid,
    pub org_id: Uuid,
    pub name: String,
    pub secret_sealed: String,
    pub created_at: DateTime<Utc>,
}

pub async fn insert(db: &impl ConnectionTrait, client: NewClient) -> Result<Model, DbErr> {
    ActiveModel {
        id: Set(client.id),
        org_id: Set(client.org_id),
        name: Set(client.name),
        api_key: Set(Uuid::new_v4().to_string()),
        secret_sealed: Set(client.secret_sealed),
        created_at: Set(client.created_at),
        revoked_at: Set(None),
    }
    .insert(db)
    .await
}

pub async fn find(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<Model>, DbErr> {
    Entity::find_by_id(id).one(db).await
}

pub async fn find_by_api_key(
    db: &impl ConnectionTrait,
    api_key: &str,
) -> Result<Option<Model>, DbErr> {
    Entity::find()
        .filter(Column::ApiKey.eq(api_key))
        .one(db)
        .await
}

/// The clients with these API keys (for a batch of session links).
pub async fn find_by_api_keys(
    db: &impl ConnectionTrait,
    api_keys: &[&str],
) -> Result<Vec<Model>, DbErr> {
    if api_keys.is_empty() {
        return Ok(Vec::new());
    }
    Entity::find()
        .filter(Column::ApiKey.is_in(api_keys.iter().copied()))
        .all(db)
        .await
}

pub async fn list_for_org(
    db: &impl ConnectionTrait,
    org_id: Uuid,
    window: Window,
) -> Result<Vec<Model>, DbErr> {
    Entity::find()
        .filter(Column::OrgId.eq(org_id))
        .order_by_asc(Column::CreatedAt)
        .order_by_asc(Column::Id)
        .offset(window.offset)
        .limit(window.limit + 1)
        .all(db)
        .await
}

/// Mark revoked (once; the first revocation time is kept).
pub async fn revoke(db: &impl ConnectionTrait, id: Uuid, now: DateTime<Utc>) -> Result<(), DbErr> {
    Entity::update_many()
        .col_expr(Column::RevokedAt, Expr::value(now))
        .filter(Column::Id.eq(id))
        .filter(Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

/// Every client that is not revoked (the chat bridge tries their secrets).
pub async fn all_active(db: &impl ConnectionTrait) -> Result<Vec<Model>, DbErr> {
    Entity::find()
        .filter(Column::RevokedAt.is_null())
        .order_by_asc(Column::CreatedAt)
        .all(db)
        .await
}
