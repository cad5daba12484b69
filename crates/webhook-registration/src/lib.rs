//! Registers the integration API's webhook at each provider, through the provider's own
//! management API, and says what it did.
//!
//! - GitHub repository hooks (Decap, Tina): `push`, JSON, with the webhook secret.
//! - Shopify Admin GraphQL `webhookSubscriptionCreate`, one subscription per topic the
//!   Shopify adapter handles.
//! - Sanity's webhooks API: a document webhook on create, update and delete, with the secret.
//! - Contentful webhook definitions for the topics the Contentful adapter handles, and the
//!   space's webhook signing secret.
//! - Snipcart and Foxy are set up in their dashboards: [`Registration::instructions`] gives
//!   the steps.
//!
//! Registration is idempotent: the existing subscriptions are listed first, and one that
//! already sends the same topic to the same URL is left alone.
//!
//! ```no_run
//! # async fn example() -> Result<(), webhook_registration::RegistrationError> {
//! use webhook_registration::{Provider, Registration, Secret};
//! let api: url::Url = "https://abc.execute-api.eu-west-1.amazonaws.com/prod".parse().unwrap();
//! let outcomes = Registration::new(Provider::Sanity, &api)
//!     .project_id("abc123")
//!     .secret(Secret::new("the webhook secret"))
//!     .register(std::env::var("SANITY_API_TOKEN").ok().map(Secret::new))
//!     .await?;
//! # Ok(()) }
//! ```

mod api;
mod contentful;
mod dashboard;
mod error;
mod github;
mod sanity;
mod shopify;

use std::time::Duration;

use serde::Serialize;
use url::Url;

pub use error::RegistrationError;
pub use providers::Secret;

/// Listings longer than this many pages are refused: a provider whose paging never ends
/// (a repeated cursor, a lying total) must not keep the command running.
const MAX_PAGES: usize = 50;
/// No call may hang the command.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// A provider whose webhook the integration API receives at `/webhooks/<name>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Provider {
    /// Decap CMS: a GitHub repository hook.
    Decap,
    /// TinaCMS: a GitHub repository hook.
    Tina,
    /// Shopify: Admin API webhook subscriptions.
    Shopify,
    /// Sanity: a document webhook.
    Sanity,
    /// Contentful: a webhook definition.
    Contentful,
    /// Snipcart: set in its dashboard.
    Snipcart,
    /// Foxy: set in its admin.
    Foxy,
}

impl Provider {
    /// Every provider, in the order the CLI lists them.
    pub const ALL: [Provider; 7] = [
        Provider::Decap,
        Provider::Tina,
        Provider::Shopify,
        Provider::Sanity,
        Provider::Contentful,
        Provider::Snipcart,
        Provider::Foxy,
    ];

    /// The provider called `name`; an unknown name is refused with the known ones.
    pub fn from_name(name: &str) -> Result<Provider, RegistrationError> {
        Provider::ALL
            .into_iter()
            .find(|p| p.name() == name)
            .ok_or_else(|| RegistrationError::UnknownProvider {
                given: name.to_string(),
                known: Provider::ALL.iter().map(|p| p.name()).collect(),
            })
    }

