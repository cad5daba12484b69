//! SnsPublisher → SNS topic → SQS queue subscribed with the shipped filter policy, on moto's
//! server with the official clients: exactly the events that should trigger builds arrive,
//! each with its five attributes; an event over 256 KB arrives without its bodies. The topic
//! and the subscription are the template's (`deploy/template.yaml`, through deploy-template).

mod common;

use std::collections::BTreeMap;

use integration_api::events::{CONTENT_OMITTED_ATTRIBUTE, FILTER_POLICY};
use integration_api::{EventPublisher, SnsPublisher};
use moto_server::MotoServer;
use serde_json::{Value, json};
use unified_content::{ContentEvent, ContentType, Environment, EventType, UnifiedContent};

fn item(id: &str, description: Option<String>) -> UnifiedContent {
    let mut value = json!({
        "id": id, "title": id, "slug": id, "content_type": "product", "status": "published",
        "provider_type": "ecommerce", "provider_name": "shopify",
        "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-11-01T00:00:00Z",
        "synced_at": "2026-11-01T00:00:00Z"
    });
    if let Some(d) = description {
        value["description"] = json!(d);
    }
    serde_json::from_value(value).unwrap()
}

fn event(id: &str, event_type: EventType, requires_build: bool) -> ContentEvent {
    ContentEvent {
        event_id: format!("evt-{id}"),
        event_type,
        content_id: id.into(),
        content_type: ContentType::Product,
        provider_name: "shopify".into(),
        timestamp: chrono::Utc::now(),
        requires_build,
        content_data: Some(item(id, None)),
        previous_content: None,
        client_id: "client-a".into(),
        environment: Environment::Dev,
    }
}

#[tokio::test]
async fn the_filter_policy_passes_exactly_the_build_events_with_their_attributes() {
    let server = MotoServer::shared();
    let config = server.sdk_config().await;
    let sns = aws_sdk_sns::Client::new(&config);
    let sqs = aws_sdk_sqs::Client::new(&config);
    // The topic and the build trigger's subscription (with its filter policy and scope) as
    // the template deploys them.
    let template = deploy_template::Template::shipped().unwrap();
    let made = common::aws::provision(
        &aws_sdk_dynamodb::Client::new(&config),
        &sns,
        &format!("sns-filter-{}", std::process::id()),
    )
    .await;
    let topic_arn = made
        .topic_arn(common::aws::EVENTS_TOPIC)
        .unwrap()
        .to_string();
    let queue = sqs
        .create_queue()
        .queue_name(format!("build-trigger-filter-{}", std::process::id()))
        .send()
        .await
        .unwrap();
    let queue_url = queue.queue_url().unwrap().to_string();
    let attributes = sqs
        .get_queue_attributes()
        .queue_url(&queue_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap();
    let queue_arn =
        attributes.attributes().unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn].clone();
    made.subscribe(
        &template,
        &sns,
        "BuildTriggerSubscription",
        "sqs",
        &queue_arn,
    )
    .await
    .unwrap();
    // The template's policy is the shipped file the code exports.
    let (policy, _) = template.filter_policy("BuildTriggerSubscription").unwrap();
    assert_eq!(
        policy,
        serde_json::from_str::<Value>(FILTER_POLICY).unwrap()
    );

    let mut huge = event("huge", EventType::ContentUpdated, true);
    huge.content_data = Some(item("huge", Some("x".repeat(300 * 1024))));
    let events = vec![
        event("created", EventType::ContentCreated, true),
        event("draft", EventType::ContentUpdated, false),
        event("updated", EventType::ContentUpdated, true),
        event("stock", EventType::InventoryUpdated, true),
        event("deleted", EventType::ContentDeleted, true),
        event("collection", EventType::CollectionCreated, true),
        huge,
    ];
    SnsPublisher::new(sns.clone(), &topic_arn)
        .publish(events)
        .await
        .unwrap();

    let mut arrived: BTreeMap<String, (Value, BTreeMap<String, String>)> = BTreeMap::new();
    for _ in 0..20 {
        let received = sqs
            .receive_message()
            .queue_url(&queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        let messages = received.messages();
        if messages.is_empty() && !arrived.is_empty() {
            break;
        }
        for m in messages {
            let envelope: Value = serde_json::from_str(m.body().unwrap()).unwrap();
            let message: Value =
                serde_json::from_str(envelope["Message"].as_str().unwrap()).unwrap();
            let attributes = envelope["MessageAttributes"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), v["Value"].as_str().unwrap().to_string()))
                .collect();
            arrived.insert(
                message["content_id"].as_str().unwrap().to_string(),
                (message, attributes),
            );
        }
    }
    let ids: Vec<&str> = arrived.keys().map(String::as_str).collect();
    assert_eq!(ids, ["created", "deleted", "huge", "updated"]);
    for (id, (message, attributes)) in &arrived {
        assert_eq!(message["event_id"], format!("evt-{id}"));
        assert_eq!(
            attributes["event_type"],
            message["event_type"].as_str().unwrap()
        );
        assert_eq!(attributes["content_type"], "product");
        assert_eq!(attributes["provider_name"], "shopify");
        assert_eq!(attributes["requires_build"], "true");
        assert_eq!(attributes["client_id"], "client-a");
    }
    let (huge, attributes) = &arrived["huge"];
    assert!(
        huge.get("content_data").is_none(),
        "bodies are dropped from an event over 256 KB"
    );
    assert_eq!(attributes[CONTENT_OMITTED_ATTRIBUTE], "true");
    assert!(arrived["created"].0["content_data"].is_object());
    assert!(!arrived["created"].1.contains_key(CONTENT_OMITTED_ATTRIBUTE));
}

#[tokio::test]
async fn a_missing_topic_is_named() {
    let server = MotoServer::shared();
    let sns = aws_sdk_sns::Client::new(&server.sdk_config().await);
    let arn = "arn:aws:sns:us-east-1:123456789012:no-such-topic";
    let publisher = SnsPublisher::new(sns, arn);
    let error = publisher.check().await.unwrap_err();
    assert!(error.to_string().contains(arn), "{error}");
}
