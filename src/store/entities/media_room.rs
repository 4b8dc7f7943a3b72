use sea_orm::entity::prelude::*;

/// A meetplane room's room on the Janus SFU.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "media_rooms")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub room_id: Uuid,
    pub janus_room: String,
    #[sea_orm(column_type = "Text")]
    pub secret_sealed: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub pin_sealed: Option<String>,
    pub publishers: i32,
    pub bitrate: i32,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
