//! The OpenAPI document against the server: the model's schemas in it are generated from
//! `unified_content::json_schema()` (checked here, regenerated with `UPDATE_OPENAPI=1`), and
//! every documented path, method and status is exercised with responses validated against
//! the documented schemas.

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::body::Body;
use common::*;
use http::Request;
use integration_api::{OPENAPI_JSON, RouterOptions, SqliteStore};
use serde_json::{Map, Value, json};

const OPENAPI_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.json");

/// The model's schemas as OpenAPI components: `$defs` become sibling components.
fn generated_schemas() -> Map<String, Value> {
    fn rewrite(value: &mut Value) {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(r)) = map.get_mut("$ref")
                    && let Some(name) = r.strip_prefix("#/$defs/")
                {
                    *r = format!("#/components/schemas/{name}");
                }
                map.values_mut().for_each(rewrite);
            }
            Value::Array(items) => items.iter_mut().for_each(rewrite),
            _ => {}
        }
    }
    let mut root = unified_content::json_schema();
    let object = root.as_object_mut().unwrap();
    object.remove("$schema");
    let defs = object
        .remove("$defs")
        .and_then(|d| d.as_object().cloned())
        .unwrap_or_default();
    let mut out = Map::new();
    for (name, mut def) in defs {
        rewrite(&mut def);
        out.insert(name, def);
    }
    rewrite(&mut root);
    out.insert("UnifiedContent".into(), root);
    out
}

#[test]
fn the_document_holds_the_model_schemas_as_generated() {
    let mut doc: Value = serde_json::from_str(OPENAPI_JSON).unwrap();
    let schemas = doc["components"]["schemas"].as_object_mut().unwrap();
    let mut stale = Vec::new();
    for (name, schema) in generated_schemas() {
        if schemas.get(&name) != Some(&schema) {
            schemas.insert(name.clone(), schema);
            stale.push(name);
        }
    }
    if stale.is_empty() {
        return;
    }
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        let text = serde_json::to_string_pretty(&doc).unwrap() + "\n";
        std::fs::write(OPENAPI_PATH, text).unwrap();
        return;
    }
    panic!(
        "openapi.json is out of date for {stale:?}; regenerate it with \
         UPDATE_OPENAPI=1 cargo test -p integration-api --test openapi"
    );
}

fn validate(doc: &Value, path: &str, method: &str, status: u16, body: &Value) {
    let errors = schema_errors(doc, path, method, status, body);
    assert!(
        errors.is_empty(),
        "{method} {path} {status}: {errors:?}\n{body}"
    );
}

fn schema_errors(doc: &Value, path: &str, method: &str, status: u16, body: &Value) -> Vec<String> {
    let pointer = format!(
        "/paths/{}/{method}/responses/{status}/content/application~1json/schema",
        path.replace('~', "~0").replace('/', "~1")
    );
    let schema = doc
        .pointer(&pointer)
        .unwrap_or_else(|| panic!("{method} {path} {status} is not documented"));
    // The whole document is the schema resource, so `#/components/...` references resolve.
    let mut root = doc.clone();
    root["$schema"] = json!("https://json-schema.org/draft/2020-12/schema");
    root["$defs"] = json!({ "response": schema });
    root["$ref"] = json!("#/$defs/response");
    let validator = jsonschema::validator_for(&root).unwrap();
    validator
        .iter_errors(body)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

#[test]
fn the_schemas_refuse_wrong_bodies() {
    let doc: Value = serde_json::from_str(OPENAPI_JSON).unwrap();
    let mut item = product("p1", "Mug", "2026-11-01T00:00:00Z");
    assert!(schema_errors(&doc, "/content/{id}", "get", 200, &json!({"content": item})).is_empty());
    item["slug"] = json!("Not A Slug");
    assert!(
        !schema_errors(&doc, "/content/{id}", "get", 200, &json!({"content": item})).is_empty()
    );
    let page = json!({"items": [], "next_cursor": null});
    assert!(!schema_errors(&doc, "/content", "get", 200, &page).is_empty());
    assert!(!schema_errors(&doc, "/health", "get", 200, &json!({"status": "sick"})).is_empty());
}

fn documented(doc: &Value) -> BTreeSet<(String, String, u16)> {
    let mut out = BTreeSet::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            for status in op["responses"].as_object().unwrap().keys() {
                out.insert((path.clone(), method.clone(), status.parse().unwrap()));
            }
        }
    }
    out
}

