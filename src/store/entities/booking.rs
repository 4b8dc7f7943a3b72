use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "bookings")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub org_id: Uuid,
    pub domain_id: Uuid,
    pub room_name: String,
    pub client_id: Option<Uuid>,
    pub start_time: DateTimeUtc,
    pub end_time: DateTimeUtc,
    pub duration_minutes: i32,
    pub grace_minutes: i32,
    pub room_type: i16,
    pub is_locked: bool,
    pub capacity: i32,
    #[sea_orm(column_type = "Text", nullable)]
    pub password_sealed: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub host_key_sealed: Option<String>,
    pub state: String,
    pub due_at: Option<DateTimeUtc>,
    pub room_id: Option<Uuid>,
    pub activated_at: Option<DateTimeUtc>,
    pub finished_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::domain::Entity",
        from = "Column::DomainId",
        to = "super::domain::Column::Id",
        on_delete = "Cascade"
    )]
    Domain,
}

impl Related<super::domain::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Domain.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
