//! The Contentful adapter against signed fixtures shaped like Contentful webhook deliveries.

use chrono::{DateTime, Duration, Utc};
use http::{HeaderMap, HeaderName, HeaderValue};
use providers::contentful::ContentfulAdapter;
use providers::signature::hmac_sha256;
use providers::{
    AdapterError, Change, ConfigError, ProviderAdapter, Secret, Settings, SignatureError,
    WebhookRequest,
};
use unified_content::{ContentStatus, ContentType, UnifiedContent};

/// 64 characters, as Contentful requires.
const SIGNING_SECRET: &str = "qlfkupAwYA4ZkNnmBzmNypFqSRWOwhpGRFwQFn5iPNAGHSYdvwed1C77n0Eiaz19";
const SIGNED: &str = "content-type,x-contentful-crn,x-contentful-signed-headers,x-contentful-timestamp,x-contentful-topic,x-contentful-webhook-name";

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/contentful/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn received_at() -> DateTime<Utc> {
    "2026-11-26T10:00:05Z".parse().unwrap()
}

fn adapter() -> ContentfulAdapter {
    ContentfulAdapter::new(&Settings::from_table(
        "contentful",
        [
            ("locale", "de-DE"),
            ("default_locale", "en-US"),
            ("signing_secret", SIGNING_SECRET),
        ],
    ))
    .unwrap()
}

/// The headers of a Contentful delivery, signed as Contentful's request verification does:
/// hex HMAC-SHA256 of `POST\n<path>\n<name:value;...>\n<body>` over the sorted signed headers.
fn signed_headers(
    secret: &str,
    path: &str,
    topic: &str,
    t: DateTime<Utc>,
    body: &[u8],
) -> HeaderMap {
    let t = t.timestamp_millis().to_string();
    let crn = "crn:contentful:::content:spaces/yadj1kx9rmg0/environments/master/entries/5KsDBWseXY6QegucYAoacS";
    let canonical_headers = format!(
        "content-type:application/vnd.contentful.management.v1+json;x-contentful-crn:{crn};\
         x-contentful-signed-headers:{SIGNED};x-contentful-timestamp:{t};\
         x-contentful-topic:{topic};x-contentful-webhook-name:Site build"
    );
    let mut message = format!("POST\n{path}\n{canonical_headers}\n").into_bytes();
    message.extend_from_slice(body);
    let signature = hex::encode(hmac_sha256(&Secret::new(secret), &message));

    let mut h = HeaderMap::new();
    let mut put = |k: &'static str, v: &str| {
        h.insert(
            HeaderName::from_static(k),
            HeaderValue::from_str(v).unwrap(),
        );
    };
    put(
        "content-type",
        "application/vnd.contentful.management.v1+json",
    );
    put("x-contentful-topic", topic);
    put("x-contentful-webhook-name", "Site build");
    put("x-contentful-crn", crn);
    put(
        "x-contentful-idempotency-key",
        "8f14e45fceea167a5a36dedd4bea2543f1d2c3b4a5e6f708192a3b4c5d6e7f80",
    );
    put("x-contentful-signed-headers", SIGNED);
    put("x-contentful-timestamp", &t);
    put("x-contentful-signature", &signature);
    h
}

async fn deliver(topic: &str, file: &str) -> Vec<Change> {
    deliver_to(&adapter(), topic, file).await
}

