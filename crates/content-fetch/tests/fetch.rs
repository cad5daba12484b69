//! The fetcher against a loopback content API that verifies SigV4 for real.

mod server;

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant, SystemTime};

use aws_credential_types::Credentials;
use content_fetch::{
    AwsAccess, ClientOptions, ContentClient, ContentSource, ErrorKind, FetchError, FetchOptions,
    Filters, RetryPolicy, Snapshot, SnapshotWriter, SourceKind, item_url, parse_endpoint, sign_get,
};
use server::{ACCESS_KEY, Fault, REGION, SECRET_KEY, TestServer, catalog, item};
use unified_content::{ContentStatus, ContentType};

fn credentials(token: Option<&str>) -> Credentials {
    Credentials::new(
        ACCESS_KEY,
        SECRET_KEY,
        token.map(str::to_string),
        None,
        "test",
    )
}

fn options() -> ClientOptions {
    ClientOptions {
        // Generous for a loaded machine; only the scripted delay below should ever pass it.
        timeout: Duration::from_secs(2),
        connect_timeout: Duration::from_secs(2),
        retry: RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(5),
            max_delay: Duration::from_secs(2),
            deadline: Duration::from_secs(20),
        },
    }
}

fn source_with(server: &TestServer, creds: Credentials, opts: ClientOptions) -> ContentSource {
    let endpoint = parse_endpoint(&server.endpoint(), "test").unwrap();
    let client = ContentClient::new(endpoint, AwsAccess::new(REGION, creds), opts).unwrap();
    ContentSource::api(client)
}

fn source(server: &TestServer) -> ContentSource {
    source_with(server, credentials(None), options())
}

fn articles() -> FetchOptions {
    FetchOptions {
        filters: Filters {
            content_types: vec![ContentType::Article],
            ..Filters::default()
        },
        ..FetchOptions::default()
    }
}

#[tokio::test]
async fn paginates_every_type_over_signed_requests() {
    let server = TestServer::start(catalog(), 3, None).await;
    let source = source(&server);
    let mut stream = source.pages(&FetchOptions::default()).unwrap();
    let mut article_pages = Vec::new();
    while let Some(page) = stream.next_page().await {
        let page = page.unwrap();
        assert!(
            page.items
                .iter()
                .all(|i| i.content_type == page.content_type)
        );
        if page.content_type == ContentType::Article {
            article_pages.push((page.index, page.items.len(), page.last));
        }
    }
    // 7 published articles in pages of 3: three pages, delivered in order, the last marked.
    assert_eq!(
        article_pages,
        vec![(0, 3, false), (1, 3, false), (2, 1, true)]
    );
    let summary = stream.summary();
    assert_eq!(summary.total, 13);
    assert_eq!(summary.items[&ContentType::Product], 4);
    assert_eq!(summary.retries, 0);
    assert!(summary.bytes > 0);
    assert!(!summary.includes_drafts);
    server.assert_all_verified();
    let received = server.received();
    assert!(
        received
            .iter()
            .any(|r| r.path_and_query == "/prod/content?content_type=article&cursor=after%2B3"),
        "the cursor's + must travel encoded: {received:?}"
    );
    assert!(received.iter().all(|r| {
        r.accept_encoding
            .as_deref()
            .is_some_and(|e| e.contains("gzip"))
    }));
}

#[tokio::test]
async fn concurrency_across_types_is_bounded() {
    let server = TestServer::start(catalog(), 2, None).await;
    let opts = FetchOptions {
        concurrency: 1,
        ..FetchOptions::default()
    };
    let outcome = source(&server).fetch_all(&opts).await.unwrap();
    assert_eq!(outcome.items.len(), 13);
    // With one type at a time, the requests of each type arrive together, never interleaved.
    let types: Vec<String> = server
        .received()
        .iter()
        .map(|r| {
            let query = r.path_and_query.split_once('?').unwrap().1;
            query.split('&').next().unwrap().to_string()
        })
        .collect();
    let mut runs = types.clone();
    runs.dedup();
    assert_eq!(runs.len(), ContentType::ALL.len(), "{types:?}");
    assert_eq!(types.len(), 4 + 2 + 1 + 1 + 1, "{types:?}");
}

