//! `GET /v1`: who the caller is and where the org's resources are.
use poem_openapi::{Object, OpenApi, payload::Json};
use uuid::Uuid;

use super::{
    Tag,
    hal::{Hal, links},
    problem::ApiResult,
    security::ClientAuth,
};

pub struct RootApi;

#[derive(Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct RootContent {
    pub active: bool,
    pub org_id: Uuid,
    /// The calling API client's id (absent for a signed-in dashboard user).
    #[oai(skip_serializing_if_is_none)]
    pub client_id: Option<Uuid>,
}

fn root_resource(auth: ClientAuth) -> Json<Hal<RootContent>> {
    let org = format!("/v1/orgs/{}", auth.principal().org_id);
    Json(Hal::new(
        RootContent {
            active: true,
            org_id: auth.principal().org_id,
            client_id: auth.principal().client_id(),
        },
        links([
            ("self", "/v1".to_string()),
            ("org", org.clone()),
            ("domains", format!("{org}/domains")),
            ("clients", format!("{org}/clients")),
            ("rooms", format!("{org}/rooms")),
            ("webhooks", format!("{org}/webhooks")),
            ("bookings", format!("{org}/bookings")),
            ("sessions", format!("{org}/sessions")),
            ("subscriptions", format!("{org}/subscriptions")),
            ("realtime", "/v1/realtime".to_string()),
        ]),
    ))
}

#[OpenApi(tag = "Tag::Organisations")]
impl RootApi {
    /// The API root
    ///
    /// The caller's organisation and client, with links to the org's collections. `/v1/`
    /// answers the same (trailing slashes are trimmed everywhere).
    #[oai(path = "/v1", method = "get", operation_id = "getRoot")]
    async fn root(&self, auth: ClientAuth) -> ApiResult<Json<Hal<RootContent>>> {
        // Fallible only in its security check; the result type documents those errors.
        Ok(root_resource(auth))
    }
}
