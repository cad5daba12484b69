//! The Foxy adapter against fixtures shaped like Foxy's JSON webhooks (transaction resource,
//! zoomed items), signed as Foxy signs them.

use chrono::{DateTime, Utc};
use http::{HeaderMap, HeaderValue};
use providers::foxy::FoxyAdapter;
use providers::signature::hmac_sha256;
use providers::{
    AdapterError, Change, ConfigError, InventoryUpdate, ProviderAdapter, Secret, Settings,
    SignatureError, StockChange, StockTarget, WebhookRequest,
};

const KEY: &str = "f0xyEncrypti0nKey-8c1d2e3f4a5b6c7d";

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/foxy/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn received_at() -> DateTime<Utc> {
    "2026-11-26T10:00:00Z".parse().unwrap()
}

fn adapter() -> FoxyAdapter {
    FoxyAdapter::new(&Settings::from_table("foxy", [("webhook_secret", KEY)])).unwrap()
}

/// Foxy's headers: the event, and the hex HMAC-SHA256 of the raw body under the encryption key.
fn headers(event: Option<&str>, signature: Option<String>) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert("content-type", HeaderValue::from_static("application/json"));
    h.insert("foxy-store-id", HeaderValue::from_static("98765"));
    h.insert(
        "foxy-store-domain",
        HeaderValue::from_static("example-store"),
    );
    if let Some(e) = event {
        h.insert("foxy-webhook-event", HeaderValue::from_str(e).unwrap());
    }
    if let Some(s) = signature {
        h.insert("foxy-webhook-signature", HeaderValue::from_str(&s).unwrap());
    }
    h
}

fn sign(key: &str, body: &[u8]) -> String {
    hex::encode(hmac_sha256(&Secret::new(key), body))
}

async fn deliver(event: &str, file: &str) -> (Vec<Change>, Option<String>) {
    let body = fixture(file);
    let headers = headers(Some(event), Some(sign(KEY, &body)));
    let request = WebhookRequest {
        headers: &headers,
        body: &body,
        received_at: received_at(),
    };
    let adapter = adapter();
    adapter.verify(&request).await.unwrap();
    let n = adapter.normalize(&request).await.unwrap();
    assert_eq!(n.event, event);
    (n.changes, adapter.delivery_id(&request))
}

#[tokio::test]
async fn created_transactions_lower_stock_by_item_code() {
    let (changes, delivery) = deliver("transaction/created", "transaction_created.json").await;
    // The transaction date's -0800 offset is converted to UTC.
    let at: DateTime<Utc> = "2026-11-26T09:58:40Z".parse().unwrap();
    let adjust = |code: &str, by| {
        Change::Inventory(InventoryUpdate {
            provider_name: "foxy".into(),
            target: StockTarget::Sku(code.into()),
            stock: StockChange::Adjust(by),
            updated_at: at,
        })
    };
    // Gift wrap has no code, so its stock is not tracked.
    assert_eq!(changes, [adjust("MUG-BLUE", -1), adjust("STICKERS-3", -3)]);
    assert_eq!(delivery.as_deref(), Some("transaction/created:2296720403"));
}

#[tokio::test]
async fn declined_refeeds_and_other_events_change_nothing() {
    assert_eq!(
        deliver("transaction/created", "transaction_declined.json")
            .await
            .0,
        []
    );
    assert_eq!(
        deliver("transaction/refeed", "transaction_created.json")
            .await
            .0,
        []
    );
    assert_eq!(
        deliver("subscription/modified", "subscription_modified.json")
            .await
            .0,
        []
    );
    assert_eq!(adapter().events(), ["transaction/created"]);
}