#[tokio::test]
async fn filters_travel_encoded_and_drafts_only_on_request() {
    let server = TestServer::start(catalog(), 100, None).await;
    let source = source(&server);
    let mut opts = articles();
    opts.filters.updated_since = Some("2026-01-02T01:00:00+01:00".parse().unwrap());
    opts.filters.provider = Some("sanity".into());
    let outcome = source.fetch_all(&opts).await.unwrap();
    assert_eq!(outcome.items.len(), 7);
    server.assert_all_verified();
    assert_eq!(
        server.received()[0].path_and_query,
        "/prod/content?content_type=article&provider=sanity&updated_since=2026-01-02T00%3A00%3A00Z"
    );

    opts.filters.statuses = vec![ContentStatus::Published, ContentStatus::Draft];
    let outcome = source.fetch_all(&opts).await.unwrap();
    assert_eq!(outcome.items.len(), 8);
    assert!(outcome.summary.includes_drafts);
    assert!(
        outcome
            .items
            .iter()
            .any(|i| i.id == "article-draft" && i.status == ContentStatus::Draft)
    );
}

#[tokio::test]
async fn a_tampered_or_foreign_request_is_refused_and_403_is_not_retried() {
    let server = TestServer::start(catalog(), 100, None).await;
    let endpoint = parse_endpoint(&server.endpoint(), "test").unwrap();
    let signed_for =
        reqwest::Url::parse(&format!("{}/content?content_type=article", endpoint)).unwrap();
    let sent_to =
        reqwest::Url::parse(&format!("{}/content?content_type=product", endpoint)).unwrap();
    let headers = sign_get(&signed_for, REGION, &credentials(None), SystemTime::now()).unwrap();
    // Decompression off, to see that pages really travel gzipped when asked.
    let http = reqwest::Client::builder().no_gzip().build().unwrap();
    for (url, expected) in [(&signed_for, 200), (&sent_to, 403)] {
        let mut request = http.get(url.clone()).header("accept-encoding", "gzip");
        for (k, v) in &headers {
            request = request.header(k, v);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status().as_u16(), expected, "{url}");
        if expected == 200 {
            assert_eq!(response.headers()["content-encoding"], "gzip");
        }
    }
    let received = server.received();
    assert!(received[0].verified.is_ok());
    assert!(
        received[1]
            .verified
            .as_ref()
            .is_err_and(|e| e.contains("signature mismatch")),
        "{received:?}"
    );

    let before = server.received().len();
    let wrong = Credentials::new(ACCESS_KEY, "not-the-secret", None, None, "test");
    let err = source_with(&server, wrong, options())
        .fetch_all(&articles())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Auth);
    let message = err.to_string();
    assert!(
        message.contains("403") && message.contains("region") && message.contains("clock"),
        "{message}"
    );
    assert!(!message.contains("not-the-secret"));
    assert_eq!(
        server.received().len(),
        before + 1,
        "a 403 must not be retried"
    );
}

#[tokio::test]
async fn session_tokens_are_signed_in() {
    let server = TestServer::start(catalog(), 100, Some("the-session-token")).await;
    let outcome = source_with(&server, credentials(Some("the-session-token")), options())
        .fetch_all(&articles())
        .await
        .unwrap();
    assert_eq!(outcome.items.len(), 7);
    server.assert_all_verified();
    let r = &server.received()[0];
    assert_eq!(r.security_token.as_deref(), Some("the-session-token"));
    assert!(
        r.authorization
            .as_deref()
            .unwrap()
            .contains("x-amz-security-token")
    );

    let err = source_with(&server, credentials(Some("stale-token")), options())
        .fetch_all(&articles())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Auth);
}

