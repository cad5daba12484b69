//! The options object of every function, read into the library's [`Request`] so that it is
//! checked and resolved exactly as the CLI's flags are.

use std::path::PathBuf;

use content_fetch::{FetchError, Request, Setting, parse_duration};
use napi_derive::napi;

/// Which content to fetch and how; the same settings as the `content-fetch` CLI's flags.
/// Every field is optional. The endpoint, region and profile are resolved like the CLI's:
/// the option, else `INTEGRATION_API_URL` (endpoint) or the AWS environment (region,
/// profile), else `content-fetch.toml` found from the working folder upward. Credentials
/// come from the AWS default chain (environment, profile files, SSO, container, IMDS).
#[napi(object)]
#[derive(Debug, Clone, Default)]
pub struct ContentOptions {
    /// The content API's base URL, stage included, like
    /// `https://abc123.execute-api.eu-west-1.amazonaws.com/prod`.
    pub endpoint: Option<String>,
    /// The API's AWS region, like `eu-west-1`.
    pub region: Option<String>,
    /// The AWS profile of the shared config and credentials files.
    pub profile: Option<String>,
    /// Read content from this snapshot file instead of the API (offline).
    pub from: Option<String>,
    /// Only these content types: `product`, `article`, `page`, `collection`, `media`.
    pub types: Option<Vec<String>>,
    /// Only items from this provider, like `shopify` or `sanity`.
    pub provider: Option<String>,
    /// Only these statuses (`draft`, `published`, `archived`, `deleted`); published by default.
    pub statuses: Option<Vec<String>>,
    /// Also fetch drafts, for previews. Needed to read a snapshot that holds drafts.
    pub include_drafts: Option<bool>,
    /// Also fetch tombstones of deleted items.
    pub include_deleted: Option<bool>,
    /// Only items updated at or after this RFC 3339 time, like `2026-01-31T12:00:00Z`.
    pub updated_since: Option<String>,
    /// An incremental sync after a run whose newest item `synced_at` was this RFC 3339 time:
    /// only what the cache stored since then (less a 15-minute overlap), tombstones of
    /// deleted and unpublished items included (status `deleted`).
    pub changes_since: Option<String>,
    /// Fail on the first invalid item (code `VALIDATION`) instead of skipping it with a
    /// warning.
    pub strict: Option<bool>,
    /// When the API stays unreachable after every retry, go on from this snapshot file.
    pub fallback_snapshot: Option<String>,
    /// The oldest fallback snapshot accepted, like `24h` or `7d` (default `24h`).
    pub fallback_max_age: Option<String>,
    /// Content types fetched at once (default 3).
    pub concurrency: Option<u32>,
    /// Items per page asked of the API, 1 to 1000 (default: the API's, 100).
    pub page_size: Option<u32>,
    /// One request's time limit, like `30s` (the default).
    pub timeout: Option<String>,
    /// The whole run's time limit, retries included, like `300s` (the default).
    pub deadline: Option<String>,
    /// Attempts per request, the first included (default 5).
    pub attempts: Option<u32>,
}

impl ContentOptions {
    /// The library's request, with the CLI's defaults for what is not given.
    pub(crate) fn request(&self) -> Result<Request, FetchError> {
        let defaults = Request::default();
        let duration = |setting, text: &Option<String>, default| match text {
            Some(text) => parse_duration(setting, text),
            None => Ok(default),
        };
        Ok(Request {
            endpoint: self.endpoint.clone(),
            region: self.region.clone(),
            profile: self.profile.clone(),
            from: self.from.as_ref().map(PathBuf::from),
            types: self.types.clone().unwrap_or_default(),
            provider: self.provider.clone(),
            statuses: self.statuses.clone().unwrap_or_default(),
            updated_since: self.updated_since.clone(),
            changes_since: self.changes_since.clone(),
            include_drafts: self.include_drafts.unwrap_or(false),
            include_deleted: self.include_deleted.unwrap_or(false),
            strict: self.strict.unwrap_or(false),
            page_size: self.page_size,
            concurrency: self
                .concurrency
                .map_or(defaults.concurrency, |c| c as usize),
            timeout: duration(Setting::Timeout, &self.timeout, defaults.timeout)?,
            deadline: duration(Setting::Deadline, &self.deadline, defaults.deadline)?,
            attempts: self.attempts.unwrap_or(defaults.attempts),
            retry_base: defaults.retry_base,
            fallback_snapshot: self.fallback_snapshot.as_ref().map(PathBuf::from),
            fallback_max_age: duration(
                Setting::FallbackMaxAge,
                &self.fallback_max_age,
                defaults.fallback_max_age,
            )?,
        })
    }
}

/// Where and how `writeEngineFiles` writes, as the CLI's `--out`, `--template-dir`,
/// `--markdown` and `--incremental`.
#[napi(object)]
#[derive(Debug, Clone, Default)]
pub struct OutputOptions {
    /// The output folder, owned by the writer [default: the engine's: eleventy
    /// `_data/fetched`, astro `src/content/fetched`, next `content/fetched`].
    pub out: Option<String>,
    /// A folder of minijinja templates overriding or adding to the built-in ones, by name.
    pub template_dir: Option<String>,
    /// Write articles and pages as Markdown with front matter (astro).
    pub markdown: Option<bool>,
    /// Fetch only what changed since the last run (with tombstones) and rewrite only
    /// changed files; a full run when the output folder has no state yet.
    pub incremental: Option<bool>,
}

/// How the addon names the option that fixes a library error ([`FetchError::remedy`]), as
/// the CLI names its flag.
pub(crate) fn option_hint(setting: Setting) -> &'static str {
    match setting {
        Setting::Endpoint => "give the endpoint option",
        Setting::Region => "give the region option",
        Setting::Profile => "give the profile option",
        Setting::Types => "check the types option",
        Setting::Statuses => "check the statuses option",
        Setting::UpdatedSince => "check the updatedSince option",
        Setting::ChangesSince => "check the changesSince option",
        Setting::IncludeDrafts => "set includeDrafts: true for a preview",
        Setting::Strict => "set strict: false to skip invalid items with a warning",
        Setting::FallbackSnapshot => "give the fallbackSnapshot option",
        Setting::FallbackMaxAge => "check the fallbackMaxAge option",
        Setting::PageSize => "check the pageSize option",
        Setting::Timeout => "check the timeout option",
        Setting::Deadline => "check the deadline option",
        _ => "see the options",
    }
}
