//! One run as a caller asks for it (the CLI's flags, the Node addon's options object), checked
//! and resolved the same way for both: filters, fetch and client options, the source.

use std::path::{Path, PathBuf};
use std::time::Duration;

use unified_content::{ContentStatus, ContentType};

use crate::aws::AwsAccess;
use crate::client::{ClientOptions, ContentClient, RetryPolicy};
use crate::error::{FetchError, Setting};
use crate::fetch::{ContentSource, FetchOptions, Filters};
use crate::run::Fallback;
use crate::settings::Settings;

/// What a caller asks of a run, as given (names and times as text), before checking.
/// [`Request::default`] holds the CLI's defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The content API's base URL; `None` falls back to `INTEGRATION_API_URL`, then
    /// `content-fetch.toml`.
    pub endpoint: Option<String>,
    /// The API's region; `None` leaves it to `AWS_REGION`, `content-fetch.toml`, the profile.
    pub region: Option<String>,
    /// The AWS profile; `None` leaves it to `AWS_PROFILE`, `content-fetch.toml`, `default`.
    pub profile: Option<String>,
    /// Read this snapshot instead of the API (offline).
    pub from: Option<PathBuf>,
    /// Content type names (`product`, `articles`, ...); empty means every type.
    pub types: Vec<String>,
    /// Only items from this provider.
    pub provider: Option<String>,
    /// Status names; empty means published only.
    pub statuses: Vec<String>,
    /// Only items updated at or after this RFC 3339 time.
    pub updated_since: Option<String>,
    /// An incremental sync after a run whose newest `synced_at` was this RFC 3339 time:
    /// what the cache stored since (with [`crate::INCREMENTAL_OVERLAP`]), with tombstones
    /// ([`Filters::continue_from`]).
    pub changes_since: Option<String>,
    /// Also drafts, for previews.
    pub include_drafts: bool,
    /// Also tombstones of deleted items.
    pub include_deleted: bool,
    /// Fail on the first invalid item instead of skipping it with a warning.
    pub strict: bool,
    /// Items per page asked of the API, 1 to [`unified_content::api::MAX_LIMIT`].
    pub page_size: Option<u32>,
    /// Content types fetched at once (at least 1).
    pub concurrency: usize,
    /// One request's time limit.
    pub timeout: Duration,
    /// The whole run's time limit, retries included.
    pub deadline: Duration,
    /// Attempts per request, the first included (at least 1).
    pub attempts: u32,
    /// The first retry's backoff.
    pub retry_base: Duration,
    /// The snapshot a run goes on from when the API stays unreachable.
    pub fallback_snapshot: Option<PathBuf>,
    /// The oldest fallback snapshot accepted.
    pub fallback_max_age: Duration,
}

impl Default for Request {
    fn default() -> Self {
        let retry = RetryPolicy::default();
        Request {
            endpoint: None,
            region: None,
            profile: None,
            from: None,
            types: Vec::new(),
            provider: None,
            statuses: Vec::new(),
            updated_since: None,
            changes_since: None,
            include_drafts: false,
            include_deleted: false,
            strict: false,
            page_size: None,
            concurrency: FetchOptions::default().concurrency,
            timeout: ClientOptions::default().timeout,
            deadline: retry.deadline,
            attempts: retry.max_attempts,
            retry_base: retry.base_delay,
            fallback_snapshot: None,
            fallback_max_age: Duration::from_secs(24 * 3600),
        }
    }
}

