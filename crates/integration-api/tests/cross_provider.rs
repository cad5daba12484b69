//! Issue 5 end to end: a Shopify product, a Sanity article and a Contentful page, then stock
//! changes from Snipcart and Foxy, all delivered over HTTP to the served integration API with
//! the real adapters and their real signatures, land in one store; the content-fetch client
//! then reads them back through SigV4 as one consistent content set.

mod common;

use std::sync::Arc;

use aws_credential_types::Credentials;
use axum::Router;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chrono::Utc;
use common::app_with;
use content_fetch::{
    AwsAccess, ClientOptions, ContentClient, ContentSource, FetchOptions, Filters,
};
use integration_api::{RouterOptions, SqliteStore};
use providers::signature::hmac_sha256;
use providers::{ProviderRegistry, Secret};
use serde_json::Value;
use sigv4_auth::SigV4Verifier;
use std::collections::BTreeMap;
use unified_content::{ContentStatus, ContentType, UnifiedContent};

const REGION: &str = "eu-central-1";
const ACCESS_KEY: &str = "AKIDCROSSPROVIDER";
const SECRET_KEY: &str = "cross-provider-secret-access-key";
const SHOPIFY_SECRET: &str = "shopify-webhook-secret";
const SANITY_SECRET: &str = "sanity-webhook-secret";
const CONTENTFUL_SECRET: &str = "qlfkupAwYA4ZkNnmBzmNypFqSRWOwhpGRFwQFn5iPNAGHSYdvwed1C77n0Eiaz19";
const SNIPCART_KEY: &str = "ST_cross_provider_secret_api_key";
const SNIPCART_TOKEN: &str = "4d3c2b1a-0f9e-4d8c-b7a6-5f4e3d2c1b0a";
const FOXY_KEY: &str = "foxy-encryption-key";

