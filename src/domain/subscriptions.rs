//! Subscriptions: the users an org allows to host sessions. `ref` is the org's own id for the
//! user, unique among its active subscriptions. Deleting one deactivates it (`ended` set).
use crate::error::Code;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{admins::normalise_email, validate};
use crate::{
    error::{Error, Result},
    state::AppState,
    store::{self, Window, entities::subscription, subscriptions::NewSubscription},
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionView {
    pub id: Uuid,
    pub org_id: Uuid,
    pub reference: String,
    pub email: String,
    pub name: String,
    pub active: bool,
    pub started: DateTime<Utc>,
    pub ended: Option<DateTime<Utc>>,
}

impl From<subscription::Model> for SubscriptionView {
    fn from(m: subscription::Model) -> Self {
        Self {
            id: m.id,
            org_id: m.org_id,
            reference: m.reference,
            email: m.email,
            name: m.name,
            active: m.active,
            started: m.started_at,
            ended: m.ended_at,
        }
    }
}

fn duplicate(reference: &str) -> Error {
    Error::conflict(
        Code::SubscriptionExists,
        format!("an active subscription with ref {reference:?} exists"),
    )
}

pub async fn create(
    state: &AppState,
    org_id: Uuid,
    reference: &str,
    email: &str,
    name: &str,
) -> Result<SubscriptionView> {
    let reference = validate::display_text("ref", reference, 256)?;
    let name = validate::display_text("name", name, 256)?;
    let email = normalise_email("email", email)?;
    if email.chars().count() > 256 {
        return Err(Error::invalid("email", "must be at most 256 characters"));
    }
    if store::subscriptions::find_active_by_ref(&state.db, org_id, &reference)
        .await?
        .is_some()
    {
        return Err(duplicate(&reference));
    }
    let model = store::subscriptions::insert(
        &state.db,
        NewSubscription {
            org_id,
            reference: reference.clone(),
            email,
            name,
            started_at: state.now(),
        },
    )
    .await
    // Two concurrent creates: the partial unique index refuses the second.
    .map_err(|e| {
        if Error::is_unique_violation(&e) {
            duplicate(&reference)
        } else {
            e.into()
        }
    })?;
    Ok(model.into())
}

pub async fn get(state: &AppState, org_id: Uuid, id: Uuid) -> Result<SubscriptionView> {
    store::subscriptions::find_in_org(&state.db, org_id, id)
        .await?
        .map(Into::into)
        .ok_or(Error::not_found("subscription"))
}

pub async fn list(
    state: &AppState,
    org_id: Uuid,
    window: Window,
) -> Result<(Vec<SubscriptionView>, bool)> {
    let rows = store::subscriptions::list(&state.db, org_id, window).await?;
    let (rows, more) = window.split(rows);
    Ok((rows.into_iter().map(Into::into).collect(), more))
}

/// Deactivate (the Coviu DELETE): the subscription stays, `active: false`, `ended` set; its
/// owner's links stop working. Deactivating twice keeps the first end.
pub async fn deactivate(state: &AppState, org_id: Uuid, id: Uuid) -> Result<SubscriptionView> {
    let model = store::subscriptions::find_in_org(&state.db, org_id, id)
        .await?
        .ok_or(Error::not_found("subscription"))?;
    if !model.active {
        return Ok(model.into());
    }
    Ok(
        store::subscriptions::deactivate(&state.db, model, state.now())
            .await?
            .into(),
    )
}
