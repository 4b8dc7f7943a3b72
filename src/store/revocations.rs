use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
};
use uuid::Uuid;

use super::{
    Window,
    entities::link_revocation::{ActiveModel, Column, Entity, Model},
};

pub async fn insert(db: &impl ConnectionTrait, r: ActiveModel) -> Result<Model, DbErr> {
    r.insert(db).await
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
