//! The real handler, built from its environment against moto's DynamoDB and SNS, fed API
//! Gateway REST events (a signed Shopify webhook and `GET /content`), as API Gateway sends
//! them; nothing is written under /tmp, and a missing or wrong variable is named. The
//! invocation handler also takes the scheduled sweep's event, and both kinds of invocation
//! print their metrics as EMF lines, read back here from an injected sink.

use std::collections::{BTreeMap, BTreeSet};
use std::time::SystemTime;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use emf_metrics::{MemorySink, Metrics, Record};
use hmac::{KeyInit, Mac};
use http_body_util::BodyExt;
use integration_api::EventSource;
use integration_api::ingest::SWEEP_GRACE;
use integration_api::store::Delivery;
use integration_api::store::dynamo::create_table;
use integration_api_lambda::{
    ENV_TABLE, ENV_TOPIC, Handler, StartError, SweepReport, app, service,
};
use lambda_http::lambda_runtime::{Context, LambdaEvent};
use moto_server::MotoServer;
use providers::Change;
use serde_json::{Value, json};
use tower::ServiceExt;
use unified_content::{Environment, UnifiedContent};

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

fn sign(body: &str) -> String {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(body.as_bytes());
    BASE64.encode(mac.finalize().into_bytes())
}

fn shopify_product_update() -> String {
    std::fs::read_to_string(format!(
        "{}/../providers/tests/fixtures/shopify/products_update.json",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

/// The API Gateway REST event of a Shopify-style webhook to `/webhooks/{provider}`.
fn webhook_event(provider: &str, body: &str, signature: &str, delivery: &str) -> Value {
    let headers = json!({
        "Host": "abc123.execute-api.eu-west-1.amazonaws.com",
        "Content-Type": "application/json",
        "X-Shopify-Topic": "products/update",
        "X-Shopify-Hmac-Sha256": signature,
        "X-Shopify-Webhook-Id": delivery
    });
    let multi: serde_json::Map<String, Value> = headers
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), json!([v])))
        .collect();
    json!({
        "resource": "/webhooks/{provider}",
        "path": format!("/webhooks/{provider}"),
        "httpMethod": "POST",
        "headers": headers,
        "multiValueHeaders": multi,
        "queryStringParameters": null,
        "multiValueQueryStringParameters": null,
        "pathParameters": {"provider": provider},
        "requestContext": {"accountId": "123456789012", "stage": "prod", "requestId": "r1",
                           "httpMethod": "POST", "path": format!("/prod/webhooks/{provider}"),
                           "resourcePath": "/webhooks/{provider}", "identity": {}},
        "body": body,
        "isBase64Encoded": false
    })
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

    let body = shopify_product_update();
    let webhook = webhook_event("shopify", &body, &sign(&body), "lambda-delivery-1");
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

/// The handler of `app`, its EMF lines captured.
fn handler(app: integration_api_lambda::App) -> (Handler, MemorySink) {
    let sink = MemorySink::default();
    let metrics = Metrics::to_writer(app.metrics_namespace.clone(), sink.clone());
    (Handler::new(app, metrics), sink)
}

async fn invoke(handler: &Handler, payload: Value) -> Result<Value, String> {
    handler
        .invoke(LambdaEvent::new(payload, Context::default()))
        .await
        .map_err(|e| e.to_string())
}

/// The EMF lines printed, as raw JSON, after checking each is a well-formed EMF document.
fn emf_lines(sink: &MemorySink) -> Vec<Value> {
    let lines = sink.lines();
    for line in &lines {
        Record::parse(line).unwrap_or_else(|e| panic!("not an EMF document ({e}): {line}"));
    }
    let docs: Vec<Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    sink.clear();
    docs
}

/// The one document that defines `metric`, and its directive.
fn defining<'a>(docs: &'a [Value], metric: &str) -> (&'a Value, &'a Value) {
    let mut found = docs.iter().filter_map(|d| {
        let directive = &d["_aws"]["CloudWatchMetrics"][0];
        directive["Metrics"]
            .as_array()?
            .iter()
            .any(|m| m["Name"] == metric)
            .then_some((d, directive))
    });
    let first = found
        .next()
        .unwrap_or_else(|| panic!("no {metric} in {docs:#?}"));
    assert!(found.next().is_none(), "{metric} twice in {docs:#?}");
    first
}

