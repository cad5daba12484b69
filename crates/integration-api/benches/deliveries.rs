//! Figures, not assertions: deliveries per second through the router (signed Shopify product
//! webhooks, 8 in flight) on SQLite and on DynamoDB (moto's server, official SDK client), the
//! DynamoDB requests and capacity units per delivery and per content page, and the calls a full
//! fetch of 10,000 items makes (Query only). Run with
//! `cargo bench -p integration-api --bench deliveries [-- sqlite|dynamodb]` (both by default).
//!
//! HTTP requests are counted per operation by an interceptor on the SDK client (each attempt
//! counts), apart from the store's own `Usage`; capacity units are what the server returned
//! with `ReturnConsumedCapacity`. The DynamoDB rate measures moto (Python, one request at a
//! time), not DynamoDB.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, ReturnConsumedCapacity, WriteRequest};

use axum::Router;
use axum::body::Body;
use base64::Engine as _;
use futures_util::StreamExt;
use http::Request;
use integration_api::store::ContentStore;
use integration_api::store::dynamo::{Usage, create_table};
use integration_api::{
    Config, DynamoStore, EventSource, Ingest, LocalPublisher, RouterOptions, SqliteStore, router,
};
use providers::Secret;
use providers::signature::hmac_sha256;
use tower::ServiceExt;
use unified_content::api::ContentQuery;

const SECRET: &str = "bench-secret";
const IN_FLIGHT: usize = 8;
const FULL_FETCH_ITEMS: usize = 10_000;

/// HTTP requests sent by the SDK client, by operation (`X-Amz-Target`), retries included.
#[derive(Debug, Clone, Default)]
struct Requests(Arc<Mutex<BTreeMap<String, u64>>>);

impl Intercept for Requests {
    fn name(&self) -> &'static str {
        "Requests"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let target = context
            .request()
            .headers()
            .get("x-amz-target")
            .unwrap_or("?");
        let operation = target.rsplit('.').next().unwrap_or(target).to_string();
        *self.0.lock().unwrap().entry(operation).or_default() += 1;
        Ok(())
    }
}

impl Requests {
    fn snapshot(&self) -> BTreeMap<String, u64> {
        self.0.lock().unwrap().clone()
    }

    /// Requests since `before`, per operation, divided by `n`.
    fn per(&self, before: &BTreeMap<String, u64>, n: usize) -> String {
        let now = self.snapshot();
        let parts: Vec<String> = now
            .iter()
            .filter_map(|(op, count)| {
                let delta = count - before.get(op).copied().unwrap_or(0);
                (delta > 0).then(|| format!("{:.2} {op}", delta as f64 / n as f64))
            })
            .collect();
        parts.join(", ")
    }
}

fn app(store: Arc<dyn ContentStore>) -> Router {
    let env = BTreeMap::from([("SHOPIFY_WEBHOOK_SECRET".to_string(), SECRET.to_string())]);
    let config = Config::from_toml(
        "[providers.shopify]\ncurrency = \"EUR\"\n",
        Path::new("bench"),
        env,
    )
    .unwrap();
    let (publisher, mut events) = LocalPublisher::channel();
    tokio::spawn(async move { while events.recv().await.is_some() {} });
    let ingest = Ingest::new(
        config.registry().unwrap(),
        store,
        Arc::new(publisher),
        EventSource {
            client_id: "bench".into(),
            environment: config.environment,
        },
    );
    router(ingest, RouterOptions::default())
}

fn webhook(template: &str, n: usize) -> Request<Body> {
    let body = template.replace(
        "788032119674292922",
        &(700_000_000_000_000_000u64 + n as u64).to_string(),
    );
    let signature = base64::engine::general_purpose::STANDARD
        .encode(hmac_sha256(&Secret::new(SECRET), body.as_bytes()));
    Request::post("/webhooks/shopify")
        .header("content-type", "application/json")
        .header("X-Shopify-Topic", "products/update")
        .header("X-Shopify-Hmac-Sha256", signature)
        .header("X-Shopify-Webhook-Id", format!("bench-{n}"))
        .body(Body::from(body))
        .unwrap()
}

async fn deliveries_per_second(router: &Router, template: &str, count: usize) -> f64 {
    let started = Instant::now();
    let statuses: Vec<u16> = futures_util::stream::iter(0..count)
        .map(|n| {
            let router = router.clone();
            let request = webhook(template, n);
            async move { router.oneshot(request).await.unwrap().status().as_u16() }
        })
        .buffer_unordered(IN_FLIGHT)
        .collect()
        .await;
    assert!(
        statuses.iter().all(|s| *s == 200),
        "every delivery is applied"
    );
    count as f64 / started.elapsed().as_secs_f64()
}

fn per(after: Usage, before: Usage, n: usize) -> String {
    let n = n as f64;
    format!(
        "{:.2} Query, {:.2} GetItem, {:.2} TransactWriteItems, {:.2} BatchWriteItem, {:.2} RCU, {:.2} WCU",
        (after.queries - before.queries) as f64 / n,
        (after.get_items - before.get_items) as f64 / n,
        (after.transactions - before.transactions) as f64 / n,
        (after.batch_writes - before.batch_writes) as f64 / n,
        (after.read_units - before.read_units) / n,
        (after.write_units - before.write_units) / n,
    )
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let template = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../providers/tests/fixtures/shopify/products_update.json"
    ))
    .unwrap();

    // cargo passes `--bench`; any other argument picks one backend.
    let only: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with("--"));
    let runs = |backend: &str| only.as_deref().is_none_or(|o| o == backend);

    if runs("sqlite") {
        sqlite(&template).await;
    }
    if runs("dynamodb") {
        dynamodb(&template).await;
    }
}

