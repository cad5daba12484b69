//! The outbox backlog: unsent events counted on `OutboxIndex` with `Select=COUNT`, page by
//! page, without reading their bodies.

use aws_sdk_dynamodb::types::Select;
use unified_content::Timestamp;

use super::table::OUTBOX_INDEX;
use super::{DynamoStore, backend, n, s};
use crate::store::StoreError;
use crate::store::rules::micros;

impl DynamoStore {
    pub(super) async fn count_outbox(
        &self,
        before: Timestamp,
        at_most: usize,
    ) -> Result<usize, StoreError> {
        let mut count = 0usize;
        // Each page counts what one Query reads (up to 1 MB); the count stops at `at_most`
        // so that a huge backlog costs a bounded number of calls.
        let mut pages = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(OUTBOX_INDEX)
            .key_condition_expression("outbox = :p AND created_at < :before")
            .expression_attribute_values(":p", s("pending"))
            .expression_attribute_values(":before", n(micros(before)))
            .select(Select::Count)
            .into_paginator()
            .send();
        while count < at_most
            && let Some(out) = pages.next().await
        {
            let out = out.map_err(|e| backend("count outbox", e))?;
            count = count.saturating_add(usize::try_from(out.count()).unwrap_or(0));
        }
        Ok(count.min(at_most))
    }
}