#[tokio::test]
async fn recovers_from_each_retryable_failure() {
    let faults = [
        Fault::Status(429, Some("1")),
        Fault::Status(500, None),
        Fault::Status(503, None),
        Fault::Delay(Duration::from_secs(5)),
        Fault::Truncated,
        Fault::BadJson,
        Fault::WrongShape,
    ];
    for fault in faults {
        let server = TestServer::start(catalog(), 3, None).await;
        server.fault(fault.clone());
        let started = Instant::now();
        let outcome = source(&server)
            .fetch_all(&articles())
            .await
            .unwrap_or_else(|e| panic!("{fault:?} was not recovered from: {e}"));
        assert_eq!(outcome.items.len(), 7, "{fault:?}");
        assert_eq!(outcome.summary.retries, 1, "{fault:?}");
        assert_eq!(
            server.received().len(),
            4,
            "{fault:?}: 3 pages plus one retry"
        );
        if let Fault::Status(429, _) = fault {
            assert!(
                started.elapsed() >= Duration::from_secs(1),
                "Retry-After: 1 not honoured"
            );
        }
    }

    let server = TestServer::start(catalog(), 3, None).await;
    server.reset_next_connections(1);
    let outcome = source(&server).fetch_all(&articles()).await.unwrap();
    assert_eq!(outcome.items.len(), 7);
    assert_eq!(outcome.summary.retries, 1, "a reset connection is retried");
}

#[tokio::test]
async fn failures_that_persist_are_reported_with_url_and_offset() {
    let server = TestServer::start(catalog(), 100, None).await;
    for _ in 0..3 {
        server.fault(Fault::Truncated);
    }
    let err = source(&server).fetch_all(&articles()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Network);
    match &err {
        FetchError::MalformedPage {
            url,
            offset,
            attempts,
            ..
        } => {
            assert!(url.ends_with("/prod/content?content_type=article"), "{url}");
            assert!(offset.is_some_and(|o| o > 0), "{offset:?}");
            assert_eq!(*attempts, 3);
        }
        other => panic!("expected a malformed page, got {other}"),
    }
    assert!(err.to_string().contains("at byte"), "{err}");

    let server = TestServer::start(catalog(), 100, None).await;
    for _ in 0..3 {
        server.fault(Fault::Status(503, None));
    }
    let err = source(&server).fetch_all(&articles()).await.unwrap_err();
    assert!(
        matches!(err, FetchError::Network { attempts: 3, .. }),
        "{err}"
    );

    // The total deadline stops retries early, whatever the attempts allow.
    let server = TestServer::start(catalog(), 100, None).await;
    for _ in 0..10 {
        server.fault(Fault::Status(429, Some("2")));
    }
    let mut opts = options();
    opts.retry.max_attempts = 10;
    opts.retry.deadline = Duration::from_secs(1);
    let err = source_with(&server, credentials(None), opts)
        .fetch_all(&articles())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("deadline"), "{err}");
    assert_eq!(server.received().len(), 1);
}

#[tokio::test]
async fn strict_fails_on_the_first_invalid_item_lenient_skips_and_counts() {
    let mut items = catalog();
    let mut bad = item("article-bad", "article", "published");
    bad["slug"] = "Not A Slug".into();
    items.push(bad);
    let mut no_title = item("article-no-title", "article", "published");
    no_title.as_object_mut().unwrap().remove("title");
    items.push(no_title);
    let server = TestServer::start(items, 100, None).await;
    let source = source(&server);

    let outcome = source.fetch_all(&articles()).await.unwrap();
    assert_eq!(outcome.items.len(), 7);
    assert_eq!(outcome.summary.invalid_skipped, 2);

    let mut strict = articles();
    strict.strict = true;
    let err = source.fetch_all(&strict).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Validation);
    match err {
        FetchError::InvalidItem { id, field, url, .. } => {
            assert_eq!((id.as_str(), field.as_str()), ("article-bad", "slug"));
            assert!(url.contains("/prod/content"), "{url}");
        }
        other => panic!("{other}"),
    }
}

const ODD_IDS: &[&str] = &[
    "gid://shopify/Product/7",
    "a:b#c?d=e&f",
    "with space and+plus",
    "ünïcødé/日本語",
    "100%",
];

#[tokio::test]
async fn odd_ids_are_fetched_as_one_path_segment() {
    let items: Vec<_> = ODD_IDS
        .iter()
        .map(|id| item(id, "page", "published"))
        .collect();
    let server = TestServer::start(items, 100, None).await;
    let source = source(&server);
    for id in ODD_IDS {
        let got = source
            .get(id)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{id} not found"));
        assert_eq!(got.id, *id);
    }
    assert!(source.get("missing/one").await.unwrap().is_none());
    server.assert_all_verified_except_none();
}

