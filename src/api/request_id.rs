//! Request ids: every request gets one (the caller's `x-request-id` when it is a sane token,
//! else a new UUID), every log line of the request carries it (`telemetry::RequestContext`),
//! and the response echoes it, so a client's report can be matched to the server's logs. The
//! same middleware counts the request in the metrics, under its route's template.
use std::{sync::Arc, time::Instant};

use poem::{Endpoint, IntoResponse, Request, Response, http::HeaderValue};

use super::metrics::RouteLabels;
use crate::{
    state::AppState,
    telemetry::{RequestContext, redact},
};

pub const HEADER: &str = "x-request-id";

/// Up to 128 visible ASCII characters; anything else is replaced rather than logged.
fn usable(value: &HeaderValue) -> Option<String> {
    let text = value.to_str().ok()?;
    let ok = !text.is_empty() && text.len() <= 128 && text.bytes().all(|b| b.is_ascii_graphic());
    ok.then(|| text.to_string())
}

/// Outermost middleware (after errors are rendered, so every answer carries the header).
pub async fn around<E: Endpoint>(
    next: E,
    req: Request,
    state: AppState,
    labels: Arc<RouteLabels>,
) -> poem::Result<Response> {
    let started = Instant::now();
    let id = req
        .headers()
        .get(HEADER)
        .and_then(usable)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let method = req.method().clone();
    let route = labels.label(req.uri().path()).to_string();
    let context = RequestContext {
        id: id.clone(),
        method: method.to_string(),
        path: redact::uri(req.uri().path()).into_owned(),
        arrived: started,
    };
    context
        .scope(async move {
            let mut resp = match next.call(req).await {
                Ok(resp) => resp.into_response(),
                Err(err) => err.into_response(),
            };
            let status = resp.status().as_u16();
            let elapsed = started.elapsed().as_secs_f64();
            state
                .metrics
                .http_request(method.as_str(), &route, status, elapsed);
            let elapsed_ms = elapsed * 1000.0;
            if status >= 500 {
                tracing::error!(status, elapsed_ms, "request failed");
            } else {
                tracing::info!(status, elapsed_ms, "request");
            }
            if let Ok(value) = HeaderValue::from_str(&id) {
                resp.headers_mut().insert(HEADER, value);
            }
            Ok(resp)
        })
        .await
}
