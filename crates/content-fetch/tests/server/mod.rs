//! A loopback content API for tests: it verifies SigV4 for real with `sigv4-auth`, serves
//! `GET /content` with cursor pagination and `GET /content/{id}`, records every request, and
//! plays scripted faults (status codes, delays, resets, truncated or malformed pages).
//!
//! Shared by the library tests and the CLI tests (`#[path]`-included), so not every helper
//! is used by each.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use sigv4_auth::SigV4Verifier;
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};
use unified_content::api::ContentQuery;

pub const REGION: &str = "us-east-1";
pub const ACCESS_KEY: &str = "AKIDLOOPBACKTEST";
pub const SECRET_KEY: &str = "loopback/secret+key";

/// A scripted misbehaviour, played on the next API request.
#[derive(Debug, Clone)]
pub enum Fault {
    /// Answer with this status, an error body and maybe a Retry-After.
    Status(u16, Option<&'static str>),
    /// Wait this long before answering normally.
    Delay(Duration),
    /// Send the page cut in half.
    Truncated,
    /// Send text that is not JSON.
    BadJson,
    /// Send JSON of the wrong shape.
    WrongShape,
}

/// One request as received.
#[derive(Debug, Clone)]
pub struct Received {
    pub path_and_query: String,
    pub authorization: Option<String>,
    pub security_token: Option<String>,
    pub accept_encoding: Option<String>,
    /// `Ok(access key)` when the signature verified, else the refusal.
    pub verified: Result<String, String>,
}

/// Writes the body of `GET /content` for a cursor (`None` for the first page) in place of
/// the catalog's pages: lying counts, cursor loops, endless empty pages.
pub type PageScript = Box<dyn Fn(Option<&str>) -> Value + Send + Sync>;

pub struct ServerState {
    pub items: Mutex<Vec<Value>>,
    pub page_size: usize,
    pub script: Mutex<Option<PageScript>>,
    /// How long every `GET /content` waits before answering.
    pub page_delay: Mutex<Duration>,
    pub verifier: SigV4Verifier,
    pub faults: Mutex<VecDeque<Fault>>,
    pub received: Mutex<Vec<Received>>,
}

pub struct TestServer {
    pub addr: SocketAddr,
    pub state: Arc<ServerState>,
    pub resets: Arc<AtomicUsize>,
}

impl TestServer {
    /// Serves `items` in pages of `page_size`, accepting [`ACCESS_KEY`] (with `token` when given).
    pub async fn start(items: Vec<Value>, page_size: usize, token: Option<&str>) -> TestServer {
        let verifier = SigV4Verifier::new(REGION, "execute-api").with_key(
            ACCESS_KEY,
            SECRET_KEY,
            token.map(str::to_string),
        );
        let state = Arc::new(ServerState {
            items: Mutex::new(items),
            page_size,
            script: Mutex::new(None),
            page_delay: Mutex::new(Duration::ZERO),
            verifier,
            faults: Mutex::new(VecDeque::new()),
            received: Mutex::new(Vec::new()),
        });
        let app = Router::new()
            .route("/prod/content", get(list))
            .route("/prod/content/{id}", get(one))
            .with_state(Arc::clone(&state))
            // Pages go out gzipped whenever the client asks, as API Gateway can send them.
            .layer(tower_http::compression::CompressionLayer::new());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let resets = Arc::new(AtomicUsize::new(0));
        let listener = ResettingListener {
            inner: listener,
            resets: Arc::clone(&resets),
        };
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        TestServer {
            addr,
            state,
            resets,
        }
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}/prod", self.addr)
    }

    /// Serves `GET /content` from `script` instead of the catalog.
    pub fn script(&self, script: impl Fn(Option<&str>) -> Value + Send + Sync + 'static) {
        *self.state.script.lock().unwrap() = Some(Box::new(script));
    }

    /// Makes every `GET /content` wait `delay` before answering.
    pub fn slow_pages(&self, delay: Duration) {
        *self.state.page_delay.lock().unwrap() = delay;
    }

