//! The build trigger: events and scheduled payloads in, the decision applied to the batch
//! state, schedules made and builds started, with one fallback build per client and window
//! when the trigger itself fails.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use unified_content::ContentEvent;

use crate::change::Change;
use crate::decision::{
    ActiveBatch, BatchDecision, STANDARD_BATCH_WINDOW, SkipReason, ceiling_frees_at, decide,
    decide_due,
};
use crate::schedule::{BatchScheduler, Scheduled};
use crate::start::{BuildRequest, BuildStarter, StartError};
use crate::store::{Batch, BatchStatus, BatchStore, BuildType, Finish, StoreError};
use crate::summary::ChangeSummary;

/// How often a write that lost a race is decided again before giving up.
const MAX_ATTEMPTS: usize = 20;
/// The most events written in one store transaction.
const EVENTS_PER_WRITE: usize = 90;

/// The trigger could not handle its input; the caller should let it be retried.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TriggerError {
    /// The batch store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A schedule could not be made and the fallback build could not be started either.
    #[error("batch {batch_id} could not be scheduled and its fallback build failed")]
    Fallback {
        /// The batch.
        batch_id: String,
        /// Why the fallback build failed.
        #[source]
        source: StartError,
    },
    /// A build could not be started, nor its fallback.
    #[error(transparent)]
    Start(#[from] StartError),
    /// Writes kept losing races.
    #[error(
        "batch state of client {client_id} kept changing concurrently after {attempts} attempts"
    )]
    Contended {
        /// The client.
        client_id: String,
        /// How many attempts were made.
        attempts: usize,
    },
}

/// What one input caused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// No build: the events need none, or nothing changed since the last build.
    Skipped {
        /// The client.
        client_id: String,
        /// Why not.
        reason: SkipReason,
    },
    /// Every event was already held by a batch (a repeated delivery).
    Duplicate {
        /// The client.
        client_id: String,
    },
    /// The events joined a batch that is scheduled to build.
    Batched {
        /// The batch.
        batch_id: String,
        /// When it is due.
        due_at: DateTime<Utc>,
        /// Whether the schedule was new.
        scheduled: Scheduled,
    },
    /// A build was started.
    Started {
        /// The batch it builds.
        batch_id: String,
        /// What kind of build.
        build_type: BuildType,
        /// The build's id.
        build_id: String,
    },
    /// The batch was already claimed by another invocation, or is no longer active.
    AlreadyHandled {
        /// The batch.
        batch_id: String,
    },
    /// The trigger failed but this client's fallback build of the window was already taken;
    /// the batch builds on its next event or schedule.
    FallbackSuppressed {
        /// The batch.
        batch_id: String,
    },
}

/// The build trigger over its three seams.
#[derive(Clone)]
pub struct BuildTrigger {
    store: Arc<dyn BatchStore>,
    scheduler: Arc<dyn BatchScheduler>,
    starter: Arc<dyn BuildStarter>,
}

impl std::fmt::Debug for BuildTrigger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BuildTrigger").finish_non_exhaustive()
    }
}

impl BuildTrigger {
    /// A trigger over a store, a scheduler and a build starter.
    pub fn new(
        store: Arc<dyn BatchStore>,
        scheduler: Arc<dyn BatchScheduler>,
        starter: Arc<dyn BuildStarter>,
    ) -> BuildTrigger {
        BuildTrigger {
            store,
            scheduler,
            starter,
        }
    }

