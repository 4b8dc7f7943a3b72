//! Logging set-up: `RUST_LOG` filters (default `info,sqlx=warn` for the server),
//! `MEETPLANE_LOG_FORMAT` picks text or JSON lines. Every line logged while a request is
//! handled carries that request's id, method and path ([`RequestContext`]).
mod log_line;
pub mod redact;

use std::{future::Future, time::Instant};

use tracing_subscriber::{EnvFilter, fmt, fmt::format::JsonFields};

use crate::config::LogFormat;
pub use log_line::LogLine;

/// `default_filter` applies when RUST_LOG is unset: the server logs at info, one-shot CLI
/// commands only warnings (their output is the result).
pub fn init(format: LogFormat, default_filter: &str) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    // Field names are styled only on a terminal; a file or a log collector gets plain text.
    let builder = fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    // try_init: tests and repeated calls keep the first subscriber.
    let _ = match format {
        LogFormat::Text => builder.event_format(LogLine::Text).try_init(),
        LogFormat::Json => builder
            .fmt_fields(JsonFields::new())
            .event_format(LogLine::Json)
            .try_init(),
    };
}

/// The request being handled by the current task. It is a task-local rather than a tracing
/// span: a span per request (created, entered and left on every poll, its fields formatted
/// and, in JSON, parsed again for every line) cost a tenth of the server's read throughput,
/// while the lines that need it are one per request.
#[derive(Debug, Clone)]
pub struct RequestContext {
    pub id: String,
    pub method: String,
    /// With credentials (session links, tokens) redacted: see [`redact`].
    pub path: String,
    /// When the server began handling it: after the client sent it, so after every write the
    /// client had seen finish.
    pub arrived: Instant,
}

tokio::task_local! {
    static REQUEST: RequestContext;
}

impl RequestContext {
    /// Runs `work` with this request as the context of every line it logs.
    pub async fn scope<F: Future>(self, work: F) -> F::Output {
        REQUEST.scope(self, work).await
    }

    /// When the current task's request arrived, if it is handling one.
    pub fn arrival() -> Option<Instant> {
        REQUEST.try_with(|ctx| ctx.arrived).ok()
    }

    /// Calls `f` with the current task's request, if it is handling one.
    pub(crate) fn with_current<R>(f: impl FnOnce(Option<&RequestContext>) -> R) -> R {
        let mut f = Some(f);
        match REQUEST.try_with(|ctx| (f.take().expect("called once"))(Some(ctx))) {
            Ok(result) => result,
            Err(_) => (f.take().expect("not called yet"))(None),
        }
    }
}
