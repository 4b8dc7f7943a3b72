//! Bookings of an organisation: add, list, get, change, cancel.
use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::{
    ApiResponse, Object, OpenApi,
    param::{Path, Query},
    payload::Json,
};
use serde::Deserialize;
use uuid::Uuid;

use super::{
    Tag,
    body::JsonBody,
    hal::{Hal, HalPage, Links, Paging, links},
    problem::ApiResult,
    security::ClientAuth,
};
use crate::{
    domain::bookings::{self, BookingChange, BookingView, ListFilter, MeetingOptions, NewBooking},
    domain::{
        principal::Principal,
        redaction::{self, Reader},
    },
    state::AppState,
};

pub struct BookingsApi;

#[derive(Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct BookedOptions {
    /// Minutes.
    pub duration: i32,
    /// 1 conference, 2 webinar.
    #[oai(rename = "type")]
    pub room_type: i16,
    pub is_locked: bool,
    pub capacity: i32,
    /// The room password (null for dashboard viewers).
    #[oai(nullable)]
    pub key: Option<String>,
    /// The host key: join with it to be a host (null for dashboard viewers).
    #[oai(nullable)]
    pub host_key: Option<String>,
}

#[derive(Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct Booking {
    pub booking_id: i64,
    pub org_id: Uuid,
    pub domain: String,
    pub room_name: String,
    pub start_time: DateTime<Utc>,
    pub end_time: DateTime<Utc>,
    /// Minutes after the start by which somebody must have joined, or the booking expires
    /// (0: never).
    pub grace_minutes: i32,
    /// `scheduled`, `active`, `completed`, `expired` or `cancelled`.
    pub state: String,
    pub meeting_options: BookedOptions,
    #[oai(nullable)]
    pub activated_at: Option<DateTime<Utc>>,
    #[oai(nullable)]
    pub finished_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<BookingView> for Booking {
    fn from(v: BookingView) -> Self {
        Self {
            booking_id: v.id,
            org_id: v.org_id,
            domain: v.domain,
            room_name: v.room_name,
            start_time: v.start_time,
            end_time: v.end_time,
            grace_minutes: v.grace_minutes,
            state: v.state,
            meeting_options: BookedOptions {
                duration: v.duration_minutes,
                room_type: v.room_type,
                is_locked: v.is_locked,
                capacity: v.capacity,
                key: v.password,
                host_key: v.host_key,
            },
            activated_at: v.activated_at,
            finished_at: v.finished_at,
            created_at: v.created_at,
            updated_at: v.updated_at,
        }
    }
}

#[derive(Debug, Object, Deserialize, Default)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct MeetingOptionsInput {
    /// Minutes, 1-10080 (required when adding).
    #[oai(nullable)]
    #[oai(validator(minimum(value = "1"), maximum(value = "10080")))]
    pub duration: Option<i64>,
    /// Locked rooms admit hosts only.
    #[oai(nullable)]
    pub lock: Option<bool>,
    /// 1 conference (default), 2 webinar.
    #[oai(rename = "type")]
    #[serde(rename = "type")]
    #[oai(nullable)]
    #[oai(validator(minimum(value = "1"), maximum(value = "2")))]
    pub room_type: Option<i64>,
    #[oai(nullable)]
    #[oai(validator(minimum(value = "1"), maximum(value = "100000")))]
    pub capacity: Option<i64>,
    /// Room password.
    #[oai(nullable)]
    #[oai(validator(min_length = 1, max_length = 128))]
    pub key: Option<String>,
    /// Generate a host key (returned as `meetingOptions.hostKey`).
    #[oai(nullable)]
    pub add_host_key: Option<bool>,
}

impl From<MeetingOptionsInput> for MeetingOptions {
    fn from(o: MeetingOptionsInput) -> Self {
        Self {
            duration: o.duration,
            lock: o.lock,
            room_type: o.room_type,
            capacity: o.capacity,
            key: o.key,
            add_host_key: o.add_host_key.unwrap_or(false),
        }
    }
}

#[derive(Debug, Object, Deserialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct NewBookingInput {
    pub domain: String,
    #[oai(validator(pattern = r"^[A-Za-z0-9][A-Za-z0-9._~-]*$", max_length = 128))]
    pub room_name: String,
    /// RFC 3339, not in the past.
    pub start_time: DateTime<Utc>,
    pub meeting_options: MeetingOptionsInput,
    /// Default 15 (or the duration, if shorter); 0 never expires.
    #[oai(nullable)]
    #[oai(validator(minimum(value = "0"), maximum(value = "10080")))]
    pub grace_minutes: Option<i64>,
}

#[derive(Debug, Object, Deserialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct BookingPatch {
    /// A scheduled booking may move; an active one may not.
    #[oai(nullable)]
    pub start_time: Option<DateTime<Utc>>,
    #[oai(nullable)]
    pub meeting_options: Option<MeetingOptionsInput>,
    #[oai(nullable)]
    #[oai(validator(minimum(value = "0"), maximum(value = "10080")))]
    pub grace_minutes: Option<i64>,
}

#[derive(ApiResponse)]
pub enum Created {
    /// The room is booked.
    #[oai(status = 201)]
    Created(Json<Hal<Booking>>),
}

fn booking_links(org_id: Uuid, v: &BookingView) -> Links {
    let org = format!("/v1/orgs/{org_id}");
    links([
        ("self", format!("{org}/bookings/{}", v.id)),
        ("org", org.clone()),
        ("room", format!("{org}/rooms/{}/{}", v.domain, v.room_name)),
    ])
}

