//! Subscriptions (Coviu): users allowed to host sessions. Times are epoch milliseconds.
use poem::web::Data;
use poem_openapi::{
    Object, OpenApi,
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
    sessions::{SessionEntry, entry_resource},
};
use crate::{
    domain::{
        sessions,
        subscriptions::{self, SubscriptionView},
    },
    state::AppState,
};

pub struct SubscriptionsApi;

#[derive(Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct Subscription {
    /// The org's own id for the user.
    #[oai(rename = "ref")]
    pub reference: String,
    pub name: String,
    /// Epoch milliseconds.
    pub started: i64,
    /// Epoch milliseconds, once deactivated.
    #[oai(nullable)]
    pub ended: Option<i64>,
    pub org_id: Uuid,
    pub active: bool,
    pub subscription_id: Uuid,
    pub email: String,
}

impl From<SubscriptionView> for Subscription {
    fn from(v: SubscriptionView) -> Self {
        Self {
            reference: v.reference,
            name: v.name,
            started: v.started.timestamp_millis(),
            ended: v.ended.map(|t| t.timestamp_millis()),
            org_id: v.org_id,
            active: v.active,
            subscription_id: v.id,
            email: v.email,
        }
    }
}

#[derive(Debug, Object, Deserialize)]
pub struct NewSubscription {
    /// Unique among the org's active subscriptions; at most 256 characters.
    #[oai(rename = "ref")]
    #[serde(rename = "ref")]
    #[oai(validator(
        pattern = r"^[^\x00-\x1f\x7f-\x9f\uFFFE\uFFFF]*[^\s\x00-\x1f\x7f-\x9f\uFFFE\uFFFF][^\x00-\x1f\x7f-\x9f\uFFFE\uFFFF]*$",
        max_length = 256
    ))]
    pub reference: String,
    #[oai(validator(
        pattern = r"^[A-Za-z0-9_+-]{1,64}@[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$",
        max_length = 254
    ))]
    pub email: String,
    #[oai(validator(
        pattern = r"^[^\x00-\x1f\x7f-\x9f\uFFFE\uFFFF]*[^\s\x00-\x1f\x7f-\x9f\uFFFE\uFFFF][^\x00-\x1f\x7f-\x9f\uFFFE\uFFFF]*$",
        max_length = 256
    ))]
    pub name: String,
}

/// `self`, `org`, and `sessions`: the entries of the subscription's sessions (Coviu's demo
/// follows it for every item of a page).
pub fn subscription_links(org_id: Uuid, id: Uuid) -> Links {
    let this = format!("/v1/orgs/{org_id}/subscriptions/{id}");
    links([
        ("sessions", format!("{this}/sessions")),
        ("self", this),
        ("org", format!("/v1/orgs/{org_id}")),
    ])
}

fn resource(v: SubscriptionView) -> Hal<Subscription> {
    let l = subscription_links(v.org_id, v.id);
    Hal::new(v.into(), l)
}

#[OpenApi(tag = "Tag::Sessions")]
impl SubscriptionsApi {
    /// List subscriptions
    #[oai(
        path = "/v1/orgs/:orgId/subscriptions",
        method = "get",
        operation_id = "listSubscriptions"
    )]
    async fn list(
        &self,
        state: Data<&AppState>,
        auth: ClientAuth,
        #[oai(name = "orgId")] org_id: Path<Uuid>,
        #[oai(validator(minimum(value = "0")))] page: Query<Option<u64>>,
        #[oai(validator(minimum(value = "1"), maximum(value = "500")))] count: Query<Option<u64>>,
    ) -> ApiResult<Json<HalPage<Hal<Subscription>>>> {
        auth.principal().require_org(org_id.0)?;
        let paging = Paging::new(page.0, count.0);
        let (views, more) = subscriptions::list(&state, org_id.0, paging.window()).await?;
        Ok(Json(HalPage::new(
            views.into_iter().map(resource).collect(),
            paging,
            &format!("/v1/orgs/{}/subscriptions", org_id.0),
            &[],
            more,
        )))
    }

    /// Create a subscription
    ///
    /// Answers 200 with the subscription, as the Coviu API does.
    #[oai(
        path = "/v1/orgs/:orgId/subscriptions",
        method = "post",
        operation_id = "createSubscription"
    )]
    async fn create(
        &self,
        state: Data<&AppState>,
        auth: ClientAuth,
        #[oai(name = "orgId")] org_id: Path<Uuid>,
        body: JsonBody<NewSubscription>,
    ) -> ApiResult<Json<Hal<Subscription>>> {
        auth.principal().require_org(org_id.0)?;
        let b = body.0;
        let v = subscriptions::create(&state, org_id.0, &b.reference, &b.email, &b.name).await?;
        Ok(Json(resource(v)))
    }

    /// Get a subscription
    #[oai(
        path = "/v1/orgs/:orgId/subscriptions/:subscriptionId",
        method = "get",
        operation_id = "getSubscription"
    )]
    async fn get(
        &self,
        state: Data<&AppState>,
        auth: ClientAuth,
        #[oai(name = "orgId")] org_id: Path<Uuid>,
        #[oai(name = "subscriptionId")] id: Path<Uuid>,
    ) -> ApiResult<Json<Hal<Subscription>>> {
        auth.principal().require_org(org_id.0)?;
        Ok(Json(resource(
            subscriptions::get(&state, org_id.0, id.0).await?,
        )))
    }

    /// List the entries of a subscription's sessions, newest first
    ///
    /// Owner and guest entries of every session hosted under this subscription.
    #[oai(
        path = "/v1/orgs/:orgId/subscriptions/:subscriptionId/sessions",
        method = "get",
        operation_id = "listSubscriptionSessionEntries"
    )]
    async fn sessions(
        &self,
        state: Data<&AppState>,
        auth: ClientAuth,
        #[oai(name = "orgId")] org_id: Path<Uuid>,
        #[oai(name = "subscriptionId")] id: Path<Uuid>,
        #[oai(validator(minimum(value = "0")))] page: Query<Option<u64>>,
        #[oai(validator(minimum(value = "1"), maximum(value = "500")))] count: Query<Option<u64>>,
    ) -> ApiResult<Json<HalPage<Hal<SessionEntry>>>> {
        auth.principal().require_org(org_id.0)?;
        let paging = Paging::new(page.0, count.0);
        let (views, more) =
            sessions::of_subscription(&state, org_id.0, id.0, paging.window()).await?;
        Ok(Json(HalPage::new(
            views.into_iter().map(entry_resource).collect(),
            paging,
            &format!("/v1/orgs/{}/subscriptions/{}/sessions", org_id.0, id.0),
            &[],
            more,
        )))
    }

    /// Deactivate a subscription
    ///
    /// Answers 200 with the subscription, `active: false` and `ended` set; its owner's
    /// session links are refused from now on.
    #[oai(
        path = "/v1/orgs/:orgId/subscriptions/:subscriptionId",
        method = "delete",
        operation_id = "deleteSubscription"
    )]
    async fn delete(
        &self,
        state: Data<&AppState>,
        auth: ClientAuth,
        #[oai(name = "orgId")] org_id: Path<Uuid>,
        #[oai(name = "subscriptionId")] id: Path<Uuid>,
    ) -> ApiResult<Json<Hal<Subscription>>> {
        auth.principal().require_org(org_id.0)?;
        Ok(Json(resource(
            subscriptions::deactivate(&state, org_id.0, id.0).await?,
        )))
    }
}
