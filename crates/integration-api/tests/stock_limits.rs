//! Provider numbers at the integer limits on correctly signed deliveries, through the real
//! router with the real Shopify and Foxy adapters: a clear 400 naming the item and the field,
//! and the stored stock untouched; never a panic, a dropped connection or a wrapped level.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use axum::body::Body;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use common::*;
use http::Request;
use integration_api::{Config, RouterOptions, SqliteStore};
use providers::Secret;
use providers::signature::hmac_sha256;
use serde_json::Value;

const SHOPIFY_SECRET: &str = "shpss_stock_limits_secret";
const FOXY_KEY: &str = "foxy-stock-limits-key";
const PRODUCT: &str = "gid%3A%2F%2Fshopify%2FProduct%2F788032119674292922";

fn fixture(path: &str) -> Value {
    let path = format!(
        "{}/../providers/tests/fixtures/{path}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap()
}

fn shop_app() -> App {
    let config = Config::from_toml(
        "[providers.shopify]\ncurrency = \"EUR\"\n[providers.foxy]\n",
        Path::new("test.toml"),
        BTreeMap::from([
            (
                "SHOPIFY_WEBHOOK_SECRET".to_string(),
                SHOPIFY_SECRET.to_string(),
            ),
            ("FOXY_WEBHOOK_SECRET".to_string(), FOXY_KEY.to_string()),
        ]),
    )
    .unwrap();
    app_with(
        SqliteStore::in_memory().unwrap(),
        config.registry().unwrap(),
        RouterOptions::default(),
    )
}

fn shopify(body: &Value, id: &str) -> Request<Body> {
    let body = serde_json::to_vec(body).unwrap();
    Request::post("/webhooks/shopify")
        .header("content-type", "application/json")
        .header("X-Shopify-Topic", "products/update")
        .header(
            "X-Shopify-Hmac-Sha256",
            BASE64.encode(hmac_sha256(&Secret::new(SHOPIFY_SECRET), &body)),
        )
        .header("X-Shopify-Webhook-Id", id)
        .body(Body::from(body))
        .unwrap()
}

fn foxy(body: &Value) -> Request<Body> {
    let body = serde_json::to_vec(body).unwrap();
    Request::post("/webhooks/foxy")
        .header("content-type", "application/json")
        .header("foxy-webhook-event", "transaction/created")
        .header(
            "foxy-webhook-signature",
            hex::encode(hmac_sha256(&Secret::new(FOXY_KEY), &body)),
        )
        .body(Body::from(body))
        .unwrap()
}

/// The stored product's level and its first variant's.
async fn stock(app: &App) -> (Value, Value) {
    let (status, _, body) = send(&app.router, get(&format!("/content/{PRODUCT}"))).await;
    assert_eq!(status, 200, "{body}");
    (
        body["content"]["inventory"]["quantity"].clone(),
        body["content"]["variants"][0]["inventory"]["quantity"].clone(),
    )
}

#[tokio::test]
async fn stock_past_the_integer_limits_is_a_bad_request_that_changes_nothing() {
    let app = shop_app();
    let product = fixture("shopify/products_update.json");
    let (status, _, body) = send(&app.router, shopify(&product, "wh-1")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(stock(&app).await, (7.into(), (-3).into()));

    // A newer update whose variant levels add up past i64::MAX.
    let mut overflowing = product.clone();
    overflowing["updated_at"] = "2026-11-21T08:00:00-05:00".into();
    overflowing["variants"][0]["inventory_quantity"] = i64::MAX.into();
    overflowing["variants"][1]["inventory_quantity"] = 1.into();
    let (status, _, body) = send(&app.router, shopify(&overflowing, "wh-2")).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["path"], "$.variants[1].inventory_quantity");
    let error = body["error"].as_str().unwrap();
    assert!(
        error.contains("gid://shopify/Product/788032119674292922"),
        "{error}"
    );
    assert_eq!(stock(&app).await, (7.into(), (-3).into()));

    // A Foxy sale of a negative or unrepresentable quantity of the first variant's SKU.
    for quantity in [
        Value::from(i64::MIN),
        Value::from(-5),
        Value::from(u64::MAX),
    ] {
        let mut sale = fixture("foxy/transaction_created.json");
        sale["_embedded"]["fx:items"][0]["code"] = "TEE-S-WHT".into();
        sale["_embedded"]["fx:items"][0]["quantity"] = quantity.clone();
        let (status, _, body) = send(&app.router, foxy(&sale)).await;
        assert_eq!(status, 400, "{quantity}: {body}");
        assert_eq!(body["path"], "$._embedded[\"fx:items\"][0].quantity");
        assert!(
            body["error"].as_str().unwrap().contains("TEE-S-WHT"),
            "{body}"
        );
        assert_eq!(stock(&app).await, (7.into(), (-3).into()));
    }
}
