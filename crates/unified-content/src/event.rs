//! Content events: what the integration layer tells the build trigger.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::model::{ContentType, Timestamp, UnifiedContent};

/// One change to the unified content cache.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ContentEvent {
    /// Unique id of this event.
    pub event_id: String,
    /// What happened.
    pub event_type: EventType,
    /// The id of the item changed.
    pub content_id: String,
    /// The type of the item changed.
    pub content_type: ContentType,
    /// The provider the change came from.
    pub provider_name: String,
    /// When the change was stored.
    pub timestamp: Timestamp,
    /// Whether a site build should follow (false for changes no page shows, such as drafts).
    pub requires_build: bool,
    /// The item as stored after the change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_data: Option<UnifiedContent>,
    /// The item as it was before the change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_content: Option<UnifiedContent>,
    /// The agency's client the site belongs to.
    pub client_id: String,
    /// The deployment environment.
    pub environment: Environment,
}

/// The kinds of content events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum EventType {
    /// An item appeared.
    #[serde(rename = "content.created")]
    ContentCreated,
    /// An item changed.
    #[serde(rename = "content.updated")]
    ContentUpdated,
    /// An item was deleted (it is now a tombstone).
    #[serde(rename = "content.deleted")]
    ContentDeleted,
    /// Only the stock of a product changed.
    #[serde(rename = "inventory.updated")]
    InventoryUpdated,
    /// A collection appeared.
    #[serde(rename = "collection.created")]
    CollectionCreated,
    /// A collection changed.
    #[serde(rename = "collection.updated")]
    CollectionUpdated,
}

impl EventType {
    /// The name used on the wire, such as `content.updated`.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::ContentCreated => "content.created",
            EventType::ContentUpdated => "content.updated",
            EventType::ContentDeleted => "content.deleted",
            EventType::InventoryUpdated => "inventory.updated",
            EventType::CollectionCreated => "collection.created",
            EventType::CollectionUpdated => "collection.updated",
        }
    }
}

/// Deployment environments.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    /// Development.
    #[default]
    Dev,
    /// Staging.
    Staging,
    /// Production.
    Prod,
}
