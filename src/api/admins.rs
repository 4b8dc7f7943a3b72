//! Dashboard sign-in (`/v1/admin/session`) and the org's admin users.
use chrono::{DateTime, Utc};
use poem::{Request, web::Data};
use poem_openapi::{ApiResponse, Enum, Object, OpenApi, param::Path, payload::Json};
use serde::Deserialize;
use uuid::Uuid;

use super::{
    Tag,
    body::JsonBody,
    problem::ApiResult,
    security::{ClientAuth, SessionAuth, session_cookie},
};
use crate::{
    domain::{
        admin_sessions::{self, COOKIE},
        admins::{self, AdminView, Role},
    },
    state::AppState,
};

pub struct AdminsApi;

/// A dashboard user's role: owner and admin may change everything (only owners make owners);
/// viewer only reads.
#[derive(Debug, Clone, Copy, Enum, Deserialize, PartialEq, Eq)]
#[oai(rename_all = "lowercase")]
#[serde(rename_all = "lowercase")]
pub enum AdminRole {
    Owner,
    Admin,
    Viewer,
}

impl From<Role> for AdminRole {
    fn from(r: Role) -> Self {
        match r {
            Role::Owner => AdminRole::Owner,
            Role::Admin => AdminRole::Admin,
            Role::Viewer => AdminRole::Viewer,
        }
    }
}

impl From<AdminRole> for Role {
    fn from(r: AdminRole) -> Self {
        match r {
            AdminRole::Owner => Role::Owner,
            AdminRole::Admin => Role::Admin,
            AdminRole::Viewer => Role::Viewer,
        }
    }
}

#[derive(Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct AdminUser {
    pub admin_id: Uuid,
    pub org_id: Uuid,
    pub email: String,
    // The role's meaning is documented on AdminRole: a description here would wrap the enum's
    // $ref in an allOf, which client generators (openapi-python-client) cannot read for an enum.
    pub role: AdminRole,
    pub created_at: DateTime<Utc>,
}

impl From<AdminView> for AdminUser {
    fn from(v: AdminView) -> Self {
        Self {
            admin_id: v.id,
            org_id: v.org_id,
            email: v.email,
            role: v.role.into(),
            created_at: v.created_at,
        }
    }
}

#[derive(Debug, Object, Deserialize)]
pub struct SignIn {
    #[oai(validator(min_length = 1))]
    pub email: String,
    #[oai(validator(min_length = 1))]
    pub password: String,
}

/// The signed-in admin and the CSRF token to echo in `X-CSRF-Token` on every change.
#[derive(Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct AdminSession {
    pub admin: AdminUser,
    pub csrf_token: String,
}

#[derive(ApiResponse)]
pub enum SignedIn {
    /// Signed in; the session cookie is set (HttpOnly, SameSite=Strict).
    #[oai(status = 201)]
    Created(
        Json<AdminSession>,
        #[oai(header = "Set-Cookie")] String,
        #[oai(header = "Cache-Control")] String,
    ),
}

#[derive(ApiResponse)]
pub enum SignedOut {
    /// Signed out; the cookie is cleared.
    #[oai(status = 204)]
    Done(#[oai(header = "Set-Cookie")] String),
}

#[derive(Debug, Object, Deserialize)]
pub struct NewAdmin {
    #[oai(validator(
        pattern = r"^[A-Za-z0-9_+-]{1,64}@[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$",
        max_length = 254
    ))]
    pub email: String,
    /// At least 10 characters.
    #[oai(validator(min_length = 10, max_length = 1024))]
    pub password: String,
    pub role: AdminRole,
}

#[derive(ApiResponse)]
pub enum AdminCreated {
    #[oai(status = 201)]
    Created(Json<AdminUser>),
}

#[derive(ApiResponse)]
pub enum AdminRemoved {
    /// Removed and signed out everywhere.
    #[oai(status = 204)]
    Done,
}

/// `Secure` when the dashboard is reached over TLS (directly, or behind a proxy that says so).
fn cookie_attributes(req: &Request, state: &AppState) -> String {
    let forwarded_https = req
        .headers()
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("https"));
    let secure = forwarded_https || state.config.public_url.scheme() == "https";
    format!(
        "Path=/; HttpOnly; SameSite=Strict{}",
        if secure { "; Secure" } else { "" }
    )
}

