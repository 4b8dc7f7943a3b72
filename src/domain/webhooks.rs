//! Webhooks: per domain (optionally one room), of type `url` (HTTP POST, after passing the
//! validation handshake) or `robot` (events over the realtime socket, valid from the start).
use crate::error::Code;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use serde_json::json;

use super::{
    audit::{self, Action, AuditAction, By},
    domains, validate,
};
use crate::{
    auth::{random, xroom_hmac},
    error::{Error, Result},
    events::{EventKind, routing, webhook_post},
    outbound::{self, TargetError},
    state::AppState,
    store::{self, Window, entities::webhook, webhooks::Filter},
};

pub const URL: &str = "url";
pub const ROBOT: &str = "robot";

#[derive(Debug, Clone)]
pub struct WebhookView {
    pub id: i64,
    pub org_id: Uuid,
    pub domain: String,
    pub room_name: Option<String>,
    pub kind: String,
    pub url: Option<String>,
    pub robot_id: Option<i64>,
    pub events: Option<Vec<String>>,
    pub validated: bool,
    pub status: String,
    pub disabled_reason: Option<String>,
    pub disabled_at: Option<DateTime<Utc>>,
    pub failing_since: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Default)]
pub struct NewWebhook {
    pub domain: String,
    pub kind: String,
    pub room_name: Option<String>,
    pub url: Option<String>,
    pub robot_id: Option<i64>,
    pub events: Option<Vec<String>>,
}

/// Result of a validation handshake.
#[derive(Debug, Clone)]
pub struct Validation {
    pub validated: bool,
    /// Why it failed, for the admin.
    pub reason: Option<String>,
}

fn view(w: webhook::Model, domain: String) -> WebhookView {
    WebhookView {
        events: routing::subscribed_events(&w),
        id: w.id,
        org_id: w.org_id,
        domain,
        room_name: w.room_name,
        kind: w.kind,
        url: w.url,
        robot_id: w.robot_id,
        validated: w.validated,
        status: w.status.as_str().to_string(),
        disabled_reason: w.disabled_reason,
        disabled_at: w.disabled_at,
        failing_since: w.failing_since,
        created_at: w.created_at,
        updated_at: w.updated_at,
    }
}

fn target_error(e: TargetError) -> Error {
    match e {
        TargetError::NotAllowed(m) => Error::forbidden(Code::TargetNotAllowed, format!("url: {m}")),
        TargetError::InvalidUrl(m) | TargetError::Unresolvable(m) => Error::invalid("url", m),
    }
}

fn check_events(events: Option<Vec<String>>) -> Result<Option<Vec<String>>> {
    let Some(events) = events else {
        return Ok(None);
    };
    if events.is_empty() {
        return Err(Error::invalid(
            "events",
            "must name at least one event (omit it for all)",
        ));
    }
    for name in &events {
        if EventKind::parse(name).is_none() {
            let known: Vec<&str> = EventKind::ALL.iter().map(|k| k.as_str()).collect();
            return Err(Error::invalid(
                "events",
                format!("unknown event {name:?}; known: {}", known.join(", ")),
            ));
        }
    }
    Ok(Some(events))
}

/// The events of a webhook added through the xroom API: the manual's events, or those of
/// them it asks for. Clients of the manual know no others.
pub fn xroom_events(requested: Option<Vec<String>>) -> Result<Vec<String>> {
    let manual: Vec<&str> = EventKind::XROOM.iter().map(|k| k.as_str()).collect();
    let Some(requested) = requested else {
        return Ok(manual.iter().map(|n| n.to_string()).collect());
    };
    if let Some(other) = requested.iter().find(|n| !manual.contains(&n.as_str())) {
        return Err(Error::invalid(
            "events",
            format!(
                "{other:?} is not an event of the xroom API; its events: {}",
                manual.join(", ")
            ),
        ));
    }
    Ok(requested)
}

pub async fn add(state: &AppState, by: &By, new: NewWebhook) -> Result<WebhookView> {
    let org_id = by.org_id;
    let domain = domains::find_model(&state.db, org_id, &new.domain).await?;
    let room_name = new
        .room_name
        .as_deref()
        .map(|r| validate::room_name("roomName", r))
        .transpose()?;
    let events = check_events(new.events)?;
    let (url, robot_id, validated) = match new.kind.as_str() {
        URL => {
            if new.robot_id.is_some() {
                return Err(Error::invalid(
                    "robotId",
                    "only robot webhooks have a robotId",
                ));
            }
            let raw = new
                .url
                .ok_or_else(|| Error::invalid("url", "is required for url webhooks"))?;
            let url = outbound::check_target(&raw, state.outbound.allow_private())
                .await
                .map_err(target_error)?;
            (Some(url.to_string()), None, false)
        }
        ROBOT => {
            if new.url.is_some() {
                return Err(Error::invalid("url", "only url webhooks have a url"));
            }
            let robot = new
                .robot_id
                .ok_or_else(|| Error::invalid("robotId", "is required for robot webhooks"))?;
            if robot < 0 {
                return Err(Error::invalid("robotId", "must not be negative"));
            }
            (None, Some(robot), true)
        }
        _ => return Err(Error::invalid("type", "must be \"url\" or \"robot\"")),
    };
    let now = state.now();
    let txn = store::connect::begin_write(&state.writer).await?;
    let model = store::webhooks::insert(
        &txn,
        store::webhooks::NewWebhook {
            org_id,
            domain_id: domain.id,
            room_name,
            kind: new.kind,
            url,
            robot_id,
            events: events.map(|e| serde_json::to_string(&e).unwrap_or_default()),
            validated,
            secret_sealed: None,
            created_at: now,
        },
    )
    .await?;
    let view = view(model, domain.name);
    let action = Action::new(AuditAction::WebhookCreated, view.id)
        .detail(json!({"domain": view.domain, "type": view.kind, "url": view.url}));
    audit::write(&txn, now, by, action).await?;
    txn.commit().await?;
    Ok(view)
}

