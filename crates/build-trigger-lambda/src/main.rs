//! The build trigger Lambda: sets up tracing, reads its configuration (refusing to start when
//! a variable is missing), builds its clients once, then serves invocations.

use std::sync::Arc;

use anyhow::Context;
use build_trigger::{BuildTrigger, CodeBuildStarter, DynamoBatchStore, EventBridgeScheduler};
use build_trigger_lambda::{Config, Handler};
use emf_metrics::Metrics;
use lambda_runtime::{LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .without_time()
        .init();
    let config = Config::from_lookup(|name| std::env::var(name).ok())
        .context("the build trigger cannot start")?;
    let sdk = aws_config::load_from_env().await;
    let trigger = BuildTrigger::new(
        Arc::new(DynamoBatchStore::new(
            aws_sdk_dynamodb::Client::new(&sdk),
            &config.batch_table,
        )),
        Arc::new(EventBridgeScheduler::new(
            aws_sdk_scheduler::Client::new(&sdk),
            &config.lambda_arn,
            &config.scheduler_role_arn,
            config.schedule_group.clone(),
        )),
        Arc::new(CodeBuildStarter::new(
            aws_sdk_codebuild::Client::new(&sdk),
            &config.project_name,
            &config.integration_api_url,
        )),
    );
    let handler = Handler::new(trigger, Metrics::stdout(config.metrics_namespace.clone()));
    lambda_runtime::run(service_fn(|event: LambdaEvent<serde_json::Value>| {
        let handler = handler.clone();
        async move {
            handler
                .invoke(event.payload, chrono::Utc::now())
                .await
                .map_err(|error| {
                    // The cause chain once, on one line; Lambda retries the invocation.
                    let text = error_line::error_line(&error);
                    tracing::error!(error = %text, "build trigger failed");
                    lambda_runtime::Error::from(text)
                })
        }
    }))
    .await
    .map_err(|e| anyhow::anyhow!(e))
}
