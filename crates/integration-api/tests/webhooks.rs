//! `POST /webhooks/{provider}` through the real router: status codes, repeats, ordering and
//! concurrency.

mod common;

use axum::body::Body;
use common::*;
use http::Request;
use integration_api::store::ContentStore;
use integration_api::{RouterOptions, SqliteStore};
use serde_json::json;
use unified_content::EventType;

#[tokio::test]
async fn a_signed_delivery_is_stored_and_announced() {
    let mut app = app();
    let body = json!({"upserts": [product("p/1", "Blue Mug", "2026-11-01T10:00:00Z")]});
    let (status, _, summary) = send(&app.router, webhook(&body, "d-1")).await;
    assert_eq!(status, 200, "{summary}");
    assert_eq!(
        summary,
        json!({"provider": "test", "event": "items", "delivery_id": "d-1", "duplicate": false,
               "upserted": 1, "deleted": 0, "inventory": 0, "unchanged": 0, "stale": 0,
               "unmatched": 0, "events": 1})
    );
    let events = app.drain_events();
    assert_eq!(events.len(), 1);
    let e = &events[0];
    assert_eq!(e.event_type, EventType::ContentCreated);
    assert_eq!(e.content_id, "p/1");
    assert!(e.requires_build);
    assert_eq!(e.client_id, "acme");
    assert_eq!(e.environment, unified_content::Environment::Staging);
    assert!(e.previous_content.is_none());
    assert_eq!(e.content_data.as_ref().unwrap().title, "Blue Mug");
    assert!(app.store.get("p/1").await.unwrap().is_some());
}

#[tokio::test]
async fn a_delivery_repeated_ten_times_gives_one_version_and_one_event() {
    let mut app = app();
    let body = json!({"upserts": [product("p1", "Mug", "2026-11-01T10:00:00Z")]});
    for i in 0..10 {
        let (status, _, summary) = send(&app.router, webhook(&body, "same-delivery")).await;
        assert_eq!(status, 200);
        assert_eq!(summary["duplicate"], i > 0, "delivery {i}: {summary}");
    }
    // The same content under new delivery ids changes nothing either.
    let (_, _, summary) = send(&app.router, webhook(&body, "other-delivery")).await;
    assert_eq!(summary["unchanged"], 1);
    assert_eq!(app.drain_events().len(), 1);
    let page = app.store.list(&Default::default()).await.unwrap();
    assert_eq!(page.count, 1);
}

#[tokio::test]
async fn out_of_order_deliveries_keep_the_newest() {
    let mut app = app();
    let newer = json!({"upserts": [product("p1", "Mug v2", "2026-11-02T00:00:00Z")]});
    let older = json!({"upserts": [product("p1", "Mug v1", "2026-11-01T00:00:00Z")]});
    send(&app.router, webhook(&newer, "d-new")).await;
    let (status, _, summary) = send(&app.router, webhook(&older, "d-old")).await;
    assert_eq!(status, 200);
    assert_eq!(summary["stale"], 1);
    assert_eq!(app.store.get("p1").await.unwrap().unwrap().title, "Mug v2");
    assert_eq!(app.drain_events().len(), 1);

    // An older deletion does not kill a newer item; a deletion of something never seen
    // keeps an older upsert arriving after it dead.
    let old_delete = json!({"tombstones": [{"id": "p1", "deleted_at": "2026-11-01T12:00:00Z"}]});
    let (_, _, summary) = send(&app.router, webhook(&old_delete, "d-del-old")).await;
    assert_eq!(summary["stale"], 1);
    let early_delete = json!({"tombstones": [{"id": "p2", "deleted_at": "2026-11-05T00:00:00Z"}]});
    let (_, _, summary) = send(&app.router, webhook(&early_delete, "d-del-p2")).await;
    assert_eq!(summary["unmatched"], 1);
    let late_create = json!({"upserts": [product("p2", "Ghost", "2026-11-04T00:00:00Z")]});
    let (_, _, summary) = send(&app.router, webhook(&late_create, "d-p2")).await;
    assert_eq!(summary["stale"], 1);
    assert!(app.store.get("p2").await.unwrap().is_none());
    assert!(app.drain_events().is_empty());
}

