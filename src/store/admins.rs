use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};

use super::entities::admin_user::{ActiveModel, Column, Entity, Model};

pub async fn insert(db: &impl ConnectionTrait, user: ActiveModel) -> Result<Model, DbErr> {
    user.insert(db).await
}

pub async fn find_by_email(db: &impl ConnectionTrait, email: &str) -> Result<Option<Model>, DbErr> {
    Entity::find().filter(Column::Email.eq(email)).one(db).await
}
