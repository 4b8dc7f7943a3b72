//! Idempotency-Key: a change sent again with the same key gets the first answer instead of
//! being made twice; the same key with a different request is refused (422). Keys belong to
//! one caller and are kept 24 h. Only answers below 500 are kept, so a request that failed on
//! the server's side may be retried with its key.
use crate::error::Code;
use chrono::TimeDelta;
use sha2::{Digest, Sha256};

use crate::{
    error::{Error, Result},
    state::AppState,
    store::{self, idempotency::Answer},
};

pub const HEADER: &str = "idempotency-key";
/// Set on an answer that is a replay of the stored one.
pub const REPLAYED_HEADER: &str = "idempotent-replayed";
pub const KEPT_FOR: TimeDelta = TimeDelta::hours(24);
/// A key claimed this long ago without an answer belongs to a request that died with its
/// node; it is released rather than blocking its retries forever.
const ABANDONED_AFTER: TimeDelta = TimeDelta::minutes(5);
const SEAL_PURPOSE: &str = "idempotent-response";

/// An answer as stored and replayed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAnswer {
    pub status: u16,
    pub content_type: Option<String>,
    pub location: Option<String>,
    pub body: Vec<u8>,
}

/// What to do with a request that carries a key.
#[derive(Debug)]
pub enum Begin {
    /// First use: answer it, then `finish` with the answer.
    Fresh(Claim),
    /// Seen before with the same request: send this instead.
    Replay(StoredAnswer),
}

#[derive(Debug)]
pub struct Claim {
    id: i64,
}

/// 1–255 visible ASCII characters (a UUID is the usual choice).
pub fn check_key(key: &str) -> Result<()> {
    if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(Error::bad_request(
            Code::InvalidIdempotencyKey,
            "Idempotency-Key must be 1 to 255 visible ASCII characters",
        ));
    }
    Ok(())
}

/// What makes two requests "the same": method, path with query, and body bytes.
pub fn request_hash(method: &str, path_and_query: &str, body: &[u8]) -> String {
    let mut h = Sha256::new();
    for part in [
        method.as_bytes(),
        b"\n",
        path_and_query.as_bytes(),
        b"\n",
        body,
    ] {
        h.update(part);
    }
    hex::encode(h.finalize())
}

pub async fn begin(state: &AppState, scope: &str, key: &str, hash: &str) -> Result<Begin> {
    let now = state.now();
    // Twice at most: once more after clearing an expired or abandoned claim.
    for _ in 0..2 {
        match store::idempotency::insert(&state.writer, scope, key, hash, now).await {
            Ok(claimed) => return Ok(Begin::Fresh(Claim { id: claimed.id })),
            Err(e) if Error::is_unique_violation(&e) => {}
            Err(e) => return Err(e.into()),
        }
        let Some(seen) = store::idempotency::find(&state.db, scope, key).await? else {
            continue;
        };
        let stale = seen.created_at < now - KEPT_FOR
            || (seen.status_code.is_none() && seen.created_at < now - ABANDONED_AFTER);
        if stale {
            store::idempotency::delete(&state.writer, seen.id).await?;
            continue;
        }
        if seen.request_hash != hash {
            return Err(Error::invalid(
                "Idempotency-Key",
                "was already used with a different request; use a new key for a new request",
            ));
        }
        let Some(status) = seen.status_code else {
            return Err(Error::conflict(
                Code::IdempotencyKeyInProgress,
                "a request with this Idempotency-Key is still being answered; retry shortly",
            ));
        };
        let body = match &seen.body {
            Some(sealed) => state
                .sealer
                .open(SEAL_PURPOSE, sealed)
                .map_err(|e| anyhow::anyhow!("cannot open a stored answer: {e:?}"))?,
            None => Vec::new(),
        };
        return Ok(Begin::Replay(StoredAnswer {
            status: u16::try_from(status).unwrap_or(500),
            content_type: seen.content_type,
            location: seen.location,
            body,
        }));
    }
    Err(Error::conflict(
        Code::IdempotencyKeyInProgress,
        "a request with this Idempotency-Key is still being answered; retry shortly",
    ))
}

/// Keep the answer for replays, or release the key when the server failed (5xx).
pub async fn finish(state: &AppState, claim: Claim, answer: &StoredAnswer) -> Result<()> {
    if answer.status >= 500 {
        return release(state, claim).await;
    }
    let kept = Answer {
        status_code: i32::from(answer.status),
        content_type: answer.content_type.clone(),
        location: answer.location.clone(),
        body: state.sealer.seal(SEAL_PURPOSE, &answer.body),
    };
    store::idempotency::complete(&state.db, claim.id, kept).await?;
    Ok(())
}

/// Forget a claim whose request produced no answer worth keeping.
pub async fn release(state: &AppState, claim: Claim) -> Result<()> {
    store::idempotency::delete(&state.writer, claim.id).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_short_visible_ascii() {
        check_key("3f1c6a2e-5b7d-4c1e-9a8b-2d4e6f8a0b1c").unwrap();
        for bad in ["", "with space", "ключ", &"k".repeat(256)] {
            assert!(check_key(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_hash_covers_method_path_and_body() {
        let a = request_hash("POST", "/v1/orgs/x/rooms", b"{}");
        assert_ne!(a, request_hash("PUT", "/v1/orgs/x/rooms", b"{}"));
        assert_ne!(a, request_hash("POST", "/v1/orgs/x/rooms?y", b"{}"));
        assert_ne!(a, request_hash("POST", "/v1/orgs/x/rooms", b"{ }"));
        assert_eq!(a, request_hash("POST", "/v1/orgs/x/rooms", b"{}"));
    }
}
