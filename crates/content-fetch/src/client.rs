//! The signed HTTP client of the content API: one request, its retries, and page parsing.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::{StatusCode, Url};
use serde_json::value::RawValue;
use unified_content::api::{ContentEnvelope, ContentPage, ContentQuery, ErrorBody, MAX_PAGE_BYTES};

use crate::aws::{AwsAccess, sign_get};
use crate::error::FetchError;
use error_line::error_line;

/// Everything but the unreserved characters of RFC 3986 is encoded, in query values and in
/// the id path segment alike: `+`, `/`, `:`, `#`, `?`, spaces and non-ASCII included.
const STRICT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// A body larger than this is refused even when compressed: twice the API's page cap.
const MAX_BODY_BYTES: usize = 2 * MAX_PAGE_BYTES;

/// The URL of one page of `GET /content`, every query value percent-encoded.
pub fn content_url(endpoint: &Url, query: &ContentQuery) -> Url {
    let mut text = format!("{}/content", endpoint.as_str().trim_end_matches('/'));
    for (i, (name, value)) in query.to_pairs().iter().enumerate() {
        text.push(if i == 0 { '?' } else { '&' });
        text.push_str(name);
        text.push('=');
        text.extend(utf8_percent_encode(value, STRICT));
    }
    Url::parse(&text).expect("an endpoint URL with an encoded path and query stays a URL")
}

/// The URL of `GET /content/{id}`, the id encoded as one path segment.
pub fn item_url(endpoint: &Url, id: &str) -> Url {
    let text = format!(
        "{}/content/{}",
        endpoint.as_str().trim_end_matches('/'),
        utf8_percent_encode(id, STRICT)
    );
    Url::parse(&text).expect("an endpoint URL with an encoded path stays a URL")
}

/// How failed requests are retried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts per request, the first included.
    pub max_attempts: u32,
    /// The first backoff; each retry doubles it, with jitter.
    pub base_delay: Duration,
    /// The longest backoff, and the longest Retry-After honoured.
    pub max_delay: Duration,
    /// The whole run must finish within this time: requests, retries and waits included. A
    /// request still in flight at the deadline is cut.
    pub deadline: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(20),
            deadline: Duration::from_secs(300),
        }
    }
}

impl RetryPolicy {
    /// The wait before retry number `retry` (1-based): exponential with "equal jitter", so a
    /// crowd of builds does not retry in step.
    fn backoff(&self, retry: u32) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(1u32 << retry.saturating_sub(1).min(16))
            .min(self.max_delay);
        let half = exp / 2;
        half + half.mul_f64(fastrand::f64())
    }
}

/// Network settings of the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientOptions {
    /// One request's time limit, body included.
    pub timeout: Duration,
    /// The time limit to open a connection.
    pub connect_timeout: Duration,
    /// Retries of failed requests.
    pub retry: RetryPolicy,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            retry: RetryPolicy::default(),
        }
    }
}

/// Counters of a run, shared by concurrent requests.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    pub(crate) requests: AtomicU64,
    /// Pages received and accepted.
    pub(crate) pages: AtomicU64,
    pub(crate) retries: AtomicU64,
    pub(crate) bytes: AtomicU64,
}

/// One page as received, items still raw so that each can be checked on its own.
#[derive(Debug)]
pub(crate) struct RawPage {
    pub(crate) url: Url,
    pub(crate) items: Vec<Box<RawValue>>,
    pub(crate) next_cursor: Option<String>,
}

/// A failure worth another attempt.
struct Transient {
    cause: String,
    retry_after: Option<Duration>,
    /// Set for malformed bodies: where reading failed, if the fault has a place.
    malformed: Option<Option<usize>>,
}

enum Attempt<T> {
    Done(T),
    NotFound,
    Retry(Transient),
}

/// A SigV4-signing client of one content API, with keep-alive, gzip and retries.
#[derive(Debug)]
pub struct ContentClient {
    http: reqwest::Client,
    endpoint: Url,
    access: AwsAccess,
    options: ClientOptions,
    started: Instant,
    pub(crate) stats: Arc<Stats>,
}