/// A booking as `principal` may see it (viewers see no password or host key).
fn resource(principal: &Principal, v: BookingView) -> Hal<Booking> {
    let v = redaction::shown_to(Reader::from(principal), v);
    let l = booking_links(v.org_id, &v);
    Hal::new(v.into(), l)
}

#[OpenApi(tag = "Tag::Bookings")]
impl BookingsApi {
    /// List bookings
    #[oai(
        path = "/v1/orgs/:orgId/bookings",
        method = "get",
        operation_id = "listBookings"
    )]
    #[allow(clippy::too_many_arguments)] // one per extractor
    async fn list(
        &self,
        state: Data<&AppState>,
        auth: ClientAuth,
        #[oai(name = "orgId")] org_id: Path<Uuid>,
        domain: Query<Option<String>>,
        #[oai(name = "roomName")] room_name: Query<Option<String>>,
        /// scheduled, active, completed, expired or cancelled.
        #[oai(name = "state")]
        state_filter: Query<Option<String>>,
        /// Bookings starting at or after this time.
        from: Query<Option<DateTime<Utc>>>,
        /// Bookings starting before this time.
        to: Query<Option<DateTime<Utc>>>,
        #[oai(validator(minimum(value = "0")))] page: Query<Option<u64>>,
        #[oai(validator(minimum(value = "1"), maximum(value = "500")))] count: Query<Option<u64>>,
    ) -> ApiResult<Json<HalPage<Booking>>> {
        auth.principal().require_org(org_id.0)?;
        let paging = Paging::new(page.0, count.0);
        let filter = ListFilter {
            domain: domain.0.clone(),
            room_name: room_name.0.clone(),
            state: state_filter.0.clone(),
            holding: false,
            from: from.0,
            to: to.0,
        };
        let (views, more) = bookings::list(&state, org_id.0, filter, paging.window()).await?;
        let reader = Reader::from(auth.principal());
        Ok(Json(HalPage::new(
            views
                .into_iter()
                .map(|v| Booking::from(redaction::shown_to(reader, v)))
                .collect(),
            paging,
            &format!("/v1/orgs/{}/bookings", org_id.0),
            &[
                ("domain", domain.0),
                ("roomName", room_name.0),
                ("state", state_filter.0),
                ("from", from.0.map(|t| t.to_rfc3339())),
                ("to", to.0.map(|t| t.to_rfc3339())),
            ],
            more,
        )))
    }

    /// Book a room
    ///
    /// Refused with 409 `booking_conflict` (naming the other booking) when it overlaps another
    /// booking of the room; back-to-back bookings are fine.
    #[oai(
        path = "/v1/orgs/:orgId/bookings",
        method = "post",
        operation_id = "createBooking"
    )]
    async fn add(
        &self,
        state: Data<&AppState>,
        auth: ClientAuth,
        #[oai(name = "orgId")] org_id: Path<Uuid>,
        body: JsonBody<NewBookingInput>,
    ) -> ApiResult<Created> {
        auth.principal().require_org(org_id.0)?;
        let b = body.0;
        let v = bookings::add(
            &state,
            auth.principal(),
            NewBooking {
                domain: b.domain,
                room_name: b.room_name,
                start_time: b.start_time,
                options: b.meeting_options.into(),
                grace_minutes: b.grace_minutes,
            },
        )
        .await?;
        Ok(Created::Created(Json(resource(auth.principal(), v))))
    }

    /// Get a booking
    #[oai(
        path = "/v1/orgs/:orgId/bookings/:bookingId",
        method = "get",
        operation_id = "getBooking"
    )]
    async fn get(
        &self,
        state: Data<&AppState>,
        auth: ClientAuth,
        #[oai(name = "orgId")] org_id: Path<Uuid>,
        #[oai(name = "bookingId")] booking_id: Path<i64>,
    ) -> ApiResult<Json<Hal<Booking>>> {
        auth.principal().require_org(org_id.0)?;
        let v = bookings::get(&state, org_id.0, booking_id.0).await?;
        Ok(Json(resource(auth.principal(), v)))
    }

    /// Change a booking
    ///
    /// Refused once the booking is completed, expired or cancelled (409 `booking_finished`).
    #[oai(
        path = "/v1/orgs/:orgId/bookings/:bookingId",
        method = "patch",
        operation_id = "updateBooking"
    )]
    async fn update(
        &self,
        state: Data<&AppState>,
        auth: ClientAuth,
        #[oai(name = "orgId")] org_id: Path<Uuid>,
        #[oai(name = "bookingId")] booking_id: Path<i64>,
        body: JsonBody<BookingPatch>,
    ) -> ApiResult<Json<Hal<Booking>>> {
        auth.principal().require_org(org_id.0)?;
        let b = body.0;
        let change = BookingChange {
            start_time: b.start_time,
            options: b.meeting_options.map(Into::into),
            grace_minutes: b.grace_minutes,
        };
        let v = bookings::update(&state, &auth.by(), booking_id.0, change).await?;
        Ok(Json(resource(auth.principal(), v)))
    }

    /// Cancel a booking
    ///
    /// An active booking's room is closed, its peers removed.
    #[oai(
        path = "/v1/orgs/:orgId/bookings/:bookingId",
        method = "delete",
        operation_id = "cancelBooking"
    )]
    async fn cancel(
        &self,
        state: Data<&AppState>,
        auth: ClientAuth,
        #[oai(name = "orgId")] org_id: Path<Uuid>,
        #[oai(name = "bookingId")] booking_id: Path<i64>,
    ) -> ApiResult<Json<Hal<Booking>>> {
        auth.principal().require_org(org_id.0)?;
        let v = bookings::cancel(&state, &auth.by(), booking_id.0).await?;
        Ok(Json(resource(auth.principal(), v)))
    }
}
