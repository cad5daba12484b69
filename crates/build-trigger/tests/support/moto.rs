//! The batch table and AWS clients against moto's shared server.

use build_trigger::{BatchTable, DynamoBatchStore};
use moto_server::MotoServer;

/// A table name of its own for each test, since tests share one server.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

/// A DynamoDB store over a fresh batch table created from `deploy/batch-table.json`.
pub async fn batch_store(prefix: &str) -> DynamoBatchStore {
    let config = MotoServer::shared().sdk_config().await;
    let client = aws_sdk_dynamodb::Client::new(&config);
    let table = unique(prefix);
    BatchTable::definition()
        .create(&client, &table)
        .await
        .unwrap();
    DynamoBatchStore::new(client, table)
}