impl Request {
    /// The filters: type and status names read, drafts added to published when asked.
    pub fn filters(&self) -> Result<Filters, FetchError> {
        let mut filters = Filters {
            provider: self.provider.clone(),
            include_deleted: self.include_deleted,
            ..Filters::default()
        };
        for t in &self.types {
            let parsed = ContentType::parse(t).ok_or_else(|| FetchError::BadValue {
                setting: Setting::Types,
                value: t.clone(),
                expected: "known; use product, article, page, collection or media".into(),
            })?;
            filters.content_types.push(parsed);
        }
        for s in &self.statuses {
            let parsed = ContentStatus::parse(s).ok_or_else(|| FetchError::BadValue {
                setting: Setting::Statuses,
                value: s.clone(),
                expected: "known; use draft, published, archived or deleted".into(),
            })?;
            filters.statuses.push(parsed);
        }
        if self.include_drafts {
            if filters.statuses.is_empty() {
                filters.statuses.push(ContentStatus::Published);
            }
            filters.statuses.push(ContentStatus::Draft);
        }
        if let Some(t) = &self.updated_since {
            let parsed =
                chrono::DateTime::parse_from_rfc3339(t).map_err(|e| FetchError::BadValue {
                    setting: Setting::UpdatedSince,
                    value: t.clone(),
                    expected: format!("an RFC 3339 time ({e}); write like 2026-01-31T12:00:00Z"),
                })?;
            filters.updated_since = Some(parsed.with_timezone(&chrono::Utc));
        }
        if let Some(t) = &self.changes_since {
            let parsed =
                chrono::DateTime::parse_from_rfc3339(t).map_err(|e| FetchError::BadValue {
                    setting: Setting::ChangesSince,
                    value: t.clone(),
                    expected: format!("an RFC 3339 time ({e}); write like 2026-01-31T12:00:00Z"),
                })?;
            filters.continue_from(parsed.with_timezone(&chrono::Utc));
        }
        Ok(filters)
    }

    /// The fetch options: filters, strictness, page size and concurrency.
    pub fn fetch_options(&self) -> Result<FetchOptions, FetchError> {
        let max = unified_content::api::MAX_LIMIT;
        if let Some(size) = self.page_size
            && !(1..=max).contains(&size)
        {
            return Err(FetchError::BadValue {
                setting: Setting::PageSize,
                value: size.to_string(),
                expected: format!("from 1 to {max}"),
            });
        }
        Ok(FetchOptions {
            filters: self.filters()?,
            strict: self.strict,
            page_size: self.page_size,
            concurrency: self.concurrency.max(1),
            ..FetchOptions::default()
        })
    }

    /// The fallback snapshot, when one is given.
    pub fn fallback(&self) -> Option<Fallback> {
        self.fallback_snapshot.as_ref().map(|path| Fallback {
            path: path.clone(),
            max_age: self.fallback_max_age,
        })
    }

    fn client_options(&self) -> ClientOptions {
        ClientOptions {
            timeout: self.timeout,
            connect_timeout: self.timeout.min(Duration::from_secs(10)),
            retry: RetryPolicy {
                max_attempts: self.attempts.max(1),
                base_delay: self.retry_base,
                deadline: self.deadline,
                ..RetryPolicy::default()
            },
        }
    }

    /// The snapshot of [`Request::from`], or the API: the endpoint given, else
    /// `INTEGRATION_API_URL`, else `content-fetch.toml` found from `cwd` upward; region and
    /// profile given, else the AWS environment, else the file; credentials through
    /// aws-config's default chain.
    pub async fn open(&self, cwd: &Path) -> Result<ContentSource, FetchError> {
        if let Some(from) = &self.from {
            return ContentSource::snapshot(from);
        }
        let settings = Settings::resolve(
            self.endpoint.as_deref(),
            self.region.as_deref(),
            self.profile.as_deref(),
            cwd,
        )?;
        tracing::debug!(endpoint = %settings.endpoint, from = %settings.endpoint_source, "endpoint");
        let access = AwsAccess::load(&settings).await?;
        let client = ContentClient::new(settings.endpoint, access, self.client_options())?;
        Ok(ContentSource::api(client))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_read_and_bad_ones_name_the_setting() {
        let request = Request {
            types: vec!["products".into(), "article".into()],
            include_drafts: true,
            updated_since: Some("2026-01-01T01:00:00+01:00".into()),
            ..Request::default()
        };
        let f = request.filters().unwrap();
        assert_eq!(
            f.content_types,
            vec![ContentType::Product, ContentType::Article]
        );
        assert!(f.includes_drafts());
        assert_eq!(
            f.updated_since.unwrap().to_rfc3339(),
            "2026-01-01T00:00:00+00:00"
        );
        let bad = |r: Request| r.fetch_options().unwrap_err();
        let err = bad(Request {
            types: vec!["posts".into()],
            ..Request::default()
        });
        assert_eq!(err.remedy(), Some(Setting::Types));
        assert!(err.to_string().starts_with("content type 'posts'"), "{err}");
        let err = bad(Request {
            statuses: vec!["live".into()],
            ..Request::default()
        });
        assert_eq!(err.remedy(), Some(Setting::Statuses));
        let err = bad(Request {
            page_size: Some(0),
            ..Request::default()
        });
        assert_eq!(err.to_string(), "page size '0' is not from 1 to 1000");
    }
}
