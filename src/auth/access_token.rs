//! Short-lived OAuth2 access tokens: HS256 JWTs under a server key that is stored sealed in
//! the database (so every node shares it). They carry the org, the client and the token
//! family; the family lets a reused refresh token revoke its access tokens at once.
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

/// The signing key, opened from the database at start-up.
#[derive(Clone)]
pub struct SigningKey {
    kid: String,
    encoding: EncodingKey,
    decoding: DecodingKey,
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
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<Claims, TokenError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.validate_exp = false;
        validation.required_spec_claims.clear();
        validation.set_issuer(&[ISSUER]);
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation)
            .map_err(|_| TokenError::Invalid)?;
        if data.claims.exp + 5 < now.timestamp() {
            return Err(TokenError::Expired);
        }
        Ok(data.claims)
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
        assert_eq!(key.verify(&token, now).unwrap(), c);
        assert_eq!(
            key.verify(&token, now + chrono::Duration::seconds(120)),
            Err(TokenError::Expired)
        );
        let other = SigningKey::new("k1", b"another key another key another!");
        assert_eq!(other.verify(&token, now), Err(TokenError::Invalid));
        assert_eq!(key.verify("a.b.c", now), Err(TokenError::Invalid));
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
