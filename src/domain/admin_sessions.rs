//! Dashboard sign-in. A session is a random token in an HttpOnly, SameSite=Strict cookie; the
//! database keeps only its digest, so a leaked table does not let anyone sign in. Requests
//! that change something must also carry the session's CSRF token (derived from the cookie
//! value, so nothing more is stored), which a page on another site cannot read.
//!
//! Guessing is slowed on every node alike: failures are recorded in the database and more than
//! `MAX_FAILURES_PER_EMAIL` for one email, or `MAX_FAILURES_PER_ADDRESS` from one address,
//! within `FAILURE_WINDOW` are refused with 429 until the oldest ages out.
use crate::error::Code;
use chrono::{DateTime, TimeDelta, Utc};

use super::{
    admins::{self, AdminView, Role},
    audit::{self, Action, AuditAction, AuditActor},
    principal::{Actor, Principal},
};
use crate::{
    auth::{password, random},
    error::{Error, Result},
    state::AppState,
    store::{
        self,
        admins::{FailuresOf, NewSession},
    },
};

pub const COOKIE: &str = "meetplane_session";
pub const CSRF_HEADER: &str = "x-csrf-token";
pub const SESSION_TTL: TimeDelta = TimeDelta::hours(12);
pub const FAILURE_WINDOW: TimeDelta = TimeDelta::minutes(15);
pub const MAX_FAILURES_PER_EMAIL: usize = 5;
pub const MAX_FAILURES_PER_ADDRESS: usize = 20;

/// A PHC string of a password nobody knows, verified when the email is unknown so that a
/// wrong email takes as long as a wrong password.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$\
    Zm9vYmFyYmF6Zm9vYmFyYmF6Zm9vYmFyYmF6Zm9vYmE";

#[derive(Debug)]
pub struct SignedIn {
    /// The cookie value; shown once, in `Set-Cookie`.
    pub token: String,
    pub csrf_token: String,
    pub expires_at: DateTime<Utc>,
    pub admin: AdminView,
}

/// The CSRF token of a session: a digest of the cookie value under a fixed label.
pub fn csrf_of(token: &str) -> String {
    random::digest(&format!("meetplane-csrf:{token}"))
}

fn wrong_credentials() -> Error {
    Error::unauthenticated(Code::InvalidCredentials, "the email or password is wrong")
}

async fn check_not_throttled(state: &AppState, email: &str, address: &str) -> Result<()> {
    let now = state.now();
    let since = now - FAILURE_WINDOW;
    for (of, max) in [
        (FailuresOf::Email(email), MAX_FAILURES_PER_EMAIL),
        (FailuresOf::Address(address), MAX_FAILURES_PER_ADDRESS),
    ] {
        let failures = store::admins::recent_failures(&state.db, of, since).await?;
        if failures.len() >= max {
            // The window reopens when enough of the oldest failures age out.
            let reopens = failures[failures.len() - max] + FAILURE_WINDOW;
            let retry_after = (reopens - now).num_seconds().max(1) as u64;
            return Err(Error::TooManyRequests {
                code: Code::TooManySignInAttempts,
                message: format!(
                    "too many failed sign-ins; try again in {} minute(s)",
                    retry_after.div_ceil(60)
                ),
                retry_after,
            });
        }
    }
    Ok(())
}

