//! Figures, not assertions: deliveries per second through the router (signed Shopify product
//! webhooks, 8 in flight) on SQLite and on DynamoDB (moto's server, official SDK client), the
//! DynamoDB requests and capacity units per delivery and per content page, and the calls a full
//! fetch makes (Query only). Run with `cargo bench -p integration-api --bench deliveries`.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

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

    let dir = tempfile::tempdir().unwrap();
    let sqlite = Arc::new(SqliteStore::open(dir.path().join("bench.sqlite3")).unwrap());
    let rate = deliveries_per_second(&app(sqlite), &template, 5_000).await;
    println!("sqlite: 5000 deliveries, {rate:.0} deliveries/s");

    let moto = moto_server::MotoServer::start().unwrap();
    let client = aws_sdk_dynamodb::Client::new(&moto.sdk_config().await);
    create_table(&client, "bench").await.unwrap();
    let store = DynamoStore::new(client, "bench", "bench");
    let before = store.usage();
    let count = 300;
    let rate = deliveries_per_second(&app(Arc::new(store.clone())), &template, count).await;
    let after = store.usage();
    println!("dynamodb on moto: {count} deliveries, {rate:.0} deliveries/s");
    println!("  per delivery: {}", per(after, before, count));

    // A full fetch, 100 items a page: Query calls only.
    let before = store.usage();
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
    println!(
        "  full fetch: {items} items in {pages} pages, {} Query calls and {} other calls",
        after.queries - before.queries,
        (after.get_items + after.transactions + after.batch_writes)
            - (before.get_items + before.transactions + before.batch_writes)
    );
    println!("  per page: {}", per(after, before, pages));
}
