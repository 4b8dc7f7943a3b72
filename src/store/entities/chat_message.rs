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
    pub xmpp_state: Option<XmppState>,
    #[sea_orm(column_type = "Text", nullable)]
    pub xmpp_error: Option<String>,
    pub created_at: DateTimeUtc,
}

/// Where a message bound for a bridged MUC stands. The strings are the stable wire and column
/// values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "Text")]
pub enum XmppState {
    #[sea_orm(string_value = "pending")]
    Pending,
    #[sea_orm(string_value = "sent")]
    Sent,
    /// Given up on: `xmpp_error` says why.
    #[sea_orm(string_value = "failed")]
    Failed,
}

impl XmppState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Sent => "sent",
            Self::Failed => "failed",
        }
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
