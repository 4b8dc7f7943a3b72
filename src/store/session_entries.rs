use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, JoinType, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait, RelationDef,
    sea_query::{Expr, ExprTrait, Func, LikeExpr},
};
use uuid::Uuid;

use super::{
    Window,
    entities::{
        peer,
        session_entry::{ActiveModel, Column, Entity, Model},
    },
};

/// The entry of a peer admitted through a session link; `access_token_id` names the peer
/// token issued (never the token itself).
#[derive(Debug, Clone)]
pub struct NewSessionEntry {
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
    pub entry_time: DateTime<Utc>,
}

impl From<NewSessionEntry> for ActiveModel {
    fn from(e: NewSessionEntry) -> Self {
        ActiveModel {
            id: Set(e.id),
            org_id: Set(e.org_id),
            client_id: Set(e.client_id),
            session_id: Set(e.session_id),
            room_id: Set(e.room_id),
            subscription_id: Set(e.subscription_id),
            peer_id: Set(e.peer_id),
            role: Set(e.role),
            name: Set(e.name),
            access_token_id: Set(e.access_token_id),
            link_hash: Set(e.link_hash),
            entry_time: Set(e.entry_time),
            outcome: Set(None),
        }
    }
}

/// Many entries in one statement.
pub async fn insert_many(
    db: &impl ConnectionTrait,
    rows: Vec<NewSessionEntry>,
) -> Result<(), DbErr> {
    if rows.is_empty() {
        return Ok(());
    }
    Entity::insert_many(rows.into_iter().map(ActiveModel::from))
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// Which entries to list: within `[from, to)`, of one session, of one role, of one
/// subscription, and whose name contains `name` (any case).
#[derive(Debug, Clone, Default)]
pub struct EntryFilter {
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub session_id: Option<String>,
    pub role: Option<String>,
    pub name: Option<String>,
    pub subscription_id: Option<Uuid>,
}

/// The org's entries, newest first.
pub async fn list(
    db: &impl ConnectionTrait,
    org_id: Uuid,
    filter: EntryFilter,
    window: Option<Window>,
) -> Result<Vec<Model>, DbErr> {
    let name_like = filter.name.map(|n| {
        // LIKE wildcards in the user's text are matched literally.
        let escaped = n
            .to_lowercase()
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        format!("%{escaped}%")
    });
    let mut q = Entity::find()
        .filter(Column::OrgId.eq(org_id))
        .apply_if(filter.from, |q, t| q.filter(Column::EntryTime.gte(t)))
        .apply_if(filter.to, |q, t| q.filter(Column::EntryTime.lt(t)))
        .apply_if(filter.session_id, |q, s| q.filter(Column::SessionId.eq(s)))
        .apply_if(filter.role, |q, r| q.filter(Column::Role.eq(r)))
        .apply_if(filter.subscription_id, |q, id| {
            q.filter(Column::SubscriptionId.eq(id))
        })
        .apply_if(name_like, |q, pattern| {
            q.filter(
                Expr::expr(Func::lower(Expr::col(Column::Name)))
                    .like(LikeExpr::new(pattern).escape('\\')),
            )
        })
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

/// The sessions in which these subscriptions' owners are present right now, as
/// `(subscription, session)` pairs.
pub async fn owners_present(
    db: &impl ConnectionTrait,
    subscription_ids: &[Uuid],
) -> Result<Vec<(Uuid, String)>, DbErr> {
    if subscription_ids.is_empty() {
        return Ok(Vec::new());
    }
    Entity::find()
        .select_only()
        .column(Column::SubscriptionId)
        .column(Column::SessionId)
        .distinct()
        .join(JoinType::InnerJoin, to_peer())
        .filter(Column::SubscriptionId.is_in(subscription_ids.iter().copied()))
        .filter(Column::Role.eq("owner"))
        .filter(peer::Column::LeftAt.is_null())
        .into_tuple()
        .all(db)
        .await
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

/// Record on the entries of these peers that their knock ended without getting in.
pub async fn record_outcome(
    db: &impl ConnectionTrait,
    peer_ids: &[Uuid],
    outcome: &str,
) -> Result<(), DbErr> {
    if peer_ids.is_empty() {
        return Ok(());
    }
    Entity::update_many()
        .col_expr(Column::Outcome, Expr::value(outcome))
        .filter(Column::PeerId.is_in(peer_ids.iter().copied()))
        .exec(db)
        .await?;
    Ok(())
}