pub async fn sign_in(
    state: &AppState,
    email: &str,
    password_text: &str,
    address: &str,
) -> Result<SignedIn> {
    let email = email.trim().to_lowercase();
    if email.is_empty() || password_text.is_empty() {
        return Err(Error::invalid("email", "email and password are required"));
    }
    // Bounded so that neither the digest table nor argon2 gets arbitrary input.
    if email.len() > 254 || password_text.len() > 1024 {
        return Err(wrong_credentials());
    }
    check_not_throttled(state, &email, address).await?;
    let user = store::admins::find_by_email(&state.db, &email)
        .await?
        .filter(|u| u.disabled_at.is_none());
    let hash = user
        .as_ref()
        .map_or(DUMMY_HASH.to_string(), |u| u.password_hash.clone());
    let matches = password::verify(password_text.to_string(), hash).await?;
    let who = user.as_ref().map(|u| {
        let actor = AuditActor {
            kind: "admin",
            id: u.id.to_string(),
            name: Some(u.email.clone()),
            source_ip: Some(address.to_string()),
        };
        (
            u.org_id,
            actor,
            Action::new(AuditAction::AdminSignedIn, u.id),
        )
    });
    let Some(user) = user.filter(|_| matches) else {
        // Failures for an existing account go to its org's log (unknown emails have no org).
        if let Some((org_id, actor, mut action)) = who {
            action.action = "admin.sign_in_failed";
            audit::record(state, org_id, &actor, action).await;
        }
        store::admins::record_failure(&state.writer, &email, address, state.now()).await?;
        tracing::warn!(%email, %address, "dashboard sign-in failed");
        return Err(wrong_credentials());
    };
    store::admins::clear_failures(&state.db, &email).await?;
    let now = state.now();
    let token = random::token("mpas_");
    let session = store::admins::insert_session(
        &state.db,
        NewSession {
            admin_id: user.id,
            token_hash: random::digest(&token),
            created_at: now,
            expires_at: now + SESSION_TTL,
            source_ip: Some(address.to_string()),
        },
    )
    .await?;
    tracing::info!(email = %user.email, %address, "dashboard sign-in");
    if let Some((org_id, actor, action)) = who {
        audit::record(state, org_id, &actor, action).await;
    }
    Ok(SignedIn {
        csrf_token: csrf_of(&token),
        token,
        expires_at: session.expires_at,
        admin: admins::view(user)?,
    })
}

/// The admin behind a session cookie.
pub async fn authenticate(state: &AppState, token: &str) -> Result<AdminView> {
    Ok(authenticate_until(state, token).await?.0)
}

/// [`authenticate`], with the session's expiry (for the dashboard's socket).
pub async fn authenticate_until(
    state: &AppState,
    token: &str,
) -> Result<(AdminView, DateTime<Utc>)> {
    let Some((session, user)) =
        store::admins::find_session(&state.db, &random::digest(token)).await?
    else {
        return Err(Error::unauthenticated(
            Code::SessionUnknown,
            "the session is unknown or signed out; sign in again",
        ));
    };
    if session.expires_at <= state.now() {
        return Err(Error::unauthenticated(
            Code::SessionExpired,
            "the session has expired; sign in again",
        ));
    }
    if user.disabled_at.is_some() {
        return Err(Error::unauthenticated(
            Code::AdminDisabled,
            "this admin user has been removed",
        ));
    }
    Ok((admins::view(user)?, session.expires_at))
}

pub fn principal_of(admin: &AdminView) -> Principal {
    Principal {
        org_id: admin.org_id,
        actor: Actor::Admin {
            admin_id: admin.id,
            role: admin.role,
            email: admin.email.clone(),
        },
        source_ip: None,
        via: None,
    }
}

/// Viewers may read; every change needs an admin or owner.
pub fn check_may_change(admin: &AdminView) -> Result<()> {
    if admin.role == Role::Viewer {
        return Err(Error::forbidden(
            Code::ReadOnly,
            "viewers can look but not change anything",
        ));
    }
    Ok(())
}

/// End the session; sockets it opened close.
pub async fn sign_out(state: &AppState, token: &str) -> Result<()> {
    if let Some(admin_id) =
        store::admins::delete_session(&state.writer, &random::digest(token)).await?
    {
        state
            .bus
            .credentials_changed(super::socket_access::Notice::Admin(admin_id));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use argon2::password_hash::phc::PasswordHash;

    use super::*;

    /// An unknown email must cost a full argon2 verification, so the stand-in hash has to be
    /// a well-formed argon2id PHC string (a malformed one would fail fast).
    #[tokio::test]
    async fn the_stand_in_hash_is_real_argon2id() {
        let parsed = PasswordHash::new(DUMMY_HASH).expect("a PHC string");
        assert_eq!(parsed.algorithm.as_str(), "argon2id");
        assert!(
            !password::verify("anything".into(), DUMMY_HASH.into())
                .await
                .unwrap()
        );
    }

    #[test]
    fn csrf_tokens_differ_per_session_and_from_the_cookie() {
        assert_ne!(csrf_of("a"), csrf_of("b"));
        assert_ne!(csrf_of("mpas_x"), random::digest("mpas_x"));
    }
}
