//! Chat widgets (ImbaChat) of an organisation: settings and the secret key (shown once). The
//! check of the site's users-info URL is in `widget_users_info`.
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
    domain::widgets::{self, WidgetSettings, WidgetView},
    state::AppState,
};

pub struct WidgetsApi;

/// The outcome of the last lookup at the site's users-info URL.
#[derive(Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct UsersInfoState {
    /// `unchecked`, `ok` or `failing`.
    pub status: String,
    #[oai(nullable)]
    pub last_ok_at: Option<DateTime<Utc>>,
    #[oai(nullable)]
    pub last_failure_at: Option<DateTime<Utc>>,
    /// users_info_unauthorized, users_info_timeout, users_info_unreachable,
    /// users_info_status or users_info_malformed.
    #[oai(nullable)]
    pub error_code: Option<String>,
    #[oai(nullable)]
    pub error: Option<String>,
}

#[derive(Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct Widget {
    /// The id in `<script src="{base}/imbachat/v1/{widgetId}/widget">`.
    pub widget_id: String,
    pub org_id: Uuid,
    pub name: String,
    /// The Basic-auth login sent to the users-info URL.
    #[oai(nullable)]
    pub api_login: Option<String>,
    /// Whether a Basic-auth password is set (it is never shown).
    pub api_password_set: bool,
    #[oai(nullable)]
    pub users_info_url: Option<String>,
    /// Origins whose pages may embed the widget (`*`: any).
    pub allowed_origins: Vec<String>,
    pub users_info: UsersInfoState,
    /// The widget's script tag.
    pub script_path: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<WidgetView> for Widget {
    fn from(v: WidgetView) -> Self {
        let status = match (&v.users_info.ok_at, &v.users_info.failed_at) {
            (_, Some(_)) => "failing",
            (Some(_), None) => "ok",
            (None, None) => "unchecked",
        };
        Self {
            script_path: format!("/imbachat/v1/{}/widget", v.id),
            widget_id: v.id,
            org_id: v.org_id,
            name: v.name,
            api_login: v.api_login,
            api_password_set: v.api_password_set,
            users_info_url: v.users_info_url,
            allowed_origins: v.allowed_origins,
            users_info: UsersInfoState {
                status: status.into(),
                last_ok_at: v.users_info.ok_at,
                last_failure_at: v.users_info.failed_at,
                error_code: v.users_info.error_code,
                error: v.users_info.error,
            },
            created_at: v.created_at,
            updated_at: v.updated_at,
        }
    }
}

/// A widget with its secret key, which is shown only in this response.
#[derive(Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct WidgetWithSecret {
    #[oai(flatten)]
    pub widget: Widget,
    /// The HS256 key the site signs user tokens with. Store it now: it is not shown again.
    pub secret_key: String,
}

#[derive(Debug, Object, Deserialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewWidget {
    /// Keep an existing ImbaChat widget id (1-64 of `[A-Za-z0-9_-]`); default: generated.
    #[oai(nullable)]
    #[oai(validator(pattern = r"^[A-Za-z0-9_-]{1,64}$"))]
    pub widget_id: Option<String>,
    #[oai(validator(
        pattern = r"^[^\x00-\x1f\x7f-\x9f\uFFFE\uFFFF]*[^\s\x00-\x1f\x7f-\x9f\uFFFE\uFFFF][^\x00-\x1f\x7f-\x9f\uFFFE\uFFFF]*$",
        max_length = 128
    ))]
    pub name: String,
    /// Keep an existing secret key (32-256 characters); default: 64 random characters.
    #[oai(nullable)]
    #[oai(validator(
        pattern = r"^[^\s\x00-\x1f\x7f-\x9f\uFFFE\uFFFF]*$",
        min_length = 32,
        max_length = 256
    ))]
    pub secret_key: Option<String>,
    #[oai(nullable)]
    #[oai(validator(
        pattern = r"^([^\x00-\x1f\x7f-\x9f\uFFFE\uFFFF]*[^\s\x00-\x1f\x7f-\x9f\uFFFE\uFFFF][^\x00-\x1f\x7f-\x9f\uFFFE\uFFFF]*)?$",
        max_length = 128
    ))]
    pub api_login: Option<String>,
    #[oai(nullable)]
    #[oai(validator(max_length = 256))]
    pub api_password: Option<String>,
    #[oai(nullable)]
    #[oai(validator(
        pattern = r"^https?://([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(:[1-9][0-9]{0,3})?(/[A-Za-z0-9._~-]*)*$"
    ))]
    pub users_info_url: Option<String>,
    #[serde(default)]
    #[oai(validator(
        max_items = 50,
        pattern = r"^(\*|https?://([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(:[1-9][0-9]{0,3})?/?)$"
    ))]
    pub allowed_origins: Vec<String>,
}

