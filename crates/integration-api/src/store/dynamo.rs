//! The DynamoDB store: the content cache table of `deploy/content-cache-table.json`.
//!
//! - **Rows.** An item is one row, keyed by `content_id` and `content_type_provider`
//!   (`product#shopify`), with its JSON in `body` and the attributes the indexes need. Rows of
//!   the store's own bookkeeping live in the same table under reserved `#`-prefixed partition
//!   keys: deletion markers of items never stored, lookup rows (variant id, SKU or stock
//!   record id → item) for stock changes, and delivery ids. They carry no `client_id`, so no
//!   list index sees them.
//! - **Writes.** The store rules (shared with SQLite) decide against consistent reads; the writes go
//!   in one `TransactWriteItems`, each conditional on the row being what was read (absent, or
//!   at the `revision` read). A concurrent writer makes the condition fail; the group is then
//!   read and decided again, so two concurrent orders never lose a decrement and an older
//!   upsert never overwrites a newer one. The revision subsumes `attribute_not_exists OR
//!   updated_at < :new` and also covers stock changes, which keep `updated_at`.
//! - **Split.** A transaction holds at most [`MAX_TRANSACTION_ACTIONS`] writes and
//!   [`MAX_TRANSACTION_BYTES`]. A larger delivery is split deterministically into consecutive
//!   runs of its changes, in order, each run as large as fits; the delivery id is written with
//!   the last run. A failure after some runs leaves those applied (each on its own complete and
//!   valid); the provider's retry then finds them unchanged and applies the rest.
//! - **Lookup rows** are written before the transaction that needs them, outside it (they
//!   would crowd it: one per variant and SKU). A lookup row of a write that then failed, or of
//!   a variant since removed, is harmless: the stock change finds no such variant in the item.
//! - **Lists** are Query calls on a GSI, never Scan: `ClientContentTypeIndex` (client,
//!   content type), or `ClientSyncedIndex` (client, `synced_key`) when `synced_since` is asked.
//! - **Size.** An item over DynamoDB's 400 KB row limit is refused with
//!   [`StoreError::TooLarge`] naming it, not compressed: a compressed body would hide the
//!   item from DynamoDB's own tools and only move the limit.

mod list;
mod outbox;
mod reads;
mod table;

pub use table::{TABLE_DEFINITION, TTL_ATTRIBUTE, create_table};

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{
    AttributeValue, ConsumedCapacity, Delete, Put as PutRow, PutRequest, ReturnConsumedCapacity,
    TransactWriteItem, WriteRequest,
};
use providers::Change;
use unified_content::api::{ContentPage, ContentQuery};
use unified_content::{ContentEvent, ContentType, Timestamp, UnifiedContent, content_digest};

use super::rules::{Holder, LookupKind, Plan, Put, Reads, Stored, lookup_keys, micros};
use super::{ApplyReport, ContentStore, Delivery, StoreError};
use reads::{DynamoReads, Group};

/// The most writes one `TransactWriteItems` takes.
pub const MAX_TRANSACTION_ACTIONS: usize = 100;
/// The most bytes of rows one transaction takes (DynamoDB's limit is 4 MB).
pub const MAX_TRANSACTION_BYTES: usize = 4 * 1024 * 1024;
/// DynamoDB's limit on one row.
pub const MAX_ITEM_BYTES: usize = 400 * 1024;
/// How long tombstones, deletion markers and delivery ids are kept.
pub const RECORD_TTL: Duration = Duration::from_secs(90 * 24 * 3600);
/// How often a group of writes is read and decided again after a concurrent writer won.
const MAX_CONFLICT_RETRIES: u32 = 64;
/// How often `BatchWriteItem` is sent again with the rows it left unprocessed.
const MAX_UNPROCESSED_ATTEMPTS: u32 = 8;
/// The attempts the SDK makes of each call (standard retry mode): throttling
/// (`ProvisionedThroughputExceededException`, `ThrottlingException`, ...) and transient errors
/// are sent again with exponential backoff and jitter, and a retry quota stops retry storms.
pub const SDK_MAX_ATTEMPTS: u32 = 5;

const PK: &str = "content_id";
const SK: &str = "content_type_provider";

/// Requests and capacity units the store used, as DynamoDB reported them with
/// `ReturnConsumedCapacity`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Usage {
    /// `Query` calls.
    pub queries: u64,
    /// `GetItem` calls.
    pub get_items: u64,
    /// `TransactWriteItems` calls.
    pub transactions: u64,
    /// `BatchWriteItem` calls.
    pub batch_writes: u64,
    /// Read capacity units consumed.
    pub read_units: f64,
    /// Write capacity units consumed.
    pub write_units: f64,
}

