//! Shapes of the content API (`GET /content`, `GET /content/{id}`, errors), shared by the
//! integration API that serves them and the fetcher that reads them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::model::{ContentStatus, ContentType, Timestamp, UnifiedContent};

/// Items per page when a request names no `limit`.
pub const DEFAULT_LIMIT: u32 = 100;
/// The largest `limit` a request may ask for.
pub const MAX_LIMIT: u32 = 1000;
/// The most bytes of JSON one page may hold, whatever `limit` says: a Lambda response is
/// capped at 6 MB.
pub const MAX_PAGE_BYTES: usize = 5 * 1024 * 1024;

/// One page of `GET /content`. `T` is [`UnifiedContent`] for servers; a client that checks
/// items one by one reads raw JSON values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContentPage<T = UnifiedContent> {
    /// The items of this page.
    pub items: Vec<T>,
    /// How many items this page holds.
    pub count: usize,
    /// The cursor of the next page, or `None` on the last page.
    pub next_cursor: Option<String>,
}

/// The body of `GET /content/{id}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContentEnvelope<T = UnifiedContent> {
    /// The item.
    pub content: T,
}

/// Every error response: a message a person can act on, plus details.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// What went wrong and what to do.
    pub error: String,
    /// Details such as the JSON path of a malformed field.
    #[serde(flatten)]
    pub details: BTreeMap<String, Value>,
}

/// The filters and paging of `GET /content`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContentQuery {
    /// Only items of this type.
    pub content_type: Option<ContentType>,
    /// Only items from this provider.
    pub provider: Option<String>,
    /// Only items with one of these statuses; empty means published only.
    pub statuses: Vec<ContentStatus>,
    /// Only items whose provider `updated_at` is at or after this time.
    pub updated_since: Option<Timestamp>,
    /// Only items the cache stored (`synced_at`) at or after this time: what incremental sync
    /// asks for, since the cache's clock orders changes as they arrived, whatever their
    /// providers' `updated_at`.
    pub synced_since: Option<Timestamp>,
    /// Also list tombstones of deleted items, for incremental sync.
    pub include_deleted: bool,
    /// Items per page (default 100, at most 1000).
    pub limit: Option<u32>,
    /// The opaque cursor from the previous page.
    pub cursor: Option<String>,
}

/// A query parameter that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("query parameter '{name}': {message}")]
pub struct QueryError {
    /// The parameter.
    pub name: String,
    /// What is wrong and what is accepted.
    pub message: String,
}

impl ContentQuery {
    /// The statuses asked for, published when none are named.
    pub fn effective_statuses(&self) -> Vec<ContentStatus> {
        let mut statuses = if self.statuses.is_empty() {
            vec![ContentStatus::Published]
        } else {
            self.statuses.clone()
        };
        if self.include_deleted && !statuses.contains(&ContentStatus::Deleted) {
            statuses.push(ContentStatus::Deleted);
        }
        statuses.sort();
        statuses.dedup();
        statuses
    }

    /// The effective page size: the default when unset, capped at [`MAX_LIMIT`].
    pub fn effective_limit(&self) -> u32 {
        self.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT)
    }

    /// The query as name/value pairs, unencoded, in a fixed order. Times are written in UTC
    /// with a `Z`, so no `+` ever needs encoding.
    pub fn to_pairs(&self) -> Vec<(&'static str, String)> {
        let mut pairs = Vec::new();
        if let Some(t) = self.content_type {
            pairs.push(("content_type", t.as_str().to_string()));
        }
        if let Some(p) = &self.provider {
            pairs.push(("provider", p.clone()));
        }
        if !self.statuses.is_empty() {
            let names: Vec<&str> = self.statuses.iter().map(|s| s.as_str()).collect();
            pairs.push(("status", names.join(",")));
        }
        if let Some(t) = self.updated_since {
            pairs.push((
                "updated_since",
                t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
            ));
        }
        if let Some(t) = self.synced_since {
            pairs.push((
                "synced_since",
                t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
            ));
        }
        if self.include_deleted {
            pairs.push(("include_deleted", "true".to_string()));
        }
        if let Some(l) = self.limit {
            pairs.push(("limit", l.to_string()));
        }
        if let Some(c) = &self.cursor {
            pairs.push(("cursor", c.clone()));
        }
        pairs
    }

    /// Reads decoded name/value pairs, as a server receives them. Unknown names are ignored.
    pub fn from_pairs<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<ContentQuery, QueryError> {
        let err = |name: &str, message: String| QueryError {
            name: name.to_string(),
            message,
        };
        let mut q = ContentQuery::default();
        for (name, value) in pairs {
            match name {
                "content_type" => {
                    q.content_type = Some(ContentType::parse(value).ok_or_else(|| {
                        err(
                            name,
                            format!(
                                "unknown content type '{value}'; use one of product, article, page, collection, media"
                            ),
                        )
                    })?)
                }
                "provider" => q.provider = Some(value.to_string()),
                "status" => {
                    for part in value.split(',').filter(|p| !p.is_empty()) {
                        q.statuses.push(ContentStatus::parse(part).ok_or_else(|| {
                            err(
                                name,
                                format!(
                                    "unknown status '{part}'; use draft, published, archived or deleted, comma-separated"
                                ),
                            )
                        })?);
                    }
                }
                "updated_since" | "synced_since" => {
                    let t = chrono::DateTime::parse_from_rfc3339(value).map_err(|e| {
                        err(
                            name,
                            format!("'{value}' is not an RFC 3339 time ({e}); send UTC like 2026-01-31T12:00:00Z"),
                        )
                    })?;
                    let t = Some(t.with_timezone(&chrono::Utc));
                    if name == "updated_since" {
                        q.updated_since = t;
                    } else {
                        q.synced_since = t;
                    }
                }
                "include_deleted" => {
                    q.include_deleted = match value {
                        "true" | "1" => true,
                        "false" | "0" | "" => false,
                        _ => return Err(err(name, format!("'{value}' is not true or false"))),
                    }
                }
                "limit" => {
                    let limit: u32 = value.parse().map_err(|_| {
                        err(name, format!("'{value}' is not a whole number from 1 to {MAX_LIMIT}"))
                    })?;
                    if limit == 0 || limit > MAX_LIMIT {
                        return Err(err(name, format!("{limit} is not from 1 to {MAX_LIMIT}")));
                    }
                    q.limit = Some(limit);
                }
                "cursor" => q.cursor = Some(value.to_string()),
                _ => {}
            }
        }
        Ok(q)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_round_trips_through_pairs() {
        let q = ContentQuery {
            content_type: Some(ContentType::Article),
            provider: Some("sanity".into()),
            statuses: vec![ContentStatus::Published, ContentStatus::Draft],
            updated_since: Some("2026-01-01T01:00:00+01:00".parse().unwrap()),
            synced_since: Some("2026-01-02T00:00:00Z".parse().unwrap()),
            include_deleted: true,
            limit: Some(250),
            cursor: Some("abc".into()),
        };
        let pairs = q.to_pairs();
        assert!(pairs.contains(&("updated_since", "2026-01-01T00:00:00Z".to_string())));
        let back = ContentQuery::from_pairs(pairs.iter().map(|(k, v)| (*k, v.as_str()))).unwrap();
        assert_eq!(back, q);
        assert_eq!(
            back.effective_statuses(),
            vec![
                ContentStatus::Draft,
                ContentStatus::Published,
                ContentStatus::Deleted
            ]
        );
        let bad = ContentQuery::from_pairs([("limit", "5000")]).unwrap_err();
        assert!(bad.to_string().contains("query parameter 'limit'"), "{bad}");
    }
}