impl ContentClient {
    /// A client of the API at `endpoint`. The run's deadline starts now.
    pub fn new(
        endpoint: Url,
        access: AwsAccess,
        options: ClientOptions,
    ) -> Result<ContentClient, FetchError> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("content-fetch/", env!("CARGO_PKG_VERSION")))
            .timeout(options.timeout)
            .connect_timeout(options.connect_timeout)
            .pool_idle_timeout(Duration::from_secs(60))
            .tcp_keepalive(Duration::from_secs(30))
            .gzip(true)
            .build()
            .map_err(|e| FetchError::BadEndpoint {
                url: endpoint.to_string(),
                source_name: "HTTP client".into(),
                reason: error_line(&e),
            })?;
        Ok(ContentClient {
            http,
            endpoint,
            access,
            options,
            started: Instant::now(),
            stats: Arc::default(),
        })
    }

    /// The API's base URL.
    pub fn endpoint(&self) -> &Url {
        &self.endpoint
    }

    /// One page of `GET /content`. A page that `check` refuses (a cursor loop, say) is
    /// malformed like one that does not parse: retried, then reported.
    pub(crate) async fn page(
        &self,
        query: &ContentQuery,
        check: impl Fn(&ContentPage<Box<RawValue>>) -> Result<(), String>,
    ) -> Result<RawPage, FetchError> {
        let url = content_url(&self.endpoint, query);
        let page = self
            .request(&url, |body| {
                let page = serde_json::from_slice::<ContentPage<Box<RawValue>>>(body).map_err(|e| {
                    (
                        Some(json_error_offset(body, &e)),
                        format!("not a content page ({e}); expected {{\"items\": [...], \"count\": n, \"next_cursor\": ...}}"),
                    )
                })?;
                if page.count != page.items.len() {
                    return Err((
                        None,
                        format!(
                            "the page says count {} but holds {} items; a short page would silently lose items",
                            page.count,
                            page.items.len()
                        ),
                    ));
                }
                check(&page).map_err(|reason| (None, reason))?;
                Ok(page)
            })
            .await?
            .ok_or_else(|| FetchError::Rejected {
                url: url.to_string(),
                status: 404,
                message: "no /content route here: check that the endpoint includes the API stage, like https://.../prod".into(),
            })?;
        self.stats.pages.fetch_add(1, Ordering::Relaxed);
        Ok(RawPage {
            url,
            items: page.items,
            next_cursor: page.next_cursor,
        })
    }

    /// `GET /content/{id}`: the raw item, or `None` on 404.
    pub(crate) async fn item(&self, id: &str) -> Result<Option<(Url, Box<RawValue>)>, FetchError> {
        // URL parsers and SigV4 path normalization resolve these segments, even encoded
        // (`%2E`), so no request can name them.
        if id == "." || id == ".." {
            return Err(FetchError::Usage(format!(
                "the id '{id}' cannot be put in a URL path; list it with `snapshot pull` instead"
            )));
        }
        let url = item_url(&self.endpoint, id);
        let envelope = self
            .request(&url, |body| {
                serde_json::from_slice::<ContentEnvelope<Box<RawValue>>>(body).map_err(|e| {
                    (
                        Some(json_error_offset(body, &e)),
                        format!("not a content envelope ({e}); expected {{\"content\": {{...}}}}"),
                    )
                })
            })
            .await?;
        Ok(envelope.map(|e| (url, e.content)))
    }

    /// GETs `url` with retries until `parse` accepts the body; `None` on 404. Every attempt
    /// and wait fits in what is left of the run's deadline: an attempt still running at the
    /// deadline is cut.
    async fn request<T>(
        &self,
        url: &Url,
        parse: impl Fn(&[u8]) -> Result<T, (Option<usize>, String)>,
    ) -> Result<Option<T>, FetchError> {
        let policy = &self.options.retry;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let left = policy.deadline.saturating_sub(self.started.elapsed());
            let outcome = tokio::time::timeout(left, self.attempt(url, &parse))
                .await
                .map_err(|_| self.past_deadline(url, "a request was still in flight".into()))?;
            let transient = match outcome? {
                Attempt::Done(value) => return Ok(Some(value)),
                Attempt::NotFound => return Ok(None),
                Attempt::Retry(t) => t,
            };
            let delay = transient
                .retry_after
                .map(|d| d.min(policy.max_delay))
                .unwrap_or_else(|| policy.backoff(attempt));
            if attempt < policy.max_attempts && self.started.elapsed() + delay > policy.deadline {
                return Err(self.past_deadline(
                    url,
                    format!(
                        "the retry after attempt {attempt} would pass it; the last failure: {}",
                        transient.cause
                    ),
                ));
            }
            if attempt >= policy.max_attempts {
                let cause = transient.cause;
                return Err(match transient.malformed {
                    Some(offset) => FetchError::MalformedPage {
                        url: url.to_string(),
                        offset,
                        attempts: attempt,
                        reason: cause,
                    },
                    None => FetchError::Network {
                        url: url.to_string(),
                        attempts: attempt,
                        cause,
                    },
                });
            }
            tracing::warn!(%url, attempt, delay_ms = delay.as_millis() as u64, cause = %transient.cause, "retrying");
            self.stats.retries.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(delay).await;
        }
    }

    /// The run's deadline passed while fetching `url`.
    fn past_deadline(&self, url: &Url, cause: String) -> FetchError {
        FetchError::Deadline {
            url: url.to_string(),
            deadline: self.options.retry.deadline,
            pages: self.stats.pages.load(Ordering::Relaxed),
            cause,
        }
    }

    async fn attempt<T>(
        &self,
        url: &Url,
        parse: &impl Fn(&[u8]) -> Result<T, (Option<usize>, String)>,
    ) -> Result<Attempt<T>, FetchError> {
        let credentials = self.access.current().await?;
        let headers = sign_get(url, &self.access.region, &credentials, SystemTime::now())?;
        let mut request = self.http.get(url.clone());
        for (name, value) in &headers {
            request = request.header(name, value);
        }
        self.stats.requests.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(%url, "GET");
        let response = match request.send().await {
            Ok(r) => r,
            Err(e) => return Ok(Attempt::Retry(transient(request_failure(&e)))),
        };
        let status = response.status();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        let body = match read_body(response).await {
            Ok(b) => b,
            Err(cause) => return Ok(Attempt::Retry(transient(cause))),
        };
        self.stats
            .bytes
            .fetch_add(body.len() as u64, Ordering::Relaxed);
        let message = || {
            serde_json::from_slice::<ErrorBody>(&body)
                .map(|e| e.error)
                .unwrap_or_else(|_| String::from_utf8_lossy(&body[..body.len().min(200)]).into())
        };
        match status {
            s if s.is_success() => match parse(&body) {
                Ok(value) => Ok(Attempt::Done(value)),
                Err((offset, reason)) => Ok(Attempt::Retry(Transient {
                    cause: reason,
                    retry_after: None,
                    malformed: Some(offset),
                })),
            },
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => Err(FetchError::Auth {
                url: url.to_string(),
                status: status.as_u16(),
                message: message(),
            }),
            StatusCode::NOT_FOUND => Ok(Attempt::NotFound),
            s if s == StatusCode::TOO_MANY_REQUESTS
                || s == StatusCode::REQUEST_TIMEOUT
                || s.is_server_error() =>
            {
                Ok(Attempt::Retry(Transient {
                    cause: format!("HTTP {status}: {}", message()),
                    retry_after,
                    malformed: None,
                }))
            }
            _ => Err(FetchError::Rejected {
                url: url.to_string(),
                status: status.as_u16(),
                message: message(),
            }),
        }
    }
}