/// The DynamoDB content store of one client. Clones share the SDK client and the usage.
#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
    client_id: String,
    usage: Arc<Mutex<Usage>>,
}

impl DynamoStore {
    /// The store of `client_id`'s content in `table`, through an SDK client built once.
    ///
    /// The store's calls use the SDK's standard retry mode with [`SDK_MAX_ATTEMPTS`] attempts,
    /// whatever `client` was built with, so that throttling is retried the same way in the
    /// Lambda, in `serve` and in tests; the client's backoff bounds are kept.
    pub fn new(client: Client, table: impl Into<String>, client_id: impl Into<String>) -> Self {
        let config = client.config();
        let retry = config
            .retry_config()
            .cloned()
            .unwrap_or_else(RetryConfig::standard);
        let retry = RetryConfig::standard()
            .with_max_attempts(SDK_MAX_ATTEMPTS)
            .with_initial_backoff(retry.initial_backoff())
            .with_max_backoff(retry.max_backoff());
        let client = Client::from_conf(config.to_builder().retry_config(retry).build());
        DynamoStore {
            client,
            table: table.into(),
            client_id: client_id.into(),
            usage: Arc::default(),
        }
    }

    /// The table.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// Requests and capacity used so far by this store and its clones.
    pub fn usage(&self) -> Usage {
        *self.usage.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Checks that the table exists, so that a wrong name fails at start, not at the first
    /// delivery.
    pub async fn check(&self) -> Result<(), StoreError> {
        self.client
            .describe_table()
            .table_name(&self.table)
            .send()
            .await
            .map(drop)
            .map_err(|e| StoreError::Open {
                location: format!("DynamoDB table {}", self.table),
                source: aws_sdk_dynamodb::Error::from(e).into(),
            })
    }

    /// Counts one call and the capacity it reports; a bare `CapacityUnits` is a read or a
    /// write as the call was.
    fn count(&self, f: impl FnOnce(&mut Usage), capacity: &[&ConsumedCapacity], write: bool) {
        let mut usage = self.usage.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut usage);
        for c in capacity {
            usage.read_units += c.read_capacity_units().unwrap_or(0.0);
            usage.write_units += c.write_capacity_units().unwrap_or(0.0);
            if c.read_capacity_units().is_none() && c.write_capacity_units().is_none() {
                let units = c.capacity_units().unwrap_or(0.0);
                if write {
                    usage.write_units += units;
                } else {
                    usage.read_units += units;
                }
            }
        }
    }

