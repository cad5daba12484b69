//! The router behind lambda_http, fed API Gateway REST events as API Gateway sends them
//! (stage in the request context, encoded id in the path, decoded query values).

mod common;

use common::*;
use http_body_util::BodyExt;
use integration_api::lambda;
use serde_json::{Value, json};
use tower::ServiceExt;

fn event(name: &str) -> String {
    std::fs::read_to_string(format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

async fn call(app: &App, event: &str) -> (u16, Value) {
    let request = lambda_http::request::from_str(event).unwrap();
    let response = lambda::service(app.router.clone())
        .oneshot(request)
        .await
        .unwrap();
    let status = response.status().as_u16();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap())
}

#[tokio::test]
async fn api_gateway_rest_events_reach_the_routes() {
    let mut app = app();
    let mut draft = product("gid://shopify/Product/2", "Draft", "2026-11-03T00:00:00Z");
    draft["status"] = json!("draft");
    let body = json!({"upserts": [
        product("gid://shopify/Product/1", "Mug", "2026-11-02T00:00:00Z"),
        draft,
        product("gid://shopify/Product/3", "Old", "2026-10-01T00:00:00Z"),
    ]});

    // A webhook as a REST event with a stage: the raw body is signed as sent.
    let raw = serde_json::to_string(&body).unwrap();
    let webhook_event = json!({
        "resource": "/webhooks/{provider}",
        "path": "/webhooks/test",
        "httpMethod": "POST",
        "headers": {"Host": "abc123.execute-api.eu-west-1.amazonaws.com",
                    "Content-Type": "application/json",
                    SIGNATURE: sign(raw.as_bytes()), "X-Test-Delivery": "lambda-1"},
        "multiValueHeaders": {"Host": ["abc123.execute-api.eu-west-1.amazonaws.com"],
                    "Content-Type": ["application/json"],
                    SIGNATURE: [sign(raw.as_bytes())], "X-Test-Delivery": ["lambda-1"]},
        "queryStringParameters": null,
        "multiValueQueryStringParameters": null,
        "pathParameters": {"provider": "test"},
        "requestContext": {"accountId": "123456789012", "stage": "prod", "requestId": "r1",
                           "httpMethod": "POST", "path": "/prod/webhooks/test",
                           "resourcePath": "/webhooks/{provider}", "identity": {}},
        "body": raw,
        "isBase64Encoded": false
    });
    let (status, summary) = call(&app, &webhook_event.to_string()).await;
    assert_eq!(status, 200, "{summary}");
    assert_eq!(summary["upserted"], 3);
    assert_eq!(app.drain_events().len(), 3);

    let (status, body) = call(&app, &event("apigw_rest_get_item.json")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["content"]["id"], "gid://shopify/Product/1");

    let (status, page) = call(&app, &event("apigw_rest_list_content.json")).await;
    assert_eq!(status, 200, "{page}");
    let ids: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["gid://shopify/Product/1", "gid://shopify/Product/2"]);
}

#[test]
fn requests_without_a_stage_are_left_alone() {
    let request = http::Request::get("/content/prod%2Fx")
        .body(lambda_http::Body::Empty)
        .unwrap();
    assert_eq!(
        lambda::without_stage(request).uri().path(),
        "/content/prod%2Fx"
    );
}