    /// Handles content events (of any clients) received at `now`.
    pub async fn on_events(
        &self,
        events: Vec<ContentEvent>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Outcome>, TriggerError> {
        let mut per_client: BTreeMap<String, Vec<ContentEvent>> = BTreeMap::new();
        for event in events {
            per_client
                .entry(event.client_id.clone())
                .or_default()
                .push(event);
        }
        let mut outcomes = Vec::new();
        for (client_id, events) in per_client {
            for chunk in events.chunks(EVENTS_PER_WRITE) {
                outcomes.push(self.client_events(&client_id, chunk, now).await?);
            }
        }
        Ok(outcomes)
    }

    async fn client_events(
        &self,
        client_id: &str,
        events: &[ContentEvent],
        now: DateTime<Utc>,
    ) -> Result<Outcome, TriggerError> {
        for _ in 0..MAX_ATTEMPTS {
            let ids: Vec<String> = events.iter().map(|e| e.event_id.clone()).collect();
            let unseen = self.store.unseen(&ids).await?;
            let fresh: Vec<ContentEvent> = events
                .iter()
                .filter(|e| unseen.contains(&e.event_id))
                .cloned()
                .collect();
            if fresh.is_empty() {
                return Ok(Outcome::Duplicate {
                    client_id: client_id.to_owned(),
                });
            }
            let entities: Vec<String> = fresh
                .iter()
                .map(|e| Change::from_event(e).entity())
                .collect();
            let snapshot = self.store.snapshot(client_id, &entities, now).await?;
            let written = match decide(&fresh, &snapshot.state, now) {
                BatchDecision::Skip { reason } => {
                    return Ok(Outcome::Skipped {
                        client_id: client_id.to_owned(),
                        reason,
                    });
                }
                BatchDecision::BuildNow { changes } => self
                    .store
                    .open_building(client_id, BuildType::Immediate, &unseen, changes, now)
                    .await
                    .map(Written::Claimed),
                BatchDecision::AddToBatch {
                    changes, due_at, ..
                } => self
                    .store
                    .add_to_active(client_id, snapshot.active_version, &unseen, changes, now)
                    .await
                    .map(|batch| Written::Waiting(batch, due_at)),
                BatchDecision::TriggerBatch { changes, .. } => self
                    .store
                    .add_to_active(client_id, snapshot.active_version, &unseen, changes, now)
                    .await
                    .map(Written::Due),
            };
            return match written {
                Ok(Written::Claimed(batch)) => self.start(batch, now).await,
                Ok(Written::Waiting(batch, due_at)) => self.schedule(batch, due_at, now).await,
                Ok(Written::Due(batch)) => self.claim_and_start(&batch.batch_id, now).await,
                // Another invocation wrote first: read again and decide again.
                Err(StoreError::Conflict { .. }) => continue,
                Err(e) => Err(e.into()),
            };
        }
        Err(TriggerError::Contended {
            client_id: client_id.to_owned(),
            attempts: MAX_ATTEMPTS,
        })
    }

    /// Handles a scheduled payload for `batch_id` firing at `now`.
    pub async fn on_scheduled(
        &self,
        batch_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Outcome, TriggerError> {
        let handled = || Outcome::AlreadyHandled {
            batch_id: batch_id.to_owned(),
        };
        let Some(batch) = self.store.batch(batch_id).await? else {
            return Ok(handled());
        };
        if batch.status != BatchStatus::Active {
            return Ok(handled());
        }
        let snapshot = self.store.snapshot(&batch.client_id, &[], now).await?;
        let active = ActiveBatch {
            batch_id: batch.batch_id.clone(),
            opened_at: batch.opened_at,
            event_count: batch.event_count,
        };
        match decide_due(&active, &snapshot.state.recent_builds, now) {
            Ok(_) => self.claim_and_start(batch_id, now).await,
            Err(later) => self.schedule(batch, later, now).await,
        }
    }

    async fn schedule(
        &self,
        batch: Batch,
        due_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Outcome, TriggerError> {
        match self.scheduler.schedule(&batch.batch_id, due_at).await {
            Ok(scheduled) => Ok(Outcome::Batched {
                batch_id: batch.batch_id,
                due_at,
                scheduled,
            }),
            Err(error) => {
                self.fallback(batch, error_line::error_line(&error), now)
                    .await
            }
        }
    }

    async fn claim_and_start(
        &self,
        batch_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Outcome, TriggerError> {
        match self.store.claim(batch_id, now).await? {
            Some(batch) => self.start(batch, now).await,
            None => Ok(Outcome::AlreadyHandled {
                batch_id: batch_id.to_owned(),
            }),
        }
    }

    /// Starts a claimed batch's build; if StartBuild fails, records it and falls back.
    async fn start(&self, batch: Batch, now: DateTime<Utc>) -> Result<Outcome, TriggerError> {
        let request = request_for(&batch, batch.build_type);
        match self.starter.start(&request).await {
            Ok(build_id) => {
                self.store
                    .finish(
                        &batch,
                        &Finish::Started {
                            build_id: build_id.clone(),
                        },
                    )
                    .await?;
                Ok(Outcome::Started {
                    batch_id: batch.batch_id,
                    build_type: batch.build_type,
                    build_id,
                })
            }
            Err(error) => {
                let reason = error_line::error_line(&error);
                self.store
                    .finish(
                        &batch,
                        &Finish::Failed {
                            reason: reason.clone(),
                        },
                    )
                    .await?;
                if batch.build_type == BuildType::Fallback {
                    return Err(error.into());
                }
                self.fallback(batch, reason, now).await
            }
        }
    }

    /// One fallback build per client and window: a full rebuild of the failed batch's changes.
    /// The batch is claimed first if it is still active, so it does not build twice.
    async fn fallback(
        &self,
        batch: Batch,
        cause: String,
        now: DateTime<Utc>,
    ) -> Result<Outcome, TriggerError> {
        tracing::warn!(batch_id = %batch.batch_id, error = %cause, "build trigger failed; falling back");
        let window = STANDARD_BATCH_WINDOW.num_milliseconds();
        let window_start =
            DateTime::from_timestamp_millis(now.timestamp_millis().div_euclid(window) * window)
                .unwrap_or(now);
        let snapshot = self.store.snapshot(&batch.client_id, &[], now).await?;
        let suppressed = || Outcome::FallbackSuppressed {
            batch_id: batch.batch_id.clone(),
        };
        if ceiling_frees_at(&snapshot.state.recent_builds, now).is_some()
            || !self
                .store
                .take_fallback_slot(&batch.client_id, window_start)
                .await?
        {
            return Ok(suppressed());
        }
        // The active batch is claimed so it does not build twice; a failed one is rebuilt.
        let target = if batch.status == BatchStatus::Active {
            match self.store.claim(&batch.batch_id, now).await? {
                Some(claimed) => claimed,
                None => {
                    return Ok(Outcome::AlreadyHandled {
                        batch_id: batch.batch_id,
                    });
                }
            }
        } else {
            self.store
                .open_building(
                    &batch.client_id,
                    BuildType::Fallback,
                    &[],
                    batch.changes.clone(),
                    now,
                )
                .await?
        };
        let request = request_for(&target, BuildType::Fallback);
        match self.starter.start(&request).await {
            Ok(build_id) => {
                self.store
                    .finish(
                        &target,
                        &Finish::Started {
                            build_id: build_id.clone(),
                        },
                    )
                    .await?;
                Ok(Outcome::Started {
                    batch_id: target.batch_id,
                    build_type: BuildType::Fallback,
                    build_id,
                })
            }
            Err(source) => {
                let reason = error_line::error_line(&source);
                self.store
                    .finish(&target, &Finish::Failed { reason })
                    .await?;
                Err(TriggerError::Fallback {
                    batch_id: batch.batch_id,
                    source,
                })
            }
        }
    }
}

/// What the store wrote for a decision.
enum Written {
    /// A batch claimed for building at once.
    Claimed(Batch),
    /// An active batch, due at the time given.
    Waiting(Batch, DateTime<Utc>),
    /// An active batch due now.
    Due(Batch),
}

/// The build request of a claimed batch, built as `build_type`.
fn request_for(batch: &Batch, build_type: BuildType) -> BuildRequest {
    let mut summary = ChangeSummary::of(&batch.changes);
    summary.total_events = batch.event_count;
    summary.more_affected_ids = summary.more_affected_ids.saturating_add(batch.overflow);
    summary.requires_full_rebuild |= batch.overflow > 0 || build_type == BuildType::Fallback;
    let reason = match build_type {
        BuildType::Immediate => format!("{} change(s), built at once", summary.total_changes),
        BuildType::Batch => format!(
            "batch of {} event(s) over {} item(s)",
            batch.event_count,
            summary.total_changes.saturating_add(batch.overflow)
        ),
        BuildType::Fallback => "the build trigger failed; full rebuild".to_owned(),
    };
    BuildRequest {
        build_type,
        batch_id: batch.batch_id.clone(),
        client_id: batch.client_id.clone(),
        event_count: batch.event_count,
        summary,
        reason,
    }
}
