//! The embedded store: one SQLite database file (or `:memory:`), in WAL mode.
//!
//! Items are kept as their JSON with a few columns for filtering; a side table maps variant
//! ids, SKUs and stock record ids to the items holding them, for stock changes.
//!
//! The connection lives on a thread of its own ([`writer`]), which commits the writes queued
//! meanwhile together.

mod writer;

use std::path::{Path, PathBuf};
use std::time::Duration;

use async_trait::async_trait;
use futures_util::FutureExt;
use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, OptionalExtension, params};
use unified_content::api::{ContentPage, ContentQuery, MAX_PAGE_BYTES};
use unified_content::{
    ContentEvent, ContentStatus, ContentType, Timestamp, UnifiedContent, content_digest,
};

use super::cursor;
use super::rules::{Holder, LookupKind, Plan, Put, Reads, Stored, lookup_keys, micros};
use super::{ApplyReport, ContentStore, Delivery, StoreError};

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
CREATE TABLE IF NOT EXISTS outbox (
    event_id TEXT PRIMARY KEY NOT NULL,
    created_at INTEGER NOT NULL,
    json TEXT NOT NULL,
    sent_at INTEGER
);
CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (created_at) WHERE sent_at IS NULL;
-- For the cleanup of sent events in mark_sent, which without it scans the whole outbox (and
-- every event's JSON, stored before sent_at) on each delivery.
CREATE INDEX IF NOT EXISTS outbox_sent ON outbox (sent_at) WHERE sent_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS deliveries (
    provider TEXT NOT NULL,
    delivery_id TEXT NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (provider, delivery_id)
);
";

/// Bytes of a page's JSON besides its items: `{"items":[],"count":1000,"next_cursor":null}`
/// with room to spare.
const PAGE_ENVELOPE_BYTES: usize = 64;

/// The backend a cursor names.
const CURSOR_BACKEND: &str = "sqlite";

/// The SQLite content store. Clones share one connection, owned by one thread; every write
/// runs in a `BEGIN IMMEDIATE` transaction (shared by the writes queued at the same time, each
/// in its own savepoint, and answered only once committed), so concurrent deliveries never
/// lose an update, also when another process (such as `integration-api ingest`) writes the
/// same file.
#[derive(Clone)]
pub struct SqliteStore {
    writer: writer::Writer,
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
        let open_err = |source: rusqlite::Error| StoreError::Open {
            location: path.display().to_string(),
            source: source.into(),
        };
        let conn = Connection::open(&path).map_err(open_err)?;
        conn.busy_timeout(Duration::from_secs(10))
            .map_err(open_err)?;
        // WAL lets readers in other processes go on while one writer commits; an in-memory
        // database answers "memory", which is fine.
        let mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
            .map_err(open_err)?;
        // Under WAL, NORMAL syncs the log only at checkpoints, not at each commit: a killed
        // process loses nothing committed and the file never corrupts, but a power cut or an
        // OS crash can undo the last commits (deliveries already answered 200). The provider
        // does not resend those; re-sync them (or send them again) after such a crash.
        conn.execute_batch("PRAGMA synchronous = NORMAL;")
            .map_err(open_err)?;
        // The savepoint of each write in a group commit keeps the pages it changes in a
        // statement journal, which would otherwise spill to a temporary file past 64 KiB.
        conn.execute_batch("PRAGMA temp_store = MEMORY;")
            .map_err(open_err)?;
        conn.execute_batch(SCHEMA).map_err(open_err)?;
        let checkpoints = if mode.eq_ignore_ascii_case("wal") {
            let checkpoints = Connection::open(&path).map_err(open_err)?;
            checkpoints
                .busy_timeout(Duration::from_secs(10))
                .map_err(open_err)?;
            conn.execute_batch(&format!(
                "PRAGMA wal_autocheckpoint = {};",
                writer::BACKSTOP_CHECKPOINT_PAGES
            ))
            .map_err(open_err)?;
            Some(checkpoints)
        } else {
            None
        };
        let writer =
            writer::Writer::spawn(conn, checkpoints).map_err(|source| StoreError::Open {
                location: path.display().to_string(),
                source: source.into(),
            })?;
        Ok(SqliteStore { writer, path })
    }

    /// A private in-memory database, for tests and one-off runs.
    pub fn in_memory() -> Result<SqliteStore, StoreError> {
        SqliteStore::open(":memory:")
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn db(operation: &'static str) -> impl Fn(rusqlite::Error) -> StoreError {
    move |source| StoreError::Backend {
        operation,
        source: source.into(),
    }
}

#[async_trait]
impl ContentStore for SqliteStore {
    async fn has_delivery(&self, provider: &str, delivery_id: &str) -> Result<bool, StoreError> {
        let (provider, delivery_id) = (provider.to_string(), delivery_id.to_string());
        self.writer
            .read(move |conn| delivery_seen(conn, &provider, &delivery_id))
            .await
    }

    async fn apply(&self, delivery: Delivery) -> Result<ApplyReport, StoreError> {
        self.writer
            .write(move |conn| apply_delivery(conn, delivery))
            .await
    }

    async fn get(&self, id: &str) -> Result<Option<UnifiedContent>, StoreError> {
        let id = id.to_string();
        self.writer
            .read(move |conn| Ok(load(conn, &id)?.and_then(|stored| stored.item)))
            .await
    }

    async fn list(&self, query: &ContentQuery) -> Result<ContentPage, StoreError> {
        let query = query.clone();
        self.writer.read(move |conn| list_page(conn, &query)).await
    }

    async fn pending_events(
        &self,
        before: Timestamp,
        limit: usize,
    ) -> Result<Vec<ContentEvent>, StoreError> {
        self.writer
            .read(move |conn| {
                let mut stmt = conn
                .prepare_cached(
                    "SELECT event_id, json FROM outbox WHERE sent_at IS NULL AND created_at < ?1
                     ORDER BY created_at LIMIT ?2",
                )
                .map_err(db("read outbox"))?;
                let rows: Vec<(String, String)> = stmt
                    .query_map(
                        params![micros(before), i64::try_from(limit).unwrap_or(i64::MAX)],
                        |row| Ok((row.get(0)?, row.get(1)?)),
                    )
                    .and_then(|rows| rows.collect())
                    .map_err(db("read outbox"))?;
                rows.into_iter()
                    .map(|(id, json)| {
                        serde_json::from_str(&json)
                            .map_err(|source| StoreError::Corrupt { id, source })
                    })
                    .collect()
            })
            .await
    }

    async fn count_pending(&self, before: Timestamp, at_most: usize) -> Result<usize, StoreError> {
        self.writer
            .read(move |conn| {
                let count: i64 = conn
                    .prepare_cached(
                        "SELECT COUNT(*) FROM (SELECT 1 FROM outbox
                     WHERE sent_at IS NULL AND created_at < ?1 LIMIT ?2)",
                    )
                    .and_then(|mut stmt| {
                        stmt.query_row(
                            params![micros(before), i64::try_from(at_most).unwrap_or(i64::MAX)],
                            |row| row.get(0),
                        )
                    })
                    .map_err(db("count outbox"))?;
                Ok(usize::try_from(count).unwrap_or(0))
            })
            .await
    }

    async fn mark_sent(&self, event_ids: &[String]) -> Result<(), StoreError> {
        let ids = event_ids.to_vec();
        self.writer
            .write(move |conn| {
                let now = micros(chrono::Utc::now());
                let mut stmt = conn
                    .prepare_cached("UPDATE outbox SET sent_at = ?1 WHERE event_id = ?2")
                    .map_err(db("mark events sent"))?;
                for id in &ids {
                    stmt.execute(params![now, id])
                        .map_err(db("mark events sent"))?;
                }
                // Sent events are kept a week for inspection, then dropped.
                execute_cached(
                    conn,
                    "DELETE FROM outbox WHERE sent_at IS NOT NULL AND sent_at < ?1",
                    params![now.saturating_sub(7 * 24 * 3600 * 1_000_000)],
                )
                .map_err(db("mark events sent"))?;
                Ok(())
            })
            .await
    }
}

/// `conn.execute` with the statement kept in the connection's cache, for the statements every
/// delivery runs.
fn execute_cached(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> rusqlite::Result<usize> {
    conn.prepare_cached(sql)?.execute(params)
}

fn delivery_seen(conn: &Connection, provider: &str, id: &str) -> Result<bool, StoreError> {
    conn.prepare_cached("SELECT 1 FROM deliveries WHERE provider = ?1 AND delivery_id = ?2")
        .and_then(|mut stmt| stmt.query_row(params![provider, id], |_| Ok(())))
        .optional()
        .map(|found| found.is_some())
        .map_err(db("look up delivery id"))
}

fn load(conn: &Connection, id: &str) -> Result<Option<Stored>, StoreError> {
    let row: Option<(i64, Option<String>)> = conn
        .prepare_cached("SELECT updated_at, json FROM items WHERE id = ?1")
        .and_then(|mut stmt| stmt.query_row(params![id], |row| Ok((row.get(0)?, row.get(1)?))))
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

/// The connection inside the writer's transaction, for the rules' reads. It holds the
/// connection by `&mut`, which is `Send` (a `&Connection` is not).
struct InTransaction<'a> {
    conn: &'a mut Connection,
}

#[async_trait]
impl Reads for InTransaction<'_> {
    async fn load(&mut self, id: &str) -> Result<Option<Stored>, StoreError> {
        load(self.conn, id)
    }

    async fn holders(&mut self, kind: LookupKind, key: &str) -> Result<Vec<Holder>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT l.item_id, i.provider FROM lookups l JOIN items i ON i.id = l.item_id
                 WHERE l.kind = ?1 AND l.key = ?2 ORDER BY l.item_id",
            )
            .map_err(db("look up stock target"))?;
        stmt.query_map(params![kind.as_str(), key], |row| {
            Ok(Holder {
                item_id: row.get(0)?,
                provider: row.get(1)?,
            })
        })
        .and_then(|rows| rows.collect())
        .map_err(db("look up stock target"))
    }
}

