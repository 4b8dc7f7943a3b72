use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use uuid::Uuid;

use super::{
    Window,
    entities::domain::{ActiveModel, Column, Entity, Model},
};

pub async fn insert(db: &impl ConnectionTrait, domain: ActiveModel) -> Result<Model, DbErr> {
    domain.insert(db).await
}

pub async fn update(db: &impl ConnectionTrait, domain: ActiveModel) -> Result<Model, DbErr> {
    domain.update(db).await
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
