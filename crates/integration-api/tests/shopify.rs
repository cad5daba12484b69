//! The real Shopify adapter, enabled through the config path, behind the real router: the
//! status codes, repeats, stock by Shopify's inventory item id, and deletes. The payloads are
//! the providers crate's Shopify fixtures (slashes escaped as `\/`, as Shopify sends them).

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use axum::body::Body;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use common::*;
use http::Request;
use integration_api::store::ContentStore;
use integration_api::{Config, RouterOptions, SqliteStore};
use providers::Secret;
use providers::signature::hmac_sha256;
use serde_json::json;
use unified_content::EventType;

const SECRET: &str = "shpss_integration_test_secret";
const PRODUCT: &str = "gid://shopify/Product/788032119674292922";

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/../providers/tests/fixtures/shopify/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn shopify_app(body_limit: usize) -> App {
    let config = Config::from_toml(
        "[providers.shopify]\ncurrency = \"EUR\"\n",
        Path::new("test.toml"),
        BTreeMap::from([("SHOPIFY_WEBHOOK_SECRET".to_string(), SECRET.to_string())]),
    )
    .unwrap();
    app_with(
        SqliteStore::in_memory().unwrap(),
        config.registry().unwrap(),
        RouterOptions {
            body_limit,
            verifier: None,
        },
    )
}

fn delivery(topic: &str, body: Vec<u8>, id: &str, secret: &str) -> Request<Body> {
    Request::post("/webhooks/shopify")
        .header("content-type", "application/json")
        .header("X-Shopify-Topic", topic)
        .header(
            "X-Shopify-Hmac-Sha256",
            BASE64.encode(hmac_sha256(&Secret::new(secret), &body)),
        )
        .header("X-Shopify-Webhook-Id", id)
        .header("X-Shopify-Shop-Domain", "acme-apparel.myshopify.com")
        .header("X-Shopify-Triggered-At", "2026-11-21T08:00:00Z")
        .body(Body::from(body))
        .unwrap()
}

#[tokio::test]
async fn shopify_deliveries_through_the_router() {
    let mut app = shopify_app(1024 * 1024);

    // 200, then repeats acknowledged without change.
    for i in 0..10 {
        let (status, _, summary) = send(
            &app.router,
            delivery(
                "products/update",
                fixture("products_update.json"),
                "wh-1",
                SECRET,
            ),
        )
        .await;
        assert_eq!(status, 200, "{summary}");
        assert_eq!(summary["duplicate"], i > 0);
        if i == 0 {
            assert_eq!(summary["event"], "products/update");
            assert_eq!(summary["upserted"], 1);
        }
    }
    let events = app.drain_events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event_type, EventType::ContentCreated);
    let stored = app
        .store
        .get(PRODUCT)
        .await
        .unwrap()
        .expect("the product is stored");
    assert_eq!(stored.inventory.as_ref().unwrap().quantity, 7);

    // Stock by inventory item id (2^53 + 1: exact only as a string).
    let (status, _, summary) = send(
        &app.router,
        delivery(
            "inventory_levels/update",
            fixture("inventory_levels_update.json"),
            "wh-2",
            SECRET,
        ),
    )
    .await;
    assert_eq!(status, 200, "{summary}");
    assert_eq!(summary["inventory"], 1, "{summary}");
    let stored = app.store.get(PRODUCT).await.unwrap().unwrap();
    assert_eq!(stored.variants[0].inventory.as_ref().unwrap().quantity, -5);
    assert_eq!(stored.inventory.as_ref().unwrap().quantity, 5);
    assert_eq!(
        app.drain_events()[0].event_type,
        EventType::InventoryUpdated
    );

    // 401: a signature by another secret; 400: a signed body that is not JSON.
    let (status, _, body) = send(
        &app.router,
        delivery(
            "products/update",
            fixture("products_update.json"),
            "wh-3",
            "not-the-secret",
        ),
    )
    .await;
    assert_eq!(status, 401);
    assert!(!body.to_string().contains(SECRET) && !body.to_string().contains("not-the-secret"));
    let (status, _, body) = send(
        &app.router,
        delivery("products/update", b"{\"id\": ".to_vec(), "wh-4", SECRET),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(body["path"].is_string(), "{body}");
    // A variant price that is no amount: the path names the field.
    let mut payload: serde_json::Value =
        serde_json::from_slice(&fixture("products_update.json")).unwrap();
    payload["variants"][1]["price"] = json!("twelve");
    let (status, _, body) = send(
        &app.router,
        delivery(
            "products/update",
            serde_json::to_vec(&payload).unwrap(),
            "wh-5",
            SECRET,
        ),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["path"].as_str().unwrap().contains("variants"),
        "{body}"
    );
    assert!(app.drain_events().is_empty());

    // Delete: a tombstone, listed only with include_deleted.
    let (status, _, summary) = send(
        &app.router,
        delivery(
            "products/delete",
            fixture("products_delete.json"),
            "wh-6",
            SECRET,
        ),
    )
    .await;
    assert_eq!(status, 200, "{summary}");
    assert_eq!(summary["deleted"], 1);
    assert_eq!(app.drain_events()[0].event_type, EventType::ContentDeleted);
    let (_, _, page) = send(&app.router, get("/content")).await;
    assert_eq!(page["count"], 0);
    let (_, _, page) = send(&app.router, get("/content?include_deleted=true")).await;
    assert_eq!(page["items"][0]["id"], PRODUCT);
    assert_eq!(page["items"][0]["status"], "deleted");
}

#[tokio::test]
async fn shopify_over_the_limit_is_413() {
    let mut app = shopify_app(512);
    let (status, _, body) = send(
        &app.router,
        delivery(
            "products/update",
            fixture("products_update.json"),
            "wh-1",
            SECRET,
        ),
    )
    .await;
    assert_eq!(status, 413, "{body}");
    assert!(body["error"].as_str().unwrap().contains("body_limit"));
    assert!(app.drain_events().is_empty());
    assert_eq!(app.store.list(&Default::default()).await.unwrap().count, 0);
}