trait AllVerified {
    fn assert_all_verified_except_none(&self);
}

impl AllVerified for TestServer {
    fn assert_all_verified_except_none(&self) {
        self.assert_all_verified();
        assert_eq!(self.received().len(), ODD_IDS.len() + 1);
    }
}

#[tokio::test]
async fn a_pulled_snapshot_gives_identical_results_offline() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("content.json");
    let server = TestServer::start(catalog(), 3, None).await;
    let online = source(&server);
    let opts = FetchOptions::default();
    let fetched = online.fetch_all(&opts).await.unwrap();
    let snapshot = Snapshot::new(
        &server.endpoint(),
        &opts.filters,
        chrono::Utc::now(),
        fetched.items.clone(),
    );
    snapshot.write(&path).unwrap();
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "no temporary file left"
    );

    let offline = ContentSource::snapshot(&path).unwrap();
    let again = offline.fetch_all(&opts).await.unwrap();
    assert_eq!(again.items, fetched.items);
    assert_eq!(again.summary.items, fetched.summary.items);
    assert!(matches!(again.summary.source, SourceKind::Snapshot { .. }));
    let odd = offline
        .get("gid://shopify/Product/2")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        Some(odd),
        online.get("gid://shopify/Product/2").await.unwrap()
    );

    let read = Snapshot::read(&path).unwrap();
    assert_eq!(read, snapshot);
    assert_eq!(read.header.count, 13);
    assert!(read.header.digest.starts_with("sha256:"));
    assert!(read.diff(&snapshot).is_empty());

    // Filters apply offline as online.
    let only_articles = offline.fetch_all(&articles()).await.unwrap();
    assert_eq!(
        only_articles.items,
        online.fetch_all(&articles()).await.unwrap().items
    );

    // An edited file is refused, before any page and by a lookup.
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace("Title of page-home", "Edited")).unwrap();
    let edited = ContentSource::snapshot(&path).unwrap();
    let err = edited.get("page-home").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Snapshot);
    let err = edited.pages(&FetchOptions::default()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Snapshot);
    assert!(err.to_string().contains("page-home"), "{err}");
}

#[tokio::test]
async fn a_preview_snapshot_never_passes_for_production() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("preview.json");
    let server = TestServer::start(catalog(), 100, None).await;
    let mut preview = FetchOptions::default();
    preview.filters.statuses = vec![ContentStatus::Published, ContentStatus::Draft];
    let fetched = source(&server).fetch_all(&preview).await.unwrap();
    Snapshot::new(
        &server.endpoint(),
        &preview.filters,
        chrono::Utc::now(),
        fetched.items,
    )
    .write(&path)
    .unwrap();
    let offline = ContentSource::snapshot(&path).unwrap();
    let err = offline
        .fetch_all(&FetchOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, FetchError::DraftSnapshot { .. }), "{err}");
    assert_eq!(err.remedy(), Some(content_fetch::Setting::IncludeDrafts));
    assert_eq!(offline.fetch_all(&preview).await.unwrap().items.len(), 14);
}

#[tokio::test]
async fn the_fallback_snapshot_stands_in_when_young_enough() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("last-good.json");
    let server = TestServer::start(catalog(), 100, None).await;
    let opts = FetchOptions::default();
    let fetched = source(&server).fetch_all(&opts).await.unwrap();
    let old = chrono::Utc::now() - chrono::Duration::hours(2);
    Snapshot::new(
        &server.endpoint(),
        &opts.filters,
        old,
        fetched.items.clone(),
    )
    .write(&path)
    .unwrap();

    // Nothing listens on this port: the API is unreachable.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}/prod", closed.local_addr().unwrap());
    drop(closed);
    let client = ContentClient::new(
        parse_endpoint(&endpoint, "test").unwrap(),
        AwsAccess::new(REGION, credentials(None)),
        options(),
    )
    .unwrap();
    let err = ContentSource::api(client)
        .fetch_all(&opts)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Network);

    let too_old = ContentSource::fallback(&path, Duration::from_secs(3600), &err).unwrap_err();
    assert!(too_old.to_string().contains("maximum age"), "{too_old}");
    assert_eq!(
        too_old.remedy(),
        Some(content_fetch::Setting::FallbackMaxAge)
    );
    let fallback = ContentSource::fallback(&path, Duration::from_secs(3 * 3600), &err).unwrap();
    let outcome = fallback.fetch_all(&opts).await.unwrap();
    assert_eq!(outcome.items, fetched.items);
    assert!(matches!(
        outcome.summary.source,
        SourceKind::FallbackSnapshot { .. }
    ));
    assert_eq!(outcome.summary.warnings.len(), 1);
    assert!(outcome.summary.to_string().contains("FALLBACK"));
}

