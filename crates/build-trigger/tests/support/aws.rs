//! EventBridge Scheduler and CodeBuild against moto's shared server, and its request recorder.

use std::sync::Arc;

use build_trigger::{BuildTrigger, CodeBuildStarter, EventBridgeScheduler};
use moto_server::{ACCOUNT_ID, MotoServer};

/// The ARN the schedules target: the build trigger Lambda.
pub const LAMBDA_ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:build-trigger";
/// The role the Scheduler assumes to invoke it.
pub const SCHEDULER_ROLE_ARN: &str = "arn:aws:iam::123456789012:role/build-trigger-scheduler";
/// The content API the builds fetch from.
pub const API_URL: &str = "https://api.example.test/prod";

/// The three clients of a trigger.
pub struct Aws {
    pub dynamo: aws_sdk_dynamodb::Client,
    pub scheduler: aws_sdk_scheduler::Client,
    pub codebuild: aws_sdk_codebuild::Client,
}

pub async fn clients() -> Aws {
    let config = MotoServer::shared().sdk_config().await;
    Aws {
        dynamo: aws_sdk_dynamodb::Client::new(&config),
        scheduler: aws_sdk_scheduler::Client::new(&config),
        codebuild: aws_sdk_codebuild::Client::new(&config),
    }
}

/// Creates a CodeBuild project of its own (moto wants a source location and a role).
pub async fn project(codebuild: &aws_sdk_codebuild::Client) -> String {
    use aws_sdk_codebuild::types::{
        ComputeType, EnvironmentType, ProjectArtifacts, ProjectEnvironment, ProjectSource,
        SourceType,
    };
    let name = super::moto::unique("site");
    codebuild
        .create_project()
        .name(&name)
        .source(
            ProjectSource::builder()
                .r#type(SourceType::S3)
                .location("site-source/site.zip")
                .build()
                .unwrap(),
        )
        .artifacts(
            ProjectArtifacts::builder()
                .r#type(aws_sdk_codebuild::types::ArtifactsType::NoArtifacts)
                .build()
                .unwrap(),
        )
        .environment(
            ProjectEnvironment::builder()
                .r#type(EnvironmentType::LinuxContainer)
                .image("aws/codebuild/standard:7.0")
                .compute_type(ComputeType::BuildGeneral1Small)
                .build()
                .unwrap(),
        )
        .service_role(format!("arn:aws:iam::{ACCOUNT_ID}:role/codebuild-site"))
        .send()
        .await
        .unwrap();
    name
}

/// A trigger on a fresh batch table and project, scheduling into `group` (the default group
/// when `None`).
pub async fn trigger(aws: &Aws, group: Option<String>) -> (BuildTrigger, String) {
    let store = super::moto::batch_store("batches").await;
    let project = project(&aws.codebuild).await;
    let trigger = BuildTrigger::new(
        Arc::new(store),
        Arc::new(EventBridgeScheduler::new(
            aws.scheduler.clone(),
            LAMBDA_ARN,
            SCHEDULER_ROLE_ARN,
            group,
        )),
        Arc::new(CodeBuildStarter::new(
            aws.codebuild.clone(),
            &project,
            API_URL,
        )),
    );
    (trigger, project)
}

/// moto's request recorder: what the SDK really sent.
pub struct Recorder;

impl Recorder {
    pub async fn start() -> Recorder {
        post("/moto-api/recorder/start-recording").await;
        Recorder
    }

    /// The JSON bodies of the recorded requests whose `X-Amz-Target` ends with `operation`
    /// and whose body mentions `needle`.
    pub async fn bodies(&self, operation: &str, needle: &str) -> Vec<serde_json::Value> {
        let url = format!(
            "{}/moto-api/recorder/download-recording",
            MotoServer::shared().endpoint_url()
        );
        let text = reqwest::get(url).await.unwrap().text().await.unwrap();
        text.lines()
            .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
            .filter(|entry| {
                let headers = &entry["headers"];
                let target = headers["X-Amz-Target"]
                    .as_str()
                    .or(headers["x-amz-target"].as_str())
                    .unwrap_or_default();
                target.ends_with(operation)
            })
            .filter_map(|entry| {
                let body = entry["body"].as_str()?;
                let body = if entry["body_encoded"] == true {
                    use base64::Engine;
                    String::from_utf8(
                        base64::engine::general_purpose::STANDARD
                            .decode(body)
                            .ok()?,
                    )
                    .ok()?
                } else {
                    body.to_owned()
                };
                body.contains(needle)
                    .then(|| serde_json::from_str(&body).ok())?
            })
            .collect()
    }
}

async fn post(path: &str) {
    let url = format!("{}{path}", MotoServer::shared().endpoint_url());
    let response = reqwest::Client::new().post(url).send().await.unwrap();
    assert!(
        response.status().is_success(),
        "{path}: {}",
        response.status()
    );
}

/// The environment overrides of a recorded StartBuild body, by name.
pub fn overrides(body: &serde_json::Value) -> std::collections::BTreeMap<String, String> {
    body["environmentVariablesOverride"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            assert_eq!(v["type"], "PLAINTEXT");
            (
                v["name"].as_str().unwrap().to_owned(),
                v["value"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}
