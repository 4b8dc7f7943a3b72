//! Coviu session links: an HS256 JWT signed with an API client's secret (PyJWT's
//! `jwt.encode(claims, secret, algorithm="HS256")`). Only HS256 is accepted: `none`, HS384/512,
//! RS*/ES* and a missing `alg` are refused before any signature is looked at.
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, TimeZone, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};

/// Links longer than this are refused unread.
pub const MAX_LINK_BYTES: usize = 4096;
/// Clock skew tolerated on `nbf` and `exp`.
pub const LEEWAY_SECONDS: i64 = 30;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    #[error("the link is longer than {MAX_LINK_BYTES} bytes")]
    TooLong,
    #[error("the link is not a JWT: {0}")]
    Malformed(String),
    #[error("only HS256 links are accepted, not {0}")]
    UnsupportedAlgorithm(String),
    #[error("the link's signature does not match the secret of its issuer")]
    BadSignature,
    #[error("the link expired at {0}")]
    Expired(DateTime<Utc>),
    #[error("the link is not valid before {0}")]
    NotYetValid(DateTime<Utc>),
    #[error("the claim {0} is required")]
    MissingClaim(&'static str),
    #[error("the claim {0} {1}")]
    InvalidClaim(&'static str, &'static str),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkRole {
    Owner,
    Guest,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LinkClaims {
    pub iss: String,
    pub un: String,
    pub reference: String,
    pub sid: String,
    pub role: LinkRole,
    pub email: Option<String>,
    pub img: Option<String>,
    pub rtn: Option<String>,
    pub nbf: Option<DateTime<Utc>>,
    pub exp: Option<DateTime<Utc>>,
    pub iat: Option<DateTime<Utc>>,
    pub jti: Option<String>,
}

pub(crate) fn segment(token: &str, index: usize) -> Result<Map<String, Value>, LinkError> {
    let part = token
        .split('.')
        .nth(index)
        .ok_or_else(|| LinkError::Malformed("expected header.payload.signature".into()))?;
    let bytes = URL_SAFE_NO_PAD
        .decode(part.trim_end_matches('='))
        .map_err(|_| LinkError::Malformed("a part is not base64url".into()))?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(LinkError::Malformed("a part is not a JSON object".into())),
    }
}

/// Check a token's size, its three parts and that its header names HS256 (and nothing else).
pub(crate) fn check_hs256_shape(token: &str) -> Result<(), LinkError> {
    if token.len() > MAX_LINK_BYTES {
        return Err(LinkError::TooLong);
    }
    if token.split('.').count() != 3 {
        return Err(LinkError::Malformed(
            "expected header.payload.signature".into(),
        ));
    }
    let header = segment(token, 0)?;
    match header.get("alg").and_then(Value::as_str) {
        Some("HS256") => Ok(()),
        Some(other) => Err(LinkError::UnsupportedAlgorithm(other.to_string())),
        None => Err(LinkError::UnsupportedAlgorithm("a missing alg".into())),
    }
}

/// Verify an HS256 signature under `secret` (the header was checked by `check_hs256_shape`).
pub(crate) fn check_hs256_signature(token: &str, secret: &[u8]) -> Result<(), LinkError> {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.required_spec_claims.clear();
    jsonwebtoken::decode::<Value>(token, &DecodingKey::from_secret(secret), &validation)
        .map(|_| ())
        .map_err(|e| match e.kind() {
            jsonwebtoken::errors::ErrorKind::InvalidSignature => LinkError::BadSignature,
            _ => LinkError::Malformed(e.to_string()),
        })
}

/// Check the shape and the header, and read the issuer, without trusting anything yet: the
/// issuer names whose secret to verify with.
pub fn issuer(token: &str) -> Result<String, LinkError> {
    check_hs256_shape(token)?;
    let claims = segment(token, 1)?;
    match claims.get("iss") {
        Some(Value::String(iss)) if iss.contains('\0') => Err(nul("iss")),
        Some(Value::String(iss)) if !iss.is_empty() => Ok(iss.clone()),
        Some(_) => Err(LinkError::InvalidClaim("iss", "must be a string")),
        None => Err(LinkError::MissingClaim("iss")),
    }
}

/// PostgreSQL text cannot hold U+0000 and no claim has a use for it; refused here, where
/// the claims are read, so it never reaches the database (as a lookup or as a value).
fn nul(name: &'static str) -> LinkError {
    LinkError::InvalidClaim(name, "must not contain the NUL character (U+0000)")
}

fn text(
    claims: &Map<String, Value>,
    name: &'static str,
    required: bool,
) -> Result<Option<String>, LinkError> {
    match claims.get(name) {
        None | Some(Value::Null) if required => Err(LinkError::MissingClaim(name)),
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.contains('\0') => Err(nul(name)),
        Some(Value::String(s)) if s.trim().is_empty() && required => {
            Err(LinkError::InvalidClaim(name, "must not be empty"))
        }
        Some(Value::String(s)) if s.chars().count() > 256 => Err(LinkError::InvalidClaim(
            name,
            "must be at most 256 characters",
        )),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(LinkError::InvalidClaim(name, "must be a string")),
    }
}

pub(crate) fn time(
    claims: &Map<String, Value>,
    name: &'static str,
) -> Result<Option<DateTime<Utc>>, LinkError> {
    match claims.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_f64()
            .and_then(|secs| Utc.timestamp_opt(secs.floor() as i64, 0).single())
            .map(Some)
            .ok_or(LinkError::InvalidClaim(name, "must be epoch seconds")),
        Some(_) => Err(LinkError::InvalidClaim(name, "must be epoch seconds")),
    }
}