/// The python with botocore: `CONTENT_TEST_PYTHON`, else `<workspace>/.venv/bin/python`.
fn botocore_python() -> PathBuf {
    let python = std::env::var_os("CONTENT_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python")
        });
    let probe = Command::new(&python)
        .args(["-c", "import botocore"])
        .output();
    match probe {
        Ok(o) if o.status.success() => python,
        _ => panic!(
            "botocore is needed to check our signatures against an independent signer, but {} cannot import it. \
             Run `python3 -m venv .venv && .venv/bin/pip install botocore` in the workspace, or set CONTENT_TEST_PYTHON",
            python.display()
        ),
    }
}

const BOTOCORE_SIGN: &str = r#"
import sys, datetime
from unittest import mock
import botocore.auth
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
url, region, key, secret, token, stamp = sys.argv[1:7]
now = datetime.datetime.strptime(stamp, "%Y%m%dT%H%M%SZ")
creds = Credentials(key, secret, token or None)
request = AWSRequest(method="GET", url=url, headers={})
with mock.patch.object(botocore.auth, "get_current_datetime", return_value=now):
    SigV4Auth(creds, "execute-api", region).add_auth(request)
print(request.headers["Authorization"])
"#;

#[test]
fn our_signature_matches_botocore() {
    let python = botocore_python();
    let endpoint = parse_endpoint(
        "https://abc123.execute-api.eu-west-1.amazonaws.com/prod",
        "test",
    )
    .unwrap();
    let query = unified_content::api::ContentQuery {
        content_type: Some(ContentType::Product),
        provider: Some("shop+test one".into()),
        updated_since: Some("2026-03-01T10:00:00+02:00".parse().unwrap()),
        cursor: Some("eyJrIjoiYS9iIn0=".into()),
        limit: Some(250),
        ..Default::default()
    };
    let urls = [
        content_url_of(&endpoint, &query),
        item_url(&endpoint, "gid://shopify/Product/1 ü#?"),
    ];
    let time: SystemTime = chrono::DateTime::parse_from_rfc3339("2026-03-01T08:00:00Z")
        .unwrap()
        .into();
    for token in [None, Some("FwoGZXIvYXdzEJr//token+with/chars==")] {
        let creds = Credentials::new(
            "AKIDEXAMPLE",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            token.map(str::to_string),
            None,
            "test",
        );
        for url in &urls {
            let ours = sign_get(url, "eu-west-1", &creds, time).unwrap();
            let ours = &ours.iter().find(|(k, _)| k == "authorization").unwrap().1;
            let out = Command::new(&python)
                .args([
                    "-c",
                    BOTOCORE_SIGN,
                    url.as_str(),
                    "eu-west-1",
                    "AKIDEXAMPLE",
                    "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                    token.unwrap_or(""),
                    "20260301T080000Z",
                ])
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "botocore failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let theirs = String::from_utf8(out.stdout).unwrap();
            assert_eq!(ours, theirs.trim(), "{url}");
        }
    }
}

fn content_url_of(
    endpoint: &reqwest::Url,
    query: &unified_content::api::ContentQuery,
) -> reqwest::Url {
    content_fetch::content_url(endpoint, query)
}

/// Bounds a test that would otherwise run forever on a bug (an endless cursor loop).
async fn bounded<T>(what: &str, run: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(30), run)
        .await
        .unwrap_or_else(|_| panic!("{what} did not stop within 30 s"))
}

