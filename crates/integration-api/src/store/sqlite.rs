//! The embedded store: one SQLite database file (or `:memory:`), in WAL mode.
//!
//! Items are kept as their JSON with a few columns for filtering; a side table maps variant
//! ids, SKUs and stock record ids to the items holding them, for stock changes.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use providers::{Change, InventoryUpdate, StockChange, StockTarget};
use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};
use unified_content::api::{ContentPage, ContentQuery, MAX_PAGE_BYTES};
use unified_content::{
    ContentStatus, ContentType, Inventory, InventoryPolicy, Timestamp, UnifiedContent,
    content_digest,
};

use super::{ApplyReport, ContentStore, Delivery, Outcome, StoreError, Write, WriteKind};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS items (
    id TEXT PRIMARY KEY NOT NULL,
    content_type TEXT NOT NULL,
    provider TEXT NOT NULL,
    status TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    synced_at INTEGER NOT NULL,
    digest TEXT,
    json TEXT
);
CREATE INDEX IF NOT EXISTS items_by_status ON items (status, id);
CREATE INDEX IF NOT EXISTS items_by_synced_at ON items (synced_at);
CREATE TABLE IF NOT EXISTS lookups (
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    item_id TEXT NOT NULL,
    PRIMARY KEY (kind, key, item_id)
);
CREATE INDEX IF NOT EXISTS lookups_by_item ON lookups (item_id);
CREATE TABLE IF NOT EXISTS deliveries (
    provider TEXT NOT NULL,
    delivery_id TEXT NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (provider, delivery_id)
);
";

/// The `provider_data` key of a product's map from stock record id to variant id.
const INVENTORY_ITEM_IDS: &str = "inventory_item_ids";

/// Bytes of a page's JSON besides its items: `{"items":[],"count":1000,"next_cursor":null}`
/// with room to spare.
const PAGE_ENVELOPE_BYTES: usize = 64;

const CURSOR_PREFIX: &str = "v1:";

