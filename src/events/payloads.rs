//! The secrets an event payload may carry (a room's password and host key): taken out to be
//! stored sealed, put back for those allowed to see them.
use serde_json::Value;

/// Fields of a payload's `room` that let their holder in: stored sealed, never shown to readers
/// who may not see them (`domain::redaction`).
pub const SECRET_FIELDS: [&str; 2] = ["password", "hostKey"];

/// Remove the secrets from `payload`; returns them (`{"password"?, "hostKey"?}`), if any.
pub fn take_secrets(payload: &mut Value) -> Option<Value> {
    let room = payload.get_mut("room").and_then(Value::as_object_mut)?;
    let taken: serde_json::Map<String, Value> = SECRET_FIELDS
        .iter()
        .filter_map(|f| room.remove(*f).map(|v| (f.to_string(), v)))
        .collect();
    (!taken.is_empty()).then_some(Value::Object(taken))
}

/// Put secrets taken by [`take_secrets`] back.
pub fn put_secrets(payload: &mut Value, secrets: Value) {
    if let (Some(room), Value::Object(secrets)) = (
        payload.get_mut("room").and_then(Value::as_object_mut),
        secrets,
    ) {
        room.extend(secrets);
    }
}
