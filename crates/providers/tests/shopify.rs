//! Shopify webhooks: signatures over the raw bytes, products, collections, deletes and
//! inventory levels, from fixtures shaped like Shopify's deliveries (slashes escaped as `\/`).

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use http::{HeaderMap, HeaderValue};
use providers::registry::FACTORIES;
use providers::shopify::ShopifyAdapter;
use providers::signature::hmac_sha256;
use providers::{
    AdapterError, Change, ConfigError, InventoryUpdate, ProviderAdapter, ProviderRegistry, Secret,
    Settings, SignatureError, StockChange, StockTarget, WebhookRequest,
};
use unified_content::{Amount, ContentStatus, ContentType, Timestamp, UnifiedContent};

const SECRET: &str = "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";

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/shopify/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn adapter() -> ShopifyAdapter {
    ShopifyAdapter::from_settings(&Settings::from_table(
        "shopify",
        [
            ("webhook_secret", SECRET),
            ("currency", "eur"),
            ("shop_domain", "acme-apparel.myshopify.com"),
        ],
    ))
    .unwrap()
}

fn received_at() -> Timestamp {
    "2026-11-20T19:05:33Z".parse().unwrap()
}

/// Headers as Shopify sends them, signed with `secret` over `body`.
fn headers(topic: &str, body: &[u8], secret: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    let signature = BASE64.encode(hmac_sha256(&Secret::new(secret), body));
    for (name, value) in [
        ("X-Shopify-Topic", topic),
        ("X-Shopify-Hmac-Sha256", signature.as_str()),
        ("X-Shopify-Shop-Domain", "acme-apparel.myshopify.com"),
        (
            "X-Shopify-Webhook-Id",
            "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
        ),
        ("X-Shopify-Triggered-At", "2026-11-20T19:06:00.123456789Z"),
        ("X-Shopify-API-Version", "2025-10"),
        ("Content-Type", "application/json"),
    ] {
        headers.insert(name, HeaderValue::from_str(value).unwrap());
    }
    headers
}

fn request<'a>(headers: &'a HeaderMap, body: &'a [u8]) -> WebhookRequest<'a> {
    WebhookRequest {
        headers,
        body,
        received_at: received_at(),
    }
}

async fn normalize(topic: &str, fixture_name: &str) -> Vec<Change> {
    let adapter = adapter();
    let body = fixture(fixture_name);
    let headers = headers(topic, &body, SECRET);
    let request = request(&headers, &body);
    adapter.verify(&request).await.unwrap();
    let normalized = adapter.normalize(&request).await.unwrap();
    assert_eq!(normalized.event, topic);
    normalized.changes
}

fn only_upsert(changes: Vec<Change>) -> UnifiedContent {
    match <[Change; 1]>::try_from(changes) {
        Ok([Change::Upsert(item)]) => item,
        other => panic!("expected one upsert, got {other:?}"),
    }
}

#[tokio::test]
async fn signature_over_the_raw_escaped_body_is_accepted() {
    let adapter = adapter();
    let body = fixture("products_update.json");
    assert!(
        body.windows(2).any(|w| w == b"\\/"),
        "the fixture keeps Shopify's escaped slashes"
    );
    let headers = headers("products/update", &body, SECRET);
    adapter.verify(&request(&headers, &body)).await.unwrap();
    assert_eq!(
        adapter.delivery_id(&request(&headers, &body)).as_deref(),
        Some("b54557e4-bdd9-4b37-8a5f-bf7d70bcd043")
    );
}

#[tokio::test]
async fn wrong_missing_and_reserialized_signatures_are_rejected() {
    let adapter = adapter();
    let body = fixture("products_update.json");

    let wrong = headers("products/update", &body, "another-secret");
    assert_eq!(
        adapter.verify(&request(&wrong, &body)).await,
        Err(SignatureError::Mismatch {
            header: "X-Shopify-Hmac-Sha256"
        })
    );

    let mut missing = headers("products/update", &body, SECRET);
    missing.remove("X-Shopify-Hmac-Sha256");
    assert_eq!(
        adapter.verify(&request(&missing, &body)).await,
        Err(SignatureError::Missing {
            header: "X-Shopify-Hmac-Sha256"
        })
    );

    let mut garbled = headers("products/update", &body, SECRET);
    garbled.insert(
        "X-Shopify-Hmac-Sha256",
        HeaderValue::from_static("not base64!"),
    );
    assert!(matches!(
        adapter.verify(&request(&garbled, &body)).await,
        Err(SignatureError::Malformed { .. })
    ));

    // The same JSON re-serialized (slashes unescaped) no longer matches the signature made
    // over the bytes Shopify sent.
    let signed = headers("products/update", &body, SECRET);
    let value: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let reserialized = serde_json::to_vec(&value).unwrap();
    assert_ne!(reserialized, body);
    assert!(matches!(
        adapter.verify(&request(&signed, &reserialized)).await,
        Err(SignatureError::Mismatch { .. })
    ));

    // A correctly signed delivery for another shop is refused, and the error shows no secret.
    let mut other_shop = headers("products/update", &body, SECRET);
    other_shop.insert(
        "X-Shopify-Shop-Domain",
        HeaderValue::from_static("someone-else.myshopify.com"),
    );
    let err = adapter
        .verify(&request(&other_shop, &body))
        .await
        .unwrap_err();
    assert!(matches!(err, SignatureError::Rejected { .. }), "{err}");
    assert!(!err.to_string().contains(SECRET));
}

