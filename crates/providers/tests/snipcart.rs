//! The Snipcart adapter: request tokens confirmed by a loopback stand-in for Snipcart's
//! request-validation endpoint, and order fixtures shaped like Snipcart's order events.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap as AxumHeaders, StatusCode};
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use http::{HeaderMap, HeaderValue};
use providers::snipcart::SnipcartAdapter;
use providers::{
    Change, ConfigError, InventoryUpdate, ProviderAdapter, Settings, SignatureError, StockChange,
    StockTarget, WebhookRequest,
};

const KEY: &str = "ST_MzQ5ZTg3ZDEtYjAzOS00NGI5LTk5YTQtZTc0ZDg1ZjE5NjU4";
const GOOD_TOKEN: &str = "0bf2b1b4-6b2d-4f36-9d5f-6a3f1b8e2c11";

/// What the stand-in saw: the token and the Authorization header of every request.
type Seen = Arc<Mutex<Vec<(String, Option<String>)>>>;

async fn validate(
    State(seen): State<Seen>,
    Path(token): Path<String>,
    headers: AxumHeaders,
) -> (StatusCode, &'static str) {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    seen.lock().unwrap().push((token.clone(), auth.clone()));
    let expected = format!("Basic {}", STANDARD.encode(format!("{KEY}:")));
    if auth.as_deref() != Some(expected.as_str()) {
        return (StatusCode::UNAUTHORIZED, r#"{"message":"Unauthorized"}"#);
    }
    if token == GOOD_TOKEN {
        (
            StatusCode::OK,
            r#"{"token":"0bf2b1b4-6b2d-4f36-9d5f-6a3f1b8e2c11","resourceUrl":"/api/requestvalidation"}"#,
        )
    } else {
        (StatusCode::NOT_FOUND, r#"{"message":"Token not found"}"#)
    }
}

/// Starts the stand-in on a loopback port; returns its base URL and what it saw.
async fn snipcart_stand_in() -> (String, Seen) {
    let seen = Seen::default();
    let app = Router::new()
        .route("/api/requestvalidation/{token}", get(validate))
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, seen)
}

fn adapter(base: &str, key: &str, match_by: &str) -> SnipcartAdapter {
    SnipcartAdapter::new(&Settings::from_table(
        "snipcart",
        [
            ("secret_api_key", key),
            ("api_base_url", base),
            ("match_items_by", match_by),
        ],
    ))
    .unwrap()
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/snipcart/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn received_at() -> DateTime<Utc> {
    "2026-11-26T10:00:00Z".parse().unwrap()
}

fn headers(token: Option<&str>) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(
        "content-type",
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    h.insert(
        "user-agent",
        HeaderValue::from_static("Snipcart-Webhook/3.0"),
    );
    if let Some(t) = token {
        h.insert("x-snipcart-requesttoken", HeaderValue::from_str(t).unwrap());
    }
    h
}

async fn normalize(adapter: &SnipcartAdapter, file: &str) -> (String, Vec<Change>, Option<String>) {
    let body = fixture(file);
    let headers = headers(Some(GOOD_TOKEN));
    let request = WebhookRequest {
        headers: &headers,
        body: &body,
        received_at: received_at(),
    };
    let n = adapter.normalize(&request).await.unwrap();
    (n.event, n.changes, adapter.delivery_id(&request))
}

fn stock(target: StockTarget, by: i64, at: &str) -> Change {
    Change::Inventory(InventoryUpdate {
        provider_name: "snipcart".into(),
        target,
        stock: StockChange::Adjust(by),
        updated_at: at.parse().unwrap(),
    })
}

#[tokio::test]
async fn tokens_are_confirmed_with_snipcart() {
    let (base, seen) = snipcart_stand_in().await;
    let body = fixture("order_completed.json");
    let check = |adapter: SnipcartAdapter, token: Option<&'static str>| {
        let body = body.clone();
        async move {
            let headers = headers(token);
            let request = WebhookRequest {
                headers: &headers,
                body: &body,
                received_at: received_at(),
            };
            adapter.verify(&request).await
        }
    };

    assert_eq!(
        check(adapter(&base, KEY, "sku"), Some(GOOD_TOKEN)).await,
        Ok(())
    );
    let expected_auth = format!("Basic {}", STANDARD.encode(format!("{KEY}:")));
    assert_eq!(
        seen.lock().unwrap().as_slice(),
        [(GOOD_TOKEN.to_string(), Some(expected_auth.clone()))]
    );

    // A token Snipcart does not know.
    let unknown = check(
        adapter(&base, KEY, "sku"),
        Some("11111111-2222-3333-4444-555555555555"),
    )
    .await;
    assert!(
        matches!(&unknown, Err(SignatureError::Rejected { reason }) if reason.contains("404")),
        "{unknown:?}"
    );

    // A wrong secret key: Snipcart refuses, and the key never appears in the error.
    let wrong_key = check(adapter(&base, "ST_wrong", "sku"), Some(GOOD_TOKEN)).await;
    let Err(SignatureError::Rejected { reason }) = &wrong_key else {
        panic!("{wrong_key:?}")
    };
    assert!(
        reason.contains("401") && !reason.contains("ST_wrong"),
        "{reason}"
    );

    // No token, or one that would change the URL path: refused without asking Snipcart.
    let before = seen.lock().unwrap().len();
    assert_eq!(
        check(adapter(&base, KEY, "sku"), None).await,
        Err(SignatureError::Missing {
            header: "X-Snipcart-RequestToken"
        })
    );
    assert!(matches!(
        check(adapter(&base, KEY, "sku"), Some("../../admin")).await,
        Err(SignatureError::Malformed { .. })
    ));
    assert_eq!(seen.lock().unwrap().len(), before);
}

#[tokio::test]
async fn unreachable_validation_service_refuses_the_delivery() {
    // Bind, then drop, so that nothing listens on the port.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let adapter = adapter(&format!("http://127.0.0.1:{port}"), KEY, "sku");
    let body = fixture("order_completed.json");
    let headers = headers(Some(GOOD_TOKEN));
    let request = WebhookRequest {
        headers: &headers,
        body: &body,
        received_at: received_at(),
    };
    let result = adapter.verify(&request).await;
    assert!(
        matches!(&result, Err(SignatureError::Rejected { reason }) if reason.contains("could not reach")),
        "{result:?}"
    );
}

#[tokio::test]
async fn completed_orders_lower_stock_by_sku() {
    let adapter = adapter("http://127.0.0.1:9", KEY, "sku");
    let (event, changes, delivery) = normalize(&adapter, "order_completed.json").await;
    assert_eq!(event, "order.completed");
    let at = "2026-11-26T09:58:12.5703196Z";
    assert_eq!(
        changes,
        [
            stock(StockTarget::Sku("MUG-BLUE".into()), -2, at),
            stock(StockTarget::Sku("TSHIRT-L".into()), -1, at)
        ]
    );
    assert_eq!(
        delivery.as_deref(),
        Some("order.completed:6f1c1d9e-8a7b-4c3d-9e2f-1a0b9c8d7e6f")
    );
}

#[tokio::test]
async fn cancelled_orders_put_stock_back_and_match_by_id_when_asked() {
    let adapter = adapter("http://127.0.0.1:9", KEY, "id");
    let (event, changes, delivery) = normalize(&adapter, "order_status_cancelled.json").await;
    assert_eq!(event, "order.status.changed");
    let at = "2026-11-26T11:20:00.1234567Z";
    assert_eq!(
        changes,
        [
            stock(StockTarget::Item("MUG-BLUE".into()), 2, at),
            stock(StockTarget::Item("TSHIRT-L".into()), 1, at)
        ]
    );
    assert_eq!(
        delivery.as_deref(),
        Some("order.status.changed:6f1c1d9e-8a7b-4c3d-9e2f-1a0b9c8d7e6f:Cancelled")
    );
}

#[tokio::test]
async fn other_events_are_acknowledged_and_ignored() {
    let adapter = adapter("http://127.0.0.1:9", KEY, "sku");
    let (event, changes, _) = normalize(&adapter, "order_status_shipped.json").await;
    assert_eq!((event.as_str(), changes), ("order.status.changed", vec![]));
    let (event, changes, _) = normalize(&adapter, "order_refund_created.json").await;
    assert_eq!((event.as_str(), changes), ("order.refund.created", vec![]));
    assert_eq!(
        adapter.events(),
        ["order.completed", "order.status.changed"]
    );
}

#[test]
fn configuration_is_checked_up_front() {
    assert_eq!(
        SnipcartAdapter::new(&Settings::from_table(
            "snipcart",
            [("api_base_url", "https://app.snipcart.com")]
        ))
        .unwrap_err(),
        ConfigError::Missing {
            provider: "snipcart",
            setting: "secret_api_key",
            env: "SNIPCART_SECRET_API_KEY".into()
        }
    );
    let bad_url = SnipcartAdapter::new(&Settings::from_table(
        "snipcart",
        [
            ("secret_api_key", KEY),
            ("api_base_url", "app.snipcart.com"),
        ],
    ))
    .unwrap_err();
    assert!(bad_url.to_string().contains("api_base_url"), "{bad_url}");
    let bad_match = SnipcartAdapter::new(&Settings::from_table(
        "snipcart",
        [("secret_api_key", KEY), ("match_items_by", "name")],
    ))
    .unwrap_err();
    assert!(
        bad_match.to_string().contains("match_items_by"),
        "{bad_match}"
    );
}

/// An order fixture with its first item's quantity replaced, confirmed by the stand-in.
async fn order_with_quantity(
    file: &str,
    quantity: serde_json::Value,
) -> Result<Vec<Change>, providers::AdapterError> {
    let (base, _) = snipcart_stand_in().await;
    let adapter = adapter(&base, KEY, "sku");
    let mut raw: serde_json::Value = serde_json::from_slice(&fixture(file)).unwrap();
    raw["content"]["items"][0]["quantity"] = quantity;
    let body = serde_json::to_vec(&raw).unwrap();
    let headers = headers(Some(GOOD_TOKEN));
    let request = WebhookRequest {
        headers: &headers,
        body: &body,
        received_at: received_at(),
    };
    adapter.verify(&request).await.unwrap();
    adapter.normalize(&request).await.map(|n| n.changes)
}

#[tokio::test]
async fn negative_and_out_of_range_quantities_are_refused() {
    let adjust = |changes: &[Change]| match &changes[0] {
        Change::Inventory(InventoryUpdate {
            stock: StockChange::Adjust(by),
            ..
        }) => *by,
        other => panic!("expected a stock change, got {other:?}"),
    };
    // The largest quantity an order can carry moves stock by exactly that much, either way.
    let sold = order_with_quantity("order_completed.json", i64::MAX.into()).await;
    assert_eq!(adjust(&sold.unwrap()), -i64::MAX);
    let back = order_with_quantity("order_status_cancelled.json", i64::MAX.into()).await;
    assert_eq!(adjust(&back.unwrap()), i64::MAX);

    // A negative quantity would turn a sale into a restock (an order of -5 raised stock by 5);
    // past i64 it cannot be held. Both are a bad request naming the item and the field.
    for file in ["order_completed.json", "order_status_cancelled.json"] {
        for quantity in [
            serde_json::json!(i64::MIN),
            serde_json::json!(-5),
            serde_json::json!(u64::MAX),
        ] {
            match order_with_quantity(file, quantity.clone()).await {
                Err(providers::AdapterError::Malformed { path, message }) => {
                    assert_eq!(path, "$.content.items[0].quantity", "{file} {quantity}");
                    assert!(message.contains("MUG-BLUE"), "{message}");
                }
                other => panic!("{file} {quantity}: expected a malformed payload, got {other:?}"),
            }
        }
    }
}
