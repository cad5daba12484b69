//! TinaCMS: Markdown files in a GitHub repository, announced either by GitHub push webhooks or
//! by Tina Cloud's own webhooks, both at `POST /webhooks/tina`.
//!
//! Tina Cloud's webhook is JSON naming the branch, the changed paths and whether they were
//! added, modified or removed (`{"clientId", "branch", "paths", "type": "content.modified",
//! "eventId"}`). It is not signed; Tina Cloud sends the extra headers configured with the
//! webhook, so one of them, `X-Tina-Webhook-Secret`, carries a shared secret. Each path is then
//! looked up on GitHub (the latest commit touching it, and the file at that commit), so both
//! routes give the same items with the same `updated_at`.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use serde::Deserialize;
use unified_content::ProviderType;

use crate::fields::json_body;
use crate::github::{self, FileChange, GitContentSource};
use crate::signature::{constant_time_eq, hmac_sha256};
use crate::{
    AdapterError, ConfigError, Normalized, ProviderAdapter, Secret, Settings, SignatureError,
    WebhookRequest,
};

/// The registry name.
pub const NAME: &str = "tina";

/// The header Tina Cloud is configured to send the shared secret in.
pub const SECRET_HEADER: &str = "X-Tina-Webhook-Secret";

/// The Tina adapter.
#[derive(Debug)]
pub struct TinaAdapter {
    /// The GitHub webhook's secret, when GitHub pushes are used.
    webhook_secret: Option<Secret>,
    /// The secret Tina Cloud sends in [`SECRET_HEADER`], when its webhooks are used.
    cloud_webhook_secret: Option<Secret>,
    source: GitContentSource,
}

/// Builds the adapter for the registry.
pub fn build(settings: &Settings) -> Result<Arc<dyn ProviderAdapter>, ConfigError> {
    Ok(Arc::new(TinaAdapter::from_settings(settings)?))
}

impl TinaAdapter {
    /// Reads `webhook_secret` (GitHub push webhooks) and `cloud_webhook_secret` (Tina Cloud
    /// webhooks): at least one is required, and each route is refused unless its secret is
    /// set. The repository settings are Decap's ([`crate::decap::DecapAdapter::from_settings`]):
    /// `github_repo` (required), `branch`, `content_dir`, `content_types`,
    /// `default_content_type`, `github_api_url` and `github_token`.
    pub fn from_settings(settings: &Settings) -> Result<Self, ConfigError> {
        let webhook_secret = settings.secret("webhook_secret");
        let cloud_webhook_secret = settings.secret("cloud_webhook_secret");
        if webhook_secret.is_none() && cloud_webhook_secret.is_none() {
            return Err(settings.invalid(
                "cloud_webhook_secret",
                format!(
                    "set cloud_webhook_secret ({}) for Tina Cloud webhooks, webhook_secret ({}) \
                     for GitHub push webhooks, or both",
                    settings.env_name("cloud_webhook_secret"),
                    settings.env_name("webhook_secret"),
                ),
            ));
        }
        Ok(TinaAdapter {
            webhook_secret,
            cloud_webhook_secret,
            source: GitContentSource::from_settings(NAME, settings)?,
        })
    }

    async fn normalize_cloud(
        &self,
        request: &WebhookRequest<'_>,
    ) -> Result<Normalized, AdapterError> {
        let event: CloudEvent = serde_path_to_error::deserialize(&json_body(request.body)?)
            .map_err(AdapterError::from_json_path)?;
        let removed = match event.kind.as_str() {
            "content.added" | "content.modified" => false,
            "content.removed" => true,
            other => {
                tracing::debug!(event = other, "no content changes in Tina Cloud event");
                return Ok(Normalized {
                    event: event.kind,
                    changes: Vec::new(),
                });
            }
        };
        if event.branch != self.source.branch() {
            tracing::debug!(branch = %event.branch, "ignoring Tina Cloud event on another branch");
            return Ok(Normalized {
                event: event.kind,
                changes: Vec::new(),
            });
        }
        let mut files = BTreeMap::new();
        let paths = event.paths.into_iter().map(|p| (with_extension(p), ()));
        for (path, _, ()) in self.source.content_files(paths) {
            let commit = self.source.last_commit(&path).await?;
            let change = if removed {
                FileChange::Removed(commit)
            } else {
                FileChange::Written(commit)
            };
            files.insert(path, change);
        }
        Ok(Normalized {
            changes: self.source.changes(files, request.received_at).await?,
            event: event.kind,
        })
    }
}

/// Whether the delivery came from GitHub rather than Tina Cloud.
fn from_github(request: &WebhookRequest<'_>) -> bool {
    request.header(github::EVENT_HEADER).is_some()
}

/// Tina's documented example names paths without an extension (`content/authors/bob`); its
/// Markdown documents are `.md` files.
fn with_extension(path: String) -> String {
    let file_name = path.rsplit('/').next().unwrap_or_default();
    if file_name.contains('.') {
        path
    } else {
        format!("{path}.md")
    }
}

#[async_trait]
impl ProviderAdapter for TinaAdapter {
    fn name(&self) -> &'static str {
        NAME
    }

    fn provider_type(&self) -> ProviderType {
        ProviderType::Cms
    }

    fn events(&self) -> &'static [&'static str] {
        &[
            "push",
            "content.added",
            "content.modified",
            "content.removed",
        ]
    }

    async fn verify(&self, request: &WebhookRequest<'_>) -> Result<(), SignatureError> {
        if from_github(request) {
            let secret = self
                .webhook_secret
                .as_ref()
                .ok_or(SignatureError::Rejected {
                    reason: "GitHub push webhooks are not enabled for tina; set webhook_secret"
                        .into(),
                })?;
            return github::verify_push_signature(secret, request);
        }
        let secret = self
            .cloud_webhook_secret
            .as_ref()
            .ok_or(SignatureError::Rejected {
                reason: "Tina Cloud webhooks are not enabled for tina; set cloud_webhook_secret"
                    .into(),
            })?;
        let given = request.signature_header(SECRET_HEADER)?;
        // Comparing MACs of both values keeps the comparison's time independent of the
        // secret's length as well as its content.
        let expected = hmac_sha256(secret, secret.expose().as_bytes());
        if constant_time_eq(&hmac_sha256(secret, given.as_bytes()), &expected) {
            Ok(())
        } else {
            Err(SignatureError::Mismatch {
                header: SECRET_HEADER,
            })
        }
    }

    fn delivery_id(&self, request: &WebhookRequest<'_>) -> Option<String> {
        if from_github(request) {
            return request.header(github::DELIVERY_HEADER).map(str::to_string);
        }
        #[derive(Deserialize)]
        struct EventId {
            #[serde(rename = "eventId")]
            event_id: Option<String>,
        }
        serde_json::from_slice::<EventId>(request.body)
            .ok()
            .and_then(|e| e.event_id)
    }

    async fn normalize(&self, request: &WebhookRequest<'_>) -> Result<Normalized, AdapterError> {
        if from_github(request) {
            let (event, changes) = self.source.normalize_push(request).await?;
            return Ok(Normalized { event, changes });
        }
        self.normalize_cloud(request).await
    }
}

/// A Tina Cloud webhook body.
#[derive(Deserialize)]
struct CloudEvent {
    branch: String,
    #[serde(default)]
    paths: Vec<String>,
    #[serde(rename = "type")]
    kind: String,
}
