use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "widget_users")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub widget_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: String,
    pub name: String,
    #[sea_orm(column_type = "Text")]
    pub info: String,
    pub fetched_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
