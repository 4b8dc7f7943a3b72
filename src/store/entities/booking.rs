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
    pub state: BookingState,
    pub due_at: Option<DateTimeUtc>,
    pub room_id: Option<Uuid>,
    pub activated_at: Option<DateTimeUtc>,
    pub finished_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

/// Where a booking is in its life. The strings are the stable wire and column values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "Text")]
pub enum BookingState {
    #[sea_orm(string_value = "scheduled")]
    Scheduled,
    #[sea_orm(string_value = "active")]
    Active,
    #[sea_orm(string_value = "completed")]
    Completed,
    #[sea_orm(string_value = "expired")]
    Expired,
    #[sea_orm(string_value = "cancelled")]
    Cancelled,
}

impl BookingState {
    pub const ALL: [BookingState; 5] = [
        Self::Scheduled,
        Self::Active,
        Self::Completed,
        Self::Expired,
        Self::Cancelled,
    ];
    /// The states in which a booking holds its room's name.
    pub const HOLDING: [BookingState; 2] = [Self::Scheduled, Self::Active];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Scheduled => "scheduled",
            Self::Active => "active",
            Self::Completed => "completed",
            Self::Expired => "expired",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|state| state.as_str() == s)
    }

    pub fn holds_room(self) -> bool {
        Self::HOLDING.contains(&self)
    }
}

impl std::fmt::Display for BookingState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
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
