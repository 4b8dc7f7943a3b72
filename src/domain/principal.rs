//! Who is making a request.
use uuid::Uuid;

use super::admins::Role;
use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub org_id: Uuid,
    pub actor: Actor,
    /// The address the request came from, for the audit log (set by the HTTP layer).
    pub source_ip: Option<String>,
    /// The dialect the request came through when it is not the native API (`xroom`).
    pub via: Option<&'static str>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    Client {
        client_id: Uuid,
        api_key: String,
    },
    /// A dashboard user signed in with a session cookie.
    Admin {
        admin_id: Uuid,
        role: Role,
        email: String,
    },
}

impl Principal {
    /// Resources of another org answer as if they did not exist, so a client learns nothing
    /// about other tenants.
    pub fn require_org(&self, org_id: Uuid) -> Result<()> {
        if self.org_id == org_id {
            Ok(())
        } else {
            Err(Error::not_found("organisation"))
        }
    }

    /// Where a room created by this principal comes from.
    pub fn origin(&self) -> super::room_model::Origin {
        match &self.actor {
            Actor::Client { client_id, .. } => super::room_model::Origin::Client(*client_id),
            Actor::Admin { admin_id, .. } => super::room_model::Origin::Admin(*admin_id),
        }
    }

    /// The API client or dashboard user acting.
    pub fn actor_id(&self) -> Uuid {
        match &self.actor {
            Actor::Client { client_id, .. } => *client_id,
            Actor::Admin { admin_id, .. } => *admin_id,
        }
    }

    /// The API client acting, when it is one (not a dashboard user).
    pub fn client_id(&self) -> Option<Uuid> {
        match &self.actor {
            Actor::Client { client_id, .. } => Some(*client_id),
            Actor::Admin { .. } => None,
        }
    }
}
