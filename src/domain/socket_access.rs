//! A realtime socket lives as long as the credential it was opened with, not longer: it closes
//! at the credential's expiry (a timer, no polling), and checks the credential again when a
//! notice says it may have ended (a client or token family revoked, an admin signed out,
//! removed or given another role, a widget's key rotated or the widget deleted). Notices reach
//! every node (`events::bus`), so a change made through any node closes sockets on all of them.
use crate::error::Code;
use chrono::{DateTime, Utc};
use tokio::{sync::broadcast, time::Instant};
use uuid::Uuid;

use super::{
    admin_sessions,
    admins::Role,
    peer_access::{self, PeerSession},
    redaction::Reader,
    tokens, widgets,
};
pub use crate::events::notices::{NOTICE_CHANNEL, Notice};
use crate::{
    error::{Error, Result},
    state::AppState,
};

/// The close code of a socket whose credential ended (like HTTP 401, in the application's
/// range of WebSocket codes).
pub const CLOSED_UNAUTHENTICATED: u16 = 4401;
/// The close code when the credential could not be checked (WebSocket's internal error).
pub const CLOSED_UNCHECKED: u16 = 1011;

/// What a socket was opened with.
#[derive(Debug, Clone)]
pub enum Credential {
    AccessToken(String),
    AdminSession(String),
    PeerToken(String),
    WidgetUser { widget_id: String, token: String },
}

/// Who holds a socket, as its credential said when it was checked.
#[derive(Debug, Clone)]
pub enum Holder {
    Client { client_id: Uuid, family_id: Uuid },
    Admin { admin_id: Uuid, role: Role },
    Peer(PeerSession),
    WidgetUser { widget_id: String, user_id: String },
}

/// Why a socket's access ended: its WebSocket close code and reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ended {
    pub code: u16,
    pub reason: String,
}

impl Ended {
    /// A close frame's reason holds at most 123 bytes.
    pub fn new(code: u16, reason: &str) -> Self {
        let mut end = reason.len().min(123);
        while !reason.is_char_boundary(end) {
            end -= 1;
        }
        Self {
            code,
            reason: reason[..end].to_string(),
        }
    }

    fn from_error(e: Error) -> Self {
        match e {
            Error::Database(_) | Error::Unavailable { .. } | Error::Internal(_) => {
                tracing::warn!(error = %e, "a socket's credential could not be checked");
                Self::new(
                    CLOSED_UNCHECKED,
                    "the credential could not be checked; reconnect",
                )
            }
            other => Self::new(CLOSED_UNAUTHENTICATED, &other.to_string()),
        }
    }
}

/// A checked credential and what it grants.
#[derive(Debug, Clone)]
pub struct Access {
    credential: Credential,
    pub holder: Holder,
    pub org_id: Uuid,
    expires_at: Option<DateTime<Utc>>,
}

async fn check(
    state: &AppState,
    credential: &Credential,
) -> Result<(Holder, Uuid, Option<DateTime<Utc>>)> {
    Ok(match credential {
        Credential::AccessToken(token) => {
            let grant = tokens::grant(state, token).await?;
            let client_id = grant.principal.actor_id();
            let holder = Holder::Client {
                client_id,
                family_id: grant.family_id,
            };
            (holder, grant.principal.org_id, Some(grant.expires_at))
        }
        Credential::AdminSession(cookie) => {
            let (admin, until) = admin_sessions::authenticate_until(state, cookie).await?;
            let holder = Holder::Admin {
                admin_id: admin.id,
                role: admin.role,
            };
            (holder, admin.org_id, Some(until))
        }
        // Peer tokens do not expire: a peer's socket closes when it leaves (the realtime
        // socket sees its `clientsRemoved`).
        Credential::PeerToken(token) => {
            let peer = peer_access::authenticate(state, token).await?;
            let org_id = peer.org_id;
            (Holder::Peer(peer), org_id, None)
        }
        Credential::WidgetUser { widget_id, token } => {
            let widget = widgets::find_public(state, widget_id).await?;
            let (user_id, exp) = widgets::authenticate_until(state, &widget, token)?;
            let holder = Holder::WidgetUser {
                widget_id: widget.id,
                user_id,
            };
            (holder, widget.org_id, Some(exp))
        }
    })
}

