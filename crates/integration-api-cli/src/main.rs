//! `integration-api`: the integration layer on this machine, on an embedded SQLite store, or
//! on DynamoDB and SNS (`serve --store dynamodb --events sns`, moto through AWS_ENDPOINT_URL).
//!
//! Exit codes: 0 success (a repeated delivery included), 1 runtime failure (store, events,
//! I/O), 2 usage or configuration error (unknown provider, missing setting), 3 signature
//! refused, 4 payload refused (malformed, invalid, over the limit), 5 reading from the provider
//! failed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use base64::Engine as _;
use clap::{Parser, Subcommand};
use http::{HeaderMap, HeaderName, HeaderValue};
use std::sync::Arc;

use integration_api::store::ContentStore;
use integration_api::{
    Config, DynamoStore, EventPublisher, EventSource, Ingest, IngestError, LocalPublisher,
    SnsPublisher, SqliteStore, StartError, local_ingest, router,
};
use serde::Deserialize;

#[derive(Debug, Parser)]
#[command(
    name = "integration-api",
    version,
    about = "Signed provider webhooks in, unified content out: the local integration API.",
    after_help = AFTER_HELP
)]
struct Cli {
    /// The config file (default: integration-api.toml when it exists). Env: INTEGRATION_API_CONFIG.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The SQLite database file, overriding [server] db and INTEGRATION_API_DB.
    #[arg(long, global = true, value_name = "PATH")]
    db: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the webhooks and the content API over HTTP.
    Serve {
        /// The address to listen on, overriding [server] bind and INTEGRATION_API_BIND
        /// (port 0 picks a free port; the address is printed on stderr).
        #[arg(long, value_name = "ADDR")]
        bind: Option<String>,
        /// Demand SigV4 signatures (service execute-api) on every GET, as API Gateway IAM auth
        /// does; keys come from INTEGRATION_API_ACCESS_KEYS=AKID:SECRET[,...].
        #[arg(long)]
        require_sigv4: bool,
        /// Where content is kept: the SQLite file (--db) or a DynamoDB table (--table), reached
        /// through the AWS environment (AWS_ENDPOINT_URL for moto or DynamoDB Local).
        #[arg(long, value_enum, default_value = "sqlite")]
        store: StoreKind,
        /// The DynamoDB table of --store dynamodb.
        #[arg(long, value_name = "TABLE", required_if_eq("store", "dynamodb"))]
        table: Option<String>,
        /// Where content events go: logged here (local) or published to an SNS topic.
        #[arg(long, value_enum, default_value = "local")]
        events: EventsKind,
        /// The SNS topic of --events sns.
        #[arg(long, value_name = "ARN", required_if_eq("events", "sns"))]
        topic_arn: Option<String>,
        /// Rebuild the site of --site on content events, batched as the deployed build
        /// trigger does: content-fetch (next to this binary, else on PATH) refreshes the
        /// site's data, then this command runs (sh -c) with the variables a CodeBuild build
        /// gets. Needs --events local.
        #[arg(
            long,
            value_name = "COMMAND",
            requires = "site",
            conflicts_with = "topic_arn"
        )]
        build_command: Option<String>,
        /// The site folder --build-command runs in (with its content-fetch.toml).
        #[arg(long, value_name = "DIR", requires = "build_command")]
        site: Option<PathBuf>,
    },
    /// DynamoDB helpers.
    Dynamodb {
        #[command(subcommand)]
        command: DynamodbCommand,
    },
    /// Replay a saved webhook into the local store; signatures are still checked. Prints the
    /// summary as JSON on stdout.
    Ingest {
        /// The provider the webhook came from, such as shopify.
        #[arg(long, value_name = "NAME")]
        provider: String,
        /// The saved webhook: JSON {"headers": {"Name": "value", ...}, "body": "<raw body>"}
        /// or with "body_base64" for bodies that are not UTF-8.
        file: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum DynamodbCommand {
    /// Create the content cache table with its indexes and TTL, from the definition the
    /// deploy template uses (deploy/content-cache-table.json). An existing table is left alone.
    CreateTable {
        /// The table name.
        #[arg(long, value_name = "TABLE")]
        table: String,
    },
}

/// Where `serve` keeps content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum StoreKind {
    /// The SQLite file of --db.
    Sqlite,
    /// The DynamoDB table of --table.
    Dynamodb,
}

