//! Changing and cancelling bookings.
use sea_orm::ActiveValue::Set;
use uuid::Uuid;

use serde_json::json;

use super::{
    audit::{self, Action, AuditAction, By},
    booked_rooms::{self, RoomChange},
    bookings::{
        self, BookingChange, BookingState, BookingView, host_key_purpose, password_purpose,
    },
    room_model::RoomType,
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
    let active = b.state == BookingState::Active;
    let opts = change.options.clone().unwrap_or_default();
    let start = match change.start_time {
        Some(_) if active => {
            return Err(Error::conflict(
                "booking_started",
                "an active booking cannot be moved; change its duration instead",
            ));
        }
        Some(start) => {
            if start < now {
                return Err(Error::invalid("startTime", "must not be in the past"));
            }
            start
        }
        None => b.start_time,
    };
    let duration = opts.duration.unwrap_or(i64::from(b.duration_minutes));
    if !(1..=bookings::MAX_DURATION_MINUTES).contains(&duration) {
        return Err(Error::invalid(
            "meetingOptions.duration",
            format!("must be 1-{} minutes", bookings::MAX_DURATION_MINUTES),
        ));
    }
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
    if !(0..=duration).contains(&grace) {
        return Err(Error::invalid(
            "graceMinutes",
            "must be between 0 and the duration",
        ));
    }
    let room_type = match opts.room_type {
        Some(code) => {
            let t = RoomType::from_code(code).map_err(|_| {
                Error::invalid(
                    "meetingOptions.type",
                    "must be 1 (conference) or 2 (webinar)",
                )
            })?;
            if active && t.code() != b.room_type {
                return Err(Error::conflict(
                    "booking_started",
                    "the room type of an active booking cannot change",
                ));
            }
            t.code()
        }
        None => b.room_type,
    };
    let capacity = match opts.capacity {
        Some(c) if c < 1 || c > i64::from(state.config.max_room_capacity) => {
            return Err(Error::invalid(
                "meetingOptions.capacity",
                format!("must be between 1 and {}", state.config.max_room_capacity),
            ));
        }
        Some(c) => c as i32,
        None => b.capacity,
    };
    let password = opts
        .key
        .as_deref()
        .map(|p| validate::password("meetingOptions.key", p))
        .transpose()?;
    bookings_overlap(&tx, &domain, &b.room_name, start, end, b.id).await?;

    let host_key = rooms::open(&state.sealer, host_key_purpose(b.id), &b.host_key_sealed)?;
    let new_host_key = (opts.add_host_key && host_key.is_none()).then(rooms::new_host_key);
    let room_id = b.room_id;
    let mut row: booking::ActiveModel = b.clone().into();
    row.start_time = Set(start);
    row.end_time = Set(end);
    row.duration_minutes = Set(duration as i32);
    row.grace_minutes = Set(grace as i32);
    row.room_type = Set(room_type);
    row.capacity = Set(capacity);
    if let Some(lock) = opts.lock {
        row.is_locked = Set(lock);
    }
    if let Some(p) = &password {
        row.password_sealed = Set(Some(state.sealer.seal_str(&password_purpose(id), p)));
    }
    if let Some(k) = &new_host_key {
        row.host_key_sealed = Set(Some(state.sealer.seal_str(&host_key_purpose(id), k)));
    }
    row.updated_at = Set(now);
    let mut updated = store::bookings::update(tx.conn(), row).await?;
    if active {
        let live = store::rooms::find_live(tx.conn(), domain.id, &updated.room_name, true)
            .await?
            .filter(|r| Some(r.id) == room_id);
        let joined = match room_id {
            Some(r) => store::peers::anyone_joined(tx.conn(), r).await?,
            None => false,
        };
        if let Some(room) = live {
            let change = RoomChange {
                password: password.as_deref(),
                lock: opts.lock,
                host_key: new_host_key.as_deref(),
                capacity: Some(capacity),
            };
            booked_rooms::apply_to_room(state, &tx, room, change).await?;
        }
        let due = if joined {
            updated.end_time
        } else {
            bookings::active_due(&updated)
        };
        let mut row: booking::ActiveModel = updated.into();
        row.due_at = Set(Some(due));
        updated = store::bookings::update(tx.conn(), row).await?;
    } else {
        let mut row: booking::ActiveModel = updated.into();
        row.due_at = Set(Some(start));
        updated = store::bookings::update(tx.conn(), row).await?;
    }
    let view = bookings::view(&state.sealer, updated, &domain.name)?;
    let action = Action::new(AuditAction::BookingUpdated, view.id)
        .detail(json!({"startTime": view.start_time, "endTime": view.end_time}));
    audit::write(tx.conn(), now, by, action).await?;
    tx.commit().await?;
    Ok(view)
}

async fn bookings_overlap(
    tx: &WriteTx,
    domain: &store::entities::domain::Model,
    room_name: &str,
    start: chrono::DateTime<chrono::Utc>,
    end: chrono::DateTime<chrono::Utc>,
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
    let mut row: booking::ActiveModel = b.into();
    row.state = Set(BookingState::Cancelled);
    row.due_at = Set(None);
    row.finished_at = Set(Some(now));
    row.updated_at = Set(now);
    let b = store::bookings::update(tx.conn(), row).await?;
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
