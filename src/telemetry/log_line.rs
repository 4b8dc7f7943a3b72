//! The server's log line, in text or JSON: time, level, the current request (id, method,
//! path; see [`RequestContext`]), any other spans in scope, target and the event's fields.
//! Text lines keep tracing-subscriber's layout, with the request written as it wrote the
//! request span (`request{request_id=.. method=.. path=..}: `); JSON lines are one object per
//! line with the event's fields at the top level.
use std::fmt;

use serde::Serialize;
use tracing::{
    Event, Subscriber,
    field::{Field, Visit},
};
use tracing_log::NormalizeEvent;
use tracing_subscriber::{
    fmt::{
        FmtContext, FormatEvent, FormatFields, FormattedFields,
        format::Writer,
        time::{FormatTime, SystemTime},
    },
    registry::LookupSpan,
};

use super::RequestContext;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLine {
    Text,
    Json,
}

impl<S, N> FormatEvent<S, N> for LogLine
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        match self {
            LogLine::Text => text(ctx, writer, event),
            LogLine::Json => json(ctx, writer, event),
        }
    }
}

fn text<S, N>(ctx: &FmtContext<'_, S, N>, mut w: Writer<'_>, event: &Event<'_>) -> fmt::Result
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    let normalized = event.normalized_metadata();
    let meta = normalized.as_ref().unwrap_or_else(|| event.metadata());
    SystemTime.format_time(&mut w)?;
    write!(w, " {:>5} ", meta.level().as_str())?;
    RequestContext::with_current(|request| match request {
        Some(r) => write!(
            w,
            "request{{request_id={} method={} path={}}}: ",
            r.id, r.method, r.path
        ),
        None => Ok(()),
    })?;
    if let Some(scope) = ctx.event_scope() {
        for span in scope.from_root() {
            w.write_str(span.name())?;
            let extensions = span.extensions();
            if let Some(fields) = extensions.get::<FormattedFields<N>>()
                && !fields.is_empty()
            {
                write!(w, "{{{fields}}}")?;
            }
            w.write_str(": ")?;
        }
    }
    write!(w, "{}: ", meta.target())?;
    ctx.format_fields(w.by_ref(), event)?;
    writeln!(w)
}

fn json<S, N>(ctx: &FmtContext<'_, S, N>, mut w: Writer<'_>, event: &Event<'_>) -> fmt::Result
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    let normalized = event.normalized_metadata();
    let meta = normalized.as_ref().unwrap_or_else(|| event.metadata());
    let mut timestamp = String::with_capacity(32);
    SystemTime.format_time(&mut Writer::new(&mut timestamp))?;
    let mut line = JsonObject(Vec::with_capacity(256));
    line.put("timestamp", &timestamp);
    line.put("level", meta.level().as_str());
    event.record(&mut line);
    line.put("target", meta.target());
    RequestContext::with_current(|request| {
        if let Some(r) = request {
            line.put("request_id", &r.id);
            line.put("method", &r.method);
            line.put("path", &r.path);
        }
    });
    // Other spans in scope (none of the server's own; libraries may have some), with the
    // fields the JSON field formatter stored for them.
    if let Some(scope) = ctx.event_scope() {
        let spans: Vec<serde_json::Value> = scope
            .from_root()
            .map(|span| {
                let mut fields = span
                    .extensions()
                    .get::<FormattedFields<N>>()
                    .and_then(|f| serde_json::from_str::<serde_json::Value>(f).ok())
                    .unwrap_or_else(|| serde_json::json!({}));
                if let Some(map) = fields.as_object_mut() {
                    map.insert("name".into(), span.name().into());
                }
                fields
            })
            .collect();
        line.put("spans", &spans);
    }
    let mut bytes = line.0;
    bytes[0] = b'{';
    bytes.extend_from_slice(b"}\n");
    w.write_str(std::str::from_utf8(&bytes).map_err(|_| fmt::Error)?)
}

/// A JSON object being written: each member is `,"name":value` (the first comma becomes the
/// opening brace).
struct JsonObject(Vec<u8>);

impl JsonObject {
    fn put<T: Serialize + ?Sized>(&mut self, name: &str, value: &T) {
        self.0.push(b',');
        // Writing strings and numbers into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut self.0, name);
        self.0.push(b':');
        if serde_json::to_writer(&mut self.0, value).is_err() {
            self.0.extend_from_slice(b"null");
        }
    }

    /// An event's field; the `log.*` fields a `log` record carries are its metadata, already
    /// written as the line's target.
    fn field<T: Serialize + ?Sized>(&mut self, field: &Field, value: &T) {
        if !field.name().starts_with("log.") {
            self.put(field.name(), value);
        }
    }
}

impl Visit for JsonObject {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.field(field, &format!("{value:?}"));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.field(field, value);
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.field(field, &value);
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.field(field, &value);
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.field(field, &value);
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.field(field, &value);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tracing_subscriber::fmt::format::JsonFields;

    use super::*;

