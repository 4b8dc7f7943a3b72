//! Webhooks of an organisation: add, list, get, remove, validate.
use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::{
    ApiResponse, Object, OpenApi,
    param::{Path, Query},
    payload::Json,
};
use serde::Deserialize;
use uuid::Uuid;

use super::{
    Tag,
    body::JsonBody,
    hal::{Hal, HalPage, Links, Paging, links},
    problem::ApiResult,
    security::ClientAuth,
};
use crate::{
    domain::webhooks::{self, NewWebhook as DomainNewWebhook, WebhookView},
    state::AppState,
};

pub struct WebhooksApi;

#[derive(Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct Webhook {
    pub webhook_id: i64,
    pub org_id: Uuid,
    pub domain: String,
    /// Only events of this room, when set.
    #[oai(nullable)]
    pub room_name: Option<String>,
    /// `url` or `robot`.
    #[oai(rename = "type")]
    pub kind: String,
    #[oai(nullable)]
    pub url: Option<String>,
    #[oai(nullable)]
    pub robot_id: Option<i64>,
    /// Only these events, when set; every event when null.
    #[oai(nullable)]
    pub events: Option<Vec<String>>,
    /// url webhooks receive events only after passing the validation handshake.
    pub validated: bool,
    /// `active` or `disabled`.
    pub status: String,
    /// Why the webhook was disabled (410 Gone, failing for too long).
    #[oai(nullable)]
    pub disabled_reason: Option<String>,
    #[oai(nullable)]
    pub disabled_at: Option<DateTime<Utc>>,
    /// Start of the current streak of failed deliveries.
    #[oai(nullable)]
    pub failing_since: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<WebhookView> for Webhook {
    fn from(v: WebhookView) -> Self {
        Self {
            webhook_id: v.id,
            org_id: v.org_id,
            domain: v.domain,
            room_name: v.room_name,
            kind: v.kind,
            url: v.url,
            robot_id: v.robot_id,
            events: v.events,
            validated: v.validated,
            status: v.status,
            disabled_reason: v.disabled_reason,
            disabled_at: v.disabled_at,
            failing_since: v.failing_since,
            created_at: v.created_at,
            updated_at: v.updated_at,
        }
    }
}

#[derive(Debug, Object, Deserialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct NewWebhook {
    /// A domain of the org.
    pub domain: String,
    /// `url` (HTTP POST after validation) or `robot` (realtime socket).
    #[oai(rename = "type")]
    #[serde(rename = "type")]
    pub kind: String,
    #[oai(nullable)]
    #[oai(validator(pattern = r"^[A-Za-z0-9][A-Za-z0-9._~-]*$", max_length = 128))]
    pub room_name: Option<String>,
    /// For `url` webhooks: where events are POSTed.
    #[oai(nullable)]
    #[oai(validator(
        pattern = r"^https?://([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(:[1-9][0-9]{0,3})?(/[A-Za-z0-9._~-]*)*$"
    ))]
    pub url: Option<String>,
    /// For `robot` webhooks.
    #[oai(nullable)]
    #[oai(validator(minimum(value = "0")))]
    pub robot_id: Option<i64>,
    /// Event names to receive; omitted: every event (room, booking, session and chat events,
    /// see `WebhookEvent`). Webhooks added through xroom's `/api/webhook` get its four room
    /// events only.
    #[oai(nullable)]
    #[oai(validator(min_items = 1))]
    pub events: Option<Vec<String>>,
}

#[derive(Debug, Object)]
pub struct ValidationResult {
    pub webhook: Webhook,
    pub validated: bool,
    /// Why validation failed.
    #[oai(nullable)]
    pub reason: Option<String>,
}

#[derive(ApiResponse)]
pub enum Created {
    /// The webhook was added; url webhooks still need validating.
    #[oai(status = 201)]
    Created(Json<Hal<Webhook>>),
}

#[derive(ApiResponse)]
pub enum Removed {
    /// The webhook and its delivery log are gone.
    #[oai(status = 204)]
    Removed,
}

pub fn webhook_links(org_id: Uuid, id: i64) -> Links {
    let this = format!("/v1/orgs/{org_id}/webhooks/{id}");
    links([
        ("self", this.clone()),
        ("org", format!("/v1/orgs/{org_id}")),
        ("validate", format!("{this}/validate")),
        ("deliveries", format!("{this}/deliveries")),
        ("redeliver", format!("{this}/redeliver")),
    ])
}

fn resource(v: WebhookView) -> Hal<Webhook> {
    let l = webhook_links(v.org_id, v.id);
    Hal::new(v.into(), l)
}