fn page_of(ids: &[&str], count: usize, next: Option<&str>) -> serde_json::Value {
    let items: Vec<_> = ids
        .iter()
        .map(|id| item(id, "article", "published"))
        .collect();
    serde_json::json!({ "items": items, "count": count, "next_cursor": next })
}

#[tokio::test]
async fn a_cursor_cycle_is_refused_as_a_loop_after_the_retries() {
    // A -> B -> A: no page repeats the cursor it was asked with, yet the run would never end.
    let server = TestServer::start(vec![], 100, None).await;
    server.script(|cursor| match cursor {
        None => page_of(&["a-0"], 1, Some("A")),
        Some("A") => page_of(&["a-1"], 1, Some("B")),
        _ => page_of(&["a-2"], 1, Some("A")),
    });
    let err = bounded("a cursor cycle", source(&server).fetch_all(&articles()))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Network);
    match &err {
        FetchError::MalformedPage {
            url,
            attempts,
            reason,
            ..
        } => {
            assert!(url.ends_with("cursor=B"), "{url}");
            assert_eq!(*attempts, 3, "retried like any malformed page");
            assert!(reason.contains("cursor 'A'"), "{reason}");
        }
        other => panic!("expected a malformed page, got {other}"),
    }
    assert_eq!(server.received().len(), 2 + 3);
}

#[tokio::test]
async fn endless_empty_pages_with_fresh_cursors_are_refused() {
    let server = TestServer::start(vec![], 100, None).await;
    server.script(|cursor| {
        let n: u64 = cursor.map_or(0, |c| c.parse().unwrap());
        page_of(&[], 0, Some(&(n + 1).to_string()))
    });
    let err = bounded(
        "endless empty pages",
        source(&server).fetch_all(&articles()),
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Network);
    assert!(
        matches!(&err, FetchError::MalformedPage { attempts: 3, reason, .. } if reason.contains("empty pages in a row")),
        "{err}"
    );
    let requests = server.received().len();
    assert!(requests <= 100, "{requests} requests");

    // The limit is a setting: a short run of empty pages passes, one too many does not.
    let server = TestServer::start(vec![], 100, None).await;
    server.script(|cursor| {
        let n: u64 = cursor.map_or(0, |c| c.parse().unwrap());
        match n {
            0..3 => page_of(&[], 0, Some(&(n + 1).to_string())),
            _ => page_of(&["a-last"], 1, None),
        }
    });
    let mut opts = articles();
    opts.max_empty_pages = 3;
    let outcome = source(&server).fetch_all(&opts).await.unwrap();
    assert_eq!(outcome.items.len(), 1);
    opts.max_empty_pages = 2;
    let err = source(&server).fetch_all(&opts).await.unwrap_err();
    assert!(err.to_string().contains("empty pages"), "{err}");
}

#[tokio::test]
async fn a_page_whose_count_differs_from_its_items_is_malformed() {
    let server = TestServer::start(vec![], 100, None).await;
    server.script(|_| page_of(&["a-0", "a-1"], 3, None));
    let err = source(&server).fetch_all(&articles()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Network);
    assert!(
        matches!(&err, FetchError::MalformedPage { attempts: 3, reason, .. } if reason.contains("count 3") && reason.contains("2 items")),
        "{err}"
    );
    assert!(!err.to_string().contains("at byte"), "{err}");

    // A lie once is retried away.
    let calls = std::sync::atomic::AtomicUsize::new(0);
    let server = TestServer::start(vec![], 100, None).await;
    server.script(move |_| {
        let lie = calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0;
        page_of(&["a-0", "a-1"], if lie { 100 } else { 2 }, None)
    });
    let outcome = source(&server).fetch_all(&articles()).await.unwrap();
    assert_eq!(outcome.items.len(), 2);
    assert_eq!(outcome.summary.retries, 1);
}

