use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, QueryTrait,
    sea_query::{LockBehavior, LockType},
};
use uuid::Uuid;

use super::{
    Window,
    entities::booking::{ActiveModel, BookingState, Column, Entity, Model},
};

pub async fn insert(db: &impl ConnectionTrait, b: ActiveModel) -> Result<Model, DbErr> {
    b.insert(db).await
}

pub async fn update(db: &impl ConnectionTrait, b: ActiveModel) -> Result<Model, DbErr> {
    b.update(db).await
}

pub async fn find_in_org(
    db: &impl ConnectionTrait,
    org_id: Uuid,
    id: i64,
    for_update: bool,
) -> Result<Option<Model>, DbErr> {
    let mut q = Entity::find_by_id(id).filter(Column::OrgId.eq(org_id));
    if for_update {
        q = q.lock_exclusive();
    }
    q.one(db).await
}

/// Bookings that hold the room now or later (scheduled or active).
pub async fn holding_room(
    db: &impl ConnectionTrait,
    domain_id: Uuid,
    room_name: &str,
) -> Result<Vec<Model>, DbErr> {
    Entity::find()
        .filter(Column::DomainId.eq(domain_id))
        .filter(Column::RoomName.eq(room_name))
        .filter(Column::State.is_in(BookingState::HOLDING))
        .order_by_asc(Column::StartTime)
        .all(db)
        .await
}

/// A holding booking of the room overlapping `[start, end)`, other than `except`.
/// Intervals touching at an end do not overlap (back-to-back bookings are fine).
pub async fn overlapping(
    db: &impl ConnectionTrait,
    domain_id: Uuid,
    room_name: &str,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    except: Option<i64>,
) -> Result<Option<Model>, DbErr> {
    let mut q = Entity::find()
        .filter(Column::DomainId.eq(domain_id))
        .filter(Column::RoomName.eq(room_name))
        .filter(Column::State.is_in(BookingState::HOLDING))
        .filter(Column::StartTime.lt(end))
        .filter(Column::EndTime.gt(start));
    if let Some(id) = except {
        q = q.filter(Column::Id.ne(id));
    }
    q.order_by_asc(Column::StartTime).one(db).await
}

#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub domain_id: Option<Uuid>,
    pub room_name: Option<String>,
    pub state: Option<BookingState>,
    /// Only bookings that hold their room (scheduled or active).
    pub holding: bool,
    /// Bookings starting at or after…
    pub from: Option<DateTime<Utc>>,
    /// …and before.
    pub to: Option<DateTime<Utc>>,
}

pub async fn list(
    db: &impl ConnectionTrait,
    org_id: Uuid,
    f: Filter,
    window: Window,
) -> Result<Vec<Model>, DbErr> {
    Entity::find()
        .filter(Column::OrgId.eq(org_id))
        .apply_if(f.domain_id, |q, d| q.filter(Column::DomainId.eq(d)))
        .apply_if(f.room_name, |q, r| q.filter(Column::RoomName.eq(r)))
        .apply_if(f.state, |q, s| q.filter(Column::State.eq(s)))
        .apply_if(f.holding.then_some(BookingState::HOLDING), |q, states| {
            q.filter(Column::State.is_in(states))
        })
        .apply_if(f.from, |q, t| q.filter(Column::StartTime.gte(t)))
        .apply_if(f.to, |q, t| q.filter(Column::StartTime.lt(t)))
        .order_by_asc(Column::StartTime)
        .order_by_asc(Column::Id)
        .offset(window.offset)
        .limit(window.limit + 1)
        .all(db)
        .await
}

/// The booking most overdue for a transition, locked for this transaction; bookings other
/// nodes are working on are skipped (Postgres `FOR UPDATE SKIP LOCKED`; SQLite transactions
/// are serialised).
pub async fn claim_due(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
) -> Result<Option<Model>, DbErr> {
    let mut q = Entity::find()
        .filter(Column::DueAt.lte(now))
        .filter(Column::State.is_in(BookingState::HOLDING))
        .order_by_asc(Column::DueAt)
        .order_by_asc(Column::Id)
        .limit(1);
    QueryTrait::query(&mut q).lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
    q.one(db).await
}

/// Transitions that are due (for lag figures and tests).
pub async fn due_count(db: &impl ConnectionTrait, now: DateTime<Utc>) -> Result<u64, DbErr> {
    Entity::find()
        .filter(Column::DueAt.lte(now))
        .filter(Column::State.is_in(BookingState::HOLDING))
        .count(db)
        .await
}

/// The earliest pending transition time.
pub async fn next_due(db: &impl ConnectionTrait) -> Result<Option<DateTime<Utc>>, DbErr> {
    Ok(Entity::find()
        .filter(Column::DueAt.is_not_null())
        .filter(Column::State.is_in(BookingState::HOLDING))
        .order_by_asc(Column::DueAt)
        .one(db)
        .await?
        .and_then(|b| b.due_at))
}
