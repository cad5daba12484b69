//! `integration-api-lambda`: the same router behind API Gateway, through lambda_http.
//!
//! Configured by the environment only (see the `config` module): `INTEGRATION_API_PROVIDERS`
//! and `<PROVIDER>_<SETTING>` for the adapters, `INTEGRATION_API_DB` for the SQLite file
//! (default `/tmp/integration-api.sqlite3`, the only writable place; the DynamoDB store of a
//! later issue replaces it). API Gateway checks SigV4 itself, so the Lambda does not.

use std::collections::BTreeMap;

use integration_api::config::{ENV_CONFIG, ENV_DB};
use integration_api::{Config, lambda, local_ingest, router};
use lambda_http::{Error, run};

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .without_time()
        .init();
    let mut env: BTreeMap<String, String> = std::env::vars().collect();
    env.entry(ENV_DB.to_string())
        .or_insert_with(|| "/tmp/integration-api.sqlite3".to_string());
    let path = env.get(ENV_CONFIG).map(std::path::PathBuf::from);
    let config = Config::load(path.as_deref(), env)?;
    let (ingest, events) = local_ingest(&config)?;
    tokio::spawn(integration_api::events::log_events(events));
    run(lambda::service(router(
        ingest,
        config.router_options(false)?,
    )))
    .await
}
