//! Snipcart, through its order webhooks.
//!
//! Set the webhook URL in Snipcart's dashboard (Account → Webhooks) to
//! `POST /webhooks/snipcart`.
//!
//! - Authentication: Snipcart signs nothing. Each delivery carries a one-time token in
//!   `X-Snipcart-RequestToken`, confirmed by
//!   `GET {api_base_url}/api/requestvalidation/{token}` with the secret API key as the basic-auth
//!   user name and an empty password; only a 200 answer lets the delivery through. Redirects are
//!   not followed, so the key never travels elsewhere.
//! - Events: `order.completed` lowers the stock of every ordered item by its quantity;
//!   `order.status.changed` to `Cancelled` puts the quantities back. Everything else (refunds,
//!   payment and tracking changes, shipping and tax requests, customer events) is acknowledged
//!   and changes nothing: a refund returns money, not goods. A quantity that is negative (it
//!   would turn a sale into a restock) or past `i64::MAX` is a malformed payload (400).
//! - Matching: an item's `id` (its `data-item-id`) names the product. With `match_items_by =
//!   sku` (the default) it is matched as a SKU, the key shared with products from other shops
//!   or CMSes; with `id` it must be the unified item id.
//! - Delivery id: `<eventName>:<order token>` (plus the new status for status changes), so a
//!   repeated delivery of one order never moves stock twice.
//!
//! Settings: `secret_api_key` (required), `api_base_url` (default `https://app.snipcart.com`),
//! `match_items_by` (`sku` or `id`).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;
use unified_content::ProviderType;
use url::Url;

use crate::change::{Change, InventoryUpdate, Normalized, StockChange, StockTarget};
use crate::error::{AdapterError, ConfigError, SignatureError};
use crate::fields::{json_body, order_quantity, text, timestamp};
use crate::secret::Secret;
use crate::settings::Settings;
use crate::{ProviderAdapter, WebhookRequest};

const NAME: &str = "snipcart";
const TOKEN_HEADER: &str = "X-Snipcart-RequestToken";
/// The webhook events this adapter acts on.
pub const EVENTS: &[&str] = &["order.completed", "order.status.changed"];

/// The Snipcart adapter.
#[derive(Debug)]
pub struct SnipcartAdapter {
    secret_api_key: Secret,
    api_base_url: Url,
    match_by_sku: bool,
    client: reqwest::Client,
}

/// Builds the adapter from its settings (see the module documentation).
pub fn build(settings: &Settings) -> Result<Arc<dyn ProviderAdapter>, ConfigError> {
    Ok(Arc::new(SnipcartAdapter::new(settings)?))
}

impl SnipcartAdapter {
    /// Checks every setting up front.
    pub fn new(settings: &Settings) -> Result<Self, ConfigError> {
        let secret_api_key = settings.require_secret("secret_api_key")?;
        let raw_base = settings
            .get("api_base_url")
            .unwrap_or("https://app.snipcart.com");
        let api_base_url = Url::parse(raw_base)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
            .ok_or_else(|| {
                settings.invalid(
                    "api_base_url",
                    format!("'{raw_base}' is not an http(s) URL such as https://app.snipcart.com"),
                )
            })?;
        let match_by_sku = match settings.get("match_items_by").unwrap_or("sku") {
            "sku" => true,
            "id" => false,
            other => {
                return Err(settings.invalid(
                    "match_items_by",
                    format!("'{other}' is neither 'sku' nor 'id'"),
                ));
            }
        };
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| {
                settings.invalid("api_base_url", format!("cannot build an HTTP client: {e}"))
            })?;
        Ok(SnipcartAdapter {
            secret_api_key,
            api_base_url,
            match_by_sku,
            client,
        })
    }

    fn validation_url(&self, token: &str) -> String {
        format!(
            "{}/api/requestvalidation/{token}",
            self.api_base_url.as_str().trim_end_matches('/')
        )
    }
}

/// Whether a token is safe to put in a URL path: Snipcart's tokens are GUIDs.
fn is_plain_token(token: &str) -> bool {
    (1..=128).contains(&token.len())
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[async_trait]
impl ProviderAdapter for SnipcartAdapter {
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
        let token = request.signature_header(TOKEN_HEADER)?.trim();
        if !is_plain_token(token) {
            return Err(SignatureError::Malformed {
                header: TOKEN_HEADER,
                reason: "expected up to 128 letters, digits, '-' or '_'".into(),
            });
        }
        let url = self.validation_url(token);
        let response = self
            .client
            .get(&url)
            .basic_auth(self.secret_api_key.expose(), Some(""))
            .header(http::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| SignatureError::Rejected {
                reason: format!(
                    "could not reach {}: {}",
                    self.validation_url("<token>"),
                    e.without_url()
                ),
            })?;
        match response.status() {
            reqwest::StatusCode::OK => Ok(()),
            status => Err(SignatureError::Rejected {
                reason: format!(
                    "{} answered {status}; check secret_api_key and that the request came from Snipcart",
                    self.validation_url("<token>")
                ),
            }),
        }
    }

    fn delivery_id(&self, request: &WebhookRequest<'_>) -> Option<String> {
        let body: Value = serde_json::from_slice(request.body).ok()?;
        let event = text(body.get("eventName"))?;
        let token = text(body.pointer("/content/token"))?;
        Some(match text(body.get("to")) {
            Some(to) => format!("{event}:{token}:{to}"),
            None => format!("{event}:{token}"),
        })
    }

    async fn normalize(&self, request: &WebhookRequest<'_>) -> Result<Normalized, AdapterError> {
        let body = json_body(request.body)?;
        let event = text(body.get("eventName"))
            .ok_or_else(|| AdapterError::Malformed {
                path: "$.eventName".into(),
                message: "missing".into(),
            })?
            .to_string();
        let restock = match event.as_str() {
            "order.completed" => false,
            "order.status.changed" if text(body.get("to")) == Some("Cancelled") => true,
            _ => {
                return Ok(Normalized {
                    event,
                    changes: Vec::new(),
                });
            }
        };
        let updated_at =
            timestamp(body.get("createdOn"), "$.createdOn")?.unwrap_or(request.received_at);
        let items = body
            .pointer("/content/items")
            .and_then(Value::as_array)
            .ok_or_else(|| AdapterError::Malformed {
                path: "$.content.items".into(),
                message: "expected the order's items".into(),
            })?;
        let mut changes = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let id = text(item.get("id")).ok_or_else(|| AdapterError::Malformed {
                path: format!("$.content.items[{i}].id"),
                message: "missing".into(),
            })?;
            let quantity = order_quantity(
                item.get("quantity"),
                &format!("$.content.items[{i}].quantity"),
                id,
            )?;
            if quantity == 0 {
                continue;
            }
            changes.push(Change::Inventory(InventoryUpdate {
                provider_name: NAME.into(),
                target: if self.match_by_sku {
                    StockTarget::Sku(id.into())
                } else {
                    StockTarget::Item(id.into())
                },
                // The quantity is at least 0, so its negation cannot overflow.
                stock: StockChange::Adjust(if restock { quantity } else { -quantity }),
                updated_at,
            }));
        }
        Ok(Normalized { event, changes })
    }
}
