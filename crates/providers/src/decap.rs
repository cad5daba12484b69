//! Decap CMS: Markdown files committed to a GitHub repository, announced by GitHub push
//! webhooks (`POST /webhooks/decap`).
//!
//! Decap keeps no server of its own: editors commit through the GitHub API, so the repository
//! is the source of truth and a push is the only event.

use std::sync::Arc;

use async_trait::async_trait;
use unified_content::ProviderType;

use crate::github::{self, GitContentSource};
use crate::{
    AdapterError, ConfigError, Normalized, ProviderAdapter, Secret, Settings, SignatureError,
    WebhookRequest,
};

/// The registry name.
pub const NAME: &str = "decap";

/// The GitHub webhook events this adapter handles.
pub const EVENTS: &[&str] = &["push"];

/// The Decap adapter.
#[derive(Debug)]
pub struct DecapAdapter {
    webhook_secret: Secret,
    source: GitContentSource,
}

/// Builds the adapter for the registry.
pub fn build(settings: &Settings) -> Result<Arc<dyn ProviderAdapter>, ConfigError> {
    Ok(Arc::new(DecapAdapter::from_settings(settings)?))
}

impl DecapAdapter {
    /// Reads `webhook_secret` (required: the secret of the GitHub webhook) and the repository
    /// settings:
    /// - `github_repo` (required, `owner/name`), `branch` (default `main`);
    /// - `content_dir`: the content folder (default `content`; `.` or `/` for the repository
    ///   root; an empty value is refused);
    /// - `content_types`: its subfolders and their types (default
    ///   `posts=article,articles=article,pages=page`);
    /// - `default_content_type`: the type of files directly in the content folder (unset: not
    ///   content; README, CHANGELOG, LICENSE and the like at the repository root never are);
    /// - `github_api_url` (default `https://api.github.com`) and `github_token` (optional).
    ///
    /// A file named like Jekyll's `_posts/2019-05-15-hello.md` is dated by its name (unless its
    /// front matter has a `date`) and its slug is `hello`. A Jekyll site is `content_dir = "."`,
    /// `content_types = "_posts=article"` and `default_content_type = "page"`.
    pub fn from_settings(settings: &Settings) -> Result<Self, ConfigError> {
        Ok(DecapAdapter {
            webhook_secret: settings.require_secret("webhook_secret")?,
            source: GitContentSource::from_settings(NAME, settings)?,
        })
    }
}

#[async_trait]
impl ProviderAdapter for DecapAdapter {
    fn name(&self) -> &'static str {
        NAME
    }

    fn provider_type(&self) -> ProviderType {
        ProviderType::Cms
    }

    fn events(&self) -> &'static [&'static str] {
        EVENTS
    }

    async fn verify(&self, request: &WebhookRequest<'_>) -> Result<(), SignatureError> {
        github::verify_push_signature(&self.webhook_secret, request)
    }

    fn delivery_id(&self, request: &WebhookRequest<'_>) -> Option<String> {
        request.header(github::DELIVERY_HEADER).map(str::to_string)
    }

    async fn normalize(&self, request: &WebhookRequest<'_>) -> Result<Normalized, AdapterError> {
        let (event, changes) = self.source.normalize_push(request).await?;
        Ok(Normalized { event, changes })
    }
}