#[tokio::test]
async fn deletions_are_tombstones_listed_only_with_include_deleted() {
    let mut app = app();
    let body = json!({"upserts": [product("keep", "Keep", "2026-11-01T00:00:00Z"),
                                  product("gone", "Gone", "2026-11-01T00:00:00Z")]});
    send(&app.router, webhook(&body, "d1")).await;
    let del = json!({"tombstones": [{"id": "gone", "deleted_at": "2026-11-02T00:00:00Z"}]});
    let (_, _, summary) = send(&app.router, webhook(&del, "d2")).await;
    assert_eq!(summary["deleted"], 1);
    let events = app.drain_events();
    assert_eq!(events.last().unwrap().event_type, EventType::ContentDeleted);
    assert!(events.last().unwrap().requires_build);

    let (_, _, page) = send(&app.router, get("/content")).await;
    let ids: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["keep"]);
    let (_, _, page) = send(&app.router, get("/content?include_deleted=true")).await;
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    let tomb = items.iter().find(|i| i["id"] == "gone").unwrap();
    assert_eq!(tomb["status"], "deleted");
    assert_eq!(tomb["title"], "Gone", "a tombstone keeps the last content");
    assert_eq!(tomb["updated_at"], "2026-11-02T00:00:00Z");

    let (status, _, _) = send(&app.router, get("/content/gone")).await;
    assert_eq!(status, 404);
    let (status, _, body) = send(&app.router, get("/content/gone?include_deleted=true")).await;
    assert_eq!(status, 200);
    assert_eq!(body["content"]["status"], "deleted");

    // Deleting again changes nothing and publishes nothing.
    let (_, _, summary) = send(&app.router, webhook(&del, "d3")).await;
    assert_eq!(summary["unchanged"], 1);
    assert!(app.drain_events().is_empty());
}

#[tokio::test]
async fn drafts_do_not_require_a_build_until_published() {
    let mut app = app();
    let mut draft = product("a1", "Post", "2026-11-01T00:00:00Z");
    draft["status"] = json!("draft");
    draft["content_type"] = json!("collection");
    send(
        &app.router,
        webhook(&json!({"upserts": [draft.clone()]}), "d1"),
    )
    .await;
    let mut published = draft.clone();
    published["status"] = json!("published");
    published["updated_at"] = json!("2026-11-02T00:00:00Z");
    send(&app.router, webhook(&json!({"upserts": [published]}), "d2")).await;
    let events = app.drain_events();
    let kinds: Vec<_> = events
        .iter()
        .map(|e| (e.event_type, e.requires_build))
        .collect();
    assert_eq!(
        kinds,
        [
            (EventType::CollectionCreated, false),
            (EventType::CollectionUpdated, true)
        ]
    );
    assert_eq!(
        events[1].previous_content.as_ref().unwrap().status,
        unified_content::ContentStatus::Draft
    );
}

#[tokio::test]
async fn every_refusal_stores_nothing_and_publishes_nothing() {
    let upstream = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let upstream_url = format!("http://{}/file.md", upstream.local_addr().unwrap());
    let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = hits.clone();
    let failing = axum::Router::new().route(
        "/file.md",
        axum::routing::get(move || {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            async { (http::StatusCode::INTERNAL_SERVER_ERROR, "boom") }
        }),
    );
    tokio::spawn(async move { axum::serve(upstream, failing).await.unwrap() });

    let mut app = app_with(
        SqliteStore::in_memory().unwrap(),
        registry_with(Vec::new()),
        RouterOptions {
            body_limit: 4096,
            verifier: None,
        },
    );
    let good = json!({"upserts": [product("p1", "Mug", "2026-11-01T00:00:00Z")]});
    let bytes = serde_json::to_vec(&good).unwrap();

    // 401: no signature, a wrong one, one over other bytes.
    let unsigned = Request::post("/webhooks/test")
        .body(Body::from(bytes.clone()))
        .unwrap();
    let (status, _, body) = send(&app.router, unsigned).await;
    assert_eq!(status, 401);
    assert!(
        body["error"].as_str().unwrap().contains("X-Test-Signature"),
        "{body}"
    );
    let wrong = Request::post("/webhooks/test")
        .header(SIGNATURE, sign(b"other bytes"))
        .body(Body::from(bytes.clone()))
        .unwrap();
    let (status, _, body) = send(&app.router, wrong).await;
    assert_eq!(status, 401);
    assert!(!body.to_string().contains(SECRET));

    // 404: unknown provider.
    let (status, _, body) = send(
        &app.router,
        Request::post("/webhooks/nope")
            .body(Body::from("{}"))
            .unwrap(),
    )
    .await;
    assert_eq!(status, 404);
    assert!(
        body["error"].as_str().unwrap().contains("[providers.nope]"),
        "{body}"
    );

    // 413: over the limit, with and without Content-Length.
    let big = json!({"upserts": [product("p1", &"x".repeat(5000), "2026-11-01T00:00:00Z")]});
    let (status, _, body) = send(&app.router, webhook(&big, "d-big")).await;
    assert_eq!(status, 413);
    assert_eq!(body["limit"], 4096);
    let big_bytes = serde_json::to_vec(&big).unwrap();
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        big_bytes.chunks(1000).map(|c| Ok(c.to_vec())).collect();
    let streamed = Request::post("/webhooks/test")
        .header(SIGNATURE, sign(&big_bytes))
        .body(Body::from_stream(futures_util::stream::iter(chunks)))
        .unwrap();
    let (status, _, _) = send(&app.router, streamed).await;
    assert_eq!(status, 413);

    // 400: malformed JSON and a malformed field, each naming the JSON path.
    let raw = b"{\"upserts\": [".to_vec();
    let malformed = Request::post("/webhooks/test")
        .header(SIGNATURE, sign(&raw))
        .body(Body::from(raw))
        .unwrap();
    let (status, _, body) = send(&app.router, malformed).await;
    assert_eq!(status, 400);
    assert_eq!(body["path"], "$");
    let mut bad = product("p1", "Mug", "2026-11-01T00:00:00Z");
    bad["content_type"] = json!("spaceship");
    let (status, _, body) = send(&app.router, webhook(&json!({"upserts": [bad]}), "d-bad")).await;
    assert_eq!(status, 400);
    assert_eq!(body["path"], "$.upserts[0]");
    let mut invalid = product("p1", "Mug", "2026-11-01T00:00:00Z");
    invalid["slug"] = json!("Not A Slug");
    let (status, _, body) = send(
        &app.router,
        webhook(&json!({"upserts": [invalid]}), "d-inv"),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["path"], "slug");

    // 502: reading from the provider fails.
    let mut upstream_body = good.clone();
    upstream_body["fetch"] = json!(upstream_url);
    let (status, _, body) = send(&app.router, webhook(&upstream_body, "d-up")).await;
    assert_eq!(status, 502, "{body}");
    assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 1);

    assert_eq!(app.store.list(&Default::default()).await.unwrap().count, 0);
    assert!(app.drain_events().is_empty());
    // None of the refused deliveries was recorded: the good one goes through afterwards.
    let (status, _, summary) = send(&app.router, webhook(&good, "d-bad")).await;
    assert_eq!(status, 200);
    assert_eq!(summary["upserted"], 1);
}

