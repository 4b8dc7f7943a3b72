//! What a browser may say to Janus through meetplane's Janus socket, and what meetplane adds.
//! Every frame gets the `apisecret` and the peer's own token; only the requests a meeting
//! page needs pass (a VideoRoom session: create, attach, the participant's own messages,
//! trickle, keepalive, detach, hangup, destroy). A join is held to the peer's own room; a
//! publisher joins under its peer id and name, and every join carries the room's pin (a
//! webinar's). A viewer's
//! publisher join passes unchanged otherwise: Janus refuses it (433), since the viewer's
//! token is not on the room's allowed list.
use serde_json::{Value, json};

use super::{media_rooms::JanusSeat, signalling::Budget};
use crate::media::janus::VIDEOROOM;

/// Janus API requests a page may send.
const REQUESTS: &[&str] = &[
    "create",
    "attach",
    "message",
    "trickle",
    "keepalive",
    "detach",
    "hangup",
    "destroy",
];

/// VideoRoom requests of a participant (never the room's administration: create, destroy,
/// allowed, kick, moderate, …).
const ROOM_REQUESTS: &[&str] = &[
    "join",
    "joinandconfigure",
    "configure",
    "publish",
    "unpublish",
    "start",
    "pause",
    "switch",
    "update",
    "subscribe",
    "unsubscribe",
    "leave",
];

/// The frame to forward to Janus, or the error frame to answer the browser with.
pub fn admit(seat: &JanusSeat, api_secret: &str, text: &str) -> Result<String, String> {
    let mut frame: Value = match serde_json::from_str(text) {
        Ok(v @ Value::Object(_)) => v,
        _ => return Err(refusal(&Value::Null, "a frame must be a JSON object")),
    };
    let request = frame["janus"].as_str().unwrap_or_default().to_string();
    if !REQUESTS.contains(&request.as_str()) {
        return Err(refusal(
            &frame,
            &format!("the request {request:?} is not allowed here"),
        ));
    }
    match request.as_str() {
        "attach" => {
            if frame["plugin"] != VIDEOROOM {
                return Err(refusal(
                    &frame,
                    "only janus.plugin.videoroom may be attached",
                ));
            }
            frame["opaque_id"] = json!(seat.peer_id.to_string());
        }
        "message" => {
            let body = frame.get_mut("body").filter(|b| b.is_object());
            let Some(body) = body else {
                return Err(refusal(&frame, "a message needs a body object"));
            };
            let room_request = body["request"].as_str().unwrap_or_default().to_string();
            if !ROOM_REQUESTS.contains(&room_request.as_str()) {
                return Err(refusal(
                    &frame,
                    &format!("the VideoRoom request {room_request:?} is not allowed here"),
                ));
            }
            held_to_seat(seat, body, &room_request);
        }
        _ => {}
    }
    frame["apisecret"] = json!(api_secret);
    frame["token"] = json!(seat.token);
    Ok(frame.to_string())
}

/// Force the room (and for a join who joins, or with what pin) onto a VideoRoom request.
fn held_to_seat(seat: &JanusSeat, body: &mut Value, request: &str) {
    if body.get("room").is_some() || request.starts_with("join") {
        body["room"] = json!(seat.room);
    }
    if !request.starts_with("join") {
        return;
    }
    // The pin guards every join of a webinar's room, the hosts' too.
    if let Some(pin) = &seat.pin {
        body["pin"] = json!(pin);
    }
    // The allowed list is checked against the join's own `token`: a viewer's is not on it.
    if body["ptype"] == "publisher" {
        body["id"] = json!(seat.peer_id.to_string());
        body["display"] = json!(seat.display);
        body["token"] = json!(seat.token);
    }
}

/// Frames a page may send to Janus per second, and in a burst: a join with its candidates and
/// a subscription per feed are a few dozen; a keepalive every 25 s.
pub const PER_SECOND: u32 = 50;
pub const BURST: u32 = 300;

/// What one page may still send to Janus.
pub fn budget() -> Budget {
    Budget::new(PER_SECOND, BURST, "frames to the media server")
}

