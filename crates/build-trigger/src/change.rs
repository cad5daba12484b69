//! Changes: content events coalesced per entity, each with the digest it ends on.

use serde::{Deserialize, Serialize};
use unified_content::{ContentEvent, ContentType, EventType, content_digest};

/// The digest recorded for an item whose last event deleted it.
pub const DELETED_DIGEST: &str = "deleted";

/// What happened to one item (one entity) since the last build, however many events said so.
///
/// Ten updates of one product are one `Change` with `event_count` 10 and the digest of the
/// last one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// The id of the item.
    pub content_id: String,
    /// Its content type.
    pub content_type: ContentType,
    /// The provider it comes from.
    pub provider_name: String,
    /// The type of the latest event.
    pub event_type: EventType,
    /// The item's content digest after the latest event ([`DELETED_DIGEST`] for a deletion).
    pub digest: String,
    /// How many events were coalesced into this change.
    pub event_count: u32,
    /// The timestamp of the latest event, kept to order late deliveries.
    pub timestamp: unified_content::Timestamp,
}

impl Change {
    /// The change one event describes.
    pub fn from_event(event: &ContentEvent) -> Change {
        let digest = match (&event.content_data, event.event_type) {
            (_, EventType::ContentDeleted) => DELETED_DIGEST.to_owned(),
            (Some(item), _) => content_digest(item),
            // Without the item we cannot know it is unchanged, so the digest never matches.
            (None, _) => format!("unknown:{}", event.event_id),
        };
        Change {
            content_id: event.content_id.clone(),
            content_type: event.content_type,
            provider_name: event.provider_name.clone(),
            event_type: event.event_type,
            digest,
            event_count: 1,
            timestamp: event.timestamp,
        }
    }

    /// The entity this change is about: `<content_type>#<provider>#<id>`.
    pub fn entity(&self) -> String {
        entity_key(self.content_type, &self.provider_name, &self.content_id)
    }

    /// Folds a later change of the same entity into this one: the newest event wins, the
    /// counts add up. A late delivery of an older event never replaces a newer one.
    pub fn absorb(&mut self, other: Change) {
        self.event_count = self.event_count.saturating_add(other.event_count);
        if other.timestamp >= self.timestamp {
            self.event_type = other.event_type;
            self.digest = other.digest;
            self.timestamp = other.timestamp;
        }
    }

    /// Whether this is a product created or updated, which the seed builds at once.
    pub fn is_product_write(&self) -> bool {
        self.content_type == ContentType::Product
            && matches!(
                self.event_type,
                EventType::ContentCreated | EventType::ContentUpdated
            )
    }
}

/// The entity key of an item: `<content_type>#<provider>#<id>`.
pub fn entity_key(content_type: ContentType, provider_name: &str, content_id: &str) -> String {
    format!("{}#{provider_name}#{content_id}", content_type.as_str())
}

/// Coalesces changes per entity, keeping the order in which entities first appeared.
pub fn coalesce(changes: impl IntoIterator<Item = Change>) -> Vec<Change> {
    let mut index = std::collections::HashMap::<String, usize>::new();
    let mut out: Vec<Change> = Vec::new();
    for change in changes {
        match index.get(&change.entity()) {
            Some(&at) => out[at].absorb(change),
            None => {
                index.insert(change.entity(), out.len());
                out.push(change);
            }
        }
    }
    out
}