#[tokio::test]
async fn product_normalizes_to_the_exact_item() {
    let item = only_upsert(normalize("products/update", "products_update.json").await);

    assert_eq!(item.id, "gid://shopify/Product/788032119674292922");
    assert_eq!(item.slug, "organic-cotton-tee");
    assert_eq!(item.status, ContentStatus::Published);
    assert_eq!(item.tags, ["cotton", "summer", "organic", "T-Shirts"]);
    let price = item.price.as_ref().unwrap();
    assert_eq!(price.amount, "19.99".parse::<Amount>().unwrap());
    assert_eq!(price.compare_at_amount, Some("29.99".parse().unwrap()));
    assert_eq!(price.currency_code, "EUR");
    assert_eq!(serde_json::to_string(&price.amount).unwrap(), "19.99");
    assert_eq!(
        item.variants[1].price.amount,
        "21".parse::<Amount>().unwrap()
    );
    assert_eq!(item.variants[1].price.compare_at_amount, None);
    // Oversold by 3 on one variant, 10 on the other: the product sums to 7.
    assert_eq!(item.variants[0].inventory.as_ref().unwrap().quantity, -3);
    assert_eq!(item.inventory.as_ref().unwrap().quantity, 7);
    assert_eq!(
        item.variants[0].id,
        "gid://shopify/ProductVariant/642667041472713922"
    );
    assert_eq!(
        item.variants[0].options,
        BTreeMap::from([
            ("Size".to_string(), "Small".to_string()),
            ("Color".to_string(), "White".to_string())
        ])
    );
    assert_eq!(
        item.provider_data["inventory_item_ids"],
        serde_json::json!({
            "9007199254740993": "gid://shopify/ProductVariant/642667041472713922",
            "49148385": "gid://shopify/ProductVariant/642667041472713923"
        })
    );
    // Numeric ids above 2^53 stay exact as strings.
    assert_eq!(item.provider_data["id"], "788032119674292922");
    assert_eq!(
        item.created_at,
        "2026-11-01T14:30:00Z".parse::<Timestamp>().unwrap()
    );
    assert_eq!(
        item.updated_at,
        "2026-11-20T19:05:31Z".parse::<Timestamp>().unwrap()
    );
    item.validate().unwrap();
    insta::assert_json_snapshot!("shopify_product", item);
}

#[tokio::test]
async fn product_status_maps_onto_unified_status() {
    let adapter = adapter();
    for (status, expected) in [
        ("draft", ContentStatus::Draft),
        ("archived", ContentStatus::Archived),
        ("active", ContentStatus::Published),
    ] {
        let body = String::from_utf8(fixture("products_update.json"))
            .unwrap()
            .replace("\"status\":\"active\"", &format!("\"status\":\"{status}\""))
            .into_bytes();
        let headers = headers("products/create", &body, SECRET);
        let changes = adapter
            .normalize(&request(&headers, &body))
            .await
            .unwrap()
            .changes;
        assert_eq!(only_upsert(changes).status, expected, "{status}");
    }
}

#[tokio::test]
async fn a_bad_price_names_its_json_path() {
    let adapter = adapter();
    let body = String::from_utf8(fixture("products_update.json"))
        .unwrap()
        .replace("\"price\":\"21.00\"", "\"price\":\"twenty-one\"")
        .into_bytes();
    let headers = headers("products/update", &body, SECRET);
    let err = adapter
        .normalize(&request(&headers, &body))
        .await
        .unwrap_err();
    match err {
        AdapterError::Malformed { path, .. } => assert_eq!(path, "$.variants[1].price"),
        other => panic!("expected a malformed payload, got {other:?}"),
    }
}

#[tokio::test]
async fn product_delete_with_only_an_id_is_a_tombstone() {
    let changes = normalize("products/delete", "products_delete.json").await;
    assert_eq!(
        changes,
        [Change::Tombstone {
            id: "gid://shopify/Product/788032119674292922".into(),
            content_type: Some(ContentType::Product),
            provider_name: "shopify".into(),
            deleted_at: "2026-11-20T19:06:00.123456789Z".parse().unwrap(),
        }]
    );
}

#[tokio::test]
async fn inventory_level_update_targets_the_inventory_item() {
    let changes = normalize("inventory_levels/update", "inventory_levels_update.json").await;
    assert_eq!(
        changes,
        [Change::Inventory(InventoryUpdate {
            provider_name: "shopify".into(),
            target: StockTarget::InventoryItem("9007199254740993".into()),
            stock: StockChange::Set(-5),
            updated_at: "2026-11-20T19:07:12Z".parse().unwrap(),
        })]
    );
}

