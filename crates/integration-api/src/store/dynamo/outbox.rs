//! The outbox on `OutboxIndex`: unsent events read for the sweep, and the backlog counted with
//! `Select=COUNT`, page by page, without reading their bodies.

use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::types::{ReturnConsumedCapacity, Select};
use unified_content::{ContentEvent, Timestamp};

use super::table::OUTBOX_INDEX;
use super::{DynamoStore, PK, Row, backend, n, s};
use crate::store::StoreError;
use crate::store::rules::micros;

impl DynamoStore {
    /// A Query of the unsent events created before `before`, oldest first.
    fn pending(&self, before: Timestamp) -> QueryFluentBuilder {
        self.client
            .query()
            .table_name(&self.table)
            .index_name(OUTBOX_INDEX)
            .key_condition_expression("outbox = :p AND created_at < :before")
            .expression_attribute_values(":p", s("pending"))
            .expression_attribute_values(":before", n(micros(before)))
    }

    pub(super) async fn read_outbox(
        &self,
        before: Timestamp,
        limit: usize,
    ) -> Result<Vec<ContentEvent>, StoreError> {
        // A page ends at `limit` events or at 1 MB read, whichever comes first: large events
        // fill 1 MB long before the limit, so the pages are followed until `limit` is reached.
        let mut pages = self
            .pending(before)
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .into_paginator()
            .send();
        let mut events = Vec::new();
        while events.len() < limit
            && let Some(out) = pages.next().await
        {
            let out = out.map_err(|e| backend("read outbox", e))?;
            self.count(
                |u| u.queries += 1,
                &out.consumed_capacity().into_iter().collect::<Vec<_>>(),
                false,
            );
            for row in out.items() {
                let row = Row(row.clone());
                let id = row.text(PK).unwrap_or_default().to_string();
                let event = serde_json::from_str(row.text("body").unwrap_or_default())
                    .map_err(|source| StoreError::Corrupt { id, source })?;
                events.push(event);
            }
        }
        // The last page may go past `limit`; what is left out is read again by the next call.
        events.truncate(limit);
        Ok(events)
    }

    pub(super) async fn count_outbox(
        &self,
        before: Timestamp,
        at_most: usize,
    ) -> Result<usize, StoreError> {
        let mut count = 0usize;
        // Each page counts what one Query reads (up to 1 MB); the count stops at `at_most`
        // so that a huge backlog costs a bounded number of calls.
        let mut pages = self
            .pending(before)
            .select(Select::Count)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .into_paginator()
            .send();
        while count < at_most
            && let Some(out) = pages.next().await
        {
            let out = out.map_err(|e| backend("count outbox", e))?;
            self.count(
                |u| u.queries += 1,
                &out.consumed_capacity().into_iter().collect::<Vec<_>>(),
                false,
            );
            count = count.saturating_add(usize::try_from(out.count()).unwrap_or(0));
        }
        Ok(count.min(at_most))
    }
}
