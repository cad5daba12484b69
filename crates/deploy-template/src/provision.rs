//! Creating the template's tables and topics on a DynamoDB and SNS endpoint (moto in tests).

use std::collections::BTreeMap;

use dynamo_table::TableDefinition;

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

/// Creates only the template's table `logical_id`, named `<prefix>-<LogicalId>` as
/// [`provision`] names it, for a test that needs that table and nothing else; an existing one
/// is reused. Returns the table's name.
pub async fn provision_table(
    template: &Template,
    dynamo: &aws_sdk_dynamodb::Client,
    logical_id: &str,
    prefix: &str,
) -> Result<String, ProvisionError> {
    let table = template.table(logical_id)?;
    let name = format!("{prefix}-{logical_id}");
    create_table(dynamo, &table, &name).await?;
    Ok(name)
}

async fn create_table(
    client: &aws_sdk_dynamodb::Client,
    table: &TableSpec,
    name: &str,
) -> Result<(), ProvisionError> {
    let definition = TableDefinition::from_value(table.definition().clone()).map_err(|source| {
        ProvisionError::Definition {
            logical_id: table.logical_id().to_string(),
            source,
        }
    })?;
    // A table left by an earlier run of the same test is the same table: create leaves it.
    definition
        .create(client, name, table.ttl_attribute())
        .await
        .map_err(|e| ProvisionError::Aws {
            operation: "CreateTable",
            name: name.to_string(),
            source: Box::new(e),
        })
}
