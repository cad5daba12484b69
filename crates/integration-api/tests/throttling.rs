//! DynamoDB throttling through the router, on moto behind a fault-injecting proxy (moto itself
//! never throttles): the SDK's standard retry mode absorbs a few
//! `ProvisionedThroughputExceededException`s, the store absorbs a few `TransactionConflict`
//! cancellations, and what is left is a 503 with a retryable message naming the item and a
//! log line naming it, with nothing applied; the provider's redelivery then applies it once.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_dynamodb::config::retry::RetryConfig;
use axum::Router;
use integration_api::store::ContentStore;
use integration_api::store::dynamo::SDK_MAX_ATTEMPTS;
use integration_api::{DynamoStore, EventSource, Ingest, LocalPublisher, RouterOptions, router};
use moto_server::{Fault, FaultProxy, MotoServer};
use serde_json::json;
use tokio::sync::mpsc::UnboundedReceiver;
use unified_content::api::ContentQuery;
use unified_content::{ContentEvent, Environment};

const TRANSACT: &str = "TransactWriteItems";

struct Setup {
    proxy: FaultProxy,
    store: DynamoStore,
    router: Router,
    events: UnboundedReceiver<ContentEvent>,
}

/// The template's table on moto; the store reaches it through the proxy, with the SDK's
/// backoff shortened so the test is quick (the store sets the mode and the attempts).
async fn setup(prefix: &str) -> Setup {
    let moto = MotoServer::shared();
    let direct = moto.sdk_config().await;
    let table = common::aws::content_table(
        &aws_sdk_dynamodb::Client::new(&direct),
        &format!("{prefix}-{}", std::process::id()),
    )
    .await;
    let proxy = FaultProxy::start(moto.endpoint_url()).unwrap();
    let config = aws_sdk_dynamodb::config::Builder::from(&proxy.sdk_config().await)
        .retry_config(
            RetryConfig::standard()
                .with_initial_backoff(Duration::from_millis(5))
                .with_max_backoff(Duration::from_millis(20)),
        )
        .build();
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::from_conf(config), table, "acme");
    let (publisher, events) = LocalPublisher::channel();
    let ingest = Ingest::new(
        common::registry_with(Vec::new()),
        Arc::new(store.clone()) as Arc<dyn ContentStore>,
        Arc::new(publisher),
        EventSource {
            client_id: "acme".into(),
            environment: Environment::Staging,
        },
    );
    Setup {
        proxy,
        store,
        router: router(ingest, RouterOptions::default()),
        events,
    }
}

fn delivery(id: &str, title: &str) -> serde_json::Value {
    json!({ "upserts": [common::product(id, title, "2026-11-01T00:00:00Z")] })
}

async fn pending_events(store: &DynamoStore) -> usize {
    store
        .pending_events(chrono::Utc::now() + chrono::Duration::hours(1), 100)
        .await
        .unwrap()
        .len()
}

fn drain(events: &mut UnboundedReceiver<ContentEvent>) -> Vec<ContentEvent> {
    std::iter::from_fn(|| events.try_recv().ok()).collect()
}

/// Log lines at WARN and above, captured for the current thread.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Logs {
    fn capture() -> (Logs, tracing::subscriber::DefaultGuard) {
        let logs = Logs::default();
        let writer = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::WARN)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        (logs, tracing::subscriber::set_default(subscriber))
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

