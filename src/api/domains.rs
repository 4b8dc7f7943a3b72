use base64::{Engine, engine::general_purpose::STANDARD};
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
    domain::domains::{self, DomainView},
    domain::redaction::{self, Reader},
    state::AppState,
};

pub struct DomainsApi;

#[derive(Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct Domain {
    pub domain_id: Uuid,
    pub org_id: Uuid,
    pub name: String,
    /// Signs webhook validation handshakes (HMAC-SHA256 of `signThis`) and deliveries.
    /// Absent for dashboard viewers.
    #[oai(skip_serializing_if_is_none)]
    pub webhook_key: Option<String>,
    /// The same key as Standard Webhooks libraries take it: `whsec_` + base64 of the key's
    /// UTF-8 bytes. Absent for dashboard viewers.
    #[oai(skip_serializing_if_is_none)]
    pub signing_secret: Option<String>,
    /// When true (the default), rooms of this domain are created through the API only;
    /// when false, opening a room's link opens the room (xroom's behaviour).
    pub forbid_non_api_rooms: bool,
    /// The org's default domain (sessions live here).
    pub is_default: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<DomainView> for Domain {
    fn from(v: DomainView) -> Self {
        Self {
            signing_secret: Some(format!(
                "whsec_{}",
                STANDARD.encode(v.webhook_key.as_bytes())
            )),
            domain_id: v.id,
            org_id: v.org_id,
            name: v.name,
            webhook_key: Some(v.webhook_key),
            forbid_non_api_rooms: v.forbid_non_api_rooms,
            is_default: v.is_default,
            created_at: v.created_at,
            updated_at: v.updated_at,
        }
    }
}

#[derive(Debug, Object, Deserialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct NewDomain {
    /// A DNS name, e.g. `chat.example.org`; unique across the server.
    #[oai(validator(
        pattern = r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$",
        max_length = 253
    ))]
    pub name: String,
    #[oai(nullable)]
    pub forbid_non_api_rooms: Option<bool>,
}

#[derive(Debug, Object, Deserialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct DomainPatch {
    #[oai(nullable)]
    pub forbid_non_api_rooms: Option<bool>,
}

#[derive(ApiResponse)]
pub enum Created {
    /// The domain was registered.
    #[oai(status = 201)]
    Created(Json<Hal<Domain>>),
}

impl Domain {
    /// Viewers read a domain's settings, not the key that signs its webhooks.
    fn without_keys_if(mut self, hidden: bool) -> Self {
        if hidden {
            self.webhook_key = None;
            self.signing_secret = None;
        }
        self
    }
}

fn resource(v: DomainView) -> Hal<Domain> {
    let org = format!("/v1/orgs/{}", v.org_id);
    let this = format!("{org}/domains/{}", v.name);
    let l: Links = links([
        ("self", this.clone()),
        ("org", org.clone()),
        ("rotateKey", format!("{this}/rotate-key")),
        ("rooms", format!("{org}/rooms?domain={}", v.name)),
    ]);
    Hal::new(v.into(), l)
}

#[OpenApi(tag = "Tag::Domains")]
impl DomainsApi {
    /// List the org's domains
    #[oai(
        path = "/v1/orgs/:orgId/domains",
        method = "get",
        operation_id = "listDomains"
    )]
    async fn list(
        &self,
        state: Data<&AppState>,
        auth: ClientAuth,
        #[oai(name = "orgId")] org_id: Path<Uuid>,
        #[oai(validator(minimum(value = "0")))] page: Query<Option<u64>>,
        #[oai(validator(minimum(value = "1"), maximum(value = "500")))] count: Query<Option<u64>>,
    ) -> ApiResult<Json<HalPage<Domain>>> {
        auth.principal().require_org(org_id.0)?;
        let paging = Paging::new(page.0, count.0);
        let (views, more) = domains::list(&state, org_id.0, paging.window()).await?;
        let hidden = !redaction::sees_secrets(Reader::from(auth.principal()));
        Ok(Json(HalPage::new(
            views
                .into_iter()
                .map(|v| Domain::from(v).without_keys_if(hidden))
                .collect(),
            paging,
            &format!("/v1/orgs/{}/domains", org_id.0),
            &[],
            more,
        )))
    }

    /// Register a domain
    #[oai(
        path = "/v1/orgs/:orgId/domains",
        method = "post",
        operation_id = "createDomain"
    )]
    async fn create(
        &self,
        state: Data<&AppState>,
        auth: ClientAuth,
        #[oai(name = "orgId")] org_id: Path<Uuid>,
        body: JsonBody<NewDomain>,
    ) -> ApiResult<Created> {
        auth.principal().require_org(org_id.0)?;
        let v = domains::create(
            &state,
            &auth.by(),
            &body.0.name,
            body.0.forbid_non_api_rooms.unwrap_or(true),
        )
        .await?;
        Ok(Created::Created(Json(resource(v))))
    }

    /// Get a domain, with its webhook key
    #[oai(
        path = "/v1/orgs/:orgId/domains/:domain",
        method = "get",
        operation_id = "getDomain"
    )]
    async fn get(
        &self,
        state: Data<&AppState>,
        auth: ClientAuth,
        #[oai(name = "orgId")] org_id: Path<Uuid>,
        domain: Path<String>,
    ) -> ApiResult<Json<Hal<Domain>>> {
        auth.principal().require_org(org_id.0)?;
        let mut hal = resource(domains::get(&state, org_id.0, &domain.0).await?);
        let hidden = !redaction::sees_secrets(Reader::from(auth.principal()));
        hal.content = hal.content.without_keys_if(hidden);
        Ok(Json(hal))
    }

    /// Change a domain's settings
    #[oai(
        path = "/v1/orgs/:orgId/domains/:domain",
        method = "patch",
        operation_id = "updateDomain"
    )]
    async fn update(
        &self,
        state: Data<&AppState>,
        auth: ClientAuth,
        #[oai(name = "orgId")] org_id: Path<Uuid>,
        domain: Path<String>,
        body: JsonBody<DomainPatch>,
    ) -> ApiResult<Json<Hal<Domain>>> {
        auth.principal().require_org(org_id.0)?;
        let v = domains::update(&state, &auth.by(), &domain.0, body.0.forbid_non_api_rooms).await?;
        Ok(Json(resource(v)))
    }

    /// Rotate the webhook key
    ///
    /// The old key stops signing at once; update receivers with the key in the response.
    #[oai(
        path = "/v1/orgs/:orgId/domains/:domain/rotate-key",
        method = "post",
        operation_id = "rotateDomainKey"
    )]
    async fn rotate_key(
        &self,
        state: Data<&AppState>,
        auth: ClientAuth,
        #[oai(name = "orgId")] org_id: Path<Uuid>,
        domain: Path<String>,
    ) -> ApiResult<Json<Hal<Domain>>> {
        auth.principal().require_org(org_id.0)?;
        let v = domains::rotate_key(&state, &auth.by(), &domain.0).await?;
        Ok(Json(resource(v)))
    }
}