/// A signed delivery of `file` to `adapter`, checked and normalized.
async fn deliver_to(adapter: &ContentfulAdapter, topic: &str, file: &str) -> Vec<Change> {
    let body = fixture(file);
    let headers = signed_headers(
        SIGNING_SECRET,
        "/webhooks/contentful",
        topic,
        received_at() - Duration::seconds(1),
        &body,
    );
    let request = WebhookRequest {
        headers: &headers,
        body: &body,
        received_at: received_at(),
    };
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
async fn published_entry_reads_the_locale_with_fallback() {
    let item = only_upsert(deliver("ContentManagement.Entry.publish", "entry_publish.json").await);
    assert_eq!(item.id, "5KsDBWseXY6QegucYAoacS");
    assert_eq!(item.content_type, ContentType::Page);
    assert_eq!(item.status, ContentStatus::Published);
    // de-DE where present, en-US otherwise.
    assert_eq!(item.title, "Versand & Rückgabe");
    assert_eq!(item.slug, "shipping-returns");
    assert_eq!(
        item.description.as_deref(),
        Some("Wie wir versenden und wie Sie zurückschicken.")
    );
    assert_eq!(item.tags, ["help", "customerService"]);
    // The offset in createdAt is converted to UTC.
    assert_eq!(
        item.created_at,
        "2026-11-01T09:00:00.123Z".parse::<DateTime<Utc>>().unwrap()
    );
    // The hero image and the embedded asset are links the payload does not resolve.
    assert_eq!(item.featured_image, None);
    assert_eq!(
        item.body.as_deref(),
        Some(
            "<h2>Versand</h2><p>Wir versenden <b>innerhalb von 2 Tagen</b> mit \
             <a href=\"https://www.dhl.de/\">DHL</a>.</p><ul><li><p>Kostenlos ab 50 €</p></li>\
             <li><p><i>Rückgabe 30 Tage</i></p></li></ul><hr/>"
        )
    );
    assert_eq!(item.provider_data["rich_text"]["nodeType"], "document");
    assert_eq!(
        item.provider_data["fields"]["heroImage"]["sys"]["id"],
        "3wtvPBbBjiMKqKKga8I2Cu"
    );
    insta::assert_json_snapshot!("contentful_entry_publish", item);
}

#[tokio::test]
async fn archived_entries_are_archived_and_keep_markdown_bodies() {
    let item = only_upsert(deliver("ContentManagement.Entry.archive", "entry_archive.json").await);
    assert_eq!(item.status, ContentStatus::Archived);
    assert_eq!(item.content_type, ContentType::Article);
    assert_eq!(
        item.body.as_deref(),
        Some("# Summer sale\n\nEverything **20% off**.")
    );
    let unarchived =
        only_upsert(deliver("ContentManagement.Entry.unarchive", "entry_archive.json").await);
    assert_eq!(unarchived.status, ContentStatus::Draft);
}

#[tokio::test]
async fn products_take_their_price_in_the_configured_currency() {
    let adapter = ContentfulAdapter::new(&Settings::from_table(
        "contentful",
        [
            ("locale", "en-US"),
            ("signing_secret", SIGNING_SECRET),
            ("currency", "USD"),
        ],
    ))
    .unwrap();
    let body = fixture("entry_product.json");
    let topic = "ContentManagement.Entry.publish";
    let headers = signed_headers(
        SIGNING_SECRET,
        "/webhooks/contentful",
        topic,
        received_at(),
        &body,
    );
    let request = WebhookRequest {
        headers: &headers,
        body: &body,
        received_at: received_at(),
    };
    adapter.verify(&request).await.unwrap();
    let item = only_upsert(adapter.normalize(&request).await.unwrap().changes);
    assert_eq!(
        (item.content_type, item.title.as_str(), item.slug.as_str()),
        (ContentType::Product, "Gift Card", "gift-card")
    );
    let price = item.price.unwrap();
    assert_eq!(
        (
            price.amount.to_string().as_str(),
            price.currency_code.as_str()
        ),
        ("12.5", "USD")
    );
}

#[tokio::test]
async fn unpublish_and_delete_become_tombstones() {
    let expected = vec![Change::Tombstone {
        id: "5KsDBWseXY6QegucYAoacS".into(),
        content_type: Some(ContentType::Page),
        provider_name: "contentful".into(),
        deleted_at: "2026-11-26T10:00:01Z".parse().unwrap(),
    }];
    assert_eq!(
        deliver("ContentManagement.Entry.unpublish", "entry_unpublish.json").await,
        expected
    );
    assert_eq!(
        deliver("ContentManagement.Entry.delete", "entry_unpublish.json").await,
        expected
    );
    assert_eq!(
        deliver("ContentManagement.Asset.delete", "asset_delete.json").await,
        [Change::Tombstone {
            id: "3wtvPBbBjiMKqKKga8I2Cu".into(),
            content_type: Some(ContentType::Media),
            provider_name: "contentful".into(),
            deleted_at: "2026-11-26T10:00:02Z".parse().unwrap(),
        }]
    );
}

#[tokio::test]
async fn published_assets_become_media_items() {
    let item = only_upsert(deliver("ContentManagement.Asset.publish", "asset_publish.json").await);
    assert_eq!(item.content_type, ContentType::Media);
    assert_eq!(item.slug, "parcel-on-a-doorstep");
    let image = item.featured_image.clone().unwrap();
    assert_eq!(
        image.url,
        "https://images.ctfassets.net/yadj1kx9rmg0/3wtvPBbBjiMKqKKga8I2Cu/6d2a4c5e0b1f/parcel.jpg"
    );
    assert_eq!(
        (image.width, image.height, image.file_size),
        (Some(1600), Some(1067), Some(284137))
    );
    assert_eq!(image.mime_type.as_deref(), Some("image/jpeg"));
    assert_eq!(
        image.alt_text.as_deref(),
        Some("A brown parcel in front of a green door")
    );
    insta::assert_json_snapshot!("contentful_asset_publish", item);
}

#[tokio::test]
async fn other_topics_and_unmapped_types_change_nothing() {
    assert_eq!(
        deliver("ContentManagement.Entry.save", "entry_publish.json").await,
        []
    );
    assert_eq!(
        deliver(
            "ContentManagement.ContentType.publish",
            "entry_publish.json"
        )
        .await,
        []
    );
    let only_posts = ContentfulAdapter::new(&Settings::from_table(
        "contentful",
        [
            ("locale", "en-US"),
            ("signing_secret", SIGNING_SECRET),
            ("content_type_map", "blogPost=article"),
        ],
    ))
    .unwrap();
    let body = fixture("entry_publish.json");
    let headers = signed_headers(
        SIGNING_SECRET,
        "/webhooks/contentful",
        "ContentManagement.Entry.publish",
        received_at(),
        &body,
    );
    let request = WebhookRequest {
        headers: &headers,
        body: &body,
        received_at: received_at(),
    };
    assert_eq!(only_posts.normalize(&request).await.unwrap().changes, []);
    assert_eq!(
        only_posts.delivery_id(&request).as_deref(),
        Some("8f14e45fceea167a5a36dedd4bea2543f1d2c3b4a5e6f708192a3b4c5d6e7f80")
    );

    let mut no_topic = headers.clone();
    no_topic.remove("x-contentful-topic");
    let request = WebhookRequest {
        headers: &no_topic,
        body: &body,
        received_at: received_at(),
    };
    assert!(matches!(
        only_posts.normalize(&request).await,
        Err(AdapterError::MissingHeader(_))
    ));
}

#[tokio::test]
async fn wrong_missing_stale_and_tampered_signatures_are_refused() {
    let adapter = adapter();
    let body = fixture("entry_publish.json");
    let topic = "ContentManagement.Entry.publish";
    let now = received_at();
    let check = |headers: HeaderMap, body: &[u8]| {
        let adapter = &adapter;
        let body = body.to_vec();
        async move {
            let request = WebhookRequest {
                headers: &headers,
                body: &body,
                received_at: received_at(),
            };
            adapter.verify(&request).await
        }
    };
    let mismatch = Err(SignatureError::Mismatch {
        header: "x-contentful-signature",
    });

    let wrong_secret = "Z".repeat(64);
    assert_eq!(
        check(
            signed_headers(&wrong_secret, "/webhooks/contentful", topic, now, &body),
            &body
        )
        .await,
        mismatch
    );
    // Signed for another URL path.
    assert_eq!(
        check(
            signed_headers(SIGNING_SECRET, "/other", topic, now, &body),
            &body
        )
        .await,
        mismatch
    );
    // A signed header changed on the way: delete dressed up as publish.
    let mut swapped = signed_headers(SIGNING_SECRET, "/webhooks/contentful", topic, now, &body);
    swapped.insert(
        "x-contentful-topic",
        HeaderValue::from_static("ContentManagement.Entry.delete"),
    );
    assert_eq!(check(swapped, &body).await, mismatch);
    // The body changed.
    let good = signed_headers(SIGNING_SECRET, "/webhooks/contentful", topic, now, &body);
    assert_eq!(check(good.clone(), b"{}").await, mismatch);

    let mut missing = good.clone();
    missing.remove("x-contentful-signature");
    assert_eq!(
        check(missing, &body).await,
        Err(SignatureError::Missing {
            header: "x-contentful-signature"
        })
    );

    let stale = signed_headers(
        SIGNING_SECRET,
        "/webhooks/contentful",
        topic,
        now - Duration::seconds(31),
        &body,
    );
    assert_eq!(
        check(stale, &body).await,
        Err(SignatureError::Stale {
            age_secs: 31,
            window_secs: 30
        })
    );

    assert_eq!(check(good, &body).await, Ok(()));
}

#[tokio::test]
async fn shared_header_secret_when_request_signing_is_off() {
    let adapter = ContentfulAdapter::new(&Settings::from_table(
        "contentful",
        [
            ("locale", "en-US"),
            ("webhook_secret", "s3cret-value"),
            ("secret_header", "X-Site-Secret"),
        ],
    ))
    .unwrap();
    let body = fixture("asset_publish.json");
    let verify = |value: Option<&'static str>| {
        let adapter = &adapter;
        let body = body.clone();
        async move {
            let mut headers = HeaderMap::new();
            if let Some(v) = value {
                headers.insert("x-site-secret", HeaderValue::from_static(v));
            }
            let request = WebhookRequest {
                headers: &headers,
                body: &body,
                received_at: received_at(),
            };
            adapter.verify(&request).await
        }
    };
    assert_eq!(verify(Some("s3cret-value")).await, Ok(()));
    assert_eq!(
        verify(Some("s3cret-valuf")).await,
        Err(SignatureError::Mismatch {
            header: "x-site-secret"
        })
    );
    assert_eq!(
        verify(None).await,
        Err(SignatureError::Missing {
            header: "x-site-secret"
        })
    );
}