    pub fn fault(&self, fault: Fault) {
        self.state.faults.lock().unwrap().push_back(fault);
    }

    /// Drops the next `n` connections right after reading their request (a reset).
    pub fn reset_next_connections(&self, n: usize) {
        self.resets.store(n, Ordering::SeqCst);
    }

    pub fn received(&self) -> Vec<Received> {
        self.state.received.lock().unwrap().clone()
    }

    /// Asserts the server was hit and every request carried a valid signature.
    pub fn assert_all_verified(&self) {
        let received = self.received();
        assert!(!received.is_empty(), "the test server was never hit");
        for r in &received {
            assert_eq!(
                r.verified.as_deref(),
                Ok(ACCESS_KEY),
                "request {} was not verified",
                r.path_and_query
            );
        }
    }
}

/// Accepts connections, dropping some with a reset to play connection failures.
struct ResettingListener {
    inner: TcpListener,
    resets: Arc<AtomicUsize>,
}

impl axum::serve::Listener for ResettingListener {
    type Io = TcpStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (TcpStream, SocketAddr) {
        loop {
            let Ok((mut stream, addr)) = self.inner.accept().await else {
                continue;
            };
            let reset = self
                .resets
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok();
            if !reset {
                return (stream, addr);
            }
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = stream.read(&mut buf).await;
                let _ = stream.set_zero_linger();
                drop(stream);
            });
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(json!({ "error": message }))).into_response()
}

/// Verifies and records the request; `Some` is the refusal to send instead.
fn check(state: &ServerState, request: &Request) -> Option<Response> {
    let (parts, ()) = {
        let mut builder = axum::http::Request::builder()
            .method(request.method())
            .uri(request.uri());
        for (k, v) in request.headers() {
            builder = builder.header(k, v);
        }
        builder.body(()).unwrap().into_parts()
    };
    let verified = state
        .verifier
        .verify_parts(&parts, b"", SystemTime::now())
        .map(|v| v.access_key_id)
        .map_err(|e| e.to_string());
    let header = |name: &str| {
        parts
            .headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
    };
    state.received.lock().unwrap().push(Received {
        path_and_query: parts.uri.path_and_query().unwrap().to_string(),
        authorization: header("authorization"),
        security_token: header("x-amz-security-token"),
        accept_encoding: header("accept-encoding"),
        verified: verified.clone(),
    });
    verified
        .err()
        .map(|message| error(StatusCode::FORBIDDEN, &message))
}

async fn play_fault(state: &ServerState, body: String) -> Response {
    let fault = state.faults.lock().unwrap().pop_front();
    match fault {
        None => json_response(body),
        Some(Fault::Delay(d)) => {
            tokio::time::sleep(d).await;
            json_response(body)
        }
        Some(Fault::Status(code, retry_after)) => {
            let mut r = error(StatusCode::from_u16(code).unwrap(), "scripted failure");
            if let Some(v) = retry_after {
                r.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static(v));
            }
            r
        }
        Some(Fault::Truncated) => json_response(body[..body.len() / 2].to_string()),
        Some(Fault::BadJson) => json_response("<html>gateway hiccup</html>".to_string()),
        Some(Fault::WrongShape) => json_response(r#"{"items": 5, "count": "x"}"#.to_string()),
    }
}

fn json_response(body: String) -> Response {
    Response::builder()
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body))
        .unwrap()
}

