//! The store contract: one body per rule, run against SQLite and against DynamoDB on moto's
//! server (official aws-sdk-rust client), so that both backends keep the same rules.

mod common;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use integration_api::store::dynamo::MAX_ITEM_BYTES;
use integration_api::store::{ContentStore, Delivery, Outcome, WriteKind};
use integration_api::{DynamoStore, SqliteStore, StoreError};
use providers::{Change, InventoryUpdate, StockChange, StockTarget};
use serde_json::{Value, json};
use unified_content::api::ContentQuery;
use unified_content::{ContentStatus, ContentType, UnifiedContent};

type Store = Arc<dyn ContentStore>;

fn sqlite() -> Store {
    Arc::new(SqliteStore::in_memory().unwrap())
}

async fn dynamo_store() -> DynamoStore {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    // The table exactly as the template deploys it.
    common::aws::dynamo_store(&format!("contract-{}-{n}", std::process::id()), "client-a").await
}

async fn dynamo() -> Store {
    Arc::new(dynamo_store().await)
}

/// Runs each named case against both backends.
macro_rules! contract {
    ($($case:ident),* $(,)?) => {
        mod on_sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() { super::$case(super::sqlite()).await })*
        }
        mod on_dynamodb {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() { super::$case(super::dynamo().await).await })*
        }
    };
}

contract!(
    newer_wins_and_older_is_stale,
    equal_digest_changes_nothing,
    repeated_delivery_changes_nothing_ten_times,
    out_of_order_versions_end_at_the_newest,
    deletion_becomes_a_tombstone,
    delete_before_an_older_create_keeps_it_dead,
    stock_resolves_by_item_variant_sku_and_stock_record,
    concurrent_deliveries_lose_no_update,
    concurrent_stock_decrements_all_count,
    pages_walk_every_item_once_and_cursors_are_checked,
    synced_since_and_filters_select_the_same_items,
    a_delivery_larger_than_one_transaction_applies_whole,
);

