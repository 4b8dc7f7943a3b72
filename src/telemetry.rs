//! Logging set-up: `RUST_LOG` filters (default `info,sqlx=warn` for the server), `MEETPLANE_LOG_FORMAT`
//! picks text or JSON lines.
use tracing_subscriber::{EnvFilter, fmt};

use crate::config::LogFormat;

/// `default_filter` applies when RUST_LOG is unset: the server logs at info, one-shot CLI
/// commands only warnings (their output is the result).
pub fn init(format: LogFormat, default_filter: &str) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let builder = fmt().with_env_filter(filter).with_writer(std::io::stderr);
    // try_init: tests and repeated calls keep the first subscriber.
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}
