//! Admin users of the dashboard. Passwords are hashed with argon2id.
use crate::error::Code;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use serde_json::json;

use super::{
    audit::{self, Action, AuditAction, By},
    principal::{Actor, Principal},
};
use crate::{
    auth::password,
    error::{Error, Result},
    state::AppState,
    store::{self, entities::admin_user},
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Owner,
    Admin,
    Viewer,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Viewer => "viewer",
        }
    }
}

impl FromStr for Role {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "owner" => Ok(Role::Owner),
            "admin" => Ok(Role::Admin),
            "viewer" => Ok(Role::Viewer),
            _ => Err(Error::invalid("role", "must be owner, admin or viewer")),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminView {
    pub id: Uuid,
    pub org_id: Uuid,
    pub email: String,
    pub role: Role,
    pub created_at: DateTime<Utc>,
}

pub const MIN_PASSWORD_CHARS: usize = 10;

pub fn normalise_email(field: &str, raw: &str) -> Result<String> {
    let email = raw.trim().to_lowercase();
    if email.len() > 254 || !email_address::EmailAddress::is_valid(&email) {
        return Err(Error::invalid(field, "must be a valid email address"));
    }
    Ok(email)
}

/// Create an admin user of `by`'s org (the CLI's `admin create-user`, and [`add`]).
pub async fn create_user(
    state: &AppState,
    by: &By,
    email: &str,
    password_text: &str,
    role: Role,
) -> Result<AdminView> {
    let email = normalise_email("email", email)?;
    let chars = password_text.chars().count();
    if !(MIN_PASSWORD_CHARS..=1024).contains(&chars) {
        return Err(Error::invalid(
            "password",
            format!("must be {MIN_PASSWORD_CHARS}-1024 characters"),
        ));
    }
    let org_id = by.org_id;
    super::orgs::get(state, org_id).await?;
    if store::admins::find_by_email(&state.db, &email)
        .await?
        .is_some()
    {
        return Err(Error::conflict(
            Code::AdminExists,
            format!("an admin user {email} already exists"),
        ));
    }
    let hash = password::hash(password_text.to_string()).await?;
    let txn = store::connect::begin_write(&state.writer).await?;
    let model = store::admins::insert(
        &txn,
        store::admins::NewAdmin {
            org_id,
            email,
            password_hash: hash,
            role: role.as_str().to_string(),
            created_at: state.now(),
        },
    )
    .await
    .map_err(|e| Error::from(e).classify_db())?;
    let action = Action::new(AuditAction::AdminCreated, model.id)
        .detail(json!({"email": model.email, "role": role.as_str()}));
    audit::write(&txn, state.now(), by, action).await?;
    txn.commit().await?;
    Ok(AdminView {
        id: model.id,
        org_id: model.org_id,
        email: model.email,
        role,
        created_at: model.created_at,
    })
}

pub fn view(model: admin_user::Model) -> Result<AdminView> {
    Ok(AdminView {
        role: model.role.parse()?,
        id: model.id,
        org_id: model.org_id,
        email: model.email,
        created_at: model.created_at,
    })
}

/// The org's admin users that have not been removed.
pub async fn list(state: &AppState, org_id: Uuid) -> Result<Vec<AdminView>> {
    store::admins::list_for_org(&state.db, org_id)
        .await?
        .into_iter()
        .filter(|u| u.disabled_at.is_none())
        .map(view)
        .collect()
}

/// Only an owner, or an API client (which acts for the whole org), may make or remove an
/// owner: an admin can neither raise anyone to owner nor unseat the owners.
pub fn require_owner_rights(principal: &Principal, doing: &str) -> Result<()> {
    match principal.actor {
        Actor::Admin { role, .. } if role != Role::Owner => Err(Error::forbidden(
            Code::OwnerRequired,
            format!("only owners can {doing} owners"),
        )),
        _ => Ok(()),
    }
}

/// Add an admin user on behalf of `principal` (owners only for the owner role).
pub async fn add(
    state: &AppState,
    principal: &Principal,
    email: &str,
    password_text: &str,
    role: Role,
) -> Result<AdminView> {
    if role == Role::Owner {
        require_owner_rights(principal, "add")?;
    }
    create_user(state, &By::from(principal), email, password_text, role).await
}

/// Remove an admin user on behalf of `principal`: disabled (kept for the record) and signed
/// out everywhere. Owners are removed by owners only, and the last owner stays, so an org
/// can always be administered: the check and the removal share one transaction that holds
/// the org's owners locked, so two concurrent removals cannot both pass it.
pub async fn remove(state: &AppState, principal: &Principal, id: Uuid) -> Result<()> {
    let org_id = principal.org_id;
    let txn = store::connect::begin_write(&state.writer).await?;
    let owners = store::admins::lock_active_owners(&txn, org_id).await?;
    let user = store::admins::find(&txn, id)
        .await?
        .filter(|u| u.org_id == org_id && u.disabled_at.is_none())
        .ok_or_else(|| Error::not_found("admin user"))?;
    if user.role.parse::<Role>()? == Role::Owner {
        require_owner_rights(principal, "remove")?;
        if !owners.iter().any(|o| o.id != id) {
            return Err(Error::conflict(
                Code::LastOwner,
                "the last owner cannot be removed; make another owner first",
            ));
        }
    }
    store::admins::disable(&txn, id, state.now()).await?;
    store::admins::delete_sessions_of(&txn, id).await?;
    let action = Action::new(AuditAction::AdminRemoved, id);
    audit::write(&txn, state.now(), &By::from(principal), action).await?;
    txn.commit().await?;
    state
        .bus
        .credentials_changed(super::socket_access::Notice::Admin(id));
    Ok(())
}
