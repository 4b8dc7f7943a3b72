use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait,
    QueryFilter, sea_query::Expr,
};
use uuid::Uuid;

use super::entities::{
    api_client, refresh_token,
    token_family::{self, Column, Entity},
};

/// Start a token family of the client (a client_credentials grant), not revoked.
pub async fn insert_family(
    db: &impl ConnectionTrait,
    client_id: Uuid,
    now: DateTime<Utc>,
) -> Result<token_family::Model, DbErr> {
    token_family::ActiveModel {
        id: Set(Uuid::new_v4()),
        client_id: Set(client_id),
        created_at: Set(now),
        revoked_at: Set(None),
        revoke_reason: Set(None),
    }
    .insert(db)
    .await
}

/// A refresh token of a family, unspent, kept as its digest.
#[derive(Debug, Clone)]
pub struct NewRefreshToken {
    pub family_id: Uuid,
    pub token_hash: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

pub async fn insert_refresh(
    db: &impl ConnectionTrait,
    token: NewRefreshToken,
) -> Result<refresh_token::Model, DbErr> {
    refresh_token::ActiveModel {
        id: Set(Uuid::new_v4()),
        family_id: Set(token.family_id),
        token_hash: Set(token.token_hash),
        created_at: Set(token.created_at),
        expires_at: Set(token.expires_at),
        used_at: Set(None),
    }
    .insert(db)
    .await
}

/// The refresh token with this digest and its family.
pub async fn find_refresh(
    db: &impl ConnectionTrait,
    token_hash: &str,
) -> Result<Option<(refresh_token::Model, token_family::Model)>, DbErr> {
    let found = refresh_token::Entity::find()
        .filter(refresh_token::Column::TokenHash.eq(token_hash))
        .find_also_related(Entity)
        .one(db)
        .await?;
    Ok(found.and_then(|(token, family)| family.map(|f| (token, f))))
}

/// Spend a refresh token. Conditional on it being unspent, so of two concurrent uses only one
/// wins; `false` means it was already spent.
pub async fn spend_refresh(
    db: &impl ConnectionTrait,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let result = refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::UsedAt, Expr::value(now))
        .filter(refresh_token::Column::Id.eq(id))
        .filter(refresh_token::Column::UsedAt.is_null())
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

pub async fn revoke_family(
    db: &impl ConnectionTrait,
    id: Uuid,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    Entity::update_many()
        .col_expr(Column::RevokedAt, Expr::value(now))
        .col_expr(Column::RevokeReason, Expr::value(reason))
        .filter(Column::Id.eq(id))
        .filter(Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

pub async fn revoke_families_of_client(
    db: &impl ConnectionTrait,
    client_id: Uuid,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    Entity::update_many()
        .col_expr(Column::RevokedAt, Expr::value(now))
        .col_expr(Column::RevokeReason, Expr::value(reason))
        .filter(Column::ClientId.eq(client_id))
        .filter(Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

/// The family and its client in one query, for checking an access token on every request.
pub async fn family_with_client(
    db: &impl ConnectionTrait,
    family_id: Uuid,
) -> Result<Option<(token_family::Model, api_client::Model)>, DbErr> {
    let found = Entity::find_by_id(family_id)
        .find_also_related(api_client::Entity)
        .one(db)
        .await?;
    Ok(found.and_then(|(family, client)| client.map(|c| (family, c))))
}

/// Delete refresh tokens that expired, or were spent before `spent_before`.
pub async fn prune_refresh(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    spent_before: DateTime<Utc>,
) -> Result<u64, DbErr> {
    let result = refresh_token::Entity::delete_many()
        .filter(
            sea_orm::Condition::any()
                .add(refresh_token::Column::ExpiresAt.lt(now))
                .add(refresh_token::Column::UsedAt.lt(spent_before)),
        )
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}
