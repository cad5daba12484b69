//! The store rules, the same for every backend: newer `updated_at` wins, equal digest changes
//! nothing, deletions become tombstones, an unmatched deletion is remembered so that an older
//! upsert cannot bring the item back, stock is resolved by item, variant, SKU or stock record.
//!
//! A backend supplies its reads ([`Reads`]) inside its own transaction; a [`Plan`] decides
//! every change of a delivery against them and collects the writes ([`Put`]), which the
//! backend then stores atomically its own way. Later changes of one delivery see the writes
//! of earlier ones.

use std::collections::BTreeMap;

use async_trait::async_trait;
use providers::{Change, InventoryUpdate, StockChange, StockTarget};
use unified_content::{
    ContentStatus, ContentType, Inventory, InventoryPolicy, Timestamp, UnifiedContent,
    content_digest,
};

use super::{Outcome, StoreError, Write, WriteKind};

/// The `provider_data` key of a product's map from stock record id to variant id.
const INVENTORY_ITEM_IDS: &str = "inventory_item_ids";

/// What is stored under an id: `item` is `None` for the deletion of an item never stored.
#[derive(Debug, Clone)]
pub(crate) struct Stored {
    /// The item's `updated_at` in microseconds, or the deletion time of a marker.
    pub updated_at: i64,
    /// The item, tombstones included.
    pub item: Option<UnifiedContent>,
}

/// What a stock change may name, besides an item id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum LookupKind {
    /// A variant id.
    Variant,
    /// A SKU.
    Sku,
    /// A provider's stock record id (Shopify's inventory item).
    InventoryItem,
}

impl LookupKind {
    /// The name backends store.
    pub fn as_str(self) -> &'static str {
        match self {
            LookupKind::Variant => "variant",
            LookupKind::Sku => "sku",
            LookupKind::InventoryItem => "inventory_item",
        }
    }
}

/// An item holding a lookup key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Holder {
    /// The item's id.
    pub item_id: String,
    /// The item's provider.
    pub provider: String,
}

/// A backend's reads inside one delivery's transaction.
#[async_trait]
pub(crate) trait Reads: Send {
    /// What is stored under `id`.
    async fn load(&mut self, id: &str) -> Result<Option<Stored>, StoreError>;
    /// The items holding a lookup key, ordered by item id. A holder that no longer has the
    /// key is harmless: the stock change then finds no such variant in it.
    async fn holders(&mut self, kind: LookupKind, key: &str) -> Result<Vec<Holder>, StoreError>;
}

/// A write decided by the rules.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Put {
    /// Store this item (live or tombstone) under its id.
    Item(Box<UnifiedContent>),
    /// Remember the deletion of an item never stored.
    Marker {
        /// The id deleted.
        id: String,
        /// Its type, when the provider said.
        content_type: Option<ContentType>,
        /// The provider.
        provider: String,
        /// When it was deleted.
        deleted_at: Timestamp,
        /// When the deletion arrived.
        synced_at: Timestamp,
    },
}

impl Put {
    /// The id written.
    pub fn id(&self) -> &str {
        match self {
            Put::Item(item) => &item.id,
            Put::Marker { id, .. } => id,
        }
    }
}

/// The lookup keys of an item: its variant ids, SKUs and stock record ids. None for a tombstone.
pub(crate) fn lookup_keys(item: &UnifiedContent) -> Vec<(LookupKind, String)> {
    if item.is_deleted() {
        return Vec::new();
    }
    let mut keys = Vec::new();
    for v in &item.variants {
        keys.push((LookupKind::Variant, v.id.clone()));
        if let Some(sku) = &v.sku {
            keys.push((LookupKind::Sku, sku.clone()));
        }
    }
    if let Some(serde_json::Value::Object(map)) = item.provider_data.get(INVENTORY_ITEM_IDS) {
        keys.extend(map.keys().map(|k| (LookupKind::InventoryItem, k.clone())));
    }
    keys
}

