use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

use super::{
    Window,
    entities::domain::{ActiveModel, Column, Entity, Model},
};

/// A domain to register, its webhook key sealed already.
#[derive(Debug, Clone)]
pub struct NewDomain {
    pub id: Uuid,
    pub org_id: Uuid,
    pub name: String,
    pub webhook_key_sealed: String,
    pub forbid_non_api_rooms: bool,
    pub is_default: bool,
    pub created_at: DateTime<Utc>,
}

pub async fn insert(db: &impl ConnectionTrait, domain: NewDomain) -> Result<Model, DbErr> {
    ActiveModel {
        id: Set(domain.id),
        org_id: Set(domain.org_id),
        name: Set(domain.name),
        webhook_key_sealed: Set(domain.webhook_key_sealed),
        forbid_non_api_rooms: Set(domain.forbid_non_api_rooms),
        is_default: Set(domain.is_default),
        created_at: Set(domain.created_at),
        updated_at: Set(domain.created_at),
    }
    .insert(db)
    .await
}

/// Changes to a domain; `None` leaves a column as it is.
#[derive(Debug, Clone, Default)]
pub struct DomainChanges {
    pub forbid_non_api_rooms: Option<bool>,
    pub webhook_key_sealed: Option<String>,
}

/// Change the domain, and its `updated_at` to `now`.
pub async fn update(
    db: &impl ConnectionTrait,
    domain: Model,
    changes: DomainChanges,
    now: DateTime<Utc>,
) -> Result<Model, DbErr> {
    let mut active: ActiveModel = domain.into();
    if let Some(forbid) = changes.forbid_non_api_rooms {
        active.forbid_non_api_rooms = Set(forbid);
    }
    if let Some(sealed) = changes.webhook_key_sealed {
        active.webhook_key_sealed = Set(sealed);
    }
    active.updated_at = Set(now);
    active.update(db).await
}

pub async fn find_by_name(db: &impl ConnectionTrait, name: &str) -> Result<Option<Model>, DbErr> {
    Entity::find().filter(Column::Name.eq(name)).one(db).await
}

pub async fn find_in_org(
    db: &impl ConnectionTrait,
    org_id: Uuid,
    name: &str,
) -> Result<Option<Model>, DbErr> {
    Entity::find()
        .filter(Column::OrgId.eq(org_id))
        .filter(Column::Name.eq(name))
        .one(db)
        .await
}

pub async fn list_for_org(
    db: &impl ConnectionTrait,
    org_id: Uuid,
    window: Window,
) -> Result<Vec<Model>, DbErr> {
    Entity::find()
        .filter(Column::OrgId.eq(org_id))
        .order_by_asc(Column::Name)
        .offset(window.offset)
        .limit(window.limit + 1)
        .all(db)
        .await
}

/// Those of `ids` that belong to the org, in one query.
pub async fn find_many_in_org(
    db: &impl ConnectionTrait,
    org_id: Uuid,
    ids: &[Uuid],
) -> Result<Vec<Model>, DbErr> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Entity::find()
        .filter(Column::OrgId.eq(org_id))
        .filter(Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await
}

pub async fn find_by_id(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<Model>, DbErr> {
    Entity::find_by_id(id).one(db).await
}

/// Lock a domain row for this transaction (serialises bookings of the domain's rooms).
pub async fn lock(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<Model>, DbErr> {
    Entity::find_by_id(id).lock_exclusive().one(db).await
}