/// Where `serve` sends content events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum EventsKind {
    /// Logged on stderr.
    Local,
    /// Published to the SNS topic of --topic-arn.
    Sns,
}

/// How often `serve` publishes events left in the outbox.
const SWEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

const AFTER_HELP: &str = "\
Exit codes:
  0  success (a repeated delivery id included: acknowledged, nothing changed)
  1  runtime failure: the store, the event channel or the listener failed
  2  usage or configuration error: flags, config file, unknown provider, missing setting,
     unreadable saved webhook
  3  ingest: the webhook's signature was refused
  4  ingest: the payload was refused (malformed, invalid content, over body_limit)
  5  ingest: reading from the provider (such as GitHub contents) failed

Environment:
  INTEGRATION_API_CONFIG       config file when --config is not given
  INTEGRATION_API_BIND, _DB, _BODY_LIMIT, _CLIENT_ID, _ENVIRONMENT, _REGION
                               override [server] bind, db, body_limit, client_id,
                               environment and [sigv4] region
  INTEGRATION_API_ACCESS_KEYS  AKID:SECRET[:TOKEN][,...] accepted by --require-sigv4
  INTEGRATION_API_PROVIDERS    providers enabled besides the [providers.*] tables
  <PROVIDER>_<SETTING>         any provider setting, like SHOPIFY_WEBHOOK_SECRET
  RUST_LOG                     log filter (default info), logs on stderr

Config file (integration-api.toml in the working folder by default):
  [server]   bind, db, body_limit, client_id, environment (dev, staging, prod)
  [sigv4]    region
  [providers.<name>]  the provider's settings, such as webhook_secret and currency";

/// A webhook saved for replay.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SavedWebhook {
    #[serde(default)]
    headers: BTreeMap<String, String>,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    body_base64: Option<String>,
}

const EXIT_FAILURE: u8 = 1;
const EXIT_CONFIG: u8 = 2;
const EXIT_SIGNATURE: u8 = 3;
const EXIT_PAYLOAD: u8 = 4;
const EXIT_UPSTREAM: u8 = 5;

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(EXIT_FAILURE);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(exit_code(&error))
        }
    }
}

fn exit_code(error: &anyhow::Error) -> u8 {
    if let Some(e) = error.downcast_ref::<IngestError>() {
        return match e {
            IngestError::UnknownProvider { .. } => EXIT_CONFIG,
            IngestError::Signature { .. } => EXIT_SIGNATURE,
            IngestError::Adapter {
                cause: providers::AdapterError::Upstream { .. },
                ..
            } => EXIT_UPSTREAM,
            IngestError::Adapter { .. } | IngestError::Invalid { .. } => EXIT_PAYLOAD,
            _ => EXIT_FAILURE,
        };
    }
    if let Some(e) = error.downcast_ref::<StartError>() {
        return match e {
            StartError::Config(_) => EXIT_CONFIG,
            _ => EXIT_FAILURE,
        };
    }
    if error.downcast_ref::<TooLarge>().is_some() {
        return EXIT_PAYLOAD;
    }
    if error
        .downcast_ref::<integration_api::ConfigError>()
        .is_some()
        || error.downcast_ref::<UsageError>().is_some()
    {
        return EXIT_CONFIG;
    }
    EXIT_FAILURE
}

/// A flag or saved webhook file that cannot be used (exit 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct UsageError(String);

