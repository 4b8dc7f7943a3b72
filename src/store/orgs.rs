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
