//! The Sanity adapter against signed fixtures shaped like GROQ-powered webhook deliveries.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use http::{HeaderMap, HeaderName, HeaderValue};
use providers::sanity::SanityAdapter;
use providers::signature::hmac_sha256;
use providers::{
    Change, ConfigError, ProviderAdapter, ProviderRegistry, Secret, Settings, SignatureError,
    WebhookRequest,
};
use unified_content::{ContentStatus, ContentType, UnifiedContent};

const SECRET: &str = "sanity-test-secret";

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/sanity/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn received_at() -> DateTime<Utc> {
    "2026-11-26T10:00:00Z".parse().unwrap()
}

fn adapter() -> SanityAdapter {
    SanityAdapter::new(&Settings::from_table(
        "sanity",
        [
            ("webhook_secret", SECRET),
            ("project_id", "zp7mbokg"),
            ("dataset", "production"),
        ],
    ))
    .unwrap()
}

/// Signs like Sanity: `t=<ms>,v1=<base64url HMAC-SHA256 of "<ms>.<body>">`.
fn signature(secret: &str, t: DateTime<Utc>, body: &[u8]) -> String {
    let ms = t.timestamp_millis();
    let mut message = format!("{ms}.").into_bytes();
    message.extend_from_slice(body);
    format!(
        "t={ms},v1={}",
        URL_SAFE_NO_PAD.encode(hmac_sha256(&Secret::new(secret), &message))
    )
}

/// The headers Sanity sends with a document webhook.
fn headers(operation: &str, document_id: &str, signature: Option<&str>) -> HeaderMap {
    let mut h = HeaderMap::new();
    let mut put = |k: &'static str, v: &str| {
        h.insert(
            HeaderName::from_static(k),
            HeaderValue::from_str(v).unwrap(),
        );
    };
    put("content-type", "application/json; charset=utf-8");
    put("idempotency-key", "msg_2Tq8ZbEj3kLx9PfV");
    put("sanity-project-id", "zp7mbokg");
    put("sanity-dataset", "production");
    put("sanity-document-id", document_id);
    put("sanity-operation", operation);
    put("sanity-transaction-id", "Yx2qGB8oRT1ZcWw4vK0mNn");
    put("sanity-transaction-time", "2026-11-26T09:59:58.123Z");
    put("sanity-webhook-id", "Kp3sWq9xTnE1Vb7M");
    if let Some(s) = signature {
        put("sanity-webhook-signature", s);
    }
    h
}

fn signed_headers(operation: &str, document_id: &str, body: &[u8]) -> HeaderMap {
    let sig = signature(SECRET, received_at() - Duration::seconds(2), body);
    headers(operation, document_id, Some(&sig))
}

async fn deliver(operation: &str, id: &str, file: &str) -> Vec<Change> {
    let body = fixture(file);
    let headers = signed_headers(operation, id, &body);
    let request = WebhookRequest {
        headers: &headers,
        body: &body,
        received_at: received_at(),
    };
    let adapter = adapter();
    adapter.verify(&request).await.unwrap();
    let normalized = adapter.normalize(&request).await.unwrap();
    assert_eq!(normalized.event, operation);
    normalized.changes
}

fn only_upsert(changes: Vec<Change>) -> UnifiedContent {
    match <[Change; 1]>::try_from(changes) {
        Ok([Change::Upsert(item)]) => item,
        other => panic!("expected one upsert, got {other:?}"),
    }
}

