use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder,
};
use uuid::Uuid;

use super::entities::organisation::{ActiveModel, Column, Entity, Model};

/// An organisation to create, with its first session settings.
#[derive(Debug, Clone)]
pub struct NewOrg {
    pub name: String,
    pub session_capacity: i32,
    pub allow_rejoin_after_kick: bool,
    pub guest_lobby: bool,
    pub created_at: DateTime<Utc>,
}

pub async fn insert(db: &impl ConnectionTrait, org: NewOrg) -> Result<Model, DbErr> {
    ActiveModel {
        id: Set(Uuid::new_v4()),
        name: Set(org.name),
        session_capacity: Set(org.session_capacity),
        allow_rejoin_after_kick: Set(org.allow_rejoin_after_kick),
        guest_lobby: Set(org.guest_lobby),
        created_at: Set(org.created_at),
    }
    .insert(db)
    .await
}

pub async fn find(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<Model>, DbErr> {
    Entity::find_by_id(id).one(db).await
}

pub async fn find_by_name(db: &impl ConnectionTrait, name: &str) -> Result<Option<Model>, DbErr> {
    Entity::find().filter(Column::Name.eq(name)).one(db).await
}

pub async fn count(db: &impl ConnectionTrait) -> Result<u64, DbErr> {
    Entity::find().count(db).await
}

pub async fn first(db: &impl ConnectionTrait) -> Result<Option<Model>, DbErr> {
    Entity::find().order_by_asc(Column::CreatedAt).one(db).await
}

/// Session settings of an org to change; `None` leaves one as it is.
#[derive(Debug, Clone, Default)]
pub struct OrgSettings {
    pub session_capacity: Option<i32>,
    pub allow_rejoin_after_kick: Option<bool>,
    pub guest_lobby: Option<bool>,
}

pub async fn update_settings(
    db: &impl ConnectionTrait,
    org: Model,
    changes: OrgSettings,
) -> Result<Model, DbErr> {
    let mut active: ActiveModel = org.into();
    if let Some(cap) = changes.session_capacity {
        active.session_capacity = Set(cap);
    }
    if let Some(allow) = changes.allow_rejoin_after_kick {
        active.allow_rejoin_after_kick = Set(allow);
    }
    if let Some(lobby) = changes.guest_lobby {
        active.guest_lobby = Set(lobby);
    }
    active.update(db).await
}

/// The org with its default domain, in one query.
pub async fn with_default_domain(
    db: &impl ConnectionTrait,
    id: Uuid,
) -> Result<Option<(Model, super::entities::domain::Model)>, DbErr> {
    use super::entities::domain;
    let found = Entity::find_by_id(id)
        .find_also_related(domain::Entity)
        .filter(domain::Column::IsDefault.eq(true))
        .one(db)
        .await?;
    Ok(found.and_then(|(org, domain)| domain.map(|d| (org, d))))
}

/// Orgs with their default domains, in one query (for a batch of session links).
pub async fn with_default_domains(
    db: &impl ConnectionTrait,
    ids: &[Uuid],
) -> Result<Vec<(Model, super::entities::domain::Model)>, DbErr> {
    use super::entities::domain;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let found = Entity::find()
        .filter(Column::Id.is_in(ids.iter().copied()))
        .find_also_related(domain::Entity)
        .filter(domain::Column::IsDefault.eq(true))
        .all(db)
        .await?;
    Ok(found
        .into_iter()
        .filter_map(|(org, domain)| domain.map(|d| (org, d)))
        .collect())
}
