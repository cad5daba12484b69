//! Batch state: the [`BatchStore`] seam and its two stores, SQLite (the embedded default) and
//! DynamoDB (the batch table of `deploy/batch-table.json`).
//!
//! Every transition is conditional: a batch goes active → building → done or failed, only one
//! caller wins each step, and an event id is recorded with the one batch that took it.

mod dynamo;
mod sqlite;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::change::{Change, coalesce};
use crate::decision::ClientState;

pub use dynamo::{BatchTable, DynamoBatchStore};
pub use sqlite::SqliteBatchStore;

/// A batch keeps at most this many coalesced changes; more are counted in
/// [`Batch::overflow`] and make the build a full rebuild, so a batch row stays well under
/// DynamoDB's 400 KB item limit.
pub const MAX_STORED_CHANGES: usize = 1_000;

/// Where a batch is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BatchStatus {
    /// Collecting events.
    Active,
    /// Claimed by one caller, who is starting its build.
    Building,
    /// Its build was started; the build id is recorded.
    Done,
    /// Its build could not be started.
    Failed,
}

impl BatchStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            BatchStatus::Active => "active",
            BatchStatus::Building => "building",
            BatchStatus::Done => "done",
            BatchStatus::Failed => "failed",
        }
    }

    fn parse(text: &str) -> Option<BatchStatus> {
        [
            BatchStatus::Active,
            BatchStatus::Building,
            BatchStatus::Done,
            BatchStatus::Failed,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }
}

/// Why a build was started; its `BUILD_TYPE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BuildType {
    /// Built at once, alone.
    Immediate,
    /// A batch that filled up or waited its window.
    Batch,
    /// One build per client and window after the trigger itself failed.
    Fallback,
}

impl BuildType {
    /// The value of `BUILD_TYPE`.
    pub fn as_str(self) -> &'static str {
        match self {
            BuildType::Immediate => "immediate",
            BuildType::Batch => "batch",
            BuildType::Fallback => "fallback",
        }
    }

    fn parse(text: &str) -> Option<BuildType> {
        [BuildType::Immediate, BuildType::Batch, BuildType::Fallback]
            .into_iter()
            .find(|t| t.as_str() == text)
    }
}

/// One batch as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    /// Its id.
    pub batch_id: String,
    /// The client whose site it builds.
    pub client_id: String,
    /// Where it is in its life.
    pub status: BatchStatus,
    /// What kind of build it is.
    pub build_type: BuildType,
    /// When it was opened.
    pub opened_at: DateTime<Utc>,
    /// Events it holds.
    pub event_count: u32,
    /// Its changes, coalesced per entity (at most [`MAX_STORED_CHANGES`]).
    pub changes: Vec<Change>,
    /// Changes beyond [`MAX_STORED_CHANGES`], counted only.
    pub overflow: u32,
    /// Bumped by every write, for optimistic concurrency.
    pub version: u32,
    /// When it was claimed for building.
    pub started_at: Option<DateTime<Utc>>,
    /// The CodeBuild build id, once started.
    pub build_id: Option<String>,
}

impl Batch {
    /// A new batch of `changes` opened at `now`.
    pub(crate) fn open(
        client_id: &str,
        status: BatchStatus,
        build_type: BuildType,
        changes: Vec<Change>,
        now: DateTime<Utc>,
    ) -> Batch {
        let mut batch = Batch {
            batch_id: format!("batch-{}", uuid::Uuid::new_v4()),
            client_id: client_id.to_owned(),
            status,
            build_type,
            opened_at: now,
            event_count: 0,
            changes: Vec::new(),
            overflow: 0,
            version: 0,
            started_at: (status == BatchStatus::Building).then_some(now),
            build_id: None,
        };
        batch.merge(changes);
        batch
    }

    /// Folds new changes in: coalesced with those held, capped at [`MAX_STORED_CHANGES`].
    pub(crate) fn merge(&mut self, changes: Vec<Change>) {
        for change in &changes {
            self.event_count = self.event_count.saturating_add(change.event_count);
        }
        let mut all = coalesce(std::mem::take(&mut self.changes).into_iter().chain(changes));
        if all.len() > MAX_STORED_CHANGES {
            let extra = all.len() - MAX_STORED_CHANGES;
            self.overflow = self
                .overflow
                .saturating_add(u32::try_from(extra).unwrap_or(u32::MAX));
            all.truncate(MAX_STORED_CHANGES);
        }
        self.changes = all;
        self.version = self.version.saturating_add(1);
    }
}

