//! Where a request comes from, and the per-address rate limit every route but the health and
//! metrics probes is under.
use std::net::IpAddr;

use poem::{Endpoint, IntoResponse, Request, Response, error::ResponseError};

use super::problem::ApiError;
use crate::{config::Config, state::AppState};

/// The caller's address: the TCP peer, or behind a trusted proxy the last `X-Forwarded-For`
/// entry (the one that proxy appended; entries before it are the client's own claims).
pub fn source_address(req: &Request, config: &Config) -> Option<IpAddr> {
    if config.limits.trust_forwarded_for
        && let Some(ip) = req
            .headers()
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .next_back()
            .and_then(|last| last.trim().parse().ok())
    {
        return Some(ip);
    }
    req.remote_addr().as_socket_addr().map(|a| a.ip())
}

/// Probes that monitoring calls often and that must answer even when a caller is throttled.
fn exempt(path: &str) -> bool {
    matches!(path, "/healthz" | "/readyz" | "/metrics")
}

/// Middleware (inside the state's `data`): refuse with 429 once an address is over its limit.
pub async fn limit_by_address<E: Endpoint>(next: E, req: Request) -> poem::Result<Response> {
    if !exempt(req.uri().path())
        && let Some(state) = req.data::<AppState>()
        && let Some(ip) = source_address(&req, &state.config)
        && let Err(e) = state.limits.check_address(ip)
    {
        return Ok(ApiError::from(e).as_response());
    }
    next.call(req).await.map(IntoResponse::into_response)
}
