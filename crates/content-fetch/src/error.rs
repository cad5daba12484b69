//! The errors of the fetcher, each carrying the URL, path or item id involved.

use std::path::PathBuf;

/// What class of failure an error is ([`FetchError::kind`], [`ErrorKind::of_write`]): the CLI
/// maps each to a stable exit code, the Node addon to an error's `code` ([`ErrorKind::code`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Bad flags, settings or endpoint; fixable by changing the invocation or configuration.
    Config,
    /// No credentials, or the API refused them.
    Auth,
    /// The API stayed unreachable, failing or malformed after every retry.
    Network,
    /// An invalid item (or a duplicate or unsafe slug) in strict mode.
    Validation,
    /// A snapshot could not be read, trusted or written.
    Snapshot,
    /// The output folder cannot be used or written.
    Output,
    /// No item with the id asked for.
    NotFound,
}

impl ErrorKind {
    /// The class's stable name: `CONFIG`, `AUTH`, `NETWORK`, `VALIDATION`, `SNAPSHOT`,
    /// `OUTPUT` or `NOT_FOUND`.
    pub fn code(self) -> &'static str {
        match self {
            ErrorKind::Config => "CONFIG",
            ErrorKind::Auth => "AUTH",
            ErrorKind::Network => "NETWORK",
            ErrorKind::Validation => "VALIDATION",
            ErrorKind::Snapshot => "SNAPSHOT",
            ErrorKind::Output => "OUTPUT",
            ErrorKind::NotFound => "NOT_FOUND",
        }
    }
}

/// A setting of a run, as [`FetchError::remedy`] names it. Each caller renders it in its own
/// vocabulary (the CLI as a flag, the addon as an option), so library messages stay neutral.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Setting {
    /// The content API's base URL.
    Endpoint,
    /// The API's AWS region.
    Region,
    /// The AWS profile.
    Profile,
    /// The content types fetched.
    Types,
    /// The statuses fetched.
    Statuses,
    /// The oldest `updated_at` fetched.
    UpdatedSince,
    /// The newest `synced_at` of the previous run, for an incremental sync.
    ChangesSince,
    /// Whether drafts are fetched.
    IncludeDrafts,
    /// Whether an invalid item fails the run.
    Strict,
    /// The snapshot used when the API stays unreachable.
    FallbackSnapshot,
    /// The oldest fallback snapshot accepted.
    FallbackMaxAge,
    /// Items per page.
    PageSize,
    /// One request's time limit.
    Timeout,
    /// The whole run's time limit.
    Deadline,
}

impl std::fmt::Display for Setting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Setting::Endpoint => "endpoint",
            Setting::Region => "region",
            Setting::Profile => "profile",
            Setting::Types => "content type",
            Setting::Statuses => "status",
            Setting::UpdatedSince => "updated-since time",
            Setting::ChangesSince => "changes-since time",
            Setting::IncludeDrafts => "include-drafts",
            Setting::Strict => "strict",
            Setting::FallbackSnapshot => "fallback snapshot",
            Setting::FallbackMaxAge => "fallback maximum age",
            Setting::PageSize => "page size",
            Setting::Timeout => "timeout",
            Setting::Deadline => "deadline",
        })
    }
}