/// Changes to a widget; an absent field stays, an empty string clears an optional one.
#[derive(Debug, Object, Deserialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WidgetPatch {
    #[oai(nullable)]
    #[oai(validator(
        pattern = r"^[^\x00-\x1f\x7f-\x9f\uFFFE\uFFFF]*[^\s\x00-\x1f\x7f-\x9f\uFFFE\uFFFF][^\x00-\x1f\x7f-\x9f\uFFFE\uFFFF]*$",
        max_length = 128
    ))]
    pub name: Option<String>,
    #[oai(nullable)]
    #[oai(validator(
        pattern = r"^([^\x00-\x1f\x7f-\x9f\uFFFE\uFFFF]*[^\s\x00-\x1f\x7f-\x9f\uFFFE\uFFFF][^\x00-\x1f\x7f-\x9f\uFFFE\uFFFF]*)?$",
        max_length = 128
    ))]
    pub api_login: Option<String>,
    #[oai(nullable)]
    #[oai(validator(max_length = 256))]
    pub api_password: Option<String>,
    #[oai(nullable)]
    #[oai(validator(
        pattern = r"^https?://([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(:[1-9][0-9]{0,3})?(/[A-Za-z0-9._~-]*)*$"
    ))]
    pub users_info_url: Option<String>,
    #[oai(nullable)]
    #[oai(validator(
        max_items = 50,
        pattern = r"^(\*|https?://([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(:[1-9][0-9]{0,3})?/?)$"
    ))]
    pub allowed_origins: Option<Vec<String>>,
}

#[derive(ApiResponse)]
pub enum Created {
    /// The widget exists; its secret key is in this response only.
    #[oai(status = 201)]
    Created(Json<Hal<WidgetWithSecret>>),
}

#[derive(ApiResponse)]
pub enum Removed {
    /// The widget, its dialogs and cached users are gone.
    #[oai(status = 204)]
    Removed,
}

fn widget_links(org_id: Uuid, id: &str) -> Links {
    let this = format!("/v1/orgs/{org_id}/widgets/{id}");
    links([
        ("self", this.clone()),
        ("org", format!("/v1/orgs/{org_id}")),
        ("secretKey", format!("{this}/secret-key")),
        ("checkUsersInfo", format!("{this}/users-info/check")),
        ("script", format!("/imbachat/v1/{id}/widget")),
    ])
}

fn resource(v: WidgetView) -> Hal<Widget> {
    let l = widget_links(v.org_id, &v.id);
    Hal::new(v.into(), l)
}

fn with_secret((v, secret_key): (WidgetView, String)) -> Hal<WidgetWithSecret> {
    let l = widget_links(v.org_id, &v.id);
    Hal::new(
        WidgetWithSecret {
            widget: v.into(),
            secret_key,
        },
        l,
    )
}

fn settings(p: WidgetPatch) -> WidgetSettings {
    WidgetSettings {
        name: p.name,
        api_login: p.api_login,
        api_password: p.api_password,
        users_info_url: p.users_info_url,
        allowed_origins: p.allowed_origins,
    }
}

