//! The chat-bridge checksum (seed 000, PROTOCOLS.md): lowercase hex SHA-512 of
//! `call + json + shared_secret + unix_seconds`, where `json` is Python's `json.dumps` of the
//! body without its `checksum`. A checksum is good for a window of seconds around now, so
//! checking it tries each second of the window.
use sha2::{Digest, Sha512};
use subtle::ConstantTimeEq;

use super::python_json::{PyValue, dumps};

pub fn compute(call: &str, json: &str, secret: &str, unix_seconds: i64) -> String {
    let mut h = Sha512::new();
    h.update(call.as_bytes());
    h.update(json.as_bytes());
    h.update(secret.as_bytes());
    h.update(unix_seconds.to_string().as_bytes());
    hex::encode(h.finalize())
}

/// A body as the seed's server sends it: the fields, then their `checksum` under `secret`.
pub fn signed_body(call: &str, fields: &[(&str, &str)], secret: &str, unix_seconds: i64) -> String {
    let mut items: Vec<(String, PyValue)> = fields
        .iter()
        .map(|(k, v)| (k.to_string(), PyValue::Str(v.to_string())))
        .collect();
    let checksum = compute(
        call,
        &dumps(&PyValue::Dict(items.clone())),
        secret,
        unix_seconds,
    );
    items.push(("checksum".into(), PyValue::Str(checksum)));
    dumps(&PyValue::Dict(items))
}

/// A checksum to check against candidate secrets. The call and body are hashed once, so
/// trying many secrets (a caller that names no client, see `domain::chat_bridge_auth`) costs
/// a short hash per secret and second rather than the whole body again each time.
pub struct Checksum {
    /// SHA-512 state after `call + json`.
    covered: Sha512,
    /// The digest the caller sent; `None` when it is not 128 hex digits (nothing matches).
    given: Option<[u8; 64]>,
}

impl Checksum {
    pub fn new(call: &str, json: &str, given: &str) -> Self {
        let mut covered = Sha512::new();
        covered.update(call.as_bytes());
        covered.update(json.as_bytes());
        let mut digest = [0u8; 64];
        let given = hex::decode_to_slice(given.trim(), &mut digest)
            .ok()
            .map(|()| digest);
        Self { covered, given }
    }

    /// Whether it was made with `secret` at a second in `now - delta ..= now + delta`.
    pub fn made_with(&self, secret: &str, now: i64, delta: i64) -> bool {
        let Some(given) = &self.given else {
            return false;
        };
        let mut keyed = self.covered.clone();
        keyed.update(secret.as_bytes());
        let mut found = false;
        // Every second is checked (no early exit), so timing does not tell which one matched.
        for t in now - delta..=now + delta {
            let mut h = keyed.clone();
            h.update(t.to_string().as_bytes());
            found |= bool::from(h.finalize().as_slice().ct_eq(given));
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const JSON: &str = r#"{"jid_room": "talk@conference.localhost"}"#;

    fn verify(call: &str, json: &str, secret: &str, given: &str, now: i64, delta: i64) -> bool {
        Checksum::new(call, json, given).made_with(secret, now, delta)
    }

    /// Computed independently with Python: `hashlib.sha512(("startChatForRoom" + json +
    /// "change_me" + "1700000000").encode()).hexdigest()`.
    #[test]
    fn python_vector() {
        assert_eq!(
            compute("startChatForRoom", JSON, "change_me", 1_700_000_000),
            "c5244f8aaccea08600a718ae7abd0b2d0a9fbd7da4d0bc7c25fd9226f318f9e3768d6b740da7663e38b5ae45f7a224a3635f0189e47c50b56140c5b3e2fb936a"
        );
    }

    #[test]
    fn signed_body_is_what_python_sends() {
        let body = signed_body(
            "sendChatMessage",
            &[("user_name", "Zoë"), ("message", "hi")],
            "k",
            1,
        );
        let expected = compute(
            "sendChatMessage",
            r#"{"user_name": "Zo\u00eb", "message": "hi"}"#,
            "k",
            1,
        );
        assert_eq!(
            body,
            format!(r#"{{"user_name": "Zo\u00eb", "message": "hi", "checksum": "{expected}"}}"#)
        );
    }

    #[test]
    fn accepted_within_the_window_only() {
        let now = 1_700_000_000;
        for offset in [-5, -1, 0, 3, 5] {
            let c = compute("startChatForRoom", JSON, "s3cret", now + offset);
            assert!(
                verify("startChatForRoom", JSON, "s3cret", &c, now, 5),
                "{offset}"
            );
            assert!(verify(
                "startChatForRoom",
                JSON,
                "s3cret",
                &c.to_uppercase(),
                now,
                5
            ));
        }
        for offset in [-6, 6, -60] {
            let c = compute("startChatForRoom", JSON, "s3cret", now + offset);
            assert!(
                !verify("startChatForRoom", JSON, "s3cret", &c, now, 5),
                "{offset}"
            );
        }
        let c = compute("startChatForRoom", JSON, "s3cret", now);
        assert!(!verify("startChatForRoom", JSON, "other", &c, now, 5));
        assert!(!verify("endChatForRoom", JSON, "s3cret", &c, now, 5));
        assert!(!verify("startChatForRoom", "{}", "s3cret", &c, now, 5));
        assert!(!verify("startChatForRoom", JSON, "s3cret", "", now, 5));
        assert!(!verify(
            "startChatForRoom",
            JSON,
            "s3cret",
            &c[..126],
            now,
            5
        ));
        assert!(!verify(
            "startChatForRoom",
            JSON,
            "s3cret",
            &format!("{c}00"),
            now,
            5
        ));
        assert!(verify(
            "startChatForRoom",
            JSON,
            "s3cret",
            &format!(" {c}\n"),
            now,
            5
        ));
    }

    #[test]
    fn one_checksum_against_several_secrets() {
        let now = 1_700_000_000;
        let c = compute("sendChatMessage", JSON, "second", now - 2);
        let checksum = Checksum::new("sendChatMessage", JSON, &c);
        assert!(!checksum.made_with("first", now, 5));
        assert!(checksum.made_with("second", now, 5));
        assert!(!checksum.made_with("second", now + 10, 5));
    }
}
