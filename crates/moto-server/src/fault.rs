//! A loopback HTTP proxy in front of moto that answers chosen DynamoDB requests with the errors
//! DynamoDB sends under load, which moto never does.
//!
//! [`FaultProxy::start`] listens on 127.0.0.1 and forwards every request to the upstream (a
//! [`MotoServer`](crate::MotoServer)), except that after [`FaultProxy::fail_next`] the next N
//! requests of one operation (its `X-Amz-Target`, such as `TransactWriteItems`) get a
//! [`Fault`] instead: a 400 with DynamoDB's JSON error body. Clients point at
//! [`FaultProxy::endpoint_url`] (or use [`FaultProxy::sdk_config`]) and see real-shaped
//! throttling without any change to the code under test.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aws_config::SdkConfig;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::response::Response;
use http::{HeaderMap, HeaderValue, StatusCode};

use crate::MotoError;

/// The prefix of DynamoDB's `X-Amz-Target` header; the operation follows it.
const TARGET_PREFIX: &str = "DynamoDB_20120810.";

/// An error DynamoDB answers under load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// `ProvisionedThroughputExceededException` (400): the table's or an index's throughput
    /// was exceeded. The SDK's standard retry mode classifies it as throttling.
    ProvisionedThroughputExceeded,
    /// `TransactionCanceledException` (400) whose one cancellation reason is
    /// `TransactionConflict`: another transaction held an item of this one.
    TransactionConflict,
}

impl Fault {
    /// The error code, as in the body's `__type` after the `#`.
    pub fn code(self) -> &'static str {
        match self {
            Fault::ProvisionedThroughputExceeded => "ProvisionedThroughputExceededException",
            Fault::TransactionConflict => "TransactionCanceledException",
        }
    }

    /// The JSON body DynamoDB sends with this error.
    fn body(self) -> String {
        let kind = format!("com.amazonaws.dynamodb.v20120810#{}", self.code());
        let body = match self {
            Fault::ProvisionedThroughputExceeded => serde_json::json!({
                "__type": kind,
                "message": "The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API."
            }),
            Fault::TransactionConflict => serde_json::json!({
                "__type": kind,
                "CancellationReasons": [
                    {"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"}
                ],
                "Message": "Transaction cancelled, please refer cancellation reasons for specific reasons [TransactionConflict]"
            }),
        };
        body.to_string()
    }
}

#[derive(Debug, Default)]
struct Plan {
    /// Faults still to answer, by operation.
    pending: HashMap<String, (u32, Fault)>,
    /// Faults answered, by operation.
    injected: HashMap<String, u32>,
    /// Requests forwarded, by operation.
    forwarded: HashMap<String, u32>,
}

#[derive(Clone)]
struct Shared {
    plan: Arc<Mutex<Plan>>,
    upstream: String,
    http: reqwest::Client,
}