fn url(claims: &Map<String, Value>, name: &'static str) -> Result<Option<String>, LinkError> {
    let Some(v) = text(claims, name, false)? else {
        return Ok(None);
    };
    match url::Url::parse(&v) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Ok(Some(v)),
        _ => Err(LinkError::InvalidClaim(name, "must be an http(s) URL")),
    }
}

/// Verify the signature under `secret`, the time window against `now`, and the claims.
pub fn verify(token: &str, secret: &str, now: DateTime<Utc>) -> Result<LinkClaims, LinkError> {
    let iss = issuer(token)?;
    check_hs256_signature(token, secret.as_bytes())?;
    let claims = segment(token, 1)?;
    let leeway = chrono::TimeDelta::seconds(LEEWAY_SECONDS);
    let nbf = time(&claims, "nbf")?;
    let exp = time(&claims, "exp")?;
    if let Some(nbf) = nbf
        && now + leeway < nbf
    {
        return Err(LinkError::NotYetValid(nbf));
    }
    if let Some(exp) = exp
        && now - leeway >= exp
    {
        return Err(LinkError::Expired(exp));
    }
    let role = match text(&claims, "rle", true)?.as_deref() {
        Some("owner") => LinkRole::Owner,
        Some("guest") => LinkRole::Guest,
        _ => return Err(LinkError::InvalidClaim("rle", "must be owner or guest")),
    };
    let email = text(&claims, "email", role == LinkRole::Owner)?;
    if let Some(e) = &email
        && !email_address::EmailAddress::is_valid(e)
    {
        return Err(LinkError::InvalidClaim("email", "must be an email address"));
    }
    Ok(LinkClaims {
        iss,
        un: text(&claims, "un", true)?.unwrap_or_default(),
        reference: text(&claims, "ref", true)?.unwrap_or_default(),
        sid: text(&claims, "sid", true)?.unwrap_or_default(),
        role,
        email,
        img: url(&claims, "img")?,
        rtn: url(&claims, "rtn")?,
        nbf,
        exp,
        iat: time(&claims, "iat")?,
        jti: text(&claims, "jti", false)?,
    })
}

