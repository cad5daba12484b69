//! The integration API on AWS Lambda: the library's router behind API Gateway (lambda_http),
//! with the DynamoDB content cache and the SNS topic, configured by the environment only.
//!
//! - `CONTENT_CACHE_TABLE`: the DynamoDB table (`deploy/content-cache-table.json`).
//! - `CONTENT_EVENTS_TOPIC_ARN`: the SNS topic content events go to.
//! - `CLIENT_ID`: the agency's client, written into every event and the key of its items.
//! - `INTEGRATION_API_PROVIDERS` and `<PROVIDER>_<SETTING>`: the providers, as everywhere.
//!
//! - `METRICS_NAMESPACE` (optional, default `ContentPlatform`): the CloudWatch namespace of
//!   the function's metrics, written as EMF lines on stdout (see [`handler`]).
//!
//! The function also takes the scheduled event of an EventBridge rule, and sweeps the outbox
//! then: events whose publish failed are published within minutes even when no webhook comes.
//! The SDK clients are built once per instance from aws-config's default chain. Nothing is
//! kept in `/tmp`: every instance reads and writes the same table. API Gateway checks SigV4
//! itself, so the function does not. Release builds use `--profile lambda` (`panic = "abort"`).

pub mod handler;
mod published;
mod stage;

pub use handler::{Handler, SweepReport};
pub use stage::{service, without_stage};

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use aws_config::SdkConfig;
use axum::Router;
use integration_api::config::ENV_CLIENT_ID;
use integration_api::{
    Config, ConfigError, DynamoStore, EventSource, Ingest, PublishError, SnsPublisher, StoreError,
    router,
};

/// The variable naming the content cache table.
pub const ENV_TABLE: &str = "CONTENT_CACHE_TABLE";
/// The variable naming the SNS topic of content events.
pub const ENV_TOPIC: &str = "CONTENT_EVENTS_TOPIC_ARN";
/// The variable naming the agency's client.
pub const ENV_CLIENT: &str = "CLIENT_ID";

/// Why the function refuses to start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// A required variable is not set.
    #[error("{variable} is not set; set it in the function's environment ({what})")]
    Missing {
        /// The variable.
        variable: &'static str,
        /// What it names.
        what: &'static str,
    },
    /// The providers' settings are incomplete or invalid.
    #[error("the providers' settings are invalid")]
    Config(#[source] ConfigError),
    /// The table does not exist or cannot be read.
    #[error(
        "the content cache table cannot be used; check {ENV_TABLE} and the function's DynamoDB permissions"
    )]
    Table(#[source] StoreError),
    /// The topic does not exist or cannot be published to.
    #[error(
        "the content events topic cannot be used; check {ENV_TOPIC} and the function's SNS permissions"
    )]
    Topic(#[source] PublishError),
}

/// The function's wiring, built once per instance.
#[derive(Clone)]
pub struct App {
    /// The router API Gateway requests go to.
    pub router: Router,
    /// The ingest behind it, for the outbox sweep.
    pub ingest: Ingest,
    /// The CloudWatch namespace of the function's metrics.
    pub metrics_namespace: String,
    /// Events SNS accepted since the handler last took the count.
    published: Arc<AtomicU64>,
}

fn required(
    env: &BTreeMap<String, String>,
    variable: &'static str,
    what: &'static str,
) -> Result<String, StartError> {
    env.get(variable)
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .ok_or(StartError::Missing { variable, what })
}

/// Builds the function from its environment and one SDK configuration, checking that the
/// table and the topic exist so that a wrong name fails at start, not at the first delivery.
pub async fn app(mut env: BTreeMap<String, String>, sdk: &SdkConfig) -> Result<App, StartError> {
    let table = required(&env, ENV_TABLE, "the DynamoDB content cache table")?;
    let topic = required(&env, ENV_TOPIC, "the SNS topic ARN of content events")?;
    let client_id = required(&env, ENV_CLIENT, "the agency's client id")?;
    env.insert(ENV_CLIENT_ID.to_string(), client_id.clone());
    let metrics_namespace = emf_metrics::namespace_or_default(
        env.get(emf_metrics::NAMESPACE_VARIABLE).map(String::as_str),
    );
    let config = Config::load(None, env).map_err(StartError::Config)?;
    let registry = config.registry().map_err(StartError::Config)?;

    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(sdk), table, client_id.clone());
    store.check().await.map_err(StartError::Table)?;
    let publisher = SnsPublisher::new(aws_sdk_sns::Client::new(sdk), topic);
    publisher.check().await.map_err(StartError::Topic)?;
    let published = Arc::new(AtomicU64::new(0));
    let ingest = Ingest::new(
        registry,
        Arc::new(store),
        Arc::new(published::Counting::new(publisher, Arc::clone(&published))),
        EventSource {
            client_id,
            environment: config.environment,
        },
    );
    let options = config.router_options(false).map_err(StartError::Config)?;
    Ok(App {
        router: router(ingest.clone(), options),
        ingest,
        metrics_namespace,
        published,
    })
}