/// `updated_at` as backends compare it.
pub(crate) fn micros(t: Timestamp) -> i64 {
    t.timestamp_micros()
}

/// The decisions on one delivery's changes so far, and the writes they need.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    received_at: Timestamp,
    /// The newest planned state of every id written, and the write that stores it.
    pending: BTreeMap<String, (Stored, Put)>,
    /// Ids in the order of their first write, so that backends write deterministically.
    order: Vec<String>,
    outcomes: Vec<Outcome>,
}

impl Plan {
    /// An empty plan for a delivery received at `received_at`.
    pub fn new(received_at: Timestamp) -> Plan {
        Plan {
            received_at,
            pending: BTreeMap::new(),
            order: Vec::new(),
            outcomes: Vec::new(),
        }
    }

    /// Decides one change.
    pub async fn add(&mut self, reads: &mut dyn Reads, change: Change) -> Result<(), StoreError> {
        match change {
            Change::Upsert(item) => {
                let outcome = self.upsert(reads, item).await?;
                self.outcomes.push(outcome);
            }
            Change::Tombstone {
                id,
                content_type,
                provider_name,
                deleted_at,
            } => {
                let outcome = self
                    .tombstone(reads, id, content_type, provider_name, deleted_at)
                    .await?;
                self.outcomes.push(outcome);
            }
            Change::Inventory(update) => {
                let outcomes = self.restock(reads, &update).await?;
                self.outcomes.extend(outcomes);
            }
        }
        Ok(())
    }

    /// The writes, in the order of the ids' first write, each id once with its final state.
    pub fn puts(&self) -> impl Iterator<Item = &Put> {
        self.order.iter().map(|id| &self.pending[id].1)
    }

    /// The outcomes so far, in the order of the changes.
    pub fn outcomes(&self) -> &[Outcome] {
        &self.outcomes
    }

    /// The outcomes, in the order of the changes.
    pub fn into_outcomes(self) -> Vec<Outcome> {
        self.outcomes
    }

    async fn load(&self, reads: &mut dyn Reads, id: &str) -> Result<Option<Stored>, StoreError> {
        match self.pending.get(id) {
            Some((stored, _)) => Ok(Some(stored.clone())),
            None => reads.load(id).await,
        }
    }

    fn put(&mut self, stored: Stored, put: Put) {
        let id = put.id().to_string();
        if !self.pending.contains_key(&id) {
            self.order.push(id.clone());
        }
        self.pending.insert(id, (stored, put));
    }

    fn save(&mut self, item: UnifiedContent) {
        let stored = Stored {
            updated_at: micros(item.updated_at),
            item: Some(item.clone()),
        };
        self.put(stored, Put::Item(Box::new(item)));
    }

    async fn upsert(
        &mut self,
        reads: &mut dyn Reads,
        mut item: UnifiedContent,
    ) -> Result<Outcome, StoreError> {
        item.normalize();
        // The cache's own clock: incremental readers ask for what changed since they last read.
        item.synced_at = self.received_at;
        let previous = match self.load(reads, &item.id).await? {
            None => None,
            Some(stored) if micros(item.updated_at) < stored.updated_at => {
                return Ok(Outcome::Stale { id: item.id });
            }
            Some(stored) => stored.item,
        };
        let kind = match &previous {
            Some(old) if content_digest(old) == content_digest(&item) => {
                return Ok(Outcome::Unchanged { id: item.id });
            }
            Some(old) if !old.is_deleted() => WriteKind::Updated,
            _ => WriteKind::Created,
        };
        self.save(item.clone());
        Ok(Outcome::Written(Box::new(Write {
            kind,
            previous,
            current: item,
        })))
    }

