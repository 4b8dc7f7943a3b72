//! Credentials that travel in URLs, kept out of the logs: whoever reads a log line must not
//! be able to open a session link or act as a peer with what it shows. A path or query is
//! logged with such values replaced by `[redacted]`.
use std::borrow::Cow;

pub const REDACTED: &str = "[redacted]";

/// Prefixes of the tokens meetplane issues (peer, refresh, API secret) and of webhook keys.
const TOKEN_PREFIXES: [&str; 4] = ["mppt_", "mprt_", "mpsk_", "whsec_"];

/// Query parameters whose value is a credential whatever it looks like.
const SECRET_PARAMETERS: [&str; 12] = [
    "token",
    "access_token",
    "refresh_token",
    "id_token",
    "peertoken",
    "hostkey",
    "key",
    "password",
    "secret",
    "client_secret",
    "link",
    "jwt",
];

/// A JWT (session link, access token, widget user token: `eyJ…` is base64url of `{"`), or
/// a token of ours.
fn is_credential(text: &str) -> bool {
    (text.starts_with("eyJ") && text.matches('.').count() == 2)
        || TOKEN_PREFIXES.iter().any(|p| text.starts_with(p))
}

/// `path` (with its query, if any) as it may be logged.
pub fn uri(path_and_query: &str) -> Cow<'_, str> {
    let (path, query) = match path_and_query.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (path_and_query, None),
    };
    let clean_path = redact_path(path);
    let clean_query = query.map(redact_query);
    let changed = matches!(clean_path, Cow::Owned(_)) || matches!(clean_query, Some(Cow::Owned(_)));
    if !changed {
        return Cow::Borrowed(path_and_query);
    }
    match clean_query {
        Some(q) => Cow::Owned(format!("{clean_path}?{q}")),
        None => clean_path,
    }
}

/// Every segment after `/v1/session/` (a session link) and every segment that is a token.
fn redact_path(path: &str) -> Cow<'_, str> {
    if path
        .strip_prefix("/v1/session/")
        .is_some_and(|link| !link.is_empty())
    {
        return Cow::Owned(format!("/v1/session/{REDACTED}"));
    }
    if !path.split('/').any(is_credential) {
        return Cow::Borrowed(path);
    }
    let parts: Vec<&str> = path
        .split('/')
        .map(|s| if is_credential(s) { REDACTED } else { s })
        .collect();
    Cow::Owned(parts.join("/"))
}

fn redact_query(query: &str) -> Cow<'_, str> {
    let secret = |pair: &str| {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let name = name.to_ascii_lowercase();
        (!value.is_empty() && SECRET_PARAMETERS.contains(&name.as_str())) || is_credential(value)
    };
    if !query.split('&').any(secret) {
        return Cow::Borrowed(query);
    }
    let pairs: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, _)) if secret(pair) => format!("{name}={REDACTED}"),
            _ => pair.to_string(),
        })
        .collect();
    Cow::Owned(pairs.join("&"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINK: &str = "eyJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJrIn0.c2lnbmF0dXJl";

    #[test]
    fn session_links_and_tokens_in_paths() {
        assert_eq!(
            uri(&format!("/v1/session/{LINK}")),
            "/v1/session/[redacted]"
        );
        // Whatever follows /v1/session/ is a link, well-formed or not.
        assert_eq!(uri("/v1/session/not.a-jwt"), "/v1/session/[redacted]");
        assert_eq!(
            uri(&format!("/join/localhost/r/{LINK}/x")),
            "/join/localhost/r/[redacted]/x"
        );
        assert_eq!(uri("/v1/x/mppt_abc/y"), "/v1/x/[redacted]/y");
        for plain in ["/v1/orgs/7b0d/rooms/localhost/board", "/v1/session", "/"] {
            assert!(matches!(uri(plain), Cow::Borrowed(_)), "{plain}");
        }
    }

    #[test]
    fn credentials_in_queries() {
        assert_eq!(
            uri("/v1/realtime?token=mppt_abc&x=1"),
            "/v1/realtime?token=[redacted]&x=1"
        );
        assert_eq!(
            uri(&format!("/imbachat/v1/w/socket?token={LINK}")),
            "/imbachat/v1/w/socket?token=[redacted]"
        );
        assert_eq!(
            uri("/cb?Access_Token=abc&refresh_token=def&page=2"),
            "/cb?Access_Token=[redacted]&refresh_token=[redacted]&page=2"
        );
        assert_eq!(uri(&format!("/x?next={LINK}")), "/x?next=[redacted]");
        assert_eq!(uri("/x?page=1&count=10"), "/x?page=1&count=10");
        assert!(matches!(uri("/x?token="), Cow::Borrowed(_)));
    }
}
