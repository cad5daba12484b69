//! The batch decision: a pure function from a client's new events, its batch state and the
//! time to what happens next. No I/O, so every boundary is a table-driven test.

use std::collections::HashMap;

use chrono::{DateTime, TimeDelta, Utc};
use unified_content::ContentEvent;

use crate::change::{Change, coalesce};

/// At most this many events, with no batch active, build at once (the seed's immediate rule).
pub const IMMEDIATE_BUILD_THRESHOLD: u32 = 3;
/// From this many events a batch is a bulk batch and waits [`BULK_BATCH_WINDOW`].
pub const BULK_EVENT_THRESHOLD: u32 = 10;
/// How long a bulk batch collects events before it builds.
pub const BULK_BATCH_WINDOW: TimeDelta = TimeDelta::seconds(60);
/// How long a standard batch collects events before it builds.
pub const STANDARD_BATCH_WINDOW: TimeDelta = TimeDelta::seconds(30);
/// A batch holding this many events builds at once, whatever its window.
pub const MAX_BATCH_SIZE: u32 = 50;
/// The most builds one client may start in any hour, fallback builds included, so a failing
/// trigger cannot storm.
pub const MAX_BUILDS_PER_HOUR: usize = 12;
/// The span the hourly ceiling counts builds over.
pub const CEILING_SPAN: TimeDelta = TimeDelta::hours(1);
/// After a build started, the client's next events batch for this long instead of building at
/// once. The seed built every product update at once and so stormed on a burst of them.
pub const IMMEDIATE_COOLDOWN: TimeDelta = STANDARD_BATCH_WINDOW;

/// The batch a client is collecting events into, as the decision needs to see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveBatch {
    /// The batch's id.
    pub batch_id: String,
    /// When the batch was opened.
    pub opened_at: DateTime<Utc>,
    /// How many events it holds.
    pub event_count: u32,
}

impl ActiveBatch {
    /// When a batch of `event_count` events opened at `opened_at` is due to build.
    pub fn due_at(opened_at: DateTime<Utc>, event_count: u32) -> DateTime<Utc> {
        opened_at + window_for(event_count)
    }
}

/// What the store knows about one client, as the decision needs it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientState {
    /// The batch collecting events, if any.
    pub active: Option<ActiveBatch>,
    /// When the client's builds of the last [`CEILING_SPAN`] started.
    pub recent_builds: Vec<DateTime<Utc>>,
    /// The digest each entity had at the last build that took it, keyed by
    /// [`Change::entity`]. Only the entities of the events at hand are needed.
    pub built_digests: HashMap<String, String>,
}

/// Why a batch waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum WaitReason {
    /// A standard batch: fewer than [`BULK_EVENT_THRESHOLD`] events, a
    /// [`STANDARD_BATCH_WINDOW`].
    Standard,
    /// A bulk batch: [`BULK_EVENT_THRESHOLD`] events or more, a [`BULK_BATCH_WINDOW`].
    Bulk,
    /// The client started [`MAX_BUILDS_PER_HOUR`] builds in the last hour; the batch builds
    /// when the oldest of them leaves the hour.
    HourlyCeiling,
}

/// Why a batch builds now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TriggerReason {
    /// The batch holds [`MAX_BATCH_SIZE`] events or more.
    Full,
    /// The batch has waited its window.
    WindowWaited,
}

/// Why events cause no build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SkipReason {
    /// No event requires a build (drafts and other changes no page shows).
    NoBuildRequired,
    /// Every item ends with the digest it had at the last build.
    Unchanged,
}

impl SkipReason {
    /// The reason as a metric dimension value, such as `unchanged`.
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::NoBuildRequired => "no_build_required",
            SkipReason::Unchanged => "unchanged",
        }
    }
}

/// What to do with a client's new events.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BatchDecision {
    /// Nothing to build.
    Skip {
        /// Why not.
        reason: SkipReason,
    },
    /// No batch is active and the events are few or a product changed: build them now, alone.
    BuildNow {
        /// The changes, coalesced per entity.
        changes: Vec<Change>,
    },
    /// Put the changes into the active batch (or open one) and build it at `due_at`.
    AddToBatch {
        /// The changes, coalesced per entity.
        changes: Vec<Change>,
        /// When the batch is due to build.
        due_at: DateTime<Utc>,
        /// Why it waits.
        reason: WaitReason,
    },
    /// Put the changes into the active batch (or open one) and build it now.
    TriggerBatch {
        /// The changes, coalesced per entity.
        changes: Vec<Change>,
        /// Why now.
        reason: TriggerReason,
    },
}

