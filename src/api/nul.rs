//! U+0000 in a path or query parameter (`%00`). PostgreSQL text cannot hold it and no parameter
//! of this API has a use for it, so such a request is refused up front, on every route, with
//! the same 400 `invalid_parameter` as any other unreadable parameter, instead of failing in
//! the database. (JSON bodies are checked where they are parsed: `body::parse`.)
use poem::{Endpoint, IntoResponse, Request, Response, error::ResponseError, http::StatusCode};

use super::problem::ApiError;

pub async fn around<E: Endpoint>(next: E, req: Request) -> poem::Result<Response> {
    let raw = req.uri().path_and_query().map_or("", |pq| pq.as_str());
    if has_encoded_nul(raw) {
        return Ok(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_parameter",
            "path and query parameters must not contain the NUL character (%00)",
        )
        .as_response());
    }
    next.call(req).await.map(IntoResponse::into_response)
}

/// A URI cannot carry a raw NUL byte; `%00` is the only way to send one.
fn has_encoded_nul(raw: &str) -> bool {
    raw.as_bytes().windows(3).any(|w| w == b"%00")
}

#[cfg(test)]
mod tests {
    use super::has_encoded_nul;

    #[test]
    fn only_an_encoded_nul_counts() {
        assert!(has_encoded_nul("/v1/x?name=a%00b"));
        assert!(has_encoded_nul("/v1/rooms/a%00/b"));
        // `%2500` is a percent sign followed by "00".
        assert!(!has_encoded_nul("/v1/x?name=%2500&page=100"));
        assert!(!has_encoded_nul("/v1/x?count=500"));
    }
}