/// What a store knows about a client, plus the version of its active batch for the write that
/// follows the decision.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientSnapshot {
    /// The state the decision reads.
    pub state: ClientState,
    /// The version of the active batch, if one is active.
    pub active_version: Option<u32>,
}

/// How a claimed batch's build ended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Finish {
    /// CodeBuild accepted the build.
    Started {
        /// The CodeBuild build id.
        build_id: String,
    },
    /// The build could not be started.
    Failed {
        /// What went wrong, for the record.
        reason: String,
    },
}

/// A batch store failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// Someone else wrote first (the batch changed, was claimed, or an event was taken by
    /// another batch); read the state again and decide again.
    #[error("batch state of client {client_id} changed concurrently; decide again")]
    Conflict {
        /// The client whose state changed.
        client_id: String,
    },
    /// The SQLite database failed.
    #[error("batch database {path} failed")]
    Sqlite {
        /// The database file.
        path: String,
        /// The SQLite error.
        #[source]
        source: rusqlite::Error,
    },
    /// A DynamoDB call failed.
    #[error("DynamoDB {operation} on batch table {table} failed")]
    Dynamo {
        /// The operation, such as `TransactWriteItems`.
        operation: &'static str,
        /// The table.
        table: String,
        /// The SDK error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A stored row could not be read back.
    #[error("batch row {batch_id} is corrupt: {detail}")]
    Corrupt {
        /// The row's key.
        batch_id: String,
        /// What is wrong with it.
        detail: String,
    },
}

/// The batch state behind the trigger.
#[async_trait]
pub trait BatchStore: Send + Sync {
    /// The client's active batch, builds started in the last hour, and the digests the given
    /// entities had at their last build.
    async fn snapshot(
        &self,
        client_id: &str,
        entities: &[String],
        now: DateTime<Utc>,
    ) -> Result<ClientSnapshot, StoreError>;

    /// The event ids no batch holds yet.
    async fn unseen(&self, event_ids: &[String]) -> Result<Vec<String>, StoreError>;

    /// Adds changes and their events to the client's active batch, the one at
    /// `expected_version` (or opens one when `None`), and returns it as written. Fails with
    /// [`StoreError::Conflict`] if the batch changed, another batch opened, or an event is
    /// already held.
    async fn add_to_active(
        &self,
        client_id: &str,
        expected_version: Option<u32>,
        event_ids: &[String],
        changes: Vec<Change>,
        now: DateTime<Utc>,
    ) -> Result<Batch, StoreError>;

    /// Opens a batch already claimed for building (an immediate or fallback build). Fails with
    /// [`StoreError::Conflict`] if an event is already held.
    async fn open_building(
        &self,
        client_id: &str,
        build_type: BuildType,
        event_ids: &[String],
        changes: Vec<Change>,
        now: DateTime<Utc>,
    ) -> Result<Batch, StoreError>;

    /// Moves an active batch to building; `None` when it is not active (someone else claimed
    /// it, or it does not exist).
    async fn claim(&self, batch_id: &str, now: DateTime<Utc>) -> Result<Option<Batch>, StoreError>;

    /// Moves a building batch to done or failed; on done, records each change's digest as the
    /// client's last built digest of that entity.
    async fn finish(&self, batch: &Batch, finish: &Finish) -> Result<(), StoreError>;

    /// One batch by id.
    async fn batch(&self, batch_id: &str) -> Result<Option<Batch>, StoreError>;

    /// Takes the client's one fallback build of the window starting at `window_start`; false
    /// when it was already taken.
    async fn take_fallback_slot(
        &self,
        client_id: &str,
        window_start: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
}

fn millis(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

fn from_millis(batch_id: &str, ms: i64) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp_millis(ms).ok_or_else(|| StoreError::Corrupt {
        batch_id: batch_id.to_owned(),
        detail: format!("timestamp {ms} ms is out of range"),
    })
}
