use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub org_id: Uuid,
    pub domain_id: Uuid,
    pub domain_name: String,
    pub room_id: Option<Uuid>,
    pub room_name: Option<String>,
    pub seq: i64,
    pub kind: String,
    #[sea_orm(column_type = "Text")]
    pub payload: String,
    #[sea_orm(column_type = "Text")]
    pub robots: String,
    /// The payload's secrets (`events::payloads::SECRET_FIELDS`), sealed; never in `payload`.
    #[sea_orm(column_type = "Text", nullable)]
    pub secrets: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
