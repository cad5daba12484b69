//! The integration API: signed provider webhooks in, unified content out.
//!
//! A delivery is verified and normalized by its [`providers`] adapter, applied to the
//! [`store::ContentStore`] with conditional writes, and each real change is announced as a
//! [`unified_content::ContentEvent`] through an [`events::EventPublisher`]. The
//! [`router::router`] serves the webhooks and the content API; the same router runs in the
//! local server (`integration-api serve`) and in the Lambda (the `integration-api-lambda`
//! crate).
#![deny(missing_docs)]

pub mod config;
pub mod events;
pub mod ingest;
pub mod outcome;
pub mod router;
pub mod store;

use std::sync::Arc;

use tokio::sync::mpsc::UnboundedReceiver;
use unified_content::ContentEvent;

pub use config::{Config, ConfigError};
pub use events::{EventPublisher, EventSource, LocalPublisher, PublishError, SnsPublisher};
pub use ingest::{Ingest, IngestError, WebhookSummary};
pub use outcome::{RefusalReason, WebhookOutcome};
pub use router::{OPENAPI_JSON, RouterOptions, router};
pub use store::{ContentStore, DynamoStore, SqliteStore, StoreError};

/// Why the service cannot start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// The configuration is incomplete or invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The store cannot be opened.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The embedded stack of a configuration: its adapters, the SQLite store at `config.db`
/// and the local publisher, whose events arrive on the returned channel.
pub fn local_ingest(
    config: &Config,
) -> Result<(Ingest, UnboundedReceiver<ContentEvent>), StartError> {
    let registry = config.registry()?;
    let store = SqliteStore::open(&config.db)?;
    let (publisher, events) = LocalPublisher::channel();
    let ingest = Ingest::new(
        registry,
        Arc::new(store),
        Arc::new(publisher),
        EventSource {
            client_id: config.client_id.clone(),
            environment: config.environment,
        },
    );
    Ok((ingest, events))
}

impl Config {
    /// The router's options; with `require_sigv4`, GETs need a signature by one of the
    /// configured access keys.
    pub fn router_options(&self, require_sigv4: bool) -> Result<RouterOptions, ConfigError> {
        Ok(RouterOptions {
            body_limit: self.body_limit,
            verifier: if require_sigv4 {
                Some(Arc::new(self.verifier()?))
            } else {
                None
            },
        })
    }
}
