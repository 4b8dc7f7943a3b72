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
    /// Whether a peer kicked from a session may come back with the same link.
    pub allow_rejoin_after_kick: bool,
    /// Whether guests of session links wait in the lobby until a host lets them in.
    pub guest_lobby: bool,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Object, serde::Deserialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct OrgSettings {
    #[oai(nullable)]
    #[oai(validator(minimum(value = "1"), maximum(value = "100000")))]
    pub session_capacity: Option<i64>,
    #[oai(nullable)]
    pub allow_rejoin_after_kick: Option<bool>,
    /// Guests of session links wait in the lobby until a host lets them in (default on).
    #[oai(nullable)]
    pub guest_lobby: Option<bool>,
}

impl From<OrgView> for Org {
    fn from(v: OrgView) -> Self {
        Self {
            org_id: v.id,
            name: v.name,
            session_capacity: v.session_capacity,
            allow_rejoin_after_kick: v.allow_rejoin_after_kick,
            guest_lobby: v.guest_lobby,
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
        ("sessions", format!("{org}/sessions")),
        ("subscriptions", format!("{org}/subscriptions")),
    ])
}

#[OpenApi(tag = "Tag::Organisations")]
impl OrgsApi {
    /// Get the organisation
    #[oai(path = "/v1/orgs/:orgId", method = "get", operation_id = "getOrg")]
    async fn get(
        &self,
        state: Data<&AppState>,
        auth: ClientAuth,
        #[oai(name = "orgId")] org_id: Path<Uuid>,
    ) -> ApiResult<Json<Hal<Org>>> {
        auth.principal().require_org(org_id.0)?;
        let org = orgs::get(&state, org_id.0).await?;
        Ok(Json(Hal::new(org.into(), org_links(org_id.0))))
    }

    /// Change the organisation's settings
    #[oai(path = "/v1/orgs/:orgId", method = "patch", operation_id = "updateOrg")]
    async fn update(
        &self,
        state: Data<&AppState>,
        auth: ClientAuth,
        #[oai(name = "orgId")] org_id: Path<Uuid>,
        body: super::body::JsonBody<OrgSettings>,
    ) -> ApiResult<Json<Hal<Org>>> {
        auth.principal().require_org(org_id.0)?;
        let b = body.0;
        let org = orgs::update_settings(
            &state,
            org_id.0,
            b.session_capacity,
            b.allow_rejoin_after_kick,
            b.guest_lobby,
        )
        .await?;
        Ok(Json(Hal::new(org.into(), org_links(org_id.0))))
    }
}
