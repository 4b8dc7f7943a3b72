use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, JoinType, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, QueryTrait, RelationDef,
};
use uuid::Uuid;

use super::{
    Window,
    entities::{
        peer,
        session_entry::{ActiveModel, Column, Entity, Model},
    },
};

pub async fn insert(db: &impl ConnectionTrait, e: ActiveModel) -> Result<Model, DbErr> {
    e.insert(db).await
}

/// The org's entries, newest first, optionally within `[from, to)`.
pub async fn list(
    db: &impl ConnectionTrait,
    org_id: Uuid,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    window: Option<Window>,
) -> Result<Vec<Model>, DbErr> {
    let mut q = Entity::find()
        .filter(Column::OrgId.eq(org_id))
        .apply_if(from, |q, t| q.filter(Column::EntryTime.gte(t)))
        .apply_if(to, |q, t| q.filter(Column::EntryTime.lt(t)))
        .order_by_desc(Column::EntryTime)
        .order_by_desc(Column::Id);
    if let Some(w) = window {
        q = q.offset(w.offset).limit(w.limit + 1);
    }
    q.all(db).await
}

pub async fn for_session(
    db: &impl ConnectionTrait,
    org_id: Uuid,
    sid: &str,
) -> Result<Vec<Model>, DbErr> {
    Entity::find()
        .filter(Column::OrgId.eq(org_id))
        .filter(Column::SessionId.eq(sid))
        .order_by_desc(Column::EntryTime)
        .all(db)
        .await
}

fn to_peer() -> RelationDef {
    Entity::belongs_to(peer::Entity)
        .from(Column::PeerId)
        .to(peer::Column::Id)
        .into()
}

/// Whether the subscription's owner is present in a session other than `sid` right now.
pub async fn owner_present_elsewhere(
    db: &impl ConnectionTrait,
    subscription_id: Uuid,
    sid: &str,
) -> Result<bool, DbErr> {
    let n = Entity::find()
        .join(JoinType::InnerJoin, to_peer())
        .filter(Column::SubscriptionId.eq(subscription_id))
        .filter(Column::Role.eq("owner"))
        .filter(Column::SessionId.ne(sid))
        .filter(peer::Column::LeftAt.is_null())
        .count(db)
        .await?;
    Ok(n > 0)
}

/// The session id whose entries admitted peers into this room.
pub async fn session_of_room(
    db: &impl ConnectionTrait,
    room_id: Uuid,
) -> Result<Option<String>, DbErr> {
    Ok(Entity::find()
        .filter(Column::RoomId.eq(room_id))
        .one(db)
        .await?
        .map(|e| e.session_id))
}
