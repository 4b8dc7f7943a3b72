//! A check of a chat widget's users-info URL (the site's endpoint that describes its users)
//! that says exactly what went wrong.
use std::collections::BTreeMap;

use poem::web::Data;
use poem_openapi::{Object, OpenApi, param::Path, payload::Json};
use serde::Deserialize;
use uuid::Uuid;

use super::{Tag, body::JsonBody, problem::ApiResult, security::ClientAuth};
use crate::{
    domain::{
        widget_users::{self, SiteUser},
        widgets,
    },
    state::AppState,
};

pub struct WidgetUsersInfoApi;

/// A user as the site describes them.
#[derive(Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct WidgetUser {
    pub user_id: String,
    pub name: String,
    #[oai(nullable)]
    pub avatar_url: Option<String>,
    #[oai(nullable)]
    pub profile_url: Option<String>,
    /// The site's whole entry (profiles and any other fields).
    pub info: BTreeMap<String, serde_json::Value>,
    /// `site`, `cache` or `fallback`.
    pub source: String,
}

impl From<SiteUser> for WidgetUser {
    fn from(u: SiteUser) -> Self {
        Self {
            user_id: u.user_id,
            name: u.name,
            avatar_url: u.avatar_url,
            profile_url: u.profile_url,
            info: u.info.into_iter().collect(),
            source: u.source.into(),
        }
    }
}

#[derive(Debug, Object, Deserialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UsersInfoCheck {
    /// Site user ids to ask about (1-100).
    #[oai(validator(
        min_items = 1,
        max_items = 100,
        pattern = r"^[^,\x00-\x1f\x7f-\x9f\uFFFE\uFFFF]*[^\s,\x00-\x1f\x7f-\x9f\uFFFE\uFFFF][^,\x00-\x1f\x7f-\x9f\uFFFE\uFFFF]*$",
        max_length = 64
    ))]
    pub user_ids: Vec<String>,
}

/// What the site answered, asked now (bypassing the cache).
#[derive(Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct UsersInfoCheckResult {
    pub ok: bool,
    #[oai(nullable)]
    pub error_code: Option<String>,
    #[oai(nullable)]
    pub error: Option<String>,
    pub users: Vec<WidgetUser>,
    /// Entries of the answer that were unusable (no user_id, no name).
    pub problems: Vec<String>,
}

#[OpenApi(tag = "Tag::Widgets")]
impl WidgetUsersInfoApi {
    /// Check the users-info URL
    ///
    /// Asks the site about the given users now, bypassing the cache, and tells what it
    /// answered: the users, or why the answer is unusable (wrong login, timeout, not JSON,
    /// entries without `name` …). The outcome is also recorded in the widget's `usersInfo`.
    #[oai(
        path = "/v1/orgs/:orgId/widgets/:widgetId/users-info/check",
        method = "post",
        operation_id = "checkWidgetUsersInfo"
    )]
    async fn check_users_info(
        &self,
        state: Data<&AppState>,
        auth: ClientAuth,
        #[oai(name = "orgId")] org_id: Path<Uuid>,
        #[oai(name = "widgetId")] id: Path<String>,
        body: JsonBody<UsersInfoCheck>,
    ) -> ApiResult<Json<UsersInfoCheckResult>> {
        auth.principal().require_org(org_id.0)?;
        let w = widgets::find_in_org(&state, org_id.0, &id.0).await?;
        let ids = widget_users::parse_ids(&body.0.user_ids)?;
        let result = match widget_users::fetch(&state, &w, &ids).await? {
            Ok(f) => UsersInfoCheckResult {
                ok: f.problems.is_empty(),
                error_code: (!f.problems.is_empty()).then(|| "users_info_malformed".into()),
                error: (!f.problems.is_empty()).then(|| f.problems.join("; ")),
                users: f.users.into_iter().map(Into::into).collect(),
                problems: f.problems,
            },
            Err(e) => UsersInfoCheckResult {
                ok: false,
                error_code: Some(e.code().into()),
                error: Some(e.to_string()),
                users: Vec::new(),
                problems: Vec::new(),
            },
        };
        Ok(Json(result))
    }
}
