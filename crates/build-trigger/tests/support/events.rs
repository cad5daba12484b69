//! Real-shaped content events, as the integration API publishes them.

use chrono::{DateTime, TimeZone, Utc};
use unified_content::{ContentEvent, ContentType, EventType};

/// A fixed start time, so every test reads the same clock.
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 10, 0, 0).unwrap()
}

/// `t0` plus `ms` milliseconds.
pub fn at_ms(ms: i64) -> DateTime<Utc> {
    t0() + chrono::TimeDelta::milliseconds(ms)
}

/// An event of `client` about item `id`, whose content says `title`, stored at `at`.
pub fn event(
    client: &str,
    content_type: ContentType,
    event_type: EventType,
    id: &str,
    title: &str,
    at: DateTime<Utc>,
) -> ContentEvent {
    let provider = match content_type {
        ContentType::Product | ContentType::Collection => "shopify",
        _ => "sanity",
    };
    let item = serde_json::json!({
        "id": id,
        "title": title,
        "slug": unified_content::slugify(title),
        "content_type": content_type.as_str(),
        "provider_type": if provider == "shopify" { "ecommerce" } else { "cms" },
        "provider_name": provider,
        "created_at": "2026-11-01T00:00:00Z",
        "updated_at": at.to_rfc3339(),
        "synced_at": at.to_rfc3339(),
    });
    ContentEvent {
        event_id: format!("evt-{id}-{}", at.timestamp_millis()),
        event_type,
        content_id: id.to_owned(),
        content_type,
        provider_name: provider.to_owned(),
        timestamp: at,
        requires_build: true,
        content_data: Some(serde_json::from_value(item).expect("a valid unified content item")),
        previous_content: None,
        client_id: client.to_owned(),
        environment: unified_content::Environment::Prod,
    }
}

/// `n` article updates of distinct items, all at `at`.
pub fn articles(client: &str, n: usize, at: DateTime<Utc>) -> Vec<ContentEvent> {
    (0..n)
        .map(|i| {
            let id = format!("article-{i}");
            event(
                client,
                ContentType::Article,
                EventType::ContentUpdated,
                &id,
                &id,
                at,
            )
        })
        .collect()
}
