use chrono::{DateTime, Utc};
use poem_openapi::{Object, OpenApi, param::Path, payload::Json};
use uuid::Uuid;

use super::{
    Tag,
    hal::{Hal, links},
    problem::ApiResult,
    security::ClientAuth,
};
use crate::{
    domain::orgs::{self, OrgView},
    state::AppState,
};
use poem::web::Data;

pub struct OrgsApi;

#[derive(Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct Org {
    pub org_id: Uuid,
    pub name: String,
    /// Seats in one session (session links).
    pub session_capacity: i32,
    pub created_at: DateTime<Utc>,
}

impl From<OrgView> for Org {
    fn from(v: OrgView) -> Self {
        Self {
            org_id: v.id,
            name: v.name,
            session_capacity: v.session_capacity,
            created_at: v.created_at,
        }
    }
}

pub fn org_links(org_id: Uuid) -> super::hal::Links {
    let org = format!("/v1/orgs/{org_id}");
    links([
        ("self", org.clone()),
        ("domains", format!("{org}/domains")),
        ("clients", format!("{org}/clients")),
        ("rooms", format!("{org}/rooms")),
        ("webhooks", format!("{org}/webhooks")),
        ("bookings", format!("{org}/bookings")),
    ])
}

#[OpenApi(tag = "Tag::Organisations")]
impl OrgsApi {
    /// Get the organisation
    #[oai(path = "/v1/orgs/:orgId", method = "get")]
    async fn get(
        &self,
        state: Data<&AppState>,
        auth: ClientAuth,
        #[oai(name = "orgId")] org_id: Path<Uuid>,
    ) -> ApiResult<Json<Hal<Org>>> {
        auth.0.require_org(org_id.0)?;
        let org = orgs::get(&state, org_id.0).await?;
        Ok(Json(Hal::new(org.into(), org_links(org_id.0))))
    }
}