#[tokio::test]
async fn collections_upsert_and_delete() {
    let item = only_upsert(normalize("collections/update", "collections_update.json").await);
    assert_eq!(item.id, "gid://shopify/Collection/482865238");
    assert_eq!(item.content_type, ContentType::Collection);
    assert_eq!(item.slug, "summer-collection");
    assert_eq!(
        item.updated_at,
        "2026-11-19T15:00:00Z".parse::<Timestamp>().unwrap()
    );
    item.validate().unwrap();
    insta::assert_json_snapshot!("shopify_collection", item);

    let changes = normalize("collections/delete", "collections_delete.json").await;
    assert!(matches!(
        changes.as_slice(),
        [Change::Tombstone { id, content_type: Some(ContentType::Collection), .. }]
            if id == "gid://shopify/Collection/482865238"
    ));
}

#[tokio::test]
async fn other_topics_are_acknowledged_without_changes() {
    let changes = normalize("orders/create", "products_delete.json").await;
    assert!(changes.is_empty());
    let adapter = adapter();
    let body = fixture("products_delete.json");
    let mut headers = headers("products/delete", &body, SECRET);
    headers.remove("X-Shopify-Topic");
    assert!(matches!(
        adapter.normalize(&request(&headers, &body)).await,
        Err(AdapterError::MissingHeader("X-Shopify-Topic"))
    ));
}

#[test]
fn settings_are_checked_up_front() {
    let err =
        ShopifyAdapter::from_settings(&Settings::from_table("shopify", [("currency", "EUR")]))
            .unwrap_err();
    assert_eq!(
        err,
        ConfigError::Missing {
            provider: "shopify",
            setting: "webhook_secret",
            env: "SHOPIFY_WEBHOOK_SECRET".into()
        }
    );
    let err =
        ShopifyAdapter::from_settings(&Settings::from_table("shopify", [("webhook_secret", "s")]))
            .unwrap_err();
    assert!(
        err.to_string().contains("SHOPIFY_CURRENCY"),
        "names the env var: {err}"
    );
    let err = ShopifyAdapter::from_settings(&Settings::from_table(
        "shopify",
        [("webhook_secret", "s"), ("currency", "euro")],
    ))
    .unwrap_err();
    assert!(
        matches!(
            err,
            ConfigError::Invalid {
                setting: "currency",
                ..
            }
        ),
        "{err}"
    );

    // The environment fills in what the config table leaves out.
    let tables = BTreeMap::from([(
        "shopify".to_string(),
        BTreeMap::from([("currency".to_string(), "USD".to_string())]),
    )]);
    let env = BTreeMap::from([("SHOPIFY_WEBHOOK_SECRET".to_string(), SECRET.to_string())]);
    let registry = ProviderRegistry::from_config(&tables, &env).unwrap();
    assert_eq!(registry.get("shopify").unwrap().events().len(), 7);
    assert!(FACTORIES.iter().any(|f| f.name == "shopify"));
}

#[test]
fn the_adapter_debug_output_hides_the_secret() {
    assert!(!format!("{:?}", adapter()).contains(SECRET));
}

/// The product fixture with its two variants' stock replaced, re-serialized and re-signed.
async fn product_with_stock(levels: [i64; 2]) -> Result<Vec<Change>, AdapterError> {
    let mut raw: serde_json::Value =
        serde_json::from_slice(&fixture("products_update.json")).unwrap();
    for (variant, level) in raw["variants"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .zip(levels)
    {
        variant["inventory_quantity"] = level.into();
    }
    let body = serde_json::to_vec(&raw).unwrap();
    let headers = headers("products/update", &body, SECRET);
    let adapter = adapter();
    adapter.verify(&request(&headers, &body)).await.unwrap();
    adapter
        .normalize(&request(&headers, &body))
        .await
        .map(|n| n.changes)
}

#[tokio::test]
async fn variant_stock_at_the_integer_limits_sums_or_is_refused() {
    // Each level on its own is valid, however extreme, and so is a sum that fits.
    let item = only_upsert(product_with_stock([i64::MAX, -1]).await.unwrap());
    assert_eq!(item.inventory.unwrap().quantity, i64::MAX - 1);
    let item = only_upsert(product_with_stock([i64::MIN, 0]).await.unwrap());
    assert_eq!(item.inventory.unwrap().quantity, i64::MIN);

    // A sum past either end is a bad request naming the product and the field, never a
    // panic or a wrapped level.
    for levels in [[i64::MAX, 1], [i64::MIN, -1], [i64::MAX, i64::MAX]] {
        match product_with_stock(levels).await {
            Err(AdapterError::Malformed { path, message }) => {
                assert_eq!(path, "$.variants[1].inventory_quantity", "{levels:?}");
                assert!(
                    message.contains("gid://shopify/Product/788032119674292922"),
                    "{message}"
                );
            }
            other => panic!("{levels:?}: expected a malformed payload, got {other:?}"),
        }
    }
}
