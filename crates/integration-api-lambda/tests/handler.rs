//! The real handler, built from its environment against moto's DynamoDB and SNS, fed API
//! Gateway REST events (a signed Shopify webhook and `GET /content`), as API Gateway sends
//! them; nothing is written under /tmp, and a missing or wrong variable is named.

use std::collections::BTreeMap;
use std::time::SystemTime;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{KeyInit, Mac};
use http_body_util::BodyExt;
use integration_api::store::dynamo::create_table;
use integration_api_lambda::{ENV_TABLE, ENV_TOPIC, StartError, app, service};
use moto_server::MotoServer;
use serde_json::{Value, json};
use tower::ServiceExt;

const SECRET: &str = "shpss_lambda_secret";

fn data(path: &str) -> String {
    std::fs::read_to_string(format!("{}/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

async fn environment(
    table: &str,
    topic_name: &str,
) -> (BTreeMap<String, String>, aws_config::SdkConfig) {
    let server = MotoServer::shared();
    let sdk = server.sdk_config().await;
    create_table(&aws_sdk_dynamodb::Client::new(&sdk), table)
        .await
        .unwrap();
    let topic = aws_sdk_sns::Client::new(&sdk)
        .create_topic()
        .name(topic_name)
        .send()
        .await
        .unwrap();
    let env = BTreeMap::from([
        (ENV_TABLE.to_string(), table.to_string()),
        (
            ENV_TOPIC.to_string(),
            topic.topic_arn().unwrap().to_string(),
        ),
        ("CLIENT_ID".to_string(), "acme".to_string()),
        (
            "INTEGRATION_API_PROVIDERS".to_string(),
            "shopify".to_string(),
        ),
        ("SHOPIFY_WEBHOOK_SECRET".to_string(), SECRET.to_string()),
        ("SHOPIFY_CURRENCY".to_string(), "EUR".to_string()),
    ]);
    (env, sdk)
}

async fn call(router: &axum::Router, event: &str) -> (u16, Value) {
    let request = lambda_http::request::from_str(event).unwrap();
    let response = service(router.clone()).oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap())
}

/// Files under /tmp named like the old SQLite cache, changed since `since`.
fn cache_files_in_tmp(since: SystemTime) -> Vec<String> {
    std::fs::read_dir("/tmp")
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|e| {
                    e.metadata()
                        .and_then(|m| m.modified())
                        .is_ok_and(|m| m >= since)
                })
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|name| name.contains("integration-api") || name.ends_with(".sqlite3"))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn rest_events_are_served_from_dynamodb_with_nothing_in_tmp() {
    let started = SystemTime::now();
    let (env, sdk) = environment("lambda-cache", "lambda-events").await;
    let app = app(env, &sdk).await.expect("the function starts");

    let body = std::fs::read_to_string(format!(
        "{}/../providers/tests/fixtures/shopify/products_update.json",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(body.as_bytes());
    let signature = BASE64.encode(mac.finalize().into_bytes());
    let headers = json!({
        "Host": "abc123.execute-api.eu-west-1.amazonaws.com",
        "Content-Type": "application/json",
        "X-Shopify-Topic": "products/update",
        "X-Shopify-Hmac-Sha256": signature,
        "X-Shopify-Webhook-Id": "lambda-delivery-1"
    });
    let multi: serde_json::Map<String, Value> = headers
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), json!([v])))
        .collect();
    let webhook = json!({
        "resource": "/webhooks/{provider}",
        "path": "/webhooks/shopify",
        "httpMethod": "POST",
        "headers": headers,
        "multiValueHeaders": multi,
        "queryStringParameters": null,
        "multiValueQueryStringParameters": null,
        "pathParameters": {"provider": "shopify"},
        "requestContext": {"accountId": "123456789012", "stage": "prod", "requestId": "r1",
                           "httpMethod": "POST", "path": "/prod/webhooks/shopify",
                           "resourcePath": "/webhooks/{provider}", "identity": {}},
        "body": body,
        "isBase64Encoded": false
    });
    let (status, summary) = call(&app.router, &webhook.to_string()).await;
    assert_eq!(status, 200, "{summary}");
    assert_eq!(summary["upserted"], 1, "{summary}");
    assert_eq!(summary["events"], 1, "{summary}");
    // The same delivery again is a duplicate, read from the table.
    let (status, again) = call(&app.router, &webhook.to_string()).await;
    assert_eq!(
        (status, &again["duplicate"]),
        (200, &json!(true)),
        "{again}"
    );

    let (status, page) = call(
        &app.router,
        &data("tests/data/apigw_rest_list_content.json"),
    )
    .await;
    assert_eq!(status, 200, "{page}");
    let ids: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["gid://shopify/Product/788032119674292922"]);

    // Every instance sees the item: a second one built from the same environment reads it.
    let (env, _) = environment("lambda-cache", "lambda-events").await;
    let other = integration_api_lambda::app(env, &sdk).await.unwrap();
    let event = data("tests/data/apigw_rest_get_item.json").replace(
        "gid%3A%2F%2Fshopify%2FProduct%2F1",
        "gid%3A%2F%2Fshopify%2FProduct%2F788032119674292922",
    );
    let (status, item) = call(&other.router, &event).await;
    assert_eq!(status, 200, "{item}");
    assert_eq!(item["content"]["title"], "Organic Cotton Tee");

    assert_eq!(cache_files_in_tmp(started), Vec::<String>::new());
}

#[tokio::test]
async fn a_missing_or_wrong_variable_is_named() {
    let (env, sdk) = environment("lambda-vars", "lambda-vars").await;
    for variable in [ENV_TABLE, ENV_TOPIC, "CLIENT_ID"] {
        let mut without = env.clone();
        without.remove(variable);
        let error = app(without, &sdk).await.err().expect("refuses to start");
        assert!(matches!(error, StartError::Missing { .. }), "{error}");
        assert!(error.to_string().starts_with(variable), "{error}");
    }
    let mut wrong = env.clone();
    wrong.insert(ENV_TABLE.into(), "no-such-table".into());
    let error = app(wrong, &sdk).await.err().unwrap();
    assert!(error.to_string().contains(ENV_TABLE), "{error}");
    let mut wrong = env;
    wrong.insert(
        ENV_TOPIC.into(),
        "arn:aws:sns:us-east-1:123456789012:no-such-topic".into(),
    );
    let error = app(wrong, &sdk).await.err().unwrap();
    assert!(error.to_string().contains(ENV_TOPIC), "{error}");
}
