//! Provider adapters: each checks a provider's webhook signature over the raw body and
//! normalizes the payload into [`Change`]s to the unified content cache.
//!
//! Adding a provider is one new module with a [`ProviderAdapter`] and one line in
//! [`registry::FACTORIES`].
#![deny(missing_docs)]

mod change;
mod content_layout;
pub mod contentful;
pub mod decap;
mod error;
mod fields;
pub mod foxy;
mod github;
mod html;
pub mod portable_text;
pub mod registry;
pub mod rich_text;
pub mod sanity;
mod secret;
mod settings;
pub mod shopify;
pub mod signature;
pub mod snipcart;
pub mod tina;

pub use change::{Change, InventoryUpdate, Normalized, StockChange, StockTarget};
pub use error::{AdapterError, ConfigError, SignatureError};
pub use registry::{Factory, ProviderRegistry};
pub use secret::Secret;
pub use settings::Settings;

use async_trait::async_trait;
use http::HeaderMap;
use unified_content::{ProviderType, Timestamp};

/// A webhook delivery as received, before anything is trusted.
#[derive(Debug, Clone, Copy)]
pub struct WebhookRequest<'a> {
    /// The request headers.
    pub headers: &'a HeaderMap,
    /// The body exactly as received: signatures are checked over these bytes.
    pub body: &'a [u8],
    /// When the delivery arrived; used for replay windows and as `synced_at`.
    pub received_at: Timestamp,
}

impl WebhookRequest<'_> {
    /// A header's value as text, if present and readable.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The header that carries a signature or token: its absence is
    /// [`SignatureError::Missing`] naming it.
    pub fn signature_header(&self, name: &'static str) -> Result<&str, SignatureError> {
        self.header(name)
            .ok_or(SignatureError::Missing { header: name })
    }
}

/// One provider's webhook handling.
#[async_trait]
pub trait ProviderAdapter: Send + Sync {
    /// The registry name, also the URL segment of `POST /webhooks/{provider}`.
    fn name(&self) -> &'static str;

    /// Whether the provider is a CMS or a shop.
    fn provider_type(&self) -> ProviderType;

    /// The webhook events (topics) the adapter turns into changes; others are acknowledged
    /// and ignored.
    fn events(&self) -> &'static [&'static str];

    /// Checks the delivery's signature or token over the raw body. Nothing else of the
    /// delivery may be trusted before this returns `Ok`.
    async fn verify(&self, request: &WebhookRequest<'_>) -> Result<(), SignatureError>;

    /// The provider's id of this delivery, used to acknowledge repeats without changing
    /// anything. `None` when the provider sends none.
    fn delivery_id(&self, request: &WebhookRequest<'_>) -> Option<String>;

    /// Turns a verified delivery into changes. May read more from the provider (such as file
    /// contents from GitHub) but writes nothing.
    async fn normalize(&self, request: &WebhookRequest<'_>) -> Result<Normalized, AdapterError>;
}
