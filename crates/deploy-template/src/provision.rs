//! Creating the template's tables and topics on a DynamoDB and SNS endpoint (moto in tests).

use std::collections::BTreeMap;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};
use serde::Deserialize;

use crate::template::{TableSpec, Template, TemplateError};

/// A table or topic that could not be created.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProvisionError {
    /// The template does not hold what is needed.
    #[error(transparent)]
    Template(#[from] TemplateError),
    /// The table's definition does not have the shape of a `CreateTable` input.
    #[error("table {logical_id}: its definition is not a CreateTable input")]
    Definition {
        /// The table's logical id.
        logical_id: String,
        /// What is wrong.
        #[source]
        source: serde_json::Error,
    },
    /// DynamoDB or SNS refused a call.
    #[error("{operation} of {name} failed")]
    Aws {
        /// The call, such as `CreateTable`.
        operation: &'static str,
        /// The table, topic or subscription.
        name: String,
        /// The service's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// What [`provision`] created: physical names by logical id.
#[derive(Debug, Clone, Default)]
pub struct Provisioned {
    tables: BTreeMap<String, String>,
    topics: BTreeMap<String, String>,
}

impl Provisioned {
    /// The table name created for the template's table `logical_id`.
    pub fn table(&self, logical_id: &str) -> Option<&str> {
        self.tables.get(logical_id).map(String::as_str)
    }

    /// The topic ARN created for the template's topic `logical_id`.
    pub fn topic_arn(&self, logical_id: &str) -> Option<&str> {
        self.topics.get(logical_id).map(String::as_str)
    }

    /// Subscribes `endpoint` (an SQS queue ARN, say) to the topic of the template's
    /// subscription `subscription` with that subscription's filter policy and scope, so a test
    /// receives exactly the events the deployed function would.
    pub async fn subscribe(
        &self,
        template: &Template,
        sns: &aws_sdk_sns::Client,
        subscription: &str,
        protocol: &str,
        endpoint: &str,
    ) -> Result<String, ProvisionError> {
        let (policy, scope) = template.filter_policy(subscription)?;
        let topic_id = template.subscription_topic(subscription)?;
        let topic = self
            .topics
            .get(&topic_id)
            .cloned()
            .ok_or(TemplateError::Missing {
                logical_id: topic_id,
                kind: "AWS::SNS::Topic",
            })?;
        let fail = |source: Box<dyn std::error::Error + Send + Sync>| ProvisionError::Aws {
            operation: "Subscribe",
            name: subscription.to_string(),
            source,
        };
        let out = sns
            .subscribe()
            .topic_arn(&topic)
            .protocol(protocol)
            .endpoint(endpoint)
            .attributes("FilterPolicy", policy.to_string())
            .attributes("FilterPolicyScope", scope)
            .return_subscription_arn(true)
            .send()
            .await
            .map_err(|e| fail(Box::new(aws_sdk_sns::Error::from(e))))?;
        Ok(out.subscription_arn.unwrap_or_default())
    }
}

/// Creates every table (with its indexes and TTL) and every topic of `template`, named
/// `<prefix>-<LogicalId>` so that tests sharing one server keep apart. Existing ones are
/// reused.
pub async fn provision(
    template: &Template,
    dynamo: &aws_sdk_dynamodb::Client,
    sns: &aws_sdk_sns::Client,
    prefix: &str,
) -> Result<Provisioned, ProvisionError> {
    let mut provisioned = Provisioned::default();
    for table in template.tables()? {
        let name = format!("{prefix}-{}", table.logical_id());
        create_table(dynamo, &table, &name).await?;
        provisioned
            .tables
            .insert(table.logical_id().to_string(), name);
    }
    for logical_id in template.logical_ids("AWS::SNS::Topic") {
        let name = format!("{prefix}-{logical_id}");
        let out = sns
            .create_topic()
            .name(&name)
            .send()
            .await
            .map_err(|e| ProvisionError::Aws {
                operation: "CreateTopic",
                name: name.clone(),
                source: Box::new(aws_sdk_sns::Error::from(e)),
            })?;
        provisioned
            .topics
            .insert(logical_id.to_string(), out.topic_arn.unwrap_or_default());
    }
    Ok(provisioned)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Definition {
    attribute_definitions: Vec<Attribute>,
    key_schema: Vec<Key>,
    #[serde(default)]
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
        .filter_map(|k| {
            KeySchemaElement::builder()
                .attribute_name(&k.attribute_name)
                .key_type(KeyType::from(k.key_type.as_str()))
                .build()
                .ok()
        })
        .collect()
}

async fn create_table(
    client: &aws_sdk_dynamodb::Client,
    table: &TableSpec,
    name: &str,
) -> Result<(), ProvisionError> {
    let definition: Definition =
        serde_json::from_value(table.definition().clone()).map_err(|source| {
            ProvisionError::Definition {
                logical_id: table.logical_id().to_string(),
                source,
            }
        })?;
    let fail = |operation| {
        move |source: aws_sdk_dynamodb::Error| ProvisionError::Aws {
            operation,
            name: name.to_string(),
            source: Box::new(source),
        }
    };
    let mut request = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .set_key_schema(Some(keys(&definition.key_schema)));
    for a in &definition.attribute_definitions {
        request = request.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(&a.attribute_name)
                .attribute_type(ScalarAttributeType::from(a.attribute_type.as_str()))
                .build()
                .map_err(|e| fail("CreateTable")(e.into()))?,
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
                .map_err(|e| fail("CreateTable")(e.into()))?,
        );
    }
    match request.send().await.map_err(aws_sdk_dynamodb::Error::from) {
        Ok(_) => {}
        // A table left by an earlier run of the same test is the same table.
        Err(aws_sdk_dynamodb::Error::ResourceInUseException(_)) => return Ok(()),
        Err(error) => return Err(fail("CreateTable")(error)),
    }
    if let Some(attribute) = table.ttl_attribute() {
        let spec = TimeToLiveSpecification::builder()
            .attribute_name(attribute)
            .enabled(true)
            .build()
            .map_err(|e| fail("UpdateTimeToLive")(e.into()))?;
        client
            .update_time_to_live()
            .table_name(name)
            .time_to_live_specification(spec)
            .send()
            .await
            .map_err(|e| fail("UpdateTimeToLive")(e.into()))?;
    }
    Ok(())
}
