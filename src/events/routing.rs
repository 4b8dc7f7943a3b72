//! Which webhooks an event goes to: the webhook's room and event filters, as stored.
use super::EventKind;
use crate::store::entities::webhook;

/// The event names a webhook asked for (`None`: all of them).
pub fn subscribed_events(w: &webhook::Model) -> Option<Vec<String>> {
    w.events
        .as_deref()
        .and_then(|e| serde_json::from_str(e).ok())
}

/// Whether an event of `kind` in `room` (None: domain-wide) goes to this webhook.
pub fn goes_to(w: &webhook::Model, room: Option<&str>, kind: EventKind) -> bool {
    let room_ok = match (&w.room_name, room) {
        (None, _) => true,
        (Some(wanted), Some(room)) => wanted == room,
        (Some(_), None) => false,
    };
    let kind_ok = subscribed_events(w).is_none_or(|names| names.iter().any(|n| n == kind.as_str()));
    w.status == webhook::WebhookStatus::Active && w.validated && room_ok && kind_ok
}