#[tokio::test]
async fn published_post_becomes_an_article() {
    let item = only_upsert(
        deliver(
            "update",
            "3b1f6a8e-2c4d-4e5f-9a7b-1c2d3e4f5a6b",
            "post.json",
        )
        .await,
    );
    assert_eq!(item.id, "3b1f6a8e-2c4d-4e5f-9a7b-1c2d3e4f5a6b");
    assert_eq!(item.content_type, ContentType::Article);
    assert_eq!(item.status, ContentStatus::Published);
    assert_eq!(item.title, "Crème Brûlée & the Art of Caramel");
    assert_eq!(item.slug, "creme-brulee-caramel");
    assert_eq!(item.tags, ["dessert", "french"]);
    assert_eq!(
        item.featured_image.as_ref().unwrap().url,
        "https://cdn.sanity.io/images/zp7mbokg/production/Tb9Ew8CXIwaY6R1kjMvI0uRR-2000x3000.jpg"
    );
    assert_eq!(
        item.body.as_deref().unwrap(),
        "<p>Heat <strong>sugar</strong> until it turns <em><a href=\"https://en.wikipedia.org/wiki/Caramelization\">amber</a></em>.</p>\
         <h2>You need</h2>\
         <ul><li>Cream</li><li><code>6 egg yolks</code></li></ul>\
         <figure><img src=\"https://cdn.sanity.io/images/zp7mbokg/production/a1b2c3d4e5f6-1200x800.png\" alt=\"Ramekins\" width=\"1200\" height=\"800\"></figure>"
    );
    // The raw Portable Text stays for sites with their own serializers.
    assert_eq!(
        item.provider_data["portable_text"]
            .as_array()
            .unwrap()
            .len(),
        5
    );
    assert_eq!(
        item.updated_at,
        "2026-11-25T16:42:10Z".parse::<DateTime<Utc>>().unwrap()
    );
    assert_eq!(item.synced_at, received_at());
    assert!(unified_content::is_valid_slug(&item.slug));
    insta::assert_json_snapshot!("sanity_post", item);
}

#[tokio::test]
async fn drafts_keep_their_id_and_become_drafts() {
    let item = only_upsert(
        deliver(
            "create",
            "drafts.7d4e2b10-aaaa-4bbb-8ccc-0123456789ab",
            "draft.json",
        )
        .await,
    );
    assert_eq!(item.id, "drafts.7d4e2b10-aaaa-4bbb-8ccc-0123456789ab");
    assert_eq!(item.status, ContentStatus::Draft);
    assert_eq!(item.content_type, ContentType::Page);
    assert_eq!(item.slug, "about-us");
    assert_eq!(item.body.as_deref(), Some("<p>Work in progress.</p>"));
    insta::assert_json_snapshot!("sanity_draft_page", item);
}

#[tokio::test]
async fn deletions_become_tombstones() {
    let changes = deliver(
        "delete",
        "3b1f6a8e-2c4d-4e5f-9a7b-1c2d3e4f5a6b",
        "delete.json",
    )
    .await;
    assert_eq!(
        changes,
        [Change::Tombstone {
            id: "3b1f6a8e-2c4d-4e5f-9a7b-1c2d3e4f5a6b".into(),
            content_type: Some(ContentType::Article),
            provider_name: "sanity".into(),
            deleted_at: "2026-11-26T09:59:58.123Z".parse().unwrap(),
        }]
    );
}

#[tokio::test]
async fn unmapped_types_are_acknowledged_and_ignored() {
    assert_eq!(deliver("update", "author-ada", "author.json").await, []);
    assert_eq!(deliver("delete", "author-ada", "author.json").await, []);
}

#[tokio::test]
async fn products_take_their_price_in_the_configured_currency() {
    let body = fixture("product.json");
    let headers = signed_headers("update", "product-blue-mug", &body);
    let request = WebhookRequest {
        headers: &headers,
        body: &body,
        received_at: received_at(),
    };
    let with_currency = SanityAdapter::new(&Settings::from_table(
        "sanity",
        [("webhook_secret", SECRET), ("currency", "eur")],
    ))
    .unwrap();
    let item = only_upsert(with_currency.normalize(&request).await.unwrap().changes);
    assert_eq!(item.content_type, ContentType::Product);
    let price = item.price.as_ref().unwrap();
    assert_eq!(
        (
            price.amount.to_string().as_str(),
            price.currency_code.as_str()
        ),
        ("24.95", "EUR")
    );
    // An expanded asset (`asset->` in the projection) needs no project or dataset.
    let image = item.featured_image.as_ref().unwrap();
    assert_eq!((image.width, image.file_size), (Some(800), Some(80412)));
    // An empty SEO object is no SEO.
    assert_eq!(item.seo, None);
    // Without a currency, a bare number is no price.
    let item = only_upsert(adapter().normalize(&request).await.unwrap().changes);
    assert_eq!(item.price, None);
    let bad = SanityAdapter::new(&Settings::from_table(
        "sanity",
        [("webhook_secret", SECRET), ("currency", "euro")],
    ));
    assert!(bad.unwrap_err().to_string().contains("currency"));
}

