//! The build trigger Lambda's handler and configuration, kept apart from `main` so tests call
//! the handler with their own clients.
//!
//! The handler takes SNS records (content events that passed the subscription's filter
//! policy) and EventBridge Scheduler payloads, and nothing else: any other input is logged and
//! ignored. [`Handler`] also prints the invocation's metrics as EMF lines: `BuildsStarted` by
//! `BuildType`, `BuildsBatched`, and `BuildsSkipped` by `Reason`.
#![deny(missing_docs)]

use std::sync::Arc;

use aws_lambda_events::event::sns::SnsEvent;
use build_trigger::{BuildTrigger, Outcome, ScheduledPayload, TRIGGER_BATCH_BUILD, TriggerError};
use chrono::{DateTime, Utc};
use emf_metrics::Metrics;
use serde::Serialize;
use unified_content::ContentEvent;

/// The environment variables the Lambda needs, each required.
pub const REQUIRED_VARIABLES: [&str; 5] = [
    "BUILD_BATCH_TABLE",
    "BUILD_PROJECT_NAME",
    "INTEGRATION_API_URL",
    "SCHEDULER_ROLE_ARN",
    "BUILD_TRIGGER_LAMBDA_ARN",
];

/// The Lambda's configuration, from its environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `BUILD_BATCH_TABLE`: the DynamoDB batch table.
    pub batch_table: String,
    /// `BUILD_PROJECT_NAME`: the CodeBuild project that builds the site.
    pub project_name: String,
    /// `INTEGRATION_API_URL`: the content API the builds fetch from.
    pub integration_api_url: String,
    /// `SCHEDULER_ROLE_ARN`: the role EventBridge Scheduler assumes to invoke this Lambda.
    pub scheduler_role_arn: String,
    /// `BUILD_TRIGGER_LAMBDA_ARN`: this Lambda, the target of its schedules.
    pub lambda_arn: String,
    /// `SCHEDULE_GROUP_NAME` (optional): the schedule group; the default group when unset.
    pub schedule_group: Option<String>,
    /// `METRICS_NAMESPACE` (optional): the CloudWatch namespace of the function's metrics.
    pub metrics_namespace: String,
}

/// The configuration is incomplete.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// Required variables are unset or empty.
    #[error(
        "missing environment variable(s) {}: set them in the function's configuration (the deploy template sets them all)",
        .names.join(", ")
    )]
    Missing {
        /// The variables missing.
        names: Vec<&'static str>,
    },
}

impl Config {
    /// Reads the configuration through `var` (the process environment in `main`), naming every
    /// missing variable at once.
    pub fn from_lookup(var: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let value = |name: &str| var(name).filter(|v| !v.trim().is_empty());
        let missing: Vec<&'static str> = REQUIRED_VARIABLES
            .into_iter()
            .filter(|name| value(name).is_none())
            .collect();
        if !missing.is_empty() {
            return Err(ConfigError::Missing { names: missing });
        }
        let required = |name: &str| value(name).expect("checked above");
        Ok(Config {
            batch_table: required("BUILD_BATCH_TABLE"),
            project_name: required("BUILD_PROJECT_NAME"),
            integration_api_url: required("INTEGRATION_API_URL"),
            scheduler_role_arn: required("SCHEDULER_ROLE_ARN"),
            lambda_arn: required("BUILD_TRIGGER_LAMBDA_ARN"),
            schedule_group: value("SCHEDULE_GROUP_NAME"),
            metrics_namespace: emf_metrics::namespace_or_default(
                value(emf_metrics::NAMESPACE_VARIABLE).as_deref(),
            ),
        })
    }
}

/// What one invocation did, returned as the Lambda's result.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Content events handed to the trigger.
    pub events: usize,
    /// Records or payloads ignored (not SNS content events, not a trigger payload).
    pub ignored: usize,
    /// Builds started.
    pub builds_started: usize,
    /// Each outcome, for the log.
    pub outcomes: Vec<String>,
}

/// Builds started, by `BuildType` (`immediate`, `batch`, `fallback`).
pub const BUILDS_STARTED: &str = "BuildsStarted";
/// Inputs that joined (or kept) a batch scheduled to build later: new events, or a schedule
/// that fired early and was set again.
pub const BUILDS_BATCHED: &str = "BuildsBatched";
/// Inputs that cause no build, by `Reason` (`no_build_required`, `unchanged`, `duplicate`).
pub const BUILDS_SKIPPED: &str = "BuildsSkipped";

