//! The batch decision at every boundary of the seed's strategies, plus coalescing, the digest
//! skip and the hourly ceiling.

mod support;

use build_trigger::{
    ActiveBatch, BatchDecision, ChangeSummary, ClientState, MAX_AFFECTED_IDS, MAX_BUILDS_PER_HOUR,
    SkipReason, TriggerReason, WaitReason, decide, decide_due,
};
use chrono::TimeDelta;
use support::events::{articles, at_ms, event, t0};
use unified_content::{ContentType, EventType};

/// A decision reduced to what the tables compare: its kind, the wait or trigger reason, the
/// due time in ms after t0, and the number of changes.
#[derive(Debug, PartialEq)]
enum Seen {
    Skip(SkipReason),
    Now(usize),
    Wait(WaitReason, i64, usize),
    Trigger(TriggerReason, usize),
}

fn seen(decision: BatchDecision) -> Seen {
    match decision {
        BatchDecision::Skip { reason } => Seen::Skip(reason),
        BatchDecision::BuildNow { changes } => Seen::Now(changes.len()),
        BatchDecision::AddToBatch {
            changes,
            due_at,
            reason,
        } => Seen::Wait(reason, (due_at - t0()).num_milliseconds(), changes.len()),
        BatchDecision::TriggerBatch { changes, reason } => Seen::Trigger(reason, changes.len()),
        other => panic!("a decision these tests do not know: {other:?}"),
    }
}

fn active(event_count: u32, opened_ms: i64) -> ClientState {
    ClientState {
        active: Some(ActiveBatch {
            batch_id: "b-1".into(),
            opened_at: at_ms(opened_ms),
            event_count,
        }),
        ..ClientState::default()
    }
}

#[test]
fn no_batch_active_event_counts() {
    // (events, expected): the immediate rule ends at 3, bulk starts at 10, a batch of 50 or
    // more opens and builds at once.
    let table = [
        (1, Seen::Now(1)),
        (3, Seen::Now(3)),
        (4, Seen::Wait(WaitReason::Standard, 30_000, 4)),
        (9, Seen::Wait(WaitReason::Standard, 30_000, 9)),
        (10, Seen::Wait(WaitReason::Bulk, 60_000, 10)),
        (49, Seen::Wait(WaitReason::Bulk, 60_000, 49)),
        (50, Seen::Trigger(TriggerReason::Full, 50)),
    ];
    for (n, expected) in table {
        let events = articles("c", n, t0());
        assert_eq!(
            seen(decide(&events, &ClientState::default(), t0())),
            expected,
            "{n} events"
        );
    }
}

#[test]
fn product_create_or_update_builds_at_once_with_no_batch_active() {
    let mut events = articles("c", 8, t0());
    for (event_type, expected) in [
        (EventType::ContentCreated, Seen::Now(9)),
        (EventType::ContentUpdated, Seen::Now(9)),
        // A product deletion or stock change is not the seed's product rule.
        (
            EventType::ContentDeleted,
            Seen::Wait(WaitReason::Standard, 30_000, 9),
        ),
        (
            EventType::InventoryUpdated,
            Seen::Wait(WaitReason::Standard, 30_000, 9),
        ),
    ] {
        events.truncate(8);
        events.push(event(
            "c",
            ContentType::Product,
            event_type,
            "p-1",
            "Mug",
            t0(),
        ));
        assert_eq!(
            seen(decide(&events, &ClientState::default(), t0())),
            expected,
            "{event_type:?}"
        );
    }
    // With a batch active, the product joins it.
    let product = [event(
        "c",
        ContentType::Product,
        EventType::ContentUpdated,
        "p-1",
        "Mug",
        t0(),
    )];
    assert_eq!(
        seen(decide(&product, &active(2, 0), at_ms(1_000))),
        Seen::Wait(WaitReason::Standard, 30_000, 1)
    );
}