#[tokio::test]
async fn delivery_id_is_the_idempotency_key() {
    let body = fixture("post.json");
    let headers = signed_headers("update", "x", &body);
    let request = WebhookRequest {
        headers: &headers,
        body: &body,
        received_at: received_at(),
    };
    assert_eq!(
        adapter().delivery_id(&request).as_deref(),
        Some("msg_2Tq8ZbEj3kLx9PfV")
    );
}

#[tokio::test]
async fn wrong_missing_stale_and_malformed_signatures_are_refused() {
    let adapter = adapter();
    let body = fixture("post.json");
    let verify = |headers: HeaderMap, body: Vec<u8>| {
        let adapter = &adapter;
        async move {
            let request = WebhookRequest {
                headers: &headers,
                body: &body,
                received_at: received_at(),
            };
            adapter.verify(&request).await
        }
    };
    let now = received_at();

    let wrong_secret = signature("another-secret", now, &body);
    assert_eq!(
        verify(headers("update", "x", Some(&wrong_secret)), body.clone()).await,
        Err(SignatureError::Mismatch {
            header: "sanity-webhook-signature"
        })
    );

    let mut tampered = body.clone();
    tampered.extend_from_slice(b" ");
    let good = signature(SECRET, now, &body);
    assert_eq!(
        verify(headers("update", "x", Some(&good)), tampered).await,
        Err(SignatureError::Mismatch {
            header: "sanity-webhook-signature"
        })
    );

    assert_eq!(
        verify(headers("update", "x", None), body.clone()).await,
        Err(SignatureError::Missing {
            header: "sanity-webhook-signature"
        })
    );

    let stale = signature(SECRET, now - Duration::minutes(6), &body);
    assert_eq!(
        verify(headers("update", "x", Some(&stale)), body.clone()).await,
        Err(SignatureError::Stale {
            age_secs: 360,
            window_secs: 300
        })
    );

    assert!(matches!(
        verify(headers("update", "x", Some("v1=abc")), body.clone()).await,
        Err(SignatureError::Malformed { .. })
    ));

    // Just inside the window, and with the space @sanity/webhook allows after the comma.
    let edge = signature(SECRET, now - Duration::seconds(299), &body).replace(",v1=", ", v1=");
    assert_eq!(
        verify(headers("update", "x", Some(&edge)), body).await,
        Ok(())
    );
}

#[test]
fn configuration_is_checked_up_front() {
    let err = SanityAdapter::new(&Settings::from_table("sanity", [("dataset", "production")]))
        .unwrap_err();
    assert_eq!(
        err,
        ConfigError::Missing {
            provider: "sanity",
            setting: "webhook_secret",
            env: "SANITY_WEBHOOK_SECRET".into()
        }
    );
    let err = SanityAdapter::new(&Settings::from_table(
        "sanity",
        [("webhook_secret", "s"), ("project_id", "p")],
    ))
    .unwrap_err();
    assert!(err.to_string().contains("dataset"), "{err}");

    // Through the registry, with the secret from the environment.
    let tables = BTreeMap::from([(
        "sanity".to_string(),
        BTreeMap::from([(
            "type_map".to_string(),
            "post=article,landing=page".to_string(),
        )]),
    )]);
    let env = BTreeMap::from([("SANITY_WEBHOOK_SECRET".to_string(), SECRET.to_string())]);
    let registry = ProviderRegistry::from_config(&tables, &env).unwrap();
    let sanity = registry.get("sanity").unwrap();
    assert_eq!(sanity.events(), ["create", "update", "delete"]);
    assert!(ProviderRegistry::from_config(&tables, &BTreeMap::new()).is_err());
}