    async fn tombstone(
        &mut self,
        reads: &mut dyn Reads,
        id: String,
        content_type: Option<ContentType>,
        provider: String,
        deleted_at: Timestamp,
    ) -> Result<Outcome, StoreError> {
        let old = match self.load(reads, &id).await? {
            Some(Stored {
                item: Some(old), ..
            }) => old,
            Some(Stored {
                updated_at,
                item: None,
            }) if updated_at >= micros(deleted_at) => {
                return Ok(Outcome::Unmatched { target: id });
            }
            _ => {
                // Never stored: remember the deletion so that an older upsert stays dead.
                let stored = Stored {
                    updated_at: micros(deleted_at),
                    item: None,
                };
                let marker = Put::Marker {
                    id: id.clone(),
                    content_type,
                    provider,
                    deleted_at,
                    synced_at: self.received_at,
                };
                self.put(stored, marker);
                return Ok(Outcome::Unmatched { target: id });
            }
        };
        if old.is_deleted() {
            return Ok(Outcome::Unchanged { id });
        }
        if deleted_at < old.updated_at {
            return Ok(Outcome::Stale { id });
        }
        let mut current = old.clone();
        current.status = ContentStatus::Deleted;
        current.updated_at = deleted_at;
        current.synced_at = self.received_at;
        self.save(current.clone());
        Ok(Outcome::Written(Box::new(Write {
            kind: WriteKind::Deleted,
            previous: Some(old),
            current,
        })))
    }

    /// The items holding a key, this delivery's writes included.
    async fn holders(
        &self,
        reads: &mut dyn Reads,
        kind: LookupKind,
        key: &str,
    ) -> Result<Vec<Holder>, StoreError> {
        let mut found = reads.holders(kind, key).await?;
        for (stored, _) in self.pending.values() {
            if let Some(item) = &stored.item
                && lookup_keys(item)
                    .iter()
                    .any(|(k, v)| *k == kind && v == key)
                && !found.iter().any(|h| h.item_id == item.id)
            {
                found.push(Holder {
                    item_id: item.id.clone(),
                    provider: item.provider_name.clone(),
                });
            }
        }
        found.sort_by(|a, b| a.item_id.cmp(&b.item_id));
        Ok(found)
    }

    /// The items (and their parts) a stock change names. Variant ids and stock record ids
    /// prefer items of the reporting provider; a SKU names every item holding it, across
    /// providers.
    async fn resolve(
        &self,
        reads: &mut dyn Reads,
        update: &InventoryUpdate,
    ) -> Result<Vec<(String, Part)>, StoreError> {
        let mut lookup = async |kind, key: &str, same_provider_first: bool| {
            let rows = self.holders(reads, kind, key).await?;
            let own: Vec<String> = rows
                .iter()
                .filter(|h| h.provider == update.provider_name)
                .map(|h| h.item_id.clone())
                .collect();
            Ok::<_, StoreError>(if same_provider_first && !own.is_empty() {
                own
            } else {
                rows.into_iter().map(|h| h.item_id).collect()
            })
        };
        Ok(match &update.target {
            StockTarget::Item(id) => vec![(id.clone(), Part::Whole)],
            StockTarget::Variant(v) => lookup(LookupKind::Variant, v, true)
                .await?
                .into_iter()
                .map(|id| (id, Part::Variant(v.clone())))
                .collect(),
            StockTarget::Sku(sku) => lookup(LookupKind::Sku, sku, false)
                .await?
                .into_iter()
                .map(|id| (id, Part::Sku(sku.clone())))
                .collect(),
            StockTarget::InventoryItem(record) => {
                let ids = lookup(LookupKind::InventoryItem, record, true).await?;
                let mut found = Vec::new();
                for id in ids {
                    let variant = self
                        .load(reads, &id)
                        .await?
                        .and_then(|s| s.item)
                        .and_then(|item| item.provider_data.get(INVENTORY_ITEM_IDS).cloned())
                        .and_then(|map| match map.get(record)? {
                            serde_json::Value::String(s) => Some(s.clone()),
                            serde_json::Value::Number(n) => Some(n.to_string()),
                            _ => None,
                        });
                    if let Some(variant) = variant {
                        found.push((id, Part::Variant(variant)));
                    }
                }
                found
            }
        })
    }