/// Sign a link as PyJWT does (`{"alg":"HS256","typ":"JWT"}`), for the CLI and tests.
pub fn sign(claims: &Value, secret: &str) -> String {
    let mut header = jsonwebtoken::Header::new(Algorithm::HS256);
    header.typ = Some("JWT".into());
    jsonwebtoken::encode(
        &header,
        claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("HS256 signing of plain claims cannot fail")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The guest link printed by the Coviu demo (seed 002), whose secret is unknown: its
    /// shape and header pass, and only the signature fails.
    const SEED_GUEST: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJybGUiOiJndWVzdCIsInVuIjoiSm9lIEd1ZXN0IiwiZXhwIjoxNDUwNDEzODkzLCJpbWciOiJodHRwOi8vd3d3LmZpbGxtdXJyYXkuY29tLzIwMC8zMDAiLCJzaWQiOiI2YzFjNDljYS1hOTc0LTQ5NDEtOGI4YS1kOTM2YjY3M2YwZjAiLCJpc3MiOiJhMmExN2ZlYS1hMjBlLTExZTUtYjViZS1iMzJmNmI2ZjUyYmYiLCJydG4iOiJodHRwczovL2Nvdml1LmNvbSIsInJlZiI6IjIyOTFlYjI0LWMwY2MtNDg5OS1hOGQ0LWI4MzU5MDIyZjMwZiIsIm5iZiI6MTQ1MDQxMDI5M30.AbXcl8L-RAalfeys0otEWnYWBhV0lTKIp78eU_Cbge8";

    #[test]
    fn the_seed_link_is_read_but_not_trusted() {
        assert_eq!(
            issuer(SEED_GUEST).unwrap(),
            "a2a17fea-a20e-11e5-b5be-b32f6b6f52bf"
        );
        assert_eq!(
            verify(SEED_GUEST, "not the secret", Utc::now()),
            Err(LinkError::BadSignature)
        );
    }

    #[test]
    fn signed_links_verify_and_check_their_window() {
        let now = Utc::now();
        let claims = serde_json::json!({"iss": "k", "un": "Dr. Who", "ref": "r1", "sid": "s1",
            "rle": "owner", "email": "who@example.org", "nbf": now.timestamp() - 10,
            "exp": now.timestamp() + 60, "rtn": "https://example.org/after"});
        let token = sign(&claims, "secret");
        let c = verify(&token, "secret", now).unwrap();
        assert_eq!(
            (c.un.as_str(), c.role, c.rtn.as_deref()),
            (
                "Dr. Who",
                LinkRole::Owner,
                Some("https://example.org/after")
            )
        );
        assert!(matches!(
            verify(&token, "secret", now + chrono::TimeDelta::minutes(2)),
            Err(LinkError::Expired(_))
        ));
        assert!(matches!(
            verify(&token, "secret", now - chrono::TimeDelta::minutes(2)),
            Err(LinkError::NotYetValid(_))
        ));
        let mut no_email = claims.clone();
        no_email.as_object_mut().unwrap().remove("email");
        assert_eq!(
            verify(&sign(&no_email, "secret"), "secret", now),
            Err(LinkError::MissingClaim("email"))
        );
        let mut bad_rtn = claims.clone();
        bad_rtn["rtn"] = "javascript:alert(1)".into();
        assert!(matches!(
            verify(&sign(&bad_rtn, "secret"), "secret", now),
            Err(LinkError::InvalidClaim("rtn", _))
        ));
        let mut guest = claims;
        guest["rle"] = "guest".into();
        guest.as_object_mut().unwrap().remove("email");
        assert_eq!(
            verify(&sign(&guest, "secret"), "secret", now).unwrap().role,
            LinkRole::Guest
        );
    }

    #[test]
    fn nul_characters_are_refused_by_claim() {
        let now = Utc::now();
        let claims = serde_json::json!({"iss": "k", "un": "Dr. Who", "ref": "r1", "sid": "s1",
            "rle": "guest", "jti": "j1", "exp": now.timestamp() + 60});
        for name in ["iss", "un", "ref", "sid", "jti", "rle"] {
            let mut bad = claims.clone();
            bad[name] = "a\u{0}b".into();
            let token = sign(&bad, "secret");
            let err = issuer(&token).and_then(|_| verify(&token, "secret", now));
            assert_eq!(err, Err(nul(name)), "{name}");
        }
    }

    #[test]
    fn other_algorithms_and_garbage_are_refused() {
        let header = |h: &str| format!("{}.e30.sig", URL_SAFE_NO_PAD.encode(h));
        for alg in ["none", "HS384", "HS512", "RS256", "ES256"] {
            let t = header(&format!(r#"{{"alg":"{alg}","typ":"JWT"}}"#));
            assert_eq!(
                issuer(&t),
                Err(LinkError::UnsupportedAlgorithm(alg.into())),
                "{alg}"
            );
        }
        assert!(matches!(
            issuer(&header(r#"{"typ":"JWT"}"#)),
            Err(LinkError::UnsupportedAlgorithm(_))
        ));
        assert!(matches!(issuer("garbage"), Err(LinkError::Malformed(_))));
        assert!(matches!(issuer("a.b.c"), Err(LinkError::Malformed(_))));
        assert_eq!(issuer(&"a".repeat(10_000)), Err(LinkError::TooLong));
    }
}
