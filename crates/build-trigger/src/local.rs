//! The local stand-ins for CodeBuild and the Scheduler: a build command run in the site's
//! folder with the environment a CodeBuild build gets, and an in-process timer that fires
//! [`LocalScheduler`](crate::LocalScheduler)'s schedules; [`spawn_local_builds`] feeds a local
//! event stream into the trigger over them.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tokio::sync::mpsc::UnboundedReceiver;
use unified_content::ContentEvent;

use crate::schedule::LocalScheduler;
use crate::start::{BuildRequest, BuildStarter, StartError};
use crate::store::{SqliteBatchStore, StoreError};
use crate::trigger::BuildTrigger;

/// How often a failed local build runs: once, and once more.
const LOCAL_ATTEMPTS: usize = 2;

/// Runs a build command (`sh -c`) in the site's folder, with the build's environment, logging
/// its output; a failed build is reported and retried once. With
/// [`fetching_with`](CommandStarter::fetching_with), the content fetcher refreshes the site's
/// data first, as the buildspec's pre_build does.
#[derive(Debug, Clone)]
pub struct CommandStarter {
    command: String,
    site: PathBuf,
    integration_api_url: String,
    fetcher: Option<PathBuf>,
}

impl CommandStarter {
    /// Runs `command` in `site` for builds that fetch from `integration_api_url`.
    pub fn new(
        command: impl Into<String>,
        site: impl Into<PathBuf>,
        integration_api_url: impl Into<String>,
    ) -> CommandStarter {
        CommandStarter {
            command: command.into(),
            site: site.into(),
            integration_api_url: integration_api_url.into(),
            fetcher: None,
        }
    }

    /// Runs the `content-fetch` program at `fetcher` in the site's folder, with the same
    /// environment, before every attempt of the command; the site's `content-fetch.toml` names
    /// the engine. A failed fetch fails the attempt.
    pub fn fetching_with(mut self, fetcher: impl Into<PathBuf>) -> CommandStarter {
        self.fetcher = Some(fetcher.into());
        self
    }

    /// Runs one step of a build in the site's folder with the build's environment, logging its
    /// output; the error says what failed.
    async fn step(
        &self,
        request: &BuildRequest,
        label: &str,
        mut command: tokio::process::Command,
    ) -> Result<(), String> {
        let output: Output = command
            .current_dir(&self.site)
            .envs(request.environment(&self.integration_api_url))
            .output()
            .await
            .map_err(|error| {
                format!(
                    "`{label}` could not run in {}: {error}",
                    self.site.display()
                )
            })?;
        for line in String::from_utf8_lossy(&output.stdout)
            .lines()
            .chain(String::from_utf8_lossy(&output.stderr).lines())
        {
            tracing::info!(batch_id = %request.batch_id, "build: {line}");
        }
        if output.status.success() {
            Ok(())
        } else {
            Err(format!("`{label}` exited with {}", output.status))
        }
    }
}

#[async_trait]
impl BuildStarter for CommandStarter {
    async fn start(&self, request: &BuildRequest) -> Result<String, StartError> {
        let mut detail = String::new();
        for attempt in 1..=LOCAL_ATTEMPTS {
            let fetched = match &self.fetcher {
                Some(fetcher) => {
                    let label = fetcher.display().to_string();
                    self.step(request, &label, tokio::process::Command::new(fetcher))
                        .await
                }
                None => Ok(()),
            };
            let built = match fetched {
                Ok(()) => {
                    let mut command = tokio::process::Command::new("sh");
                    command.arg("-c").arg(&self.command);
                    self.step(request, &self.command, command).await
                }
                Err(error) => Err(error),
            };
            match built {
                Ok(()) => return Ok(format!("local:{}:{attempt}", request.batch_id)),
                Err(error) => detail = error,
            }
            tracing::warn!(batch_id = %request.batch_id, attempt, "{detail}");
        }
        Err(StartError::Local {
            batch_id: request.batch_id.clone(),
            detail,
        })
    }
}

/// Fires the schedules a [`LocalScheduler`](crate::LocalScheduler) receives, each at its time,
/// until the scheduler is dropped. Errors are logged: the batch stays active and builds on
/// its next event.
pub async fn run_local_timer(
    trigger: BuildTrigger,
    mut schedules: UnboundedReceiver<(String, DateTime<Utc>)>,
) {
    while let Some((batch_id, at)) = schedules.recv().await {
        let trigger = trigger.clone();
        tokio::spawn(async move {
            let wait = (at - Utc::now()).to_std().unwrap_or_default();
            tokio::time::sleep(wait).await;
            match trigger.on_scheduled(&batch_id, Utc::now()).await {
                Ok(outcome) => tracing::info!(?outcome, "scheduled batch"),
                Err(error) => {
                    tracing::error!(%batch_id, error = %error_line::error_line(&error), "scheduled batch failed")
                }
            }
        });
    }
}

/// Starts the local build trigger: batch state in the SQLite file `state`, the in-process
/// timer in place of the Scheduler, and `starter` in place of CodeBuild. Events from `events`
/// go into the trigger as they arrive, those already waiting together; outcomes and errors
/// are logged. Must be called inside a Tokio runtime; runs until `events` closes.
pub fn spawn_local_builds(
    state: &Path,
    starter: CommandStarter,
    mut events: UnboundedReceiver<ContentEvent>,
) -> Result<(), StoreError> {
    let store = Arc::new(SqliteBatchStore::open(state)?);
    let (scheduler, schedules) = LocalScheduler::channel();
    let trigger = BuildTrigger::new(store, Arc::new(scheduler), Arc::new(starter));
    tokio::spawn(run_local_timer(trigger.clone(), schedules));
    tokio::spawn(async move {
        while let Some(event) = events.recv().await {
            let mut batch = vec![event];
            while let Ok(event) = events.try_recv() {
                batch.push(event);
            }
            match trigger.on_events(batch, Utc::now()).await {
                Ok(outcomes) => {
                    for outcome in outcomes {
                        tracing::info!(?outcome, "content events");
                    }
                }
                Err(error) => {
                    tracing::error!(error = %error_line::error_line(&error), "the build trigger failed")
                }
            }
        }
    });
    Ok(())
}
