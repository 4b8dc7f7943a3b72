//! Security schemes: API clients present OAuth2 access tokens, dashboard users a session
//! cookie (plus the CSRF header on changes); peers present the peer token they got when
//! admitted.
use crate::error::Code;
use poem::{
    Request, RequestBody,
    http::{Method, header},
};
use poem_openapi::{
    ApiExtractor, ApiExtractorType, ExtractParamOptions, SecurityScheme,
    auth::{ApiKey, Bearer},
    registry::Registry,
};

use super::problem::ApiError;
use crate::{
    domain::{admin_sessions, admins::AdminView, audit::By, principal::Principal, tokens},
    error::Error,
    state::AppState,
};

/// Who may call the org API: an API client or a signed-in dashboard user. Written out rather
/// than derived so that the credential actually presented decides the error: a bad Bearer
/// token reports that token's problem, a stale cookie the session's (the derived enum would
/// report whichever scheme it tried last).
pub enum ClientAuth {
    Session(SessionAuth),
    Token(TokenAuth),
}

impl ClientAuth {
    /// Who makes a change, for the audit entry the domain writes with it.
    pub fn by(&self) -> By {
        By::from(self.principal())
    }

    pub fn principal(&self) -> &Principal {
        match self {
            ClientAuth::Session(SessionAuth(signed)) => &signed.principal,
            ClientAuth::Token(TokenAuth(p)) => p,
        }
    }
}

impl<'a> ApiExtractor<'a> for ClientAuth {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::SecurityScheme];
    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        TokenAuth::register(registry);
        SessionAuth::register(registry);
    }

    fn security_schemes() -> Vec<&'static str> {
        let mut schemes = TokenAuth::security_schemes();
        schemes.extend(SessionAuth::security_schemes());
        schemes
    }

    async fn from_request(
        req: &'a Request,
        body: &mut RequestBody,
        opts: ExtractParamOptions<()>,
    ) -> poem::Result<Self> {
        if req.headers().contains_key(header::AUTHORIZATION) || session_cookie(req).is_none() {
            TokenAuth::from_request(req, body, opts)
                .await
                .map(ClientAuth::Token)
        } else {
            SessionAuth::from_request(req, body, opts)
                .await
                .map(ClientAuth::Session)
        }
    }
}

/// `Authorization: Bearer <access token>` from `POST /v1/auth/token`.
#[derive(SecurityScheme)]
#[oai(ty = "bearer", bearer_format = "JWT", checker = "check_client")]
pub struct TokenAuth(pub Principal);

fn source_ip(req: &Request, state: &AppState) -> Option<String> {
    super::source_address::source_address(req, &state.config).map(|ip| ip.to_string())
}

fn state_of(req: &Request) -> &AppState {
    req.data::<AppState>()
        .expect("the application state is attached to every route")
}

async fn check_client(req: &Request, bearer: Bearer) -> poem::Result<Principal> {
    let state = state_of(req);
    let mut principal = tokens::authenticate(state, &bearer.token)
        .await
        .map_err(ApiError::from)?;
    principal.source_ip = source_ip(req, state);
    state
        .limits
        .check_client(principal.actor_id())
        .map_err(ApiError::from)?;
    Ok(principal)
}

/// The dashboard's session cookie (from `POST /v1/admin/session`). Requests other than GET
/// and HEAD must echo the session's CSRF token in `X-CSRF-Token`; viewers may only read.
#[derive(SecurityScheme)]
#[oai(
    ty = "api_key",
    key_name = "meetplane_session",
    key_in = "cookie",
    checker = "check_session"
)]
pub struct SessionAuth(pub SignedInAdmin);

/// A dashboard user, as its session cookie showed it.
pub struct SignedInAdmin {
    pub principal: Principal,
    pub admin: AdminView,
    /// The session's CSRF token (what `X-CSRF-Token` must carry on changes).
    pub csrf_token: String,
}

async fn check_session(req: &Request, cookie: ApiKey) -> poem::Result<SignedInAdmin> {
    let state = state_of(req);
    let admin = admin_sessions::authenticate(state, &cookie.key)
        .await
        .map_err(ApiError::from)?;
    state
        .limits
        .check_client(admin.id)
        .map_err(ApiError::from)?;
    let expected = admin_sessions::csrf_of(&cookie.key);
    if !matches!(*req.method(), Method::GET | Method::HEAD) {
        let sent = req
            .headers()
            .get(admin_sessions::CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if !bool::from(subtle::ConstantTimeEq::ct_eq(
            sent.as_bytes(),
            expected.as_bytes(),
        )) {
            return Err(ApiError::from(Error::forbidden(
                Code::CsrfTokenMismatch,
                "changes need the session's CSRF token in the X-CSRF-Token header",
            ))
            .into());
        }
        admin_sessions::check_may_change(&admin).map_err(ApiError::from)?;
    }
    let mut principal = admin_sessions::principal_of(&admin);
    principal.source_ip = source_ip(req, state);
    Ok(SignedInAdmin {
        principal,
        admin,
        csrf_token: expected,
    })
}

/// The session cookie's value.
pub fn session_cookie(req: &Request) -> Option<String> {
    req.cookie()
        .get(admin_sessions::COOKIE)
        .map(|c| c.value_str().to_string())
}

/// `Authorization: Bearer <peer token>` as returned when a peer was admitted.
#[derive(SecurityScheme)]
#[oai(ty = "bearer", rename = "PeerToken")]
pub struct PeerAuth(pub Bearer);
