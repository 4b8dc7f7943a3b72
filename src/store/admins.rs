use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, sea_query::Expr,
};
use uuid::Uuid;

use super::entities::{
    admin_login_failure, admin_session,
    admin_user::{ActiveModel, Column, Entity, Model},
};

/// An admin user to create, enabled, with the argon2id hash of its password.
#[derive(Debug, Clone)]
pub struct NewAdmin {
    pub org_id: Uuid,
    pub email: String,
    pub password_hash: String,
    pub role: String,
    pub created_at: DateTime<Utc>,
}

pub async fn insert(db: &impl ConnectionTrait, user: NewAdmin) -> Result<Model, DbErr> {
    ActiveModel {
        id: Set(Uuid::new_v4()),
        org_id: Set(user.org_id),
        email: Set(user.email),
        password_hash: Set(user.password_hash),
        role: Set(user.role),
        created_at: Set(user.created_at),
        disabled_at: Set(None),
    }
    .insert(db)
    .await
}

pub async fn find_by_email(db: &impl ConnectionTrait, email: &str) -> Result<Option<Model>, DbErr> {
    Entity::find().filter(Column::Email.eq(email)).one(db).await
}

pub async fn find(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<Model>, DbErr> {
    Entity::find_by_id(id).one(db).await
}

pub async fn list_for_org(db: &impl ConnectionTrait, org_id: Uuid) -> Result<Vec<Model>, DbErr> {
    Entity::find()
        .filter(Column::OrgId.eq(org_id))
        .order_by_asc(Column::CreatedAt)
        .order_by_asc(Column::Id)
        .all(db)
        .await
}

/// The org's active owners, locked until the transaction ends (`FOR UPDATE` on Postgres; a
/// SQLite write transaction holds the whole database). In id order, so that two removals
/// lock them in the same order; one that waited reads the owners the other left.
pub async fn lock_active_owners(
    db: &impl ConnectionTrait,
    org_id: Uuid,
) -> Result<Vec<Model>, DbErr> {
    Entity::find()
        .filter(Column::OrgId.eq(org_id))
        .filter(Column::Role.eq("owner"))
        .filter(Column::DisabledAt.is_null())
        .order_by_asc(Column::Id)
        .lock_exclusive()
        .all(db)
        .await
}

pub async fn disable(db: &impl ConnectionTrait, id: Uuid, now: DateTime<Utc>) -> Result<(), DbErr> {
    Entity::update_many()
        .col_expr(Column::DisabledAt, Expr::value(now))
        .filter(Column::Id.eq(id))
        .filter(Column::DisabledAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

/// A new dashboard session (the id is new); only the token's digest is kept.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub admin_id: Uuid,
    pub token_hash: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub source_ip: Option<String>,
}

pub async fn insert_session(
    db: &impl ConnectionTrait,
    s: NewSession,
) -> Result<admin_session::Model, DbErr> {
    admin_session::ActiveModel {
        id: sea_orm::ActiveValue::Set(Uuid::new_v4()),
        admin_id: sea_orm::ActiveValue::Set(s.admin_id),
        token_hash: sea_orm::ActiveValue::Set(s.token_hash),
        created_at: sea_orm::ActiveValue::Set(s.created_at),
        expires_at: sea_orm::ActiveValue::Set(s.expires_at),
        source_ip: sea_orm::ActiveValue::Set(s.source_ip),
    }
    .insert(db)
    .await
}

/// A session by the digest of its cookie value, with its admin user.
pub async fn find_session(
    db: &impl ConnectionTrait,
    token_hash: &str,
) -> Result<Option<(admin_session::Model, Model)>, DbErr> {
    let found = admin_session::Entity::find()
        .filter(admin_session::Column::TokenHash.eq(token_hash))
        .find_also_related(Entity)
        .one(db)
        .await?;
    Ok(found.and_then(|(session, user)| user.map(|u| (session, u))))
}

/// Delete a session; returns its admin user, if it existed.
pub async fn delete_session(
    db: &impl ConnectionTrait,
    token_hash: &str,
) -> Result<Option<Uuid>, DbErr> {
    let found = admin_session::Entity::find()
        .filter(admin_session::Column::TokenHash.eq(token_hash))
        .one(db)
        .await?;
    admin_session::Entity::delete_many()
        .filter(admin_session::Column::TokenHash.eq(token_hash))
        .exec(db)
        .await?;
    Ok(found.map(|s| s.admin_id))
}

pub async fn delete_sessions_of(db: &impl ConnectionTrait, admin_id: Uuid) -> Result<(), DbErr> {
    admin_session::Entity::delete_many()
        .filter(admin_session::Column::AdminId.eq(admin_id))
        .exec(db)
        .await?;
    Ok(())
}

pub async fn record_failure(
    db: &impl ConnectionTrait,
    email: &str,
    source_ip: &str,
    at: DateTime<Utc>,
) -> Result<(), DbErr> {
    admin_login_failure::ActiveModel {
        email: sea_orm::ActiveValue::Set(email.to_string()),
        source_ip: sea_orm::ActiveValue::Set(source_ip.to_string()),
        at: sea_orm::ActiveValue::Set(at),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

/// Whose failed sign-ins to count: an email's, or an address's.
#[derive(Debug, Clone, Copy)]
pub enum FailuresOf<'a> {
    Email(&'a str),
    Address(&'a str),
}

/// Failures since `since` of one email or address, oldest first (the window reopens when the
/// oldest ages out).
pub async fn recent_failures(
    db: &impl ConnectionTrait,
    of: FailuresOf<'_>,
    since: DateTime<Utc>,
) -> Result<Vec<DateTime<Utc>>, DbErr> {
    let (column, value) = match of {
        FailuresOf::Email(email) => (admin_login_failure::Column::Email, email),
        FailuresOf::Address(address) => (admin_login_failure::Column::SourceIp, address),
    };
    admin_login_failure::Entity::find()
        .select_only()
        .column(admin_login_failure::Column::At)
        .filter(column.eq(value))
        .filter(admin_login_failure::Column::At.gt(since))
        .order_by_asc(admin_login_failure::Column::At)
        .into_tuple()
        .all(db)
        .await
}

pub async fn clear_failures(db: &impl ConnectionTrait, email: &str) -> Result<(), DbErr> {
    admin_login_failure::Entity::delete_many()
        .filter(admin_login_failure::Column::Email.eq(email))
        .exec(db)
        .await?;
    Ok(())
}

/// Housekeeping: expired sessions and failures older than `before`.
pub async fn purge(db: &impl ConnectionTrait, before: DateTime<Utc>) -> Result<u64, DbErr> {
    let sessions = admin_session::Entity::delete_many()
        .filter(admin_session::Column::ExpiresAt.lt(before))
        .exec(db)
        .await?;
    let failures = admin_login_failure::Entity::delete_many()
        .filter(admin_login_failure::Column::At.lt(before))
        .exec(db)
        .await?;
    Ok(sessions.rows_affected + failures.rows_affected)
}
