//! Loopback stand-ins for the providers' management APIs. Each checks every request the way
//! the provider documents it and refuses anything else with a 400 naming what was wrong, so
//! a request shape that drifts from the documentation fails the test.

pub mod contentful;
pub mod github;
pub mod sanity;
pub mod shopify;

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use serde_json::Value;
use url::Url;

/// A refused request: its status and the reason, sent as the body.
pub type Refusal = (StatusCode, String);

/// Serves `router` on 127.0.0.1 and returns its base URL.
pub async fn serve(router: Router) -> Url {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    format!("http://{address}").parse().unwrap()
}

/// An API that answers every request with `status` and `body`, whatever it is.
pub async fn answering(status: StatusCode, body: &'static str) -> Url {
    serve(Router::new().fallback(move || async move { (status, body) })).await
}

/// The header `name` must equal `expected`.
pub fn header(headers: &HeaderMap, name: &str, expected: &str) -> Result<(), Refusal> {
    let got = headers.get(name).and_then(|v| v.to_str().ok());
    if got == Some(expected) {
        Ok(())
    } else {
        Err((
            StatusCode::BAD_REQUEST,
            format!("header {name} must be {expected:?}, got {got:?}"),
        ))
    }
}

/// The credential header `name` must equal `expected`, else 401 with `body`.
pub fn credential(
    headers: &HeaderMap,
    name: &str,
    expected: &str,
    body: &str,
) -> Result<(), Refusal> {
    match headers.get(name).and_then(|v| v.to_str().ok()) {
        Some(got) if got == expected => Ok(()),
        _ => Err((StatusCode::UNAUTHORIZED, body.to_string())),
    }
}

/// The body parsed as JSON.
pub fn json_body(body: &[u8]) -> Result<Value, Refusal> {
    serde_json::from_slice(body)
        .map_err(|e| (StatusCode::BAD_REQUEST, format!("body is not JSON: {e}")))
}

/// The string at `pointer`, which must be present.
pub fn string<'a>(body: &'a Value, pointer: &str) -> Result<&'a str, Refusal> {
    body.pointer(pointer)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            (
                StatusCode::BAD_REQUEST,
                format!(
                    "{pointer} must be a non-empty string, got {:?}",
                    body.pointer(pointer)
                ),
            )
        })
}

/// The value at `pointer` must equal `expected`.
pub fn equals(body: &Value, pointer: &str, expected: Value) -> Result<(), Refusal> {
    if body.pointer(pointer) == Some(&expected) {
        Ok(())
    } else {
        Err((
            StatusCode::BAD_REQUEST,
            format!(
                "{pointer} must be {expected}, got {:?}",
                body.pointer(pointer)
            ),
        ))
    }
}

/// `url` must be an absolute http(s) URL.
pub fn absolute_url(url: &str) -> Result<(), Refusal> {
    match Url::parse(url) {
        Ok(u) if matches!(u.scheme(), "https" | "http") => Ok(()),
        _ => Err((
            StatusCode::BAD_REQUEST,
            format!("{url:?} is not an absolute URL"),
        )),
    }
}