#[test]
fn active_batch_size_and_window_edges() {
    // (events already in the batch, new events, now in ms after the batch opened, expected)
    let table = [
        (48, 1, 1_000, Seen::Wait(WaitReason::Bulk, 60_000, 1)),
        (48, 2, 1_000, Seen::Trigger(TriggerReason::Full, 2)),
        (49, 1, 1_000, Seen::Trigger(TriggerReason::Full, 1)),
        // A standard batch (fewer than 10 events) waits 30 s; 9 events is still standard.
        (4, 1, 29_999, Seen::Wait(WaitReason::Standard, 30_000, 1)),
        (4, 1, 30_000, Seen::Trigger(TriggerReason::WindowWaited, 1)),
        (8, 1, 29_999, Seen::Wait(WaitReason::Standard, 30_000, 1)),
        // The tenth event makes it a bulk batch, whose window is 60 s.
        (9, 1, 30_000, Seen::Wait(WaitReason::Bulk, 60_000, 1)),
        (9, 1, 59_999, Seen::Wait(WaitReason::Bulk, 60_000, 1)),
        (9, 1, 60_000, Seen::Trigger(TriggerReason::WindowWaited, 1)),
    ];
    for (held, new, now_ms, expected) in table {
        let events = articles("c", new, t0());
        assert_eq!(
            seen(decide(&events, &active(held, 0), at_ms(now_ms))),
            expected,
            "{held} held + {new} new at {now_ms} ms"
        );
    }
}

#[test]
fn scheduled_firing_edges() {
    let batch = |event_count| ActiveBatch {
        batch_id: "b".into(),
        opened_at: t0(),
        event_count,
    };
    let table = [
        (4, 29_999, Err(30_000)),
        (4, 30_000, Ok(TriggerReason::WindowWaited)),
        (10, 30_000, Err(60_000)),
        (10, 60_000, Ok(TriggerReason::WindowWaited)),
        (50, 0, Ok(TriggerReason::Full)),
    ];
    for (count, now_ms, expected) in table {
        let got = decide_due(&batch(count), &[], at_ms(now_ms))
            .map_err(|due| (due - t0()).num_milliseconds());
        assert_eq!(got, expected, "{count} events at {now_ms} ms");
    }
}

#[test]
fn ten_updates_of_one_product_are_one_change() {
    let events: Vec<_> = (0..10)
        .map(|i| {
            let title = format!("Mug v{i}");
            event(
                "c",
                ContentType::Product,
                EventType::ContentUpdated,
                "p-1",
                &title,
                at_ms(i),
            )
        })
        .collect();
    let BatchDecision::BuildNow { changes } = decide(&events, &ClientState::default(), t0()) else {
        panic!("a product update with no batch active builds now");
    };
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].event_count, 10);
    let last = Some(events[9].content_data.clone().unwrap());
    assert_eq!(
        changes[0].digest,
        unified_content::content_digest(last.as_ref().unwrap())
    );
    let summary = ChangeSummary::of(&changes);
    assert_eq!((summary.total_events, summary.total_changes), (10, 1));
    assert_eq!(summary.affected_ids, ["p-1"]);
}

#[test]
fn a_late_older_delivery_does_not_replace_the_newer_change() {
    let newer = event(
        "c",
        ContentType::Article,
        EventType::ContentUpdated,
        "a",
        "New",
        at_ms(5),
    );
    let older = event(
        "c",
        ContentType::Article,
        EventType::ContentDeleted,
        "a",
        "Old",
        at_ms(1),
    );
    let BatchDecision::BuildNow { changes } =
        decide(&[newer.clone(), older], &ClientState::default(), t0())
    else {
        panic!("one change builds now");
    };
    assert_eq!(changes[0].event_type, EventType::ContentUpdated);
    assert_eq!(
        changes[0].digest,
        unified_content::content_digest(newer.content_data.as_ref().unwrap())
    );
}

#[test]
fn unchanged_digests_and_drafts_build_nothing() {
    let events = articles("c", 5, t0());
    let mut state = ClientState::default();
    for e in &events {
        let change = build_trigger::Change::from_event(e);
        state.built_digests.insert(change.entity(), change.digest);
    }
    assert_eq!(
        seen(decide(&events, &state, t0())),
        Seen::Skip(SkipReason::Unchanged)
    );

    // One of the five changed: only it counts, and one event builds now.
    let mut changed = events.clone();
    changed[2] = event(
        "c",
        ContentType::Article,
        EventType::ContentUpdated,
        "article-2",
        "Edited",
        t0(),
    );
    assert_eq!(seen(decide(&changed, &state, t0())), Seen::Now(1));

    let mut drafts = articles("c", 2, t0());
    drafts.iter_mut().for_each(|e| e.requires_build = false);
    assert_eq!(
        seen(decide(&drafts, &ClientState::default(), t0())),
        Seen::Skip(SkipReason::NoBuildRequired)
    );
    assert_eq!(
        seen(decide(&[], &ClientState::default(), t0())),
        Seen::Skip(SkipReason::NoBuildRequired)
    );
}

