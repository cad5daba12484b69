//! `list`: one page of a client's items by Query on a GSI, never Scan, under the page caps.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, ReturnConsumedCapacity};
use unified_content::api::{ContentPage, ContentQuery, MAX_PAGE_BYTES};

use super::table::{CLIENT_CONTENT_TYPE_INDEX, CLIENT_SYNCED_INDEX};
use super::{DynamoStore, Row, backend, n, s};
use crate::store::rules::micros;
use crate::store::{StoreError, cursor};

impl DynamoStore {
    pub(super) async fn list_page(&self, query: &ContentQuery) -> Result<ContentPage, StoreError> {
        let synced = query.synced_since.is_some();
        let (index, index_attribute) = if synced {
            (CLIENT_SYNCED_INDEX, "synced_key")
        } else {
            (CLIENT_CONTENT_TYPE_INDEX, "content_type")
        };
        let cursor_backend = format!("dynamodb:{index}");
        let mut start = match cursor::decode(&cursor_backend, query)? {
            Some(position) => Some(start_key(&position).ok_or_else(|| StoreError::BadCursor {
                cursor: query.cursor.clone().unwrap_or_default(),
            })?),
            None => None,
        };
        let mut names = HashMap::from([("#c".to_string(), "client_id".to_string())]);
        let mut values = HashMap::from([(":c".to_string(), s(&self.client_id))]);
        let mut key_condition = "#c = :c".to_string();
        let mut filters = Vec::new();
        if let Some(since) = query.synced_since {
            key_condition.push_str(" AND #k >= :since");
            names.insert("#k".into(), "synced_key".into());
            values.insert(":since".into(), s(format!("{:020}", micros(since).max(0))));
        }
        if let Some(t) = query.content_type {
            names.insert("#t".into(), "content_type".into());
            values.insert(":t".into(), s(t.as_str()));
            if synced {
                filters.push("#t = :t".to_string());
            } else {
                key_condition.push_str(" AND #t = :t");
            }
        }
        let statuses = query.effective_statuses();
        names.insert("#s".into(), "status".into());
        let mut placeholders = Vec::new();
        for (i, status) in statuses.iter().enumerate() {
            values.insert(format!(":s{i}"), s(status.as_str()));
            placeholders.push(format!(":s{i}"));
        }
        filters.push(format!("#s IN ({})", placeholders.join(", ")));
        if let Some(p) = &query.provider {
            names.insert("#p".into(), "provider_name".into());
            values.insert(":p".into(), s(p));
            filters.push("#p = :p".to_string());
        }
        if let Some(t) = query.updated_since {
            names.insert("#u".into(), "updated_at".into());
            values.insert(":u".into(), n(micros(t)));
            filters.push("#u >= :u".to_string());
        }
        let limit = query.effective_limit() as usize;
        let mut items = Vec::new();
        let mut bytes = 64;
        let mut last_key = None;
        let mut more;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(index)
                .key_condition_expression(&key_condition)
                .filter_expression(filters.join(" AND "))
                .set_expression_attribute_names(Some(names.clone()))
                .set_expression_attribute_values(Some(values.clone()))
                .set_exclusive_start_key(start.take())
                .limit(i32::try_from(limit - items.len() + 1).unwrap_or(i32::MAX))
                .return_consumed_capacity(ReturnConsumedCapacity::Total)
                .send()
                .await
                .map_err(|e| backend("list items", e))?;
            self.count(
                |u| u.queries += 1,
                &out.consumed_capacity().into_iter().collect::<Vec<_>>(),
                false,
            );
            let rows = out.items();
            more = out.last_evaluated_key().is_some();
            let mut stopped = false;
            for (i, row) in rows.iter().enumerate() {
                let row = Row(row.clone());
                let body = row.text("body").unwrap_or_default();
                let cost = body.len() + 1 + 512;
                if items.len() == limit || (!items.is_empty() && bytes + cost > MAX_PAGE_BYTES) {
                    stopped = true;
                    break;
                }
                bytes += body.len() + 1;
                let Some(item) = row.item()? else { continue };
                items.push(item);
                last_key = Some(row.index_key(index_attribute));
                if i + 1 < rows.len() {
                    more = true;
                }
            }
            if stopped {
                more = true;
                break;
            }
            match out.last_evaluated_key() {
                Some(key) if items.len() < limit => start = Some(key.clone()),
                _ => break,
            }
        }
        let next_cursor = match &last_key {
            Some(key) if more => Some(cursor::encode(&cursor_backend, query, &position(key))),
            _ => None,
        };
        Ok(ContentPage {
            count: items.len(),
            items,
            next_cursor,
        })
    }
}

/// An index key of string attributes as a cursor position.
fn position(key: &HashMap<String, AttributeValue>) -> String {
    let key: std::collections::BTreeMap<&str, &str> = key
        .iter()
        .filter_map(|(name, value)| Some((name.as_str(), value.as_s().ok()?.as_str())))
        .collect();
    serde_json::to_string(&key).expect("strings serialize")
}

/// The `ExclusiveStartKey` of a cursor position.
fn start_key(position: &str) -> Option<HashMap<String, AttributeValue>> {
    let key: HashMap<String, String> = serde_json::from_str(position).ok()?;
    (!key.is_empty()).then(|| key.into_iter().map(|(k, v)| (k, s(v))).collect())
}
