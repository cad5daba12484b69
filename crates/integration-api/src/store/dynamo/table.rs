//! The content cache table: its one definition (`deploy/content-cache-table.json`, which the
//! deploy template reads too) and the helper that creates it.

use aws_sdk_dynamodb::Client;
use dynamo_table::TableDefinition;

use crate::store::StoreError;

/// The table definition, in the shape of DynamoDB's `CreateTable` input (without the table
/// name), so that `aws dynamodb create-table --table-name T --cli-input-json file://...` takes
/// it as it is.
pub const TABLE_DEFINITION: &str = include_str!("../../../../../deploy/content-cache-table.json");

/// The attribute whose epoch seconds expire tombstones, deletion markers and delivery ids.
/// Live content never has it.
pub const TTL_ATTRIBUTE: &str = "ttl";

/// Creates the content cache table `table` with its indexes, and turns on TTL. A table that
/// already exists is left as it is.
pub async fn create_table(client: &Client, table: &str) -> Result<(), StoreError> {
    let definition =
        TableDefinition::from_json(TABLE_DEFINITION).expect("the shipped table definition parses");
    definition
        .create(client, table, Some(TTL_ATTRIBUTE))
        .await
        .map_err(|error| StoreError::Open {
            location: format!("DynamoDB table {table}"),
            source: error.into(),
        })
}

/// The index names the store queries, checked against the definition by a test.
pub(super) const CLIENT_CONTENT_TYPE_INDEX: &str = "ClientContentTypeIndex";
pub(super) const CLIENT_SYNCED_INDEX: &str = "ClientSyncedIndex";
pub(super) const OUTBOX_INDEX: &str = "OutboxIndex";
