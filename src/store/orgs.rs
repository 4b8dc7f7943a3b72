use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder,
};
use uuid::Uuid;

use super::entities::organisation::{ActiveModel, Column, Entity, Model};

pub async fn insert(db: &impl ConnectionTrait, org: ActiveModel) -> Result<Model, DbErr> {
    org.insert(db).await
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

pub async fn update(db: &impl ConnectionTrait, org: ActiveModel) -> Result<Model, DbErr> {
    org.update(db).await
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