fn source_address(req: &Request, state: &AppState) -> String {
    super::source_address::source_address(req, &state.config)
        .map_or_else(|| "unknown".to_string(), |ip| ip.to_string())
}

#[OpenApi(tag = "Tag::Admins")]
impl AdminsApi {
    /// Sign in to the dashboard
    ///
    /// Sets the session cookie. Repeated failures for one email or from one address are
    /// refused with 429 for a while.
    #[oai(path = "/v1/admin/session", method = "post", operation_id = "signIn")]
    async fn sign_in(
        &self,
        req: &Request,
        state: Data<&AppState>,
        body: JsonBody<SignIn>,
    ) -> ApiResult<SignedIn> {
        let signed = admin_sessions::sign_in(
            &state,
            &body.0.email,
            &body.0.password,
            &source_address(req, &state),
        )
        .await?;
        let max_age = admin_sessions::SESSION_TTL.num_seconds();
        let cookie = format!(
            "{COOKIE}={}; Max-Age={max_age}; {}",
            signed.token,
            cookie_attributes(req, &state)
        );
        Ok(SignedIn::Created(
            Json(AdminSession {
                admin: signed.admin.into(),
                csrf_token: signed.csrf_token,
            }),
            cookie,
            "no-store".to_string(),
        ))
    }

    /// The signed-in admin
    ///
    /// With the CSRF token, so a reloaded dashboard can carry on.
    #[oai(
        path = "/v1/admin/session",
        method = "get",
        operation_id = "getAdminSession"
    )]
    async fn current(&self, auth: SessionAuth) -> ApiResult<Json<AdminSession>> {
        let signed = auth.0;
        Ok(Json(AdminSession {
            admin: signed.admin.into(),
            csrf_token: signed.csrf_token,
        }))
    }

    /// Sign out
    ///
    /// Ends the session named by the cookie (any role may; nothing else is changed).
    #[oai(
        path = "/v1/admin/session",
        method = "delete",
        operation_id = "signOut"
    )]
    async fn sign_out(&self, req: &Request, state: Data<&AppState>) -> ApiResult<SignedOut> {
        if let Some(token) = session_cookie(req) {
            admin_sessions::sign_out(&state, &token).await?;
        }
        Ok(SignedOut::Done(format!(
            "{COOKIE}=; Max-Age=0; {}",
            cookie_attributes(req, &state)
        )))
    }

    /// List the org's admin users
    #[oai(
        path = "/v1/orgs/:orgId/admins",
        method = "get",
        operation_id = "listAdmins"
    )]
    async fn list(
        &self,
        state: Data<&AppState>,
        auth: ClientAuth,
        #[oai(name = "orgId")] org_id: Path<Uuid>,
    ) -> ApiResult<Json<Vec<AdminUser>>> {
        auth.principal().require_org(org_id.0)?;
        let users = admins::list(&state, org_id.0).await?;
        Ok(Json(users.into_iter().map(AdminUser::from).collect()))
    }

    /// Add an admin user
    ///
    /// Only owners (or API clients) may add owners.
    #[oai(
        path = "/v1/orgs/:orgId/admins",
        method = "post",
        operation_id = "createAdmin"
    )]
    async fn create(
        &self,
        state: Data<&AppState>,
        auth: ClientAuth,
        #[oai(name = "orgId")] org_id: Path<Uuid>,
        body: JsonBody<NewAdmin>,
    ) -> ApiResult<AdminCreated> {
        let principal = auth.principal();
        principal.require_org(org_id.0)?;
        let role = Role::from(body.0.role);
        let user = admins::add(&state, principal, &body.0.email, &body.0.password, role).await?;
        Ok(AdminCreated::Created(Json(user.into())))
    }

    /// Remove an admin user
    ///
    /// Only owners (or API clients) may remove owners; the last owner cannot be removed.
    #[oai(
        path = "/v1/orgs/:orgId/admins/:adminId",
        method = "delete",
        operation_id = "removeAdmin"
    )]
    async fn remove(
        &self,
        state: Data<&AppState>,
        auth: ClientAuth,
        #[oai(name = "orgId")] org_id: Path<Uuid>,
        #[oai(name = "adminId")] admin_id: Path<Uuid>,
    ) -> ApiResult<AdminRemoved> {
        auth.principal().require_org(org_id.0)?;
        admins::remove(&state, auth.principal(), admin_id.0).await?;
        Ok(AdminRemoved::Done)
    }
}
