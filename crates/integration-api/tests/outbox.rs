//! The outbox, on both backends: a publisher that fails for its first calls loses no event
//! once it recovers; each event arrives at least once and consumers de-duplicate by event_id.

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use integration_api::store::{ContentStore, Delivery};
use integration_api::{
    EventPublisher, EventSource, Ingest, LocalPublisher, PublishError, SqliteStore,
};
use providers::Change;
use tokio::sync::mpsc::UnboundedReceiver;
use unified_content::{ContentEvent, Environment};

/// The local publisher, made to fail for its first `failures` calls.
struct Flaky {
    inner: LocalPublisher,
    failures: usize,
    calls: AtomicUsize,
}

#[async_trait]
impl EventPublisher for Flaky {
    async fn publish(&self, events: Vec<ContentEvent>) -> Result<(), PublishError> {
        if self.calls.fetch_add(1, Ordering::SeqCst) < self.failures {
            return Err(PublishError::Failed {
                event_id: events[0].event_id.clone(),
                source: "the topic is unreachable".into(),
            });
        }
        self.inner.publish(events).await
    }
}

async fn deliver_through_a_failing_publisher(store: Arc<dyn ContentStore>) {
    let (inner, mut received): (LocalPublisher, UnboundedReceiver<ContentEvent>) =
        LocalPublisher::channel();
    let publisher = Arc::new(Flaky {
        inner,
        failures: 3,
        calls: AtomicUsize::new(0),
    });
    let ingest = Ingest::new(
        common::registry_with(Vec::new()),
        Arc::clone(&store),
        publisher.clone(),
        EventSource {
            client_id: "acme".into(),
            environment: Environment::Dev,
        },
    );
    let mut expected = BTreeSet::new();
    for n in 0..5 {
        let id = format!("item-{n}");
        let body =
            serde_json::json!({ "upserts": [common::product(&id, &id, "2026-11-01T00:00:00Z")] });
        let request = common::webhook(&body, &format!("delivery-{n}"));
        let (parts, body) = request.into_parts();
        let bytes = http_body_util::BodyExt::collect(body)
            .await
            .unwrap()
            .to_bytes();
        let summary = ingest
            .handle("test", &parts.headers, &bytes, chrono::Utc::now())
            .await
            .expect("a failed publish does not fail the delivery");
        assert_eq!(summary.events, 1);
        expected.insert(id);
    }
    // The first three deliveries' publishes failed; their events wait in the outbox.
    assert!(publisher.calls.load(Ordering::SeqCst) >= 5);
    let pending = store.pending_events(chrono::Utc::now(), 100).await.unwrap();
    assert_eq!(pending.len(), 3, "{pending:?}");
    assert_eq!(
        store.count_pending(chrono::Utc::now(), 100).await.unwrap(),
        3
    );
    assert_eq!(
        store.count_pending(chrono::Utc::now(), 2).await.unwrap(),
        2,
        "stops at at_most"
    );
    assert_eq!(ingest.outbox_backlog(Duration::ZERO).await.unwrap(), 3);

    // The sweep (a timer in serve, a scheduled event on Lambda) publishes them.
    let swept = ingest.sweep(Duration::ZERO).await.unwrap();
    assert_eq!(swept, 3);
    assert!(
        store
            .pending_events(chrono::Utc::now(), 100)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(ingest.sweep(Duration::ZERO).await.unwrap(), 0);
    assert_eq!(ingest.outbox_backlog(Duration::ZERO).await.unwrap(), 0);

    let mut seen = BTreeSet::new();
    let mut ids = BTreeSet::new();
    while let Ok(event) = received.try_recv() {
        ids.insert(event.event_id.clone());
        seen.insert(event.content_id);
    }
    assert_eq!(seen, expected, "every change's event arrived");
    assert_eq!(
        ids.len(),
        5,
        "one event per change, de-duplicated by event_id"
    );
}

#[tokio::test]
async fn sqlite_outbox_loses_no_event() {
    deliver_through_a_failing_publisher(Arc::new(SqliteStore::in_memory().unwrap())).await;
}

#[tokio::test]
async fn dynamodb_outbox_loses_no_event() {
    let store = common::aws::dynamo_store(&format!("outbox-{}", std::process::id()), "acme").await;
    deliver_through_a_failing_publisher(Arc::new(store)).await;
}

/// A sweep publishes every pending event, also when they fill more than one Query page: 12
/// events of about 100 KB are over DynamoDB's (and moto's) 1 MB per page, far under the
/// sweep's batch of 100.
#[tokio::test]
async fn dynamodb_sweep_follows_the_outbox_past_one_query_page() {
    let dynamo =
        common::aws::dynamo_store(&format!("outbox-pages-{}", std::process::id()), "acme").await;
    let store: Arc<dyn ContentStore> = Arc::new(dynamo.clone());
    let source = EventSource {
        client_id: "acme".into(),
        environment: Environment::Dev,
    };
    let count = 12;
    let mut expected = BTreeSet::new();
    for n in 0..count {
        let id = format!("large-{n}");
        let mut item = common::product(&id, &id, "2026-11-01T00:00:00Z");
        item["body"] = serde_json::json!(format!("{n} {}", "x".repeat(100_000)));
        // Written to the outbox with the change and not published, as after a failed publish.
        let report = store
            .apply(Delivery {
                provider: "test".into(),
                delivery_id: Some(format!("large-delivery-{n}")),
                received_at: chrono::Utc::now(),
                changes: vec![Change::Upsert(serde_json::from_value(item).unwrap())],
                events: Some(source.clone()),
            })
            .await
            .unwrap();
        assert_eq!(report.events.len(), 1);
        expected.insert(id);
    }
    assert_eq!(
        store.count_pending(chrono::Utc::now(), 100).await.unwrap(),
        count
    );

    let (publisher, mut received) = LocalPublisher::channel();
    let ingest = Ingest::new(
        common::registry_with(Vec::new()),
        Arc::clone(&store),
        Arc::new(publisher),
        source,
    );
    assert_eq!(ingest.sweep(Duration::ZERO).await.unwrap(), count);
    let queries = dynamo.usage().queries;
    assert_eq!(ingest.outbox_backlog(Duration::ZERO).await.unwrap(), 0);
    assert_eq!(
        dynamo.usage().queries,
        queries + 1,
        "the backlog count's Query is in the store's usage"
    );
    let mut seen = BTreeSet::new();
    while let Ok(event) = received.try_recv() {
        seen.insert(event.content_id);
    }
    assert_eq!(seen, expected, "every pending event was published");
}