    /// The provider's registry name, also the last segment of its webhook path.
    pub fn name(self) -> &'static str {
        match self {
            Provider::Decap => "decap",
            Provider::Tina => "tina",
            Provider::Shopify => "shopify",
            Provider::Sanity => "sanity",
            Provider::Contentful => "contentful",
            Provider::Snipcart => "snipcart",
            Provider::Foxy => "foxy",
        }
    }

    /// The webhook URL: the integration API's URL (a stage URL may carry a path) followed
    /// by `/webhooks/<name>`.
    pub fn webhook_url(self, api_url: &Url) -> Url {
        let mut url = api_url.clone();
        url.set_query(None);
        url.set_fragment(None);
        let path = format!(
            "{}/webhooks/{}",
            url.path().trim_end_matches('/'),
            self.name()
        );
        url.set_path(&path);
        url
    }

    /// The environment variable that holds the management API token; `None` for the
    /// dashboard providers.
    pub fn token_variable(self) -> Option<&'static str> {
        match self {
            Provider::Decap | Provider::Tina => Some("GITHUB_TOKEN"),
            Provider::Shopify => Some("SHOPIFY_ADMIN_TOKEN"),
            Provider::Sanity => Some("SANITY_API_TOKEN"),
            Provider::Contentful => Some("CONTENTFUL_MANAGEMENT_TOKEN"),
            Provider::Snipcart | Provider::Foxy => None,
        }
    }

    /// The integration API's setting that holds the secret the webhook must carry, and so
    /// the secret registration sends: `None` for Shopify, which signs with the app's own
    /// secret, and for the dashboard providers.
    pub fn secret_setting(self) -> Option<&'static str> {
        match self {
            Provider::Decap | Provider::Tina | Provider::Sanity => Some("webhook_secret"),
            Provider::Contentful => Some("signing_secret"),
            Provider::Shopify | Provider::Snipcart | Provider::Foxy => None,
        }
    }

    /// The environment variable of [`Provider::secret_setting`], named as the integration
    /// API's settings name it (`SANITY_WEBHOOK_SECRET`), so one variable serves both.
    pub fn secret_variable(self) -> Option<String> {
        self.secret_setting()
            .map(|s| format!("{}_{s}", self.name()).to_ascii_uppercase())
    }

    /// Whether the webhook is set up in the provider's dashboard rather than through an API.
    pub fn is_dashboard(self) -> bool {
        self.token_variable().is_none()
    }
}

/// What registration did for one subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Status {
    /// It was created.
    Created,
    /// One to the same URL (and topic) was there already and was left alone.
    AlreadyPresent,
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(match self {
            Status::Created => "created",
            Status::AlreadyPresent => "already present",
        })
    }
}

/// One subscription at the provider and what registration did with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Outcome {
    /// The topic or events, as the provider names them (`PRODUCTS_CREATE`, `push`).
    pub subscription: String,
    /// Created or already present.
    pub status: Status,
    /// The provider's id of the subscription, when it gives one.
    pub id: Option<String>,
    /// Something to check by hand, such as an existing hook that lacks an event.
    pub note: Option<String>,
}

/// One provider's webhook to register: where it goes and where the provider keeps it.
#[derive(Debug, Clone)]
pub struct Registration {
    provider: Provider,
    webhook_url: Url,
    api_base: Option<Url>,
    secret: Option<Secret>,
    repository: Option<String>,
    shop: Option<String>,
    shopify_api_version: String,
    project_id: Option<String>,
    dataset: String,
    space_id: Option<String>,
}

impl Registration {
    /// The webhook of `provider` on the integration API at `api_url` (the stack output
    /// `IntegrationApiUrl`).
    pub fn new(provider: Provider, api_url: &Url) -> Self {
        Registration {
            provider,
            webhook_url: provider.webhook_url(api_url),
            api_base: None,
            secret: None,
            repository: None,
            shop: None,
            shopify_api_version: shopify::DEFAULT_API_VERSION.to_string(),
            project_id: None,
            dataset: "production".to_string(),
            space_id: None,
        }
    }

    /// The management API's base URL instead of the provider's public one.
    pub fn api_base(mut self, base: Url) -> Self {
        self.api_base = Some(base);
        self
    }

    /// The secret the webhook carries (see [`Provider::secret_setting`]).
    pub fn secret(mut self, secret: Secret) -> Self {
        self.secret = Some(secret);
        self
    }

    /// Decap, Tina: the GitHub repository as `owner/name`.
    pub fn repository(mut self, repository: impl Into<String>) -> Self {
        self.repository = Some(repository.into());
        self
    }

    /// Shopify: the shop, `name` or `name.myshopify.com`.
    pub fn shop(mut self, shop: impl Into<String>) -> Self {
        self.shop = Some(shop.into());
        self
    }

    /// Shopify: the Admin API version (default [`Registration::DEFAULT_SHOPIFY_API_VERSION`]).
    pub fn shopify_api_version(mut self, version: impl Into<String>) -> Self {
        self.shopify_api_version = version.into();
        self
    }

    /// Sanity: the project id.
    pub fn project_id(mut self, project_id: impl Into<String>) -> Self {
        self.project_id = Some(project_id.into());
        self
    }