/// The SQLite content store. Clones share one connection; every write runs in one
/// `BEGIN IMMEDIATE` transaction, so concurrent deliveries never lose an update, also when
/// another process (such as `integration-api ingest`) writes the same file.
#[derive(Clone)]
pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
    path: PathBuf,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish()
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path`; `:memory:` gives a private
    /// in-memory database.
    pub fn open(path: impl AsRef<Path>) -> Result<SqliteStore, StoreError> {
        let path = path.as_ref().to_path_buf();
        let open_err = |source| StoreError::Open {
            path: path.clone(),
            source,
        };
        let conn = Connection::open(&path).map_err(open_err)?;
        conn.busy_timeout(Duration::from_secs(10))
            .map_err(open_err)?;
        // WAL lets readers in other processes go on while one writer commits; an in-memory
        // database answers "memory", which is fine.
        conn.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))
            .map_err(open_err)?;
        conn.execute_batch("PRAGMA synchronous = NORMAL;")
            .map_err(open_err)?;
        conn.execute_batch(SCHEMA).map_err(open_err)?;
        Ok(SqliteStore {
            conn: Arc::new(Mutex::new(conn)),
            path,
        })
    }

    /// A private in-memory database, for tests and one-off runs.
    pub fn in_memory() -> Result<SqliteStore, StoreError> {
        SqliteStore::open(":memory:")
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let conn = Arc::clone(&self.conn);
        tokio::task::spawn_blocking(move || {
            // A panic while holding the lock rolled its transaction back on unwind, so the
            // connection is still sound.
            let mut conn = conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            work(&mut conn)
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?
    }
}

fn db(operation: &'static str) -> impl Fn(rusqlite::Error) -> StoreError {
    move |source| StoreError::Database { operation, source }
}

#[async_trait]
impl ContentStore for SqliteStore {
    async fn has_delivery(&self, provider: &str, delivery_id: &str) -> Result<bool, StoreError> {
        let (provider, delivery_id) = (provider.to_string(), delivery_id.to_string());
        self.run(move |conn| delivery_seen(conn, &provider, &delivery_id))
            .await
    }

    async fn apply(&self, delivery: Delivery) -> Result<ApplyReport, StoreError> {
        self.run(move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(db("begin delivery"))?;
            if let Some(id) = &delivery.delivery_id
                && delivery_seen(&tx, &delivery.provider, id)?
            {
                return Ok(ApplyReport {
                    duplicate: true,
                    outcomes: Vec::new(),
                });
            }
            let mut outcomes = Vec::new();
            for change in delivery.changes {
                match change {
                    Change::Upsert(item) => {
                        outcomes.push(upsert(&tx, item, delivery.received_at)?)
                    }
                    Change::Tombstone {
                        id,
                        content_type,
                        provider_name,
                        deleted_at,
                    } => outcomes.push(tombstone(
                        &tx,
                        &id,
                        content_type,
                        &provider_name,
                        deleted_at,
                        delivery.received_at,
                    )?),
                    Change::Inventory(update) => {
                        outcomes.extend(restock(&tx, &update, delivery.received_at)?)
                    }
                }
            }
            if let Some(id) = &delivery.delivery_id {
                tx.execute(
                    "INSERT INTO deliveries (provider, delivery_id, received_at) VALUES (?1, ?2, ?3)",
                    params![delivery.provider, id, delivery.received_at.to_rfc3339()],
                )
                .map_err(db("record delivery id"))?;
            }
            tx.commit().map_err(db("commit delivery"))?;
            Ok(ApplyReport {
                duplicate: false,
                outcomes,
            })
        })
        .await
    }

    async fn get(&self, id: &str) -> Result<Option<UnifiedContent>, StoreError> {
        let id = id.to_string();
        self.run(move |conn| Ok(load(conn, &id)?.and_then(|stored| stored.item)))
            .await
    }

    async fn list(&self, query: &ContentQuery) -> Result<ContentPage, StoreError> {
        let query = query.clone();
        self.run(move |conn| list_page(conn, &query)).await
    }
}

fn delivery_seen(conn: &Connection, provider: &str, id: &str) -> Result<bool, StoreError> {
    conn.query_row(
        "SELECT 1 FROM deliveries WHERE provider = ?1 AND delivery_id = ?2",
        params![provider, id],
        |_| Ok(()),
    )
    .optional()
    .map(|found| found.is_some())
    .map_err(db("look up delivery id"))
}

/// A stored row: `item` is `None` for the deletion of an item never stored, kept only so that
/// an older upsert arriving late cannot revive it.
struct Stored {
    updated_at: i64,
    item: Option<UnifiedContent>,
}

fn load(conn: &Connection, id: &str) -> Result<Option<Stored>, StoreError> {
    let row: Option<(i64, Option<String>)> = conn
        .query_row(
            "SELECT updated_at, json FROM items WHERE id = ?1",
            params![id],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()
        .map_err(db("read item"))?;
    row.map(|(updated_at, json)| {
        let item = json.map(|text| parse(id, &text)).transpose()?;
        Ok(Stored { updated_at, item })
    })
    .transpose()
}

fn parse(id: &str, text: &str) -> Result<UnifiedContent, StoreError> {
    serde_json::from_str(text).map_err(|source| StoreError::Corrupt {
        id: id.to_string(),
        source,
    })
}

fn micros(t: Timestamp) -> i64 {
    t.timestamp_micros()
}

/// Writes an item and refreshes its lookup keys.
fn save(tx: &Transaction, item: &UnifiedContent) -> Result<(), StoreError> {
    let json = serde_json::to_string(item).map_err(|source| StoreError::Corrupt {
        id: item.id.clone(),
        source,
    })?;
    tx.execute(
        "INSERT OR REPLACE INTO items (id, content_type, provider, status, updated_at, synced_at, digest, json)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            item.id,
            item.content_type.as_str(),
            item.provider_name,
            item.status.as_str(),
            micros(item.updated_at),
            micros(item.synced_at),
            content_digest(item),
            json
        ],
    )
    .map_err(db("write item"))?;
    tx.execute("DELETE FROM lookups WHERE item_id = ?1", params![item.id])
        .map_err(db("write lookups"))?;
    if item.is_deleted() {
        return Ok(());
    }
    let mut keys: Vec<(&str, String)> = Vec::new();
    for v in &item.variants {
        keys.push(("variant", v.id.clone()));
        if let Some(sku) = &v.sku {
            keys.push(("sku", sku.clone()));
        }
    }
    if let Some(serde_json::Value::Object(map)) = item.provider_data.get(INVENTORY_ITEM_IDS) {
        keys.extend(map.keys().map(|k| ("inventory_item", k.clone())));
    }
    let mut insert = tx
        .prepare_cached("INSERT OR IGNORE INTO lookups (kind, key, item_id) VALUES (?1, ?2, ?3)")
        .map_err(db("write lookups"))?;
    for (kind, key) in keys {
        insert
            .execute(params![kind, key, item.id])
            .map_err(db("write lookups"))?;
    }
    Ok(())
}

fn upsert(
    tx: &Transaction,
    mut item: UnifiedContent,
    received_at: Timestamp,
) -> Result<Outcome, StoreError> {
    item.normalize();
    // The cache's own clock: incremental readers ask for what changed since they last read.
    item.synced_at = received_at;
    let previous = match load(tx, &item.id)? {
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
    save(tx, &item)?;
    Ok(Outcome::Written(Box::new(Write {
        kind,
        previous,
        current: item,
    })))
}

fn tombstone(
    tx: &Transaction,
    id: &str,
    content_type: Option<ContentType>,
    provider: &str,
    deleted_at: Timestamp,
    received_at: Timestamp,
) -> Result<Outcome, StoreError> {
    let stored = load(tx, id)?;
    let old = match stored {
        Some(Stored {
            item: Some(old), ..
        }) => old,
        Some(Stored {
            updated_at,
            item: None,
        }) if updated_at >= micros(deleted_at) => {
            return Ok(Outcome::Unmatched { target: id.into() });
        }
        _ => {
            // Never stored: remember the deletion so that an older upsert stays dead.
            tx.execute(
                "INSERT OR REPLACE INTO items (id, content_type, provider, status, updated_at, synced_at, digest, json)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, NULL, NULL)",
                params![
                    id,
                    content_type.map(ContentType::as_str).unwrap_or(""),
                    provider,
                    ContentStatus::Deleted.as_str(),
                    micros(deleted_at),
                    micros(received_at)
                ],
            )
            .map_err(db("write deletion"))?;
            return Ok(Outcome::Unmatched { target: id.into() });
        }
    };
    if old.is_deleted() {
        return Ok(Outcome::Unchanged { id: id.into() });
    }
    if deleted_at < old.updated_at {
        return Ok(Outcome::Stale { id: id.into() });
    }
    let mut current = old.clone();
    current.status = ContentStatus::Deleted;
    current.updated_at = deleted_at;
    current.synced_at = received_at;
    save(tx, &current)?;
    Ok(Outcome::Written(Box::new(Write {
        kind: WriteKind::Deleted,
        previous: Some(old),
        current,
    })))
}

/// Which part of an item a stock change is for.
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

/// The items (and their parts) a stock change names. Variant ids and stock record ids prefer
/// items of the reporting provider; a SKU names every item holding it, across providers.
fn resolve(tx: &Transaction, update: &InventoryUpdate) -> Result<Vec<(String, Part)>, StoreError> {
    let lookup = |kind: &str, key: &str, same_provider_first: bool| {
        let mut stmt = tx
            .prepare_cached(
                "SELECT l.item_id, i.provider FROM lookups l JOIN items i ON i.id = l.item_id
                 WHERE l.kind = ?1 AND l.key = ?2 ORDER BY l.item_id",
            )
            .map_err(db("look up stock target"))?;
        let rows: Vec<(String, String)> = stmt
            .query_map(params![kind, key], |row| Ok((row.get(0)?, row.get(1)?)))
            .and_then(|rows| rows.collect())
            .map_err(db("look up stock target"))?;
        let own: Vec<String> = rows
            .iter()
            .filter(|(_, p)| *p == update.provider_name)
            .map(|(id, _)| id.clone())
            .collect();
        Ok::<_, StoreError>(if same_provider_first && !own.is_empty() {
            own
        } else {
            rows.into_iter().map(|(id, _)| id).collect()
        })
    };
    Ok(match &update.target {
        StockTarget::Item(id) => vec![(id.clone(), Part::Whole)],
        StockTarget::Variant(v) => lookup("variant", v, true)?
            .into_iter()
            .map(|id| (id, Part::Variant(v.clone())))
            .collect(),
        StockTarget::Sku(sku) => lookup("sku", sku, false)?
            .into_iter()
            .map(|id| (id, Part::Sku(sku.clone())))
            .collect(),
        StockTarget::InventoryItem(record) => {
            let mut found = Vec::new();
            for id in lookup("inventory_item", record, true)? {
                let variant = load(tx, &id)?
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

fn restock(
    tx: &Transaction,
    update: &InventoryUpdate,
    received_at: Timestamp,
) -> Result<Vec<Outcome>, StoreError> {
    let targets = resolve(tx, update)?;
    if targets.is_empty() {
        return Ok(vec![Outcome::Unmatched {
            target: describe(&update.target),
        }]);
    }
    let mut outcomes = Vec::new();
    for (id, part) in targets {
        let Some(old) = load(tx, &id)?
            .and_then(|s| s.item)
            .filter(|i| !i.is_deleted())
        else {
            outcomes.push(Outcome::Unmatched {
                target: describe(&update.target),
            });
            continue;
        };
        if matches!(update.stock, StockChange::Set(_)) && update.updated_at < old.updated_at {
            outcomes.push(Outcome::Stale { id });
            continue;
        }
        let mut current = old.clone();
        if !apply_stock(&mut current, &part, update.stock) {
            outcomes.push(Outcome::Unmatched {
                target: describe(&update.target),
            });
            continue;
        }
        if current == old {
            outcomes.push(Outcome::Unchanged { id });
            continue;
        }
        current.updated_at = current.updated_at.max(update.updated_at);
        current.synced_at = received_at;
        save(tx, &current)?;
        outcomes.push(Outcome::Written(Box::new(Write {
            kind: WriteKind::Inventory,
            previous: Some(old),
            current,
        })));
    }
    Ok(outcomes)
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

fn encode_cursor(id: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{CURSOR_PREFIX}{id}"))
}

fn decode_cursor(cursor: &str) -> Result<String, StoreError> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| text.strip_prefix(CURSOR_PREFIX).map(str::to_string))
        .ok_or_else(|| StoreError::BadCursor {
            cursor: cursor.to_string(),
        })
}

fn list_page(conn: &Connection, query: &ContentQuery) -> Result<ContentPage, StoreError> {
    let statuses = query.effective_statuses();
    let mut sql = format!(
        "SELECT id, json FROM items WHERE json IS NOT NULL AND status IN ({})",
        vec!["?"; statuses.len()].join(", ")
    );
    let mut args: Vec<SqlValue> = statuses
        .iter()
        .map(|s| SqlValue::Text(s.as_str().to_string()))
        .collect();
    if let Some(t) = query.content_type {
        sql.push_str(" AND content_type = ?");
        args.push(SqlValue::Text(t.as_str().to_string()));
    }
    if let Some(p) = &query.provider {
        sql.push_str(" AND provider = ?");
        args.push(SqlValue::Text(p.clone()));
    }
    if let Some(t) = query.updated_since {
        sql.push_str(" AND updated_at >= ?");
        args.push(SqlValue::Integer(micros(t)));
    }
    if let Some(t) = query.synced_since {
        sql.push_str(" AND synced_at >= ?");
        args.push(SqlValue::Integer(micros(t)));
    }
    if let Some(cursor) = &query.cursor {
        sql.push_str(" AND id > ?");
        args.push(SqlValue::Text(decode_cursor(cursor)?));
    }
    let limit = query.effective_limit() as usize;
    // One row more than the page tells whether another page follows.
    sql.push_str(" ORDER BY id LIMIT ?");
    args.push(SqlValue::Integer(limit as i64 + 1));

    let mut stmt = conn.prepare(&sql).map_err(db("list items"))?;
    let rows: Vec<(String, String)> = stmt
        .query_map(rusqlite::params_from_iter(args), |row| {
            Ok((row.get(0)?, row.get(1)?))
        })
        .and_then(|rows| rows.collect())
        .map_err(db("list items"))?;

    let mut items = Vec::new();
    let mut bytes = PAGE_ENVELOPE_BYTES;
    let mut more = rows.len() > limit;
    for (id, json) in rows.iter().take(limit) {
        // The item, its comma, and the cursor that would point past it.
        let cost = json.len() + 1 + encode_cursor(id).len() + 2;
        if !items.is_empty() && bytes + cost > MAX_PAGE_BYTES {
            more = true;
            break;
        }
        bytes += json.len() + 1;
        items.push(parse(id, json)?);
    }
    let next_cursor = match items.last() {
        Some(last) if more => Some(encode_cursor(&last.id)),
        _ => None,
    };
    Ok(ContentPage {
        count: items.len(),
        items,
        next_cursor,
    })
}
