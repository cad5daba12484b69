//! The content changes summary a build gets in `CONTENT_CHANGES_SUMMARY`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use unified_content::{ContentType, EventType};

use crate::change::Change;

/// At most this many affected ids are listed; the rest are counted in
/// [`ChangeSummary::more_affected_ids`], so the summary fits a CodeBuild environment variable.
pub const MAX_AFFECTED_IDS: usize = 50;

/// What a build is for: counts per type, provider and event, and the items affected.
///
/// Serialized as the JSON of `CONTENT_CHANGES_SUMMARY`, which `content-fetch` reads to decide
/// between an incremental and a full run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeSummary {
    /// Events that led to the build.
    pub total_events: u32,
    /// Distinct items changed (events coalesced per entity).
    pub total_changes: u32,
    /// Changes per content type.
    pub content_types: BTreeMap<String, u32>,
    /// Changes per provider.
    pub providers: BTreeMap<String, u32>,
    /// Changes per (latest) event type.
    pub event_types: BTreeMap<String, u32>,
    /// The ids of the first [`MAX_AFFECTED_IDS`] items changed.
    pub affected_ids: Vec<String>,
    /// How many more items changed than are listed.
    pub more_affected_ids: u32,
    /// Whether the site must be rebuilt from scratch: a collection changed (it reaches many
    /// pages) or the changes are not known (a fallback build).
    pub requires_full_rebuild: bool,
}

impl ChangeSummary {
    /// The summary of coalesced changes.
    pub fn of(changes: &[Change]) -> ChangeSummary {
        let mut summary = ChangeSummary::default();
        for change in changes {
            summary.total_events = summary.total_events.saturating_add(change.event_count);
            summary.total_changes = summary.total_changes.saturating_add(1);
            bump(&mut summary.content_types, change.content_type.as_str());
            bump(&mut summary.providers, &change.provider_name);
            bump(&mut summary.event_types, change.event_type.as_str());
            if summary.affected_ids.len() < MAX_AFFECTED_IDS {
                summary.affected_ids.push(change.content_id.clone());
            } else {
                summary.more_affected_ids = summary.more_affected_ids.saturating_add(1);
            }
            summary.requires_full_rebuild |= change.content_type == ContentType::Collection
                || matches!(
                    change.event_type,
                    EventType::CollectionCreated | EventType::CollectionUpdated
                );
        }
        summary
    }

    /// The summary of a fallback build, whose changes are not known: a full rebuild.
    pub fn unknown(event_count: u32) -> ChangeSummary {
        ChangeSummary {
            total_events: event_count,
            requires_full_rebuild: true,
            ..ChangeSummary::default()
        }
    }

    /// The JSON text of the summary.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a summary of strings and counts always serializes")
    }
}

fn bump(counts: &mut BTreeMap<String, u32>, key: &str) {
    let count = counts.entry(key.to_owned()).or_default();
    *count = count.saturating_add(1);
}
