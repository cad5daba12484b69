//! The template's tables and topic created on moto's server, as integration tests use them.

use aws_sdk_dynamodb::types::{KeyType, ProjectionType, TimeToLiveStatus};
use aws_sdk_sns::types::MessageAttributeValue;
use deploy_template::{Template, provision};
use moto_server::MotoServer;
use serde_json::Value;

#[tokio::test]
async fn tables_and_topic_match_the_template() {
    let config = MotoServer::shared().sdk_config().await;
    let dynamo = aws_sdk_dynamodb::Client::new(&config);
    let sns = aws_sdk_sns::Client::new(&config);
    let template = Template::shipped().unwrap();
    let made = provision(&template, &dynamo, &sns, "provision-test")
        .await
        .unwrap();
    // A second run reuses what the first created.
    provision(&template, &dynamo, &sns, "provision-test")
        .await
        .unwrap();

    for spec in template.tables().unwrap() {
        let name = made.table(spec.logical_id()).unwrap();
        let table = dynamo
            .describe_table()
            .table_name(name)
            .send()
            .await
            .unwrap()
            .table
            .unwrap();
        let wanted = spec.definition();
        let keys: Vec<(String, String)> = table
            .key_schema()
            .iter()
            .map(|k| {
                (
                    k.attribute_name().to_string(),
                    k.key_type().as_str().to_string(),
                )
            })
            .collect();
        assert_eq!(keys, key_pairs(&wanted["KeySchema"]), "{name}");
        let mut indexes: Vec<IndexShape> = table
            .global_secondary_indexes()
            .iter()
            .map(|i| {
                (
                    i.index_name().unwrap().to_string(),
                    i.key_schema()
                        .iter()
                        .map(|k| {
                            (
                                k.attribute_name().to_string(),
                                k.key_type().as_str().to_string(),
                            )
                        })
                        .collect(),
                    i.projection()
                        .and_then(|p| p.projection_type())
                        .map(ProjectionType::as_str)
                        .unwrap()
                        .to_string(),
                )
            })
            .collect();
        indexes.sort();
        let mut wanted_indexes: Vec<_> = wanted["GlobalSecondaryIndexes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| {
                (
                    i["IndexName"].as_str().unwrap().to_string(),
                    key_pairs(&i["KeySchema"]),
                    i["Projection"]["ProjectionType"]
                        .as_str()
                        .unwrap()
                        .to_string(),
                )
            })
            .collect();
        wanted_indexes.sort();
        assert_eq!(indexes, wanted_indexes, "{name}");
        assert_eq!(table.key_schema()[0].key_type(), &KeyType::Hash);

        let ttl = dynamo
            .describe_time_to_live()
            .table_name(name)
            .send()
            .await
            .unwrap()
            .time_to_live_description
            .unwrap();
        assert_eq!(ttl.attribute_name(), spec.ttl_attribute(), "{name}");
        assert_eq!(ttl.time_to_live_status(), Some(&TimeToLiveStatus::Enabled));
    }
    assert!(
        made.topic_arn("ContentEventsTopic")
            .unwrap()
            .ends_with(":provision-test-ContentEventsTopic")
    );
}

/// An index's name, key schema and projection type.
type IndexShape = (String, Vec<(String, String)>, String);

fn key_pairs(keys: &Value) -> Vec<(String, String)> {
    keys.as_array()
        .unwrap()
        .iter()
        .map(|k| {
            (
                k["AttributeName"].as_str().unwrap().to_string(),
                k["KeyType"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// A queue subscribed with the template's filter policy receives what the build trigger would:
/// a build-requiring content change, and not an inventory update or a change needing no build.
#[tokio::test]
async fn the_subscription_filters_as_deployed() {
    let config = MotoServer::shared().sdk_config().await;
    let dynamo = aws_sdk_dynamodb::Client::new(&config);
    let sns = aws_sdk_sns::Client::new(&config);
    let sqs = aws_sdk_sqs::Client::new(&config);
    let template = Template::shipped().unwrap();
    let made = provision(&template, &dynamo, &sns, "filter-test")
        .await
        .unwrap();
    let queue_url = sqs
        .create_queue()
        .queue_name("filter-test-build-trigger")
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let queue_arn = format!(
        "arn:aws:sqs:{}:{}:filter-test-build-trigger",
        moto_server::REGION,
        moto_server::ACCOUNT_ID
    );
    made.subscribe(
        &template,
        &sns,
        "BuildTriggerSubscription",
        "sqs",
        &queue_arn,
    )
    .await
    .unwrap();
    let topic = made.topic_arn("ContentEventsTopic").unwrap();
    let text = |v: &str| {
        MessageAttributeValue::builder()
            .data_type("String")
            .string_value(v)
            .build()
            .unwrap()
    };
    for (body, event_type, requires_build) in [
        ("wanted", "content.updated", "true"),
        ("no build", "content.updated", "false"),
        ("stock", "inventory.updated", "true"),
        ("deleted", "content.deleted", "true"),
    ] {
        sns.publish()
            .topic_arn(topic)
            .message(body)
            .message_attributes("event_type", text(event_type))
            .message_attributes("requires_build", text(requires_build))
            .send()
            .await
            .unwrap();
    }
    let mut bodies = Vec::new();
    for _ in 0..3 {
        let out = sqs
            .receive_message()
            .queue_url(&queue_url)
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap();
        for message in out.messages() {
            let envelope: Value = serde_json::from_str(message.body().unwrap()).unwrap();
            bodies.push(envelope["Message"].as_str().unwrap().to_string());
        }
    }
    bodies.sort();
    assert_eq!(bodies, ["deleted", "wanted"]);
}
