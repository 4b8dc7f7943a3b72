//! `/join/{domain}/{room}`: the page a session link sends a browser to. It reads the peer
//! token from the URL fragment (which never reaches a server or its logs), shows who is in
//! the room live, and returns to the `returnUrl` the server gives for the peer (its link's
//! `rtn`) after leaving.
use poem::{Response, handler, http::header};

const PAGE: &str = include_str!("../../web/join/index.html");

#[handler]
pub fn join_page() -> Response {
    Response::builder()
        .header(header::CONTENT_TYPE, "text/html; charset=utf-8")
        .header(header::CACHE_CONTROL, "no-store")
        .header("referrer-policy", "no-referrer")
        .body(PAGE)
}
