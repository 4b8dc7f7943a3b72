//! A JSON response rendered once and sent as bytes, documented as the type it was rendered
//! from. Hot lists answered from the read cache (`crate::cached_reads`) keep their rendered
//! body, so a repeated read neither copies the rows nor builds poem-openapi's JSON tree again:
//! those allocations were most of what was left of the authenticated rooms list's cost.
use std::marker::PhantomData;

use bytes::Bytes;
use poem::{IntoResponse, Response, http::header};
use poem_openapi::{
    ApiResponse,
    payload::{Json, Payload},
    registry::{MetaMediaType, MetaResponse, MetaResponses, MetaSchemaRef, Registry},
    types::ToJSON,
};

pub struct RenderedJson<T> {
    body: Bytes,
    rendered_from: PhantomData<fn() -> T>,
}

impl<T: ToJSON> RenderedJson<T> {
    /// The body `Json(value)` would send.
    pub fn render(value: &T) -> crate::error::Result<Bytes> {
        let body = serde_json::to_vec(&value.to_json())
            .map_err(|e| anyhow::anyhow!("rendering a response: {e}"))?;
        Ok(Bytes::from(body))
    }

    /// A body from `render` for the same `T`.
    pub fn from_rendered(body: Bytes) -> Self {
        Self {
            body,
            rendered_from: PhantomData,
        }
    }
}

impl<T: ToJSON> Payload for RenderedJson<T> {
    const CONTENT_TYPE: &'static str = <Json<T> as Payload>::CONTENT_TYPE;

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

impl<T: ToJSON> IntoResponse for RenderedJson<T> {
    fn into_response(self) -> Response {
        Response::builder()
            // What poem-openapi's `Json` sends.
            .header(header::CONTENT_TYPE, "application/json; charset=utf-8")
            .body(self.body)
    }
}

impl<T: ToJSON> ApiResponse for RenderedJson<T> {
    fn meta() -> MetaResponses {
        MetaResponses {
            responses: vec![MetaResponse {
                description: "",
                status: Some(200),
                status_range: None,
                content: vec![MetaMediaType {
                    content_type: Self::CONTENT_TYPE,
                    schema: Self::schema_ref(),
                }],
                headers: vec![],
            }],
        }
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}
