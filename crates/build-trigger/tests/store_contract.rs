//! One contract for both batch stores: SQLite, and DynamoDB against moto's server.

mod support;

use std::sync::Arc;

use build_trigger::{BatchStatus, BatchStore, BuildType, Change, Finish, StoreError};
use support::events::{articles, at_ms, t0};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_store_keeps_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    let store = build_trigger::SqliteBatchStore::open(&dir.path().join("batches.db")).unwrap();
    contract(Arc::new(store)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamo_store_keeps_the_contract() {
    let store = support::moto::batch_store("contract").await;
    contract(Arc::new(store)).await;
}

fn ids(events: &[unified_content::ContentEvent]) -> Vec<String> {
    events.iter().map(|e| e.event_id.clone()).collect()
}

fn changes(events: &[unified_content::ContentEvent]) -> Vec<Change> {
    events.iter().map(Change::from_event).collect()
}

async fn contract(store: Arc<dyn BatchStore>) {
    let client = "client-a";
    let first = articles(client, 3, t0());

    // Opening: one active batch per client.
    let snapshot = store.snapshot(client, &[], t0()).await.unwrap();
    assert_eq!(snapshot.state.active, None);
    let opened = store
        .add_to_active(client, None, &ids(&first), changes(&first), t0())
        .await
        .unwrap();
    assert_eq!(
        (opened.status, opened.event_count),
        (BatchStatus::Active, 3)
    );
    let again = articles("client-a", 1, at_ms(1));
    let mut again_ids = ids(&again);
    again_ids[0].push_str("-other");
    let second_open = store
        .add_to_active(client, None, &again_ids, changes(&again), at_ms(1))
        .await;
    assert!(
        matches!(second_open, Err(StoreError::Conflict { .. })),
        "{second_open:?}"
    );

    // Adding at the right version; a stale version is a conflict.
    let snapshot = store.snapshot(client, &[], at_ms(2)).await.unwrap();
    let active = snapshot.state.active.clone().unwrap();
    assert_eq!(
        (active.batch_id.as_str(), active.event_count),
        (opened.batch_id.as_str(), 3)
    );
    let more = articles(client, 5, at_ms(2)); // article-0..4: three of them coalesce
    let more_ids: Vec<String> = more.iter().map(|e| format!("{}-b", e.event_id)).collect();
    let grown = store
        .add_to_active(
            client,
            snapshot.active_version,
            &more_ids,
            changes(&more),
            at_ms(2),
        )
        .await
        .unwrap();
    assert_eq!((grown.event_count, grown.changes.len()), (8, 5));
    let stale = store
        .add_to_active(
            client,
            snapshot.active_version,
            &["evt-late".into()],
            vec![],
            at_ms(3),
        )
        .await;
    assert!(
        matches!(stale, Err(StoreError::Conflict { .. })),
        "{stale:?}"
    );

    // An event is never in two batches: a held id is refused and changes nothing.
    let snapshot = store.snapshot(client, &[], at_ms(3)).await.unwrap();
    let duplicate = store
        .add_to_active(
            client,
            snapshot.active_version,
            &ids(&first)[..1],
            changes(&first[..1]),
            at_ms(3),
        )
        .await;
    assert!(
        matches!(duplicate, Err(StoreError::Conflict { .. })),
        "{duplicate:?}"
    );
    assert_eq!(
        store
            .batch(&opened.batch_id)
            .await
            .unwrap()
            .unwrap()
            .event_count,
        8
    );
    let mut asked = ids(&first);
    asked.push("evt-new".into());
    assert_eq!(store.unseen(&asked).await.unwrap(), ["evt-new"]);

    // Twenty claims at once: exactly one wins.
    let claims: Vec<_> = (0..20)
        .map(|_| {
            let store = store.clone();
            let id = opened.batch_id.clone();
            tokio::spawn(async move { store.claim(&id, at_ms(4)).await.unwrap() })
        })
        .collect();
    let mut winners = Vec::new();
    for claim in claims {
        winners.extend(claim.await.unwrap());
    }
    assert_eq!(winners.len(), 1, "exactly one claim wins");
    let claimed = winners.pop().unwrap();
    assert_eq!(
        (claimed.status, claimed.started_at),
        (BatchStatus::Building, Some(at_ms(4)))
    );
    assert_eq!(
        store
            .snapshot(client, &[], at_ms(5))
            .await
            .unwrap()
            .state
            .active,
        None
    );

    // Done records the digests; failed does not; neither moves twice.
    store
        .finish(
            &claimed,
            &Finish::Started {
                build_id: "proj:1".into(),
            },
        )
        .await
        .unwrap();
    let twice = store
        .finish(
            &claimed,
            &Finish::Failed {
                reason: "late".into(),
            },
        )
        .await;
    assert!(
        matches!(twice, Err(StoreError::Conflict { .. })),
        "{twice:?}"
    );
    let done = store.batch(&claimed.batch_id).await.unwrap().unwrap();
    assert_eq!(
        (done.status, done.build_id.as_deref()),
        (BatchStatus::Done, Some("proj:1"))
    );
    let entities: Vec<String> = claimed.changes.iter().map(Change::entity).collect();
    let snapshot = store.snapshot(client, &entities, at_ms(6)).await.unwrap();
    assert_eq!(snapshot.state.built_digests.len(), 5);
    for change in &claimed.changes {
        assert_eq!(
            snapshot.state.built_digests[&change.entity()],
            change.digest
        );
    }
    assert_eq!(snapshot.state.recent_builds, [at_ms(4)]);

    let immediate = articles(client, 1, at_ms(7));
    let mut immediate_ids = ids(&immediate);
    immediate_ids[0].push_str("-c");
    let building = store
        .open_building(
            client,
            BuildType::Immediate,
            &immediate_ids,
            changes(&immediate),
            at_ms(7),
        )
        .await
        .unwrap();
    assert_eq!(
        (building.status, building.build_type),
        (BatchStatus::Building, BuildType::Immediate)
    );
    store
        .finish(
            &building,
            &Finish::Failed {
                reason: "StartBuild refused".into(),
            },
        )
        .await
        .unwrap();
    let snapshot = store.snapshot(client, &entities, at_ms(8)).await.unwrap();
    assert_eq!(
        snapshot.state.recent_builds,
        [at_ms(4)],
        "a failed start is not a build"
    );
    let held_twice = store
        .open_building(
            client,
            BuildType::Immediate,
            &immediate_ids,
            vec![],
            at_ms(8),
        )
        .await;
    assert!(
        matches!(held_twice, Err(StoreError::Conflict { .. })),
        "{held_twice:?}"
    );

    // Other clients are their own world; one fallback slot per client and window.
    assert_eq!(
        store
            .snapshot("client-b", &entities, at_ms(8))
            .await
            .unwrap(),
        Default::default()
    );
    assert!(store.take_fallback_slot(client, t0()).await.unwrap());
    assert!(!store.take_fallback_slot(client, t0()).await.unwrap());
    assert!(store.take_fallback_slot("client-b", t0()).await.unwrap());

    // Twenty writers racing on one active batch, each retrying on conflict: every event lands
    // in exactly one batch, and the counts add up.
    let racers: Vec<_> = (0..20)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                let event = &articles("client-race", 1, at_ms(10))[0];
                let id = format!("race-{i}");
                let mut change = Change::from_event(event);
                change.content_id = format!("item-{i}");
                loop {
                    let snapshot = store.snapshot("client-race", &[], at_ms(10)).await.unwrap();
                    match store
                        .add_to_active(
                            "client-race",
                            snapshot.active_version,
                            std::slice::from_ref(&id),
                            vec![change.clone()],
                            at_ms(10),
                        )
                        .await
                    {
                        Ok(batch) => return batch.batch_id,
                        Err(StoreError::Conflict { .. }) => continue,
                        Err(e) => panic!("{e}"),
                    }
                }
            })
        })
        .collect();
    let mut batch_ids = Vec::new();
    for racer in racers {
        batch_ids.push(racer.await.unwrap());
    }
    batch_ids.dedup();
    assert_eq!(batch_ids.len(), 1, "one active batch took every event");
    let raced = store.batch(&batch_ids[0]).await.unwrap().unwrap();
    assert_eq!((raced.event_count, raced.changes.len()), (20, 20));
}
