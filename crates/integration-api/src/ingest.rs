//! One webhook delivery from raw bytes to stored changes and published events, shared by the
//! HTTP route and the `ingest` command.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use error_line::error_line;
use http::HeaderMap;
use providers::{
    AdapterError, Change, ProviderAdapter, ProviderRegistry, SignatureError, WebhookRequest,
};
use serde::{Deserialize, Serialize};
use unified_content::{ContentEvent, Timestamp, ValidationErrors};

use crate::events::{EventPublisher, EventSource, PublishError};
use crate::store::{ContentStore, Delivery, Outcome, StoreError, WriteKind};

/// What a delivery did, as `POST /webhooks/{provider}` answers it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookSummary {
    /// The provider.
    pub provider: String,
    /// The provider's event name, such as `products/update`; `None` for a repeated delivery,
    /// which is not read again.
    pub event: Option<String>,
    /// The provider's delivery id, if it sends one.
    pub delivery_id: Option<String>,
    /// The delivery id was applied before; nothing changed.
    pub duplicate: bool,
    /// Items created or changed.
    pub upserted: usize,
    /// Items turned into tombstones.
    pub deleted: usize,
    /// Items whose stock changed.
    pub inventory: usize,
    /// Changes equal to what was stored.
    pub unchanged: usize,
    /// Changes older than what was stored.
    pub stale: usize,
    /// Deletions and stock changes naming nothing stored.
    pub unmatched: usize,
    /// Content events published.
    pub events: usize,
}