/// The function's handler: the trigger and where its metrics go.
#[derive(Debug, Clone)]
pub struct Handler {
    trigger: BuildTrigger,
    metrics: Arc<Metrics>,
}

impl Handler {
    /// The handler of `trigger`, writing metrics to `metrics`.
    pub fn new(trigger: BuildTrigger, metrics: Metrics) -> Handler {
        Handler {
            trigger,
            metrics: Arc::new(metrics),
        }
    }

    /// Handles one invocation received at `now`, as [`handle`] does, and writes the metrics
    /// of its outcomes (none when the trigger failed: Lambda's own `Errors` metric counts it).
    pub async fn invoke(
        &self,
        payload: serde_json::Value,
        now: DateTime<Utc>,
    ) -> Result<Report, TriggerError> {
        let result = run(&self.trigger, payload, now, |outcome| {
            record(&self.metrics, outcome)
        })
        .await;
        if let Err(error) = self.metrics.flush() {
            tracing::warn!(%error, "metrics could not be written");
        }
        result
    }
}

fn record(metrics: &Metrics, outcome: &Outcome) {
    match outcome {
        Outcome::Started { build_type, .. } => {
            metrics.count(BUILDS_STARTED, 1, &[("BuildType", build_type.as_str())]);
        }
        Outcome::Batched { .. } => metrics.count(BUILDS_BATCHED, 1, &[]),
        Outcome::Skipped { reason, .. } => {
            metrics.count(BUILDS_SKIPPED, 1, &[("Reason", reason.as_str())]);
        }
        Outcome::Duplicate { .. } => metrics.count(BUILDS_SKIPPED, 1, &[("Reason", "duplicate")]),
        // Another invocation handles the batch, or the trigger failed and the batch waits for
        // its next event or schedule: neither is a build started, batched or skipped.
        _ => {}
    }
}

/// Handles one invocation received at `now`, without metrics.
///
/// A trigger failure is returned as an error, so Lambda retries the invocation (SNS and the
/// Scheduler both retry); events already held by a batch are not counted twice on a retry.
pub async fn handle(
    trigger: &BuildTrigger,
    payload: serde_json::Value,
    now: DateTime<Utc>,
) -> Result<Report, TriggerError> {
    run(trigger, payload, now, |_| {}).await
}

async fn run(
    trigger: &BuildTrigger,
    payload: serde_json::Value,
    now: DateTime<Utc>,
    mut on_outcome: impl FnMut(&Outcome),
) -> Result<Report, TriggerError> {
    let mut report = Report::default();
    let outcomes = if payload.get("Records").is_some() {
        let events = sns_events(payload, &mut report);
        report.events = events.len();
        trigger.on_events(events, now).await?
    } else if payload.get("action").and_then(|a| a.as_str()) == Some(TRIGGER_BATCH_BUILD) {
        match serde_json::from_value::<ScheduledPayload>(payload) {
            Ok(scheduled) => vec![trigger.on_scheduled(&scheduled.batch_id, now).await?],
            Err(error) => {
                tracing::warn!(%error, "scheduled payload without a batch_id; ignored");
                report.ignored += 1;
                Vec::new()
            }
        }
    } else {
        tracing::warn!("neither SNS records nor a scheduled payload; ignored");
        report.ignored += 1;
        Vec::new()
    };
    for outcome in outcomes {
        on_outcome(&outcome);
        if matches!(outcome, Outcome::Started { .. }) {
            report.builds_started += 1;
        }
        tracing::info!(?outcome, "build trigger");
        report.outcomes.push(format!("{outcome:?}"));
    }
    Ok(report)
}

/// The content events of an SNS event; records that are not SNS notifications carrying a
/// `ContentEvent` are logged and counted as ignored.
fn sns_events(payload: serde_json::Value, report: &mut Report) -> Vec<ContentEvent> {
    let records = match serde_json::from_value::<SnsEvent>(payload) {
        Ok(event) => event.records,
        Err(error) => {
            tracing::warn!(%error, "Records that are not SNS records; ignored");
            report.ignored += 1;
            return Vec::new();
        }
    };
    let mut events = Vec::new();
    for record in records {
        if record.event_source != "aws:sns" {
            tracing::warn!(source = %record.event_source, "a record not from SNS; ignored");
            report.ignored += 1;
            continue;
        }
        match serde_json::from_str::<ContentEvent>(&record.sns.message) {
            Ok(event) => events.push(event),
            Err(error) => {
                // A message that can never parse must not be retried forever.
                tracing::warn!(message_id = %record.sns.message_id, %error, "SNS message is not a content event; ignored");
                report.ignored += 1;
            }
        }
    }
    events
}
