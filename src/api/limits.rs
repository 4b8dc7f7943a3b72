//! Request body size limit for every route. Declared lengths are checked up front; chunked
//! bodies are counted as they stream, so no request can make the server buffer more than the
//! limit.
use std::io;

use futures_util::StreamExt;
use poem::{
    Body, Endpoint, Middleware, Request, Result,
    error::ReadBodyError,
    http::{StatusCode, header},
};

use super::problem::ApiError;

pub struct BodyLimit {
    max: u64,
}

impl BodyLimit {
    pub fn new(max: u64) -> Self {
        Self { max }
    }
}

impl<E: Endpoint> Middleware<E> for BodyLimit {
    type Output = BodyLimitEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        BodyLimitEndpoint {
            inner,
            max: self.max,
        }
    }
}

pub struct BodyLimitEndpoint<E> {
    inner: E,
    max: u64,
}

/// Marks the I/O error raised when a streamed body passes the limit.
#[derive(Debug, thiserror::Error)]
#[error("the request body is larger than {0} bytes")]
pub struct BodyTooLarge(pub u64);

pub fn too_large(max: u64) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        format!("the request body is larger than {max} bytes"),
    )
}

/// Whether a poem error is a streamed body that passed the limit.
pub fn is_too_large(err: &poem::Error) -> Option<u64> {
    let Some(ReadBodyError::Io(e)) = err.downcast_ref::<ReadBodyError>() else {
        return None;
    };
    // The body machinery wraps our error in further io::Errors; look through all of them.
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(error) = current {
        if let Some(t) = error.downcast_ref::<BodyTooLarge>() {
            return Some(t.0);
        }
        current = match error.downcast_ref::<io::Error>() {
            Some(io) => io.get_ref().map(|inner| inner as _),
            None => error.source(),
        };
    }
    None
}

impl<E: Endpoint> Endpoint for BodyLimitEndpoint<E> {
    type Output = E::Output;

    async fn call(&self, mut req: Request) -> Result<Self::Output> {
        let max = self.max;
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        match declared {
            Some(len) if len > max => return Err(too_large(max).into()),
            Some(_) => {}
            None => {
                let mut seen = 0u64;
                let limited = req.take_body().into_bytes_stream().map(move |chunk| {
                    let chunk = chunk?;
                    seen += chunk.len() as u64;
                    if seen > max {
                        return Err(io::Error::new(
                            io::ErrorKind::InvalidData,
                            BodyTooLarge(max),
                        ));
                    }
                    Ok(chunk)
                });
                req.set_body(Body::from_bytes_stream(limited));
            }
        }
        self.inner.call(req).await
    }
}