#[OpenApi(tag = "Tag::Webhooks")]
impl WebhooksApi {
    /// List webhooks
    #[oai(
        path = "/v1/orgs/:orgId/webhooks",
        method = "get",
        operation_id = "listWebhooks"
    )]
    #[allow(clippy::too_many_arguments)] // one per extractor
    async fn list(
        &self,
        state: Data<&AppState>,
        auth: ClientAuth,
        #[oai(name = "orgId")] org_id: Path<Uuid>,
        /// Only webhooks of this domain.
        domain: Query<Option<String>>,
        /// Only webhooks whose URL or room name contains this text.
        token: Query<Option<String>>,
        /// Only validated (true) or unvalidated (false) webhooks.
        validated: Query<Option<bool>>,
        #[oai(validator(minimum(value = "0")))] page: Query<Option<u64>>,
        #[oai(validator(minimum(value = "1"), maximum(value = "500")))] count: Query<Option<u64>>,
    ) -> ApiResult<Json<HalPage<Webhook>>> {
        auth.principal().require_org(org_id.0)?;
        let paging = Paging::new(page.0, count.0);
        let (views, more) = webhooks::list(
            &state,
            org_id.0,
            domain.0.as_deref(),
            token.0.clone(),
            validated.0,
            paging.window(),
        )
        .await?;
        Ok(Json(HalPage::new(
            views.into_iter().map(Webhook::from).collect(),
            paging,
            &format!("/v1/orgs/{}/webhooks", org_id.0),
            &[
                ("domain", domain.0),
                ("token", token.0),
                ("validated", validated.0.map(|v| v.to_string())),
            ],
            more,
        )))
    }

    /// Add a webhook
    ///
    /// url webhooks must pass the validation handshake before they receive events; robot
    /// webhooks are valid at once. By default URLs on internal addresses are refused (403
    /// `target_not_allowed`).
    #[oai(
        path = "/v1/orgs/:orgId/webhooks",
        method = "post",
        operation_id = "createWebhook"
    )]
    async fn add(
        &self,
        state: Data<&AppState>,
        auth: ClientAuth,
        #[oai(name = "orgId")] org_id: Path<Uuid>,
        body: JsonBody<NewWebhook>,
    ) -> ApiResult<Created> {
        auth.principal().require_org(org_id.0)?;
        let b = body.0;
        let v = webhooks::add(
            &state,
            &auth.by(),
            DomainNewWebhook {
                domain: b.domain,
                kind: b.kind,
                room_name: b.room_name,
                url: b.url,
                robot_id: b.robot_id,
                events: b.events,
            },
        )
        .await?;
        Ok(Created::Created(Json(resource(v))))
    }

    /// Get a webhook
    #[oai(
        path = "/v1/orgs/:orgId/webhooks/:webhookId",
        method = "get",
        operation_id = "getWebhook"
    )]
    async fn get(
        &self,
        state: Data<&AppState>,
        auth: ClientAuth,
        #[oai(name = "orgId")] org_id: Path<Uuid>,
        #[oai(name = "webhookId")] webhook_id: Path<i64>,
    ) -> ApiResult<Json<Hal<Webhook>>> {
        auth.principal().require_org(org_id.0)?;
        Ok(Json(resource(
            webhooks::get(&state, org_id.0, webhook_id.0).await?,
        )))
    }

    /// Remove a webhook
    #[oai(
        path = "/v1/orgs/:orgId/webhooks/:webhookId",
        method = "delete",
        operation_id = "removeWebhook"
    )]
    async fn remove(
        &self,
        state: Data<&AppState>,
        auth: ClientAuth,
        #[oai(name = "orgId")] org_id: Path<Uuid>,
        #[oai(name = "webhookId")] webhook_id: Path<i64>,
    ) -> ApiResult<Removed> {
        auth.principal().require_org(org_id.0)?;
        webhooks::remove(&state, &auth.by(), webhook_id.0).await?;
        Ok(Removed::Removed)
    }

    /// Validate a webhook
    ///
    /// POSTs `{"event": "validation", "signThis": "<hex>"}` to the URL; the receiver must answer
    /// with the lowercase hex HMAC-SHA256 of signThis under the domain's `webhookKey`. A
    /// success also re-enables a disabled webhook.
    #[oai(
        path = "/v1/orgs/:orgId/webhooks/:webhookId/validate",
        method = "post",
        operation_id = "validateWebhook"
    )]
    async fn validate(
        &self,
        state: Data<&AppState>,
        auth: ClientAuth,
        #[oai(name = "orgId")] org_id: Path<Uuid>,
        #[oai(name = "webhookId")] webhook_id: Path<i64>,
    ) -> ApiResult<Json<Hal<ValidationResult>>> {
        auth.principal().require_org(org_id.0)?;
        let (v, result) = webhooks::validate(&state, &auth.by(), webhook_id.0).await?;
        let l = webhook_links(v.org_id, v.id);
        Ok(Json(Hal::new(
            ValidationResult {
                webhook: v.into(),
                validated: result.validated,
                reason: result.reason,
            },
            l,
        )))
    }
}
