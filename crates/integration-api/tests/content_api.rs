//! `GET /content`, `GET /content/{id}`, `GET /health` and SigV4, through the real router.

mod common;

use std::sync::Arc;
use std::time::SystemTime;

use aws_credential_types::Credentials;
use axum::body::Body;
use common::*;
use http::Request;
use http_body_util::BodyExt;
use integration_api::store::{ContentStore, Delivery};
use integration_api::{RouterOptions, SqliteStore};
use providers::Change;
use serde_json::{Value, json};
use tower::ServiceExt;
use unified_content::UnifiedContent;
use unified_content::api::MAX_PAGE_BYTES;
use url::Url;

fn item(v: Value) -> UnifiedContent {
    serde_json::from_value(v).unwrap()
}

async fn put(app: &App, items: Vec<UnifiedContent>) {
    let report = app
        .store
        .apply(Delivery {
            provider: "test".into(),
            delivery_id: None,
            received_at: chrono::Utc::now(),
            changes: items.into_iter().map(Change::Upsert).collect(),
            events: None,
        })
        .await
        .unwrap();
    assert!(!report.duplicate);
}

fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn pages_follow_the_cursor_in_a_stable_order() {
    let app = app();
    let items = (0..25)
        .map(|i| {
            item(product(
                &format!("p{i:02}"),
                &format!("P {i}"),
                "2026-11-01T00:00:00Z",
            ))
        })
        .collect();
    put(&app, items).await;
    let mut seen = Vec::new();
    let mut uri = "/content?limit=10".to_string();
    let mut pages = 0;
    loop {
        let (status, _, page) = send(&app.router, get(&uri)).await;
        assert_eq!(status, 200, "{page}");
        pages += 1;
        assert_eq!(page["count"], page["items"].as_array().unwrap().len());
        seen.extend(ids(&page));
        match page["next_cursor"].as_str() {
            Some(c) => uri = format!("/content?limit=10&cursor={}", urlencode(c)),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    let expected: Vec<String> = (0..25).map(|i| format!("p{i:02}")).collect();
    assert_eq!(seen, expected);

    let (status, _, body) = send(&app.router, get("/content?cursor=not-ours")).await;
    assert_eq!(status, 400);
    assert_eq!(body["parameter"], "cursor");
    let (status, _, body) = send(&app.router, get("/content?limit=5000")).await;
    assert_eq!(status, 400);
    assert_eq!(body["parameter"], "limit");
    assert!(
        body["error"].as_str().unwrap().contains("1 to 1000"),
        "{body}"
    );
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test]
async fn filters_select_type_provider_status_and_time() {
    let app = app();
    let mut article = product("a1", "Article", "2026-11-05T00:00:00Z");
    article["content_type"] = json!("article");
    article["provider_name"] = json!("sanity");
    article["provider_type"] = json!("cms");
    let mut draft = product("d1", "Draft", "2026-11-03T00:00:00Z");
    draft["status"] = json!("draft");
    put(
        &app,
        vec![
            item(product("p1", "Old", "2026-10-01T00:00:00Z")),
            item(article),
            item(draft),
        ],
    )
    .await;
    let cases = [
        ("/content", vec!["a1", "p1"]),
        ("/content?content_type=product", vec!["p1"]),
        ("/content?content_type=articles", vec!["a1"]),
        ("/content?provider=sanity", vec!["a1"]),
        ("/content?status=draft", vec!["d1"]),
        ("/content?status=draft,published", vec!["a1", "d1", "p1"]),
        (
            "/content?status=draft%2Cpublished&updated_since=2026-11-04T01%3A00%3A00%2B01%3A00",
            vec!["a1"],
        ),
        ("/content?updated_since=2026-11-01T00:00:00Z", vec!["a1"]),
    ];
    for (uri, expected) in cases {
        let (status, _, page) = send(&app.router, get(uri)).await;
        assert_eq!(status, 200, "{uri}: {page}");
        assert_eq!(ids(&page), expected, "{uri}");
    }
    let (status, _, body) = send(&app.router, get("/content?status=gone")).await;
    assert_eq!(status, 400);
    assert_eq!(body["parameter"], "status");
}

#[tokio::test]
async fn a_page_stays_under_the_byte_cap_whatever_the_limit() {
    let app = app();
    let body = "x".repeat(600_000);
    let items = (0..12)
        .map(|i| {
            let mut p = product(&format!("big{i:02}"), "Big", "2026-11-01T00:00:00Z");
            p["body"] = json!(body);
            item(p)
        })
        .collect();
    put(&app, items).await;
    let mut uri = "/content?limit=1000".to_string();
    let mut counts = Vec::new();
    loop {
        let response = app.router.clone().oneshot(get(&uri)).await.unwrap();
        assert_eq!(response.status(), 200);
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        assert!(
            bytes.len() <= MAX_PAGE_BYTES,
            "page of {} bytes",
            bytes.len()
        );
        let page: Value = serde_json::from_slice(&bytes).unwrap();
        counts.push(page["count"].as_u64().unwrap());
        match page["next_cursor"].as_str() {
            Some(c) => uri = format!("/content?limit=1000&cursor={}", urlencode(c)),
            None => break,
        }
    }
    assert!(counts.len() >= 2, "{counts:?}");
    assert_eq!(counts.iter().sum::<u64>(), 12);
}

const ODD_IDS: &[&str] = &[
    "gid://shopify/Product/9007199254740993",
    "a/b",
    "posts/2026/hello world.md",
    "what?x=1&y=2#frag",
    "100% cotton+wool",
    "ünïcödé/☃/日本",
    "trailing/",
    "..",
];

#[tokio::test]
async fn odd_ids_are_read_back_through_one_encoded_segment() {
    let app = app();
    let items = ODD_IDS
        .iter()
        .enumerate()
        .map(|(i, id)| item(product(id, &format!("Odd {i}"), "2026-11-01T00:00:00Z")))
        .collect();
    put(&app, items).await;
    let endpoint = Url::parse("http://127.0.0.1").unwrap();
    // A client must encode the dots of a ".." id, or URL parsing removes the segment.
    for id in &ODD_IDS[..ODD_IDS.len() - 1] {
        let url = content_fetch::item_url(&endpoint, id);
        let (status, _, body) = send(&app.router, get(&url[url::Position::BeforePath..])).await;
        assert_eq!(status, 200, "{id} as {url}: {body}");
        assert_eq!(body["content"]["id"], *id);
    }
    let (status, _, body) = send(&app.router, get("/content/%2E%2E")).await;
    assert_eq!(status, 200);
    assert_eq!(body["content"]["id"], "..");
    let (status, _, body) = send(&app.router, get("/content/a%2Fb")).await;
    assert_eq!(status, 200);
    assert_eq!(body["content"]["id"], "a/b");
    let (status, _, body) = send(&app.router, get("/content/a/b")).await;
    assert_eq!(status, 404, "an unencoded slash is another path: {body}");
    let (status, _, body) = send(&app.router, get("/content/nothing%20here")).await;
    assert_eq!(status, 404);
    assert_eq!(body["id"], "nothing here");
    let (status, _, body) = send(&app.router, get("/content/%FF%FE")).await;
    assert_eq!(status, 400, "{body}");
}

#[tokio::test]
async fn stock_changes_find_variants_by_inventory_item_and_sku() {
    let mut app = app();
    let mut shirt = product("shopify/1", "Shirt", "2026-11-01T00:00:00Z");
    shirt["provider_name"] = json!("shopify");
    shirt["variants"] = json!([
        {"id": "v1", "title": "S", "sku": "SHIRT-S", "price": {"amount": "19.90", "currency_code": "EUR"},
         "inventory": {"quantity": 5, "track_quantity": true}},
        {"id": "v2", "title": "M", "sku": "SHIRT-M", "price": {"amount": "19.90", "currency_code": "EUR"},
         "inventory": {"quantity": -2, "track_quantity": true}}
    ]);
    shirt["inventory"] = json!({"quantity": 3, "track_quantity": true});
    shirt["provider_data"] = json!({"inventory_item_ids": {"4001": "v1", "4002": "v2"}});
    // The same SKU sold by another shop.
    let mut other = product("snipcart/shirt-m", "Shirt M", "2026-11-01T00:00:00Z");
    other["variants"] = json!([
        {"id": "sm", "title": "M", "sku": "SHIRT-M", "price": {"amount": 20, "currency_code": "EUR"}}
    ]);
    send(
        &app.router,
        webhook(&json!({"upserts": [shirt, other]}), "d0"),
    )
    .await;
    app.drain_events();

    let stock = json!({"stock": [
        {"kind": "inventory_item", "target": "4001", "set": 9, "updated_at": "2026-11-02T00:00:00Z"},
        {"kind": "sku", "target": "SHIRT-M", "adjust": -1, "updated_at": "2026-11-02T00:00:00Z"},
        {"kind": "sku", "target": "NOPE", "set": 1, "updated_at": "2026-11-02T00:00:00Z"}
    ]});
    let (status, _, summary) = send(&app.router, webhook(&stock, "d1")).await;
    assert_eq!(status, 200, "{summary}");
    assert_eq!(summary["inventory"], 3, "{summary}");
    assert_eq!(summary["unmatched"], 1, "{summary}");

    let shirt = app.store.get("shopify/1").await.unwrap().unwrap();
    let levels: Vec<i64> = shirt
        .variants
        .iter()
        .map(|v| v.inventory.as_ref().unwrap().quantity)
        .collect();
    assert_eq!(levels, [9, -3]);
    assert_eq!(
        shirt.inventory.as_ref().unwrap().quantity,
        6,
        "the product sums its variants"
    );
    assert_eq!(shirt.updated_at.to_rfc3339(), "2026-11-02T00:00:00+00:00");
    let other = app.store.get("snipcart/shirt-m").await.unwrap().unwrap();
    assert_eq!(other.variants[0].inventory.as_ref().unwrap().quantity, -1);
    assert_eq!(other.inventory.as_ref().unwrap().quantity, -1);

    let events = app.drain_events();
    assert_eq!(events.len(), 3);
    assert!(
        events
            .iter()
            .all(|e| e.event_type == unified_content::EventType::InventoryUpdated)
    );

    // An older level is ignored; the same level again changes nothing.
    let old = json!({"stock": [{"kind": "inventory_item", "target": "4002", "set": 50, "updated_at": "2026-11-01T12:00:00Z"}]});
    let (_, _, summary) = send(&app.router, webhook(&old, "d2")).await;
    assert_eq!(summary["stale"], 1);
    let same = json!({"stock": [{"kind": "variant", "target": "v1", "set": 9, "updated_at": "2026-11-03T00:00:00Z"}]});
    let (_, _, summary) = send(&app.router, webhook(&same, "d3")).await;
    assert_eq!(summary["unchanged"], 1);
    assert!(app.drain_events().is_empty());
}

#[tokio::test]
async fn health_answers() {
    let app = app();
    let (status, _, body) = send(&app.router, get("/health")).await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "healthy");
    assert_eq!(body["providers"], json!(["test"]));
    let (status, _, body) = send(&app.router, get("/nowhere")).await;
    assert_eq!(status, 404);
    assert!(body["error"].as_str().unwrap().contains("/openapi.json"));
    let (status, _, _) = send(
        &app.router,
        Request::delete("/content").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(status, 405);
}

fn signed_get(path_and_query: &str, credentials: &Credentials, region: &str) -> Request<Body> {
    let url = Url::parse(&format!("http://127.0.0.1:8787{path_and_query}")).unwrap();
    let headers = content_fetch::sign_get(&url, region, credentials, SystemTime::now()).unwrap();
    let mut request =
        Request::get(&url[url::Position::BeforePath..]).header("host", "127.0.0.1:8787");
    for (name, value) in headers {
        request = request.header(name, value);
    }
    request.body(Body::empty()).unwrap()
}

#[tokio::test]
async fn with_sigv4_required_gets_need_a_valid_signature_and_webhooks_do_not() {
    let verifier = sigv4_auth::SigV4Verifier::new("eu-west-1", "execute-api").with_key(
        "AKIDTEST",
        "secret-key-for-tests",
        None,
    );
    let mut app = app_with(
        SqliteStore::in_memory().unwrap(),
        registry_with(Vec::new()),
        RouterOptions {
            verifier: Some(Arc::new(verifier)),
            ..RouterOptions::default()
        },
    );
    let good = Credentials::new("AKIDTEST", "secret-key-for-tests", None, None, "test");
    let wrong = Credentials::new("AKIDTEST", "another-secret", None, None, "test");

    let body = json!({"upserts": [product("a/b c", "Signed", "2026-11-01T00:00:00Z")]});
    let (status, _, _) = send(&app.router, webhook(&body, "d1")).await;
    assert_eq!(status, 200, "webhooks are never SigV4");
    assert_eq!(app.drain_events().len(), 1);

    let (status, _, body) = send(&app.router, get("/content")).await;
    assert_eq!(status, 403);
    assert!(
        body["message"].as_str().unwrap().contains("Authorization"),
        "{body}"
    );
    let (status, _, body) = send(&app.router, signed_get("/content", &wrong, "eu-west-1")).await;
    assert_eq!(status, 403);
    assert!(!body.to_string().contains("another-secret"));
    let (status, _, body) = send(&app.router, signed_get("/content", &good, "us-east-1")).await;
    assert_eq!(status, 403);
    assert!(
        body["error"].as_str().unwrap().contains("eu-west-1"),
        "{body}"
    );

    for path in [
        "/content?status=published%2Cdraft&limit=5",
        "/content/a%2Fb%20c",
        "/health",
    ] {
        let (status, _, body) = send(&app.router, signed_get(path, &good, "eu-west-1")).await;
        assert_eq!(status, 200, "{path}: {body}");
    }
}
