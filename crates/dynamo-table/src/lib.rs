//! A DynamoDB table definition in the shape of `CreateTable`'s input (and of an
//! `AWS::DynamoDB::Table`'s properties, which use the same names), and the one way this project
//! creates such a table: on demand, with its indexes, then TTL.
//!
//! The content cache, the batch table and the deploy template's provisioning all create their
//! tables through [`TableDefinition::create`], so the three cannot build them differently.
#![deny(missing_docs)]

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};
use serde::Deserialize;

/// The attributes, key schema and global secondary indexes of a table. Other fields of the
/// source (`BillingMode`, `TimeToLiveSpecification`, …) are ignored: tables are always on
/// demand, and TTL is the caller's to name.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TableDefinition {
    attribute_definitions: Vec<Attribute>,
    key_schema: Vec<Key>,
    #[serde(default)]
    global_secondary_indexes: Vec<Index>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Attribute {
    attribute_name: String,
    attribute_type: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Key {
    attribute_name: String,
    key_type: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Index {
    index_name: String,
    key_schema: Vec<Key>,
    #[serde(default)]
    projection: IndexProjection,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct IndexProjection {
    projection_type: String,
    #[serde(default)]
    non_key_attributes: Vec<String>,
}

impl Default for IndexProjection {
    fn default() -> Self {
        IndexProjection {
            projection_type: "ALL".to_string(),
            non_key_attributes: Vec::new(),
        }
    }
}

/// Why a table could not be created.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CreateError {
    /// The definition names a key, attribute or index without a required part.
    #[error("the definition of table {table} is incomplete")]
    Definition {
        /// The table being created.
        table: String,
        /// The cause.
        #[source]
        source: aws_sdk_dynamodb::error::BuildError,
    },
    /// DynamoDB refused a request.
    #[error("{operation} of table {table} failed")]
    Aws {
        /// `CreateTable` or `UpdateTimeToLive`.
        operation: &'static str,
        /// The table being created.
        table: String,
        /// The cause.
        #[source]
        source: Box<aws_sdk_dynamodb::Error>,
    },
}

impl TableDefinition {
    /// Reads a definition from JSON text (a `deploy/*.json` file).
    pub fn from_json(text: &str) -> Result<TableDefinition, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// Reads a definition from a parsed value (a template's table properties).
    pub fn from_value(value: serde_json::Value) -> Result<TableDefinition, serde_json::Error> {
        serde_json::from_value(value)
    }

    /// The names of the global secondary indexes, in definition order.
    pub fn index_names(&self) -> impl Iterator<Item = &str> {
        self.global_secondary_indexes
            .iter()
            .map(|i| i.index_name.as_str())
    }

    /// Creates the table `table` on demand with its indexes, then turns on TTL on
    /// `ttl_attribute` when given. A table that already exists is left as it is.
    pub async fn create(
        &self,
        client: &Client,
        table: &str,
        ttl_attribute: Option<&str>,
    ) -> Result<(), CreateError> {
        let incomplete = |source| CreateError::Definition {
            table: table.to_string(),
            source,
        };
        let keys = |keys: &[Key]| {
            keys.iter()
                .map(|k| {
                    KeySchemaElement::builder()
                        .attribute_name(&k.attribute_name)
                        .key_type(KeyType::from(k.key_type.as_str()))
                        .build()
                })
                .collect::<Result<Vec<_>, _>>()
        };
        let mut request = client
            .create_table()
            .table_name(table)
            .billing_mode(BillingMode::PayPerRequest)
            .set_key_schema(Some(keys(&self.key_schema).map_err(incomplete)?));
        for a in &self.attribute_definitions {
            request = request.attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name(&a.attribute_name)
                    .attribute_type(ScalarAttributeType::from(a.attribute_type.as_str()))
                    .build()
                    .map_err(incomplete)?,
            );
        }
        for index in &self.global_secondary_indexes {
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
                    .set_key_schema(Some(keys(&index.key_schema).map_err(incomplete)?))
                    .projection(projection)
                    .build()
                    .map_err(incomplete)?,
            );
        }
        let failed = |operation| {
            move |source: aws_sdk_dynamodb::Error| CreateError::Aws {
                operation,
                table: table.to_string(),
                source: Box::new(source),
            }
        };
        match request.send().await.map_err(aws_sdk_dynamodb::Error::from) {
            Ok(_) => {}
            Err(aws_sdk_dynamodb::Error::ResourceInUseException(_)) => return Ok(()),
            Err(error) => return Err(failed("CreateTable")(error)),
        }
        if let Some(attribute) = ttl_attribute {
            let spec = TimeToLiveSpecification::builder()
                .attribute_name(attribute)
                .enabled(true)
                .build()
                .map_err(incomplete)?;
            client
                .update_time_to_live()
                .table_name(table)
                .time_to_live_specification(spec)
                .send()
                .await
                .map_err(|e| failed("UpdateTimeToLive")(e.into()))?;
        }
        Ok(())
    }
}