#[test]
fn hourly_ceiling_holds_builds_until_a_slot_frees() {
    let builds = |n: usize| -> Vec<_> {
        // Builds every 4 minutes, the oldest 59 minutes ago.
        (0..n)
            .map(|i| t0() - TimeDelta::minutes(59) + TimeDelta::minutes(4 * i as i64))
            .collect()
    };
    let one = articles("c", 1, t0());
    let at_ceiling = ClientState {
        recent_builds: builds(MAX_BUILDS_PER_HOUR),
        ..ClientState::default()
    };
    // The oldest build leaves the hour one minute from now.
    assert_eq!(
        seen(decide(&one, &at_ceiling, t0())),
        Seen::Wait(WaitReason::HourlyCeiling, 60_000, 1)
    );
    let below = ClientState {
        recent_builds: builds(MAX_BUILDS_PER_HOUR - 1),
        ..ClientState::default()
    };
    assert_eq!(seen(decide(&one, &below, t0())), Seen::Now(1));
    // A full batch is held too, and so is a scheduled firing.
    let mut full = active(49, -10_000);
    full.recent_builds = builds(MAX_BUILDS_PER_HOUR);
    assert_eq!(
        seen(decide(&one, &full, t0())),
        Seen::Wait(WaitReason::HourlyCeiling, 60_000, 1)
    );
    let mut batch = full.active.unwrap();
    batch.event_count = 50;
    assert_eq!(
        decide_due(&batch, &full.recent_builds, t0()).map_err(|d| (d - t0()).num_milliseconds()),
        Err(60_000)
    );
    // Builds older than an hour do not count.
    let old = ClientState {
        recent_builds: vec![t0() - TimeDelta::hours(2); 40],
        ..ClientState::default()
    };
    assert_eq!(seen(decide(&one, &old, t0())), Seen::Now(1));
}

#[test]
fn a_recent_build_sends_the_next_events_to_a_batch() {
    let product = [event(
        "c",
        ContentType::Product,
        EventType::ContentUpdated,
        "p",
        "Mug",
        t0(),
    )];
    let state = |ago_ms: i64| ClientState {
        recent_builds: vec![at_ms(-ago_ms)],
        ..ClientState::default()
    };
    assert_eq!(
        seen(decide(&product, &state(29_999), t0())),
        Seen::Wait(WaitReason::Standard, 30_000, 1)
    );
    assert_eq!(seen(decide(&product, &state(30_000), t0())), Seen::Now(1));
}

#[test]
fn summary_caps_affected_ids_and_flags_collections() {
    let mut events = articles("c", MAX_AFFECTED_IDS + 7, t0());
    let changes: Vec<_> = events
        .iter()
        .map(build_trigger::Change::from_event)
        .collect();
    let summary = ChangeSummary::of(&changes);
    assert_eq!(summary.affected_ids.len(), MAX_AFFECTED_IDS);
    assert_eq!(summary.more_affected_ids, 7);
    assert_eq!(
        summary.content_types["article"],
        MAX_AFFECTED_IDS as u32 + 7
    );
    assert!(!summary.requires_full_rebuild);

    events.push(event(
        "c",
        ContentType::Collection,
        EventType::CollectionUpdated,
        "col",
        "Sale",
        t0(),
    ));
    let changes: Vec<_> = events
        .iter()
        .map(build_trigger::Change::from_event)
        .collect();
    let summary = ChangeSummary::of(&changes);
    assert!(summary.requires_full_rebuild);
    assert_eq!(summary.providers["shopify"], 1);
    assert_eq!(summary.event_types["collection.updated"], 1);
    let json: serde_json::Value = serde_json::from_str(&summary.to_json()).unwrap();
    assert_eq!(json["requires_full_rebuild"], true);
}