/// The error frame answering `text` when the page's budget is spent (429, like Janus's own
/// errors, with the request's transaction), or `None` while it lasts.
pub fn over_budget(budget: &Budget, text: &str) -> Option<String> {
    let refused = budget.take().err()?;
    let frame: Value = serde_json::from_str(text).unwrap_or(Value::Null);
    Some(error_frame(&frame, 429, &refused.to_string()))
}

/// A Janus-style error frame answering `frame`'s transaction.
fn refusal(frame: &Value, reason: &str) -> String {
    error_frame(frame, 403, reason)
}

fn error_frame(frame: &Value, code: u16, reason: &str) -> String {
    let mut error = json!({"janus": "error", "error": {"code": code, "reason": reason}});
    if let Some(t) = frame.get("transaction") {
        error["transaction"] = t.clone();
    }
    if let Some(s) = frame.get("session_id") {
        error["session_id"] = s.clone();
    }
    error.to_string()
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;
    use crate::domain::media_rooms::JanusRole;

    fn seat(pin: Option<&str>) -> JanusSeat {
        JanusSeat {
            room: "room-1".into(),
            role: JanusRole::Publisher,
            peer_id: Uuid::nil(),
            display: "Ada".into(),
            token: "mpj_token".into(),
            pin: pin.map(str::to_string),
        }
    }

    fn admitted(seat: &JanusSeat, frame: Value) -> Value {
        serde_json::from_str(&admit(seat, "api", &frame.to_string()).unwrap()).unwrap()
    }

    #[test]
    fn a_page_past_its_budget_is_answered_429_in_its_transaction() {
        let budget = budget();
        let frame = r#"{"janus": "trickle", "transaction": "t1"}"#;
        for _ in 0..BURST {
            assert_eq!(over_budget(&budget, frame), None);
        }
        let refused: Value = serde_json::from_str(&over_budget(&budget, frame).unwrap()).unwrap();
        assert_eq!(
            (
                refused["error"]["code"].clone(),
                refused["transaction"].clone()
            ),
            (json!(429), json!("t1"))
        );
    }

    #[test]
    fn secrets_are_added_and_joins_held_to_the_seat() {
        let s = seat(Some("the-pin"));
        let f = admitted(&s, json!({"janus": "create", "transaction": "a"}));
        assert_eq!(
            (f["apisecret"].clone(), f["token"].clone()),
            (json!("api"), json!("mpj_token"))
        );
        let f = admitted(
            &s,
            json!({"janus": "attach", "plugin": VIDEOROOM, "opaque_id": "me", "transaction": "b"}),
        );
        assert_eq!(f["opaque_id"], Uuid::nil().to_string());
        let join = json!({"janus": "message", "transaction": "c",
            "body": {"request": "join", "ptype": "publisher", "room": "other", "id": "x", "display": "Eve"}});
        let f = admitted(&s, join);
        assert_eq!(f["body"]["room"], "room-1");
        assert_eq!(f["body"]["id"], Uuid::nil().to_string());
        assert_eq!(f["body"]["display"], "Ada");
        let sub = json!({"janus": "message", "body": {"request": "join", "ptype": "subscriber",
            "streams": [{"feed": "h"}]}});
        let f = admitted(&s, sub);
        assert_eq!(
            (f["body"]["room"].clone(), f["body"]["pin"].clone()),
            (json!("room-1"), json!("the-pin"))
        );
    }

    #[test]
    fn anything_else_is_refused_with_a_janus_error() {
        let s = seat(None);
        for frame in [
            json!({"janus": "info", "transaction": "t"}),
            json!({"janus": "attach", "plugin": "janus.plugin.echotest", "transaction": "t"}),
            json!({"janus": "message", "transaction": "t", "body": {"request": "kick", "id": "x"}}),
            json!({"janus": "message", "transaction": "t", "body": {"request": "create"}}),
            json!({"janus": "message", "transaction": "t"}),
        ] {
            let refused: Value =
                serde_json::from_str(&admit(&s, "api", &frame.to_string()).unwrap_err()).unwrap();
            assert_eq!(refused["janus"], "error", "{frame}");
            assert_eq!(refused["error"]["code"], 403, "{frame}");
            assert_eq!(refused["transaction"], "t", "{frame}");
        }
        assert!(admit(&s, "api", "[1]").is_err());
    }
}