async fn sqlite(template: &str) {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = Arc::new(SqliteStore::open(dir.path().join("bench.sqlite3")).unwrap());
    let rate = deliveries_per_second(&app(sqlite), template, 5_000).await;
    println!("sqlite: 5000 deliveries, {rate:.0} deliveries/s");
}

async fn dynamodb(template: &str) {
    let moto = moto_server::MotoServer::start().unwrap();
    let requests = Requests::default();
    let config = aws_sdk_dynamodb::config::Builder::from(&moto.sdk_config().await)
        .interceptor(requests.clone())
        .build();
    let client = aws_sdk_dynamodb::Client::from_conf(config);
    create_table(&client, "bench").await.unwrap();
    let store = DynamoStore::new(client.clone(), "bench", "bench");
    let (before, sent) = (store.usage(), requests.snapshot());
    let count = 100;
    let rate = deliveries_per_second(&app(Arc::new(store.clone())), template, count).await;
    let after = store.usage();
    println!("dynamodb on moto (measures moto): {count} deliveries, {rate:.0} deliveries/s");
    println!(
        "  per delivery (store usage): {}",
        per(after, before, count)
    );
    println!(
        "  per delivery (HTTP requests): {}",
        requests.per(&sent, count)
    );

    // What moto returns for ReturnConsumedCapacity, as it is.
    let out = client
        .query()
        .table_name("bench")
        .index_name("ClientContentTypeIndex")
        .key_condition_expression("client_id = :c")
        .expression_attribute_values(
            ":c",
            aws_sdk_dynamodb::types::AttributeValue::S("bench".into()),
        )
        .limit(100)
        .return_consumed_capacity(ReturnConsumedCapacity::Indexes)
        .send()
        .await
        .unwrap();
    println!(
        "  moto's ConsumedCapacity of a 100-item Query on ClientContentTypeIndex (INDEXES): {:?}",
        out.consumed_capacity()
    );

    // 10,000 items for a full fetch. Seeding them through the store on moto takes hours (moto
    // deep-copies the table on every TransactWriteItems), so the rest are copies of one row the
    // store wrote, re-keyed (id, synced_key, the body's id) and sent with BatchWriteItem.
    let seeded = Instant::now();
    let stored = client
        .query()
        .table_name("bench")
        .index_name("ClientContentTypeIndex")
        .key_condition_expression("client_id = :c")
        .expression_attribute_values(":c", AttributeValue::S("bench".into()))
        .limit(1)
        .send()
        .await
        .unwrap();
    let row = stored.items()[0].clone();
    let text = |name: &str| row[name].as_s().unwrap().clone();
    let (old_id, old_synced, old_body) = (text("content_id"), text("synced_key"), text("body"));
    let synced_prefix = old_synced.split('#').next().unwrap().to_string();
    let copies: Vec<WriteRequest> = (0..FULL_FETCH_ITEMS - count)
        .map(|n| {
            let id = format!("seed-{n:05}");
            let mut copy = row.clone();
            copy.insert("content_id".into(), AttributeValue::S(id.clone()));
            copy.insert(
                "synced_key".into(),
                AttributeValue::S(format!("{synced_prefix}#{id}")),
            );
            copy.insert(
                "body".into(),
                AttributeValue::S(
                    old_body.replace(&format!("\"id\":\"{old_id}\""), &format!("\"id\":\"{id}\"")),
                ),
            );
            WriteRequest::builder()
                .put_request(PutRequest::builder().set_item(Some(copy)).build().unwrap())
                .build()
        })
        .collect();
    let mut batches = 0;
    for chunk in copies.chunks(25) {
        let mut pending = HashMap::from([("bench".to_string(), chunk.to_vec())]);
        while !pending.is_empty() {
            let out = client
                .batch_write_item()
                .set_request_items(Some(pending))
                .send()
                .await
                .unwrap();
            batches += 1;
            pending = out.unprocessed_items().cloned().unwrap_or_default();
            pending.retain(|_, rows| !rows.is_empty());
        }
    }
    println!(
        "  seeded {} more items (copies of a stored row) with {batches} BatchWriteItem calls in {:.1} s",
        FULL_FETCH_ITEMS - count,
        seeded.elapsed().as_secs_f64()
    );

    // A full fetch, 100 items a page: Query calls only.
    let (before, sent) = (store.usage(), requests.snapshot());
    let fetched = Instant::now();
    let mut query = ContentQuery {
        limit: Some(100),
        ..ContentQuery::default()
    };
    let (mut pages, mut items) = (0, 0);
    loop {
        let page = store.list(&query).await.unwrap();
        pages += 1;
        items += page.items.len();
        match page.next_cursor {
            Some(cursor) => query.cursor = Some(cursor),
            None => break,
        }
    }
    let after = store.usage();
    let now = requests.snapshot();
    let queries = now.get("Query").copied().unwrap_or(0) - sent.get("Query").copied().unwrap_or(0);
    let all: u64 = now.values().sum::<u64>() - sent.values().sum::<u64>();
    println!(
        "  full fetch: {items} items in {pages} pages in {:.1} s, {queries} Query requests and {} other requests",
        fetched.elapsed().as_secs_f64(),
        all - queries
    );
    println!("  per page (store usage): {}", per(after, before, pages));
    println!("  per page (HTTP requests): {}", requests.per(&sent, pages));
}