    /// All rows of a partition key, with a consistent read.
    async fn partition(&self, pk: &str) -> Result<Vec<Row>, StoreError> {
        let mut rows = Vec::new();
        let mut pages = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_values(":pk", s(pk))
            .consistent_read(true)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .into_paginator()
            .send();
        while let Some(out) = pages.next().await {
            let out = out.map_err(|e| throttled_or_backend("read item", pk, e))?;
            self.count(
                |u| u.queries += 1,
                &out.consumed_capacity().into_iter().collect::<Vec<_>>(),
                false,
            );
            rows.extend(out.items().iter().cloned().map(Row));
        }
        Ok(rows)
    }
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn n(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn backend<E>(operation: &'static str, error: SdkError<E>) -> StoreError
where
    E: std::error::Error + ProvideErrorMetadata + Send + Sync + 'static,
{
    StoreError::Backend {
        operation,
        source: Box::new(error),
    }
}

/// A failed call of a delivery's write path: [`StoreError::Busy`] naming `item` (and a log line
/// naming it) when DynamoDB was still throttling after the SDK's retries, else a backend error.
fn throttled_or_backend<E>(operation: &'static str, item: &str, error: SdkError<E>) -> StoreError
where
    E: std::error::Error + ProvideErrorMetadata + Send + Sync + 'static,
{
    if throttled(error.code()) {
        tracing::warn!(item = %item, operation, "DynamoDB throttled the request after every retry");
        return StoreError::Busy {
            id: item.to_string(),
            source: Box::new(error),
        };
    }
    backend(operation, error)
}

fn throttled(code: Option<&str>) -> bool {
    matches!(
        code,
        Some(
            "ProvisionedThroughputExceededException"
                | "ThrottlingException"
                | "RequestLimitExceeded"
                | "TransactionConflict"
                | "TransactionConflictException"
                | "TransactionInProgressException"
                | "ThrottlingError"
        )
    )
}

/// One row as DynamoDB returned it.
struct Row(HashMap<String, AttributeValue>);

impl Row {
    fn text(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .and_then(|v| v.as_s().ok())
            .map(String::as_str)
    }

    fn number(&self, name: &str) -> Option<i64> {
        self.0
            .get(name)
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse().ok())
    }

    fn sort_key(&self) -> &str {
        self.text(SK).unwrap_or_default()
    }

    fn revision(&self) -> i64 {
        self.number("revision").unwrap_or(0)
    }

    fn item(&self) -> Result<Option<UnifiedContent>, StoreError> {
        let id = self.text(PK).unwrap_or_default();
        self.text("body")
            .map(|body| {
                serde_json::from_str(body).map_err(|source| StoreError::Corrupt {
                    id: id.to_string(),
                    source,
                })
            })
            .transpose()
    }

    fn index_key(&self, index_attribute: &str) -> HashMap<String, AttributeValue> {
        [PK, SK, "client_id", index_attribute]
            .into_iter()
            .filter_map(|name| Some((name.to_string(), self.0.get(name)?.clone())))
            .collect()
    }
}

fn lookup_pk(kind: LookupKind, key: &str) -> String {
    format!("#lookup#{}#{key}", kind.as_str())
}

fn delivery_pk(provider: &str, id: &str) -> String {
    format!("#delivery#{provider}#{id}")
}

fn marker_pk(id: &str) -> String {
    format!("#deleted#{id}")
}

fn sort_key(content_type: Option<ContentType>, provider: &str) -> String {
    format!(
        "{}#{provider}",
        content_type.map_or("unknown", ContentType::as_str)
    )
}

/// `synced_at` as a sortable string: zero-padded microseconds, then the id for uniqueness.
fn synced_key(synced_at: Timestamp, id: &str) -> String {
    format!("{:020}#{id}", micros(synced_at).max(0))
}

fn expires(at: Timestamp) -> i64 {
    at.timestamp().saturating_add(RECORD_TTL.as_secs() as i64)
}

#[async_trait]
impl ContentStore for DynamoStore {
    async fn has_delivery(&self, provider: &str, delivery_id: &str) -> Result<bool, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(PK, s(delivery_pk(provider, delivery_id)))
            .key(SK, s("delivery"))
            .consistent_read(true)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .map_err(|e| {
                throttled_or_backend("look up delivery id", &format!("delivery {delivery_id}"), e)
            })?;
        self.count(
            |u| u.get_items += 1,
            &out.consumed_capacity().into_iter().collect::<Vec<_>>(),
            false,
        );
        Ok(out.item().is_some())
    }

    async fn apply(&self, delivery: Delivery) -> Result<ApplyReport, StoreError> {
        if let Some(id) = &delivery.delivery_id
            && self.has_delivery(&delivery.provider, id).await?
        {
            return Ok(ApplyReport {
                duplicate: true,
                ..ApplyReport::default()
            });
        }
        let mut outcomes = Vec::new();
        let mut all_events = Vec::new();
        let mut rest: &[Change] = &delivery.changes;
        let mut conflicts = 0u32;
        loop {
            let mut reads = DynamoReads {
                store: self,
                rows: HashMap::new(),
                loaded: HashMap::new(),
            };
            let source = delivery.events.as_ref();
            let (plan, taken, group) = self
                .next_group(&mut reads, rest, delivery.received_at, source.is_some())
                .await?;
            let last = taken == rest.len();
            let mut actions = group.actions;
            let mut ids = group.ids;
            let events = super::outbox_events(source, plan.outcomes());
            for (n, event) in events.iter().enumerate() {
                let created_at = micros(delivery.received_at).saturating_add(n as i64);
                actions.push(self.outbox_row(event, created_at)?);
                ids.push(event.content_id.clone());
            }
            if last && let Some(id) = &delivery.delivery_id {
                let record = PutRow::builder()
                    .table_name(&self.table)
                    .item(PK, s(delivery_pk(&delivery.provider, id)))
                    .item(SK, s("delivery"))
                    .item("received_at", s(delivery.received_at.to_rfc3339()))
                    .item(TTL_ATTRIBUTE, n(expires(delivery.received_at)))
                    .condition_expression("attribute_not_exists(content_id)")
                    .build()
                    .expect("table and item are set");
                actions.push(TransactWriteItem::builder().put(record).build());
                ids.push(format!("delivery {id}"));
            }
            let first = ids.first().cloned().unwrap_or_default();
            self.write_lookups(group.lookups, &first).await?;
            match self.transact(actions, &ids).await? {
                Committed::Yes => {
                    outcomes.extend(plan.into_outcomes());
                    all_events.extend(events);
                    rest = &rest[taken..];
                    conflicts = 0;
                    if last {
                        return Ok(ApplyReport {
                            duplicate: false,
                            outcomes,
                            events: all_events,
                        });
                    }
                }
                Committed::Duplicate => {
                    return Ok(ApplyReport {
                        duplicate: true,
                        outcomes,
                        events: all_events,
                    });
                }
                Committed::Conflict(error) => {
                    conflicts += 1;
                    if conflicts > MAX_CONFLICT_RETRIES {
                        let id = ids.first().cloned().unwrap_or_default();
                        tracing::warn!(item = %id, "write conflict after every retry");
                        return Err(StoreError::Busy { id, source: error });
                    }
                    // Another writer won: back off a little, with jitter, then decide again.
                    let pause = 2u64.saturating_pow(conflicts.min(6)) + fastrand::u64(0..10);
                    tokio::time::sleep(Duration::from_millis(pause)).await;
                }
            }
        }
    }

    async fn get(&self, id: &str) -> Result<Option<UnifiedContent>, StoreError> {
        let mut reads = DynamoReads {
            store: self,
            rows: HashMap::new(),
            loaded: HashMap::new(),
        };
        Ok(reads.load(id).await?.and_then(|stored| stored.item))
    }

    async fn list(&self, query: &ContentQuery) -> Result<ContentPage, StoreError> {
        self.list_page(query).await
    }

    async fn pending_events(
        &self,
        before: Timestamp,
        limit: usize,
    ) -> Result<Vec<ContentEvent>, StoreError> {
        self.read_outbox(before, limit).await
    }

    async fn count_pending(&self, before: Timestamp, at_most: usize) -> Result<usize, StoreError> {
        self.count_outbox(before, at_most).await
    }

    async fn mark_sent(&self, event_ids: &[String]) -> Result<(), StoreError> {
        let now = chrono::Utc::now();
        for id in event_ids {
            // Out of the outbox index; kept until its TTL for inspection.
            let result = self
                .client
                .update_item()
                .table_name(&self.table)
                .key(PK, s(format!("#event#{id}")))
                .key(SK, s("event"))
                .update_expression("REMOVE outbox SET sent_at = :now, #ttl = :ttl")
                .condition_expression("attribute_exists(content_id)")
                .expression_attribute_names("#ttl", TTL_ATTRIBUTE)
                .expression_attribute_values(":now", n(micros(now)))
                .expression_attribute_values(":ttl", n(expires(now)))
                .send()
                .await;
            match result {
                Ok(_) => {}
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|e| e.is_conditional_check_failed_exception()) => {}
                Err(e) => return Err(backend("mark events sent", e)),
            }
        }
        Ok(())
    }
}

/// How a transaction ended, short of an error to report.
enum Committed {
    Yes,
    /// The delivery id was recorded by a concurrent delivery.
    Duplicate,
    /// Another writer changed a row read; decide again.
    Conflict(super::BackendError),
}

impl DynamoStore {
    /// Decides changes from the start of `rest` until the next would overflow a transaction.
    async fn next_group(
        &self,
        reads: &mut DynamoReads<'_>,
        rest: &[Change],
        received_at: Timestamp,
        announce: bool,
    ) -> Result<(Plan, usize, Group), StoreError> {
        // One action is kept for the delivery id; with events, one more per real change, and
        // their bytes: an event holds the item twice at most.
        let fits = |g: &Group, plan: &Plan| {
            let events = if announce {
                plan.outcomes()
                    .iter()
                    .filter(|o| matches!(o, super::Outcome::Written(_)))
                    .count()
            } else {
                0
            };
            let event_bytes = if announce { 2 * g.bytes } else { 0 };
            g.actions.len() + events < MAX_TRANSACTION_ACTIONS
                && g.bytes + event_bytes + 1024 <= MAX_TRANSACTION_BYTES
        };
        let mut plan = Plan::new(received_at);
        let mut group = reads.group(&plan)?;
        for (taken, change) in rest.iter().enumerate() {
            let before = plan.clone();
            plan.add(reads, change.clone()).await?;
            let next = reads.group(&plan)?;
            if !fits(&next, &plan) {
                if taken == 0 {
                    return Err(StoreError::Backend {
                        operation: "apply delivery",
                        source: format!(
                            "one change writes {} rows ({} bytes), more than one DynamoDB transaction holds",
                            next.actions.len(),
                            next.bytes
                        )
                        .into(),
                    });
                }
                return Ok((before, taken, group));
            }
            group = next;
        }
        Ok((plan, rest.len(), group))
    }

