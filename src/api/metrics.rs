//! `/metrics` (Prometheus text format) and the route labels requests are counted under.
use crate::error::Code;
use std::collections::HashMap;

use poem::{
    IntoResponse, Request, Response, error::ResponseError, handler, http::header, web::Data,
};
use subtle::ConstantTimeEq;

use super::problem::ApiError;
use crate::{error::Error, state::AppState};

/// Routes outside the OpenAPI document, as `(prefix or exact path, label)`. A label ending
/// in `*` stands for everything under its prefix.
const OTHER_ROUTES: &[&str] = &[
    "/",
    "/metrics",
    "/openapi.json",
    "/v1/realtime",
    "/v1/rooms/{domain}/{room}/janus",
    "/internal/janus/events",
    "/join/{domain}/{room}",
    "/api/startChatForRoom",
    "/api/endChatForRoom",
    "/api/sendChatMessage/{jid}",
    "/api/{collection}",
    "/assets/*",
    "/docs",
    "/imbachat/v1/*",
];

/// A route template's segments: the literal ones, `None` for a parameter; and its label.
type Template = (Vec<Option<String>>, String);

/// Maps a request path to its route template (`/v1/orgs/{orgId}/rooms`), so metrics have one
/// series per route rather than one per room or id. Unknown paths share `unmatched`.
pub struct RouteLabels {
    /// Templates by their number of segments (a request's count picks the few that can
    /// match; this runs on every request).
    templates: HashMap<usize, Vec<Template>>,
    prefixes: Vec<(String, String)>,
}

impl RouteLabels {
    /// From the API's operation paths (as the OpenAPI document names them) plus the routes it
    /// does not describe. Read from the operations' metadata, so start-up never renders the
    /// whole document (which is large, and served only on request).
    pub fn from_api() -> Self {
        let paths: Vec<String> = <super::Apis as poem_openapi::OpenApi>::meta()
            .into_iter()
            .flat_map(|api| api.paths)
            .map(|p| p.path)
            .collect();
        Self::from_paths(&paths)
    }

    fn from_paths(paths: &[String]) -> Self {
        let mut templates: HashMap<usize, Vec<_>> = HashMap::new();
        let mut prefixes = Vec::new();
        for route in paths
            .iter()
            .map(String::as_str)
            .chain(OTHER_ROUTES.iter().copied())
        {
            if let Some(prefix) = route.strip_suffix('*') {
                prefixes.push((prefix.to_string(), route.to_string()));
                continue;
            }
            let segments: Vec<_> = route
                .split('/')
                .map(|s| (!s.starts_with('{')).then(|| s.to_string()))
                .collect();
            templates
                .entry(segments.len())
                .or_default()
                .push((segments, route.to_string()));
        }
        Self {
            templates,
            prefixes,
        }
    }

    pub fn label(&self, path: &str) -> &str {
        let parts: Vec<&str> = path.split('/').collect();
        let best = self
            .templates
            .get(&parts.len())
            .into_iter()
            .flatten()
            .filter(|(t, _)| {
                t.iter()
                    .zip(&parts)
                    .all(|(s, p)| s.as_deref().is_none_or(|s| s == *p))
            })
            // The most literal template wins: `/rooms/live` over `/rooms/{roomId}`.
            .max_by_key(|(t, _)| t.iter().filter(|s| s.is_some()).count());
        if let Some((_, label)) = best {
            return label;
        }
        self.prefixes
            .iter()
            .find(|(prefix, _)| path.starts_with(prefix.as_str()))
            .map_or("unmatched", |(_, label)| label)
    }
}

/// Prometheus scrape. When `MEETPLANE_METRICS_TOKEN` is set it must come as a Bearer token.
#[handler]
pub async fn metrics(req: &Request, state: Data<&AppState>) -> Response {
    if let Some(token) = &state.config.limits.metrics_token {
        let sent = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default();
        if !bool::from(sent.as_bytes().ct_eq(token.expose().as_bytes())) {
            return ApiError::from(Error::unauthenticated(
                Code::InvalidMetricsToken,
                "/metrics needs the metrics token as a Bearer token",
            ))
            .as_response();
        }
    }
    match state
        .metrics
        .render(
            &state.db,
            state.now(),
            &state.bridge.get(),
            state.reads.snapshot_queries(),
            state.janus.as_ref().map(|j| j.is_up()),
        )
        .await
    {
        Ok(text) => text
            .with_content_type("text/plain; version=0.0.4; charset=utf-8")
            .into_response(),
        Err(e) => ApiError::from(e).as_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_map_to_their_templates() {
        let paths = [
            "/v1/orgs/{orgId}/rooms",
            "/v1/orgs/{orgId}/rooms/{roomId}",
            "/v1/orgs/{orgId}/rooms/live",
        ]
        .map(String::from);
        let labels = RouteLabels::from_paths(&paths);
        assert_eq!(labels.label("/v1/orgs/42/rooms"), "/v1/orgs/{orgId}/rooms");
        assert_eq!(
            labels.label("/v1/orgs/42/rooms/7"),
            "/v1/orgs/{orgId}/rooms/{roomId}"
        );
        assert_eq!(
            labels.label("/v1/orgs/42/rooms/live"),
            "/v1/orgs/{orgId}/rooms/live"
        );
        assert_eq!(labels.label("/imbachat/v1/widgets/9"), "/imbachat/v1/*");
        assert_eq!(labels.label("/api/createRoom"), "/api/{collection}");
        assert_eq!(labels.label("/"), "/");
        assert_eq!(labels.label("/wp-login.php"), "unmatched");
    }

    #[test]
    fn the_api_labels_are_the_documented_paths() {
        let doc: serde_json::Value = serde_json::from_str(&super::super::openapi_json()).unwrap();
        let labels = RouteLabels::from_api();
        for path in doc["paths"].as_object().unwrap().keys() {
            assert_eq!(labels.label(path), path, "documented path {path}");
        }
    }
}
