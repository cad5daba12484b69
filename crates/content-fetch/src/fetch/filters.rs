//! Which items a run asks for, as API queries and as the same test on items read offline.

use serde::{Deserialize, Serialize};
use unified_content::api::ContentQuery;
use unified_content::{ContentStatus, ContentType, Timestamp, UnifiedContent};

/// Which items a run asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Filters {
    /// Only these types; empty means every type.
    #[serde(default)]
    pub content_types: Vec<ContentType>,
    /// Only items from this provider.
    #[serde(default)]
    pub provider: Option<String>,
    /// Only these statuses; empty means published only.
    #[serde(default)]
    pub statuses: Vec<ContentStatus>,
    /// Only items updated at or after this time.
    #[serde(default)]
    pub updated_since: Option<Timestamp>,
    /// Only items the content cache stored at or after this time (incremental sync).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub synced_since: Option<Timestamp>,
    /// Incremental sync: also tombstones of deleted items, and items that left the wanted
    /// statuses (unpublished, archived) since `updated_since`, which [`Filters::as_seen`]
    /// turns into tombstones.
    #[serde(default)]
    pub include_deleted: bool,
}

/// How far an incremental run reaches back before the previous run's newest `synced_at`: an
/// item stored while that run was paging may carry an older `synced_at` than the newest it
/// saw. Items fetched twice are written to the same bytes, so the overlap costs no output.
pub const INCREMENTAL_OVERLAP: chrono::TimeDelta = chrono::TimeDelta::minutes(15);

impl Filters {
    /// Makes these filters an incremental sync's after a run that saw everything the cache
    /// stored up to `synced_until`: what the cache stored since (less
    /// [`INCREMENTAL_OVERLAP`]), with tombstones and items that left the wanted statuses.
    pub fn continue_from(&mut self, synced_until: Timestamp) {
        self.synced_since = Some(synced_until - INCREMENTAL_OVERLAP);
        self.include_deleted = true;
    }

    /// Whether drafts are asked for (a preview run).
    pub fn includes_drafts(&self) -> bool {
        self.statuses.contains(&ContentStatus::Draft)
    }

    /// The types fetched, in a stable order.
    pub fn types(&self) -> Vec<ContentType> {
        if self.content_types.is_empty() {
            ContentType::ALL.to_vec()
        } else {
            let mut types = self.content_types.clone();
            types.sort();
            types.dedup();
            types
        }
    }

    /// The API query for one type. An incremental query (`include_deleted`) asks for every
    /// status: an item unpublished since the last run is only seen that way.
    pub fn query(&self, content_type: ContentType, limit: Option<u32>) -> ContentQuery {
        let mut statuses = if self.include_deleted {
            ContentStatus::ALL.to_vec()
        } else {
            self.statuses.clone()
        };
        statuses.sort();
        statuses.dedup();
        ContentQuery {
            content_type: Some(content_type),
            provider: self.provider.clone(),
            statuses,
            updated_since: self.updated_since,
            synced_since: self.synced_since,
            include_deleted: self.include_deleted,
            limit,
            cursor: None,
        }
    }

    /// An item as the run shows it: in an incremental run, an item outside the wanted
    /// statuses (published, plus drafts when asked) left the site since the last run, so it
    /// arrives as a tombstone and its files are removed.
    pub fn as_seen(&self, mut item: UnifiedContent) -> UnifiedContent {
        let wanted = ContentQuery {
            statuses: self.statuses.clone(),
            ..ContentQuery::default()
        }
        .effective_statuses();
        if self.include_deleted && !wanted.contains(&item.status) {
            item.status = ContentStatus::Deleted;
        }
        item
    }

    /// Whether an item passes these filters, the way the API filters.
    pub fn matches(&self, item: &UnifiedContent) -> bool {
        let query = self.query(item.content_type, None);
        self.types().contains(&item.content_type)
            && self
                .provider
                .as_ref()
                .is_none_or(|p| *p == item.provider_name)
            && query.effective_statuses().contains(&item.status)
            && self.updated_since.is_none_or(|t| item.updated_at >= t)
            && self.synced_since.is_none_or(|t| item.synced_at >= t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fetch::check::tests::{checked, raw};

    #[test]
    fn filters_match_like_the_api() {
        let item = checked(&raw("a", "ok")).unwrap();
        let mut filters = Filters::default();
        assert!(filters.matches(&item));
        filters.provider = Some("contentful".into());
        assert!(!filters.matches(&item));
        filters.provider = None;
        filters.content_types = vec![ContentType::Product];
        assert!(!filters.matches(&item));
        filters.content_types = vec![];
        filters.statuses = vec![ContentStatus::Draft];
        assert!(!filters.matches(&item));
        filters.statuses = vec![];
        filters.updated_since = Some("2026-01-02T00:00:00Z".parse().unwrap());
        assert!(!filters.matches(&item));
    }

    #[test]
    fn incremental_runs_see_unpublished_items_as_tombstones() {
        let mut draft = checked(&raw("a", "ok")).unwrap();
        draft.status = ContentStatus::Draft;
        let mut archived = draft.clone();
        archived.status = ContentStatus::Archived;
        let published = checked(&raw("b", "ok-b")).unwrap();

        let full = Filters::default();
        assert_eq!(full.query(ContentType::Article, None).statuses, vec![]);
        assert_eq!(full.as_seen(draft.clone()).status, ContentStatus::Draft);

        let incremental = Filters {
            include_deleted: true,
            ..Filters::default()
        };
        let query = incremental.query(ContentType::Article, None);
        assert_eq!(query.statuses, ContentStatus::ALL.to_vec());
        assert!(incremental.matches(&draft) && incremental.matches(&archived));
        assert_eq!(
            incremental.as_seen(draft.clone()).status,
            ContentStatus::Deleted
        );
        assert_eq!(incremental.as_seen(archived).status, ContentStatus::Deleted);
        assert_eq!(
            incremental.as_seen(published).status,
            ContentStatus::Published
        );

        let preview = Filters {
            statuses: vec![ContentStatus::Published, ContentStatus::Draft],
            ..incremental
        };
        assert_eq!(preview.as_seen(draft).status, ContentStatus::Draft);
    }
}
