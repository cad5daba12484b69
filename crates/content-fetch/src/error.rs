//! The errors of the fetcher, each carrying the URL, path or item id involved.

use std::path::PathBuf;

/// What class of failure an error is; the CLI maps each to a stable exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Bad flags, settings or endpoint; fixable by changing the invocation or configuration.
    Config,
    /// No credentials, or the API refused them.
    Auth,
    /// The API stayed unreachable, failing or malformed after every retry.
    Network,
    /// An invalid item in strict mode.
    Validation,
    /// A snapshot could not be read, trusted or written.
    Snapshot,
}

/// A failed fetch.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// No endpoint was given anywhere.
    #[error(
        "no content API endpoint: pass --endpoint URL, set INTEGRATION_API_URL, or put endpoint = \"https://...\" in content-fetch.toml (searched from {searched_from} upward)"
    )]
    NoEndpoint {
        /// The folder the search for `content-fetch.toml` started in.
        searched_from: PathBuf,
    },
    /// The endpoint is not an http(s) URL.
    #[error("endpoint '{url}' (from {source_name}) is not usable: {reason}")]
    BadEndpoint {
        /// The endpoint as given.
        url: String,
        /// Where it came from: flag, variable or file.
        source_name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// `content-fetch.toml` could not be read.
    #[error("cannot read config file {}: {reason}", path.display())]
    ConfigFile {
        /// The file.
        path: PathBuf,
        /// The I/O or TOML error.
        reason: String,
    },
    /// A flag or filter value is not acceptable.
    #[error("{0}")]
    Usage(String),
    /// No region was found.
    #[error(
        "no AWS region: pass --region, set AWS_REGION, or set region in the AWS profile{}",
        profile.as_ref().map(|p| format!(" '{p}'")).unwrap_or_default()
    )]
    NoRegion {
        /// The profile in use, if one was named.
        profile: Option<String>,
    },
    /// The credentials chain found nothing, or a source in it failed.
    #[error(
        "no usable AWS credentials ({cause}). Tried, in order: environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN); web identity token (AWS_WEB_IDENTITY_TOKEN_FILE); profile '{profile}' in the shared config and credentials files (AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE; static keys, SSO, assume-role, credential_process); container credentials (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI or AWS_CONTAINER_CREDENTIALS_FULL_URI, as CodeBuild and ECS serve them); EC2 instance metadata (IMDS). Set one of these up, or pass --profile NAME"
    )]
    NoCredentials {
        /// The profile that was looked up.
        profile: String,
        /// What the last source said.
        cause: String,
    },
    /// The API refused the signed request (401/403). Not retried.
    #[error(
        "{url} refused the request with {status}: {message}. Check the region (--region/AWS_REGION must be the API's region), the credentials (their IAM policy must allow execute-api:Invoke), and the clock (SigV4 allows 5 minutes of skew)"
    )]
    Auth {
        /// The URL requested.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The API's message.
        message: String,
    },
    /// The API answered with a client error other than 401, 403 or 404. Not retried.
    #[error("{url} answered {status}: {message}")]
    Rejected {
        /// The URL requested.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The API's message.
        message: String,
    },
    /// The API stayed unreachable or failing after every retry.
    #[error(
        "{url} still failing after {attempts} attempt(s): {cause}. Check the endpoint and network, or use --fallback-snapshot"
    )]
    Network {
        /// The URL requested.
        url: String,
        /// How many attempts were made.
        attempts: u32,
        /// The last failure.
        cause: String,
    },
    /// A page stayed malformed (bad JSON, wrong shape, truncated) after every retry.
    #[error("malformed page from {url} at byte {offset} after {attempts} attempt(s): {reason}")]
    MalformedPage {
        /// The URL requested.
        url: String,
        /// The byte offset where reading failed.
        offset: usize,
        /// How many attempts were made.
        attempts: u32,
        /// What was wrong.
        reason: String,
    },
    /// An item broke the model's rules and `--strict` was given.
    #[error(
        "invalid item '{id}' from {url}: field '{field}': {reason} (drop --strict to skip invalid items with a warning)"
    )]
    InvalidItem {
        /// The item's id, or `<no id>`.
        id: String,
        /// The field path.
        field: String,
        /// The broken rule.
        reason: String,
        /// Where the item came from: a URL or a snapshot path.
        url: String,
    },
    /// A snapshot file could not be read or written.
    #[error("snapshot {}: {reason}", path.display())]
    Snapshot {
        /// The file.
        path: PathBuf,
        /// What went wrong and what to do.
        reason: String,
    },
    /// A preview snapshot (with drafts) was offered for a run without `--include-drafts`.
    #[error(
        "snapshot {} contains drafts (a preview snapshot) and cannot be used for a production run: pass --include-drafts for a preview, or pull a snapshot without drafts",
        path.display()
    )]
    DraftSnapshot {
        /// The file.
        path: PathBuf,
    },
}

impl FetchError {
    /// The class of the failure.
    pub fn kind(&self) -> ErrorKind {
        match self {
            FetchError::NoEndpoint { .. }
            | FetchError::BadEndpoint { .. }
            | FetchError::ConfigFile { .. }
            | FetchError::Usage(_)
            | FetchError::NoRegion { .. }
            | FetchError::Rejected { .. } => ErrorKind::Config,
            FetchError::NoCredentials { .. } | FetchError::Auth { .. } => ErrorKind::Auth,
            FetchError::Network { .. } | FetchError::MalformedPage { .. } => ErrorKind::Network,
            FetchError::InvalidItem { .. } => ErrorKind::Validation,
            FetchError::Snapshot { .. } | FetchError::DraftSnapshot { .. } => ErrorKind::Snapshot,
        }
    }

    pub(crate) fn snapshot(path: &std::path::Path, reason: impl Into<String>) -> FetchError {
        FetchError::Snapshot {
            path: path.to_path_buf(),
            reason: reason.into(),
        }
    }
}
