//! The embedded batch store: the same state as the batch table, in one SQLite file.

use std::path::Path;
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::{
    Batch, BatchStatus, BatchStore, BuildType, ClientSnapshot, Finish, StoreError, from_millis,
    millis,
};
use crate::decision::{ActiveBatch, CEILING_SPAN, ClientState};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS batches (
    batch_id TEXT PRIMARY KEY,
    client_id TEXT NOT NULL,
    status TEXT NOT NULL,
    build_type TEXT NOT NULL,
    opened_at INTEGER NOT NULL,
    event_count INTEGER NOT NULL,
    changes TEXT NOT NULL,
    overflow INTEGER NOT NULL,
    version INTEGER NOT NULL,
    started_at INTEGER,
    build_id TEXT,
    error TEXT
);
-- One active batch per client, enforced by the database.
CREATE UNIQUE INDEX IF NOT EXISTS one_active_batch ON batches (client_id) WHERE status = 'active';
CREATE INDEX IF NOT EXISTS client_started ON batches (client_id, started_at);
-- Each event id is held by the one batch that took it.
CREATE TABLE IF NOT EXISTS batch_events (event_id TEXT PRIMARY KEY, batch_id TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS built_digests (
    client_id TEXT NOT NULL,
    entity TEXT NOT NULL,
    digest TEXT NOT NULL,
    batch_id TEXT NOT NULL,
    PRIMARY KEY (client_id, entity)
);
CREATE TABLE IF NOT EXISTS fallback_slots (
    client_id TEXT NOT NULL,
    window_start INTEGER NOT NULL,
    PRIMARY KEY (client_id, window_start)
);
";

const COLUMNS: &str = "batch_id, client_id, status, build_type, opened_at, event_count, changes, \
                       overflow, version, started_at, build_id";

/// Batch state in SQLite, for the local server and tests.
#[derive(Debug)]
pub struct SqliteBatchStore {
    path: String,
    connection: Mutex<Connection>,
}

impl SqliteBatchStore {
    /// Opens (creating if needed) the database at `path`.
    pub fn open(path: &Path) -> Result<SqliteBatchStore, StoreError> {
        let name = path.display().to_string();
        let fail = |source| StoreError::Sqlite {
            path: name.clone(),
            source,
        };
        let connection = Connection::open(path).map_err(fail)?;
        connection
            .busy_timeout(std::time::Duration::from_secs(5))
            .map_err(fail)?;
        connection
            .pragma_update(None, "journal_mode", "WAL")
            .map_err(fail)?;
        connection.execute_batch(SCHEMA).map_err(fail)?;
        Ok(SqliteBatchStore {
            path: name,
            connection: Mutex::new(connection),
        })
    }

    fn fail(&self, source: rusqlite::Error) -> StoreError {
        StoreError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }

    /// Runs `work` in one immediate (write-locking) transaction.
    fn write<T>(
        &self,
        work: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut connection = self.connection.lock().unwrap_or_else(|e| e.into_inner());
        let tx = connection
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| self.fail(e))?;
        let value = work(&tx)?;
        tx.commit().map_err(|e| self.fail(e))?;
        Ok(value)
    }

    fn read_batch(&self, conn: &Connection, batch_id: &str) -> Result<Option<Batch>, StoreError> {
        let row = conn
            .query_row(
                &format!("SELECT {COLUMNS} FROM batches WHERE batch_id = ?1"),
                [batch_id],
                raw_row,
            )
            .optional()
            .map_err(|e| self.fail(e))?;
        row.map(RawBatch::into_batch).transpose()
    }

    /// Records the events with `batch_id`; a conflict if any is already held.
    fn hold_events(
        &self,
        tx: &rusqlite::Transaction<'_>,
        client_id: &str,
        batch_id: &str,
        event_ids: &[String],
    ) -> Result<(), StoreError> {
        let mut insert = tx
            .prepare_cached(
                "INSERT OR IGNORE INTO batch_events (event_id, batch_id) VALUES (?1, ?2)",
            )
            .map_err(|e| self.fail(e))?;
        for event_id in event_ids {
            if insert
                .execute([event_id, batch_id])
                .map_err(|e| self.fail(e))?
                == 0
            {
                return Err(StoreError::Conflict {
                    client_id: client_id.to_owned(),
                });
            }
        }
        Ok(())
    }

    fn insert_batch(
        &self,
        tx: &rusqlite::Transaction<'_>,
        batch: &Batch,
    ) -> Result<(), StoreError> {
        let inserted = tx.execute(
            &format!("INSERT INTO batches ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"),
            params![
                batch.batch_id,
                batch.client_id,
                batch.status.as_str(),
                batch.build_type.as_str(),
                millis(batch.opened_at),
                batch.event_count,
                changes_json(batch),
                batch.overflow,
                batch.version,
                batch.started_at.map(millis),
                batch.build_id,
            ],
        );
        match inserted {
            Ok(_) => Ok(()),
            // The one-active-batch index: another batch opened first.
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::ConstraintViolation =>
            {
                Err(StoreError::Conflict {
                    client_id: batch.client_id.clone(),
                })
            }
            Err(e) => Err(self.fail(e)),
        }
    }
}