    /// The outbox row of an event: pending until marked sent. An event too large for a row
    /// keeps its metadata only; consumers read the item.
    fn outbox_row(
        &self,
        event: &ContentEvent,
        created_at: i64,
    ) -> Result<TransactWriteItem, StoreError> {
        let mut body = serde_json::to_string(event).expect("events serialize");
        if body.len() + 512 > MAX_ITEM_BYTES {
            let mut lean = event.clone();
            lean.content_data = None;
            lean.previous_content = None;
            body = serde_json::to_string(&lean).expect("events serialize");
        }
        let row = PutRow::builder()
            .table_name(&self.table)
            .item(PK, s(format!("#event#{}", event.event_id)))
            .item(SK, s("event"))
            .item("outbox", s("pending"))
            .item("created_at", n(created_at))
            .item("body", s(body))
            .condition_expression("attribute_not_exists(content_id)")
            .build()
            .expect("table and item are set");
        Ok(TransactWriteItem::builder().put(row).build())
    }

    async fn write_lookups(
        &self,
        mut lookups: Vec<WriteRequest>,
        item: &str,
    ) -> Result<(), StoreError> {
        while !lookups.is_empty() {
            let batch: Vec<WriteRequest> = lookups.drain(..lookups.len().min(25)).collect();
            let mut pending = HashMap::from([(self.table.clone(), batch)]);
            let mut attempt = 0u32;
            while !pending.is_empty() {
                let out = self
                    .client
                    .batch_write_item()
                    .set_request_items(Some(pending))
                    .return_consumed_capacity(ReturnConsumedCapacity::Total)
                    .send()
                    .await
                    .map_err(|e| throttled_or_backend("write lookup rows", item, e))?;
                self.count(
                    |u| u.batch_writes += 1,
                    &out.consumed_capacity().iter().collect::<Vec<_>>(),
                    true,
                );
                pending = out.unprocessed_items().cloned().unwrap_or_default();
                pending.retain(|_, requests| !requests.is_empty());
                attempt += 1;
                if !pending.is_empty() && attempt >= MAX_UNPROCESSED_ATTEMPTS {
                    // DynamoDB keeps handing the rows back: it is throttling this table.
                    tracing::warn!(item = %item, "DynamoDB left lookup rows unprocessed after every retry");
                    return Err(StoreError::Busy {
                        id: item.to_string(),
                        source: "BatchWriteItem left items unprocessed".into(),
                    });
                }
                if !pending.is_empty() {
                    tokio::time::sleep(Duration::from_millis(10u64 << attempt.min(6))).await;
                }
            }
        }
        Ok(())
    }