/// A saved webhook over the body limit (exit 4, as the server's 413).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct TooLarge(String);

fn load_config(cli: &Cli) -> anyhow::Result<Config> {
    let env: BTreeMap<String, String> = std::env::vars().collect();
    let default = Path::new("integration-api.toml");
    let path = cli
        .config
        .clone()
        .or_else(|| {
            env.get(integration_api::config::ENV_CONFIG)
                .map(PathBuf::from)
        })
        .or_else(|| default.exists().then(|| default.to_path_buf()));
    let mut config = Config::load(path.as_deref(), env)?;
    if let Some(db) = &cli.db {
        config.db = db.clone();
    }
    Ok(config)
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let mut config = load_config(&cli)?;
    match cli.command {
        Command::Serve {
            bind,
            require_sigv4,
            store,
            table,
            events,
            topic_arn,
            build_command,
            site,
        } => {
            if let Some(bind) = bind {
                config.bind = bind.parse().map_err(|_| {
                    UsageError(format!(
                        "--bind '{bind}' is not an address like 127.0.0.1:8787"
                    ))
                })?;
            }
            let build = build_command.zip(site);
            if build.is_some() && events != EventsKind::Local {
                return Err(UsageError("--build-command needs --events local".into()).into());
            }
            let (ingest, events) = wire(&config, store, table, events, topic_arn).await?;
            serve(config, ingest, require_sigv4, build, events).await
        }
        Command::Dynamodb {
            command: DynamodbCommand::CreateTable { table },
        } => {
            let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
            integration_api::store::dynamo::create_table(
                &aws_sdk_dynamodb::Client::new(&sdk),
                &table,
            )
            .await
            .with_context(|| format!("cannot create table {table}"))?;
            eprintln!("table {table} is ready");
            Ok(())
        }
        Command::Ingest { provider, file } => ingest(config, &provider, &file).await,
    }
}

/// Local content events, for the builds of `--build-command` (an empty channel with SNS).
type LocalEvents = tokio::sync::mpsc::UnboundedReceiver<unified_content::ContentEvent>;

/// The store and publisher chosen on the command line, behind one `Ingest`, and the local
/// events (the caller logs or builds from them).
async fn wire(
    config: &Config,
    store: StoreKind,
    table: Option<String>,
    events: EventsKind,
    topic_arn: Option<String>,
) -> anyhow::Result<(Ingest, LocalEvents)> {
    if store == StoreKind::Sqlite && events == EventsKind::Local {
        let (ingest, events) = local_ingest(config)?;
        tracing::info!(db = %config.db.display(), "content store ready");
        return Ok((ingest, events));
    }
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let store: Arc<dyn ContentStore> = match (store, table) {
        (StoreKind::Dynamodb, Some(table)) => {
            let store = DynamoStore::new(
                aws_sdk_dynamodb::Client::new(&sdk),
                &table,
                &config.client_id,
            );
            store.check().await.with_context(|| {
                format!("--table {table}: create it with `integration-api dynamodb create-table --table {table}`")
            })?;
            tracing::info!(table, "content store ready");
            Arc::new(store)
        }
        _ => Arc::new(SqliteStore::open(&config.db)?),
    };
    let (local, local_events) = LocalPublisher::channel();
    let publisher: Arc<dyn EventPublisher> = match (events, topic_arn) {
        (EventsKind::Sns, Some(arn)) => {
            let publisher = SnsPublisher::new(aws_sdk_sns::Client::new(&sdk), &arn);
            publisher
                .check()
                .await
                .with_context(|| format!("--topic-arn {arn}"))?;
            Arc::new(publisher)
        }
        _ => Arc::new(local),
    };
    let ingest = Ingest::new(
        config.registry()?,
        store,
        publisher,
        EventSource {
            client_id: config.client_id.clone(),
            environment: config.environment,
        },
    );
    Ok((ingest, local_events))
}