    async fn restock(
        &mut self,
        reads: &mut dyn Reads,
        update: &InventoryUpdate,
    ) -> Result<Vec<Outcome>, StoreError> {
        let targets = self.resolve(reads, update).await?;
        let unmatched = || Outcome::Unmatched {
            target: describe(&update.target),
        };
        if targets.is_empty() {
            return Ok(vec![unmatched()]);
        }
        let mut outcomes = Vec::new();
        for (id, part) in targets {
            let live = self
                .load(reads, &id)
                .await?
                .and_then(|s| s.item)
                .filter(|i| !i.is_deleted());
            let Some(old) = live else {
                outcomes.push(unmatched());
                continue;
            };
            if matches!(update.stock, StockChange::Set(_)) && update.updated_at < old.updated_at {
                outcomes.push(Outcome::Stale { id });
                continue;
            }
            let mut current = old.clone();
            if !apply_stock(&mut current, &part, update.stock) {
                outcomes.push(unmatched());
                continue;
            }
            if current == old {
                outcomes.push(Outcome::Unchanged { id });
                continue;
            }
            current.updated_at = current.updated_at.max(update.updated_at);
            current.synced_at = self.received_at;
            self.save(current.clone());
            outcomes.push(Outcome::Written(Box::new(Write {
                kind: WriteKind::Inventory,
                previous: Some(old),
                current,
            })));
        }
        Ok(outcomes)
    }
}

/// Which part of an item a stock change is for.
#[derive(Debug, Clone)]
enum Part {
    /// The item itself.
    Whole,
    /// The variant with this id.
    Variant(String),
    /// The variant with this SKU.
    Sku(String),
}

fn describe(target: &StockTarget) -> String {
    match target {
        StockTarget::Item(id) => format!("item {id}"),
        StockTarget::Variant(id) => format!("variant {id}"),
        StockTarget::Sku(sku) => format!("sku {sku}"),
        StockTarget::InventoryItem(id) => format!("inventory item {id}"),
    }
}

/// Stock of an item that had none: tracked, not sold when out.
fn tracked(quantity: i64) -> Inventory {
    Inventory {
        quantity,
        track_quantity: true,
        continue_selling_when_out_of_stock: false,
        inventory_policy: InventoryPolicy::Deny,
    }
}

fn set_level(inventory: &mut Option<Inventory>, change: StockChange) {
    let level = match (change, inventory.as_ref()) {
        (StockChange::Set(n), _) => n,
        (StockChange::Adjust(d), current) => current.map_or(0, |i| i.quantity).saturating_add(d),
    };
    match inventory {
        Some(i) => i.quantity = level,
        None => *inventory = Some(tracked(level)),
    }
}

/// Applies a stock change to an item: to the variant named, then the product's level becomes
/// the sum over its variants. False when the item has no such variant.
fn apply_stock(item: &mut UnifiedContent, part: &Part, change: StockChange) -> bool {
    let variant = match part {
        Part::Whole => {
            set_level(&mut item.inventory, change);
            return true;
        }
        Part::Variant(id) => item.variants.iter_mut().find(|v| v.id == *id),
        Part::Sku(sku) => item
            .variants
            .iter_mut()
            .find(|v| v.sku.as_deref() == Some(sku.as_str())),
    };
    let Some(variant) = variant else {
        return false;
    };
    set_level(&mut variant.inventory, change);
    let total = item
        .variants
        .iter()
        .filter_map(|v| v.inventory.as_ref())
        .fold(0i64, |sum, i| sum.saturating_add(i.quantity));
    match &mut item.inventory {
        Some(i) => i.quantity = total,
        None => item.inventory = Some(tracked(total)),
    }
    true
}
