//! What can go wrong while registering a webhook.

/// A registration that could not be done. Each variant names the provider, and where it
/// applies the URL that answered and the environment variable that holds the token.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegistrationError {
    /// The provider's name is not one we register webhooks for.
    #[error("unknown provider {given:?}: known providers are {}", known.join(", "))]
    UnknownProvider {
        /// The name given.
        given: String,
        /// The known names.
        known: Vec<&'static str>,
    },
    /// The management API token is not set.
    #[error("{provider}: no API token: set the environment variable {variable}")]
    MissingToken {
        /// The provider.
        provider: &'static str,
        /// The environment variable that must hold the token.
        variable: &'static str,
    },
    /// The webhook secret is missing or has a form the provider refuses.
    #[error("{provider}: the webhook secret {reason}")]
    Secret {
        /// The provider.
        provider: &'static str,
        /// What is wrong with it, and where it is read from.
        reason: String,
    },
    /// A setting that locates the webhook (repository, shop, project, space) is missing or
    /// malformed.
    #[error("{provider}: {setting} {reason}")]
    Setting {
        /// The provider.
        provider: &'static str,
        /// The setting, such as `repository` or `project id`.
        setting: &'static str,
        /// What is wrong and what a valid value looks like.
        reason: String,
    },
    /// The provider refused the token (401 or 403).
    #[error(
        "{provider} refused the API token from {variable} with {status} at {url}: check that it \
         is current and may manage webhooks"
    )]
    Unauthorized {
        /// The provider.
        provider: &'static str,
        /// The environment variable the token came from.
        variable: &'static str,
        /// The HTTP status.
        status: u16,
        /// The URL that refused it.
        url: String,
    },
    /// The provider answered with another unsuccessful status.
    #[error("{provider} answered {status} at {url}: {body}")]
    Status {
        /// The provider.
        provider: &'static str,
        /// The HTTP status.
        status: u16,
        /// The URL.
        url: String,
        /// The start of the answer's body.
        body: String,
    },
    /// The answer is not the shape the provider documents.
    #[error("{provider} sent an unexpected answer from {url}: {reason}")]
    Malformed {
        /// The provider.
        provider: &'static str,
        /// The URL.
        url: String,
        /// What was expected and what was found.
        reason: String,
    },
    /// The provider accepted the request but refused the subscription (GraphQL errors,
    /// Shopify's `userErrors`).
    #[error("{provider} refused the subscription {subscription}: {messages}")]
    Refused {
        /// The provider.
        provider: &'static str,
        /// The topic or event.
        subscription: String,
        /// The provider's messages, joined.
        messages: String,
    },
    /// The provider could not be reached.
    #[error("could not reach {provider} at {url}")]
    Transport {
        /// The provider.
        provider: &'static str,
        /// The URL.
        url: String,
        /// The HTTP client's error.
        #[source]
        source: reqwest::Error,
    },
}
