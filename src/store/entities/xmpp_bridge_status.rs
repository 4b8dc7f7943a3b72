use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "xmpp_bridge_status")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub jid: String,
    pub state: String,
    #[sea_orm(column_type = "Text")]
    pub rooms_joined: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub last_error: Option<String>,
    pub last_error_at: Option<DateTimeUtc>,
    pub connected_since: Option<DateTimeUtc>,
    pub reported_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