/// The proxy; dropping it stops it.
#[derive(Debug)]
pub struct FaultProxy {
    endpoint: String,
    plan: Arc<Mutex<Plan>>,
    // Dropped to stop the server.
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl FaultProxy {
    /// Starts a proxy to `upstream` (`http://127.0.0.1:<port>`) on a port the OS picks, served
    /// by a runtime of its own so that it works under any test runtime.
    pub fn start(upstream: &str) -> Result<FaultProxy, MotoError> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.set_nonblocking(true).map(|()| l))
            .map_err(|source| MotoError::Request {
                endpoint: "127.0.0.1:0".into(),
                path: "(fault proxy bind)".into(),
                source,
            })?;
        let port = listener.local_addr().expect("bound").port();
        let plan = Arc::new(Mutex::new(Plan::default()));
        let shared = Shared {
            plan: plan.clone(),
            upstream: upstream.trim_end_matches('/').to_string(),
            http: reqwest::Client::new(),
        };
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime for the fault proxy");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                let app = axum::Router::new().fallback(proxy).with_state(shared);
                let _ = axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = stopped.await;
                    })
                    .await;
            });
        });
        Ok(FaultProxy {
            endpoint: format!("http://127.0.0.1:{port}"),
            plan,
            _stop: stop,
        })
    }

    /// The proxy's endpoint URL, `http://127.0.0.1:<port>`.
    pub fn endpoint_url(&self) -> &str {
        &self.endpoint
    }

    /// Configuration for any aws-sdk-rust client that goes through this proxy.
    pub async fn sdk_config(&self) -> SdkConfig {
        crate::sdk_config(&self.endpoint).await
    }

    /// Answers the next `count` requests of `operation` (`TransactWriteItems`, `Query`, ...)
    /// with `fault`, replacing what was still planned for it.
    pub fn fail_next(&self, operation: &str, count: u32, fault: Fault) {
        let mut plan = self.plan.lock().unwrap_or_else(|p| p.into_inner());
        plan.pending.insert(operation.to_string(), (count, fault));
    }

    /// How many requests of `operation` got a fault so far.
    pub fn injected(&self, operation: &str) -> u32 {
        let plan = self.plan.lock().unwrap_or_else(|p| p.into_inner());
        plan.injected.get(operation).copied().unwrap_or(0)
    }

    /// How many requests of `operation` were forwarded to the upstream so far.
    pub fn forwarded(&self, operation: &str) -> u32 {
        let plan = self.plan.lock().unwrap_or_else(|p| p.into_inner());
        plan.forwarded.get(operation).copied().unwrap_or(0)
    }
}

/// The operation a request names in `X-Amz-Target`, if it is DynamoDB's.
fn operation(headers: &HeaderMap) -> Option<String> {
    let target = headers.get("x-amz-target")?.to_str().ok()?;
    Some(target.strip_prefix(TARGET_PREFIX)?.to_string())
}

async fn proxy(State(shared): State<Shared>, request: Request) -> Response {
    let operation = operation(request.headers());
    let fault = operation.as_ref().and_then(|op| {
        let mut plan = shared.plan.lock().unwrap_or_else(|p| p.into_inner());
        let fault = match plan.pending.get_mut(op) {
            Some((left, fault)) if *left > 0 => {
                *left -= 1;
                Some(*fault)
            }
            _ => None,
        };
        let counter = if fault.is_some() {
            &mut plan.injected
        } else {
            &mut plan.forwarded
        };
        *counter.entry(op.clone()).or_default() += 1;
        fault
    });
    if let Some(fault) = fault {
        return Response::builder()
            .status(StatusCode::BAD_REQUEST)
            .header("content-type", "application/x-amz-json-1.0")
            .header("x-amzn-requestid", uuid_like())
            .body(Body::from(fault.body()))
            .expect("a valid response");
    }
    match forward(&shared, request).await {
        Ok(response) => response,
        Err(error) => Response::builder()
            .status(StatusCode::BAD_GATEWAY)
            .body(Body::from(format!("fault proxy: upstream failed: {error}")))
            .expect("a valid response"),
    }
}

async fn forward(shared: &Shared, request: Request) -> Result<Response, reqwest::Error> {
    let (parts, body) = request.into_parts();
    let body: Bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let path = parts
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_string();
    let mut headers = parts.headers;
    headers.remove(http::header::HOST);
    let upstream = shared
        .http
        .request(parts.method, format!("{}{path}", shared.upstream))
        .headers(headers)
        .body(body)
        .send()
        .await?;
    let status = upstream.status();
    let mut headers = upstream.headers().clone();
    for hop in [
        http::header::CONNECTION,
        http::header::TRANSFER_ENCODING,
        http::header::CONTENT_LENGTH,
    ] {
        headers.remove(hop);
    }
    let bytes = upstream.bytes().await?;
    let mut response = Response::new(Body::from(bytes));
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    Ok(response)
}

/// A request id of DynamoDB's shape; unique enough for logs.
fn uuid_like() -> HeaderValue {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    HeaderValue::from_str(&format!("FAULTPROXY{n:026}")).expect("ascii")
}