/// The org's webhook with its domain name.
pub async fn find(state: &AppState, org_id: Uuid, id: i64) -> Result<(webhook::Model, String)> {
    let hook = store::webhooks::find_in_org(&state.db, org_id, id)
        .await?
        .ok_or(Error::not_found("webhook"))?;
    let domain = store::domains::find_by_id(&state.db, hook.domain_id)
        .await?
        .ok_or(Error::not_found("webhook"))?;
    Ok((hook, domain.name))
}

pub async fn get(state: &AppState, org_id: Uuid, id: i64) -> Result<WebhookView> {
    let (hook, domain) = find(state, org_id, id).await?;
    Ok(view(hook, domain))
}

/// Remove a webhook with its delivery log.
pub async fn remove(state: &AppState, by: &By, id: i64) -> Result<()> {
    find(state, by.org_id, id).await?;
    let txn = store::connect::begin_write(&state.writer).await?;
    store::webhooks::delete(&txn, id).await?;
    audit::write(
        &txn,
        state.now(),
        by,
        Action::new(AuditAction::WebhookRemoved, id),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

pub async fn list(
    state: &AppState,
    org_id: Uuid,
    domain: Option<&str>,
    token: Option<String>,
    validated: Option<bool>,
    window: Window,
) -> Result<(Vec<WebhookView>, bool)> {
    let domain_model = match domain {
        Some(d) => Some(domains::find_model(&state.db, org_id, d).await?),
        None => None,
    };
    let filter = Filter {
        domain_id: domain_model.as_ref().map(|d| d.id),
        token: token.filter(|t| !t.trim().is_empty()),
        validated,
    };
    let rows = store::webhooks::list(&state.db, org_id, filter, window).await?;
    let (rows, more) = window.split(rows);
    let mut views = Vec::with_capacity(rows.len());
    for w in rows {
        let name = match &domain_model {
            Some(d) => d.name.clone(),
            None => store::domains::find_by_id(&state.db, w.domain_id)
                .await?
                .map(|d| d.name)
                .unwrap_or_default(),
        };
        views.push(view(w, name));
    }
    Ok((views, more))
}

/// Run the validation handshake: POST `{"event":"validation","signThis":…}` and expect the
/// hex HMAC-SHA256 of signThis under the domain's webhook key. Success validates (and
/// re-enables a disabled webhook); failure marks it not validated, with the reason.
pub async fn validate(state: &AppState, by: &By, id: i64) -> Result<(WebhookView, Validation)> {
    let (hook, domain_name) = find(state, by.org_id, id).await?;
    if hook.kind == ROBOT {
        return Ok((
            view(hook, domain_name),
            Validation {
                validated: true,
                reason: None,
            },
        ));
    }
    let domain = store::domains::find_by_id(&state.db, hook.domain_id)
        .await?
        .ok_or(Error::not_found("webhook"))?;
    let key = domains::view(&state.sealer, domain)?.webhook_key;
    let raw = hook.url.clone().unwrap_or_default();
    let url = outbound::check_target(&raw, state.outbound.allow_private())
        .await
        .map_err(target_error)?;
    let sign_this = random::hex(32);
    let body = serde_json::json!({"event": "validation", "signThis": sign_this}).to_string();
    let message_id = format!("msg_{}", Uuid::new_v4().simple());
    let expected = xroom_hmac::sign(&key, &sign_this);
    let reason = match webhook_post::post_signed(state, &url, &key, &message_id, &body).await {
        Err(e) => Some(e),
        Ok(resp) if !(200..300).contains(&resp.status) => {
            Some(format!("the receiver answered HTTP {}", resp.status))
        }
        Ok(resp) => {
            let answer = resp.body.trim().trim_matches('"').to_ascii_lowercase();
            (answer != expected).then(|| {
                "the answer is not the hex HMAC-SHA256 of signThis under the domain's webhook key"
                    .to_string()
            })
        }
    };
    let validated = reason.is_none();
    let now = state.now();
    let txn = store::connect::begin_write(&state.writer).await?;
    let hook = store::webhooks::set_validated(&txn, hook, validated, now).await?;
    let action = Action::new(AuditAction::WebhookValidated, hook.id)
        .detail(serde_json::json!({"validated": validated}));
    audit::write(&txn, now, by, action).await?;
    txn.commit().await?;
    if validated {
        state.bus.wake_delivery();
    }
    Ok((view(hook, domain_name), Validation { validated, reason }))
}
