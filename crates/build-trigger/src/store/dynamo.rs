//! The batch table in DynamoDB (`deploy/batch-table.json`).
//!
//! One table holds every row, told apart by the key's prefix: batches (`batch-<uuid>`, the
//! only rows with `client_id` and `status`, so `ClientActiveIndex` holds batches alone), the
//! client's active-batch pointer (`active#<client>`, which makes "one active batch per client"
//! a conditional write), event holds (`event#<id>`), last built digests
//! (`digest#<client>#<entity>`) and fallback slots (`fallback#<client>#<window>`). Every
//! transition is a conditional write or transaction.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::{
    AttributeValue, Delete, KeysAndAttributes, Put, PutRequest, TransactWriteItem, Update,
    WriteRequest,
};
use chrono::{DateTime, TimeDelta, Utc};
use dynamo_table::TableDefinition;
use serde::Deserialize;

use super::{
    Batch, BatchStatus, BatchStore, BuildType, ClientSnapshot, Finish, StoreError, from_millis,
    millis,
};
use crate::change::Change;
use crate::decision::{ActiveBatch, CEILING_SPAN, ClientState};

/// The batch table's definition, the one source for code, tests and the deploy template.
pub const BATCH_TABLE_JSON: &str = include_str!("../../../../deploy/batch-table.json");
/// The index of batches by client and status.
pub const CLIENT_ACTIVE_INDEX: &str = "ClientActiveIndex";
/// How long finished batches, event holds and fallback slots are kept (DynamoDB TTL).
const KEEP_FOR: TimeDelta = TimeDelta::days(7);
/// DynamoDB's limit of items per transaction, less the batch row and the pointer.
const EVENTS_PER_TRANSACTION: usize = 98;

/// The batch table definition of `deploy/batch-table.json`: the table and the attribute its
/// TTL expires rows by.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct BatchTable {
    #[serde(flatten)]
    table: TableDefinition,
    time_to_live_attribute: String,
}

impl BatchTable {
    /// The definition committed in `deploy/batch-table.json`.
    pub fn definition() -> BatchTable {
        serde_json::from_str(BATCH_TABLE_JSON).expect("deploy/batch-table.json is valid")
    }

    /// Creates the table `name` (on-demand, with its index and TTL); an existing table is
    /// left as it is.
    pub async fn create(&self, client: &Client, name: &str) -> Result<(), StoreError> {
        self.table
            .create(client, name, Some(&self.time_to_live_attribute))
            .await
            .map_err(|e| StoreError::Dynamo {
                operation: "CreateTable",
                table: name.to_owned(),
                source: Box::new(e),
            })
    }
}

/// Batch state in the DynamoDB batch table.
#[derive(Debug, Clone)]
pub struct DynamoBatchStore {
    client: Client,
    table: String,
}

impl DynamoBatchStore {
    /// A store over the table `table`.
    pub fn new(client: Client, table: impl Into<String>) -> DynamoBatchStore {
        DynamoBatchStore {
            client,
            table: table.into(),
        }
    }