#[tokio::test]
async fn the_body_is_read_raw_whatever_the_content_type() {
    let mut app = app();
    let body =
        serde_json::to_vec(&json!({"upserts": [product("c1", "Entry", "2026-11-01T00:00:00Z")]}))
            .unwrap();
    let request = Request::post("/webhooks/test")
        .header(
            "content-type",
            "application/vnd.contentful.management.v1+json",
        )
        .header(SIGNATURE, sign(&body))
        .body(Body::from(body))
        .unwrap();
    let (status, _, _) = send(&app.router, request).await;
    assert_eq!(status, 200);
    assert_eq!(app.drain_events().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_concurrent_webhooks_lose_no_update() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = app_with(
        SqliteStore::open(dir.path().join("content.sqlite3")).unwrap(),
        registry_with(Vec::new()),
        RouterOptions::default(),
    );
    // 50 products, 4 versions each, sent all at once in an interleaved order.
    let mut requests = Vec::new();
    for version in [2, 0, 3, 1] {
        for p in 0..50 {
            let body = json!({"upserts": [product(
                &format!("product-{p}"),
                &format!("Product {p} v{version}"),
                &format!("2026-11-0{}T00:00:00Z", version + 1),
            )]});
            requests.push(webhook(&body, &format!("d-{p}-{version}")));
        }
    }
    let tasks: Vec<_> = requests
        .into_iter()
        .map(|r| {
            let router = app.router.clone();
            tokio::spawn(async move { send(&router, r).await })
        })
        .collect();
    for t in tasks {
        let (status, _, body) = t.await.unwrap();
        assert_eq!(status, 200, "{body}");
    }
    let page = app
        .store
        .list(&unified_content::api::ContentQuery {
            limit: Some(1000),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(page.count, 50);
    for item in &page.items {
        assert!(
            item.title.ends_with(" v3"),
            "{} kept {}",
            item.id,
            item.title
        );
    }
    let events = app.drain_events();
    let created = events
        .iter()
        .filter(|e| e.event_type == EventType::ContentCreated)
        .count();
    assert_eq!(created, 50);
    // Every event moves an item to a newer version: no version is announced twice.
    assert!(events.len() <= 200);
    for p in 0..50 {
        let id = format!("product-{p}");
        let times: Vec<_> = events
            .iter()
            .filter(|e| e.content_id == id)
            .map(|e| e.content_data.as_ref().unwrap().updated_at)
            .collect();
        let sorted = {
            let mut s = times.clone();
            s.sort();
            s.dedup();
            s
        };
        assert_eq!(times.len(), sorted.len(), "{id}: events repeat a version");
    }
}
