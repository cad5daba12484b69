//! `integration-api-lambda`: the integration API behind API Gateway. Configured by the
//! environment (see the library); refuses to start when a required variable is missing.

use std::process::ExitCode;

use aws_config::BehaviorVersion;
use integration_api_lambda::{app, service};

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
            let mut message = error.to_string();
            let mut cause = std::error::Error::source(&error);
            while let Some(next) = cause {
                message.push_str(": ");
                message.push_str(&next.to_string());
                cause = next.source();
            }
            tracing::error!("{message}");
            eprintln!("integration-api-lambda: {message}");
            return ExitCode::from(2);
        }
    };
    match lambda_http::run(service(app.router)).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{error}");
            ExitCode::FAILURE
        }
    }
}
