//! TURN credentials in the form of coturn's "TURN REST API" (`--use-auth-secret`): the
//! username is `"<unix expiry>:<peer id>"` and the password base64 of HMAC-SHA1 of the username
//! under the shared secret. The TURN server needs no call back: it recomputes the password and
//! refuses the username once its expiry has passed.
use base64::{Engine, engine::general_purpose::STANDARD};
use hmac::{Hmac, Mac};
use sha1::Sha1;

/// A username and password for the TURN servers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TurnCredential {
    pub username: String,
    pub credential: String,
}

/// The credential of `user` (a peer id), valid until `expires_unix` (seconds).
pub fn mint(secret: &str, expires_unix: i64, user: &str) -> TurnCredential {
    let username = format!("{expires_unix}:{user}");
    let mut mac = Hmac::<Sha1>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(username.as_bytes());
    TurnCredential {
        credential: STANDARD.encode(mac.finalize().into_bytes()),
        username,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_turn_rest_api_form() {
        // Computed independently: base64(hmac.new(secret, username, sha1).digest()) in Python.
        let c = mint(
            "north-wind-secret-42",
            1_700_000_000,
            "5d7c2f0e-1b7a-4c3e-9d51-2a8e0f6b3c14",
        );
        assert_eq!(
            c.username,
            "1700000000:5d7c2f0e-1b7a-4c3e-9d51-2a8e0f6b3c14"
        );
        assert_eq!(c.credential, "9npagYWLc4J4D9rniYEYXsdWBew=");
        assert_ne!(
            mint("another-secret-entirely", 1_700_000_000, "p").credential,
            mint("north-wind-secret-42", 1_700_000_000, "p").credential
        );
    }
}
