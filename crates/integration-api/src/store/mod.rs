//! The unified content cache: the [`ContentStore`] seam and its embedded SQLite implementation.
//!
//! The seam speaks only the model's terms (changes in, items and pages out), so that the
//! DynamoDB store of a later issue fits behind it without SQL leaking through.

mod cursor;
pub mod dynamo;
mod rules;
mod sqlite;

pub use dynamo::DynamoStore;
pub use sqlite::SqliteStore;

use async_trait::async_trait;
use providers::Change;
use unified_content::api::{ContentPage, ContentQuery};
use unified_content::{ContentEvent, Timestamp, UnifiedContent};

use crate::events::EventSource;

/// One verified, normalized webhook delivery, applied as a whole or not at all.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// The provider the delivery came from.
    pub provider: String,
    /// The provider's delivery id; a delivery id seen before changes nothing.
    pub delivery_id: Option<String>,
    /// When the delivery arrived; becomes `synced_at` of tombstones and stock changes.
    pub received_at: Timestamp,
    /// The changes, in order.
    pub changes: Vec<Change>,
    /// Where events say they come from. When set, the event of every real change is written
    /// to the outbox in the same transaction as the change, and returned in
    /// [`ApplyReport::events`] to be published.
    pub events: Option<EventSource>,
}

/// What applying a delivery did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ApplyReport {
    /// The delivery id had been applied before; nothing changed.
    pub duplicate: bool,
    /// One entry per item a change touched, in the order of the changes.
    pub outcomes: Vec<Outcome>,
    /// The events written to the outbox with the changes, to publish and then mark sent.
    pub events: Vec<ContentEvent>,
}

/// What one change did to one item.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The item was stored: new, changed, tombstoned or restocked.
    Written(Box<Write>),
    /// The change equals what is stored (digests match); nothing was written.
    Unchanged {
        /// The item's id.
        id: String,
    },
    /// The stored item is newer than the change; nothing was written.
    Stale {
        /// The item's id.
        id: String,
    },
    /// The change names nothing stored (a stock change for an unknown SKU, a deletion of an
    /// item never seen); it is remembered only so that an older upsert cannot revive it.
    Unmatched {
        /// The id, SKU or stock record named.
        target: String,
    },
}

/// A real change to one stored item.
#[derive(Debug, Clone, PartialEq)]
pub struct Write {
    /// What kind of change it was.
    pub kind: WriteKind,
    /// The item as it was, if it existed (tombstones included).
    pub previous: Option<UnifiedContent>,
    /// The item as stored now.
    pub current: UnifiedContent,
}

/// The kinds of real changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteKind {
    /// An upsert of an item that was absent or a tombstone.
    Created,
    /// An upsert that changed a live item.
    Updated,
    /// A tombstone replaced a live item.
    Deleted,
    /// A stock change to a live item.
    Inventory,
}

/// The cause of a backend's failure: a SQLite or DynamoDB error, kept behind a box so that
/// no backend's error type is part of this crate's API.
pub type BackendError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Errors of a content store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The store could not be opened or prepared.
    #[error(
        "cannot open the content store {location}; check that it exists and is reachable (for a file, that its folder is writable)"
    )]
    Open {
        /// The database file or table.
        location: String,
        /// The cause.
        #[source]
        source: BackendError,
    },
    /// A read or write failed. Nothing of the delivery being applied was kept.
    #[error("content store {operation} failed")]
    Backend {
        /// What was being done, such as `apply delivery`.
        operation: &'static str,
        /// The cause.
        #[source]
        source: BackendError,
    },
    /// The store stayed busy (throttled or conflicting writes) after every retry; nothing of
    /// the delivery was kept and sending it again will apply it.
    #[error("content store is busy writing item '{id}'; nothing was applied, retry the delivery")]
    Busy {
        /// The first item of the write that could not be applied.
        id: String,
        /// The last cause.
        #[source]
        source: BackendError,
    },
    /// A stored item could not be read back.
    #[error("stored item '{id}' is unreadable; re-deliver it from its provider")]
    Corrupt {
        /// The item's id.
        id: String,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },
    /// An item is larger than the backend can store.
    #[error(
        "item '{id}' is {bytes} bytes stored, over the store's limit of {limit} bytes; shorten its body or split it in the provider"
    )]
    TooLarge {
        /// The item's id.
        id: String,
        /// Its stored size.
        bytes: usize,
        /// The backend's limit.
        limit: usize,
    },
    /// The cursor of a page request was not made by this store, or was edited.
    #[error("cursor '{cursor}' is not valid; start again without a cursor")]
    BadCursor {
        /// The cursor received.
        cursor: String,
    },
    /// The blocking database task was cancelled or panicked.
    #[error("content database task failed: {0}")]
    Task(String),
}

/// The events of a delivery's outcomes, when the delivery asks for them.
fn outbox_events(source: Option<&EventSource>, outcomes: &[Outcome]) -> Vec<ContentEvent> {
    source.map_or_else(Vec::new, |source| {
        outcomes
            .iter()
            .filter_map(|o| source.event_for(o))
            .collect()
    })
}

/// The unified content cache.
///
/// Writes are conditional: an item older than the stored one never replaces it, equal
/// content changes nothing, a repeated delivery id changes nothing, deletions are tombstones.
#[async_trait]
pub trait ContentStore: Send + Sync {
    /// Whether a delivery id of `provider` was applied before. A cheap pre-check that spares
    /// reading from a provider again; [`ContentStore::apply`] checks again atomically.
    async fn has_delivery(&self, provider: &str, delivery_id: &str) -> Result<bool, StoreError>;

    /// Applies every change of a delivery and records its id, atomically.
    async fn apply(&self, delivery: Delivery) -> Result<ApplyReport, StoreError>;

    /// The item with this id, tombstones included.
    async fn get(&self, id: &str) -> Result<Option<UnifiedContent>, StoreError>;

    /// One page of items matching the query, in a stable order, at most the query's limit
    /// and at most [`unified_content::api::MAX_PAGE_BYTES`] of JSON.
    async fn list(&self, query: &ContentQuery) -> Result<ContentPage, StoreError>;

    /// Outbox events not yet marked sent that were written before `before`, oldest first, at
    /// most `limit`.
    async fn pending_events(
        &self,
        before: Timestamp,
        limit: usize,
    ) -> Result<Vec<ContentEvent>, StoreError>;

    /// How many outbox events written before `before` are not marked sent, counted up to
    /// `at_most`: a count of `at_most` means at least that many.
    async fn count_pending(&self, before: Timestamp, at_most: usize) -> Result<usize, StoreError>;

    /// Marks outbox events as published.
    async fn mark_sent(&self, event_ids: &[String]) -> Result<(), StoreError>;
}
