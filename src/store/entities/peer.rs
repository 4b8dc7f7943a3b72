use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "peers")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub room_id: Uuid,
    pub peer_type: i16,
    pub display_name: String,
    #[sea_orm(unique)]
    pub token_hash: String,
    pub joined_at: DateTimeUtc,
    pub left_at: Option<DateTimeUtc>,
    pub left_reason: Option<String>,
    pub link_hash: Option<String>,
    pub site_user_id: Option<String>,
    /// Where the peer goes after the call (its session link's `rtn`).
    pub return_url: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::room::Entity",
        from = "Column::RoomId",
        to = "super::room::Column::Id",
        on_delete = "Cascade"
    )]
    Room,
}

impl Related<super::room::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Room.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