fn transient(cause: String) -> Transient {
    Transient {
        cause,
        retry_after: None,
        malformed: None,
    }
}

fn request_failure(e: &reqwest::Error) -> String {
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else {
        "request failed"
    };
    // The caller's message names the URL already; reqwest's own text would repeat it.
    let mut chain = error_line(e);
    if let Some(url) = e.url() {
        chain = chain.replace(&format!(" for url ({url})"), "");
    }
    format!("{what}: {chain}")
}

/// Reads a body up to [`MAX_BODY_BYTES`]; a reset or timeout mid-body is a transient failure.
async fn read_body(mut response: reqwest::Response) -> Result<Vec<u8>, String> {
    // Sized once from the length the server announced (capped): a body grown by doubling
    // left a trail of freed blocks per page that fragmented the heap, and held up to twice
    // its size.
    let announced = response.content_length().map_or(0, |n| {
        usize::try_from(n).unwrap_or(usize::MAX).min(MAX_BODY_BYTES)
    });
    let mut body = Vec::with_capacity(announced);
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > MAX_BODY_BYTES {
                    return Err(format!(
                        "response body larger than {MAX_BODY_BYTES} bytes; the API caps pages at {MAX_PAGE_BYTES}"
                    ));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(body),
            Err(e) => {
                return Err(format!(
                    "{} after {} bytes of the body",
                    request_failure(&e),
                    body.len()
                ));
            }
        }
    }
}