fn at(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

fn second(n: u32) -> String {
    format!("2026-11-01T00:{:02}:{:02}Z", n / 60, n % 60)
}

fn item(value: Value) -> UnifiedContent {
    serde_json::from_value(value).unwrap()
}

fn version(id: &str, v: u32) -> UnifiedContent {
    item(common::product(id, &format!("{id} v{v}"), &second(v)))
}

fn shirt(id: &str, v: u32, stock: i64) -> UnifiedContent {
    let mut value = common::product(id, &format!("{id} shirt"), &second(v));
    value["variants"] = json!([
        {"id": format!("{id}-v1"), "title": "S", "sku": format!("{id}-SKU-S"),
         "price": {"amount": "19.90", "currency_code": "EUR"},
         "inventory": {"quantity": stock, "track_quantity": true}},
        {"id": format!("{id}-v2"), "title": "M", "sku": format!("{id}-SKU-M"),
         "price": {"amount": "19.90", "currency_code": "EUR"},
         "inventory": {"quantity": stock, "track_quantity": true}}
    ]);
    value["provider_data"] =
        json!({"inventory_item_ids": {format!("{id}-rec-2"): format!("{id}-v2")}});
    item(value)
}

fn delivery(id: Option<&str>, changes: Vec<Change>) -> Delivery {
    Delivery {
        provider: "test".into(),
        delivery_id: id.map(str::to_string),
        received_at: Utc::now(),
        changes,
        events: None,
    }
}

async fn put(store: &Store, item: UnifiedContent) -> Vec<Outcome> {
    store
        .apply(delivery(None, vec![Change::Upsert(item)]))
        .await
        .unwrap()
        .outcomes
}

fn kinds(outcomes: &[Outcome]) -> Vec<String> {
    outcomes
        .iter()
        .map(|o| match o {
            Outcome::Written(w) => format!("{:?}", w.kind),
            Outcome::Unchanged { .. } => "Unchanged".into(),
            Outcome::Stale { .. } => "Stale".into(),
            Outcome::Unmatched { .. } => "Unmatched".into(),
        })
        .collect()
}

fn stock(target: StockTarget, change: StockChange, v: u32) -> Change {
    Change::Inventory(InventoryUpdate {
        provider_name: "test".into(),
        target,
        stock: change,
        updated_at: at(&second(v)),
    })
}

fn quantities(item: &UnifiedContent) -> (i64, Vec<i64>) {
    (
        item.inventory.as_ref().map_or(-1, |i| i.quantity),
        item.variants
            .iter()
            .map(|v| v.inventory.as_ref().map_or(-1, |i| i.quantity))
            .collect(),
    )
}

async fn newer_wins_and_older_is_stale(store: Store) {
    assert_eq!(kinds(&put(&store, version("a", 5)).await), ["Created"]);
    assert_eq!(kinds(&put(&store, version("a", 7)).await), ["Updated"]);
    assert_eq!(kinds(&put(&store, version("a", 6)).await), ["Stale"]);
    assert_eq!(store.get("a").await.unwrap().unwrap().title, "a v7");
}

async fn equal_digest_changes_nothing(store: Store) {
    put(&store, version("a", 5)).await;
    let before = store.get("a").await.unwrap().unwrap();
    assert_eq!(kinds(&put(&store, version("a", 5)).await), ["Unchanged"]);
    assert_eq!(
        store.get("a").await.unwrap().unwrap().synced_at,
        before.synced_at
    );
}

async fn repeated_delivery_changes_nothing_ten_times(store: Store) {
    let first = store
        .apply(delivery(Some("d-1"), vec![Change::Upsert(version("a", 1))]))
        .await
        .unwrap();
    assert!(!first.duplicate);
    assert!(store.has_delivery("test", "d-1").await.unwrap());
    for _ in 0..10 {
        // Same id, other content: still nothing changes.
        let again = store
            .apply(delivery(Some("d-1"), vec![Change::Upsert(version("a", 9))]))
            .await
            .unwrap();
        assert!(again.duplicate);
        assert!(again.outcomes.is_empty());
    }
    assert_eq!(store.get("a").await.unwrap().unwrap().title, "a v1");
    assert!(!store.has_delivery("other", "d-1").await.unwrap());
}

async fn out_of_order_versions_end_at_the_newest(store: Store) {
    for v in [3, 9, 1, 7, 9, 2, 8] {
        put(&store, version("a", v)).await;
    }
    assert_eq!(store.get("a").await.unwrap().unwrap().title, "a v9");
}

async fn deletion_becomes_a_tombstone(store: Store) {
    put(&store, version("a", 5)).await;
    let tombstone = |v: u32| Change::Tombstone {
        id: "a".into(),
        content_type: Some(ContentType::Product),
        provider_name: "test".into(),
        deleted_at: at(&second(v)),
    };
    let report = store
        .apply(delivery(None, vec![tombstone(4)]))
        .await
        .unwrap();
    assert_eq!(
        kinds(&report.outcomes),
        ["Stale"],
        "a deletion older than the item"
    );
    let report = store
        .apply(delivery(None, vec![tombstone(6)]))
        .await
        .unwrap();
    assert_eq!(kinds(&report.outcomes), ["Deleted"]);
    let stored = store.get("a").await.unwrap().unwrap();
    assert_eq!(stored.status, ContentStatus::Deleted);
    let report = store
        .apply(delivery(None, vec![tombstone(7)]))
        .await
        .unwrap();
    assert_eq!(kinds(&report.outcomes), ["Unchanged"]);
    // Listed only when deleted items are asked for.
    let live = store.list(&ContentQuery::default()).await.unwrap();
    assert!(live.items.is_empty());
    let all = store
        .list(&ContentQuery {
            include_deleted: true,
            ..ContentQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(all.items.len(), 1);
    // A newer upsert brings it back.
    assert_eq!(kinds(&put(&store, version("a", 8)).await), ["Created"]);
}

async fn delete_before_an_older_create_keeps_it_dead(store: Store) {
    let report = store
        .apply(delivery(
            None,
            vec![Change::Tombstone {
                id: "ghost".into(),
                content_type: None,
                provider_name: "test".into(),
                deleted_at: at(&second(10)),
            }],
        ))
        .await
        .unwrap();
    assert_eq!(kinds(&report.outcomes), ["Unmatched"]);
    assert!(store.get("ghost").await.unwrap().is_none());
    assert_eq!(kinds(&put(&store, version("ghost", 5)).await), ["Stale"]);
    assert!(store.get("ghost").await.unwrap().is_none());
    assert_eq!(kinds(&put(&store, version("ghost", 11)).await), ["Created"]);
    assert_eq!(
        store.get("ghost").await.unwrap().unwrap().title,
        "ghost v11"
    );
}

async fn stock_resolves_by_item_variant_sku_and_stock_record(store: Store) {
    put(&store, shirt("p", 1, 10)).await;
    let changes = vec![
        stock(StockTarget::Variant("p-v1".into()), StockChange::Set(4), 2),
        stock(
            StockTarget::Sku("p-SKU-M".into()),
            StockChange::Adjust(-3),
            2,
        ),
        stock(
            StockTarget::InventoryItem("p-rec-2".into()),
            StockChange::Adjust(-1),
            2,
        ),
        stock(
            StockTarget::Sku("nobody".into()),
            StockChange::Adjust(-1),
            2,
        ),
    ];
    let report = store.apply(delivery(None, changes)).await.unwrap();
    assert_eq!(
        kinds(&report.outcomes),
        ["Inventory", "Inventory", "Inventory", "Unmatched"]
    );
    let stored = store.get("p").await.unwrap().unwrap();
    assert_eq!(quantities(&stored), (10, vec![4, 6]));
    // A level older than the item is stale; a whole-item level applies.
    let report = store
        .apply(delivery(
            None,
            vec![stock(
                StockTarget::Variant("p-v1".into()),
                StockChange::Set(0),
                0,
            )],
        ))
        .await
        .unwrap();
    assert_eq!(kinds(&report.outcomes), ["Stale"]);
    put(&store, version("plain", 1)).await;
    store
        .apply(delivery(
            None,
            vec![stock(
                StockTarget::Item("plain".into()),
                StockChange::Set(3),
                2,
            )],
        ))
        .await
        .unwrap();
    assert_eq!(quantities(&store.get("plain").await.unwrap().unwrap()).0, 3);
    // A product and stock change in one delivery: the change sees the new variants.
    let report = store
        .apply(delivery(
            None,
            vec![
                Change::Upsert(shirt("q", 1, 5)),
                stock(
                    StockTarget::Sku("q-SKU-S".into()),
                    StockChange::Adjust(-2),
                    1,
                ),
            ],
        ))
        .await
        .unwrap();
    assert_eq!(kinds(&report.outcomes), ["Created", "Inventory"]);
    assert_eq!(
        quantities(&store.get("q").await.unwrap().unwrap()),
        (8, vec![3, 5])
    );
}

async fn concurrent_deliveries_lose_no_update(store: Store) {
    // 200 deliveries over 50 items, 4 versions each, in a shuffled order, all at once.
    let mut jobs: Vec<(u32, u32)> = (0..50).flat_map(|i| (1..=4).map(move |v| (i, v))).collect();
    fastrand::seed(7);
    fastrand::shuffle(&mut jobs);
    let tasks: Vec<_> = jobs
        .into_iter()
        .map(|(i, v)| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                let id = format!("item-{i:02}");
                store
                    .apply(delivery(
                        Some(&format!("{id}-{v}")),
                        vec![Change::Upsert(version(&id, v))],
                    ))
                    .await
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().expect("no delivery fails");
    }
    for i in 0..50 {
        let id = format!("item-{i:02}");
        assert_eq!(
            store.get(&id).await.unwrap().unwrap().title,
            format!("{id} v4"),
            "lost update of {id}"
        );
    }
}

async fn concurrent_stock_decrements_all_count(store: Store) {
    put(&store, shirt("hot", 1, 100)).await;
    let tasks: Vec<_> = (0..40)
        .map(|n| {
            let store = Arc::clone(&store);
            let target = if n % 2 == 0 {
                StockTarget::Sku("hot-SKU-S".into())
            } else {
                StockTarget::Variant("hot-v1".into())
            };
            tokio::spawn(async move {
                store
                    .apply(delivery(
                        Some(&format!("order-{n}")),
                        vec![stock(target, StockChange::Adjust(-1), 1)],
                    ))
                    .await
            })
        })
        .collect();
    for task in tasks {
        let report = task.await.unwrap().expect("no order fails");
        assert_eq!(kinds(&report.outcomes), ["Inventory"]);
    }
    assert_eq!(
        quantities(&store.get("hot").await.unwrap().unwrap()),
        (160, vec![60, 100])
    );
}

async fn pages_walk_every_item_once_and_cursors_are_checked(store: Store) {
    let items: Vec<Change> = (0..30)
        .map(|i| Change::Upsert(version(&format!("i{i:02}"), 1)))
        .collect();
    store.apply(delivery(None, items)).await.unwrap();
    let mut seen = Vec::new();
    let mut query = ContentQuery {
        limit: Some(7),
        ..ContentQuery::default()
    };
    let mut pages = 0;
    loop {
        let page = store.list(&query).await.unwrap();
        assert!(page.items.len() <= 7);
        assert_eq!(page.count, page.items.len());
        seen.extend(page.items.into_iter().map(|i| i.id));
        pages += 1;
        assert!(pages < 20, "cursor loop");
        match page.next_cursor {
            Some(c) => query.cursor = Some(c),
            None => break,
        }
    }
    seen.sort();
    let expected: Vec<String> = (0..30).map(|i| format!("i{i:02}")).collect();
    assert_eq!(seen, expected);

    // A cursor edited by hand, or carried to another query, is refused.
    let page = store
        .list(&ContentQuery {
            limit: Some(2),
            ..ContentQuery::default()
        })
        .await
        .unwrap();
    let cursor = page.next_cursor.unwrap();
    let mut edited = cursor.clone();
    let last = edited.pop().unwrap();
    edited.push(if last == 'A' { 'B' } else { 'A' });
    for bad in [edited, "garbage".to_string(), format!("{cursor}x")] {
        let error = store
            .list(&ContentQuery {
                cursor: Some(bad.clone()),
                ..ContentQuery::default()
            })
            .await
            .unwrap_err();
        assert!(
            matches!(error, StoreError::BadCursor { ref cursor } if *cursor == bad),
            "{error}"
        );
    }
    let other = ContentQuery {
        cursor: Some(cursor),
        content_type: Some(ContentType::Page),
        ..ContentQuery::default()
    };
    assert!(matches!(
        store.list(&other).await,
        Err(StoreError::BadCursor { .. }) | Ok(_)
    ));
}

async fn synced_since_and_filters_select_the_same_items(store: Store) {
    let early = Utc::now();
    store
        .apply(delivery(None, vec![Change::Upsert(version("old", 1))]))
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let since = Utc::now();
    let mut page = item(common::product("new-page", "A page", &second(1)));
    page.content_type = ContentType::Page;
    store
        .apply(delivery(
            None,
            vec![Change::Upsert(version("new", 1)), Change::Upsert(page)],
        ))
        .await
        .unwrap();
    let ids = |page: unified_content::api::ContentPage| {
        let mut ids: Vec<String> = page.items.into_iter().map(|i| i.id).collect();
        ids.sort();
        ids
    };
    let recent = store
        .list(&ContentQuery {
            synced_since: Some(since),
            ..ContentQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(ids(recent), ["new", "new-page"]);
    let all = store
        .list(&ContentQuery {
            synced_since: Some(early),
            ..ContentQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(ids(all), ["new", "new-page", "old"]);
    let products = store
        .list(&ContentQuery {
            synced_since: Some(since),
            content_type: Some(ContentType::Product),
            ..ContentQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(ids(products), ["new"]);
    let pages = store
        .list(&ContentQuery {
            content_type: Some(ContentType::Page),
            ..ContentQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(ids(pages), ["new-page"]);
    let none = store
        .list(&ContentQuery {
            provider: Some("elsewhere".into()),
            ..ContentQuery::default()
        })
        .await
        .unwrap();
    assert!(none.items.is_empty());
    let drafts = store
        .list(&ContentQuery {
            statuses: vec![ContentStatus::Draft],
            ..ContentQuery::default()
        })
        .await
        .unwrap();
    assert!(drafts.items.is_empty());
}

async fn a_delivery_larger_than_one_transaction_applies_whole(store: Store) {
    // 250 items: more than DynamoDB's 100 writes per transaction, so it is split.
    let changes: Vec<Change> = (0..250)
        .map(|i| Change::Upsert(version(&format!("bulk-{i:03}"), 1)))
        .collect();
    let report = store
        .apply(delivery(Some("bulk"), changes.clone()))
        .await
        .unwrap();
    assert_eq!(report.outcomes.len(), 250);
    assert!(
        report
            .outcomes
            .iter()
            .all(|o| matches!(o, Outcome::Written(w) if w.kind == WriteKind::Created))
    );
    assert!(store.has_delivery("test", "bulk").await.unwrap());
    assert!(
        store
            .apply(delivery(Some("bulk"), changes))
            .await
            .unwrap()
            .duplicate
    );
    for i in [0, 99, 100, 249] {
        assert!(store.get(&format!("bulk-{i:03}")).await.unwrap().is_some());
    }
}

#[tokio::test]
async fn dynamodb_refuses_an_item_over_400_kb_by_name() {
    let store = dynamo_store().await;
    let mut big = version("huge", 1);
    big.description = Some("x".repeat(MAX_ITEM_BYTES));
    let error = store
        .apply(delivery(None, vec![Change::Upsert(big)]))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, StoreError::TooLarge { id, .. } if id == "huge"),
        "{error}"
    );
    assert!(error.to_string().contains("'huge'"), "{error}");
    assert!(
        store.get("huge").await.unwrap().is_none(),
        "nothing was written"
    );
}

#[tokio::test]
async fn cursors_of_one_backend_are_refused_by_the_other() {
    let sqlite = sqlite();
    let dynamo = dynamo().await;
    for store in [&sqlite, &dynamo] {
        let changes = (0..3)
            .map(|i| Change::Upsert(version(&format!("c{i}"), 1)))
            .collect();
        store.apply(delivery(None, changes)).await.unwrap();
    }
    let first = ContentQuery {
        limit: Some(1),
        ..ContentQuery::default()
    };
    let from_sqlite = sqlite.list(&first).await.unwrap().next_cursor.unwrap();
    let from_dynamo = dynamo.list(&first).await.unwrap().next_cursor.unwrap();
    let with = |cursor: &str| ContentQuery {
        cursor: Some(cursor.into()),
        ..ContentQuery::default()
    };
    assert!(matches!(
        dynamo.list(&with(&from_sqlite)).await,
        Err(StoreError::BadCursor { .. })
    ));
    assert!(matches!(
        sqlite.list(&with(&from_dynamo)).await,
        Err(StoreError::BadCursor { .. })
    ));
}

#[tokio::test]
async fn dynamodb_lists_with_query_only() {
    let store = dynamo_store().await;
    let changes = (0..40)
        .map(|i| Change::Upsert(version(&format!("q{i:02}"), 1)))
        .collect();
    store.apply(delivery(None, changes)).await.unwrap();
    let before = store.usage();
    let mut query = ContentQuery {
        limit: Some(10),
        ..ContentQuery::default()
    };
    let mut items = 0;
    loop {
        let page = store.list(&query).await.unwrap();
        items += page.items.len();
        match page.next_cursor {
            Some(c) => query.cursor = Some(c),
            None => break,
        }
    }
    let after = store.usage();
    assert_eq!(items, 40);
    assert_eq!(
        (after.get_items, after.transactions, after.batch_writes),
        (before.get_items, before.transactions, before.batch_writes)
    );
    assert!(after.queries > before.queries);
}
