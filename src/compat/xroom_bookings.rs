//! The xroom `booking` collection: the seed's shapes for bookings, over the domain's rules.
use chrono::{DateTime, SecondsFormat, TimeZone, Utc};
use poem::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{
    xroom::{Failure, Outcome},
    xroom_methods::{ALL, ById, parse, unknown_method},
};
use crate::{
    domain::{
        audit::By,
        bookings::{self, BookingChange, BookingView, ListFilter, MeetingOptions, NewBooking},
        principal::Principal,
        redaction,
    },
    state::AppState,
};

pub(super) async fn dispatch(
    state: &AppState,
    who: &Principal,
    method: &str,
    data: Value,
) -> Outcome {
    match method {
        "add" => booking_add(state, who, parse(data)?).await,
        "remove" => {
            let b: ById = parse(data)?;
            bookings::cancel(state, &By::from(who), b.id)
                .await
                .map_err(bookings::gone_if_finished)?;
            Ok(json!(true))
        }
        "update" => booking_update(state, who, parse(data)?).await,
        "list" => {
            let l: ByDomain = parse(data)?;
            // The manual's bookings have no state: only those holding their room exist.
            let filter = ListFilter {
                domain: Some(l.domain),
                holding: true,
                ..Default::default()
            };
            let (views, _) = bookings::list(state, who.org_id, filter, ALL).await?;
            Ok(Value::Array(
                views
                    .into_iter()
                    .map(|v| booking_object(redaction::shown_to(who.into(), v)))
                    .collect(),
            ))
        }
        "get" => {
            let b: ById = parse(data)?;
            let v = bookings::get_holding(state, who.org_id, b.id).await?;
            Ok(booking_object(redaction::shown_to(who.into(), v)))
        }
        _ => Err(unknown_method("booking", method)),
    }
}

#[derive(Deserialize)]
struct ByDomain {
    domain: String,
}

/// A time "in JS format": an ISO 8601 string or epoch milliseconds.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum JsTime {
    Millis(i64),
    Text(String),
}

impl JsTime {
    fn parse(&self, field: &str) -> Result<DateTime<Utc>, Failure> {
        let bad = || {
            Failure(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("data.{field}: must be an ISO 8601 time or epoch milliseconds"),
            )
        };
        match self {
            JsTime::Millis(ms) => Utc.timestamp_millis_opt(*ms).single().ok_or_else(bad),
            JsTime::Text(s) => DateTime::parse_from_rfc3339(s.trim())
                .map(|t| t.with_timezone(&Utc))
                .map_err(|_| bad()),
        }
    }
}

fn js(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Options {
    duration: Option<i64>,
    lock: Option<bool>,
    #[serde(rename = "type")]
    room_type: Option<i64>,
    capacity: Option<i64>,
    key: Option<String>,
    add_host_key: Option<bool>,
}

impl From<Options> for MeetingOptions {
    fn from(o: Options) -> Self {
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

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BookingAdd {
    domain: String,
    room_name: String,
    start_time: JsTime,
    meeting_options: Options,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BookingUpdate {
    id: i64,
    start_time: Option<JsTime>,
    meeting_options: Option<Options>,
}

async fn booking_add(state: &AppState, who: &Principal, b: BookingAdd) -> Outcome {
    let start_time = b.start_time.parse("startTime")?;
    let v = bookings::add(
        state,
        who,
        NewBooking {
            domain: b.domain,
            room_name: b.room_name,
            start_time,
            options: b.meeting_options.into(),
            grace_minutes: None,
        },
    )
    .await?;
    let mut out = json!({"id": v.id});
    if let Some(key) = v.host_key {
        out["hostKey"] = key.into();
    }
    Ok(out)
}

async fn booking_update(state: &AppState, who: &Principal, b: BookingUpdate) -> Outcome {
    let start_time = b.start_time.map(|t| t.parse("startTime")).transpose()?;
    let v = bookings::update(
        state,
        &By::from(who),
        b.id,
        BookingChange {
            start_time,
            options: b.meeting_options.map(Into::into),
            grace_minutes: None,
        },
    )
    .await
    .map_err(bookings::gone_if_finished)?;
    let mut out = json!({});
    if let Some(key) = v.host_key {
        out["hostKey"] = key.into();
    }
    Ok(out)
}

fn booking_object(v: BookingView) -> Value {
    let mut options = json!({
        "duration": v.duration_minutes,
        "type": v.room_type,
        "isLocked": v.is_locked,
        "capacity": v.capacity,
    });
    if let Some(p) = v.password {
        options["password"] = p.into();
    }
    if let Some(k) = v.host_key {
        options["hostKey"] = k.into();
    }
    json!({
        "id": v.id,
        "domainName": v.domain,
        "roomName": v.room_name,
        "startTime": js(v.start_time),
        "meetingOptions": options,
    })
}