    fn fail<E>(&self, operation: &'static str) -> impl FnOnce(E) -> StoreError + '_
    where
        E: std::error::Error + Send + Sync + 'static,
    {
        move |e| StoreError::Dynamo {
            operation,
            table: self.table.clone(),
            source: Box::new(e),
        }
    }

    fn conflict(&self, client_id: &str) -> StoreError {
        StoreError::Conflict {
            client_id: client_id.to_owned(),
        }
    }

    async fn get(&self, key: &str) -> Result<Option<HashMap<String, AttributeValue>>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("batch_id", s(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(self.fail("GetItem"))?;
        Ok(out.item)
    }

    /// Runs a transaction; a failed condition is a [`StoreError::Conflict`].
    async fn transact(
        &self,
        client_id: &str,
        items: Vec<TransactWriteItem>,
    ) -> Result<(), StoreError> {
        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(SdkError::ServiceError(e)) if is_condition_failure(e.err()) => {
                Err(self.conflict(client_id))
            }
            Err(e) => Err(self.fail("TransactWriteItems")(e)),
        }
    }

    fn put(&self, item: HashMap<String, AttributeValue>, condition: &str) -> TransactWriteItem {
        TransactWriteItem::builder()
            .put(
                Put::builder()
                    .table_name(&self.table)
                    .set_item(Some(item))
                    .condition_expression(condition)
                    .build()
                    .expect("table and item are set"),
            )
            .build()
    }

    fn holds(
        &self,
        batch_id: &str,
        event_ids: &[String],
        now: DateTime<Utc>,
    ) -> Vec<TransactWriteItem> {
        event_ids
            .iter()
            .map(|id| {
                let item = HashMap::from([
                    ("batch_id".to_owned(), s(&format!("event#{id}"))),
                    ("held_by".to_owned(), s(batch_id)),
                    ("expires_at".to_owned(), n((now + KEEP_FOR).timestamp())),
                ]);
                self.put(item, "attribute_not_exists(batch_id)")
            })
            .collect()
    }

    fn too_many(&self, client_id: &str, event_ids: &[String]) -> Result<(), StoreError> {
        if event_ids.len() > EVENTS_PER_TRANSACTION {
            return Err(StoreError::Corrupt {
                batch_id: format!("client {client_id}"),
                detail: format!(
                    "{} events in one write; at most {EVENTS_PER_TRANSACTION} fit a DynamoDB transaction",
                    event_ids.len()
                ),
            });
        }
        Ok(())
    }

    async fn recent_builds(
        &self,
        client_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<DateTime<Utc>>, StoreError> {
        let mut out = Vec::new();
        for status in [BatchStatus::Building, BatchStatus::Done] {
            let mut pages = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(CLIENT_ACTIVE_INDEX)
                .key_condition_expression("client_id = :c AND #s = :s")
                .filter_expression("started_at >= :since")
                .expression_attribute_names("#s", "status")
                .expression_attribute_values(":c", s(client_id))
                .expression_attribute_values(":s", s(status.as_str()))
                .expression_attribute_values(":since", n(millis(now - CEILING_SPAN)))
                .into_paginator()
                .items()
                .send();
            while let Some(item) = pages.next().await {
                let item = item.map_err(self.fail("Query"))?;
                let key = text(&item, "batch_id").unwrap_or_default();
                out.push(from_millis(
                    &key,
                    number(&item, "started_at").unwrap_or_default(),
                )?);
            }
        }
        Ok(out)
    }

    async fn get_many(
        &self,
        keys: Vec<String>,
    ) -> Result<Vec<HashMap<String, AttributeValue>>, StoreError> {
        let mut found = Vec::new();
        for chunk in keys.chunks(100) {
            let mut request = KeysAndAttributes::builder().consistent_read(true);
            for key in chunk {
                request = request.keys(HashMap::from([("batch_id".to_owned(), s(key))]));
            }
            let mut pending = Some(HashMap::from([(
                self.table.clone(),
                request.build().expect("keys are set"),
            )]));
            while let Some(items) = pending.take().filter(|p| !p.is_empty()) {
                let out = self
                    .client
                    .batch_get_item()
                    .set_request_items(Some(items))
                    .send()
                    .await
                    .map_err(self.fail("BatchGetItem"))?;
                if let Some(mut responses) = out.responses {
                    found.extend(responses.remove(&self.table).unwrap_or_default());
                }
                pending = out.unprocessed_keys;
            }
        }
        Ok(found)
    }
}

#[async_trait]
impl BatchStore for DynamoBatchStore {
    async fn snapshot(
        &self,
        client_id: &str,
        entities: &[String],
        now: DateTime<Utc>,
    ) -> Result<ClientSnapshot, StoreError> {
        let mut active = None;
        if let Some(pointer) = self.get(&format!("active#{client_id}")).await? {
            let current = text(&pointer, "current").unwrap_or_default();
            active = self
                .batch(&current)
                .await?
                .filter(|b| b.status == BatchStatus::Active);
        }
        let recent_builds = self.recent_builds(client_id, now).await?;
        let keys = entities
            .iter()
            .map(|e| format!("digest#{client_id}#{e}"))
            .collect();
        let prefix = format!("digest#{client_id}#");
        let built_digests = self
            .get_many(keys)
            .await?
            .into_iter()
            .filter_map(|item| {
                let key = text(&item, "batch_id")?;
                Some((
                    key.strip_prefix(&prefix)?.to_owned(),
                    text(&item, "digest")?,
                ))
            })
            .collect();
        Ok(ClientSnapshot {
            active_version: active.as_ref().map(|b| b.version),
            state: ClientState {
                active: active.map(|b| ActiveBatch {
                    batch_id: b.batch_id,
                    opened_at: b.opened_at,
                    event_count: b.event_count,
                }),
                recent_builds,
                built_digests,
            },
        })
    }

    async fn unseen(&self, event_ids: &[String]) -> Result<Vec<String>, StoreError> {
        let keys = event_ids.iter().map(|id| format!("event#{id}")).collect();
        let held: std::collections::HashSet<String> = self
            .get_many(keys)
            .await?
            .iter()
            .filter_map(|item| text(item, "batch_id"))
            .collect();
        Ok(event_ids
            .iter()
            .filter(|id| !held.contains(&format!("event#{id}")))
            .cloned()
            .collect())
    }

    async fn add_to_active(
        &self,
        client_id: &str,
        expected_version: Option<u32>,
        event_ids: &[String],
        changes: Vec<Change>,
        now: DateTime<Utc>,
    ) -> Result<Batch, StoreError> {
        self.too_many(client_id, event_ids)?;
        let pointer_key = format!("active#{client_id}");
        let (batch, mut items) = match expected_version {
            None => {
                let batch = Batch::open(
                    client_id,
                    BatchStatus::Active,
                    BuildType::Batch,
                    changes,
                    now,
                );
                let pointer = HashMap::from([
                    ("batch_id".to_owned(), s(&pointer_key)),
                    ("current".to_owned(), s(&batch.batch_id)),
                ]);
                let items = vec![
                    self.put(pointer, "attribute_not_exists(batch_id)"),
                    self.put(batch_item(&batch, now), "attribute_not_exists(batch_id)"),
                ];
                (batch, items)
            }
            Some(version) => {
                let pointer = self
                    .get(&pointer_key)
                    .await?
                    .ok_or_else(|| self.conflict(client_id))?;
                let current = text(&pointer, "current").unwrap_or_default();
                let mut batch = self
                    .batch(&current)
                    .await?
                    .ok_or_else(|| self.conflict(client_id))?;
                if batch.status != BatchStatus::Active || batch.version != version {
                    return Err(self.conflict(client_id));
                }
                batch.merge(changes);
                let put = Put::builder()
                    .table_name(&self.table)
                    .set_item(Some(batch_item(&batch, now)))
                    .condition_expression("#s = :active AND version = :v")
                    .expression_attribute_names("#s", "status")
                    .expression_attribute_values(":active", s(BatchStatus::Active.as_str()))
                    .expression_attribute_values(":v", n(version))
                    .build()
                    .expect("table and item are set");
                (batch, vec![TransactWriteItem::builder().put(put).build()])
            }
        };
        items.extend(self.holds(&batch.batch_id, event_ids, now));
        self.transact(client_id, items).await?;
        Ok(batch)
    }

    async fn open_building(
        &self,
        client_id: &str,
        build_type: BuildType,
        event_ids: &[String],
        changes: Vec<Change>,
        now: DateTime<Utc>,
    ) -> Result<Batch, StoreError> {
        self.too_many(client_id, event_ids)?;
        let batch = Batch::open(client_id, BatchStatus::Building, build_type, changes, now);
        let mut items = vec![self.put(batch_item(&batch, now), "attribute_not_exists(batch_id)")];
        items.extend(self.holds(&batch.batch_id, event_ids, now));
        self.transact(client_id, items).await?;
        Ok(batch)
    }

    async fn claim(&self, batch_id: &str, now: DateTime<Utc>) -> Result<Option<Batch>, StoreError> {
        let Some(batch) = self.batch(batch_id).await? else {
            return Ok(None);
        };
        if batch.status != BatchStatus::Active {
            return Ok(None);
        }
        let update = Update::builder()
            .table_name(&self.table)
            .key("batch_id", s(batch_id))
            .update_expression("SET #s = :building, started_at = :now, version = version + :one")
            .condition_expression("#s = :active")
            .expression_attribute_names("#s", "status")
            .expression_attribute_values(":building", s(BatchStatus::Building.as_str()))
            .expression_attribute_values(":active", s(BatchStatus::Active.as_str()))
            .expression_attribute_values(":now", n(millis(now)))
            .expression_attribute_values(":one", n(1))
            .build()
            .expect("table, key and expression are set");
        let release = Delete::builder()
            .table_name(&self.table)
            .key("batch_id", s(&format!("active#{}", batch.client_id)))
            .condition_expression("#c = :me")
            .expression_attribute_names("#c", "current")
            .expression_attribute_values(":me", s(batch_id))
            .build()
            .expect("table, key and expression are set");
        let items = vec![
            TransactWriteItem::builder().update(update).build(),
            TransactWriteItem::builder().delete(release).build(),
        ];
        match self.transact(&batch.client_id, items).await {
            Ok(()) => self.batch(batch_id).await,
            Err(StoreError::Conflict { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn finish(&self, batch: &Batch, finish: &Finish) -> Result<(), StoreError> {
        let (status, detail_name, detail) = match finish {
            Finish::Started { build_id } => (BatchStatus::Done, "build_id", build_id),
            Finish::Failed { reason } => (BatchStatus::Failed, "error", reason),
        };
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("batch_id", s(&batch.batch_id))
            .update_expression("SET #s = :to, #d = :d, expires_at = :exp, version = version + :one")
            .condition_expression("#s = :building")
            .expression_attribute_names("#s", "status")
            .expression_attribute_names("#d", detail_name)
            .expression_attribute_values(":to", s(status.as_str()))
            .expression_attribute_values(":building", s(BatchStatus::Building.as_str()))
            .expression_attribute_values(":d", s(detail))
            .expression_attribute_values(":exp", n((Utc::now() + KEEP_FOR).timestamp()))
            .expression_attribute_values(":one", n(1))
            .send()
            .await;
        match result {
            Ok(_) => {}
            Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => {
                return Err(self.conflict(&batch.client_id));
            }
            Err(e) => return Err(self.fail("UpdateItem")(e)),
        }
        if status != BatchStatus::Done {
            return Ok(());
        }
        let writes: Vec<WriteRequest> = batch
            .changes
            .iter()
            .map(|change| {
                let item = HashMap::from([
                    (
                        "batch_id".to_owned(),
                        s(&format!("digest#{}#{}", batch.client_id, change.entity())),
                    ),
                    ("digest".to_owned(), s(&change.digest)),
                    ("built_by".to_owned(), s(&batch.batch_id)),
                ]);
                let put = PutRequest::builder().set_item(Some(item)).build();
                WriteRequest::builder()
                    .put_request(put.expect("item is set"))
                    .build()
            })
            .collect();
        for chunk in writes.chunks(25) {
            let mut pending = Some(HashMap::from([(self.table.clone(), chunk.to_vec())]));
            while let Some(items) = pending.take().filter(|p| !p.is_empty()) {
                let out = self
                    .client
                    .batch_write_item()
                    .set_request_items(Some(items))
                    .send()
                    .await
                    .map_err(self.fail("BatchWriteItem"))?;
                pending = out.unprocessed_items;
            }
        }
        Ok(())
    }

    async fn batch(&self, batch_id: &str) -> Result<Option<Batch>, StoreError> {
        self.get(batch_id)
            .await?
            .map(|item| read_batch(&item))
            .transpose()
    }

    async fn take_fallback_slot(
        &self,
        client_id: &str,
        window_start: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let key = format!("fallback#{client_id}#{}", millis(window_start));
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("batch_id", s(&key))
            .item("expires_at", n((window_start + KEEP_FOR).timestamp()))
            .condition_expression("attribute_not_exists(batch_id)")
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => {
                Ok(false)
            }
            Err(e) => Err(self.fail("PutItem")(e)),
        }
    }
}

fn is_condition_failure(
    e: &aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError,
) -> bool {
    use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError as E;
    match e {
        E::TransactionCanceledException(cancel) => cancel.cancellation_reasons().iter().any(|r| {
            matches!(
                r.code(),
                Some("ConditionalCheckFailed" | "TransactionConflict")
            )
        }),
        _ => false,
    }
}

fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_owned())
}

fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn text(item: &HashMap<String, AttributeValue>, name: &str) -> Option<String> {
    item.get(name)?.as_s().ok().cloned()
}

fn number<T: std::str::FromStr>(item: &HashMap<String, AttributeValue>, name: &str) -> Option<T> {
    item.get(name)?.as_n().ok()?.parse().ok()
}

fn batch_item(batch: &Batch, now: DateTime<Utc>) -> HashMap<String, AttributeValue> {
    let changes =
        serde_json::to_string(&batch.changes).expect("changes of strings and counts serialize");
    let mut item = HashMap::from([
        ("batch_id".to_owned(), s(&batch.batch_id)),
        ("client_id".to_owned(), s(&batch.client_id)),
        ("status".to_owned(), s(batch.status.as_str())),
        ("build_type".to_owned(), s(batch.build_type.as_str())),
        ("opened_at".to_owned(), n(millis(batch.opened_at))),
        ("event_count".to_owned(), n(batch.event_count)),
        ("changes".to_owned(), s(&changes)),
        ("overflow".to_owned(), n(batch.overflow)),
        ("version".to_owned(), n(batch.version)),
        ("updated_at".to_owned(), n(millis(now))),
    ]);
    if let Some(started_at) = batch.started_at {
        item.insert("started_at".to_owned(), n(millis(started_at)));
    }
    if let Some(build_id) = &batch.build_id {
        item.insert("build_id".to_owned(), s(build_id));
    }
    item
}

fn read_batch(item: &HashMap<String, AttributeValue>) -> Result<Batch, StoreError> {
    let batch_id = text(item, "batch_id").unwrap_or_default();
    let corrupt = |detail: String| StoreError::Corrupt {
        batch_id: batch_id.clone(),
        detail,
    };
    let field = |name: &str| text(item, name).ok_or_else(|| corrupt(format!("{name} is missing")));
    let count = |name: &str| {
        number::<u32>(item, name)
            .ok_or_else(|| corrupt(format!("{name} is missing or not a count")))
    };
    let status = field("status")?;
    let build_type = field("build_type")?;
    Ok(Batch {
        client_id: field("client_id")?,
        status: BatchStatus::parse(&status)
            .ok_or_else(|| corrupt(format!("unknown status {status:?}")))?,
        build_type: BuildType::parse(&build_type)
            .ok_or_else(|| corrupt(format!("unknown build type {build_type:?}")))?,
        opened_at: from_millis(
            &batch_id,
            number(item, "opened_at").ok_or_else(|| corrupt("opened_at is missing".into()))?,
        )?,
        event_count: count("event_count")?,
        changes: serde_json::from_str(&field("changes")?)
            .map_err(|e| corrupt(format!("changes are not valid JSON: {e}")))?,
        overflow: count("overflow")?,
        version: number(item, "version").ok_or_else(|| corrupt("version is missing".into()))?,
        started_at: number(item, "started_at")
            .map(|ms| from_millis(&batch_id, ms))
            .transpose()?,
        build_id: text(item, "build_id"),
        batch_id: batch_id.clone(),
    })
}
