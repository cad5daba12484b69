//! The template's tables and topic on moto (or a proxy in front of it), created by the
//! deploy-template crate from `deploy/template.yaml`, so that tests run against exactly what
//! the template deploys.

use deploy_template::{Provisioned, Template};
use error_line::error_line;
use integration_api::DynamoStore;
use moto_server::MotoServer;

/// The template's logical id of the content cache table.
pub const CONTENT_TABLE: &str = "ContentTable";
/// The template's logical id of the content events topic.
pub const EVENTS_TOPIC: &str = "ContentEventsTopic";

/// Creates every table and topic of the shipped template, named `<prefix>-<LogicalId>`;
/// existing ones are reused.
pub async fn provision(
    dynamo: &aws_sdk_dynamodb::Client,
    sns: &aws_sdk_sns::Client,
    prefix: &str,
) -> Provisioned {
    let template = Template::shipped().expect("the shipped template reads");
    deploy_template::provision(&template, dynamo, sns, prefix)
        .await
        .unwrap_or_else(|e| panic!("provisioning {prefix}: {}", error_line(&e)))
}

/// The content cache table the template deploys, named after `prefix`; only that table is
/// created, since a store test needs no other table or topic.
pub async fn content_table(dynamo: &aws_sdk_dynamodb::Client, prefix: &str) -> String {
    let template = Template::shipped().expect("the shipped template reads");
    deploy_template::provision_table(&template, dynamo, CONTENT_TABLE, prefix)
        .await
        .unwrap_or_else(|e| panic!("creating {prefix}-{CONTENT_TABLE}: {}", error_line(&e)))
}

/// `client_id`'s store on the shared moto, in a content table of its own named after `prefix`.
pub async fn dynamo_store(prefix: &str, client_id: &str) -> DynamoStore {
    let client = aws_sdk_dynamodb::Client::new(&MotoServer::shared().sdk_config().await);
    let table = content_table(&client, prefix).await;
    DynamoStore::new(client, table, client_id)
}
