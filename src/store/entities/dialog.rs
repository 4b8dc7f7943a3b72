use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "dialogs")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub widget_id: String,
    pub user_low: String,
    pub user_high: String,
    pub read_low: i64,
    pub read_high: i64,
    pub last_message_id: i64,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
