//! Who is making a request.
use uuid::Uuid;

use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub org_id: Uuid,
    pub actor: Actor,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    Client { client_id: Uuid, api_key: String },
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

    pub fn client_id(&self) -> Uuid {
        match &self.actor {
            Actor::Client { client_id, .. } => *client_id,
        }
    }
}
