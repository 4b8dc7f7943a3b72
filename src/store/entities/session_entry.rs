use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "session_entries")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub org_id: Uuid,
    pub client_id: Uuid,
    pub session_id: String,
    pub room_id: Uuid,
    pub subscription_id: Uuid,
    pub peer_id: Uuid,
    pub role: String,
    pub name: String,
    pub access_token_id: String,
    pub link_hash: String,
    pub entry_time: DateTimeUtc,
    /// `denied` or `withdrawn` when the entry's knock never got in.
    pub outcome: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