/// Applies a delivery inside the writer's transaction; the writer commits it, or rolls it back
/// on an error.
fn apply_delivery(conn: &mut Connection, delivery: Delivery) -> Result<ApplyReport, StoreError> {
    let mut tx = InTransaction { conn };
    if let Some(id) = &delivery.delivery_id
        && delivery_seen(tx.conn, &delivery.provider, id)?
    {
        return Ok(ApplyReport {
            duplicate: true,
            ..ApplyReport::default()
        });
    }
    let mut plan = Plan::new(delivery.received_at);
    for change in delivery.changes {
        // SQLite's reads never wait, so the rules' futures complete on their first poll; no
        // executor is needed on the writer's thread.
        plan.add(&mut tx, change)
            .now_or_never()
            .unwrap_or_else(|| Err(StoreError::Task("a rule's read waited".into())))?;
    }
    for put in plan.puts() {
        save(tx.conn, put)?;
    }
    let outcomes = plan.into_outcomes();
    let events = super::outbox_events(delivery.events.as_ref(), &outcomes);
    for (n, event) in events.iter().enumerate() {
        let json = serde_json::to_string(event).map_err(|source| StoreError::Corrupt {
            id: event.content_id.clone(),
            source,
        })?;
        execute_cached(
            tx.conn,
            "INSERT INTO outbox (event_id, created_at, json) VALUES (?1, ?2, ?3)",
            params![
                event.event_id,
                micros(delivery.received_at).saturating_add(n as i64),
                json
            ],
        )
        .map_err(db("write outbox"))?;
    }
    if let Some(id) = &delivery.delivery_id {
        execute_cached(
            tx.conn,
            "INSERT INTO deliveries (provider, delivery_id, received_at) VALUES (?1, ?2, ?3)",
            params![delivery.provider, id, delivery.received_at.to_rfc3339()],
        )
        .map_err(db("record delivery id"))?;
    }
    Ok(ApplyReport {
        duplicate: false,
        outcomes,
        events,
    })
}

