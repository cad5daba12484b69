//! Batched build triggering: turns content events into the right number of site builds.
//!
//! One CMS save sends several webhooks and a bulk import sends hundreds; building once per
//! event would storm. [`decide`] is the pure decision (build now, batch, trigger the batch or
//! skip) with the seed's strategies, plus coalescing per entity, a skip when nothing changed
//! since the last build and an hourly ceiling per client.
#![deny(missing_docs)]

mod change;
mod decision;
mod local;
mod schedule;
mod start;
mod store;
mod summary;
mod trigger;

pub use change::{Change, DELETED_DIGEST, coalesce, entity_key};
pub use decision::{
    ActiveBatch, BULK_BATCH_WINDOW, BULK_EVENT_THRESHOLD, BatchDecision, CEILING_SPAN, ClientState,
    IMMEDIATE_BUILD_THRESHOLD, IMMEDIATE_COOLDOWN, MAX_BATCH_SIZE, MAX_BUILDS_PER_HOUR,
    STANDARD_BATCH_WINDOW, SkipReason, TriggerReason, WaitReason, ceiling_frees_at, decide,
    decide_due, window_for,
};
pub use local::{CommandStarter, run_local_timer, spawn_local_builds};
pub use schedule::{
    BatchScheduler, EventBridgeScheduler, LocalScheduler, ScheduleError, Scheduled,
    ScheduledPayload, TRIGGER_BATCH_BUILD, at_expression, schedule_name,
};
pub use start::{BuildRequest, BuildStarter, CodeBuildStarter, StartError};
pub use store::{
    Batch, BatchStatus, BatchStore, BatchTable, BuildType, ClientSnapshot, DynamoBatchStore,
    Finish, MAX_STORED_CHANGES, SqliteBatchStore, StoreError,
};
pub use summary::{ChangeSummary, MAX_AFFECTED_IDS};
pub use trigger::{BuildTrigger, Outcome, TriggerError};
