//! Bookings: a room reserved from `startTime` for `duration` minutes with meeting options.
//! States: scheduled → active → completed, scheduled → expired (nobody came within the
//! grace), scheduled|active → cancelled. Two bookings of one room never overlap; while one
//! holds the room (scheduled or active), nobody else may initialise it.
use crate::error::Code;
use chrono::{DateTime, TimeDelta, Utc};
use uuid::Uuid;

use serde_json::json;

use super::{
    audit::{self, Action, AuditAction, By},
    domains, event_payloads,
    principal::Principal,
    room_model::{RoomOptions, RoomType},
    rooms::{self, RoomSpec},
    validate,
};
use crate::{
    auth::seal::Sealer,
    error::{Error, Result},
    events::{EventKind, tx::WriteTx},
    state::AppState,
    store::{
        self, Window,
        entities::{booking, domain},
    },
};

pub use crate::store::entities::booking::BookingState;

/// The error code of a change to a booking that no longer holds its room.
pub const FINISHED_CODE: Code = Code::BookingFinished;
/// Longest booking: one week.
pub const MAX_DURATION_MINUTES: i64 = 7 * 24 * 60;
pub const DEFAULT_GRACE_MINUTES: i64 = 15;

#[derive(Debug, Clone, Default)]
pub struct MeetingOptions {
    pub duration: Option<i64>,
    pub lock: Option<bool>,
    pub room_type: Option<i64>,
    pub capacity: Option<i64>,
    pub key: Option<String>,
    pub add_host_key: bool,
}

#[derive(Debug, Clone)]
pub struct NewBooking {
    pub domain: String,
    pub room_name: String,
    pub start_time: DateTime<Utc>,
    pub options: MeetingOptions,
    pub grace_minutes: Option<i64>,
}