#[tokio::test]
async fn the_deadline_bounds_the_whole_run_requests_included() {
    // 20 pages at 400 ms each would take 8 s; the run must stop at its 1 s deadline.
    let items: Vec<_> = (0..20)
        .map(|i| item(&format!("article-{i:02}"), "article", "published"))
        .collect();
    let server = TestServer::start(items, 1, None).await;
    server.slow_pages(Duration::from_millis(400));
    let mut opts = options();
    opts.retry.deadline = Duration::from_secs(1);
    let started = Instant::now();
    let err = source_with(&server, credentials(None), opts.clone())
        .fetch_all(&articles())
        .await
        .unwrap_err();
    let took = started.elapsed();
    assert_eq!(err.kind(), ErrorKind::Network);
    assert!(
        matches!(&err, FetchError::Deadline { pages, .. } if *pages >= 1 && *pages < 20),
        "{err}"
    );
    assert!(err.to_string().contains("page(s) fetched"), "{err}");
    assert!(
        took < Duration::from_secs(3),
        "bounded: stopped after {took:?}"
    );

    // A request in flight is cut at the deadline, however long its own timeout.
    let server = TestServer::start(catalog(), 100, None).await;
    server.slow_pages(Duration::from_secs(20));
    opts.timeout = Duration::from_secs(60);
    let started = Instant::now();
    let err = source_with(&server, credentials(None), opts)
        .fetch_all(&articles())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, FetchError::Deadline { pages: 0, .. }),
        "{err}"
    );
    assert!(started.elapsed() < Duration::from_secs(3));
}

fn content(id: &str, title: &str, updated: &str, synced: &str) -> unified_content::UnifiedContent {
    let mut raw = item(id, "article", "published");
    raw["title"] = title.into();
    raw["created_at"] = "2025-01-01T00:00:00Z".into();
    raw["updated_at"] = updated.into();
    raw["synced_at"] = synced.into();
    serde_json::from_value(raw).unwrap()
}

#[tokio::test]
async fn snapshots_hold_each_id_once_whether_built_in_memory_or_streamed() {
    let received = vec![
        content("a", "a old", "2026-01-02T00:00:00Z", "2026-01-03T00:00:00Z"),
        content("b", "b", "2026-01-02T00:00:00Z", "2026-01-03T00:00:00Z"),
        content(
            "c",
            "c newest",
            "2026-03-01T00:00:00Z",
            "2026-03-01T00:00:00Z",
        ),
        content(
            "a",
            "a newer",
            "2026-01-02T00:00:00Z",
            "2026-01-04T00:00:00Z",
        ),
        content(
            "c",
            "c older, sent later",
            "2026-02-01T00:00:00Z",
            "2026-03-02T00:00:00Z",
        ),
        content(
            "b",
            "b again, same version",
            "2026-01-02T00:00:00Z",
            "2026-01-03T00:00:00Z",
        ),
    ];
    let filters = Filters::default();
    let at = chrono::Utc::now();
    let in_memory = Snapshot::new("http://api", &filters, at, received.clone());
    let titles: Vec<(&str, &str)> = in_memory
        .items
        .iter()
        .map(|i| (i.content.id.as_str(), i.content.title.as_str()))
        .collect();
    assert_eq!(
        titles,
        vec![
            ("a", "a newer"),
            ("b", "b again, same version"),
            ("c", "c newest")
        ]
    );
    assert_eq!(in_memory.header.count, 3);

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("snap.json");
    let mut writer = SnapshotWriter::create(&path).unwrap();
    writer
        .add(vec![content(
            "z",
            "dropped",
            "2026-01-02T00:00:00Z",
            "2026-01-03T00:00:00Z",
        )])
        .unwrap();
    writer.restart().unwrap();
    let (first, second) = received.split_at(2);
    writer.add(first.to_vec()).unwrap();
    writer.add(second.to_vec()).unwrap();
    assert_eq!(writer.received(), 6);
    assert_eq!(
        writer.per_type().unwrap().get(&ContentType::Article),
        Some(&3)
    );
    assert!(!path.exists(), "nothing in place before finish");
    let header = writer.finish("http://api", &filters, at).unwrap();
    assert_eq!(header, in_memory.header);
    assert_eq!(Snapshot::read(&path).unwrap(), in_memory);
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "no temporary file left"
    );
    let offline = ContentSource::snapshot(&path).unwrap();
    assert_eq!(offline.get("a").await.unwrap().unwrap().title, "a newer");
    assert_eq!(
        offline
            .fetch_all(&FetchOptions::default())
            .await
            .unwrap()
            .items
            .len(),
        3
    );
}

