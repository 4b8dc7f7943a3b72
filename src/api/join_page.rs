//! `/join/{domain}/{room}`: the meeting page a session link (or a room link) sends a browser to,
//! built from `web/meeting.html` with the dashboard and embedded with it. The page reads the
//! peer token from the URL fragment (which never reaches a server or its logs), runs the
//! meeting (camera and microphone, mesh WebRTC over the realtime socket, chat, people, the
//! lobby) and returns to the `returnUrl` the server gives for the peer (its link's `rtn`).
use poem::{Request, Response, handler, http::header};

use super::dashboard;

const NOT_BUILT: &str = "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<title>meetplane</title></head><body style=\"font-family:system-ui;max-width:40rem;margin:3rem auto\">\
<h1>The meeting page was not built</h1><p>This binary was compiled without Node.js (20 or \
newer) and npm, so it carries neither the dashboard nor the meeting page. Install them and \
build again (<code>touch web/package.json &amp;&amp; cargo build --release</code>); the build \
runs <code>npm ci</code> and <code>npm run build</code> in <code>web/</code> by itself.</p>\
<p>Session links and the API work without it (<a href=\"/docs\">API documentation</a>).</p>\
</body></html>";

/// The meeting needs the camera and microphone (`media-src` for local and remote streams) and
/// this server's API and realtime socket (named as ws/wss too: older browsers do not count
/// them as 'self'); nothing else, and it is never framed.
fn csp(host: Option<&str>) -> String {
    let sockets = host
        .filter(|h| is_plain_host(h))
        .map(|h| format!(" ws://{h} wss://{h}"))
        .unwrap_or_default();
    format!(
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
         img-src 'self' data: blob:; media-src 'self' blob: mediastream:; \
         connect-src 'self'{sockets}; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    )
}

/// A `Host` header fit to be written into the policy: a name or address and a port, nothing
/// that could end a directive.
fn is_plain_host(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 255
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'))
}

#[handler]
pub fn join_page(req: &Request) -> Response {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok());
    let builder = Response::builder()
        .header(header::CONTENT_TYPE, "text/html; charset=utf-8")
        .header(header::CACHE_CONTROL, "no-store")
        .header("content-security-policy", csp(host))
        .header("x-content-type-options", "nosniff")
        .header("referrer-policy", "no-referrer")
        .header(
            "permissions-policy",
            "camera=(self), microphone=(self), display-capture=(self)",
        );
    match dashboard::page("meeting.html") {
        Some(page) => builder.body(page),
        None => builder.body(NOT_BUILT),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_names_the_sockets_of_a_plain_host_only() {
        assert!(
            csp(Some("meet.example:8443"))
                .contains("connect-src 'self' ws://meet.example:8443 wss://meet.example:8443;")
        );
        assert!(csp(Some("[::1]:8080")).contains("ws://[::1]:8080"));
        assert!(csp(Some("evil; script-src *")).contains("connect-src 'self';"));
        assert!(csp(None).contains("media-src 'self' blob: mediastream:"));
    }
}
