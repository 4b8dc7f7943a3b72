//! The delivery log of a webhook, and redelivery.
use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::{
    Object, OpenApi,
    param::{Path, Query},
    payload::Json,
};
use serde::Deserialize;
use uuid::Uuid;

use poem_openapi::types::ParseFromJSON;

use super::{
    Tag,
    body::JsonBody,
    event_types::WebhookEvent,
    hal::{Hal, HalPage, Paging, links},
    problem::ApiResult,
    security::ClientAuth,
};
use crate::{
    domain::deliveries::{self, DeliveryView},
    domain::redaction::{self, Reader},
    state::AppState,
};

pub struct DeliveriesApi;

#[derive(Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct Delivery {
    pub delivery_id: i64,
    /// The `webhook-id` header: the same for every attempt of this delivery.
    pub message_id: String,
    pub webhook_id: i64,
    pub event_id: Uuid,
    /// Event name.
    #[oai(nullable)]
    pub event: Option<String>,
    /// The event's sequence number in its room.
    #[oai(nullable)]
    pub seq: Option<i64>,
    #[oai(nullable)]
    pub room: Option<String>,
    /// `pending`, `delivered` or `failed` (given up).
    pub status: String,
    pub attempts: i32,
    /// When the next attempt is due (pending deliveries).
    #[oai(nullable)]
    pub next_attempt_at: Option<DateTime<Utc>>,
    #[oai(nullable)]
    pub last_attempt_at: Option<DateTime<Utc>>,
    /// HTTP status of the last answer.
    #[oai(nullable)]
    pub last_status_code: Option<i32>,
    #[oai(nullable)]
    pub last_latency_ms: Option<i32>,
    /// Why the last attempt failed.
    #[oai(nullable)]
    pub last_error: Option<String>,
    #[oai(nullable)]
    pub delivered_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl From<DeliveryView> for Delivery {
    fn from(v: DeliveryView) -> Self {
        Self {
            delivery_id: v.id,
            message_id: v.message_id,
            webhook_id: v.webhook_id,
            event_id: v.event_id,
            event: v.event,
            seq: v.seq,
            room: v.room,
            status: v.status,
            attempts: v.attempts,
            next_attempt_at: v.next_attempt_at,
            last_attempt_at: v.last_attempt_at,
            last_status_code: v.last_status_code,
            last_latency_ms: v.last_latency_ms,
            last_error: v.last_error,
            delivered_at: v.delivered_at,
            created_at: v.created_at,
        }
    }
}

#[derive(Debug, Object, Deserialize)]
pub struct RedeliverRange {
    /// Deliveries created at or after this time…
    pub since: DateTime<Utc>,
    /// …and before this time.
    pub until: DateTime<Utc>,
}

#[derive(Debug, Object)]
pub struct Requeued {
    /// Finished deliveries put back in the queue.
    pub requeued: u64,
}

fn resource(org_id: Uuid, v: DeliveryView) -> Hal<Delivery> {
    let this = format!(
        "/v1/orgs/{org_id}/webhooks/{}/deliveries/{}",
        v.webhook_id, v.id
    );
    let l = links([
        ("self", this.clone()),
        (
            "webhook",
            format!("/v1/orgs/{org_id}/webhooks/{}", v.webhook_id),
        ),
        ("redeliver", format!("{this}/redeliver")),
    ]);
    Hal::new(v.into(), l)
}