#[tokio::test]
async fn webhooks_print_accepted_refused_and_published_metrics() {
    let (mut env, sdk) = environment("lambda-metrics", "lambda-metrics").await;
    env.insert(
        "METRICS_NAMESPACE".into(),
        "ContentPlatform/acme-test".into(),
    );
    let (handler, sink) = handler(app(env, &sdk).await.unwrap());
    let body = shopify_product_update();

    let answer = invoke(
        &handler,
        webhook_event("shopify", &body, &sign(&body), "metrics-1"),
    )
    .await
    .unwrap();
    assert_eq!(answer["statusCode"], 200, "{answer}");
    let docs = emf_lines(&sink);
    assert_eq!(
        docs.len(),
        2,
        "one line per set of dimension values: {docs:#?}"
    );
    let (doc, directive) = defining(&docs, "WebhooksAccepted");
    assert_eq!(directive["Namespace"], "ContentPlatform/acme-test");
    assert_eq!(directive["Dimensions"], json!([["Provider"]]));
    assert_eq!(
        directive["Metrics"],
        json!([{"Name": "WebhooksAccepted", "Unit": "Count"}])
    );
    assert_eq!(
        (&doc["Provider"], &doc["WebhooksAccepted"]),
        (&json!("shopify"), &json!(1.0))
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let stamp = doc["_aws"]["Timestamp"].as_u64().unwrap();
    assert!(now - stamp < 60_000, "Timestamp {stamp} is now, in ms");
    let (doc, directive) = defining(&docs, "EventsPublished");
    assert_eq!(directive["Dimensions"], json!([[]]));
    assert_eq!(
        doc["EventsPublished"], 1.0,
        "the product's event reached SNS"
    );

    // A changed body under the original signature, a truncated body re-signed, and a provider
    // nobody enabled: each is refused and counted under its reason; nothing is published.
    let mut forged = body.replace("Organic Cotton Tee", "Forged Tee");
    let answer = invoke(
        &handler,
        webhook_event("shopify", &forged, &sign(&body), "metrics-2"),
    )
    .await
    .unwrap();
    assert_eq!(answer["statusCode"], 401, "{answer}");
    let docs = emf_lines(&sink);
    assert_eq!(docs.len(), 1, "{docs:#?}");
    let (doc, directive) = defining(&docs, "WebhooksRefused");
    assert_eq!(directive["Dimensions"], json!([["Provider", "Reason"]]));
    assert_eq!(
        (&doc["Provider"], &doc["Reason"], &doc["WebhooksRefused"]),
        (&json!("shopify"), &json!("signature"), &json!(1.0))
    );

    forged.truncate(forged.len() / 2);
    let answer = invoke(
        &handler,
        webhook_event("shopify", &forged, &sign(&forged), "metrics-3"),
    )
    .await
    .unwrap();
    assert_eq!(answer["statusCode"], 400, "{answer}");
    let docs = emf_lines(&sink);
    let (doc, _) = defining(&docs, "WebhooksRefused");
    assert_eq!(
        (&doc["Provider"], &doc["Reason"]),
        (&json!("shopify"), &json!("malformed"))
    );

    let answer = invoke(
        &handler,
        webhook_event("evil-provider-9f2", &body, &sign(&body), "m-4"),
    )
    .await
    .unwrap();
    assert_eq!(answer["statusCode"], 404, "{answer}");
    let docs = emf_lines(&sink);
    let (doc, _) = defining(&docs, "WebhooksRefused");
    assert_eq!(
        (&doc["Provider"], &doc["Reason"]),
        (&json!("unknown"), &json!("unknown_provider")),
        "a name from the path never becomes a dimension value"
    );

    // A body over the 1 MiB limit.
    let huge = format!("{{\"title\": \"{}\"}}", "x".repeat(1024 * 1024));
    let answer = invoke(
        &handler,
        webhook_event("shopify", &huge, &sign(&huge), "m-5"),
    )
    .await
    .unwrap();
    assert_eq!(answer["statusCode"], 413);
    let docs = emf_lines(&sink);
    let (doc, _) = defining(&docs, "WebhooksRefused");
    assert_eq!(
        (&doc["Provider"], &doc["Reason"]),
        (&json!("shopify"), &json!("too_large"))
    );

    // A content read counts nothing and prints nothing.
    let answer = invoke(
        &handler,
        serde_json::from_str(&data("tests/data/apigw_rest_list_content.json")).unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(answer["statusCode"], 200, "{answer}");
    assert_eq!(emf_lines(&sink), Vec::<Value>::new());

    // Neither an API Gateway request nor the schedule's event: an error naming both.
    let error = invoke(&handler, json!({"hello": "world"}))
        .await
        .unwrap_err();
    assert!(
        error.contains("API Gateway") && error.contains("Scheduled Event"),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scheduled_event_publishes_unsent_outbox_events_and_prints_the_backlog() {
    let (env, sdk) = environment("lambda-sweep", "lambda-sweep").await;
    let topic_arn = env[ENV_TOPIC].clone();
    let queue = subscribed_queue(&sdk, &topic_arn, "lambda-sweep").await;
    let app = app(env, &sdk).await.unwrap();

    // Two changes stored a minute ago whose publish never happened (the instance died after
    // the commit): their events wait in the outbox.
    let received_at = chrono::Utc::now() - chrono::TimeDelta::minutes(1);
    let changes = ["sweep-1", "sweep-2"]
        .map(|id| {
            let item: UnifiedContent = serde_json::from_value(json!({
                "id": format!("gid://shopify/Product/{id}"),
                "title": id,
                "slug": id,
                "content_type": "product",
                "status": "published",
                "provider_type": "ecommerce",
                "provider_name": "shopify",
                "created_at": "2026-11-01T00:00:00Z",
                "updated_at": "2026-11-30T00:00:00Z",
                "synced_at": "2026-11-30T00:00:00Z"
            }))
            .unwrap();
            Change::Upsert(item)
        })
        .to_vec();
    let report = app
        .ingest
        .store()
        .apply(Delivery {
            provider: "shopify".into(),
            delivery_id: Some("sweep-delivery".into()),
            received_at,
            changes,
            events: Some(EventSource {
                client_id: "acme".into(),
                environment: Environment::Dev,
            }),
        })
        .await
        .unwrap();
    assert_eq!(report.events.len(), 2);
    let expected: BTreeSet<String> = report.events.iter().map(|e| e.event_id.clone()).collect();
    assert_eq!(app.ingest.outbox_backlog(SWEEP_GRACE).await.unwrap(), 2);

    let (handler, sink) = handler(app.clone());
    let scheduled: Value = serde_json::from_str(&data("tests/data/scheduled_event.json")).unwrap();

    // An invocation with no time left (its deadline within the margin) publishes nothing and
    // still reports the backlog before it ends.
    let mut hurried = Context::default();
    hurried.deadline = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
        + 1_000;
    let answer = handler
        .invoke(LambdaEvent::new(scheduled.clone(), hurried))
        .await
        .unwrap();
    assert_eq!(answer, json!({"published": 0, "backlog": 2}));
    let docs = emf_lines(&sink);
    assert_eq!(docs.len(), 1, "{docs:#?}");
    assert_eq!(docs[0]["OutboxBacklog"], 2.0);
    let answer = invoke(&handler, scheduled.clone()).await.unwrap();
    assert_eq!(
        serde_json::from_value::<SweepReport>(answer).unwrap(),
        SweepReport {
            published: 2,
            backlog: 0
        }
    );
    let docs = emf_lines(&sink);
    assert_eq!(docs.len(), 1, "{docs:#?}");
    let (doc, directive) = defining(&docs, "OutboxBacklog");
    assert_eq!(
        directive["Namespace"], "ContentPlatform",
        "the default namespace"
    );
    assert_eq!(directive["Dimensions"], json!([[]]));
    assert_eq!(
        (&doc["OutboxBacklog"], &doc["EventsPublished"]),
        (&json!(0.0), &json!(2.0))
    );

    // The events reached the topic, each with its id.
    assert_eq!(
        received_event_ids(&sdk, &queue, expected.len()).await,
        expected
    );

    // The next sweep finds nothing to do, and says so.
    let answer = invoke(&handler, scheduled).await.unwrap();
    assert_eq!(answer, json!({"published": 0, "backlog": 0}));
    let docs = emf_lines(&sink);
    assert_eq!(docs.len(), 1, "{docs:#?}");
    assert_eq!(docs[0]["OutboxBacklog"], 0.0);
    assert!(docs[0].get("EventsPublished").is_none(), "{docs:#?}");
}

/// An SQS queue subscribed to the topic with raw delivery: each message is an event's JSON.
async fn subscribed_queue(sdk: &aws_config::SdkConfig, topic_arn: &str, name: &str) -> String {
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let url = sqs
        .create_queue()
        .queue_name(name)
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let arn = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn]
        .clone();
    aws_sdk_sns::Client::new(sdk)
        .subscribe()
        .topic_arn(topic_arn)
        .protocol("sqs")
        .endpoint(arn)
        .attributes("RawMessageDelivery", "true")
        .send()
        .await
        .unwrap();
    url
}

async fn received_event_ids(
    sdk: &aws_config::SdkConfig,
    queue: &str,
    want: usize,
) -> BTreeSet<String> {
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let mut ids = BTreeSet::new();
    for _ in 0..20 {
        let out = sqs
            .receive_message()
            .queue_url(queue)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        for message in out.messages() {
            let event: Value = serde_json::from_str(message.body().unwrap()).unwrap();
            ids.insert(event["event_id"].as_str().unwrap().to_string());
        }
        if ids.len() >= want {
            break;
        }
    }
    ids
}
