use sea_orm::{ActiveModelTrait, ConnectionTrait, DbErr, EntityTrait};
use uuid::Uuid;

use super::entities::event::{ActiveModel, Entity, Model};

pub async fn insert(db: &impl ConnectionTrait, event: ActiveModel) -> Result<Model, DbErr> {
    event.insert(db).await
}

pub async fn find(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<Model>, DbErr> {
    Entity::find_by_id(id).one(db).await
}
