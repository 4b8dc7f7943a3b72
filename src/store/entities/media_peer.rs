use sea_orm::entity::prelude::*;

/// A peer's token on the Janus SFU.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "media_peers")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub peer_id: Uuid,
    pub room_id: Uuid,
    #[sea_orm(column_type = "Text")]
    pub token_sealed: String,
    pub publisher: bool,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