async fn serve(
    config: Config,
    ingest: Ingest,
    require_sigv4: bool,
    build: Option<(String, PathBuf)>,
    events: LocalEvents,
) -> anyhow::Result<()> {
    let options = config.router_options(require_sigv4)?;
    let providers: Vec<&str> = ingest.registry().adapters().map(|a| a.name()).collect();
    tracing::info!(providers = ?providers, require_sigv4, "serving");
    // Events whose publish failed wait in the outbox; this timer publishes them.
    let sweeper = ingest.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(SWEEP_EVERY);
        loop {
            every.tick().await;
            if let Err(error) = sweeper.sweep(integration_api::ingest::SWEEP_GRACE).await {
                tracing::warn!(error = %error, "outbox sweep failed; it is retried");
            }
        }
    });
    let listener = tokio::net::TcpListener::bind(config.bind)
        .await
        .with_context(|| format!("cannot listen on {}; pick another with --bind", config.bind))?;
    let address = listener.local_addr()?;
    match build {
        // The same decision as the deployed trigger, on SQLite beside the content store.
        Some((command, site)) => {
            let fetcher = std::env::current_exe()
                .ok()
                .map(|exe| exe.with_file_name("content-fetch"))
                .filter(|path| path.is_file())
                .unwrap_or_else(|| PathBuf::from("content-fetch"));
            let starter =
                build_trigger::CommandStarter::new(command, &site, format!("http://{address}"))
                    .fetching_with(fetcher);
            let state = config.db.with_extension("builds.sqlite3");
            build_trigger::spawn_local_builds(&state, starter, events)
                .with_context(|| format!("cannot open the build state {}", state.display()))?;
            tracing::info!(site = %site.display(), state = %state.display(), "building the site on content events");
        }
        None => {
            tokio::spawn(integration_api::events::log_events(events));
        }
    }
    eprintln!("integration-api listening on http://{address}");
    axum::serve(listener, router(ingest, options))
        .with_graceful_shutdown(shutdown())
        .await
        .context("the HTTP server stopped")?;
    Ok(())
}

async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down");
}

async fn ingest(config: Config, provider: &str, file: &Path) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| UsageError(format!("cannot read saved webhook {}: {e}", file.display())))?;
    let saved: SavedWebhook = serde_json::from_str(&text).map_err(|e| {
        UsageError(format!(
            "{} is not a saved webhook ({e}); expected JSON {{\"headers\": {{...}}, \"body\": \"...\"}}",
            file.display()
        ))
    })?;
    let body = match (saved.body, saved.body_base64) {
        (Some(text), None) => text.into_bytes(),
        (None, Some(b64)) => base64::engine::general_purpose::STANDARD
            .decode(b64.trim())
            .map_err(|e| {
                UsageError(format!(
                    "{}: body_base64 is not base64: {e}",
                    file.display()
                ))
            })?,
        _ => {
            return Err(UsageError(format!(
                "{}: give exactly one of \"body\" and \"body_base64\"",
                file.display()
            ))
            .into());
        }
    };
    let mut headers = HeaderMap::new();
    for (name, value) in &saved.headers {
        let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
            UsageError(format!("{}: '{name}' is not a header name", file.display()))
        })?;
        let value = HeaderValue::from_str(value).map_err(|_| {
            UsageError(format!(
                "{}: header '{name}' has an invalid value",
                file.display()
            ))
        })?;
        headers.append(name, value);
    }
    if body.len() > config.body_limit {
        return Err(TooLarge(format!(
            "{}: the body is {} bytes, over the {}-byte limit ([server] body_limit)",
            file.display(),
            body.len(),
            config.body_limit
        ))
        .into());
    }
    let (ingest, _events) = local_ingest(&config)?;
    let summary = ingest
        .handle(provider, &headers, &body, chrono::Utc::now())
        .await?;
    println!("{}", serde_json::to_string_pretty(&summary)?);
    Ok(())
}
