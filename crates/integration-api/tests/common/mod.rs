//! Shared test parts: a real HMAC-signed test adapter and an app wired to an in-memory store.
#![allow(dead_code)]

pub mod aws;

use std::sync::Arc;

use async_trait::async_trait;
use axum::Router;
use axum::body::Body;
use chrono::{DateTime, Utc};
use http::{HeaderMap, Request, Response};
use http_body_util::BodyExt;
use integration_api::store::ContentStore;
use integration_api::{EventSource, Ingest, LocalPublisher, RouterOptions, SqliteStore, router};
use providers::signature::{constant_time_eq, hmac_sha256};
use providers::{
    AdapterError, Change, InventoryUpdate, Normalized, ProviderAdapter, ProviderRegistry, Secret,
    SignatureError, StockChange, StockTarget, WebhookRequest,
};
use serde_json::{Value, json};
use tokio::sync::mpsc::UnboundedReceiver;
use tower::ServiceExt;
use unified_content::{ContentEvent, ContentType, Environment, ProviderType, UnifiedContent};

pub const SECRET: &str = "test-webhook-secret";
pub const SIGNATURE: &str = "X-Test-Signature";

/// A provider whose deliveries carry unified items directly, signed with HMAC-SHA256 (hex) of
/// the raw body in `X-Test-Signature`; `X-Test-Event` names the event and `X-Test-Delivery`
/// the delivery. A `fetch` URL in the body is read first, as the GitHub adapters read files.
pub struct TestAdapter {
    pub secret: Secret,
}

#[async_trait]
impl ProviderAdapter for TestAdapter {
    fn name(&self) -> &'static str {
        "test"
    }

    fn provider_type(&self) -> ProviderType {
        ProviderType::Ecommerce
    }

    fn events(&self) -> &'static [&'static str] {
        &["items"]
    }

    async fn verify(&self, request: &WebhookRequest<'_>) -> Result<(), SignatureError> {
        let given = request
            .header(SIGNATURE)
            .ok_or(SignatureError::Missing { header: SIGNATURE })?;
        let given = hex::decode(given).map_err(|e| SignatureError::Malformed {
            header: SIGNATURE,
            reason: e.to_string(),
        })?;
        if constant_time_eq(&given, &hmac_sha256(&self.secret, request.body)) {
            Ok(())
        } else {
            Err(SignatureError::Mismatch { header: SIGNATURE })
        }
    }

    fn delivery_id(&self, request: &WebhookRequest<'_>) -> Option<String> {
        request.header("X-Test-Delivery").map(str::to_string)
    }

    async fn normalize(&self, request: &WebhookRequest<'_>) -> Result<Normalized, AdapterError> {
        let body: Value =
            serde_json::from_slice(request.body).map_err(|e| AdapterError::from_json(&e, "$"))?;
        if let Some(url) = body.get("fetch").and_then(Value::as_str) {
            let failed = |message: String| AdapterError::Upstream {
                url: url.to_string(),
                message,
            };
            let response = reqwest::get(url).await.map_err(|e| failed(e.to_string()))?;
            if !response.status().is_success() {
                return Err(failed(format!("status {}", response.status())));
            }
        }
        let mut changes = Vec::new();
        let list = |key: &str| {
            body.get(key)
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
        };
        for (i, item) in list("upserts").into_iter().enumerate() {
            let item: UnifiedContent = serde_json::from_value(item)
                .map_err(|e| AdapterError::from_json(&e, format!("$.upserts[{i}]")))?;
            changes.push(Change::Upsert(item));
        }
        for (i, t) in list("tombstones").into_iter().enumerate() {
            let at = |field: &str| -> Result<DateTime<Utc>, AdapterError> {
                t.get(field)
                    .and_then(Value::as_str)
                    .and_then(|s| s.parse().ok())
                    .ok_or_else(|| AdapterError::Malformed {
                        path: format!("$.tombstones[{i}].{field}"),
                        message: "expected an RFC 3339 time".into(),
                    })
            };
            changes.push(Change::Tombstone {
                id: t["id"].as_str().unwrap_or_default().to_string(),
                content_type: None,
                provider_name: "test".into(),
                deleted_at: at("deleted_at")?,
            });
        }
        for s in list("stock") {
            let key = s["target"].as_str().unwrap_or_default().to_string();
            let target = match s["kind"].as_str() {
                Some("sku") => StockTarget::Sku(key),
                Some("variant") => StockTarget::Variant(key),
                Some("inventory_item") => StockTarget::InventoryItem(key),
                _ => StockTarget::Item(key),
            };
            let stock = match s.get("adjust").and_then(Value::as_i64) {
                Some(d) => StockChange::Adjust(d),
                None => StockChange::Set(s["set"].as_i64().unwrap_or_default()),
            };
            changes.push(Change::Inventory(InventoryUpdate {
                provider_name: "test".into(),
                target,
                stock,
                updated_at: s["updated_at"].as_str().unwrap().parse().unwrap(),
            }));
        }
        Ok(Normalized {
            event: request
                .header("X-Test-Event")
                .unwrap_or("items")
                .to_string(),
            changes,
        })
    }
}