#[OpenApi(tag = "Tag::Webhooks")]
impl DeliveriesApi {
    /// A webhook's deliveries, newest first
    #[oai(
        path = "/v1/orgs/:orgId/webhooks/:webhookId/deliveries",
        method = "get",
        operation_id = "listDeliveries"
    )]
    #[allow(clippy::too_many_arguments)] // one per extractor
    async fn list(
        &self,
        state: Data<&AppState>,
        auth: ClientAuth,
        #[oai(name = "orgId")] org_id: Path<Uuid>,
        #[oai(name = "webhookId")] webhook_id: Path<i64>,
        /// `pending`, `delivered` or `failed`.
        status: Query<Option<String>>,
        #[oai(validator(minimum(value = "0")))] page: Query<Option<u64>>,
        #[oai(validator(minimum(value = "1"), maximum(value = "500")))] count: Query<Option<u64>>,
    ) -> ApiResult<Json<HalPage<Delivery>>> {
        auth.principal().require_org(org_id.0)?;
        let paging = Paging::new(page.0, count.0);
        let (views, more) = deliveries::list(
            &state,
            org_id.0,
            webhook_id.0,
            status.0.as_deref(),
            paging.window(),
        )
        .await?;
        Ok(Json(HalPage::new(
            views.into_iter().map(Delivery::from).collect(),
            paging,
            &format!("/v1/orgs/{}/webhooks/{}/deliveries", org_id.0, webhook_id.0),
            &[("status", status.0)],
            more,
        )))
    }

    /// One delivery
    #[oai(
        path = "/v1/orgs/:orgId/webhooks/:webhookId/deliveries/:deliveryId",
        method = "get",
        operation_id = "getDelivery"
    )]
    async fn get(
        &self,
        state: Data<&AppState>,
        auth: ClientAuth,
        #[oai(name = "orgId")] org_id: Path<Uuid>,
        #[oai(name = "webhookId")] webhook_id: Path<i64>,
        #[oai(name = "deliveryId")] delivery_id: Path<i64>,
    ) -> ApiResult<Json<Hal<Delivery>>> {
        auth.principal().require_org(org_id.0)?;
        let v = deliveries::get(&state, org_id.0, webhook_id.0, delivery_id.0).await?;
        Ok(Json(resource(org_id.0, v)))
    }

    /// The body of a delivery
    ///
    /// Exactly what is POSTed to the webhook (typed by `event`); receivers can generate their
    /// event types from this schema. Dashboard viewers get it without room passwords and host
    /// keys.
    #[oai(
        path = "/v1/orgs/:orgId/webhooks/:webhookId/deliveries/:deliveryId/body",
        method = "get",
        operation_id = "getDeliveryBody"
    )]
    async fn body(
        &self,
        state: Data<&AppState>,
        auth: ClientAuth,
        #[oai(name = "orgId")] org_id: Path<Uuid>,
        #[oai(name = "webhookId")] webhook_id: Path<i64>,
        #[oai(name = "deliveryId")] delivery_id: Path<i64>,
    ) -> ApiResult<Json<WebhookEvent>> {
        auth.principal().require_org(org_id.0)?;
        let body = deliveries::body(&state, org_id.0, webhook_id.0, delivery_id.0).await?;
        let body = redaction::webhook_body_shown_to(Reader::from(auth.principal()), body);
        let typed = WebhookEvent::parse_from_json(Some(body)).map_err(|e| {
            crate::error::Error::Internal(anyhow::anyhow!(
                "a stored event does not match its documented schema: {}",
                e.into_message()
            ))
        })?;
        Ok(Json(typed))
    }

    /// Redeliver one delivery
    ///
    /// Sends a delivered or failed delivery again, with the same `webhook-id`.
    #[oai(
        path = "/v1/orgs/:orgId/webhooks/:webhookId/deliveries/:deliveryId/redeliver",
        method = "post",
        operation_id = "redeliverDelivery"
    )]
    async fn redeliver(
        &self,
        state: Data<&AppState>,
        auth: ClientAuth,
        #[oai(name = "orgId")] org_id: Path<Uuid>,
        #[oai(name = "webhookId")] webhook_id: Path<i64>,
        #[oai(name = "deliveryId")] delivery_id: Path<i64>,
    ) -> ApiResult<Json<Hal<Delivery>>> {
        auth.principal().require_org(org_id.0)?;
        let v = deliveries::redeliver(&state, org_id.0, webhook_id.0, delivery_id.0).await?;
        Ok(Json(resource(org_id.0, v)))
    }

    /// Redeliver a time range
    ///
    /// Sends again every delivered or failed delivery of the webhook created in
    /// `[since, until)`.
    #[oai(
        path = "/v1/orgs/:orgId/webhooks/:webhookId/redeliver",
        method = "post",
        operation_id = "redeliverDeliveries"
    )]
    async fn redeliver_range(
        &self,
        state: Data<&AppState>,
        auth: ClientAuth,
        #[oai(name = "orgId")] org_id: Path<Uuid>,
        #[oai(name = "webhookId")] webhook_id: Path<i64>,
        body: JsonBody<RedeliverRange>,
    ) -> ApiResult<Json<Requeued>> {
        auth.principal().require_org(org_id.0)?;
        let requeued =
            deliveries::redeliver_range(&state, org_id.0, webhook_id.0, body.0.since, body.0.until)
                .await?;
        Ok(Json(Requeued { requeued }))
    }
}
