//! The room a booking holds: its holder initialising it while the booking is active, and the
//! booking's options applied to the live room (on activation and on a booking's change).
use uuid::Uuid;

use super::{
    bookings::{BookingState, host_key_purpose, room_spec},
    room_model::{CreatedRoom, Origin, RoomOptions},
    rooms, validate,
};
use crate::{
    error::Result,
    events::tx::WriteTx,
    state::AppState,
    store::{
        self,
        entities::{booking, domain, room},
    },
};

/// An active booking of this room held by `client`, if any.
pub(super) async fn active_held_by(
    tx: &WriteTx,
    domain: &domain::Model,
    name: &str,
    client: Uuid,
) -> Result<Option<booking::Model>> {
    Ok(store::bookings::holding_room(tx.conn(), domain.id, name)
        .await?
        .into_iter()
        .find(|b| b.state == BookingState::Active && b.client_id == Some(client)))
}

/// The booking holder initialises its active room (xroom Appendix B, step 2): it gets the
/// room, with `key` and `lock` applied and the booking's host key when asked.
pub(super) async fn init_booked_room(
    state: &AppState,
    mut tx: WriteTx,
    domain: &domain::Model,
    booking: booking::Model,
    opts: &RoomOptions,
) -> Result<CreatedRoom> {
    let name = booking.room_name.clone();
    let mut host_key = rooms::open(
        &state.sealer,
        host_key_purpose(booking.id),
        &booking.host_key_sealed,
    )?;
    if opts.add_host_key && host_key.is_none() {
        let key = rooms::new_host_key();
        let sealed = state.sealer.seal_str(&host_key_purpose(booking.id), &key);
        store::bookings::set_host_key(tx.conn(), booking.clone(), sealed).await?;
        host_key = Some(key);
    }
    // The holder may have closed the room meanwhile: it opens again with the booking's options.
    let reopened_spec = || {
        let mut spec = room_spec(state, &booking)?;
        spec.host_key = host_key.clone();
        Ok(spec)
    };
    let origin = Origin::Booking(booking.id);
    let room = rooms::find_or_open(state, &mut tx, domain, &name, origin, reopened_spec)
        .await?
        .into_room();
    let change = RoomChange {
        password: opts.password.as_deref(),
        lock: opts.lock,
        host_key: host_key.as_deref(),
        capacity: None,
    };
    let room = apply_to_room(state, &tx, room, change).await?;
    let view = rooms::view_with_peers(tx.conn(), &state.sealer, &domain.name, room).await?;
    tx.commit().await?;
    Ok(CreatedRoom {
        room: view,
        host_key: opts.add_host_key.then_some(host_key).flatten(),
    })
}

/// Changes to a live booked room; `None` leaves a setting as it is.
#[derive(Debug, Clone, Copy, Default)]
pub struct RoomChange<'a> {
    pub password: Option<&'a str>,
    pub lock: Option<bool>,
    pub host_key: Option<&'a str>,
    pub capacity: Option<i32>,
}

pub(super) async fn apply_to_room(
    state: &AppState,
    tx: &WriteTx,
    room: room::Model,
    change: RoomChange<'_>,
) -> Result<room::Model> {
    let id = room.id;
    let seal = |purpose: String, value: &str| state.sealer.seal_str(&purpose, value);
    let password = change
        .password
        .map(|p| validate::password("key", p))
        .transpose()?;
    let options = store::rooms::RoomSettings {
        password_sealed: password.map(|p| Some(seal(rooms::password_purpose(id), &p))),
        is_locked: change.lock,
        host_key_sealed: change
            .host_key
            .map(|k| seal(rooms::host_key_purpose(id), k)),
        capacity: change.capacity,
    };
    Ok(store::rooms::update_settings(tx.conn(), room, options, tx.now()).await?)
}