#[async_trait]
impl BatchStore for SqliteBatchStore {
    async fn snapshot(
        &self,
        client_id: &str,
        entities: &[String],
        now: DateTime<Utc>,
    ) -> Result<ClientSnapshot, StoreError> {
        let connection = self.connection.lock().unwrap_or_else(|e| e.into_inner());
        let active = connection
            .query_row(
                &format!(
                    "SELECT {COLUMNS} FROM batches WHERE client_id = ?1 AND status = 'active'"
                ),
                [client_id],
                raw_row,
            )
            .optional()
            .map_err(|e| self.fail(e))?
            .map(RawBatch::into_batch)
            .transpose()?;
        let mut recent = connection
            .prepare_cached(
                "SELECT started_at FROM batches WHERE client_id = ?1 AND started_at >= ?2 \
                 AND status IN ('building', 'done')",
            )
            .map_err(|e| self.fail(e))?;
        let recent_builds = recent
            .query_map(params![client_id, millis(now - CEILING_SPAN)], |row| {
                row.get::<_, i64>(0)
            })
            .map_err(|e| self.fail(e))?
            .map(|ms| {
                let ms = ms.map_err(|e| self.fail(e))?;
                from_millis(client_id, ms)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut digest = connection
            .prepare_cached("SELECT digest FROM built_digests WHERE client_id = ?1 AND entity = ?2")
            .map_err(|e| self.fail(e))?;
        let mut built_digests = std::collections::HashMap::new();
        for entity in entities {
            let found: Option<String> = digest
                .query_row([client_id, entity], |row| row.get(0))
                .optional()
                .map_err(|e| self.fail(e))?;
            if let Some(found) = found {
                built_digests.insert(entity.clone(), found);
            }
        }
        Ok(ClientSnapshot {
            active_version: active.as_ref().map(|b| b.version),
            state: ClientState {
                active: active.map(|b| ActiveBatch {
                    batch_id: b.batch_id,
                    opened_at: b.opened_at,
                    event_count: b.event_count,
                }),
                recent_builds,
                built_digests,
            },
        })
    }

    async fn unseen(&self, event_ids: &[String]) -> Result<Vec<String>, StoreError> {
        let connection = self.connection.lock().unwrap_or_else(|e| e.into_inner());
        let mut held = connection
            .prepare_cached("SELECT 1 FROM batch_events WHERE event_id = ?1")
            .map_err(|e| self.fail(e))?;
        let mut out = Vec::new();
        for event_id in event_ids {
            if !held.exists([event_id]).map_err(|e| self.fail(e))? {
                out.push(event_id.clone());
            }
        }
        Ok(out)
    }

    async fn add_to_active(
        &self,
        client_id: &str,
        expected_version: Option<u32>,
        event_ids: &[String],
        changes: Vec<super::Change>,
        now: DateTime<Utc>,
    ) -> Result<Batch, StoreError> {
        let conflict = || StoreError::Conflict {
            client_id: client_id.to_owned(),
        };
        self.write(|tx| {
            let current = tx
                .query_row(
                    &format!("SELECT {COLUMNS} FROM batches WHERE client_id = ?1 AND status = 'active'"),
                    [client_id],
                    raw_row,
                )
                .optional()
                .map_err(|e| self.fail(e))?
                .map(RawBatch::into_batch)
                .transpose()?;
            let batch = match (current, expected_version) {
                (None, None) => {
                    let batch =
                        Batch::open(client_id, BatchStatus::Active, BuildType::Batch, changes, now);
                    self.insert_batch(tx, &batch)?;
                    batch
                }
                (Some(mut batch), Some(version)) if batch.version == version => {
                    batch.merge(changes);
                    tx.execute(
                        "UPDATE batches SET event_count = ?2, changes = ?3, overflow = ?4, version = ?5 \
                         WHERE batch_id = ?1 AND status = 'active' AND version = ?6",
                        params![
                            batch.batch_id,
                            batch.event_count,
                            changes_json(&batch),
                            batch.overflow,
                            batch.version,
                            version
                        ],
                    )
                    .map_err(|e| self.fail(e))?;
                    batch
                }
                _ => return Err(conflict()),
            };
            self.hold_events(tx, client_id, &batch.batch_id, event_ids)?;
            Ok(batch)
        })
    }

    async fn open_building(
        &self,
        client_id: &str,
        build_type: BuildType,
        event_ids: &[String],
        changes: Vec<super::Change>,
        now: DateTime<Utc>,
    ) -> Result<Batch, StoreError> {
        let batch = Batch::open(client_id, BatchStatus::Building, build_type, changes, now);
        self.write(|tx| {
            self.insert_batch(tx, &batch)?;
            self.hold_events(tx, client_id, &batch.batch_id, event_ids)
        })?;
        Ok(batch)
    }

    async fn claim(&self, batch_id: &str, now: DateTime<Utc>) -> Result<Option<Batch>, StoreError> {
        self.write(|tx| {
            let claimed = tx
                .execute(
                    "UPDATE batches SET status = 'building', started_at = ?2, version = version + 1 \
                     WHERE batch_id = ?1 AND status = 'active'",
                    params![batch_id, millis(now)],
                )
                .map_err(|e| self.fail(e))?;
            if claimed == 0 {
                return Ok(None);
            }
            self.read_batch(tx, batch_id)
        })
    }

    async fn finish(&self, batch: &Batch, finish: &Finish) -> Result<(), StoreError> {
        self.write(|tx| {
            let (status, build_id, error) = match finish {
                Finish::Started { build_id } => (BatchStatus::Done, Some(build_id), None),
                Finish::Failed { reason } => (BatchStatus::Failed, None, Some(reason)),
            };
            let moved = tx
                .execute(
                    "UPDATE batches SET status = ?2, build_id = ?3, error = ?4, version = version + 1 \
                     WHERE batch_id = ?1 AND status = 'building'",
                    params![batch.batch_id, status.as_str(), build_id, error],
                )
                .map_err(|e| self.fail(e))?;
            if moved == 0 {
                return Err(StoreError::Conflict {
                    client_id: batch.client_id.clone(),
                });
            }
            if status == BatchStatus::Done {
                let mut put = tx
                    .prepare_cached(
                        "INSERT INTO built_digests (client_id, entity, digest, batch_id) \
                         VALUES (?1, ?2, ?3, ?4) ON CONFLICT (client_id, entity) \
                         DO UPDATE SET digest = excluded.digest, batch_id = excluded.batch_id",
                    )
                    .map_err(|e| self.fail(e))?;
                for change in &batch.changes {
                    put.execute([&batch.client_id, &change.entity(), &change.digest, &batch.batch_id])
                        .map_err(|e| self.fail(e))?;
                }
            }
            Ok(())
        })
    }

    async fn batch(&self, batch_id: &str) -> Result<Option<Batch>, StoreError> {
        let connection = self.connection.lock().unwrap_or_else(|e| e.into_inner());
        self.read_batch(&connection, batch_id)
    }

    async fn take_fallback_slot(
        &self,
        client_id: &str,
        window_start: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.write(|tx| {
            let taken = tx
                .execute(
                    "INSERT OR IGNORE INTO fallback_slots (client_id, window_start) VALUES (?1, ?2)",
                    params![client_id, millis(window_start)],
                )
                .map_err(|e| self.fail(e))?;
            Ok(taken == 1)
        })
    }
}

fn changes_json(batch: &Batch) -> String {
    serde_json::to_string(&batch.changes).expect("changes of strings and counts always serialize")
}

/// A row as SQLite holds it, before its text is parsed.
struct RawBatch {
    batch_id: String,
    client_id: String,
    status: String,
    build_type: String,
    opened_at: i64,
    event_count: u32,
    changes: String,
    overflow: u32,
    version: u32,
    started_at: Option<i64>,
    build_id: Option<String>,
}

fn raw_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<RawBatch> {
    Ok(RawBatch {
        batch_id: row.get(0)?,
        client_id: row.get(1)?,
        status: row.get(2)?,
        build_type: row.get(3)?,
        opened_at: row.get(4)?,
        event_count: row.get(5)?,
        changes: row.get(6)?,
        overflow: row.get(7)?,
        version: row.get(8)?,
        started_at: row.get(9)?,
        build_id: row.get(10)?,
    })
}

impl RawBatch {
    fn into_batch(self) -> Result<Batch, StoreError> {
        let corrupt = |detail: String| StoreError::Corrupt {
            batch_id: self.batch_id.clone(),
            detail,
        };
        Ok(Batch {
            status: BatchStatus::parse(&self.status)
                .ok_or_else(|| corrupt(format!("unknown status {:?}", self.status)))?,
            build_type: BuildType::parse(&self.build_type)
                .ok_or_else(|| corrupt(format!("unknown build type {:?}", self.build_type)))?,
            opened_at: from_millis(&self.batch_id, self.opened_at)?,
            changes: serde_json::from_str(&self.changes)
                .map_err(|e| corrupt(format!("changes are not valid JSON: {e}")))?,
            started_at: self
                .started_at
                .map(|ms| from_millis(&self.batch_id, ms))
                .transpose()?,
            event_count: self.event_count,
            overflow: self.overflow,
            version: self.version,
            build_id: self.build_id,
            client_id: self.client_id,
            batch_id: self.batch_id,
        })
    }
}