/// A failed fetch.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// No endpoint was given anywhere.
    #[error(
        "no content API endpoint: give one, set INTEGRATION_API_URL, or put endpoint = \"https://...\" in content-fetch.toml (searched from {searched_from} upward)"
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
    /// A request that cannot be made, such as an id that cannot be put in a URL.
    #[error("{0}")]
    Usage(String),
    /// A setting's value is not acceptable.
    #[error("{setting} '{value}' is not {expected}")]
    BadValue {
        /// The setting.
        setting: Setting,
        /// The value as given.
        value: String,
        /// What it should be, with an example.
        expected: String,
    },
    /// No region was found.
    #[error(
        "no AWS region: give one, set AWS_REGION, or set region in the AWS profile{}",
        profile.as_ref().map(|p| format!(" '{p}'")).unwrap_or_default()
    )]
    NoRegion {
        /// The profile in use, if one was named.
        profile: Option<String>,
    },
    /// The credentials chain found nothing, or a source in it failed.
    #[error(
        "no usable AWS credentials ({cause}). Tried, in order: environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN); web identity token (AWS_WEB_IDENTITY_TOKEN_FILE); profile '{profile}' in the shared config and credentials files (AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE; static keys, SSO, assume-role, credential_process); container credentials (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI or AWS_CONTAINER_CREDENTIALS_FULL_URI, as CodeBuild and ECS serve them); EC2 instance metadata (IMDS). Set one of these up, or name a profile"
    )]
    NoCredentials {
        /// The profile that was looked up.
        profile: String,
        /// What the last source said.
        cause: String,
    },
    /// The API refused the signed request (401/403). Not retried.
    #[error(
        "{url} refused the request with {status}: {message}. Check the region (it must be the API's region), the credentials (their IAM policy must allow execute-api:Invoke), and the clock (SigV4 allows 5 minutes of skew)"
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
        "{url} still failing after {attempts} attempt(s): {cause}. Check the endpoint and network, or give a fallback snapshot"
    )]
    Network {
        /// The URL requested.
        url: String,
        /// How many attempts were made.
        attempts: u32,
        /// The last failure.
        cause: String,
    },
    /// A page stayed malformed (bad JSON, wrong shape, truncated, a count that differs from
    /// its items, a cursor loop) after every retry.
    #[error(
        "malformed page from {url}{} after {attempts} attempt(s): {reason}",
        offset.map(|o| format!(" at byte {o}")).unwrap_or_default()
    )]
    MalformedPage {
        /// The URL requested.
        url: String,
        /// The byte offset where reading failed, when the fault has a place in the body.
        offset: Option<usize>,
        /// How many attempts were made.
        attempts: u32,
        /// What was wrong.
        reason: String,
    },
    /// The run reached its deadline: a request was cut in flight, or a retry would have
    /// passed it.
    #[error(
        "the run reached its deadline of {} s with {pages} page(s) fetched, at {url}: {cause}",
        deadline.as_secs_f64()
    )]
    Deadline {
        /// The URL being fetched.
        url: String,
        /// The run's time limit.
        deadline: std::time::Duration,
        /// Pages received before it.
        pages: u64,
        /// What was under way.
        cause: String,
    },
    /// An item broke the model's rules in a strict run.
    #[error("invalid item '{id}' from {url}: field '{field}': {reason}")]
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
    /// The fallback snapshot is older than the run accepts; the API's error is kept.
    #[error(
        "the fallback snapshot {} is {age_secs} s old, older than the maximum age ({max_age_secs} s); the API error was: {api_error}",
        path.display()
    )]
    FallbackTooOld {
        /// The file.
        path: PathBuf,
        /// Its age in seconds.
        age_secs: u64,
        /// The oldest accepted, in seconds.
        max_age_secs: u64,
        /// Why the API could not be used.
        api_error: String,
    },
    /// A preview snapshot (with drafts) was offered for a run that does not include drafts.
    #[error(
        "snapshot {} contains drafts (a preview snapshot) and cannot be used for a production run: include drafts for a preview, or pull a snapshot without drafts",
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
            | FetchError::BadValue { .. }
            | FetchError::NoRegion { .. }
            | FetchError::Rejected { .. } => ErrorKind::Config,
            FetchError::NoCredentials { .. } | FetchError::Auth { .. } => ErrorKind::Auth,
            FetchError::Network { .. }
            | FetchError::MalformedPage { .. }
            | FetchError::Deadline { .. } => ErrorKind::Network,
            FetchError::InvalidItem { .. } => ErrorKind::Validation,
            FetchError::Snapshot { .. }
            | FetchError::FallbackTooOld { .. }
            | FetchError::DraftSnapshot { .. } => ErrorKind::Snapshot,
        }
    }

    /// The setting that can fix this failure, for the caller to name in its own words (a
    /// command-line flag, an option of the Node addon).
    pub fn remedy(&self) -> Option<Setting> {
        match self {
            FetchError::NoEndpoint { .. } | FetchError::BadEndpoint { .. } => {
                Some(Setting::Endpoint)
            }
            FetchError::NoRegion { .. } | FetchError::Auth { .. } => Some(Setting::Region),
            FetchError::NoCredentials { .. } => Some(Setting::Profile),
            FetchError::Network { .. } => Some(Setting::FallbackSnapshot),
            FetchError::Deadline { .. } => Some(Setting::Deadline),
            FetchError::InvalidItem { .. } => Some(Setting::Strict),
            FetchError::DraftSnapshot { .. } => Some(Setting::IncludeDrafts),
            FetchError::FallbackTooOld { .. } => Some(Setting::FallbackMaxAge),
            FetchError::BadValue { setting, .. } => Some(*setting),
            _ => None,
        }
    }

    pub(crate) fn snapshot(path: &std::path::Path, reason: impl Into<String>) -> FetchError {
        FetchError::Snapshot {
            path: path.to_path_buf(),
            reason: reason.into(),
        }
    }
}
