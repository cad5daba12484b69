//! What one delivery attempt reads from the table, and the writes it plans against those reads:
//! the conditions that make each write fail if a concurrent delivery changed the row.

use super::*;

/// The rows read for one delivery attempt: what the conditions of its writes compare with.
pub(super) struct DynamoReads<'a> {
    pub(super) store: &'a DynamoStore,
    /// Every row under each id read: the item row(s) and the deletion marker.
    pub(super) rows: HashMap<String, Vec<(String, String, i64)>>,
    pub(super) loaded: HashMap<String, Option<Stored>>,
}

#[async_trait]
impl Reads for DynamoReads<'_> {
    async fn load(&mut self, id: &str) -> Result<Option<Stored>, StoreError> {
        if let Some(stored) = self.loaded.get(id) {
            return Ok(stored.clone());
        }
        let mut found: Option<Stored> = None;
        let mut seen = Vec::new();
        let mut rows = self.store.partition(id).await?;
        rows.extend(self.store.partition(&marker_pk(id)).await?);
        for row in rows {
            let pk = row.text(PK).unwrap_or_default().to_string();
            seen.push((pk, row.sort_key().to_string(), row.revision()));
            let stored = Stored {
                updated_at: row.number("updated_at").unwrap_or(i64::MIN),
                item: row.item()?,
            };
            // The newest row tells; an item wins a tie with a marker.
            let newer = match &found {
                None => true,
                Some(f) => {
                    stored.updated_at > f.updated_at
                        || (stored.updated_at == f.updated_at && f.item.is_none())
                }
            };
            if newer {
                found = Some(stored);
            }
        }
        self.rows.insert(id.to_string(), seen);
        self.loaded.insert(id.to_string(), found.clone());
        Ok(found)
    }

    async fn holders(&mut self, kind: LookupKind, key: &str) -> Result<Vec<Holder>, StoreError> {
        let rows = self.store.partition(&lookup_pk(kind, key)).await?;
        Ok(rows
            .iter()
            .map(|row| Holder {
                item_id: row.sort_key().to_string(),
                provider: row.text("holder_provider").unwrap_or_default().to_string(),
            })
            .collect())
    }
}

/// The transaction of one group of changes, and the lookup rows it needs first.
pub(super) struct Group {
    pub(super) actions: Vec<TransactWriteItem>,
    pub(super) lookups: Vec<WriteRequest>,
    pub(super) bytes: usize,
    /// The id of each action, to name the item when the transaction fails.
    pub(super) ids: Vec<String>,
}

