//! `POST /v1/auth/token`: the OAuth2 token endpoint (RFC 6749 §4.4 client credentials, §6
//! refresh). Its errors use the RFC 6749 §5.2 shape `{error, error_description}`, which OAuth
//! client libraries parse, instead of the problem shape of the rest of the API.
use poem::web::Data;
use poem_openapi::{
    ApiResponse, Object, OpenApi, SecurityScheme,
    auth::Basic,
    payload::{Form, Json},
};
use serde::Deserialize;

use super::Tag;
use crate::{
    domain::{
        clients,
        tokens::{self, GrantError, TokenSet},
    },
    state::AppState,
};

pub struct AuthApi;

/// HTTP Basic with `api_key:api_key_secret`.
#[derive(SecurityScheme)]
#[oai(ty = "basic")]
pub struct ClientBasic(Basic);

/// Basic auth is optional at the extractor level so that a missing or malformed header gets
/// the RFC's `invalid_client` answer rather than a generic 401.
#[derive(SecurityScheme)]
pub enum TokenAuth {
    Basic(ClientBasic),
    #[oai(fallback)]
    Anonymous,
}

#[derive(Debug, Object, Deserialize)]
pub struct TokenForm {
    /// `client_credentials` or `refresh_token`.
    pub grant_type: Option<String>,
    /// The refresh token, for the `refresh_token` grant.
    pub refresh_token: Option<String>,
    /// Ignored: every token has the scope `meetplane-api`.
    pub scope: Option<String>,
    /// Client credentials in the body (RFC 6749 §2.3.1), instead of Basic auth.
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
}

#[derive(Debug, Object)]
pub struct TokenBody {
    pub access_token: String,
    pub refresh_token: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// Always `Bearer`.
    pub token_type: String,
    pub scope: String,
}

impl From<TokenSet> for TokenBody {
    fn from(t: TokenSet) -> Self {
        Self {
            access_token: t.access_token,
            refresh_token: t.refresh_token,
            expires_in: t.expires_in,
            token_type: "Bearer".to_string(),
            scope: t.scope,
        }
    }
}

/// RFC 6749 §5.2 error.
#[derive(Debug, Object)]
pub struct OAuthError {
    /// `invalid_request`, `invalid_client`, `invalid_grant`, `unsupported_grant_type` or
    /// `server_error`.
    pub error: String,
    pub error_description: String,
}

const NO_STORE: &str = "no-store";

#[derive(ApiResponse)]
#[oai(bad_request_handler = "malformed_token_request")]
pub enum TokenResponse {
    /// Tokens issued.
    #[oai(status = 200)]
    Ok(
        Json<TokenBody>,
        #[oai(header = "Cache-Control")] String,
        #[oai(header = "Pragma")] String,
    ),
    /// `invalid_request`, `invalid_grant` or `unsupported_grant_type`.
    #[oai(status = 400)]
    BadRequest(Json<OAuthError>, #[oai(header = "Cache-Control")] String),
    /// `invalid_client`: unknown client, wrong secret, revoked client or no credentials.
    #[oai(status = 401)]
    Unauthorized(
        Json<OAuthError>,
        #[oai(header = "WWW-Authenticate")] String,
        #[oai(header = "Cache-Control")] String,
    ),
    /// `server_error` (logged).
    #[oai(status = 500)]
    ServerError(Json<OAuthError>),
}

fn oauth_error(error: &str, description: impl Into<String>) -> Json<OAuthError> {
    Json(OAuthError {
        error: error.to_string(),
        error_description: description.into(),
    })
}

fn bad_request(error: &str, description: impl Into<String>) -> TokenResponse {
    TokenResponse::BadRequest(oauth_error(error, description), NO_STORE.into())
}

fn invalid_client(description: &str) -> TokenResponse {
    TokenResponse::Unauthorized(
        oauth_error("invalid_client", description),
        "Basic realm=\"meetplane\"".to_string(),
        NO_STORE.into(),
    )
}

fn server_error(err: impl std::fmt::Debug) -> TokenResponse {
    tracing::error!(error = ?err, "token endpoint failed");
    TokenResponse::ServerError(oauth_error(
        "server_error",
        "the server failed; it has been logged",
    ))
}

fn malformed_token_request(err: poem::Error) -> TokenResponse {
    bad_request(
        "invalid_request",
        format!("expected an application/x-www-form-urlencoded body: {err}"),
    )
}

fn issued(set: TokenSet) -> TokenResponse {
    TokenResponse::Ok(Json(set.into()), NO_STORE.into(), "no-cache".into())
}

#[OpenApi(tag = "Tag::Auth")]
impl AuthApi {
    /// Issue or refresh an access token
    ///
    /// OAuth2 client credentials grant (`grant_type=client_credentials`) and refresh token
    /// grant (`grant_type=refresh_token&refresh_token=...`), authenticated with HTTP Basic
    /// `api_key:api_key_secret`. Refresh tokens rotate on every use; presenting a spent one
    /// revokes every token of its grant.
    #[oai(path = "/v1/auth/token", method = "post", operation_id = "issueToken")]
    async fn token(
        &self,
        state: Data<&AppState>,
        auth: TokenAuth,
        form: Form<TokenForm>,
    ) -> TokenResponse {
        let form = form.0;
        let body_creds = form.client_id.clone().zip(form.client_secret.clone());
        let (api_key, secret) = match (auth, body_creds) {
            (TokenAuth::Basic(_), Some(_)) => {
                return bad_request(
                    "invalid_request",
                    "send client credentials either in the Authorization header or in the body, not both",
                );
            }
            (TokenAuth::Basic(ClientBasic(basic)), None) => (basic.username, basic.password),
            (TokenAuth::Anonymous, Some(creds)) => creds,
            (TokenAuth::Anonymous, None) => {
                return invalid_client(
                    "client authentication is required: HTTP Basic with api_key:api_key_secret",
                );
            }
        };
        let client = match clients::authenticate(&state, &api_key, &secret).await {
            Ok(Some(client)) => client,
            Ok(None) => {
                return invalid_client("unknown client, wrong secret or revoked client");
            }
            Err(e) => return server_error(e),
        };
        match form.grant_type.as_deref().map(str::trim) {
            None | Some("") => bad_request("invalid_request", "grant_type is required"),
            Some("client_credentials") => match tokens::client_credentials(&state, &client).await {
                Ok(set) => issued(set),
                Err(e) => server_error(e),
            },
            Some("refresh_token") => {
                let Some(presented) = form.refresh_token.as_deref().filter(|t| !t.is_empty())
                else {
                    return bad_request("invalid_request", "refresh_token is required");
                };
                match tokens::refresh(&state, &client, presented).await {
                    Ok(set) => issued(set),
                    Err(GrantError::InvalidGrant(why)) => bad_request("invalid_grant", why),
                    Err(GrantError::Internal(e)) => server_error(e),
                }
            }
            Some(other) => bad_request(
                "unsupported_grant_type",
                format!(
                    "grant_type {other:?} is not supported; use client_credentials or refresh_token"
                ),
            ),
        }
    }
}
