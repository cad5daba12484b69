//! The HTTP API: one axum router served by the local server and by the Lambda.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::Json;
use axum::Router;
use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, Request, State};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use http::{StatusCode, header};
use http_body_util::BodyExt;
use providers::AdapterError;
use serde_json::{Value, json};
use sigv4_auth::SigV4Verifier;
use tower_http::trace::{DefaultMakeSpan, DefaultOnResponse, TraceLayer};
use tracing::Level;
use unified_content::api::{ContentEnvelope, ContentQuery, ErrorBody};

use crate::ingest::{Ingest, IngestError, WebhookSummary};
use crate::outcome::{RefusalReason, WebhookOutcome};
use crate::store::StoreError;

/// The largest webhook body accepted when nothing is configured: 1 MiB.
pub const DEFAULT_BODY_LIMIT: usize = 1024 * 1024;

/// The largest body a signed GET may carry; GETs of this API have none.
const GET_BODY_LIMIT: usize = 64 * 1024;

/// The OpenAPI 3.1 document of this API, as kept in the repository.
pub const OPENAPI_JSON: &str = include_str!("../openapi.json");

/// How the router is set up.
#[derive(Clone)]
pub struct RouterOptions {
    /// The largest webhook body accepted, in bytes; larger ones get 413.
    pub body_limit: usize,
    /// When set, every GET must carry a valid SigV4 signature (service `execute-api`), as
    /// API Gateway IAM auth demands. Webhooks are never SigV4: providers cannot sign.
    pub verifier: Option<Arc<SigV4Verifier>>,
}

impl Default for RouterOptions {
    fn default() -> Self {
        RouterOptions {
            body_limit: DEFAULT_BODY_LIMIT,
            verifier: None,
        }
    }
}

#[derive(Clone)]
struct AppState {
    ingest: Ingest,
    body_limit: usize,
}

/// The API: `POST /webhooks/{provider}`, `GET /content`, `GET /content/{id}`, `GET /health`
/// and `GET /openapi.json`.
pub fn router(ingest: Ingest, options: RouterOptions) -> Router {
    let state = AppState {
        ingest,
        body_limit: options.body_limit,
    };
    let mut reads = Router::new()
        .route("/content", get(list_content))
        .route("/content/{id}", get(get_content))
        .route("/health", get(health))
        .route("/openapi.json", get(openapi));
    if let Some(verifier) = options.verifier {
        reads = reads.route_layer(from_fn_with_state(verifier, require_sigv4));
    }
    Router::new()
        .route("/webhooks/{provider}", post(webhook))
        .merge(reads)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        // One line per request: method, path and status, never headers (they carry
        // signatures and tokens).
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(DefaultMakeSpan::new().level(Level::INFO))
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        .with_state(state)
}

/// An error answer: a status and a JSON [`ErrorBody`].
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    body: ErrorBody,
}

impl ApiError {
    fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            body: ErrorBody {
                error: message.into(),
                details: BTreeMap::new(),
            },
        }
    }

    fn detail(mut self, name: &str, value: impl Into<Value>) -> ApiError {
        self.body.details.insert(name.to_string(), value.into());
        self
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            tracing::error!(status = %self.status, error = %self.body.error, "request failed");
        } else {
            tracing::info!(status = %self.status, error = %self.body.error, "request refused");
        }
        (self.status, Json(self.body)).into_response()
    }
}

impl From<IngestError> for ApiError {
    fn from(error: IngestError) -> ApiError {
        let message = error.to_string();
        match &error {
            IngestError::UnknownProvider { provider, .. } => {
                ApiError::new(StatusCode::NOT_FOUND, message).detail("provider", provider.clone())
            }
            IngestError::Signature { provider, .. } => {
                ApiError::new(StatusCode::UNAUTHORIZED, message)
                    .detail("provider", provider.clone())
            }
            IngestError::Adapter { provider, cause } => {
                let status = match cause {
                    AdapterError::Upstream { .. } => StatusCode::BAD_GATEWAY,
                    _ => StatusCode::BAD_REQUEST,
                };
                let error = ApiError::new(status, message).detail("provider", provider.clone());
                match cause {
                    AdapterError::Malformed { path, .. } => error.detail("path", path.clone()),
                    _ => error,
                }
            }
            IngestError::Invalid { provider, errors } => {
                let first = errors.first();
                ApiError::new(StatusCode::BAD_REQUEST, message)
                    .detail("provider", provider.clone())
                    .detail("item_id", first.item_id.clone())
                    .detail("path", first.field.clone())
            }
            IngestError::Store(StoreError::Busy { id, .. }) => {
                // Throttled past the SDK's retries; nothing was kept, so the provider's
                // redelivery applies it.
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, message)
                    .detail("item_id", id.clone())
                    .detail("retryable", true)
            }
            IngestError::Store(_) | IngestError::Publish(_) => {
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, message)
            }
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> ApiError {
        let status = match error {
            StoreError::BadCursor { .. } => StatusCode::BAD_REQUEST,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let error = ApiError::new(status, error.to_string());
        if status == StatusCode::BAD_REQUEST {
            error.detail("parameter", "cursor")
        } else {
            error
        }
    }
}

/// How much of a refused body is still read, and for how long, before the answer goes out:
/// closing a socket with unread bytes resets it, so a sender that writes its whole body before
/// reading would see a reset instead of the 413. Past either bound the answer goes out anyway.
const DISCARD_LIMIT: u64 = 16 * 1024 * 1024;
const DISCARD_TIME: Duration = Duration::from_secs(10);

/// Reads and drops the rest of a refused body, within [`DISCARD_LIMIT`] and [`DISCARD_TIME`].
async fn discard(mut body: Body, declared: Option<u64>) {
    if declared.is_some_and(|n| n > DISCARD_LIMIT) {
        return;
    }
    let drain = async {
        let mut seen = 0u64;
        while seen <= DISCARD_LIMIT {
            match body.frame().await {
                Some(Ok(frame)) => {
                    let len = frame.data_ref().map_or(0, |d| d.len() as u64);
                    seen = seen.saturating_add(len);
                }
                _ => break,
            }
        }
    };
    let _ = tokio::time::timeout(DISCARD_TIME, drain).await;
}

/// Reads a body up to `limit` bytes; a larger one (by `Content-Length` or by what arrives) is
/// discarded and refused with 413.
async fn read_body(
    mut body: Body,
    declared: Option<u64>,
    limit: usize,
) -> Result<Vec<u8>, ApiError> {
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "request body is over the {limit}-byte limit; raise [server] body_limit (INTEGRATION_API_BODY_LIMIT) if the provider really sends more"
            ),
        )
        .detail("limit", limit)
    };
    if declared.is_some_and(|n| n > limit as u64) {
        discard(body, declared).await;
        return Err(too_large());
    }
    let mut bytes = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                format!("could not read the request body: {e}; send it again"),
            )
        })?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        if bytes.len().saturating_add(data.len()) > limit {
            discard(body, None).await;
            return Err(too_large());
        }
        bytes.extend_from_slice(&data);
    }
    Ok(bytes)
}

