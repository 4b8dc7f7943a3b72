use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait,
    sea_query::{LockBehavior, LockType},
};
use uuid::Uuid;

use super::{
    Window,
    entities::booking::{ActiveModel, BookingState, Column, Entity, Model},
};

/// A new booking, scheduled; its secrets are sealed to its id, so they are set after
/// (`set_sealed`).
#[derive(Debug, Clone)]
pub struct NewBooking {
    pub org_id: Uuid,
    pub domain_id: Uuid,
    pub room_name: String,
    pub client_id: Option<Uuid>,
    pub start_time: DateTime<Utc>,
    pub end_time: DateTime<Utc>,
    pub duration_minutes: i32,
    pub grace_minutes: i32,
    pub room_type: i16,
    pub is_locked: bool,
    pub capacity: i32,
    pub due_at: DateTime<Utc>,
    pub now: DateTime<Utc>,
}

pub async fn insert(db: &impl ConnectionTrait, b: NewBooking) -> Result<Model, DbErr> {
    ActiveModel {
        org_id: Set(b.org_id),
        domain_id: Set(b.domain_id),
        room_name: Set(b.room_name),
        client_id: Set(b.client_id),
        start_time: Set(b.start_time),
        end_time: Set(b.end_time),
        duration_minutes: Set(b.duration_minutes),
        grace_minutes: Set(b.grace_minutes),
        room_type: Set(b.room_type),
        is_locked: Set(b.is_locked),
        capacity: Set(b.capacity),
        password_sealed: Set(None),
        host_key_sealed: Set(None),
        state: Set(BookingState::Scheduled),
        due_at: Set(Some(b.due_at)),
        room_id: Set(None),
        activated_at: Set(None),
        finished_at: Set(None),
        created_at: Set(b.now),
        updated_at: Set(b.now),
        ..Default::default()
    }
    .insert(db)
    .await
}

/// A new booking's sealed password and host key (either may be absent).
pub async fn set_sealed(
    db: &impl ConnectionTrait,
    b: Model,
    password_sealed: Option<String>,
    host_key_sealed: Option<String>,
) -> Result<Model, DbErr> {
    let mut row: ActiveModel = b.into();
    row.password_sealed = Set(password_sealed);
    row.host_key_sealed = Set(host_key_sealed);
    row.update(db).await
}

pub async fn set_host_key(
    db: &impl ConnectionTrait,
    b: Model,
    host_key_sealed: String,
) -> Result<Model, DbErr> {
    let mut row: ActiveModel = b.into();
    row.host_key_sealed = Set(Some(host_key_sealed));
    row.update(db).await
}

/// A booking's new times and options; the `Option` ones are left as they are when `None`.
#[derive(Debug, Clone)]
pub struct Changes {
    pub start_time: DateTime<Utc>,
    pub end_time: DateTime<Utc>,
    pub duration_minutes: i32,
    pub grace_minutes: i32,
    pub room_type: i16,
    pub capacity: i32,
    pub is_locked: Option<bool>,
    pub password_sealed: Option<String>,
    pub host_key_sealed: Option<String>,
    pub now: DateTime<Utc>,
}

pub async fn change(db: &impl ConnectionTrait, b: Model, c: Changes) -> Result<Model, DbErr> {
    let mut row: ActiveModel = b.into();
    row.start_time = Set(c.start_time);
    row.end_time = Set(c.end_time);
    row.duration_minutes = Set(c.duration_minutes);
    row.grace_minutes = Set(c.grace_minutes);
    row.room_type = Set(c.room_type);
    row.capacity = Set(c.capacity);
    if let Some(lock) = c.is_locked {
        row.is_locked = Set(lock);
    }
    if let Some(sealed) = c.password_sealed {
        row.password_sealed = Set(Some(sealed));
    }
    if let Some(sealed) = c.host_key_sealed {
        row.host_key_sealed = Set(Some(sealed));
    }
    row.updated_at = Set(c.now);
    row.update(db).await
}

/// When the scheduler looks at the booking next; `now` also stamps the row (`None` when the
/// same change stamped it already).
pub async fn set_due(
    db: &impl ConnectionTrait,
    b: Model,
    due: DateTime<Utc>,
    now: Option<DateTime<Utc>>,
) -> Result<Model, DbErr> {
    let mut row: ActiveModel = b.into();
    row.due_at = Set(Some(due));
    if let Some(now) = now {
        row.updated_at = Set(now);
    }
    row.update(db).await
}

/// The booking is active in `room_id` from `now`, next due at `due`.
pub async fn activate(
    db: &impl ConnectionTrait,
    b: Model,
    room_id: Uuid,
    due: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Model, DbErr> {
    let mut row: ActiveModel = b.into();
    row.state = Set(BookingState::Active);
    row.room_id = Set(Some(room_id));
    row.activated_at = Set(Some(now));
    row.due_at = Set(Some(due));
    row.updated_at = Set(now);
    row.update(db).await
}

/// The booking ends as `state` (cancelled, expired, completed) at `now`; nothing is due.
pub async fn finish(
    db: &impl ConnectionTrait,
    b: Model,
    state: BookingState,
    now: DateTime<Utc>,
) -> Result<Model, DbErr> {
    let mut row: ActiveModel = b.into();
    row.state = Set(state);
    row.due_at = Set(None);
    row.finished_at = Set(Some(now));
    row.updated_at = Set(now);
    row.update(db).await
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