async fn list(State(state): State<Arc<ServerState>>, request: Request) -> Response {
    if let Some(refused) = check(&state, &request) {
        return refused;
    }
    let raw = request.uri().query().unwrap_or("");
    let pairs: Vec<(String, String)> = url_pairs(raw);
    let query = match ContentQuery::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    {
        Ok(q) => q,
        Err(e) => return error(StatusCode::BAD_REQUEST, &e.to_string()),
    };
    let delay = *state.page_delay.lock().unwrap();
    tokio::time::sleep(delay).await;
    let scripted = state
        .script
        .lock()
        .unwrap()
        .as_ref()
        .map(|script| script(query.cursor.as_deref()));
    if let Some(body) = scripted {
        return play_fault(&state, body.to_string()).await;
    }
    let statuses: Vec<&str> = query
        .effective_statuses()
        .iter()
        .map(|s| s.as_str())
        .collect();
    let mut matching: Vec<Value> = state
        .items
        .lock()
        .unwrap()
        .iter()
        .filter(|i| {
            query
                .content_type
                .is_none_or(|t| i["content_type"] == t.as_str())
                && statuses.contains(&i["status"].as_str().unwrap_or("published"))
                && query
                    .provider
                    .as_ref()
                    .is_none_or(|p| i["provider_name"] == **p)
                && [
                    ("updated_at", query.updated_since),
                    ("synced_at", query.synced_since),
                ]
                .into_iter()
                .all(|(field, since)| {
                    since.is_none_or(|t| {
                        i[field]
                            .as_str()
                            .and_then(|u| chrono::DateTime::parse_from_rfc3339(u).ok())
                            .is_some_and(|u| u >= t)
                    })
                })
        })
        .cloned()
        .collect();
    matching.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
    let size = query.limit.map_or(state.page_size, |l| l as usize);
    let offset: usize = query
        .cursor
        .as_deref()
        .and_then(|c| c.strip_prefix("after+"))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let page: Vec<Value> = matching.iter().skip(offset).take(size).cloned().collect();
    let next = (offset + size < matching.len()).then(|| format!("after+{}", offset + size));
    let body = json!({ "items": page, "count": page.len(), "next_cursor": next }).to_string();
    play_fault(&state, body).await
}

async fn one(
    State(state): State<Arc<ServerState>>,
    Path(id): Path<String>,
    request: Request,
) -> Response {
    if let Some(refused) = check(&state, &request) {
        return refused;
    }
    let found = state
        .items
        .lock()
        .unwrap()
        .iter()
        .find(|i| i["id"] == *id)
        .cloned();
    match found {
        Some(item) => play_fault(&state, json!({ "content": item }).to_string()).await,
        None => error(StatusCode::NOT_FOUND, &format!("no content with id '{id}'")),
    }
}

/// Decodes a query string as a server does (`+` stays a plus only when encoded as %2B).
fn url_pairs(raw: &str) -> Vec<(String, String)> {
    raw.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            let decode = |s: &str| {
                percent_encoding::percent_decode_str(&s.replace('+', " "))
                    .decode_utf8()
                    .unwrap()
                    .into_owned()
            };
            (decode(k), decode(v))
        })
        .collect()
}

/// A valid item of `content_type` with `id`.
pub fn item(id: &str, content_type: &str, status: &str) -> Value {
    let slug: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    json!({
        "id": id,
        "title": format!("Title of {id}"),
        "slug": format!("s-{}", slug.trim_matches('-')),
        "content_type": content_type,
        "status": status,
        "provider_type": if content_type == "product" { "ecommerce" } else { "cms" },
        "provider_name": if content_type == "product" { "shopify" } else { "sanity" },
        "price": if content_type == "product" { json!({"amount": "29.99", "currency_code": "EUR"}) } else { Value::Null },
        "created_at": "2026-01-01T00:00:00Z",
        "updated_at": "2026-01-02T00:00:00Z",
        "synced_at": "2026-01-03T00:00:00Z",
        "future_field": {"ignored": true}
    })
}

/// A catalog: 7 articles, 4 products, 2 pages, 1 draft article.
pub fn catalog() -> Vec<Value> {
    let mut items = Vec::new();
    for i in 0..7 {
        items.push(item(&format!("article-{i}"), "article", "published"));
    }
    for i in 0..4 {
        items.push(item(
            &format!("gid://shopify/Product/{i}"),
            "product",
            "published",
        ));
    }
    items.push(item("page-home", "page", "published"));
    items.push(item("page-about", "page", "published"));
    items.push(item("article-draft", "article", "draft"));
    items
}