    /// Sanity: the dataset (default `production`).
    pub fn dataset(mut self, dataset: impl Into<String>) -> Self {
        self.dataset = dataset.into();
        self
    }

    /// Contentful: the space id.
    pub fn space_id(mut self, space_id: impl Into<String>) -> Self {
        self.space_id = Some(space_id.into());
        self
    }

    /// The Shopify Admin API version used unless another is set.
    pub const DEFAULT_SHOPIFY_API_VERSION: &str = shopify::DEFAULT_API_VERSION;

    /// The provider.
    pub fn provider(&self) -> Provider {
        self.provider
    }

    /// The URL the provider is to call.
    pub fn webhook_url(&self) -> &Url {
        &self.webhook_url
    }

    /// For the dashboard providers (Snipcart, Foxy), the steps to take there; `None` for
    /// the others.
    pub fn instructions(&self) -> Option<String> {
        dashboard::instructions(self.provider, &self.webhook_url)
    }

    /// Lists the provider's subscriptions and creates those that are missing, with the
    /// management API `token` (read from [`Provider::token_variable`]; `None` when unset).
    pub async fn register(&self, token: Option<Secret>) -> Result<Vec<Outcome>, RegistrationError> {
        let provider = self.provider.name();
        let Some(variable) = self.provider.token_variable() else {
            return Err(RegistrationError::Setting {
                provider,
                setting: "webhook",
                reason: "is set up in the provider's dashboard, not through an API".into(),
            });
        };
        let token = token
            .filter(|t| !t.expose().trim().is_empty())
            .ok_or(RegistrationError::MissingToken { provider, variable })?;
        let client = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .user_agent(concat!("webhook-registration/", env!("CARGO_PKG_VERSION")))
            // A redirect must not carry the token elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|source| RegistrationError::Transport {
                provider,
                url: String::new(),
                source,
            })?;
        match self.provider {
            Provider::Decap | Provider::Tina => github::register(self, &client, &token).await,
            Provider::Shopify => shopify::register(self, &client, &token).await,
            Provider::Sanity => sanity::register(self, &client, &token).await,
            Provider::Contentful => contentful::register(self, &client, &token).await,
            Provider::Snipcart | Provider::Foxy => {
                unreachable!("dashboard providers have no token variable")
            }
        }
    }

    /// The webhook secret, or an error naming where it is read from.
    fn required_secret(&self) -> Result<&Secret, RegistrationError> {
        self.secret
            .as_ref()
            .filter(|s| !s.expose().is_empty())
            .ok_or_else(|| RegistrationError::Secret {
                provider: self.provider.name(),
                reason: format!(
                    "is missing: set {} (the integration API's {})",
                    self.provider.secret_variable().unwrap_or_default(),
                    self.provider.secret_setting().unwrap_or_default()
                ),
            })
    }

    /// A setting that must be present, checked to be a safe URL path segment.
    fn path_setting<'a>(
        &self,
        value: Option<&'a str>,
        setting: &'static str,
        example: &str,
    ) -> Result<&'a str, RegistrationError> {
        let value = value.map(str::trim).unwrap_or_default();
        let safe = !value.is_empty()
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
            && value != "."
            && value != "..";
        if safe {
            Ok(value)
        } else {
            Err(RegistrationError::Setting {
                provider: self.provider.name(),
                setting,
                reason: format!(
                    "{}: expected letters, digits, '-', '_' or '.', such as {example}",
                    if value.is_empty() {
                        "is missing".to_string()
                    } else {
                        format!("{value:?} is not valid")
                    }
                ),
            })
        }
    }

    /// The provider's management API at the base override, else at `default_base`, named
    /// with the provider and its token variable; `secrets` are cut out of quoted answers.
    fn api<'a>(
        &self,
        client: &'a reqwest::Client,
        default_base: &str,
        secrets: &[&'a Secret],
    ) -> api::Api<'a> {
        let base = self.api_base.as_ref().map_or(default_base, Url::as_str);
        api::Api::new(
            client,
            self.provider.name(),
            self.provider.token_variable().unwrap_or_default(),
            base,
            secrets,
        )
    }
}
