//! Changing and cancelling bookings.
use crate::error::Code;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use serde_json::json;

use super::{
    audit::{self, Action, AuditAction, By},
    booked_rooms::{self, RoomChange},
    bookings::{
        self, BookingChange, BookingState, BookingView, host_key_purpose, password_purpose,
    },
    rooms, validate,
};
use crate::{
    error::{Error, Result},
    events::{EventKind, tx::WriteTx},
    state::AppState,
    store::{self, entities::booking},
};

fn finished(b: &booking::Model) -> Error {
    Error::conflict(
        bookings::FINISHED_CODE,
        format!("booking {} is {}; it can no longer change", b.id, b.state),
    )
}

/// Lock the org's booking and its domain for a change.
async fn lock(
    state: &AppState,
    org_id: Uuid,
    id: i64,
) -> Result<(WriteTx, booking::Model, store::entities::domain::Model)> {
    let tx = WriteTx::begin(state).await?;
    let b = store::bookings::find_in_org(tx.conn(), org_id, id, true)
        .await?
        .ok_or(Error::not_found("booking"))?;
    let domain = store::domains::lock(tx.conn(), b.domain_id)
        .await?
        .ok_or(Error::not_found("booking"))?;
    Ok((tx, b, domain))
}

/// Move a scheduled booking or change the options of a scheduled or active one. The
/// booked room, when live, takes the new lock, password, capacity and host key at once.
pub async fn update(
    state: &AppState,
    by: &By,
    id: i64,
    change: BookingChange,
) -> Result<BookingView> {
    let now = state.now();
    let (tx, b, domain) = lock(state, by.org_id, id).await?;
    if b.state != BookingState::Scheduled && b.state != BookingState::Active {
        return Err(finished(&b));
    }
    let changed = checked_change(state, &b, &change, now)?;
    bookings_overlap(&tx, &domain, &b.room_name, changed.start, changed.end, b.id).await?;
    let host_key = rooms::open(&state.sealer, host_key_purpose(b.id), &b.host_key_sealed)?;
    let new_host_key = (changed.add_host_key && host_key.is_none()).then(rooms::new_host_key);
    let active = b.state == BookingState::Active;
    let room_id = b.room_id;
    let row = changed_row(state, b.id, &changed, new_host_key.as_deref(), now);
    let updated = store::bookings::change(tx.conn(), b, row).await?;
    let due = if active {
        let change = RoomChange {
            password: changed.password.as_deref(),
            lock: changed.lock,
            host_key: new_host_key.as_deref(),
            capacity: Some(changed.capacity),
        };
        change_live_room(state, &tx, &domain, &updated, room_id, change).await?
    } else {
        changed.start
    };
    let updated = store::bookings::set_due(tx.conn(), updated, due, None).await?;
    let view = bookings::view(&state.sealer, updated, &domain.name)?;
    let action = Action::new(AuditAction::BookingUpdated, view.id)
        .detail(json!({"startTime": view.start_time, "endTime": view.end_time}));
    audit::write(tx.conn(), now, by, action).await?;
    tx.commit().await?;
    Ok(view)
}

/// A booking's values after a change, checked.
struct Changed {
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    duration: i64,
    grace: i64,
    room_type: i16,
    capacity: i32,
    lock: Option<bool>,
    password: Option<String>,
    add_host_key: bool,
}

/// Check `change` against the booking `b` (scheduled or active), in the order its fields
/// are reported.
fn checked_change(
    state: &AppState,
    b: &booking::Model,
    change: &BookingChange,
    now: DateTime<Utc>,
) -> Result<Changed> {
    let active = b.state == BookingState::Active;
    let opts = change.options.clone().unwrap_or_default();
    let start = new_start(b, change.start_time, now)?;
    let duration =
        bookings::checked_duration(opts.duration.unwrap_or(i64::from(b.duration_minutes)))?;
    let end = bookings::end_of(start, duration)?;
    if active && end <= now {
        return Err(Error::invalid(
            "meetingOptions.duration",
            "would end the active booking in the past",
        ));
    }
    // An unchanged grace shrinks with a shorter duration; a given one must fit.
    let grace = change
        .grace_minutes
        .unwrap_or_else(|| i64::from(b.grace_minutes).min(duration));
    let grace = bookings::checked_grace(grace, duration)?;
    Ok(Changed {
        start,
        end,
        duration,
        grace,
        room_type: new_room_type(b, opts.room_type)?,
        capacity: new_capacity(state, b, opts.capacity)?,
        lock: opts.lock,
        password: opts
            .key
            .as_deref()
            .map(|p| validate::password("meetingOptions.key", p))
            .transpose()?,
        add_host_key: opts.add_host_key,
    })
}

