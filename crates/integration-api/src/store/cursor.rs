//! The opaque page cursor of both backends: where the next page starts (SQLite: the last id;
//! DynamoDB: the index key of the last item, what `ExclusiveStartKey` takes), bound to the
//! backend and to the query it came from, and sealed with a checksum. A cursor edited by hand,
//! made by the other backend or carried over to another query is refused with
//! [`StoreError::BadCursor`].
//!
//! The checksum detects editing, not forgery: someone who recomputes it can only move the start
//! of their own query, whose conditions (the client, the filters) still hold.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use unified_content::api::ContentQuery;

use super::StoreError;

const PREFIX: &str = "c1.";

#[derive(Serialize, Deserialize)]
struct Payload {
    /// The backend and index.
    b: String,
    /// The query's fingerprint.
    q: String,
    /// Where the next page starts.
    p: String,
}

/// What a page request asks, less its cursor and limit: a cursor only continues this.
fn fingerprint(query: &ContentQuery) -> String {
    let mut query = query.clone();
    query.cursor = None;
    query.limit = None;
    let mut hash = Sha256::new();
    for (name, value) in query.to_pairs() {
        hash.update(name.as_bytes());
        hash.update([0]);
        hash.update(value.as_bytes());
        hash.update([0]);
    }
    hex::encode(&hash.finalize()[..8])
}

fn seal(payload: &str) -> String {
    let digest = Sha256::new_with_prefix(b"content-cache cursor v1\0").chain_update(payload);
    hex::encode(&digest.finalize()[..12])
}

/// The cursor of `query` on `backend` (such as `sqlite` or `dynamodb:ClientSyncedIndex`)
/// whose next page starts after `position`.
pub(crate) fn encode(backend: &str, query: &ContentQuery, position: &str) -> String {
    let payload = serde_json::to_string(&Payload {
        b: backend.to_string(),
        q: fingerprint(query),
        p: position.to_string(),
    })
    .expect("strings serialize");
    URL_SAFE_NO_PAD.encode(format!("{PREFIX}{}.{payload}", seal(&payload)))
}

/// The position of the query's cursor, if it was made by [`encode`] for this backend and
/// query.
pub(crate) fn decode(backend: &str, query: &ContentQuery) -> Result<Option<String>, StoreError> {
    let Some(cursor) = &query.cursor else {
        return Ok(None);
    };
    let bad = || StoreError::BadCursor {
        cursor: cursor.clone(),
    };
    let text = URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(bad)?;
    let (checksum, payload) = text
        .strip_prefix(PREFIX)
        .and_then(|rest| rest.split_once('.'))
        .ok_or_else(bad)?;
    if checksum != seal(payload) {
        return Err(bad());
    }
    let payload: Payload = serde_json::from_str(payload).map_err(|_| bad())?;
    if payload.b != backend || payload.q != fingerprint(query) {
        return Err(bad());
    }
    Ok(Some(payload.p))
}
