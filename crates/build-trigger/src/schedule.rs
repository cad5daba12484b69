//! Scheduling a batch's build: the [`BatchScheduler`] seam, EventBridge Scheduler one-time
//! schedules on AWS and an in-process channel locally.

use async_trait::async_trait;
use aws_sdk_scheduler::error::SdkError;
use aws_sdk_scheduler::types::{
    ActionAfterCompletion, FlexibleTimeWindow, FlexibleTimeWindowMode, Target,
};
use chrono::{DateTime, SubsecRound, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

/// The `action` of a scheduled payload.
pub const TRIGGER_BATCH_BUILD: &str = "trigger_batch_build";

/// What a schedule delivers when it fires: `{"batch_id": ..., "action": "trigger_batch_build"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduledPayload {
    /// The batch to look at.
    pub batch_id: String,
    /// Always [`TRIGGER_BATCH_BUILD`].
    pub action: String,
}

impl ScheduledPayload {
    /// The payload that triggers `batch_id`.
    pub fn trigger(batch_id: &str) -> ScheduledPayload {
        ScheduledPayload {
            batch_id: batch_id.to_owned(),
            action: TRIGGER_BATCH_BUILD.to_owned(),
        }
    }
}

/// Whether a schedule was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Scheduled {
    /// A new schedule was made.
    Created,
    /// A schedule of that batch and time existed already.
    AlreadyScheduled,
}

/// A schedule could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScheduleError {
    /// EventBridge Scheduler refused or failed.
    #[error("cannot schedule batch {batch_id} with EventBridge Scheduler (schedule {name})")]
    Scheduler {
        /// The batch.
        batch_id: String,
        /// The schedule's name.
        name: String,
        /// The SDK error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The local timer is gone.
    #[error("cannot schedule batch {batch_id}: the local batch timer stopped")]
    TimerStopped {
        /// The batch.
        batch_id: String,
    },
}

/// Arranges for a batch to be looked at again at a given time.
#[async_trait]
pub trait BatchScheduler: Send + Sync {
    /// Fires [`ScheduledPayload::trigger`] for `batch_id` at `at` (or up to a second later).
    async fn schedule(&self, batch_id: &str, at: DateTime<Utc>)
    -> Result<Scheduled, ScheduleError>;
}

/// One-time EventBridge Scheduler schedules that invoke the build trigger Lambda.
///
/// Each is `at(...)` in UTC with the flexible window OFF and `ActionAfterCompletion=DELETE`,
/// so it fires once and removes itself. The name is the batch id and the time, so a repeated
/// request is a `ConflictException`, read as already scheduled.
#[derive(Debug, Clone)]
pub struct EventBridgeScheduler {
    client: aws_sdk_scheduler::Client,
    target_arn: String,
    role_arn: String,
    group: Option<String>,
}

impl EventBridgeScheduler {
    /// Schedules that invoke `target_arn` (the build trigger Lambda) with `role_arn`, in the
    /// default group unless `group` is given.
    pub fn new(
        client: aws_sdk_scheduler::Client,
        target_arn: impl Into<String>,
        role_arn: impl Into<String>,
        group: Option<String>,
    ) -> EventBridgeScheduler {
        EventBridgeScheduler {
            client,
            target_arn: target_arn.into(),
            role_arn: role_arn.into(),
            group,
        }
    }
}

/// The schedule's time: rounded up to the second, never before the batch is due.
fn schedule_time(at: DateTime<Utc>) -> DateTime<Utc> {
    let whole = at.trunc_subsecs(0);
    if whole < at {
        whole + TimeDelta::seconds(1)
    } else {
        whole
    }
}

/// The schedule name of a batch and time (at most 64 characters of `[0-9a-zA-Z-_.]`).
pub fn schedule_name(batch_id: &str, at: DateTime<Utc>) -> String {
    let safe: String = batch_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .take(50)
        .collect();
    format!("{safe}-{}", schedule_time(at).timestamp())
}

/// The `at(...)` expression of a time, in UTC.
pub fn at_expression(at: DateTime<Utc>) -> String {
    format!("at({})", schedule_time(at).format("%Y-%m-%dT%H:%M:%S"))
}

#[async_trait]
impl BatchScheduler for EventBridgeScheduler {
    async fn schedule(
        &self,
        batch_id: &str,
        at: DateTime<Utc>,
    ) -> Result<Scheduled, ScheduleError> {
        let name = schedule_name(batch_id, at);
        let payload = serde_json::to_string(&ScheduledPayload::trigger(batch_id))
            .expect("a payload of strings serializes");
        let target = Target::builder()
            .arn(&self.target_arn)
            .role_arn(&self.role_arn)
            .input(payload)
            .build()
            .map_err(|e| ScheduleError::Scheduler {
                batch_id: batch_id.to_owned(),
                name: name.clone(),
                source: Box::new(e),
            })?;
        let window = FlexibleTimeWindow::builder()
            .mode(FlexibleTimeWindowMode::Off)
            .build()
            .expect("the mode is set");
        let result = self
            .client
            .create_schedule()
            .name(&name)
            .set_group_name(self.group.clone())
            .schedule_expression(at_expression(at))
            .schedule_expression_timezone("UTC")
            .flexible_time_window(window)
            .action_after_completion(ActionAfterCompletion::Delete)
            .target(target)
            .send()
            .await;
        match result {
            Ok(_) => Ok(Scheduled::Created),
            Err(SdkError::ServiceError(e)) if e.err().is_conflict_exception() => {
                Ok(Scheduled::AlreadyScheduled)
            }
            Err(e) => Err(ScheduleError::Scheduler {
                batch_id: batch_id.to_owned(),
                name,
                source: Box::new(e),
            }),
        }
    }
}

/// The in-process stand-in for the Scheduler: sends `(batch id, time)` to a channel whose
/// reader waits until the time and then triggers the batch.
#[derive(Debug, Clone)]
pub struct LocalScheduler {
    sender: mpsc::UnboundedSender<(String, DateTime<Utc>)>,
}

impl LocalScheduler {
    /// A scheduler and the receiving end of its channel.
    pub fn channel() -> (
        LocalScheduler,
        mpsc::UnboundedReceiver<(String, DateTime<Utc>)>,
    ) {
        let (sender, receiver) = mpsc::unbounded_channel();
        (LocalScheduler { sender }, receiver)
    }
}

#[async_trait]
impl BatchScheduler for LocalScheduler {
    async fn schedule(
        &self,
        batch_id: &str,
        at: DateTime<Utc>,
    ) -> Result<Scheduled, ScheduleError> {
        self.sender
            .send((batch_id.to_owned(), schedule_time(at)))
            .map_err(|_| ScheduleError::TimerStopped {
                batch_id: batch_id.to_owned(),
            })?;
        Ok(Scheduled::Created)
    }
}