impl Access {
    /// Check `credential` as a request would. One that has reached its expiry is refused even
    /// within the leeway requests get, since its socket would close at once.
    async fn open(state: &AppState, credential: Credential) -> Result<Self> {
        let (holder, org_id, expires_at) = check(state, &credential).await?;
        let access = Self {
            credential,
            holder,
            org_id,
            expires_at,
        };
        if access.expires_at.is_some_and(|t| t <= state.now()) {
            let code = match access.credential {
                Credential::AdminSession(_) => Code::SessionExpired,
                Credential::WidgetUser { .. } => Code::UserTokenExpired,
                _ => Code::TokenExpired,
            };
            return Err(Error::unauthenticated(code, access.expiry_reason()));
        }
        Ok(access)
    }

    /// Whose eyes the socket's events are for (see `redaction`).
    pub fn reader(&self) -> Reader {
        match &self.holder {
            Holder::Client { .. } => Reader::Client,
            Holder::Admin { role, .. } => Reader::Admin(*role),
            Holder::Peer(_) | Holder::WidgetUser { .. } => Reader::Peer,
        }
    }

    fn expiry_reason(&self) -> &'static str {
        match self.credential {
            Credential::AccessToken(_) => "the access token expired",
            Credential::AdminSession(_) => "the dashboard session expired; sign in again",
            Credential::WidgetUser { .. } => "the user token expired",
            Credential::PeerToken(_) => "the peer token expired",
        }
    }

    fn concerns(&self, notice: &Notice) -> bool {
        match (notice, &self.holder) {
            (Notice::All, _) => true,
            (Notice::Client(id), Holder::Client { client_id, .. }) => id == client_id,
            (Notice::Family(id), Holder::Client { family_id, .. }) => id == family_id,
            (Notice::Admin(id), Holder::Admin { admin_id, .. }) => id == admin_id,
            (Notice::Widget(id), Holder::WidgetUser { widget_id, .. }) => id == widget_id,
            _ => false,
        }
    }

    /// Check the credential again. A dashboard user whose role changed reconnects, so that
    /// what the socket shows follows the new role.
    async fn recheck(&self, state: &AppState) -> Result<(), Ended> {
        let (holder, ..) = check(state, &self.credential)
            .await
            .map_err(Ended::from_error)?;
        if let (Holder::Admin { role: was, .. }, Holder::Admin { role: now, .. }) =
            (&self.holder, &holder)
            && was != now
        {
            return Err(Ended::new(
                CLOSED_UNAUTHENTICATED,
                "the admin user's role changed; reconnect",
            ));
        }
        Ok(())
    }
}

/// An open socket's access, watched: [`Watch::ended`] resolves when it ends.
#[derive(Debug)]
pub struct Watch {
    access: Access,
    notices: broadcast::Receiver<Notice>,
    deadline: Option<Instant>,
    /// A notice concerned this socket and its check has not finished yet.
    recheck: bool,
}

impl Watch {
    /// Check `credential` and watch what it grants from then on. Notices are heard from
    /// before the check, so a change committed meanwhile is not missed.
    pub async fn open(state: &AppState, credential: Credential) -> Result<Self> {
        let notices = state.bus.subscribe_notices();
        let access = Access::open(state, credential).await?;
        let deadline = access
            .expires_at
            .map(|t| Instant::now() + (t - state.now()).to_std().unwrap_or_default());
        Ok(Self {
            access,
            notices,
            deadline,
            recheck: false,
        })
    }

    pub fn access(&self) -> &Access {
        &self.access
    }

    /// Wait until the access ends. Cancel-safe: a `select!` may drop it and call it again.
    pub async fn ended(&mut self, state: &AppState) -> Ended {
        loop {
            if self.recheck {
                if let Err(ended) = self.access.recheck(state).await {
                    return ended;
                }
                self.recheck = false;
            }
            let deadline = self.deadline;
            let expiry = async move {
                match deadline {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = expiry => {
                    return Ended::new(CLOSED_UNAUTHENTICATED, self.access.expiry_reason());
                }
                notice = self.notices.recv() => match notice {
                    Ok(notice) => self.recheck |= self.access.concerns(&notice),
                    // Missed notices may have concerned this socket.
                    Err(broadcast::error::RecvError::Lagged(_)) => self.recheck = true,
                    // The bus lives as long as the state this socket holds.
                    Err(broadcast::error::RecvError::Closed) => {
                        return Ended::new(CLOSED_UNCHECKED, "the server is shutting down");
                    }
                },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_reasons_fit_a_close_frame() {
        let long = "é".repeat(100);
        let ended = Ended::new(CLOSED_UNAUTHENTICATED, &long);
        assert!(ended.reason.len() <= 123);
        assert!(long.starts_with(&ended.reason));
    }
}