/// Only a scheduled booking moves, and not into the past.
fn new_start(
    b: &booking::Model,
    start: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>> {
    match start {
        Some(_) if b.state == BookingState::Active => Err(Error::conflict(
            Code::BookingStarted,
            "an active booking cannot be moved; change its duration instead",
        )),
        Some(start) => bookings::not_in_past(start, now).map(|()| start),
        None => Ok(b.start_time),
    }
}

/// The room type changes only before the booking starts.
fn new_room_type(b: &booking::Model, code: Option<i64>) -> Result<i16> {
    let Some(code) = code else {
        return Ok(b.room_type);
    };
    let t = bookings::checked_room_type(code)?;
    if b.state == BookingState::Active && t.code() != b.room_type {
        return Err(Error::conflict(
            Code::BookingStarted,
            "the room type of an active booking cannot change",
        ));
    }
    Ok(t.code())
}

fn new_capacity(state: &AppState, b: &booking::Model, capacity: Option<i64>) -> Result<i32> {
    match capacity {
        Some(c) => bookings::checked_capacity(c, state.config.max_room_capacity),
        None => Ok(b.capacity),
    }
}

/// The columns the change writes to booking `id` (secrets sealed).
fn changed_row(
    state: &AppState,
    id: i64,
    changed: &Changed,
    new_host_key: Option<&str>,
    now: DateTime<Utc>,
) -> store::bookings::Changes {
    store::bookings::Changes {
        start_time: changed.start,
        end_time: changed.end,
        duration_minutes: changed.duration as i32,
        grace_minutes: changed.grace as i32,
        room_type: changed.room_type,
        capacity: changed.capacity,
        is_locked: changed.lock,
        password_sealed: changed
            .password
            .as_ref()
            .map(|p| state.sealer.seal_str(&password_purpose(id), p)),
        host_key_sealed: new_host_key.map(|k| state.sealer.seal_str(&host_key_purpose(id), k)),
        now,
    }
}

/// An active booking's live room (`room_id`) takes the change; returns when the booking is
/// next due: its end once someone joined, else when an empty room is given up.
async fn change_live_room(
    state: &AppState,
    tx: &WriteTx,
    domain: &store::entities::domain::Model,
    updated: &booking::Model,
    room_id: Option<Uuid>,
    change: RoomChange<'_>,
) -> Result<DateTime<Utc>> {
    let live = store::rooms::find_live(tx.conn(), domain.id, &updated.room_name, true)
        .await?
        .filter(|r| Some(r.id) == room_id);
    let joined = match room_id {
        Some(r) => store::peers::anyone_joined(tx.conn(), r).await?,
        None => false,
    };
    if let Some(room) = live {
        booked_rooms::apply_to_room(state, tx, room, change).await?;
    }
    Ok(if joined {
        updated.end_time
    } else {
        bookings::active_due(updated)
    })
}

async fn bookings_overlap(
    tx: &WriteTx,
    domain: &store::entities::domain::Model,
    room_name: &str,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    except: i64,
) -> Result<()> {
    bookings::refuse_overlap(tx, domain, room_name, start, end, Some(except)).await
}

/// Cancel a scheduled or active booking; an active booking's room is closed (its peers
/// removed with `clientsRemoved`, then `roomRemoved`). Emits `bookingCancelled`.
pub async fn cancel(state: &AppState, by: &By, id: i64) -> Result<BookingView> {
    let (mut tx, b, domain) = lock(state, by.org_id, id).await?;
    if b.state != BookingState::Scheduled && b.state != BookingState::Active {
        return Err(finished(&b));
    }
    if b.state == BookingState::Active
        && let Some(room) = store::rooms::find_live(tx.conn(), domain.id, &b.room_name, true)
            .await?
            .filter(|r| Some(r.id) == b.room_id)
    {
        let present = store::peers::active_in_rooms(tx.conn(), &[room.id]).await?;
        rooms::close_in(&mut tx, &domain, room, present, "booking_cancelled").await?;
    }
    let now = tx.now();
    let b = store::bookings::finish(tx.conn(), b, BookingState::Cancelled, now).await?;
    bookings::emit(state, &mut tx, &domain, &b, EventKind::BookingCancelled).await?;
    let view = bookings::view(&state.sealer, b, &domain.name)?;
    audit::write(
        tx.conn(),
        now,
        by,
        Action::new(AuditAction::BookingCancelled, view.id),
    )
    .await?;
    tx.commit().await?;
    Ok(view)
}
