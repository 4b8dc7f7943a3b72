//! JSON request bodies parsed with serde, so that a wrong type names the offending field
//! (`meetingOptions.duration: invalid type: string "x", expected i64`). The schema in the
//! OpenAPI document still comes from the poem-openapi `Object` derive of the same type; both
//! derives use camelCase, and rules beyond types are checked by the domain code.
use poem::{FromRequest, Request, RequestBody, Result, http::StatusCode};
use poem_openapi::{
    payload::{ParsePayload, Payload},
    registry::{MetaSchemaRef, Registry},
    types::Type,
};
use serde::de::DeserializeOwned;

use super::problem::ApiError;

#[derive(Debug, Clone)]
pub struct JsonBody<T>(pub T);

impl<T: Type + Send> Payload for JsonBody<T> {
    const CONTENT_TYPE: &'static str = "application/json";

    fn check_content_type(content_type: &str) -> bool {
        let essence = content_type.split(';').next().unwrap_or("").trim();
        essence.eq_ignore_ascii_case("application/json")
            || essence.to_ascii_lowercase().ends_with("+json")
    }

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

impl<T: Type + DeserializeOwned + Send> ParsePayload for JsonBody<T> {
    const IS_REQUIRED: bool = true;

    async fn from_request(request: &Request, body: &mut RequestBody) -> Result<Self> {
        let data = Vec::<u8>::from_request(request, body).await?;
        parse(&data).map(JsonBody).map_err(Into::into)
    }
}

poem_openapi::impl_apirequest_for_payload!(JsonBody<T>, T: Type + DeserializeOwned + Send);

pub fn parse<T: DeserializeOwned>(data: &[u8]) -> Result<T, ApiError> {
    if data.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "missing_body",
            "a JSON request body is required",
        ));
    }
    // Every body of this API is an object; serde would also read a struct from an array.
    if data.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(match serde_json::from_slice::<serde_json::Value>(data) {
            Ok(_) => ApiError::invalid("body", "must be a JSON object"),
            Err(e) => malformed(e),
        });
    }
    if let Some(field) = nul_field(data) {
        return Err(ApiError::invalid(
            field,
            "must not contain the NUL character (U+0000)",
        ));
    }
    let mut de = serde_json::Deserializer::from_slice(data);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        if inner.is_data() {
            let message = inner.to_string();
            // serde reports a missing field at its parent; name the field itself.
            let missing = message
                .strip_prefix("missing field `")
                .and_then(|rest| rest.split('`').next());
            let field = match (path.as_str(), missing) {
                (".", Some(name)) => name.to_string(),
                (".", None) => "body".to_string(),
                (parent, Some(name)) => format!("{parent}.{name}"),
                (parent, None) => parent.to_string(),
            };
            let message = message
                .split(" at line ")
                .next()
                .unwrap_or_default()
                .to_string();
            ApiError::invalid(field, message)
        } else {
            malformed(inner)
        }
    })?;
    // `{…} xyz`: a deserializer reads one value and stops; only whitespace may follow it.
    de.end().map_err(malformed)?;
    Ok(value)
}

/// JSON can carry U+0000 (`\u0000`), but PostgreSQL text cannot, and no field of any surface
/// has a use for it: each surface refuses it where it parses a body, naming the field (see
/// [`field_with_nul`]), instead of failing in the database.
pub fn nul_field(data: &[u8]) -> Option<String> {
    if !contains(data, br"\u0000") {
        return None;
    }
    let value = serde_json::from_slice::<serde_json::Value>(data).ok()?;
    field_with_nul(&value, "")
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The path (`a.b[2]`, as serde_path_to_error writes it) of the first string or key holding
/// U+0000; the body itself is `body`.
pub fn field_with_nul(value: &serde_json::Value, at: &str) -> Option<String> {
    use serde_json::Value;
    let here = || {
        if at.is_empty() {
            "body".to_string()
        } else {
            at.to_string()
        }
    };
    match value {
        Value::String(s) if s.contains('\0') => Some(here()),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| field_with_nul(v, &format!("{at}[{i}]"))),
        Value::Object(fields) => fields.iter().find_map(|(k, v)| {
            let path = if at.is_empty() {
                k.clone()
            } else {
                format!("{at}.{k}")
            };
            if k.contains('\0') {
                Some(here())
            } else {
                field_with_nul(v, &path)
            }
        }),
        _ => None,
    }
}

fn malformed(err: serde_json::Error) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "malformed_json",
        format!("the request body is not valid JSON: {err}"),
    )
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::parse;

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase")]
    #[allow(dead_code)]
    struct Inner {
        max_peers: u32,
    }
    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Outer {
        name: String,
        options: Inner,
    }

    #[test]
    fn errors_name_the_field() {
        let err = parse::<Outer>(br#"{"name":"a","options":{"maxPeers":"x"}}"#).unwrap_err();
        assert_eq!(err.problem.status, 422);
        assert_eq!(err.problem.errors.unwrap()[0].field, "options.maxPeers");
        let err = parse::<Outer>(br#"{"options":{"maxPeers":1}}"#).unwrap_err();
        assert_eq!(err.problem.status, 422);
        assert_eq!(err.problem.errors.unwrap()[0].field, "name");
        let err = parse::<Outer>(br#"{"name": "#).unwrap_err();
        assert_eq!(
            (err.problem.status, err.problem.code.as_str()),
            (400, "malformed_json")
        );
        let err = parse::<Outer>(b"  ").unwrap_err();
        assert_eq!(err.problem.code, "missing_body");
    }

    #[test]
    fn only_whitespace_may_follow_the_body() {
        let body = br#"{"name":"a","options":{"maxPeers":1}}"#;
        assert!(parse::<Outer>(body).is_ok());
        assert!(parse::<Outer>(&[body.as_slice(), b" \r\n\t"].concat()).is_ok());
        for tail in [&b" xyz"[..], b"{}", b"]", b"\"x\""] {
            let err = parse::<Outer>(&[body.as_slice(), tail].concat()).unwrap_err();
            assert_eq!(
                (err.problem.status, err.problem.code.as_str()),
                (400, "malformed_json"),
                "{tail:?}"
            );
        }
    }

    #[test]
    fn nul_characters_are_refused_by_field() {
        let err = parse::<Outer>(br#"{"name":"a\u0000b","options":{"maxPeers":1}}"#).unwrap_err();
        assert_eq!(err.problem.status, 422);
        assert_eq!(err.problem.errors.unwrap()[0].field, "name");
        let err = parse::<serde_json::Value>(br#"{"a":[{"b":"x"},{"c":"\u0000"}]}"#).unwrap_err();
        assert_eq!(err.problem.errors.unwrap()[0].field, "a[1].c");
        // An escaped backslash followed by `u0000` is six ordinary characters.
        assert!(parse::<serde_json::Value>(br#"{"a":"\\u0000"}"#).is_ok());
    }
}
