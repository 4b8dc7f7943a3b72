//! The admin dashboard at `/`: a single-page app built from `web/` by build.rs and embedded in
//! the binary. When it was not built (no npm at build time) `/` says how to get it.
use poem::{
    Response,
    error::ResponseError,
    handler,
    http::{StatusCode, header},
    web::Path,
};
use rust_embed::RustEmbed;

#[derive(RustEmbed)]
#[folder = "$OUT_DIR/dashboard"]
struct Dashboard;

/// Only our own scripts and styles; sockets and API calls to this server; never framed.
const CSP: &str = "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; \
                   connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

const NOT_BUILT: &str = "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<title>meetplane</title></head><body style=\"font-family:system-ui;max-width:40rem;margin:3rem auto\">\
<h1>meetplane is running</h1><p>The admin dashboard was not built into this binary: Node.js \
(20 or newer) and npm were not found when it was compiled. Install them and build again \
(<code>touch web/package.json &amp;&amp; cargo build --release</code>); the build runs \
<code>npm ci</code> and <code>npm run build</code> in <code>web/</code> by itself.</p>\
<p>The API works without it: <a href=\"/docs\">API documentation</a>, \
<a href=\"/openapi.json\">OpenAPI document</a>.</p></body></html>";

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or_default() {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "json" => "application/json",
        _ => "application/octet-stream",
    }
}

/// A built page (`meeting.html`) of the web app, if this binary carries it.
pub fn page(name: &str) -> Option<Vec<u8>> {
    Dashboard::get(name).map(|f| f.data.into_owned())
}

/// True when this binary carries the dashboard.
pub fn is_built() -> bool {
    Dashboard::get("index.html").is_some()
}

#[handler]
pub fn index() -> Response {
    let builder = Response::builder()
        .header(header::CONTENT_TYPE, "text/html; charset=utf-8")
        .header(header::CACHE_CONTROL, "no-cache")
        .header("content-security-policy", CSP)
        .header("x-content-type-options", "nosniff")
        .header("referrer-policy", "same-origin");
    match Dashboard::get("index.html") {
        Some(file) => builder.body(file.data.into_owned()),
        None => builder.body(NOT_BUILT),
    }
}

/// `/assets/{file}`: content-hashed names, so they may be cached for good.
#[handler]
pub fn asset(Path(file): Path<String>) -> Response {
    match Dashboard::get(&format!("assets/{file}")) {
        Some(found) => Response::builder()
            .header(header::CONTENT_TYPE, content_type(&file))
            .header(header::CACHE_CONTROL, "public, max-age=31536000, immutable")
            .header("x-content-type-options", "nosniff")
            .body(found.data.into_owned()),
        None => super::problem::ApiError::new(
            StatusCode::NOT_FOUND,
            "asset_not_found",
            format!("no dashboard asset assets/{file}"),
        )
        .as_response(),
    }
}
