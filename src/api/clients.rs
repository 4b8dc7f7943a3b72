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
    hal::{Hal, HalPage, Paging, links},
    problem::ApiResult,
    security::ClientAuth,
};
use crate::{
    domain::clients::{self, ClientView},
    state::AppState,
};

pub struct ClientsApi;

#[derive(Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct Client {
    pub client_id: Uuid,
    pub org_id: Uuid,
    pub name: String,
    /// The public key: `iss` of session links, `x-auth-id` of signed requests, the Basic
    /// user name at the token endpoint.
    pub api_key: String,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    #[oai(nullable)]
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<ClientView> for Client {
    fn from(v: ClientView) -> Self {
        Self {
            client_id: v.id,
            org_id: v.org_id,
            name: v.name,
            api_key: v.api_key,
            active: v.revoked_at.is_none(),
            created_at: v.created_at,
            revoked_at: v.revoked_at,
        }
    }
}

/// A new client with its secret. The secret is shown in this response only.
#[derive(Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct NewClientSecret {
    pub client: Client,
    pub api_key_secret: String,
}

#[derive(Debug, Object, Deserialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct NewClient {
    #[oai(validator(
        pattern = r"^[^\x00-\x1f\x7f-\x9f\uFFFE\uFFFF]*[^\s\x00-\x1f\x7f-\x9f\uFFFE\uFFFF][^\x00-\x1f\x7f-\x9f\uFFFE\uFFFF]*$",
        max_length = 128
    ))]
    pub name: String,
}

#[derive(ApiResponse)]
pub enum Created {
    /// The client was created; store the secret now, it is not shown again.
    #[oai(status = 201)]
    Created(Json<Hal<NewClientSecret>>),
}

fn client_links(org_id: Uuid, id: Uuid) -> super::hal::Links {
    links([
        ("self", format!("/v1/orgs/{org_id}/clients/{id}")),
        ("org", format!("/v1/orgs/{org_id}")),
    ])
}

#[OpenApi(tag = "Tag::Clients")]
impl ClientsApi {
    /// List the org's API clients
    #[oai(
        path = "/v1/orgs/:orgId/clients",
        method = "get",
        operation_id = "listClients"
    )]
    async fn list(
        &self,
        state: Data<&AppState>,
        auth: ClientAuth,
        #[oai(name = "orgId")] org_id: Path<Uuid>,
        #[oai(validator(minimum(value = "0")))] page: Query<Option<u64>>,
        #[oai(validator(minimum(value = "1"), maximum(value = "500")))] count: Query<Option<u64>>,
    ) -> ApiResult<Json<HalPage<Client>>> {
        auth.principal().require_org(org_id.0)?;
        let paging = Paging::new(page.0, count.0);
        let (views, more) = clients::list(&state, org_id.0, paging.window()).await?;
        Ok(Json(HalPage::new(
            views.into_iter().map(Client::from).collect(),
            paging,
            &format!("/v1/orgs/{}/clients", org_id.0),
            &[],
            more,
        )))
    }

    /// Create an API client
    #[oai(
        path = "/v1/orgs/:orgId/clients",
        method = "post",
        operation_id = "createClient"
    )]
    async fn create(
        &self,
        state: Data<&AppState>,
        auth: ClientAuth,
        #[oai(name = "orgId")] org_id: Path<Uuid>,
        body: JsonBody<NewClient>,
    ) -> ApiResult<Created> {
        auth.principal().require_org(org_id.0)?;
        let created = clients::create(&state, &auth.by(), &body.0.name).await?;
        let l = client_links(org_id.0, created.client.id);
        Ok(Created::Created(Json(Hal::new(
            NewClientSecret {
                client: created.client.into(),
                api_key_secret: created.secret,
            },
            l,
        ))))
    }

    /// Get an API client
    #[oai(
        path = "/v1/orgs/:orgId/clients/:clientId",
        method = "get",
        operation_id = "getClient"
    )]
    async fn get(
        &self,
        state: Data<&AppState>,
        auth: ClientAuth,
        #[oai(name = "orgId")] org_id: Path<Uuid>,
        #[oai(name = "clientId")] client_id: Path<Uuid>,
    ) -> ApiResult<Json<Hal<Client>>> {
        auth.principal().require_org(org_id.0)?;
        let model = clients::get(&state, org_id.0, client_id.0).await?;
        Ok(Json(Hal::new(
            ClientView::from(model).into(),
            client_links(org_id.0, client_id.0),
        )))
    }

    /// Revoke an API client
    ///
    /// Its secret, access tokens and refresh tokens stop working at once.
    #[oai(
        path = "/v1/orgs/:orgId/clients/:clientId",
        method = "delete",
        operation_id = "revokeClient"
    )]
    async fn revoke(
        &self,
        state: Data<&AppState>,
        auth: ClientAuth,
        #[oai(name = "orgId")] org_id: Path<Uuid>,
        #[oai(name = "clientId")] client_id: Path<Uuid>,
    ) -> ApiResult<Json<Hal<Client>>> {
        auth.principal().require_org(org_id.0)?;
        let model = clients::get(&state, org_id.0, client_id.0).await?;
        let view = clients::revoke(&state, &auth.by(), &model).await?;
        Ok(Json(Hal::new(
            view.into(),
            client_links(org_id.0, client_id.0),
        )))
    }
}
