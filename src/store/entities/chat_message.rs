use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "chat_messages")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub org_id: Uuid,
    pub room_id: Uuid,
    pub sender_kind: String,
    pub peer_id: Option<Uuid>,
    pub display_name: String,
    #[sea_orm(column_type = "Text")]
    pub text: String,
    pub xmpp_state: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub xmpp_error: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
