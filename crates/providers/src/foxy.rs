//! Foxy (FoxyCart), through JSON webhooks.
//!
//! Create a JSON webhook in the Foxy admin (Settings → Webhooks) for the `transaction`
//! resource with the URL `POST /webhooks/foxy` and the query `zoom=items`, so that the
//! transaction's items are embedded; its encryption key is `webhook_secret`.
//!
//! - Signature: `Foxy-Webhook-Signature` is the hex HMAC-SHA256 of the raw body under the
//!   encryption key, compared in constant time.
//! - Event: the `Foxy-Webhook-Event` header. `transaction/created` lowers the stock of every
//!   item (`_embedded["fx:items"]`) by its quantity, matched by its `code` as a SKU; items
//!   without a code are skipped; a quantity that is negative or past `i64::MAX` is a
//!   malformed payload (400). Transactions whose `status` is `declined`, `rejected`,
//!   `voided` or `refunded` sold nothing and change nothing. Every other event (including
//!   `transaction/refeed`, a re-send of a transaction already counted, and subscription and
//!   customer events) is acknowledged and ignored.
//! - Delivery id: `<event>:<transaction id>`, so a retried delivery never moves stock twice.
//!
//! Settings: `webhook_secret` (required).

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;
use unified_content::ProviderType;

use crate::change::{Change, InventoryUpdate, Normalized, StockChange, StockTarget};
use crate::error::{AdapterError, ConfigError, SignatureError};
use crate::fields::{json_body, order_quantity, text, timestamp};
use crate::secret::Secret;
use crate::settings::Settings;
use crate::signature::{constant_time_eq, hmac_sha256};
use crate::{ProviderAdapter, WebhookRequest};

const NAME: &str = "foxy";
const SIGNATURE_HEADER: &str = "Foxy-Webhook-Signature";
const EVENT_HEADER: &str = "foxy-webhook-event";
/// The webhook events this adapter acts on.
pub const EVENTS: &[&str] = &["transaction/created"];
/// Transaction statuses of sales that did not happen.
const UNSOLD_STATUSES: &[&str] = &["declined", "rejected", "voided", "refunded"];

/// The Foxy adapter.
#[derive(Debug)]
pub struct FoxyAdapter {
    secret: Secret,
}

/// Builds the adapter from its settings (see the module documentation).
pub fn build(settings: &Settings) -> Result<Arc<dyn ProviderAdapter>, ConfigError> {
    Ok(Arc::new(FoxyAdapter::new(settings)?))
}

impl FoxyAdapter {
    /// Checks every setting up front.
    pub fn new(settings: &Settings) -> Result<Self, ConfigError> {
        Ok(FoxyAdapter {
            secret: settings.require_secret("webhook_secret")?,
        })
    }
}

/// The transaction id as text, whether Foxy sent a number or a string.
fn transaction_id(body: &Value) -> Option<String> {
    match body.get("id")? {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        _ => None,
    }
}

#[async_trait]
impl ProviderAdapter for FoxyAdapter {
    fn name(&self) -> &'static str {
        NAME
    }

    fn provider_type(&self) -> ProviderType {
        ProviderType::Ecommerce
    }

    fn events(&self) -> &'static [&'static str] {
        EVENTS
    }

    async fn verify(&self, request: &WebhookRequest<'_>) -> Result<(), SignatureError> {
        let given = request.signature_header(SIGNATURE_HEADER)?;
        let given = hex::decode(given.trim()).map_err(|_| SignatureError::Malformed {
            header: SIGNATURE_HEADER,
            reason: "expected a hex HMAC-SHA256".into(),
        })?;
        if constant_time_eq(&hmac_sha256(&self.secret, request.body), &given) {
            Ok(())
        } else {
            Err(SignatureError::Mismatch {
                header: SIGNATURE_HEADER,
            })
        }
    }

    fn delivery_id(&self, request: &WebhookRequest<'_>) -> Option<String> {
        let event = request.header(EVENT_HEADER)?.trim();
        let body: Value = serde_json::from_slice(request.body).ok()?;
        Some(format!("{event}:{}", transaction_id(&body)?))
    }

    async fn normalize(&self, request: &WebhookRequest<'_>) -> Result<Normalized, AdapterError> {
        let event = request
            .header(EVENT_HEADER)
            .map(str::trim)
            .ok_or(AdapterError::MissingHeader("Foxy-Webhook-Event"))?
            .to_string();
        if event != "transaction/created" {
            return Ok(Normalized {
                event,
                changes: Vec::new(),
            });
        }
        let body = json_body(request.body)?;
        let status = text(body.get("status")).unwrap_or("");
        if UNSOLD_STATUSES.contains(&status) {
            return Ok(Normalized {
                event,
                changes: Vec::new(),
            });
        }
        let updated_at = timestamp(body.get("transaction_date"), "$.transaction_date")?
            .or(timestamp(body.get("date_modified"), "$.date_modified")?)
            .unwrap_or(request.received_at);
        let items = body
            .pointer("/_embedded/fx:items")
            .and_then(Value::as_array)
            .ok_or_else(|| AdapterError::Malformed {
                path: "$._embedded[\"fx:items\"]".into(),
                message: "the transaction embeds no items; add zoom=items to the webhook's query"
                    .into(),
            })?;
        let mut changes = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let Some(code) = text(item.get("code")) else {
                tracing::warn!(
                    transaction = transaction_id(&body).as_deref().unwrap_or("?"),
                    item = i,
                    "Foxy item without a code; its stock is not tracked"
                );
                continue;
            };
            let quantity = order_quantity(
                item.get("quantity"),
                &format!("$._embedded[\"fx:items\"][{i}].quantity"),
                code,
            )?;
            if quantity == 0 {
                continue;
            }
            changes.push(Change::Inventory(InventoryUpdate {
                provider_name: NAME.into(),
                target: StockTarget::Sku(code.into()),
                // The quantity is at least 0, so its negation cannot overflow.
                stock: StockChange::Adjust(-quantity),
                updated_at,
            }));
        }
        Ok(Normalized { event, changes })
    }
}