/// Writes an item (and refreshes its lookup keys) or a deletion marker.
fn save(conn: &Connection, put: &Put) -> Result<(), StoreError> {
    let item = match put {
        Put::Item(item) => item,
        Put::Marker {
            id,
            content_type,
            provider,
            deleted_at,
            synced_at,
        } => {
            execute_cached(
                conn,
                "INSERT OR REPLACE INTO items (id, content_type, provider, status, updated_at, synced_at, digest, json)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, NULL, NULL)",
                params![
                    id,
                    content_type.map(ContentType::as_str).unwrap_or(""),
                    provider,
                    ContentStatus::Deleted.as_str(),
                    micros(*deleted_at),
                    micros(*synced_at)
                ],
            )
            .map_err(db("write deletion"))?;
            return Ok(());
        }
    };
    let json = serde_json::to_string(item).map_err(|source| StoreError::Corrupt {
        id: item.id.clone(),
        source,
    })?;
    execute_cached(
        conn,
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
    execute_cached(
        conn,
        "DELETE FROM lookups WHERE item_id = ?1",
        params![item.id],
    )
    .map_err(db("write lookups"))?;
    let mut insert = conn
        .prepare_cached("INSERT OR IGNORE INTO lookups (kind, key, item_id) VALUES (?1, ?2, ?3)")
        .map_err(db("write lookups"))?;
    for (kind, key) in lookup_keys(item) {
        insert
            .execute(params![kind.as_str(), key, item.id])
            .map_err(db("write lookups"))?;
    }
    Ok(())
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
    if let Some(after) = cursor::decode(CURSOR_BACKEND, query)? {
        sql.push_str(" AND id > ?");
        args.push(SqlValue::Text(after));
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
        let cost = json.len() + 1 + cursor::encode(CURSOR_BACKEND, query, id).len() + 2;
        if !items.is_empty() && bytes + cost > MAX_PAGE_BYTES {
            more = true;
            break;
        }
        bytes += json.len() + 1;
        items.push(parse(id, json)?);
    }
    let next_cursor = match items.last() {
        Some(last) if more => Some(cursor::encode(CURSOR_BACKEND, query, &last.id)),
        _ => None,
    };
    Ok(ContentPage {
        count: items.len(),
        items,
        next_cursor,
    })
}