#[derive(Debug, Clone, Default)]
pub struct BookingChange {
    pub start_time: Option<DateTime<Utc>>,
    pub options: Option<MeetingOptions>,
    pub grace_minutes: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookingView {
    pub id: i64,
    pub org_id: Uuid,
    pub domain: String,
    pub room_name: String,
    pub start_time: DateTime<Utc>,
    pub end_time: DateTime<Utc>,
    pub duration_minutes: i32,
    pub grace_minutes: i32,
    pub room_type: i16,
    pub is_locked: bool,
    pub capacity: i32,
    pub password: Option<String>,
    pub host_key: Option<String>,
    pub state: String,
    pub activated_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub(super) fn password_purpose(id: i64) -> String {
    format!("bookings.password:{id}")
}
pub(super) fn host_key_purpose(id: i64) -> String {
    format!("bookings.host_key:{id}")
}

pub fn view(sealer: &Sealer, b: booking::Model, domain: &str) -> Result<BookingView> {
    Ok(BookingView {
        password: rooms::open(sealer, password_purpose(b.id), &b.password_sealed)?,
        host_key: rooms::open(sealer, host_key_purpose(b.id), &b.host_key_sealed)?,
        id: b.id,
        org_id: b.org_id,
        domain: domain.to_string(),
        room_name: b.room_name,
        start_time: b.start_time,
        end_time: b.end_time,
        duration_minutes: b.duration_minutes,
        grace_minutes: b.grace_minutes,
        room_type: b.room_type,
        is_locked: b.is_locked,
        capacity: b.capacity,
        state: b.state.to_string(),
        activated_at: b.activated_at,
        finished_at: b.finished_at,
        created_at: b.created_at,
        updated_at: b.updated_at,
    })
}

/// The options a booked room is created with.
pub(super) fn room_spec(state: &AppState, b: &booking::Model) -> Result<RoomSpec> {
    Ok(RoomSpec {
        room_type: RoomType::from_code(i64::from(b.room_type))?,
        lock: b.is_locked,
        password: rooms::open(&state.sealer, password_purpose(b.id), &b.password_sealed)?,
        capacity: b.capacity,
        host_key: rooms::open(&state.sealer, host_key_purpose(b.id), &b.host_key_sealed)?,
        session: false,
        lobby: false,
    })
}

// The checks a booking's values pass, shared by creating and changing one, so both answer
// the same mistake with the same message.

fn duration(d: Option<i64>) -> Result<i64> {
    checked_duration(d.ok_or_else(|| Error::invalid("meetingOptions.duration", "is required"))?)
}

pub(super) fn checked_duration(d: i64) -> Result<i64> {
    if !(1..=MAX_DURATION_MINUTES).contains(&d) {
        return Err(Error::invalid(
            "meetingOptions.duration",
            format!("must be 1-{MAX_DURATION_MINUTES} minutes"),
        ));
    }
    Ok(d)
}

fn grace(g: Option<i64>, duration: i64) -> Result<i64> {
    checked_grace(g.unwrap_or(DEFAULT_GRACE_MINUTES.min(duration)), duration)
}

pub(super) fn checked_grace(g: i64, duration: i64) -> Result<i64> {
    if !(0..=duration).contains(&g) {
        return Err(Error::invalid(
            "graceMinutes",
            "must be between 0 and the duration (0: never expire)",
        ));
    }
    Ok(g)
}

/// When a booking from `start` for `minutes` ends. Times are written as RFC 3339, whose
/// years have four digits, so a booking must end by 9999-12-31T23:59:59Z.
pub(super) fn end_of(start: DateTime<Utc>, minutes: i64) -> Result<DateTime<Utc>> {
    let latest = chrono::NaiveDate::from_ymd_opt(9999, 12, 31)
        .and_then(|d| d.and_hms_opt(23, 59, 59))
        .map(|t| t.and_utc());
    start
        .checked_add_signed(TimeDelta::minutes(minutes))
        .filter(|end| latest.is_some_and(|latest| *end <= latest))
        .ok_or_else(|| Error::invalid("startTime", "the booking must end by 9999-12-31T23:59:59Z"))
}

pub(super) fn not_in_past(start: DateTime<Utc>, now: DateTime<Utc>) -> Result<()> {
    if start < now {
        return Err(Error::invalid("startTime", "must not be in the past"));
    }
    Ok(())
}

/// When the scheduler must look at an active booking next: the grace check (if a grace
/// applies and has not passed), else the end.
pub(super) fn active_due(b: &booking::Model) -> DateTime<Utc> {
    let grace_end = b.start_time + TimeDelta::minutes(i64::from(b.grace_minutes));
    if b.grace_minutes > 0 && grace_end < b.end_time {
        grace_end
    } else {
        b.end_time
    }
}

pub(super) async fn refuse_overlap(
    tx: &WriteTx,
    domain: &domain::Model,
    room_name: &str,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    except: Option<i64>,
) -> Result<()> {
    if let Some(other) =
        store::bookings::overlapping(tx.conn(), domain.id, room_name, start, end, except).await?
    {
        return Err(Error::conflict(
            Code::BookingConflict,
            format!(
                "the room is already booked from {} to {} by booking {}",
                other.start_time.to_rfc3339(),
                other.end_time.to_rfc3339(),
                other.id
            ),
        ));
    }
    Ok(())
}

pub async fn add(state: &AppState, principal: &Principal, new: NewBooking) -> Result<BookingView> {
    let room_name = validate::room_name("roomName", &new.room_name)?;
    let now = state.now();
    not_in_past(new.start_time, now)?;
    let duration = duration(new.options.duration)?;
    let grace = grace(new.grace_minutes, duration)?;
    let spec = RoomSpec::from_options(
        &RoomOptions {
            room_type: new.options.room_type,
            lock: new.options.lock,
            password: new.options.key.clone(),
            add_host_key: new.options.add_host_key,
            capacity: new.options.capacity,
            lobby: None,
        },
        state.config.max_room_capacity,
    )
    .map_err(|e| prefix_field(e, "meetingOptions."))?;
    let end = end_of(new.start_time, duration)?;
    let tx = WriteTx::begin(state).await?;
    let domain = domains::find_model(tx.conn(), principal.org_id, &new.domain).await?;
    // Serialise bookings of this domain so two overlapping adds cannot both pass the check.
    store::domains::lock(tx.conn(), domain.id).await?;
    refuse_overlap(&tx, &domain, &room_name, new.start_time, end, None).await?;
    let model = store::bookings::insert(
        tx.conn(),
        store::bookings::NewBooking {
            org_id: principal.org_id,
            domain_id: domain.id,
            room_name,
            client_id: principal.client_id(),
            start_time: new.start_time,
            end_time: end,
            duration_minutes: duration as i32,
            grace_minutes: grace as i32,
            room_type: spec.room_type.code(),
            is_locked: spec.lock,
            capacity: spec.capacity,
            due_at: new.start_time,
            now,
        },
    )
    .await?;
    // Sealed values are bound to the row id, known only now.
    let id = model.id;
    let password = spec
        .password
        .map(|p| state.sealer.seal_str(&password_purpose(id), &p));
    let host_key = spec
        .host_key
        .map(|k| state.sealer.seal_str(&host_key_purpose(id), &k));
    let model = store::bookings::set_sealed(tx.conn(), model, password, host_key).await?;
    let view = view(&state.sealer, model, &domain.name)?;
    let room = format!("{}/{}", view.domain, view.room_name);
    let action = Action::new(AuditAction::BookingCreated, view.id)
        .detail(json!({"room": room, "startTime": view.start_time}));
    audit::write(tx.conn(), now, &By::from(principal), action).await?;
    tx.commit().await?;
    Ok(view)
}

/// A booked room's type and capacity pass the rules of a room's, named as booking fields.
pub(super) fn checked_room_type(code: i64) -> Result<RoomType> {
    RoomType::from_code(code).map_err(|e| prefix_field(e, "meetingOptions."))
}

pub(super) fn checked_capacity(capacity: i64, max: u32) -> Result<i32> {
    rooms::capacity(Some(capacity), max).map_err(|e| prefix_field(e, "meetingOptions."))
}

/// Rename a validation error's field, e.g. `capacity` → `meetingOptions.capacity`.
fn prefix_field(e: Error, prefix: &str) -> Error {
    match e {
        Error::Invalid { field, message } => Error::Invalid {
            field: format!("{prefix}{field}"),
            message,
        },
        other => other,
    }
}

pub async fn find(state: &AppState, org_id: Uuid, id: i64) -> Result<(booking::Model, String)> {
    let b = store::bookings::find_in_org(&state.db, org_id, id, false)
        .await?
        .ok_or(Error::not_found("booking"))?;
    let domain = store::domains::find_by_id(&state.db, b.domain_id)
        .await?
        .ok_or(Error::not_found("booking"))?;
    Ok((b, domain.name))
}

pub async fn get(state: &AppState, org_id: Uuid, id: i64) -> Result<BookingView> {
    let (b, domain) = find(state, org_id, id).await?;
    view(&state.sealer, b, &domain)
}

/// A booking as surfaces without booking states (xroom) see it: one that no longer holds its
/// room (cancelled, completed, expired) is gone.
pub async fn get_holding(state: &AppState, org_id: Uuid, id: i64) -> Result<BookingView> {
    let (b, domain) = find(state, org_id, id).await?;
    if !b.state.holds_room() {
        return Err(Error::not_found("booking"));
    }
    view(&state.sealer, b, &domain)
}

/// The error of changing a booking that no longer holds its room, as surfaces without booking
/// states see it: the booking is gone.
pub fn gone_if_finished(e: Error) -> Error {
    match e {
        Error::Conflict {
            code: FINISHED_CODE,
            ..
        } => Error::not_found("booking"),
        other => other,
    }
}

#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub domain: Option<String>,
    pub room_name: Option<String>,
    pub state: Option<String>,
    /// Only bookings that hold their room (scheduled or active).
    pub holding: bool,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

pub async fn list(
    state: &AppState,
    org_id: Uuid,
    f: ListFilter,
    window: Window,
) -> Result<(Vec<BookingView>, bool)> {
    let state_filter = match f.state.as_deref() {
        None => None,
        Some(s) => Some(BookingState::parse(s).ok_or_else(|| {
            let all: Vec<&str> = BookingState::ALL.iter().map(|s| s.as_str()).collect();
            Error::invalid("state", format!("must be one of {}", all.join(", ")))
        })?),
    };
    let domain = match &f.domain {
        Some(d) => Some(domains::find_model(&state.db, org_id, d).await?),
        None => None,
    };
    let filter = store::bookings::Filter {
        domain_id: domain.as_ref().map(|d| d.id),
        room_name: f.room_name,
        state: state_filter,
        holding: f.holding,
        from: f.from,
        to: f.to,
    };
    let rows = store::bookings::list(&state.db, org_id, filter, window).await?;
    let (rows, more) = window.split(rows);
    let mut views = Vec::with_capacity(rows.len());
    for b in rows {
        let name = match &domain {
            Some(d) => d.name.clone(),
            None => store::domains::find_by_id(&state.db, b.domain_id)
                .await?
                .map(|d| d.name)
                .unwrap_or_default(),
        };
        views.push(view(&state.sealer, b, &name)?);
    }
    Ok((views, more))
}

pub use super::booking_changes::{cancel, update};

/// Emit a booking event (outside the room's sequence).
pub(super) async fn emit(
    state: &AppState,
    tx: &mut WriteTx,
    domain: &domain::Model,
    b: &booking::Model,
    kind: EventKind,
) -> Result<()> {
    let v = view(&state.sealer, b.clone(), &domain.name)?;
    tx.emit_unsequenced(domain, &b.room_name, kind, event_payloads::booking(&v))
        .await
}