#[tokio::test]
async fn wrong_missing_and_malformed_signatures_are_refused() {
    let adapter = adapter();
    let body = fixture("transaction_created.json");
    let verify = |signature: Option<String>, body: Vec<u8>| {
        let adapter = &adapter;
        async move {
            let headers = headers(Some("transaction/created"), signature);
            let request = WebhookRequest {
                headers: &headers,
                body: &body,
                received_at: received_at(),
            };
            adapter.verify(&request).await
        }
    };
    let mismatch = Err(SignatureError::Mismatch {
        header: "Foxy-Webhook-Signature",
    });
    assert_eq!(
        verify(Some(sign("another-key", &body)), body.clone()).await,
        mismatch
    );
    let mut tampered = body.clone();
    tampered[10] ^= 1;
    assert_eq!(verify(Some(sign(KEY, &body)), tampered).await, mismatch);
    assert_eq!(
        verify(None, body.clone()).await,
        Err(SignatureError::Missing {
            header: "Foxy-Webhook-Signature"
        })
    );
    assert!(matches!(
        verify(Some("not-hex".into()), body.clone()).await,
        Err(SignatureError::Malformed { .. })
    ));
    // Hex is read in either case.
    assert_eq!(
        verify(Some(sign(KEY, &body).to_uppercase()), body).await,
        Ok(())
    );
}

#[tokio::test]
async fn a_missing_event_header_or_items_is_a_bad_request() {
    let adapter = adapter();
    let body = fixture("transaction_created.json");
    let no_event = headers(None, Some(sign(KEY, &body)));
    let request = WebhookRequest {
        headers: &no_event,
        body: &body,
        received_at: received_at(),
    };
    assert!(matches!(
        adapter.normalize(&request).await,
        Err(AdapterError::MissingHeader("Foxy-Webhook-Event"))
    ));

    let unzoomed =
        br#"{"id": 1, "status": "captured", "transaction_date": "2026-11-26T01:58:40-0800"}"#;
    let h = headers(Some("transaction/created"), None);
    let request = WebhookRequest {
        headers: &h,
        body: unzoomed,
        received_at: received_at(),
    };
    let err = adapter.normalize(&request).await.unwrap_err();
    assert!(err.to_string().contains("zoom=items"), "{err}");
}

#[test]
fn configuration_is_checked_up_front() {
    assert_eq!(
        FoxyAdapter::new(&Settings::from_table("foxy", [("other", "x")])).unwrap_err(),
        ConfigError::Missing {
            provider: "foxy",
            setting: "webhook_secret",
            env: "FOXY_WEBHOOK_SECRET".into()
        }
    );
}

/// The created-transaction fixture with its first item's quantity replaced, re-signed.
async fn deliver_quantity(quantity: serde_json::Value) -> Result<Vec<Change>, AdapterError> {
    let mut raw: serde_json::Value =
        serde_json::from_slice(&fixture("transaction_created.json")).unwrap();
    raw["_embedded"]["fx:items"][0]["quantity"] = quantity;
    let body = serde_json::to_vec(&raw).unwrap();
    let headers = headers(Some("transaction/created"), Some(sign(KEY, &body)));
    let request = WebhookRequest {
        headers: &headers,
        body: &body,
        received_at: received_at(),
    };
    let adapter = adapter();
    adapter.verify(&request).await.unwrap();
    adapter.normalize(&request).await.map(|n| n.changes)
}

#[tokio::test]
async fn negative_and_out_of_range_quantities_are_refused() {
    // The largest quantity an order can carry lowers stock by exactly that much.
    let changes = deliver_quantity(i64::MAX.into()).await.unwrap();
    assert!(
        matches!(&changes[0], Change::Inventory(InventoryUpdate { stock: StockChange::Adjust(by), .. }) if *by == -i64::MAX),
        "{changes:?}"
    );
    // A negative quantity would restock on a sale; past i64 it cannot be held: both are a
    // bad request naming the item and the field.
    for quantity in [
        serde_json::json!(i64::MIN),
        serde_json::json!(-5),
        serde_json::json!(u64::MAX),
    ] {
        match deliver_quantity(quantity.clone()).await {
            Err(AdapterError::Malformed { path, message }) => {
                assert_eq!(path, "$._embedded[\"fx:items\"][0].quantity", "{quantity}");
                assert!(message.contains("MUG-BLUE"), "{message}");
            }
            other => panic!("{quantity}: expected a malformed payload, got {other:?}"),
        }
    }
}