#[test]
fn configuration_is_checked_up_front() {
    let missing_locale = ContentfulAdapter::new(&Settings::from_table(
        "contentful",
        [("signing_secret", SIGNING_SECRET)],
    ));
    assert_eq!(
        missing_locale.unwrap_err(),
        ConfigError::Missing {
            provider: "contentful",
            setting: "locale",
            env: "CONTENTFUL_LOCALE".into()
        }
    );
    let no_auth =
        ContentfulAdapter::new(&Settings::from_table("contentful", [("locale", "en-US")]))
            .unwrap_err();
    assert!(
        no_auth.to_string().contains("CONTENTFUL_SIGNING_SECRET"),
        "{no_auth}"
    );
    assert!(no_auth.to_string().contains("webhook_secret"), "{no_auth}");
    let short = ContentfulAdapter::new(&Settings::from_table(
        "contentful",
        [("locale", "en-US"), ("signing_secret", "short")],
    ))
    .unwrap_err();
    assert!(short.to_string().contains("64 characters"), "{short}");
    // The secret never shows in an error.
    assert!(!short.to_string().contains("short\""));
    let bad_path = ContentfulAdapter::new(&Settings::from_table(
        "contentful",
        [
            ("locale", "en-US"),
            ("signing_secret", SIGNING_SECRET),
            ("webhook_path", "/hook?x=1"),
        ],
    ))
    .unwrap_err();
    assert!(bad_path.to_string().contains("webhook_path"), "{bad_path}");
}

