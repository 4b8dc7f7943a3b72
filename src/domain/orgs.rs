//! Organisations: the tenants. Each is created with its first (default) domain.
use crate::error::Code;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{domains, domains::DomainView, validate};
use crate::{
    error::{Error, Result},
    state::AppState,
    store::{
        self,
        entities::organisation,
        orgs::{NewOrg, OrgSettings},
    },
};

/// Seats in a session (Coviu's default) until the org changes it.
pub const DEFAULT_SESSION_CAPACITY: i32 = 5;
const DEFAULT_ORG_NAME: &str = "Default";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgView {
    pub id: Uuid,
    pub name: String,
    pub session_capacity: i32,
    pub allow_rejoin_after_kick: bool,
    pub guest_lobby: bool,
    pub created_at: DateTime<Utc>,
}

impl From<organisation::Model> for OrgView {
    fn from(m: organisation::Model) -> Self {
        Self {
            id: m.id,
            name: m.name,
            session_capacity: m.session_capacity,
            allow_rejoin_after_kick: m.allow_rejoin_after_kick,
            guest_lobby: m.guest_lobby,
            created_at: m.created_at,
        }
    }
}

pub async fn create(state: &AppState, name: &str, domain: &str) -> Result<(OrgView, DomainView)> {
    let name = validate::display_text("name", name, 128)?;
    let now = state.now();
    let txn = store::connect::begin_write(&state.writer).await?;
    if store::orgs::find_by_name(&txn, &name).await?.is_some() {
        return Err(Error::conflict(
            Code::OrganisationExists,
            format!("an organisation named {name:?} already exists"),
        ));
    }
    let org = store::orgs::insert(
        &txn,
        NewOrg {
            name,
            session_capacity: DEFAULT_SESSION_CAPACITY,
            allow_rejoin_after_kick: false,
            guest_lobby: true,
            created_at: now,
        },
    )
    .await
    .map_err(|e| Error::from(e).classify_db())?;
    let domain = domains::create_in(&txn, &state.sealer, org.id, domain, true, true, now).await?;
    txn.commit().await?;
    Ok((org.into(), domain))
}

/// An org by id or, failing that, by name (the CLI accepts either).
pub async fn resolve(db: &impl store::Conn, id_or_name: &str) -> Result<OrgView> {
    let found = match Uuid::parse_str(id_or_name.trim()) {
        Ok(id) => store::orgs::find(db, id).await?,
        Err(_) => store::orgs::find_by_name(db, id_or_name.trim()).await?,
    };
    found
        .map(OrgView::from)
        .ok_or(Error::not_found("organisation"))
}

pub async fn get(state: &AppState, id: Uuid) -> Result<OrgView> {
    store::orgs::find(&state.db, id)
        .await?
        .map(OrgView::from)
        .ok_or(Error::not_found("organisation"))
}

/// On a database without organisations, create the default one with the configured domain.
/// `None` when one exists already (including when another node just created it).
pub async fn bootstrap(state: &AppState) -> Result<Option<(OrgView, DomainView)>> {
    if store::orgs::count(&state.db).await? > 0 {
        return Ok(None);
    }
    match create(state, DEFAULT_ORG_NAME, &state.config.default_domain).await {
        Ok(created) => Ok(Some(created)),
        Err(Error::Conflict { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Change the org's session settings.
pub async fn update_settings(
    state: &AppState,
    id: Uuid,
    session_capacity: Option<i64>,
    allow_rejoin_after_kick: Option<bool>,
    guest_lobby: Option<bool>,
) -> Result<OrgView> {
    let org = store::orgs::find(&state.db, id)
        .await?
        .ok_or(Error::not_found("organisation"))?;
    let max = i64::from(state.config.max_room_capacity);
    if let Some(cap) = session_capacity
        && !(1..=max).contains(&cap)
    {
        return Err(Error::invalid(
            "sessionCapacity",
            format!("must be between 1 and {max}"),
        ));
    }
    let changes = OrgSettings {
        session_capacity: session_capacity.map(|cap| cap as i32),
        allow_rejoin_after_kick,
        guest_lobby,
    };
    Ok(store::orgs::update_settings(&state.writer, org, changes)
        .await?
        .into())
}
