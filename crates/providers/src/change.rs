//! What a webhook asks of the content cache.

use unified_content::{ContentType, Timestamp, UnifiedContent};

/// The outcome of normalizing one delivery.
#[derive(Debug, Clone, PartialEq)]
pub struct Normalized {
    /// The provider's event name, such as `products/update`.
    pub event: String,
    /// The changes, in the order they apply.
    pub changes: Vec<Change>,
}

/// One change to the unified content cache.
// A delivery yields a handful of changes that are moved once into the store, never kept in
// bulk: boxing the item would add an allocation and churn every adapter and the store.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// Insert or replace an item, unless the stored one is newer.
    Upsert(UnifiedContent),
    /// Mark an item deleted (a tombstone), unless the stored one is newer.
    Tombstone {
        /// The id of the item.
        id: String,
        /// Its type, when the delivery says; otherwise the stored item's type is kept.
        content_type: Option<ContentType>,
        /// The provider deleting it.
        provider_name: String,
        /// When the provider deleted it.
        deleted_at: Timestamp,
    },
    /// Change the stock of a product or variant stored earlier, possibly by another provider.
    Inventory(InventoryUpdate),
}

/// A stock change to an item already in the cache.
#[derive(Debug, Clone, PartialEq)]
pub struct InventoryUpdate {
    /// The provider reporting the change.
    pub provider_name: String,
    /// Which product or variant.
    pub target: StockTarget,
    /// The new level or the movement.
    pub stock: StockChange,
    /// When the provider recorded it; a level older than the stored item is ignored.
    pub updated_at: Timestamp,
}

/// How an inventory update names what it changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StockTarget {
    /// A unified item id.
    Item(String),
    /// A variant id.
    Variant(String),
    /// A stock keeping unit on an item or variant.
    Sku(String),
    /// A provider's own stock record id (Shopify's inventory item id), looked up through the
    /// `inventory_item_ids` map in the owning product's `provider_data`, which maps it to a
    /// variant id.
    InventoryItem(String),
}

/// The new stock, absolute or relative.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StockChange {
    /// The level is now this (Shopify's `available`).
    Set(i64),
    /// The level moved by this much (an order of 2 is `-2`).
    Adjust(i64),
}
