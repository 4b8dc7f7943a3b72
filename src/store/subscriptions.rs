use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

use super::{
    Window,
    entities::subscription::{ActiveModel, Column, Entity, Model},
    key_pairs,
};

/// A new subscription (active from `started_at`; the id is new).
#[derive(Debug, Clone)]
pub struct NewSubscription {
    pub org_id: Uuid,
    pub reference: String,
    pub email: String,
    pub name: String,
    pub started_at: DateTime<Utc>,
}

pub async fn insert(db: &impl ConnectionTrait, s: NewSubscription) -> Result<Model, DbErr> {
    ActiveModel {
        id: Set(Uuid::new_v4()),
        org_id: Set(s.org_id),
        reference: Set(s.reference),
        email: Set(s.email),
        name: Set(s.name),
        active: Set(true),
        started_at: Set(s.started_at),
        ended_at: Set(None),
    }
    .insert(db)
    .await
}

pub async fn find_in_org(
    db: &impl ConnectionTrait,
    org_id: Uuid,
    id: Uuid,
) -> Result<Option<Model>, DbErr> {
    Entity::find_by_id(id)
        .filter(Column::OrgId.eq(org_id))
        .one(db)
        .await
}

pub async fn find_active_by_ref(
    db: &impl ConnectionTrait,
    org_id: Uuid,
    reference: &str,
) -> Result<Option<Model>, DbErr> {
    Entity::find()
        .filter(Column::OrgId.eq(org_id))
        .filter(Column::Reference.eq(reference))
        .filter(Column::Active.eq(true))
        .one(db)
        .await
}

pub async fn list(
    db: &impl ConnectionTrait,
    org_id: Uuid,
    window: Window,
) -> Result<Vec<Model>, DbErr> {
    Entity::find()
        .filter(Column::OrgId.eq(org_id))
        .order_by_asc(Column::StartedAt)
        .order_by_asc(Column::Id)
        .offset(window.offset)
        .limit(window.limit + 1)
        .all(db)
        .await
}

pub async fn deactivate(
    db: &impl ConnectionTrait,
    s: Model,
    now: DateTime<Utc>,
) -> Result<Model, DbErr> {
    let mut active: ActiveModel = s.into();
    active.active = Set(false);
    active.ended_at = Set(Some(now));
    active.update(db).await
}

/// The active subscriptions with these `(org, ref)` keys, by id; with `lock`, their rows are
/// locked until the transaction ends (in id order, so batches cannot deadlock each other).
pub async fn active_by_refs(
    db: &impl ConnectionTrait,
    keys: &[(Uuid, &str)],
    lock: bool,
) -> Result<Vec<Model>, DbErr> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let mut query = key_pairs::matching(
        Entity::find(),
        Column::OrgId,
        Column::Reference,
        keys.iter().copied(),
    )
    .filter(Column::Active.eq(true))
    .order_by_asc(Column::Id);
    if lock {
        query = query.lock_exclusive();
    }
    query.all(db).await
}