#[tokio::test]
async fn the_server_answers_as_documented() {
    let doc: Value = serde_json::from_str(OPENAPI_JSON).unwrap();
    let upstream = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let upstream_url = format!("http://{}/missing", upstream.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(upstream, axum::Router::new()).await.unwrap() });

    let app = app_with(
        SqliteStore::in_memory().unwrap(),
        registry_with(Vec::new()),
        RouterOptions {
            body_limit: 4096,
            verifier: None,
        },
    );
    let good = json!({"upserts": [product("gid://x/1", "Mug", "2026-11-01T00:00:00Z")]});
    let unsigned = || {
        Request::post("/webhooks/test")
            .body(Body::from(serde_json::to_vec(&good).unwrap()))
            .unwrap()
    };
    let mut fetch = good.clone();
    fetch["fetch"] = json!(upstream_url);
    let mut big = good.clone();
    big["pad"] = json!("x".repeat(5000));

    // A server whose event consumer is gone: the store commits with the events in its outbox,
    // publishing fails, and the delivery is still acknowledged.
    let closed = app_with(
        SqliteStore::in_memory().unwrap(),
        registry_with(Vec::new()),
        RouterOptions::default(),
    );
    let closed_router = closed.router.clone();
    drop(closed);
    // A server whose database lost its items table: the store fails, nothing is applied.
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("broken.sqlite3");
    let broken = app_with(
        SqliteStore::open(&db).unwrap(),
        registry_with(Vec::new()),
        RouterOptions::default(),
    );
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute_batch("DROP TABLE items")
        .unwrap();

    let signed = app_with(
        SqliteStore::in_memory().unwrap(),
        registry_with(Vec::new()),
        RouterOptions {
            verifier: Some(Arc::new(
                sigv4_auth::SigV4Verifier::new("us-east-1", "execute-api")
                    .with_key("AKID", "SECRET", None),
            )),
            ..RouterOptions::default()
        },
    );

    let w = "/webhooks/{provider}";
    let c = "/content";
    let ci = "/content/{id}";
    let cases: Vec<(&str, &str, &axum::Router, Request<Body>, u16)> = vec![
        (w, "post", &app.router, webhook(&good, "d1"), 200),
        (w, "post", &app.router, webhook(&good, "d1"), 200),
        (w, "post", &app.router, unsigned(), 401),
        (
            w,
            "post",
            &app.router,
            Request::post("/webhooks/nope").body(Body::empty()).unwrap(),
            404,
        ),
        (w, "post", &app.router, webhook(&big, "d2"), 413),
        (
            w,
            "post",
            &app.router,
            webhook(&json!({"upserts": [{"id": 1}]}), "d3"),
            400,
        ),
        (w, "post", &app.router, webhook(&fetch, "d4"), 502),
        (w, "post", &closed_router, webhook(&good, "d5"), 200),
        (w, "post", &broken.router, webhook(&good, "d6"), 500),
        (
            c,
            "get",
            &app.router,
            get("/content?include_deleted=true&limit=1"),
            200,
        ),
        (
            c,
            "get",
            &app.router,
            get("/content?updated_since=yesterday"),
            400,
        ),
        (c, "get", &signed.router, get("/content"), 403),
        (
            ci,
            "get",
            &app.router,
            get("/content/gid%3A%2F%2Fx%2F1"),
            200,
        ),
        (ci, "get", &app.router, get("/content/%C3%28"), 400),
        (ci, "get", &app.router, get("/content/absent"), 404),
        (ci, "get", &signed.router, get("/content/absent"), 403),
        ("/health", "get", &app.router, get("/health"), 200),
        ("/health", "get", &signed.router, get("/health"), 403),
        (
            "/openapi.json",
            "get",
            &app.router,
            get("/openapi.json"),
            200,
        ),
        (
            "/openapi.json",
            "get",
            &signed.router,
            get("/openapi.json"),
            403,
        ),
    ];
    let mut exercised = BTreeSet::new();
    for (path, method, router, request, expected) in cases {
        let uri = request.uri().to_string();
        let (status, headers, body) = send(router, request).await;
        assert_eq!(status, expected, "{method} {uri}: {body}");
        assert_eq!(
            headers["content-type"], "application/json",
            "{method} {uri}"
        );
        validate(&doc, path, method, status, &body);
        exercised.insert((path.to_string(), method.to_string(), status));
    }
    assert_eq!(
        exercised,
        documented(&doc),
        "documented but not exercised, or the reverse"
    );

    let (_, _, served) = send(&app.router, get("/openapi.json")).await;
    assert_eq!(served, doc);
}
