//! The local stand-ins for CodeBuild and the Scheduler: a build command run in the site's
//! folder with the environment a CodeBuild build gets, and an in-process timer that fires
//! [`LocalScheduler`](crate::LocalScheduler)'s schedules.

use std::path::PathBuf;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tokio::sync::mpsc::UnboundedReceiver;

use crate::start::{BuildRequest, BuildStarter, StartError};
use crate::trigger::BuildTrigger;

/// How often a failed local build runs: once, and once more.
const LOCAL_ATTEMPTS: usize = 2;

/// Runs a build command (`sh -c`) in the site's folder, with the build's environment, logging
/// its output; a failed build is reported and retried once.
#[derive(Debug, Clone)]
pub struct CommandStarter {
    command: String,
    site: PathBuf,
    integration_api_url: String,
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
        }
    }
}

#[async_trait]
impl BuildStarter for CommandStarter {
    async fn start(&self, request: &BuildRequest) -> Result<String, StartError> {
        let mut detail = String::new();
        for attempt in 1..=LOCAL_ATTEMPTS {
            let output = tokio::process::Command::new("sh")
                .arg("-c")
                .arg(&self.command)
                .current_dir(&self.site)
                .envs(request.environment(&self.integration_api_url))
                .output()
                .await;
            let output = match output {
                Ok(output) => output,
                Err(error) => {
                    detail = format!(
                        "`{}` could not run in {}: {error}",
                        self.command,
                        self.site.display()
                    );
                    tracing::warn!(batch_id = %request.batch_id, attempt, "{detail}");
                    continue;
                }
            };
            for line in String::from_utf8_lossy(&output.stdout)
                .lines()
                .chain(String::from_utf8_lossy(&output.stderr).lines())
            {
                tracing::info!(batch_id = %request.batch_id, "build: {line}");
            }
            if output.status.success() {
                return Ok(format!("local:{}:{attempt}", request.batch_id));
            }
            detail = format!("`{}` exited with {}", self.command, output.status);
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
                    tracing::error!(%batch_id, error = %crate::render(&error), "scheduled batch failed")
                }
            }
        });
    }
}
