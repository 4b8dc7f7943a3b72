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
    pub state: PeerState,
    /// When the peer last connected (its first live socket after being away or new).
    pub connected_at: Option<DateTimeUtc>,
    /// When the peer's seat (or, waiting, its knock) lapses unless a connection holds it;
    /// `None` while connected, or when presence is not tracked.
    pub seat_until: Option<DateTimeUtc>,
}

/// Where a present peer stands. The strings are the stable wire and column values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "Text")]
pub enum PeerState {
    /// Knocked; in the lobby until a host admits or denies it. Holds no seat.
    #[sea_orm(string_value = "waiting")]
    Waiting,
    /// Let in; no live connection yet.
    #[sea_orm(string_value = "admitted")]
    Admitted,
    /// Holds at least one live connection.
    #[sea_orm(string_value = "connected")]
    Connected,
    /// Its last connection dropped; the seat is held for the reconnect grace.
    #[sea_orm(string_value = "away")]
    Away,
}

impl PeerState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Waiting => "waiting",
            Self::Admitted => "admitted",
            Self::Connected => "connected",
            Self::Away => "away",
        }
    }

    /// Whether the peer holds a seat (counts against capacity).
    pub fn holds_seat(self) -> bool {
        self != Self::Waiting
    }
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