fn content_length(request: &Request) -> Option<u64> {
    request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
}

/// A delivery's answer, with its [`WebhookOutcome`] in the response's extensions.
async fn webhook(
    State(state): State<AppState>,
    Path(provider): Path<String>,
    request: Request,
) -> Response {
    let (outcome, mut response) = match receive(&state, &provider, request).await {
        Ok(summary) => (
            WebhookOutcome::Accepted {
                provider,
                duplicate: summary.duplicate,
            },
            Json(summary).into_response(),
        ),
        Err((reason, error)) => (
            WebhookOutcome::Refused {
                provider: (reason != RefusalReason::UnknownProvider).then_some(provider),
                reason,
            },
            error.into_response(),
        ),
    };
    response.extensions_mut().insert(outcome);
    response
}

async fn receive(
    state: &AppState,
    provider: &str,
    request: Request,
) -> Result<WebhookSummary, (RefusalReason, ApiError)> {
    // An unknown provider is refused without keeping its body.
    let declared = content_length(&request);
    let (parts, body) = request.into_parts();
    if let Err(e) = state.ingest.adapter(provider) {
        discard(body, declared).await;
        return Err((e.refusal_reason(), e.into()));
    }
    let body = read_body(body, declared, state.body_limit)
        .await
        .map_err(|e| {
            let reason = if e.status == StatusCode::PAYLOAD_TOO_LARGE {
                RefusalReason::TooLarge
            } else {
                RefusalReason::UnreadableBody
            };
            (reason, e)
        })?;
    state
        .ingest
        .handle(provider, &parts.headers, &body, chrono::Utc::now())
        .await
        .map_err(|e| (e.refusal_reason(), e.into()))
}

async fn list_content(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let pairs: Vec<(String, String)> =
        url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
    let query = ContentQuery::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .map_err(|e| {
            ApiError::new(StatusCode::BAD_REQUEST, e.to_string()).detail("parameter", e.name)
        })?;
    let page = state.ingest.store().list(&query).await?;
    Ok(Json(page).into_response())
}

async fn get_content(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let Path(id) = id.map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("the id in the path cannot be read: {e}; percent-encode it as UTF-8"),
        )
    })?;
    let include_deleted = url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .any(|(k, v)| k == "include_deleted" && (v == "true" || v == "1"));
    match state.ingest.store().get(&id).await? {
        Some(item) if include_deleted || !item.is_deleted() => {
            Ok(Json(ContentEnvelope { content: item }).into_response())
        }
        Some(_) => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("content '{id}' was deleted; add ?include_deleted=true to read its tombstone"),
        )
        .detail("id", id)),
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("no content with id '{id}'; list the ids with GET /content"),
        )
        .detail("id", id)),
    }
}

async fn health(State(state): State<AppState>) -> Json<Value> {
    let providers: Vec<&str> = state
        .ingest
        .registry()
        .adapters()
        .map(|a| a.name())
        .collect();
    Json(json!({
        "status": "healthy",
        "service": "integration-api",
        "version": env!("CARGO_PKG_VERSION"),
        "providers": providers,
    }))
}

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI_JSON).into_response()
}

async fn not_found(request: Request) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        format!(
            "no route for {} {}; see GET /openapi.json for the API",
            request.method(),
            request.uri().path()
        ),
    )
}

async fn method_not_allowed(request: Request) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        format!(
            "{} is not allowed on {}; see GET /openapi.json for the API",
            request.method(),
            request.uri().path()
        ),
    )
}

/// Refuses GETs without a valid SigV4 signature, answering as API Gateway does (403 with
/// a `message`), plus this API's `error`.
async fn require_sigv4(
    State(verifier): State<Arc<SigV4Verifier>>,
    request: Request,
    next: Next,
) -> Response {
    let declared = content_length(&request);
    let (parts, body) = request.into_parts();
    let body = match read_body(body, declared, GET_BODY_LIMIT).await {
        Ok(body) => body,
        Err(e) => return e.into_response(),
    };
    match verifier.verify_parts(&parts, &body, SystemTime::now()) {
        Ok(verified) => {
            tracing::debug!(access_key_id = %verified.access_key_id, "SigV4 signature verified");
            next.run(Request::from_parts(parts, Body::from(body))).await
        }
        Err(e) => {
            let message = e.to_string();
            ApiError::new(e.status(), message.clone())
                .detail("message", message)
                .into_response()
        }
    }
}
