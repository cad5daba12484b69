//! `integration-api-lambda`: the integration API behind API Gateway, and its scheduled outbox
//! sweep. Configured by the environment (see the library); refuses to start when a required
//! variable is missing. Metrics go to stdout as EMF lines.

use std::process::ExitCode;

use aws_config::BehaviorVersion;
use emf_metrics::Metrics;
use integration_api_lambda::{Handler, app};
use lambda_http::lambda_runtime::{self, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .without_time()
        .init();
    let sdk = aws_config::load_defaults(BehaviorVersion::latest()).await;
    let app = match app(std::env::vars().collect(), &sdk).await {
        Ok(app) => app,
        Err(error) => {
            let message = error_line::error_line(&error);
            tracing::error!("{message}");
            eprintln!("integration-api-lambda: {message}");
            return ExitCode::from(2);
        }
    };
    let metrics = Metrics::stdout(app.metrics_namespace.clone());
    let handler = Handler::new(app, metrics);
    let run = lambda_runtime::run(service_fn(|event: LambdaEvent<serde_json::Value>| {
        let handler = handler.clone();
        async move { handler.invoke(event).await }
    }));
    match run.await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{error}");
            ExitCode::FAILURE
        }
    }
}