/// A provider fixture, with the SKUs of the stock changes pointed at the Shopify tee.
fn fixture(path: &str) -> Vec<u8> {
    let text = std::fs::read_to_string(format!(
        "{}/../providers/tests/fixtures/{path}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    text.replace("MUG-BLUE", "TEE-L-WHT").into_bytes()
}

/// A loopback stand-in for Snipcart's request-validation endpoint.
async fn snipcart_validation() -> String {
    async fn validate(Path(token): Path<String>, headers: axum::http::HeaderMap) -> StatusCode {
        let expected = format!("Basic {}", STANDARD.encode(format!("{SNIPCART_KEY}:")));
        let auth = headers.get("authorization").and_then(|v| v.to_str().ok());
        if auth == Some(expected.as_str()) && token == SNIPCART_TOKEN {
            StatusCode::OK
        } else {
            StatusCode::NOT_FOUND
        }
    }
    let app = Router::new().route("/api/requestvalidation/{token}", get(validate));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    base
}

/// The integration API served on loopback with the five real adapters, configured as a user
/// would (tables of settings), and SigV4 required on reads.
async fn serve(snipcart_base: &str) -> (String, common::App) {
    let table = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    let tables = BTreeMap::from([
        (
            "shopify".to_string(),
            table(&[("webhook_secret", SHOPIFY_SECRET), ("currency", "EUR")]),
        ),
        (
            "sanity".to_string(),
            table(&[
                ("webhook_secret", SANITY_SECRET),
                ("project_id", "zp7mbokg"),
                ("dataset", "production"),
            ]),
        ),
        (
            "contentful".to_string(),
            table(&[
                ("locale", "de-DE"),
                ("default_locale", "en-US"),
                ("signing_secret", CONTENTFUL_SECRET),
            ]),
        ),
        (
            "snipcart".to_string(),
            table(&[
                ("secret_api_key", SNIPCART_KEY),
                ("api_base_url", snipcart_base),
            ]),
        ),
        ("foxy".to_string(), table(&[("webhook_secret", FOXY_KEY)])),
    ]);
    let registry = ProviderRegistry::from_config(&tables, &BTreeMap::new()).unwrap();
    let verifier = SigV4Verifier::new(REGION, "execute-api").with_key(ACCESS_KEY, SECRET_KEY, None);
    let app = app_with(
        SqliteStore::in_memory().unwrap(),
        registry,
        RouterOptions {
            verifier: Some(Arc::new(verifier)),
            ..RouterOptions::default()
        },
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let router = app.router.clone();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (endpoint, app)
}

/// POSTs a delivery; returns the HTTP status and the summary.
async fn post(
    endpoint: &str,
    provider: &str,
    headers: &[(&str, String)],
    body: Vec<u8>,
) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .post(format!("{endpoint}/webhooks/{provider}"))
        .body(body);
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

fn shopify(body: &[u8]) -> Vec<(&'static str, String)> {
    vec![
        ("content-type", "application/json".into()),
        ("X-Shopify-Topic", "products/update".into()),
        (
            "X-Shopify-Hmac-Sha256",
            STANDARD.encode(hmac_sha256(&Secret::new(SHOPIFY_SECRET), body)),
        ),
        ("X-Shopify-Shop-Domain", "acme-apparel.myshopify.com".into()),
        (
            "X-Shopify-Webhook-Id",
            "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043".into(),
        ),
        (
            "X-Shopify-Triggered-At",
            "2026-11-20T19:06:00.123456789Z".into(),
        ),
    ]
}

fn sanity(body: &[u8], operation: &str, key: &str) -> Vec<(&'static str, String)> {
    sanity_at(body, operation, key, Utc::now().timestamp_millis())
}

/// Sanity's headers, signed at `t` (unix ms).
fn sanity_at(body: &[u8], operation: &str, key: &str, t: i64) -> Vec<(&'static str, String)> {
    let mut message = format!("{t}.").into_bytes();
    message.extend_from_slice(body);
    let v1 = URL_SAFE_NO_PAD.encode(hmac_sha256(&Secret::new(SANITY_SECRET), &message));
    vec![
        ("content-type", "application/json".into()),
        ("sanity-webhook-signature", format!("t={t},v1={v1}")),
        ("sanity-operation", operation.into()),
        ("idempotency-key", key.into()),
        ("sanity-transaction-time", Utc::now().to_rfc3339()),
    ]
}

fn contentful(body: &[u8], topic: &str) -> Vec<(&'static str, String)> {
    let t = Utc::now().timestamp_millis().to_string();
    let signed =
        "content-type,x-contentful-signed-headers,x-contentful-timestamp,x-contentful-topic";
    let canonical = format!(
        "POST\n/webhooks/contentful\ncontent-type:application/vnd.contentful.management.v1+json;\
         x-contentful-signed-headers:{signed};x-contentful-timestamp:{t};x-contentful-topic:{topic}\n"
    );
    let mut message = canonical.into_bytes();
    message.extend_from_slice(body);
    vec![
        (
            "content-type",
            "application/vnd.contentful.management.v1+json".into(),
        ),
        ("x-contentful-topic", topic.into()),
        ("x-contentful-signed-headers", signed.into()),
        ("x-contentful-timestamp", t),
        (
            "x-contentful-signature",
            hex::encode(hmac_sha256(&Secret::new(CONTENTFUL_SECRET), &message)),
        ),
    ]
}

fn foxy(body: &[u8]) -> Vec<(&'static str, String)> {
    vec![
        ("content-type", "application/json".into()),
        ("foxy-webhook-event", "transaction/created".into()),
        (
            "foxy-webhook-signature",
            hex::encode(hmac_sha256(&Secret::new(FOXY_KEY), body)),
        ),
    ]
}

/// Everything published, read back as `content-fetch` reads it: SigV4-signed pages per type.
async fn fetch(endpoint: &str, filters: Filters) -> Vec<UnifiedContent> {
    let access = AwsAccess::new(
        REGION,
        Credentials::new(ACCESS_KEY, SECRET_KEY, None, None, "test"),
    );
    let client =
        ContentClient::new(endpoint.parse().unwrap(), access, ClientOptions::default()).unwrap();
    let outcome = ContentSource::api(client)
        .fetch_all(&FetchOptions {
            filters,
            strict: true,
            ..FetchOptions::default()
        })
        .await
        .unwrap();
    outcome.items
}

#[tokio::test(flavor = "multi_thread")]
async fn five_providers_make_one_consistent_content_set() {
    let snipcart_base = snipcart_validation().await;
    let (endpoint, mut app) = serve(&snipcart_base).await;

    let body = fixture("shopify/products_update.json");
    let (status, summary) = post(&endpoint, "shopify", &shopify(&body), body).await;
    assert_eq!(
        (status, &summary["upserted"]),
        (200, &Value::from(1)),
        "{summary}"
    );

    let body = fixture("sanity/post.json");
    let (status, summary) = post(
        &endpoint,
        "sanity",
        &sanity(&body, "create", "msg-post-1"),
        body,
    )
    .await;
    assert_eq!(
        (status, &summary["upserted"]),
        (200, &Value::from(1)),
        "{summary}"
    );

    let body = fixture("contentful/entry_publish.json");
    let headers = contentful(&body, "ContentManagement.Entry.publish");
    let (status, summary) = post(&endpoint, "contentful", &headers, body).await;
    assert_eq!(
        (status, &summary["upserted"]),
        (200, &Value::from(1)),
        "{summary}"
    );

    // Snipcart sells two large tees (and a shirt no site knows); Foxy sells one more.
    let body = fixture("snipcart/order_completed.json");
    let headers = vec![
        ("content-type", "application/json".to_string()),
        ("X-Snipcart-RequestToken", SNIPCART_TOKEN.to_string()),
    ];
    let (status, summary) = post(&endpoint, "snipcart", &headers, body.clone()).await;
    assert_eq!(status, 200, "{summary}");
    assert_eq!(
        (&summary["inventory"], &summary["unmatched"]),
        (&Value::from(1), &Value::from(1)),
        "{summary}"
    );
    // Snipcart retrying the same order changes nothing.
    let (_, again) = post(&endpoint, "snipcart", &headers, body).await;
    assert_eq!(again["duplicate"], true, "{again}");

    let body = fixture("foxy/transaction_created.json");
    let (status, summary) = post(&endpoint, "foxy", &foxy(&body), body).await;
    assert_eq!(status, 200, "{summary}");
    assert_eq!(
        (&summary["inventory"], &summary["unmatched"]),
        (&Value::from(1), &Value::from(1)),
        "{summary}"
    );

    // Unsigned or wrongly signed deliveries are refused and store nothing.
    let body = fixture("foxy/transaction_created.json");
    let (status, _) = post(
        &endpoint,
        "foxy",
        &[("foxy-webhook-signature", "00".repeat(32))],
        body,
    )
    .await;
    assert_eq!(status, 401);
    let body = fixture("sanity/post.json");
    // Correctly signed, but ten minutes ago: a replay.
    let ten_minutes_ago = Utc::now().timestamp_millis() - 600_000;
    let stale = sanity_at(&body, "update", "msg-stale", ten_minutes_ago);
    let (status, _) = post(&endpoint, "sanity", &stale, body).await;
    assert_eq!(status, 401);

    let items = fetch(&endpoint, Filters::default()).await;
    let by_provider: BTreeMap<&str, &UnifiedContent> = items
        .iter()
        .map(|i| (i.provider_name.as_str(), i))
        .collect();
    assert_eq!(items.len(), 3, "{items:#?}");
    assert_eq!(
        by_provider.keys().copied().collect::<Vec<_>>(),
        ["contentful", "sanity", "shopify"]
    );

    let tee = by_provider["shopify"];
    assert_eq!(tee.id, "gid://shopify/Product/788032119674292922");
    assert_eq!(tee.content_type, ContentType::Product);
    let stock = |sku: &str| {
        tee.variants
            .iter()
            .find(|v| v.sku.as_deref() == Some(sku))
            .and_then(|v| v.inventory.as_ref())
            .map(|i| i.quantity)
    };
    // 10 large tees in Shopify, 2 sold by Snipcart, 1 by Foxy; the oversold small one untouched.
    assert_eq!(stock("TEE-L-WHT"), Some(7));
    assert_eq!(stock("TEE-S-WHT"), Some(-3));
    assert_eq!(tee.inventory.as_ref().map(|i| i.quantity), Some(4));

    let article = by_provider["sanity"];
    assert_eq!(
        (article.content_type, article.slug.as_str()),
        (ContentType::Article, "creme-brulee-caramel")
    );
    assert!(
        article
            .body
            .as_deref()
            .unwrap()
            .starts_with("<p>Heat <strong>sugar</strong>")
    );
    let page = by_provider["contentful"];
    assert_eq!(
        (page.content_type, page.title.as_str()),
        (ContentType::Page, "Versand & Rückgabe")
    );
    for item in &items {
        assert_eq!(item.status, ContentStatus::Published);
        assert!(item.validate().is_ok(), "{item:#?}");
    }

    // Every accepted change was announced for the build trigger.
    let events = app.drain_events();
    assert_eq!(events.len(), 5, "{events:#?}");

    // The article is deleted in Sanity and the page unpublished in Contentful: the set shrinks
    // to the product, and incremental readers see the tombstones.
    let body = fixture("sanity/delete.json");
    let (status, summary) = post(
        &endpoint,
        "sanity",
        &sanity(&body, "delete", "msg-del-1"),
        body,
    )
    .await;
    assert_eq!(
        (status, &summary["deleted"]),
        (200, &Value::from(1)),
        "{summary}"
    );
    let body = fixture("contentful/entry_unpublish.json");
    let headers = contentful(&body, "ContentManagement.Entry.unpublish");
    let (status, summary) = post(&endpoint, "contentful", &headers, body).await;
    assert_eq!(
        (status, &summary["deleted"]),
        (200, &Value::from(1)),
        "{summary}"
    );

    let items = fetch(&endpoint, Filters::default()).await;
    assert_eq!(
        items
            .iter()
            .map(|i| i.provider_name.as_str())
            .collect::<Vec<_>>(),
        ["shopify"]
    );
    let with_tombstones = fetch(
        &endpoint,
        Filters {
            include_deleted: true,
            ..Filters::default()
        },
    )
    .await;
    let deleted: Vec<&str> = with_tombstones
        .iter()
        .filter(|i| i.status == ContentStatus::Deleted)
        .map(|i| i.id.as_str())
        .collect();
    assert_eq!(deleted.len(), 2, "{with_tombstones:#?}");
    assert!(deleted.contains(&"3b1f6a8e-2c4d-4e5f-9a7b-1c2d3e4f5a6b"));
    assert!(deleted.contains(&"5KsDBWseXY6QegucYAoacS"));
}
