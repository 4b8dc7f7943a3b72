use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DbErr,
    EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

use super::{
    Window,
    entities::link_revocation::{ActiveModel, Column, Entity, Model},
};

/// A revocation as the domain decides it: what it names, why and when (the id is new).
#[derive(Debug, Clone)]
pub struct NewRevocation {
    pub org_id: Uuid,
    pub link_hash: Option<String>,
    pub jti: Option<String>,
    pub session_id: Option<String>,
    pub subscription_id: Option<Uuid>,
    pub issued_before: Option<DateTime<Utc>>,
    pub reason: String,
    pub created_at: DateTime<Utc>,
}

pub async fn insert(db: &impl ConnectionTrait, r: NewRevocation) -> Result<Model, DbErr> {
    ActiveModel {
        id: Set(Uuid::new_v4()),
        org_id: Set(r.org_id),
        link_hash: Set(r.link_hash),
        jti: Set(r.jti),
        session_id: Set(r.session_id),
        subscription_id: Set(r.subscription_id),
        issued_before: Set(r.issued_before),
        reason: Set(r.reason),
        created_at: Set(r.created_at),
    }
    .insert(db)
    .await
}

pub async fn list(
    db: &impl ConnectionTrait,
    org_id: Uuid,
    window: Window,
) -> Result<Vec<Model>, DbErr> {
    Entity::find()
        .filter(Column::OrgId.eq(org_id))
        .order_by_desc(Column::CreatedAt)
        .offset(window.offset)
        .limit(window.limit + 1)
        .all(db)
        .await
}

/// What identifies presented links, for finding the revocations that may apply to them.
#[derive(Debug, Clone, Default)]
pub struct LinkKeys<'a> {
    pub org_ids: Vec<Uuid>,
    pub link_hashes: Vec<&'a str>,
    pub jtis: Vec<&'a str>,
    pub session_ids: Vec<&'a str>,
    pub subscription_ids: Vec<Uuid>,
}

/// Every revocation of these orgs naming one of the links, `jti`s, sessions or subscriptions
/// (whether a cutoff applies is for the caller to judge).
pub async fn naming_any(
    db: &impl ConnectionTrait,
    keys: &LinkKeys<'_>,
) -> Result<Vec<Model>, DbErr> {
    if keys.org_ids.is_empty() {
        return Ok(Vec::new());
    }
    let any = Condition::any()
        .add(Column::LinkHash.is_in(keys.link_hashes.iter().copied()))
        .add(Column::Jti.is_in(keys.jtis.iter().copied()))
        .add(Column::SessionId.is_in(keys.session_ids.iter().copied()))
        .add(Column::SubscriptionId.is_in(keys.subscription_ids.iter().copied()));
    Entity::find()
        .filter(Column::OrgId.is_in(keys.org_ids.iter().copied()))
        .filter(any)
        .all(db)
        .await
}