#[tokio::test]
async fn throttling_within_the_sdk_retry_budget_is_absorbed() {
    let mut s = setup("throttle-absorbed").await;
    // Every attempt but the last of one call is throttled.
    s.proxy.fail_next(
        TRANSACT,
        SDK_MAX_ATTEMPTS - 1,
        Fault::ProvisionedThroughputExceeded,
    );
    let (status, _, body) =
        common::send(&s.router, common::webhook(&delivery("p-1", "Lamp"), "d-1")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(s.proxy.injected(TRANSACT), SDK_MAX_ATTEMPTS - 1);
    assert_eq!(s.proxy.forwarded(TRANSACT), 1, "the SDK sent it again");
    let stored = s.store.get("p-1").await.unwrap().unwrap();
    assert_eq!(stored.title, "Lamp");
    assert_eq!(drain(&mut s.events).len(), 1);
    assert_eq!(
        pending_events(&s.store).await,
        0,
        "published and marked sent"
    );
}

#[tokio::test]
async fn a_few_transaction_conflicts_are_decided_again_and_applied() {
    let mut s = setup("conflict-absorbed").await;
    s.proxy.fail_next(TRANSACT, 3, Fault::TransactionConflict);
    let (status, _, body) =
        common::send(&s.router, common::webhook(&delivery("p-1", "Lamp"), "d-1")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(s.proxy.injected(TRANSACT), 3);
    assert_eq!(
        s.proxy.forwarded(TRANSACT),
        1,
        "the SDK does not resend a cancelled transaction: the store reads, decides and sends again"
    );
    assert_eq!(s.store.get("p-1").await.unwrap().unwrap().title, "Lamp");
    assert_eq!(drain(&mut s.events).len(), 1);
}

/// Throttled past every retry: a 503 naming the item, a log line naming it, nothing applied;
/// the redelivery after recovery applies it once.
async fn past_every_retry(prefix: &str, fault: Fault, count: u32) {
    let mut s = setup(prefix).await;
    // An older version is stored first, so "nothing changed" is seen on a live item.
    let (status, _, _) = common::send(
        &s.router,
        common::webhook(
            &json!({ "upserts": [common::product("p-1", "Old lamp", "2026-10-01T00:00:00Z")] }),
            "d-0",
        ),
    )
    .await;
    assert_eq!(status, 200);
    drain(&mut s.events);

    s.proxy.fail_next(TRANSACT, count, fault);
    let (logs, guard) = Logs::capture();
    let (status, _, body) = common::send(
        &s.router,
        common::webhook(&delivery("p-1", "New lamp"), "d-1"),
    )
    .await;
    drop(guard);
    assert_eq!(status, 503, "{body}");
    let message = body["error"].as_str().unwrap();
    assert!(
        message.contains("'p-1'") && message.contains("retry the delivery"),
        "{message}"
    );
    assert_eq!(body["item_id"], "p-1");
    assert_eq!(body["retryable"], true);
    let logged = logs.text();
    assert!(
        logged
            .lines()
            .any(|l| l.contains("WARN") && l.contains("item=p-1")),
        "a log line names the item: {logged}"
    );
    assert!(
        s.proxy.injected(TRANSACT) >= SDK_MAX_ATTEMPTS,
        "retried before giving up"
    );

    // Nothing half-applied: the old item, no event, no outbox row, the delivery id unseen.
    assert_eq!(s.store.get("p-1").await.unwrap().unwrap().title, "Old lamp");
    assert!(drain(&mut s.events).is_empty());
    assert_eq!(pending_events(&s.store).await, 0);
    assert!(!s.store.has_delivery("test", "d-1").await.unwrap());

    // Recovered: the provider redelivers the same delivery, which applies once.
    s.proxy.fail_next(TRANSACT, 0, fault);
    for _ in 0..2 {
        let (status, _, body) = common::send(
            &s.router,
            common::webhook(&delivery("p-1", "New lamp"), "d-1"),
        )
        .await;
        assert_eq!(status, 200, "{body}");
    }
    assert_eq!(s.store.get("p-1").await.unwrap().unwrap().title, "New lamp");
    assert_eq!(drain(&mut s.events).len(), 1, "one event for one change");
    let page = s.store.list(&ContentQuery::default()).await.unwrap();
    assert_eq!(page.items.len(), 1);
}

#[tokio::test]
async fn throttling_past_the_sdk_retries_is_a_retryable_503_and_applies_nothing() {
    past_every_retry(
        "throttle-exhausted",
        Fault::ProvisionedThroughputExceeded,
        // More than every attempt of every try.
        1_000,
    )
    .await;
}

#[tokio::test]
async fn endless_transaction_conflicts_are_a_retryable_503_and_apply_nothing() {
    past_every_retry("conflict-exhausted", Fault::TransactionConflict, 1_000).await;
}