#[OpenApi(tag = "Tag::Widgets")]
impl WidgetsApi {
    /// List chat widgets
    #[oai(
        path = "/v1/orgs/:orgId/widgets",
        method = "get",
        operation_id = "listWidgets"
    )]
    async fn list(
        &self,
        state: Data<&AppState>,
        auth: ClientAuth,
        #[oai(name = "orgId")] org_id: Path<Uuid>,
        #[oai(validator(minimum(value = "0")))] page: Query<Option<u64>>,
        #[oai(validator(minimum(value = "1"), maximum(value = "500")))] count: Query<Option<u64>>,
    ) -> ApiResult<Json<HalPage<Widget>>> {
        auth.principal().require_org(org_id.0)?;
        let paging = Paging::new(page.0, count.0);
        let (views, more) = widgets::list(&state, org_id.0, paging.window()).await?;
        Ok(Json(HalPage::new(
            views.into_iter().map(Widget::from).collect(),
            paging,
            &format!("/v1/orgs/{}/widgets", org_id.0),
            &[],
            more,
        )))
    }

    /// Create a chat widget
    ///
    /// The response carries the secret key the site signs user tokens with; it is not shown
    /// again (rotate it to get a new one).
    #[oai(
        path = "/v1/orgs/:orgId/widgets",
        method = "post",
        operation_id = "createWidget"
    )]
    async fn create(
        &self,
        state: Data<&AppState>,
        auth: ClientAuth,
        #[oai(name = "orgId")] org_id: Path<Uuid>,
        body: JsonBody<NewWidget>,
    ) -> ApiResult<Created> {
        auth.principal().require_org(org_id.0)?;
        let b = body.0;
        let s = WidgetSettings {
            name: Some(b.name),
            api_login: b.api_login,
            api_password: b.api_password,
            users_info_url: b.users_info_url,
            allowed_origins: Some(b.allowed_origins),
        };
        let created = widgets::create(&state, org_id.0, b.widget_id, b.secret_key, s).await?;
        Ok(Created::Created(Json(with_secret(created))))
    }

    /// Get a chat widget
    #[oai(
        path = "/v1/orgs/:orgId/widgets/:widgetId",
        method = "get",
        operation_id = "getWidget"
    )]
    async fn get(
        &self,
        state: Data<&AppState>,
        auth: ClientAuth,
        #[oai(name = "orgId")] org_id: Path<Uuid>,
        #[oai(name = "widgetId")] id: Path<String>,
    ) -> ApiResult<Json<Hal<Widget>>> {
        auth.principal().require_org(org_id.0)?;
        Ok(Json(resource(widgets::get(&state, org_id.0, &id.0).await?)))
    }

    /// Change a chat widget's settings
    ///
    /// Changing the users-info URL clears the cached users; a new login or password keeps
    /// them (and asks the site again at once if it was failing).
    #[oai(
        path = "/v1/orgs/:orgId/widgets/:widgetId",
        method = "patch",
        operation_id = "updateWidget"
    )]
    async fn update(
        &self,
        state: Data<&AppState>,
        auth: ClientAuth,
        #[oai(name = "orgId")] org_id: Path<Uuid>,
        #[oai(name = "widgetId")] id: Path<String>,
        body: JsonBody<WidgetPatch>,
    ) -> ApiResult<Json<Hal<Widget>>> {
        auth.principal().require_org(org_id.0)?;
        let v = widgets::update(&state, org_id.0, &id.0, settings(body.0)).await?;
        Ok(Json(resource(v)))
    }

    /// Remove a chat widget
    #[oai(
        path = "/v1/orgs/:orgId/widgets/:widgetId",
        method = "delete",
        operation_id = "deleteWidget"
    )]
    async fn delete(
        &self,
        state: Data<&AppState>,
        auth: ClientAuth,
        #[oai(name = "orgId")] org_id: Path<Uuid>,
        #[oai(name = "widgetId")] id: Path<String>,
    ) -> ApiResult<Removed> {
        auth.principal().require_org(org_id.0)?;
        widgets::delete(&state, org_id.0, &id.0).await?;
        Ok(Removed::Removed)
    }

    /// Rotate the secret key
    ///
    /// User tokens signed with the old key stop working at once. The new key is in this
    /// response only.
    #[oai(
        path = "/v1/orgs/:orgId/widgets/:widgetId/secret-key",
        method = "post",
        operation_id = "rotateWidgetSecret"
    )]
    async fn rotate_secret(
        &self,
        state: Data<&AppState>,
        auth: ClientAuth,
        #[oai(name = "orgId")] org_id: Path<Uuid>,
        #[oai(name = "widgetId")] id: Path<String>,
    ) -> ApiResult<Json<Hal<WidgetWithSecret>>> {
        auth.principal().require_org(org_id.0)?;
        let rotated = widgets::rotate_secret(&state, org_id.0, &id.0, None).await?;
        Ok(Json(with_secret(rotated)))
    }
}