    async fn transact(
        &self,
        actions: Vec<TransactWriteItem>,
        ids: &[String],
    ) -> Result<Committed, StoreError> {
        if actions.is_empty() {
            return Ok(Committed::Yes);
        }
        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(actions))
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await;
        let error = match result {
            Ok(out) => {
                self.count(
                    |u| u.transactions += 1,
                    &out.consumed_capacity().iter().collect::<Vec<_>>(),
                    true,
                );
                return Ok(Committed::Yes);
            }
            Err(error) => error,
        };
        self.count(|u| u.transactions += 1, &[], true);
        let reasons: Vec<Option<String>> = error
            .as_service_error()
            .and_then(|e| match e {
                aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(c) => {
                    Some(c.cancellation_reasons().iter().map(|r| r.code().map(str::to_string)).collect())
                }
                _ => None,
            })
            .unwrap_or_default();
        let failed_at = |code: &str| reasons.iter().position(|r| r.as_deref() == Some(code));
        let code = error.code().map(str::to_string);
        if let Some(index) = failed_at("ConditionalCheckFailed") {
            // The delivery id row is the last action of the last group.
            if ids.get(index).is_some_and(|id| id.starts_with("delivery ")) {
                return Ok(Committed::Duplicate);
            }
            return Ok(Committed::Conflict(Box::new(error)));
        }
        if reasons.iter().any(|r| throttled(r.as_deref()))
            || code.as_deref() == Some("TransactionCanceledException")
        {
            return Ok(Committed::Conflict(Box::new(error)));
        }
        let id = ids.first().cloned().unwrap_or_default();
        if throttled(code.as_deref()) {
            tracing::warn!(item = %id, "DynamoDB throttled the write after every retry");
            return Err(StoreError::Busy {
                id,
                source: Box::new(error),
            });
        }
        tracing::warn!(item = %id, "DynamoDB refused the write");
        Err(backend("apply delivery", error))
    }
}
