//! Short-lived OAuth2 access tokens: HS256 JWTs under a server key that is stored sealed in
//! the database (so every node shares it). They carry the org, the client and the token
//! family; the family lets a reused refresh token revoke its access tokens at once.
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub const ISSUER: &str = "meetplane";
pub const SCOPE: &str = "meetplane-api";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    pub iss: String,
    /// The API client's public key (`api_key`).
    pub sub: String,
    pub org: Uuid,
    /// The API client's internal id.
    pub cid: Uuid,
    /// The token family (one per client_credentials grant).
    pub fam: Uuid,
    pub iat: i64,
    pub exp: i64,
    pub jti: Uuid,
    pub scope: String,
}

/// Verified tokens kept before the memory is cleared and refilled.
const VERIFIED_TOKENS: usize = 4096;

/// The signing key, opened from the database at start-up.
#[derive(Clone)]
pub struct SigningKey {
    kid: String,
    encoding: EncodingKey,
    decoding: DecodingKey,
    /// Tokens whose signature and issuer verified, with their claims. The same bytes verify
    /// the same way under the same key, so a token seen again skips decoding and the HMAC
    /// (most of a cached read's own cost, see `bench/RESULTS.md`). Only tokens that verified
    /// get in, so a caller cannot fill it with made-up ones; expiry is checked on every use.
    verified: Arc<Mutex<HashMap<Box<str>, Arc<Claims>>>>,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey(kid={}, <redacted>)", self.kid)
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    #[error("the access token is malformed or its signature is invalid")]
    Invalid,
    #[error("the access token has expired")]
    Expired,
}

impl SigningKey {
    pub fn new(kid: impl Into<String>, secret: &[u8]) -> Self {
        Self {
            kid: kid.into(),
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            verified: Arc::default(),
        }
    }

    pub fn issue(&self, claims: &Claims) -> String {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding)
            .expect("HS256 signing of plain claims cannot fail")
    }

    /// Check signature (HS256 only), issuer and expiry against `now` (the server clock, so
    /// tests can move time). A few seconds of leeway absorb clock skew between nodes.
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<Arc<Claims>, TokenError> {
        let known = self
            .verified
            .lock()
            .ok()
            .and_then(|v| v.get(token).cloned());
        let claims = match known {
            Some(claims) => claims,
            None => {
                let claims = Arc::new(self.decode(token)?);
                if let Ok(mut verified) = self.verified.lock() {
                    // Bounded: when full, start over (the tokens in use come back at once).
                    if verified.len() >= VERIFIED_TOKENS {
                        verified.clear();
                    }
                    verified.insert(token.into(), claims.clone());
                }
                claims
            }
        };
        if claims.exp + 5 < now.timestamp() {
            return Err(TokenError::Expired);
        }
        Ok(claims)
    }

    fn decode(&self, token: &str) -> Result<Claims, TokenError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.validate_exp = false;
        validation.required_spec_claims.clear();
        validation.set_issuer(&[ISSUER]);
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation)
            .map(|data| data.claims)
            .map_err(|_| TokenError::Invalid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp: i64) -> Claims {
        Claims {
            iss: ISSUER.into(),
            sub: "key".into(),
            org: Uuid::new_v4(),
            cid: Uuid::new_v4(),
            fam: Uuid::new_v4(),
            iat: 0,
            exp,
            jti: Uuid::new_v4(),
            scope: SCOPE.into(),
        }
    }

    #[test]
    fn issue_verify_expire_and_foreign_keys() {
        let key = SigningKey::new("k1", b"0123456789abcdef0123456789abcdef");
        let now = Utc::now();
        let c = claims(now.timestamp() + 60);
        let token = key.issue(&c);
        assert_eq!(*key.verify(&token, now).unwrap(), c);
        // Verified once and kept: the expiry still counts, on every use.
        assert_eq!(
            key.verify(&token, now + chrono::Duration::seconds(120)),
            Err(TokenError::Expired)
        );
        assert_eq!(*key.verify(&token, now).unwrap(), c);
        let other = SigningKey::new("k1", b"another key another key another!");
        assert_eq!(other.verify(&token, now), Err(TokenError::Invalid));
        assert_eq!(key.verify("a.b.c", now), Err(TokenError::Invalid));
    }

    #[test]
    fn a_kept_token_does_not_vouch_for_a_changed_one() {
        let key = SigningKey::new("k1", b"0123456789abcdef0123456789abcdef");
        let now = Utc::now();
        let token = key.issue(&claims(now.timestamp() + 60));
        key.verify(&token, now).unwrap();
        // Another payload under the kept signature, and the kept token with a byte changed.
        let mut parts: Vec<&str> = token.split('.').collect();
        let forged_claims = claims(now.timestamp() + 3600);
        let payload = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &forged_claims,
            &EncodingKey::from_secret(b"not the key, not the key, not it"),
        )
        .unwrap();
        parts[1] = payload.split('.').nth(1).unwrap();
        assert_eq!(key.verify(&parts.join("."), now), Err(TokenError::Invalid));
        let mut flipped = token.clone().into_bytes();
        let inside_payload = token.find('.').unwrap() + 5;
        flipped[inside_payload] = if flipped[inside_payload] == b'x' {
            b'y'
        } else {
            b'x'
        };
        let flipped = String::from_utf8(flipped).unwrap();
        assert_eq!(key.verify(&flipped, now), Err(TokenError::Invalid));
    }

    #[test]
    fn the_kept_tokens_are_bounded() {
        let key = SigningKey::new("k1", b"0123456789abcdef0123456789abcdef");
        let now = Utc::now();
        for _ in 0..VERIFIED_TOKENS + 10 {
            let token = key.issue(&claims(now.timestamp() + 60));
            key.verify(&token, now).unwrap();
        }
        assert!(key.verified.lock().unwrap().len() <= VERIFIED_TOKENS);
    }

    #[test]
    fn other_algorithms_are_refused() {
        let secret = b"0123456789abcdef0123456789abcdef";
        let key = SigningKey::new("k1", secret);
        let c = claims(Utc::now().timestamp() + 60);
        let hs512 = jsonwebtoken::encode(
            &Header::new(Algorithm::HS512),
            &c,
            &EncodingKey::from_secret(secret),
        )
        .unwrap();
        assert_eq!(key.verify(&hs512, Utc::now()), Err(TokenError::Invalid));
    }
}