#[tokio::test]
async fn snapshots_in_the_earlier_pretty_layout_still_read_as_a_stream() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.json");
    let items: Vec<_> = (0..600)
        .map(|i| {
            content(
                &format!("a-{i:03}"),
                "t",
                "2026-01-02T00:00:00Z",
                "2026-01-03T00:00:00Z",
            )
        })
        .collect();
    let snapshot = Snapshot::new("http://api", &Filters::default(), chrono::Utc::now(), items);
    // As earlier versions wrote it: one pretty-printed object.
    std::fs::write(&path, serde_json::to_vec_pretty(&snapshot).unwrap()).unwrap();
    assert_eq!(Snapshot::read(&path).unwrap(), snapshot);
    let offline = ContentSource::snapshot(&path).unwrap();
    let mut stream = offline.pages(&articles()).unwrap();
    let mut pages = Vec::new();
    while let Some(page) = stream.next_page().await {
        let page = page.unwrap();
        pages.push((page.index, page.items.len(), page.last));
    }
    assert_eq!(
        pages,
        vec![(0, 250, false), (1, 250, false), (2, 100, true)]
    );
    let all = offline.fetch_all(&FetchOptions::default()).await.unwrap();
    assert_eq!(all.items.len(), 600);
    assert_eq!(all.summary.items.get(&ContentType::Product), Some(&0));

    // Cut short, the file is refused before any page.
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, &text[..text.len() / 2]).unwrap();
    let cut = ContentSource::snapshot(&path).unwrap();
    let err = cut.pages(&FetchOptions::default()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Snapshot);

    // A run into a sink reads the file once, checked as it streams: the run still fails.
    let mut fed = 0;
    let err = cut
        .stream_into(&FetchOptions::default(), None, &mut |_| {}, &mut |feed| {
            if let content_fetch::Feed::Page(page) = feed {
                fed += page.items.len();
            }
            Ok::<(), FetchError>(())
        })
        .await
        .unwrap_err();
    assert!(
        matches!(&err, content_fetch::RunError::Fetch(e) if e.kind() == ErrorKind::Snapshot),
        "{err}"
    );
    assert!(fed < 600, "{fed}");
}

#[tokio::test]
async fn stale_temporary_files_are_swept_and_live_or_foreign_ones_kept() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.json");
    let long_ago = SystemTime::now() - Duration::from_secs(3600);
    let age = |name: &str| {
        let file = std::fs::File::options()
            .write(true)
            .open(dir.path().join(name))
            .unwrap();
        file.set_modified(long_ago).unwrap();
    };
    let stale = ".s.json.content-fetch-Ab3dE9.tmp";
    let foreign = [
        ".s.json.content-fetch-mine.tmp",
        ".s.json.content-fetch-Ab3dE9.tmp.keep",
        ".s.json.99.tmp",
        ".t.json.content-fetch-Ab3dE9.tmp",
    ];
    for name in foreign.iter().chain([&stale]) {
        std::fs::write(dir.path().join(name), "x").unwrap();
        age(name);
    }
    let live = SnapshotWriter::create(&path).unwrap();
    let names = || -> Vec<String> {
        let mut n: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        n.sort();
        n
    };
    let spool = names()
        .into_iter()
        .find(|n| {
            n.starts_with(".s.json.content-fetch-")
                && n.ends_with(".tmp")
                && n.len() == stale.len()
                && n != stale
        })
        .expect("the live writer's spool");
    assert!(
        !names().contains(&stale.to_string()),
        "the stale one is swept"
    );
    // Another run starting now leaves the live run's (locked) spool alone, however old.
    age(&spool);
    let second = SnapshotWriter::create(&path).unwrap();
    assert!(names().contains(&spool));
    drop((live, second));
    let mut expected: Vec<String> = foreign.iter().map(|s| s.to_string()).collect();
    expected.sort();
    assert_eq!(names(), expected, "dropped writers remove their own files");
}