fn adapter_with(extra: &[(&str, &str)]) -> ContentfulAdapter {
    let mut table = vec![("locale", "en-US"), ("signing_secret", SIGNING_SECRET)];
    table.extend_from_slice(extra);
    ContentfulAdapter::new(&Settings::from_table("contentful", table)).unwrap()
}

const RICH_DESCRIPTION: &str = "<p>Soft, <b>organic</b> cotton, knitted in Portugal.</p>\
    <ul><li><p>180 g/m²</p></li><li><p>See the \
    <a href=\"https://shop.example.test/size-guide\">size guide</a>.</p></li></ul>";

#[tokio::test]
async fn rich_text_in_a_description_is_rendered() {
    // A product whose only Rich Text field is `description`, with the default field map.
    let topic = "ContentManagement.Entry.publish";
    let item =
        only_upsert(deliver_to(&adapter_with(&[]), topic, "entry_rich_description.json").await);
    assert_eq!(item.content_type, ContentType::Product);
    assert_eq!(item.description.as_deref(), Some(RICH_DESCRIPTION));
    assert_eq!(item.body, None);
    // The raw document stays with the other fields.
    assert_eq!(
        item.provider_data["fields"]["description"]["nodeType"],
        "document"
    );
    // No `title` or `name` field: the id stands in.
    assert_eq!(item.title, "6dbjWqNd9SqccegcqYq224");
    item.validate().unwrap();
}

#[tokio::test]
async fn field_map_names_the_contentful_fields_of_each_unified_field() {
    let adapter = adapter_with(&[
        (
            "field_map",
            "title=productName, featured_image=featuredProductImage, body=description, \
             description=summary|teaser",
        ),
        ("currency", "EUR"),
    ]);
    let topic = "ContentManagement.Entry.publish";
    let item = only_upsert(deliver_to(&adapter, topic, "entry_rich_description.json").await);
    assert_eq!(item.title, "Organic Cotton Tee");
    assert_eq!(item.slug, "organic-cotton-tee");
    // Mapped to body, the Rich Text renders there and is kept raw once, as `rich_text`.
    assert_eq!(item.body.as_deref(), Some(RICH_DESCRIPTION));
    assert_eq!(item.description, None);
    assert_eq!(item.provider_data["rich_text"]["nodeType"], "document");
    assert!(item.provider_data["fields"].get("description").is_none());
    assert_eq!(item.price.unwrap().amount.to_string(), "29.99");
    assert_eq!(item.tags, ["apparel"]);

    // Rich Text mapped to a plain-text field gives its text.
    let adapter = adapter_with(&[("field_map", "title=description")]);
    let item = only_upsert(deliver_to(&adapter, topic, "entry_rich_description.json").await);
    assert_eq!(
        item.title,
        "Soft, organic cotton, knitted in Portugal. 180 g/m² See the size guide."
    );

    for bad in ["headline=productName", "body", "body=|"] {
        let err = ContentfulAdapter::new(&Settings::from_table(
            "contentful",
            [
                ("locale", "en-US"),
                ("signing_secret", SIGNING_SECRET),
                ("field_map", bad),
            ],
        ))
        .unwrap_err();
        assert!(
            matches!(&err, ConfigError::Invalid { setting, .. } if *setting == "field_map"),
            "{bad}: {err}"
        );
    }
}
