//! The SQLite store shared by two connections, as `serve` and `ingest` share one file.

mod common;

use common::product;
use integration_api::SqliteStore;
use integration_api::store::{ContentStore, Delivery, Outcome};
use providers::Change;

fn upsert(id: &str, version: u32) -> Delivery {
    let mut item = product(
        id,
        &format!("{id} v{version}"),
        &format!("2026-11-01T00:00:{version:02}Z"),
    );
    item["slug"] = serde_json::json!(format!("p-{version}"));
    Delivery {
        provider: "test".into(),
        delivery_id: Some(format!("{id}-{version}")),
        received_at: chrono::Utc::now(),
        changes: vec![Change::Upsert(serde_json::from_value(item).unwrap())],
        events: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_stores_on_one_file_serialize_their_writes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.sqlite3");
    let a = SqliteStore::open(&path).unwrap();
    let b = SqliteStore::open(&path).unwrap();
    let mut tasks = Vec::new();
    for version in 0..40u32 {
        let store = if version % 2 == 0 {
            a.clone()
        } else {
            b.clone()
        };
        tasks.push(tokio::spawn(async move {
            store.apply(upsert("shared", (version * 7) % 40)).await
        }));
    }
    let mut written = 0;
    for t in tasks {
        let report = t
            .await
            .unwrap()
            .expect("no write fails with the database busy");
        written += report
            .outcomes
            .iter()
            .filter(|o| matches!(o, Outcome::Written(_)))
            .count();
    }
    assert!(written >= 1);
    let stored = a.get("shared").await.unwrap().unwrap();
    assert_eq!(stored.title, "shared v39");
    // The other connection sees the same, and a delivery applied through one is a duplicate
    // through the other.
    assert_eq!(b.get("shared").await.unwrap().unwrap().title, "shared v39");
    assert!(b.has_delivery("test", "shared-3").await.unwrap());
    assert!(b.apply(upsert("shared", 3)).await.unwrap().duplicate);
}
