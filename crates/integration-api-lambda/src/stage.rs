//! Serving the router from API Gateway through lambda_http: every stage reaches the same routes.

use axum::Router;
use http::Uri;
use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};
use tower::ServiceBuilder;
use tower::util::MapRequestLayer;

/// The router as a lambda_http service: requests of every API Gateway stage reach the same
/// routes.
pub fn service(router: Router) -> tower::util::MapRequest<Router, fn(Request) -> Request> {
    ServiceBuilder::new()
        .layer(MapRequestLayer::new(
            without_stage as fn(Request) -> Request,
        ))
        .service(router)
}

/// The request with the API Gateway stage taken off its path: lambda_http puts `/{stage}`
/// in front of REST API paths (unless `AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH` is set), and
/// the routes have none.
pub fn without_stage(mut request: Request) -> Request {
    let stage = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV1(context)) => context.stage.clone(),
        Some(RequestContext::ApiGatewayV2(context)) => context.stage.clone(),
        _ => None,
    };
    let Some(stage) = stage.filter(|s| s != "$default" && !s.is_empty()) else {
        return request;
    };
    let uri = request.uri();
    let Some(rest) = uri
        .path()
        .strip_prefix(&format!("/{stage}"))
        .filter(|rest| rest.starts_with('/'))
    else {
        return request;
    };
    let path_and_query = match uri.query() {
        Some(query) => format!("{rest}?{query}"),
        None => rest.to_string(),
    };
    let mut parts = uri.clone().into_parts();
    if let Ok(pq) = path_and_query.parse() {
        parts.path_and_query = Some(pq);
        if let Ok(uri) = Uri::from_parts(parts) {
            *request.uri_mut() = uri;
        }
    }
    request
}