/// Retry-After as delay-seconds or an HTTP date.
fn parse_retry_after(value: &str) -> Option<Duration> {
    if let Ok(secs) = value.trim().parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value.trim()).ok()?;
    let wait = at.with_timezone(&chrono::Utc) - chrono::Utc::now();
    Some(wait.to_std().unwrap_or(Duration::ZERO))
}

/// The byte offset where serde_json stopped reading.
fn json_error_offset(body: &[u8], e: &serde_json::Error) -> usize {
    if e.is_eof() {
        return body.len();
    }
    let line_start: usize = body
        .split(|b| *b == b'\n')
        .take(e.line().saturating_sub(1))
        .map(|l| l.len() + 1)
        .sum();
    (line_start + e.column().saturating_sub(1)).min(body.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use unified_content::ContentType;

    #[test]
    fn urls_encode_every_value_and_the_id_as_one_segment() {
        let endpoint = Url::parse("https://api.example.com/prod").unwrap();
        let query = ContentQuery {
            content_type: Some(ContentType::Product),
            provider: Some("a+b c".into()),
            updated_since: Some("2026-01-01T01:00:00+01:00".parse().unwrap()),
            cursor: Some("eyJ+/=".into()),
            ..Default::default()
        };
        assert_eq!(
            content_url(&endpoint, &query).as_str(),
            "https://api.example.com/prod/content?content_type=product&provider=a%2Bb%20c&updated_since=2026-01-01T00%3A00%3A00Z&cursor=eyJ%2B%2F%3D"
        );
        assert_eq!(
            item_url(&endpoint, "gid://shopify/Product/1?x#y z é").as_str(),
            "https://api.example.com/prod/content/gid%3A%2F%2Fshopify%2FProduct%2F1%3Fx%23y%20z%20%C3%A9"
        );
    }

    #[test]
    fn retry_after_and_backoff() {
        assert_eq!(parse_retry_after("3"), Some(Duration::from_secs(3)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon"), None);
        let policy = RetryPolicy {
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(300),
            ..Default::default()
        };
        for _ in 0..50 {
            let first = policy.backoff(1);
            assert!((Duration::from_millis(50)..=Duration::from_millis(100)).contains(&first));
            let capped = policy.backoff(10);
            assert!((Duration::from_millis(150)..=Duration::from_millis(300)).contains(&capped));
        }
    }

    #[test]
    fn json_offsets_point_at_the_fault() {
        let body = b"{\"items\": [1,\n oops]}";
        let e = serde_json::from_slice::<serde_json::Value>(body).unwrap_err();
        assert_eq!(json_error_offset(body, &e), 15);
        let truncated = b"{\"items\": [";
        let e = serde_json::from_slice::<serde_json::Value>(truncated).unwrap_err();
        assert_eq!(json_error_offset(truncated, &e), truncated.len());
    }
}