impl DynamoReads<'_> {
    /// The condition that the row `(pk, sk)` is still as read.
    pub(super) fn condition(&self, id: &str, pk: &str, sk: &str) -> (String, Option<i64>) {
        let revision = self
            .rows
            .get(id)
            .and_then(|rows| rows.iter().find(|(p, k, _)| p == pk && k == sk))
            .map(|(_, _, r)| *r);
        match revision {
            Some(r) => ("revision = :rev".to_string(), Some(r)),
            None => ("attribute_not_exists(content_id)".to_string(), None),
        }
    }

    pub(super) fn group(&self, plan: &Plan) -> Result<Group, StoreError> {
        let store = self.store;
        let mut group = Group {
            actions: Vec::new(),
            lookups: Vec::new(),
            bytes: 0,
            ids: Vec::new(),
        };
        for put in plan.puts() {
            let id = put.id().to_string();
            let (pk, sk, mut row) = match put {
                Put::Item(item) => {
                    let body =
                        serde_json::to_string(item).map_err(|source| StoreError::Corrupt {
                            id: id.clone(),
                            source,
                        })?;
                    let sk = sort_key(Some(item.content_type), &item.provider_name);
                    let mut row = HashMap::from([
                        ("record".to_string(), s("item")),
                        ("client_id".to_string(), s(&store.client_id)),
                        ("content_type".to_string(), s(item.content_type.as_str())),
                        ("provider_name".to_string(), s(&item.provider_name)),
                        ("status".to_string(), s(item.status.as_str())),
                        ("title".to_string(), s(&item.title)),
                        ("updated_at".to_string(), n(micros(item.updated_at))),
                        ("synced_at".to_string(), n(micros(item.synced_at))),
                        ("synced_key".to_string(), s(synced_key(item.synced_at, &id))),
                        ("digest".to_string(), s(content_digest(item))),
                        ("body".to_string(), s(body)),
                    ]);
                    if item.is_deleted() {
                        row.insert(TTL_ATTRIBUTE.to_string(), n(expires(item.synced_at)));
                    }
                    let previous = self.loaded.get(&id).cloned().flatten().and_then(|s| s.item);
                    let known = previous.as_ref().map(lookup_keys).unwrap_or_default();
                    for (kind, key) in lookup_keys(item) {
                        if !known.contains(&(kind, key.clone())) {
                            group.lookups.push(lookup_row(kind, &key, item)?);
                        }
                    }
                    (id.clone(), sk, row)
                }
                Put::Marker {
                    content_type,
                    provider,
                    deleted_at,
                    synced_at,
                    ..
                } => {
                    let row = HashMap::from([
                        ("record".to_string(), s("marker")),
                        ("updated_at".to_string(), n(micros(*deleted_at))),
                        ("synced_at".to_string(), n(micros(*synced_at))),
                        (TTL_ATTRIBUTE.to_string(), n(expires(*synced_at))),
                    ]);
                    (marker_pk(&id), sort_key(*content_type, provider), row)
                }
            };
            let (condition, revision) = self.condition(&id, &pk, &sk);
            row.insert(PK.to_string(), s(&pk));
            row.insert(SK.to_string(), s(&sk));
            row.insert(
                "revision".to_string(),
                n(revision.unwrap_or(0).saturating_add(1)),
            );
            let bytes = row_bytes(&row);
            if bytes > MAX_ITEM_BYTES {
                return Err(StoreError::TooLarge {
                    id,
                    bytes,
                    limit: MAX_ITEM_BYTES,
                });
            }
            group.bytes += bytes;
            let values = revision.map(|r| HashMap::from([(":rev".to_string(), n(r))]));
            let put_row = PutRow::builder()
                .table_name(&store.table)
                .set_item(Some(row))
                .condition_expression(condition)
                .set_expression_attribute_values(values)
                .build()
                .expect("table and item are set");
            group
                .actions
                .push(TransactWriteItem::builder().put(put_row).build());
            group.ids.push(id.clone());
            // An item written replaces any other row of its id (a marker, or the row of
            // another content type); each goes only if still as read.
            for (other_pk, other_sk, r) in self.rows.get(&id).into_iter().flatten() {
                if *other_pk == pk && *other_sk == sk {
                    continue;
                }
                let delete = Delete::builder()
                    .table_name(&store.table)
                    .key(PK, s(other_pk))
                    .key(SK, s(other_sk))
                    .condition_expression("revision = :rev")
                    .expression_attribute_values(":rev", n(*r))
                    .build()
                    .expect("table and key are set");
                group
                    .actions
                    .push(TransactWriteItem::builder().delete(delete).build());
                group.ids.push(id.clone());
            }
        }
        Ok(group)
    }
}

pub(super) fn lookup_row(
    kind: LookupKind,
    key: &str,
    item: &UnifiedContent,
) -> Result<WriteRequest, StoreError> {
    let row = HashMap::from([
        (PK.to_string(), s(lookup_pk(kind, key))),
        (SK.to_string(), s(&item.id)),
        ("holder_provider".to_string(), s(&item.provider_name)),
    ]);
    Ok(WriteRequest::builder()
        .put_request(
            PutRequest::builder()
                .set_item(Some(row))
                .build()
                .expect("item is set"),
        )
        .build())
}

/// DynamoDB's size of a row: attribute names and values in UTF-8 bytes, numbers counted
/// generously.
pub(super) fn row_bytes(row: &HashMap<String, AttributeValue>) -> usize {
    row.iter()
        .map(|(name, value)| {
            name.len()
                + match value {
                    AttributeValue::S(text) => text.len(),
                    AttributeValue::N(number) => number.len().div_ceil(2) + 1,
                    _ => 8,
                }
        })
        .sum()
}