/// Why a delivery was refused. Nothing was stored and no event published, except for
/// [`IngestError::Publish`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IngestError {
    /// No adapter is enabled under this name.
    #[error(
        "unknown provider '{provider}'; enabled providers: {enabled}. Enable it with a [providers.{provider}] table in the config file"
    )]
    UnknownProvider {
        /// The name in the request.
        provider: String,
        /// The enabled providers, comma-separated.
        enabled: String,
    },
    /// The signature or token does not check out.
    // The cause is part of the message (the HTTP answer shows only the message), so it is
    // not also exposed as `source()`, which would print it twice in a cause chain.
    #[error("webhook of '{provider}' refused: {cause}")]
    Signature {
        /// The provider.
        provider: String,
        /// What the adapter found.
        cause: SignatureError,
    },
    /// The verified payload cannot be turned into changes, or reading more from the
    /// provider failed.
    #[error("webhook of '{provider}' not applied: {cause}")]
    Adapter {
        /// The provider.
        provider: String,
        /// What the adapter found.
        cause: AdapterError,
    },
    /// The adapter produced an item that breaks the model's rules.
    #[error("webhook of '{provider}' gives invalid content: {errors}")]
    Invalid {
        /// The provider.
        provider: String,
        /// Every rule broken.
        errors: ValidationErrors,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Events of the outbox could not be published; they stay there and are retried.
    #[error("events were not published; they stay in the outbox and are retried")]
    Publish(#[from] PublishError),
}

/// Verifies, normalizes, stores and announces webhook deliveries.
#[derive(Clone)]
pub struct Ingest {
    registry: ProviderRegistry,
    store: Arc<dyn ContentStore>,
    publisher: Arc<dyn EventPublisher>,
    source: EventSource,
    /// When a delivery last swept the outbox, shared by the clones serving one process.
    last_sweep: Arc<Mutex<Option<Instant>>>,
}

impl Ingest {
    /// Wires the enabled adapters to a store and a publisher.
    pub fn new(
        registry: ProviderRegistry,
        store: Arc<dyn ContentStore>,
        publisher: Arc<dyn EventPublisher>,
        source: EventSource,
    ) -> Ingest {
        Ingest {
            registry,
            store,
            publisher,
            source,
            last_sweep: Arc::default(),
        }
    }

    /// The enabled adapters.
    pub fn registry(&self) -> &ProviderRegistry {
        &self.registry
    }

    /// The store deliveries are applied to.
    pub fn store(&self) -> &Arc<dyn ContentStore> {
        &self.store
    }

    /// The adapter of `provider`, or the error naming the enabled ones.
    pub fn adapter(&self, provider: &str) -> Result<&Arc<dyn ProviderAdapter>, IngestError> {
        self.registry
            .get(provider)
            .ok_or_else(|| IngestError::UnknownProvider {
                provider: provider.to_string(),
                enabled: self.enabled_names(),
            })
    }

    fn enabled_names(&self) -> String {
        let names: Vec<&str> = self.registry.adapters().map(|a| a.name()).collect();
        if names.is_empty() {
            "none".to_string()
        } else {
            names.join(", ")
        }
    }

    /// Handles one delivery of `provider` with its headers and raw body.
    pub async fn handle(
        &self,
        provider: &str,
        headers: &HeaderMap,
        body: &[u8],
        received_at: Timestamp,
    ) -> Result<WebhookSummary, IngestError> {
        let adapter = self.adapter(provider)?;
        let request = WebhookRequest {
            headers,
            body,
            received_at,
        };
        adapter
            .verify(&request)
            .await
            .map_err(|cause| IngestError::Signature {
                provider: provider.to_string(),
                cause,
            })?;
        let delivery_id = adapter.delivery_id(&request);
        let mut summary = WebhookSummary {
            provider: provider.to_string(),
            delivery_id: delivery_id.clone(),
            ..WebhookSummary::default()
        };
        if let Some(id) = &delivery_id
            && self.store.has_delivery(provider, id).await?
        {
            summary.duplicate = true;
            tracing::info!(provider, delivery_id = %id, "repeated delivery acknowledged");
            return Ok(summary);
        }

        let normalized =
            adapter
                .normalize(&request)
                .await
                .map_err(|cause| IngestError::Adapter {
                    provider: provider.to_string(),
                    cause,
                })?;
        let mut changes = normalized.changes;
        for change in &mut changes {
            if let Change::Upsert(item) = change {
                item.normalize();
                item.validate().map_err(|errors| IngestError::Invalid {
                    provider: provider.to_string(),
                    errors,
                })?;
            }
        }
        summary.event = Some(normalized.event);

        let report = self
            .store
            .apply(Delivery {
                provider: provider.to_string(),
                delivery_id,
                received_at,
                changes,
                events: Some(self.source.clone()),
            })
            .await?;
        summary.duplicate = report.duplicate;
        for outcome in &report.outcomes {
            let count = match outcome {
                Outcome::Written(w) => match w.kind {
                    WriteKind::Created | WriteKind::Updated => &mut summary.upserted,
                    WriteKind::Deleted => &mut summary.deleted,
                    WriteKind::Inventory => &mut summary.inventory,
                },
                Outcome::Unchanged { .. } => &mut summary.unchanged,
                Outcome::Stale { .. } => &mut summary.stale,
                Outcome::Unmatched { .. } => &mut summary.unmatched,
            };
            *count += 1;
        }
        summary.events = report.events.len();
        tracing::info!(
            provider,
            event = summary.event.as_deref().unwrap_or(""),
            delivery_id = summary.delivery_id.as_deref().unwrap_or(""),
            duplicate = summary.duplicate,
            upserted = summary.upserted,
            deleted = summary.deleted,
            inventory = summary.inventory,
            unchanged = summary.unchanged,
            stale = summary.stale,
            unmatched = summary.unmatched,
            events = summary.events,
            "webhook applied"
        );
        // The events are in the outbox with the changes: a failed publish loses none, a sweep
        // (a later delivery, the timer, the schedule) publishes them, and the provider is not
        // asked to retry.
        if !report.events.is_empty()
            && let Err(error) = self.publish_and_mark(report.events).await
        {
            tracing::warn!(provider, error = %error_line(&error), "events stay in the outbox until the sweep publishes them");
        }
        if !self.delivery_sweep_due() {
            return Ok(summary);
        }
        match self.sweep(SWEEP_GRACE).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(events = n, "published events left in the outbox"),
            Err(error) => {
                tracing::warn!(error = %error_line(&error), "outbox sweep failed; it is retried")
            }
        }
        Ok(summary)
    }

    /// Publishes the outbox events written more than `grace` ago and not yet sent, oldest
    /// first, and marks them sent; returns how many. Consumers get each event at least once
    /// and de-duplicate by `event_id`.
    pub async fn sweep(&self, grace: Duration) -> Result<usize, IngestError> {
        let before = chrono::Utc::now() - grace;
        let mut published = 0;
        loop {
            let pending = self.store.pending_events(before, SWEEP_BATCH).await?;
            let n = pending.len();
            if n == 0 {
                return Ok(published);
            }
            self.publish_and_mark(pending).await?;
            published += n;
            if n < SWEEP_BATCH {
                return Ok(published);
            }
        }
    }

    /// How many outbox events written more than `grace` ago are still unsent (what a sweep
    /// now would publish), counted up to [`BACKLOG_COUNT_LIMIT`].
    pub async fn outbox_backlog(&self, grace: Duration) -> Result<usize, IngestError> {
        let before = chrono::Utc::now() - grace;
        Ok(self
            .store
            .count_pending(before, BACKLOG_COUNT_LIMIT)
            .await?)
    }

    /// Whether this delivery should also sweep the outbox: at most once per
    /// [`DELIVERY_SWEEP_INTERVAL`]: only events older than [`SWEEP_GRACE`] are swept, so an
    /// outbox query on every delivery of a busy API would nearly always find nothing.
    fn delivery_sweep_due(&self) -> bool {
        let now = Instant::now();
        let mut last = self.last_sweep.lock().unwrap_or_else(|p| p.into_inner());
        match *last {
            Some(at) if now.duration_since(at) < DELIVERY_SWEEP_INTERVAL => false,
            _ => {
                *last = Some(now);
                true
            }
        }
    }

    async fn publish_and_mark(&self, events: Vec<ContentEvent>) -> Result<(), IngestError> {
        let ids: Vec<String> = events.iter().map(|e| e.event_id.clone()).collect();
        self.publisher.publish(events).await?;
        self.store.mark_sent(&ids).await?;
        Ok(())
    }
}

/// How long a delivery's own events wait before a sweep may publish them: the delivery
/// publishes them itself well within this, unless its publish failed.
pub const SWEEP_GRACE: Duration = Duration::from_secs(30);

/// How often deliveries sweep the outbox, at most; the timer in `serve` and the scheduled
/// event on Lambda sweep too.
const DELIVERY_SWEEP_INTERVAL: Duration = Duration::from_secs(5);

/// Where counting the outbox backlog stops: past it the backlog is reported as this many,
/// which is far past any alarm's threshold and keeps the count to a bounded number of reads.
pub const BACKLOG_COUNT_LIMIT: usize = 100_000;

/// Events read from the outbox at a time.
const SWEEP_BATCH: usize = 100;
