//! `/openapi.json` and `/docs` (Swagger UI), rendered on their first request.
//!
//! The document is about 430 kB and the UI page embeds it beside Swagger's script; rendering
//! both at start-up cost the server several MB of resident memory it kept for as long as it
//! ran, although most deployments never open them.
use std::sync::OnceLock;

use poem::{IntoResponse, Response, handler, web::Html};

static DOCUMENT: OnceLock<String> = OnceLock::new();
static SWAGGER_UI: OnceLock<String> = OnceLock::new();

#[handler]
pub fn openapi_document() -> Response {
    DOCUMENT
        .get_or_init(super::openapi_document)
        .clone()
        .with_content_type("application/json")
        .into_response()
}

#[handler]
pub fn swagger_ui() -> Html<String> {
    Html(
        SWAGGER_UI
            .get_or_init(|| super::service().swagger_ui_html())
            .clone(),
    )
}
