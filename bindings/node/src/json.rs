//! Items handed to JavaScript as JSON text, which the package's JS parses with `JSON.parse`:
//! making objects through napi one value at a time is several times slower than V8's parser,
//! and a large catalog converted in one go would hold up the event loop. The text is cut into
//! chunks small enough that parsing one takes about a millisecond, and the JS side lets the
//! event loop run between chunks.

use napi::bindgen_prelude::Buffer;
use unified_content::UnifiedContent;

/// Bytes of JSON text per chunk.
const CHUNK_BYTES: usize = 128 * 1024;

/// An item's JSON text as JavaScript gets it: ids and integers above 2^53 as strings, as in
/// the engines' files.
pub(crate) fn item(item: &UnifiedContent) -> Vec<u8> {
    unified_content::to_js_safe_vec(item).unwrap_or_else(|_| b"null".to_vec())
}

/// Items' JSON texts as JSON arrays of about [`CHUNK_BYTES`] each, in order, each handed to
/// JavaScript without a copy.
pub(crate) fn chunks(items: impl IntoIterator<Item = Vec<u8>>) -> Vec<Buffer> {
    let mut chunks = Vec::new();
    let mut chunk: Vec<u8> = Vec::new();
    for item in items {
        chunk.push(if chunk.is_empty() { b'[' } else { b',' });
        chunk.extend_from_slice(&item);
        if chunk.len() >= CHUNK_BYTES {
            chunk.push(b']');
            chunks.push(Buffer::from(std::mem::take(&mut chunk)));
        }
    }
    if !chunk.is_empty() {
        chunk.push(b']');
        chunks.push(Buffer::from(chunk));
    }
    chunks
}