/// The window of a batch holding `event_count` events: bulk from [`BULK_EVENT_THRESHOLD`].
pub fn window_for(event_count: u32) -> TimeDelta {
    if event_count >= BULK_EVENT_THRESHOLD {
        BULK_BATCH_WINDOW
    } else {
        STANDARD_BATCH_WINDOW
    }
}

/// When the hourly ceiling lets the client build again, or `None` when it may build now.
pub fn ceiling_frees_at(
    recent_builds: &[DateTime<Utc>],
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let mut in_span: Vec<DateTime<Utc>> = recent_builds
        .iter()
        .copied()
        .filter(|started| now - *started < CEILING_SPAN)
        .collect();
    if in_span.len() < MAX_BUILDS_PER_HOUR {
        return None;
    }
    in_span.sort_unstable();
    // The build that must leave the span for the count to drop below the ceiling.
    Some(in_span[in_span.len() - MAX_BUILDS_PER_HOUR] + CEILING_SPAN)
}

/// Decides what a client's new events cause.
///
/// Events not requiring a build are dropped, the rest coalesced per entity, and entities
/// ending on the digest of the last build dropped too. Then the seed's strategies apply: with
/// no batch active, [`IMMEDIATE_BUILD_THRESHOLD`] events or fewer, or a product created or
/// updated, build now (unless a build started within [`IMMEDIATE_COOLDOWN`]); otherwise the
/// events join a batch that builds when it holds [`MAX_BATCH_SIZE`] events or has waited its
/// window. Every build is held back by the [`MAX_BUILDS_PER_HOUR`] ceiling.
pub fn decide(events: &[ContentEvent], state: &ClientState, now: DateTime<Utc>) -> BatchDecision {
    let relevant = events
        .iter()
        .filter(|e| e.requires_build)
        .map(Change::from_event);
    let mut changes = coalesce(relevant);
    if changes.is_empty() {
        return BatchDecision::Skip {
            reason: SkipReason::NoBuildRequired,
        };
    }
    changes.retain(|c| state.built_digests.get(&c.entity()) != Some(&c.digest));
    if changes.is_empty() {
        return BatchDecision::Skip {
            reason: SkipReason::Unchanged,
        };
    }
    let new_events = changes
        .iter()
        .fold(0u32, |sum, c| sum.saturating_add(c.event_count));
    let ceiling = ceiling_frees_at(&state.recent_builds, now);
    let hold = |changes: Vec<Change>, due_at: DateTime<Utc>| BatchDecision::AddToBatch {
        changes,
        due_at,
        reason: WaitReason::HourlyCeiling,
    };

    let (opened_at, total) = match &state.active {
        Some(batch) => (
            batch.opened_at,
            batch.event_count.saturating_add(new_events),
        ),
        None => {
            let cooling = state
                .recent_builds
                .iter()
                .any(|started| now - *started < IMMEDIATE_COOLDOWN && *started <= now);
            let product = changes.iter().any(Change::is_product_write);
            if !cooling && (new_events <= IMMEDIATE_BUILD_THRESHOLD || product) {
                return match ceiling {
                    Some(frees_at) => hold(changes, frees_at),
                    None => BatchDecision::BuildNow { changes },
                };
            }
            (now, new_events)
        }
    };
    let due_at = ActiveBatch::due_at(opened_at, total);
    let trigger = if total >= MAX_BATCH_SIZE {
        Some(TriggerReason::Full)
    } else if now >= due_at {
        Some(TriggerReason::WindowWaited)
    } else {
        None
    };
    match (trigger, ceiling) {
        (Some(_), Some(frees_at)) => hold(changes, frees_at),
        (Some(reason), None) => BatchDecision::TriggerBatch { changes, reason },
        (None, _) => BatchDecision::AddToBatch {
            changes,
            due_at: ceiling.map_or(due_at, |frees_at| frees_at.max(due_at)),
            reason: match ceiling {
                Some(frees_at) if frees_at > due_at => WaitReason::HourlyCeiling,
                _ if total >= BULK_EVENT_THRESHOLD => WaitReason::Bulk,
                _ => WaitReason::Standard,
            },
        },
    }
}

/// What a batch's schedule firing causes: build now when the batch is full or has waited its
/// window and the ceiling allows; otherwise the time to look again.
pub fn decide_due(
    batch: &ActiveBatch,
    recent_builds: &[DateTime<Utc>],
    now: DateTime<Utc>,
) -> Result<TriggerReason, DateTime<Utc>> {
    let due_at = ActiveBatch::due_at(batch.opened_at, batch.event_count);
    let reason = if batch.event_count >= MAX_BATCH_SIZE {
        TriggerReason::Full
    } else if now >= due_at {
        TriggerReason::WindowWaited
    } else {
        return Err(due_at);
    };
    match ceiling_frees_at(recent_builds, now) {
        Some(frees_at) => Err(frees_at),
        None => Ok(reason),
    }
}
