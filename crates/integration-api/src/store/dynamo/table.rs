//! The content cache table: its one definition (`deploy/content-cache-table.json`, which the
//! deploy template reads too) and the helper that creates it.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};
use serde::Deserialize;

use crate::store::StoreError;

/// The table definition, in the shape of DynamoDB's `CreateTable` input (without the table
/// name), so that `aws dynamodb create-table --table-name T --cli-input-json file://...` takes
/// it as it is.
pub const TABLE_DEFINITION: &str = include_str!("../../../../../deploy/content-cache-table.json");

/// The attribute whose epoch seconds expire tombstones, deletion markers and delivery ids.
/// Live content never has it.
pub const TTL_ATTRIBUTE: &str = "ttl";

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Definition {
    attribute_definitions: Vec<Attribute>,
    key_schema: Vec<Key>,
    global_secondary_indexes: Vec<Index>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Attribute {
    attribute_name: String,
    attribute_type: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Key {
    attribute_name: String,
    key_type: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Index {
    index_name: String,
    key_schema: Vec<Key>,
    projection: IndexProjection,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct IndexProjection {
    projection_type: String,
    #[serde(default)]
    non_key_attributes: Vec<String>,
}

fn keys(keys: &[Key]) -> Vec<KeySchemaElement> {
    keys.iter()
        .map(|k| {
            KeySchemaElement::builder()
                .attribute_name(&k.attribute_name)
                .key_type(KeyType::from(k.key_type.as_str()))
                .build()
                .expect("name and type are set")
        })
        .collect()
}

fn failed(table: &str) -> impl Fn(aws_sdk_dynamodb::Error) -> StoreError {
    let table = table.to_string();
    move |error| StoreError::Open {
        location: format!("DynamoDB table {table}"),
        source: error.into(),
    }
}

/// Creates the content cache table `table` with its indexes, and turns on TTL. A table that
/// already exists is left as it is.
pub async fn create_table(client: &Client, table: &str) -> Result<(), StoreError> {
    let definition: Definition =
        serde_json::from_str(TABLE_DEFINITION).expect("the shipped table definition parses");
    let mut request = client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .set_key_schema(Some(keys(&definition.key_schema)));
    for a in &definition.attribute_definitions {
        request = request.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(&a.attribute_name)
                .attribute_type(ScalarAttributeType::from(a.attribute_type.as_str()))
                .build()
                .expect("name and type are set"),
        );
    }
    for index in &definition.global_secondary_indexes {
        let projection = Projection::builder()
            .projection_type(ProjectionType::from(
                index.projection.projection_type.as_str(),
            ))
            .set_non_key_attributes(
                (!index.projection.non_key_attributes.is_empty())
                    .then(|| index.projection.non_key_attributes.clone()),
            )
            .build();
        request = request.global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(&index.index_name)
                .set_key_schema(Some(keys(&index.key_schema)))
                .projection(projection)
                .build()
                .expect("name and keys are set"),
        );
    }
    match request.send().await.map_err(aws_sdk_dynamodb::Error::from) {
        Ok(_) => {}
        Err(aws_sdk_dynamodb::Error::ResourceInUseException(_)) => return Ok(()),
        Err(error) => return Err(failed(table)(error)),
    }
    client
        .update_time_to_live()
        .table_name(table)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .attribute_name(TTL_ATTRIBUTE)
                .enabled(true)
                .build()
                .expect("name and flag are set"),
        )
        .send()
        .await
        .map_err(|e| failed(table)(e.into()))?;
    Ok(())
}

/// The index names the store queries, checked against the definition by a test.
pub(super) const CLIENT_CONTENT_TYPE_INDEX: &str = "ClientContentTypeIndex";
pub(super) const CLIENT_SYNCED_INDEX: &str = "ClientSyncedIndex";
pub(super) const OUTBOX_INDEX: &str = "OutboxIndex";
