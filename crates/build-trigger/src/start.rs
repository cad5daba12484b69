//! Starting a site build: the [`BuildStarter`] seam and CodeBuild's StartBuild.

use async_trait::async_trait;
use aws_sdk_codebuild::types::{EnvironmentVariable, EnvironmentVariableType};

use crate::store::BuildType;
use crate::summary::ChangeSummary;

/// What a build is started with; its environment is the same on CodeBuild and locally.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildRequest {
    /// Why it is started.
    pub build_type: BuildType,
    /// The batch it builds.
    pub batch_id: String,
    /// The client whose site it builds.
    pub client_id: String,
    /// Events behind it.
    pub event_count: u32,
    /// What changed.
    pub summary: ChangeSummary,
    /// A sentence for people reading the build's history.
    pub reason: String,
}

impl BuildRequest {
    /// The build's environment: `BUILD_TYPE`, `BATCH_ID`, `BATCH_EVENT_COUNT`,
    /// `CONTENT_CHANGES_SUMMARY`, `INTEGRATION_API_URL` and `BUILD_REASON`.
    pub fn environment(&self, integration_api_url: &str) -> Vec<(&'static str, String)> {
        vec![
            ("BUILD_TYPE", self.build_type.as_str().to_owned()),
            ("BATCH_ID", self.batch_id.clone()),
            ("BATCH_EVENT_COUNT", self.event_count.to_string()),
            ("CONTENT_CHANGES_SUMMARY", self.summary.to_json()),
            ("INTEGRATION_API_URL", integration_api_url.to_owned()),
            ("BUILD_REASON", self.reason.clone()),
        ]
    }
}

/// A build could not be started.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// CodeBuild refused or failed.
    #[error("CodeBuild StartBuild of project {project} for batch {batch_id} failed")]
    CodeBuild {
        /// The CodeBuild project.
        project: String,
        /// The batch.
        batch_id: String,
        /// The SDK error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// CodeBuild answered without a build id.
    #[error("CodeBuild StartBuild of project {project} for batch {batch_id} returned no build id")]
    NoBuildId {
        /// The CodeBuild project.
        project: String,
        /// The batch.
        batch_id: String,
    },
    /// A local build command could not run or failed.
    #[error("local build of batch {batch_id} failed: {detail}")]
    Local {
        /// The batch.
        batch_id: String,
        /// What went wrong (the command and its exit status).
        detail: String,
    },
}

/// Starts site builds.
#[async_trait]
pub trait BuildStarter: Send + Sync {
    /// Starts one build and returns its id.
    async fn start(&self, request: &BuildRequest) -> Result<String, StartError>;
}

/// CodeBuild's StartBuild on one project, with the request as environment overrides.
#[derive(Debug, Clone)]
pub struct CodeBuildStarter {
    client: aws_sdk_codebuild::Client,
    project: String,
    integration_api_url: String,
}

impl CodeBuildStarter {
    /// Starts builds of `project` that fetch from `integration_api_url`.
    pub fn new(
        client: aws_sdk_codebuild::Client,
        project: impl Into<String>,
        integration_api_url: impl Into<String>,
    ) -> CodeBuildStarter {
        CodeBuildStarter {
            client,
            project: project.into(),
            integration_api_url: integration_api_url.into(),
        }
    }
}

#[async_trait]
impl BuildStarter for CodeBuildStarter {
    async fn start(&self, request: &BuildRequest) -> Result<String, StartError> {
        let overrides = request
            .environment(&self.integration_api_url)
            .into_iter()
            .map(|(name, value)| {
                EnvironmentVariable::builder()
                    .name(name)
                    .value(value)
                    .r#type(EnvironmentVariableType::Plaintext)
                    .build()
                    .expect("name and value are set")
            })
            .collect();
        let out = self
            .client
            .start_build()
            .project_name(&self.project)
            .set_environment_variables_override(Some(overrides))
            .send()
            .await
            .map_err(|e| StartError::CodeBuild {
                project: self.project.clone(),
                batch_id: request.batch_id.clone(),
                source: Box::new(e),
            })?;
        out.build_value
            .and_then(|b| b.id)
            .ok_or_else(|| StartError::NoBuildId {
                project: self.project.clone(),
                batch_id: request.batch_id.clone(),
            })
    }
}