pub struct App {
    pub router: Router,
    pub store: Arc<SqliteStore>,
    pub events: UnboundedReceiver<ContentEvent>,
}

impl App {
    /// Every event published so far.
    pub fn drain_events(&mut self) -> Vec<ContentEvent> {
        let mut out = Vec::new();
        while let Ok(e) = self.events.try_recv() {
            out.push(e);
        }
        out
    }
}

pub fn registry_with(adapters: Vec<Arc<dyn ProviderAdapter>>) -> ProviderRegistry {
    let mut registry = ProviderRegistry::default();
    registry.insert(Arc::new(TestAdapter {
        secret: Secret::new(SECRET),
    }));
    for a in adapters {
        registry.insert(a);
    }
    registry
}

pub fn app_with(store: SqliteStore, registry: ProviderRegistry, options: RouterOptions) -> App {
    let store = Arc::new(store);
    let (publisher, events) = LocalPublisher::channel();
    let ingest = Ingest::new(
        registry,
        store.clone() as Arc<dyn ContentStore>,
        Arc::new(publisher),
        EventSource {
            client_id: "acme".into(),
            environment: Environment::Staging,
        },
    );
    App {
        router: router(ingest, options),
        store,
        events,
    }
}

pub fn app() -> App {
    app_with(
        SqliteStore::in_memory().unwrap(),
        registry_with(Vec::new()),
        RouterOptions::default(),
    )
}

/// A product as the test provider sends it.
pub fn product(id: &str, title: &str, updated_at: &str) -> Value {
    json!({
        "id": id,
        "title": title,
        "slug": unified_content::slugify(title),
        "content_type": "product",
        "status": "published",
        "provider_type": "ecommerce",
        "provider_name": "test",
        "created_at": "2026-01-01T00:00:00Z",
        "updated_at": updated_at,
        "synced_at": "2026-11-01T00:00:00Z"
    })
}

pub fn sign(body: &[u8]) -> String {
    hex::encode(hmac_sha256(&Secret::new(SECRET), body))
}

/// A signed POST of the test provider.
pub fn webhook(body: &Value, delivery: &str) -> Request<Body> {
    let bytes = serde_json::to_vec(body).unwrap();
    Request::post("/webhooks/test")
        .header("content-type", "application/json")
        .header(SIGNATURE, sign(&bytes))
        .header("X-Test-Delivery", delivery)
        .body(Body::from(bytes))
        .unwrap()
}

pub fn get(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).unwrap()
}

/// Sends a request through the router; returns status, headers and JSON body.
pub async fn send(router: &Router, request: Request<Body>) -> (u16, HeaderMap, Value) {
    let response: Response<Body> = router.clone().oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let value = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            panic!(
                "response is not JSON ({e}): {}",
                String::from_utf8_lossy(&bytes)
            )
        })
    };
    (status, headers, value)
}

pub fn content_type_of(v: &Value) -> ContentType {
    serde_json::from_value(v["content_type"].clone()).unwrap()
}
