//! The transitions the scheduler drives: activate a booking at its start, expire it when
//! nobody came within the grace, complete it at its end. Each runs in one transaction that
//! holds the booking row locked (`FOR UPDATE SKIP LOCKED` on Postgres), so with several nodes
//! every transition happens exactly once; missed ones are caught up in order of due time.
use super::{
    booked_rooms::{self, RoomChange},
    bookings::{self, BookingState},
    room_model::Origin,
    rooms,
    rooms::HeldRoom,
};
use crate::{
    error::Result,
    events::{EventKind, tx::WriteTx},
    state::AppState,
    store::{
        self,
        entities::{booking, domain},
    },
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    Activated(i64),
    /// Somebody came within the grace: the booking runs to its end.
    Attended(i64),
    Expired(i64),
    Completed(i64),
}

/// Perform the most overdue transition, if one is due.
pub async fn process_next(state: &AppState) -> Result<Option<Transition>> {
    let mut tx = WriteTx::begin(state).await?;
    let now = tx.now();
    let Some(b) = store::bookings::claim_due(tx.conn(), now).await? else {
        return Ok(None);
    };
    let due = b.due_at.unwrap_or(now);
    let Some(domain) = store::domains::find_by_id(tx.conn(), b.domain_id).await? else {
        return Ok(None);
    };
    let done = if b.state == BookingState::Scheduled {
        activate(state, &mut tx, &domain, b).await?
    } else if b.state == BookingState::Active && b.due_at.is_some_and(|due| due < b.end_time) {
        check_attendance(state, &mut tx, &domain, b).await?
    } else {
        finish(state, &mut tx, &domain, b, BookingState::Completed).await?
    };
    tx.commit().await?;
    let late_ms = (now - due).num_milliseconds();
    state.metrics.booking_transition(late_ms as f64 / 1000.0);
    tracing::info!(transition = ?done, late_ms, "booking transition");
    Ok(Some(done))
}

/// Open the booked room with the booking's options and host key (`roomCreated`), or take
/// over a room of that name that is still open, then `bookingActivated`.
async fn activate(
    state: &AppState,
    tx: &mut WriteTx,
    domain: &domain::Model,
    b: booking::Model,
) -> Result<Transition> {
    let spec = bookings::room_spec(state, &b)?;
    let (password, host_key) = (spec.password.clone(), spec.host_key.clone());
    let (lock, capacity) = (spec.lock, spec.capacity);
    let origin = Origin::Booking(b.id);
    let room =
        match rooms::find_or_open(state, tx, domain, &b.room_name, origin, || Ok(spec)).await? {
            HeldRoom::Found(existing) => {
                let change = RoomChange {
                    password: password.as_deref(),
                    lock: Some(lock),
                    host_key: host_key.as_deref(),
                    capacity: Some(capacity),
                };
                booked_rooms::apply_to_room(state, tx, existing, change).await?
            }
            HeldRoom::Opened(room) => room,
        };
    let now = tx.now();
    let id = b.id;
    let due = bookings::active_due(&b);
    let b = store::bookings::activate(tx.conn(), b, room.id, due, now).await?;
    bookings::emit(state, tx, domain, &b, EventKind::BookingActivated).await?;
    Ok(Transition::Activated(id))
}

/// At start + grace: if anybody entered, run on to the end; otherwise expire.
async fn check_attendance(
    state: &AppState,
    tx: &mut WriteTx,
    domain: &domain::Model,
    b: booking::Model,
) -> Result<Transition> {
    let attended = match b.room_id {
        Some(room) => store::peers::anyone_joined(tx.conn(), room).await?,
        None => false,
    };
    if !attended {
        return finish(state, tx, domain, b, BookingState::Expired).await;
    }
    let id = b.id;
    let end = b.end_time;
    store::bookings::set_due(tx.conn(), b, end, Some(tx.now())).await?;
    Ok(Transition::Attended(id))
}

/// Close the booked room (peers removed, `roomRemoved`) and end the booking as `state`.
async fn finish(
    state: &AppState,
    tx: &mut WriteTx,
    domain: &domain::Model,
    b: booking::Model,
    end_state: BookingState,
) -> Result<Transition> {
    if let Some(room) = store::rooms::find_live(tx.conn(), domain.id, &b.room_name, true)
        .await?
        .filter(|r| Some(r.id) == b.room_id)
    {
        let present = store::peers::active_in_rooms(tx.conn(), &[room.id]).await?;
        rooms::close_in(tx, domain, room, present, "booking_ended").await?;
    }
    let now = tx.now();
    let id = b.id;
    let b = store::bookings::finish(tx.conn(), b, end_state, now).await?;
    let (kind, done) = if end_state == BookingState::Expired {
        (EventKind::BookingExpired, Transition::Expired(id))
    } else {
        (EventKind::BookingCompleted, Transition::Completed(id))
    };
    bookings::emit(state, tx, domain, &b, kind).await?;
    Ok(done)
}
