use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, QueryTrait, sea_query::Expr,
};
use uuid::Uuid;

use super::entities::{
    chat_binding,
    chat_message::{ActiveModel, Column, Entity, Model, XmppState},
};

/// A chat message to store; its id is the table's next.
#[derive(Debug, Clone)]
pub struct NewChatMessage {
    pub org_id: Uuid,
    pub room_id: Uuid,
    /// `peer`, `client` or `xmpp`.
    pub sender_kind: String,
    pub peer_id: Option<Uuid>,
    pub display_name: String,
    pub text: String,
    pub xmpp_state: Option<XmppState>,
    pub created_at: DateTime<Utc>,
}

pub async fn insert(db: &impl ConnectionTrait, m: NewChatMessage) -> Result<Model, DbErr> {
    ActiveModel {
        org_id: Set(m.org_id),
        room_id: Set(m.room_id),
        sender_kind: Set(m.sender_kind),
        peer_id: Set(m.peer_id),
        display_name: Set(m.display_name),
        text: Set(m.text),
        xmpp_state: Set(m.xmpp_state),
        created_at: Set(m.created_at),
        ..Default::default()
    }
    .insert(db)
    .await
}

/// A room's messages, newest first: older than `before`, newer than `since`, at most `limit + 1`.
pub async fn list(
    db: &impl ConnectionTrait,
    room_id: Uuid,
    before: Option<i64>,
    since: Option<i64>,
    limit: u64,
) -> Result<Vec<Model>, DbErr> {
    Entity::find()
        .filter(Column::RoomId.eq(room_id))
        .apply_if(before, |q, id| q.filter(Column::Id.lt(id)))
        .apply_if(since, |q, id| q.filter(Column::Id.gt(id)))
        .order_by_desc(Column::Id)
        .limit(limit + 1)
        .all(db)
        .await
}

/// Messages waiting to go to an XMPP room, oldest first.
pub async fn pending_for_room(
    db: &impl ConnectionTrait,
    room_id: Uuid,
) -> Result<Vec<Model>, DbErr> {
    Entity::find()
        .filter(Column::RoomId.eq(room_id))
        .filter(Column::XmppState.eq(XmppState::Pending))
        .order_by_asc(Column::Id)
        .all(db)
        .await
}

/// At most `limit` of a room's messages waiting to go to its XMPP room, oldest first.
pub async fn pending_page(
    db: &impl ConnectionTrait,
    room_id: Uuid,
    limit: u64,
) -> Result<Vec<Model>, DbErr> {
    Entity::find()
        .filter(Column::RoomId.eq(room_id))
        .filter(Column::XmppState.eq(XmppState::Pending))
        .order_by_asc(Column::Id)
        .limit(limit)
        .all(db)
        .await
}

/// The MUC reflected these messages: they are in it (also when given up on earlier).
pub async fn mark_sent(db: &impl ConnectionTrait, ids: &[i64]) -> Result<(), DbErr> {
    Entity::update_many()
        .col_expr(Column::XmppState, Expr::value(XmppState::Sent.as_str()))
        .col_expr(Column::XmppError, Expr::value(Option::<String>::None))
        .filter(Column::Id.is_in(ids.iter().copied()))
        .exec(db)
        .await?;
    Ok(())
}

/// Give up sending a message to its MUC, saying why; only while it is still pending.
pub async fn mark_failed(db: &impl ConnectionTrait, id: i64, why: &str) -> Result<(), DbErr> {
    Entity::update_many()
        .col_expr(Column::XmppState, Expr::value(XmppState::Failed.as_str()))
        .col_expr(Column::XmppError, Expr::value(why))
        .filter(Column::Id.eq(id))
        .filter(Column::XmppState.eq(XmppState::Pending))
        .exec(db)
        .await?;
    Ok(())
}

/// A binding of an XMPP room (`jid`) to a room, with its callback webhook if any.
#[derive(Debug, Clone)]
pub struct NewBinding {
    pub org_id: Uuid,
    pub room_id: Uuid,
    pub jid: String,
    pub webhook_id: Option<i64>,
    pub created_at: DateTime<Utc>,
}

pub async fn insert_binding(
    db: &impl ConnectionTrait,
    b: NewBinding,
) -> Result<chat_binding::Model, DbErr> {
    chat_binding::ActiveModel {
        id: Set(Uuid::new_v4()),
        org_id: Set(b.org_id),
        room_id: Set(b.room_id),
        jid: Set(b.jid),
        webhook_id: Set(b.webhook_id),
        created_at: Set(b.created_at),
    }
    .insert(db)
    .await
}

pub async fn binding_by_jid(
    db: &impl ConnectionTrait,
    jid: &str,
) -> Result<Option<chat_binding::Model>, DbErr> {
    chat_binding::Entity::find()
        .filter(chat_binding::Column::Jid.eq(jid))
        .one(db)
        .await
}

pub async fn binding_of_room(
    db: &impl ConnectionTrait,
    room_id: Uuid,
) -> Result<Option<chat_binding::Model>, DbErr> {
    chat_binding::Entity::find()
        .filter(chat_binding::Column::RoomId.eq(room_id))
        .one(db)
        .await
}

pub async fn all_bindings(db: &impl ConnectionTrait) -> Result<Vec<chat_binding::Model>, DbErr> {
    chat_binding::Entity::find()
        .order_by_asc(chat_binding::Column::CreatedAt)
        .all(db)
        .await
}

pub async fn bindings_of_org(
    db: &impl ConnectionTrait,
    org_id: Uuid,
) -> Result<Vec<chat_binding::Model>, DbErr> {
    chat_binding::Entity::find()
        .filter(chat_binding::Column::OrgId.eq(org_id))
        .order_by_asc(chat_binding::Column::CreatedAt)
        .all(db)
        .await
}

pub async fn delete_binding(db: &impl ConnectionTrait, id: Uuid) -> Result<(), DbErr> {
    chat_binding::Entity::delete_by_id(id).exec(db).await?;
    Ok(())
}

/// Most recent message time of a room (for the bridge's history cut-off after a reconnect).
pub async fn latest_at(
    db: &impl ConnectionTrait,
    room_id: Uuid,
) -> Result<Option<DateTime<Utc>>, DbErr> {
    Ok(Entity::find()
        .filter(Column::RoomId.eq(room_id))
        .order_by_desc(Column::Id)
        .one(db)
        .await?
        .map(|m| m.created_at))
}
