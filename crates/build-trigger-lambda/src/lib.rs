//! The build trigger Lambda's handler and configuration, kept apart from `main` so tests call
//! the handler with their own clients.
//!
//! The handler takes SNS records (content events that passed the subscription's filter
//! policy) and EventBridge Scheduler payloads, and nothing else: any other input is logged and
//! ignored.
#![deny(missing_docs)]

use aws_lambda_events::event::sns::SnsEvent;
use build_trigger::{BuildTrigger, Outcome, ScheduledPayload, TRIGGER_BATCH_BUILD, TriggerError};
use chrono::{DateTime, Utc};
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

/// Handles one invocation received at `now`.
///
/// A trigger failure is returned as an error, so Lambda retries the invocation (SNS and the
/// Scheduler both retry); events already held by a batch are not counted twice on a retry.
pub async fn handle(
    trigger: &BuildTrigger,
    payload: serde_json::Value,
    now: DateTime<Utc>,
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
