//! ImbaChat user tokens: the site signs `{"exp": N, "user_id": N}` as an HS256 JWT (header
//! `{"typ":"JWT","alg":"HS256"}`) with its widget's secret key. Checked like session links:
//! HS256 only, signature first, then `exp` (required) with a small leeway.
use crate::error::Code;
use chrono::{DateTime, TimeDelta, Utc};
use serde_json::Value;

use super::session_link::{
    LEEWAY_SECONDS, LinkError, check_hs256_shape, check_hs256_signature, segment, time,
};

/// Longest site user id accepted (the seed's ids are integers; sites also send strings).
pub const MAX_USER_ID_CHARS: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UserTokenError {
    #[error("the user token is not a JWT: {0}")]
    Malformed(String),
    #[error("only HS256 user tokens are accepted, not {0}")]
    UnsupportedAlgorithm(String),
    #[error("the user token's signature does not match the widget's secret key")]
    BadSignature,
    #[error("the user token expired at {0}")]
    Expired(DateTime<Utc>),
    #[error("the user token's claim {0} {1}")]
    InvalidClaim(&'static str, &'static str),
}

impl UserTokenError {
    /// A stable machine-readable code.
    pub fn code(&self) -> Code {
        match self {
            Self::Malformed(_) => Code::MalformedUserToken,
            Self::UnsupportedAlgorithm(_) => Code::UnsupportedAlgorithm,
            Self::BadSignature => Code::BadSignature,
            Self::Expired(_) => Code::UserTokenExpired,
            Self::InvalidClaim(..) => Code::InvalidClaim,
        }
    }
}

impl From<LinkError> for UserTokenError {
    fn from(e: LinkError) -> Self {
        match e {
            LinkError::TooLong => Self::Malformed("it is too long".into()),
            LinkError::Malformed(m) => Self::Malformed(m),
            LinkError::UnsupportedAlgorithm(a) => Self::UnsupportedAlgorithm(a),
            LinkError::BadSignature => Self::BadSignature,
            LinkError::Expired(t) => Self::Expired(t),
            LinkError::NotYetValid(_) => Self::InvalidClaim("nbf", "is in the future"),
            LinkError::MissingClaim(c) => Self::InvalidClaim(c, "is required"),
            LinkError::InvalidClaim(c, m) => Self::InvalidClaim(c, m),
        }
    }
}

/// A site user id as text: the seed signs integers, some sites strings.
pub fn user_id_of(value: &Value) -> Option<String> {
    let id = match value {
        Value::Number(n) if n.is_i64() || n.is_u64() => n.to_string(),
        Value::String(s) => s.trim().to_string(),
        _ => return None,
    };
    let ok = !id.is_empty()
        && id.chars().count() <= MAX_USER_ID_CHARS
        && !id.chars().any(|c| c.is_control() || c == ',');
    ok.then_some(id)
}

/// Verify a user token under the widget's secret key; returns the site user id.
pub fn verify(token: &str, secret: &str, now: DateTime<Utc>) -> Result<String, UserTokenError> {
    Ok(verify_until(token, secret, now)?.0)
}

/// [`verify`], with the token's `exp`.
pub fn verify_until(
    token: &str,
    secret: &str,
    now: DateTime<Utc>,
) -> Result<(String, DateTime<Utc>), UserTokenError> {
    check_hs256_shape(token)?;
    check_hs256_signature(token, secret.as_bytes())?;
    let claims = segment(token, 1)?;
    let exp = time(&claims, "exp")?.ok_or(UserTokenError::InvalidClaim("exp", "is required"))?;
    if now - TimeDelta::seconds(LEEWAY_SECONDS) >= exp {
        return Err(UserTokenError::Expired(exp));
    }
    let user = claims
        .get("user_id")
        .ok_or(UserTokenError::InvalidClaim("user_id", "is required"))?;
    let user = user_id_of(user).ok_or(UserTokenError::InvalidClaim(
        "user_id",
        "must be an integer or a short string without commas",
    ))?;
    Ok((user, exp))
}

#[cfg(test)]
mod tests {
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
    use hmac::{Hmac, Mac};
    use sha2::Sha256;

    use super::*;

    /// The seed's PHP `getJWT`, step by step: json_encode of the header and payload,
    /// base64url without padding, HMAC-SHA256.
    fn php_get_jwt(user_id: i64, secret: &str, exp: i64) -> String {
        let header = URL_SAFE_NO_PAD.encode(r#"{"typ":"JWT","alg":"HS256"}"#);
        let payload = URL_SAFE_NO_PAD.encode(format!(r#"{{"exp":{exp},"user_id":{user_id}}}"#));
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(format!("{header}.{payload}").as_bytes());
        let sig = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        format!("{header}.{payload}.{sig}")
    }

    const SECRET: &str = "lPXBFPqNg3f661JcegBY0N0dPXqUBdHXqj2cHf04PZgLHxT6z55e20ozojvMRvB8";

    #[test]
    fn the_seed_token_verifies() {
        let now = Utc::now();
        let token = php_get_jwt(1, SECRET, now.timestamp() + 3600);
        assert_eq!(verify(&token, SECRET, now).unwrap(), "1");
    }

    #[test]
    fn refusals() {
        let now = Utc::now();
        let expired = php_get_jwt(1, SECRET, now.timestamp() - 3600);
        assert!(matches!(
            verify(&expired, SECRET, now),
            Err(UserTokenError::Expired(_))
        ));
        let good = php_get_jwt(1, SECRET, now.timestamp() + 60);
        assert_eq!(
            verify(&good, "another key", now),
            Err(UserTokenError::BadSignature)
        );
        let none = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(r#"{"typ":"JWT","alg":"none"}"#),
            URL_SAFE_NO_PAD.encode(r#"{"exp":9999999999,"user_id":1}"#)
        );
        assert_eq!(
            verify(&none, SECRET, now),
            Err(UserTokenError::UnsupportedAlgorithm("none".into()))
        );
        assert!(matches!(
            verify("garbage", SECRET, now),
            Err(UserTokenError::Malformed(_))
        ));
        let mut tampered = good.split('.').map(str::to_string).collect::<Vec<_>>();
        tampered[1] =
            URL_SAFE_NO_PAD.encode(format!(r#"{{"exp":{},"user_id":2}}"#, now.timestamp() + 60));
        assert_eq!(
            verify(&tampered.join("."), SECRET, now),
            Err(UserTokenError::BadSignature)
        );
    }

    #[test]
    fn user_ids() {
        assert_eq!(user_id_of(&serde_json::json!(6)).as_deref(), Some("6"));
        assert_eq!(
            user_id_of(&serde_json::json!(" u-6 ")).as_deref(),
            Some("u-6")
        );
        assert_eq!(user_id_of(&serde_json::json!("1,2")), None);
        assert_eq!(user_id_of(&serde_json::json!(1.5)), None);
        assert_eq!(user_id_of(&serde_json::json!("")), None);
    }
}