    #[derive(Clone, Default)]
    struct Lines(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Lines {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Lines {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    fn request() -> RequestContext {
        RequestContext {
            id: "req-1".into(),
            method: "GET".into(),
            path: "/v1/orgs/o/rooms".into(),
            arrived: std::time::Instant::now(),
        }
    }

    /// Logs `emit`'s events with the given format and returns the lines written.
    fn logged(format: LogLine, emit: impl FnOnce()) -> String {
        let lines = Lines::default();
        let writer = lines.clone();
        let builder = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_writer(move || writer.clone());
        match format {
            LogLine::Text => {
                tracing::subscriber::with_default(builder.event_format(format).finish(), emit)
            }
            LogLine::Json => tracing::subscriber::with_default(
                builder
                    .fmt_fields(JsonFields::new())
                    .event_format(format)
                    .finish(),
                emit,
            ),
        }
        lines.text()
    }

    #[test]
    fn text_lines_name_the_request_they_belong_to() {
        let out = logged(LogLine::Text, || {
            super::super::REQUEST.sync_scope(request(), || {
                tracing::info!(status = 200, elapsed_ms = 1.5, "request");
            });
            tracing::warn!(attempt = 2, "outside any request");
        });
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 2, "{out}");
        assert!(
            lines[0].ends_with(
                "  INFO request{request_id=req-1 method=GET path=/v1/orgs/o/rooms}: \
                 meetplane::telemetry::log_line::tests: request status=200 elapsed_ms=1.5"
            ),
            "{}",
            lines[0]
        );
        assert!(
            lines[1].ends_with(
                "  WARN meetplane::telemetry::log_line::tests: outside any request attempt=2"
            ),
            "{}",
            lines[1]
        );
        // Starts with an RFC 3339 time.
        assert!(chrono::DateTime::parse_from_rfc3339(lines[0].split(' ').next().unwrap()).is_ok());
    }

    #[test]
    fn json_lines_are_objects_with_the_request_and_typed_fields() {
        let out = logged(LogLine::Json, || {
            super::super::REQUEST.sync_scope(request(), || {
                tracing::error!(
                    status = 503,
                    elapsed_ms = 0.25,
                    ok = false,
                    "request failed"
                );
            });
            tracing::info!(note = "quote \" and\nnewline", "outside");
        });
        let lines: Vec<serde_json::Value> = out
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect();
        assert_eq!(lines.len(), 2, "{out}");
        let first = &lines[0];
        assert_eq!(first["level"], "ERROR");
        assert_eq!(first["message"], "request failed");
        assert_eq!(first["status"], 503);
        assert_eq!(first["elapsed_ms"], 0.25);
        assert_eq!(first["ok"], false);
        assert_eq!(first["request_id"], "req-1");
        assert_eq!(first["method"], "GET");
        assert_eq!(first["path"], "/v1/orgs/o/rooms");
        assert_eq!(first["target"], "meetplane::telemetry::log_line::tests");
        let time = first["timestamp"].as_str().unwrap();
        assert!(chrono::DateTime::parse_from_rfc3339(time).is_ok(), "{time}");
        assert!(first.get("spans").is_none());
        assert_eq!(lines[1]["note"], "quote \" and\nnewline");
        assert!(lines[1].get("request_id").is_none());
    }

    #[test]
    fn other_spans_in_scope_are_kept() {
        let text = logged(LogLine::Text, || {
            let _span = tracing::info_span!("bridge", room = "r1").entered();
            tracing::info!("joined");
        });
        assert!(
            text.contains(
                "  INFO bridge{room=\"r1\"}: meetplane::telemetry::log_line::tests: joined"
            ),
            "{text}"
        );
        let json = logged(LogLine::Json, || {
            let _span = tracing::info_span!("bridge", room = "r1").entered();
            tracing::info!("joined");
        });
        let line: serde_json::Value = serde_json::from_str(json.trim()).unwrap();
        assert_eq!(
            line["spans"],
            serde_json::json!([{"name": "bridge", "room": "r1"}])
        );
    }

    #[test]
    fn log_records_are_named_by_their_own_target_without_log_fields() {
        let record = |format| {
            logged(format, || {
                tracing_log::format_trace(
                    &tracing_log::log::Record::builder()
                        .args(format_args!("handshake done"))
                        .level(tracing_log::log::Level::Warn)
                        .target("rustls::client")
                        .module_path(Some("rustls::client::hs"))
                        .file(Some("hs.rs"))
                        .line(Some(42))
                        .build(),
                )
                .unwrap();
            })
        };
        let text = record(LogLine::Text);
        assert!(
            text.trim_end()
                .ends_with("  WARN rustls::client: handshake done"),
            "{text}"
        );
        let line: serde_json::Value = serde_json::from_str(record(LogLine::Json).trim()).unwrap();
        assert_eq!(line["target"], "rustls::client");
        assert_eq!(line["level"], "WARN");
        assert_eq!(line["message"], "handshake done");
        let keys: Vec<&String> = line.as_object().unwrap().keys().collect();
        assert!(keys.iter().all(|k| !k.starts_with("log.")), "{keys:?}");
    }
}
