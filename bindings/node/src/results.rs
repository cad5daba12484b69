//! What the functions resolve with. Items are the unified model as JSON text made safe for
//! JavaScript ([`crate::json`]), parsed by the package's JS and typed by the generated
//! `model.d.ts`.

use content_fetch::{FetchSummary, FetchedPage, InvalidItem, SourceKind};
use napi::bindgen_prelude::Buffer;
use napi_derive::napi;
use ssg_writers::RunReport;

use crate::json;

/// The warning of an item skipped as invalid, worded like the CLI's log line.
pub(crate) fn skipped_warning(item: &InvalidItem) -> String {
    format!(
        "skipping invalid item '{}': field '{}': {}",
        item.id, item.field, item.reason
    )
}

/// An item that broke the model's rules and was skipped (lenient mode).
#[napi(object)]
#[derive(Debug, Clone)]
pub struct SkippedItem {
    /// The item's id, or `<no id>`.
    pub id: String,
    /// The field path, like `variants[0].price.currency_code`.
    pub field: String,
    /// The broken rule.
    pub reason: String,
}

/// One page of valid items of one content type, its items as JSON text: `pages()` from the
/// package gives them parsed.
#[napi(object)]
pub struct RawPage {
    /// The content type of every item in the page.
    pub content_type: String,
    /// The page's number within its type, from 0.
    pub index: u32,
    /// Whether this is the type's last page.
    pub last: bool,
    /// Set on the first page from the fallback snapshot, when the API failed part-way: the
    /// pages before it are superseded (the snapshot's pages follow from the start).
    pub restart: bool,
    /// The valid items: JSON arrays of `UnifiedContent`, in order.
    #[napi(ts_type = "Uint8Array[]")]
    pub items: Vec<Buffer>,
    /// Items skipped as invalid.
    pub skipped: Vec<SkippedItem>,
}

impl RawPage {
    /// The page as JavaScript gets it; `restart` after the fallback took over.
    pub(crate) fn new(page: FetchedPage, restart: bool) -> RawPage {
        RawPage {
            content_type: page.content_type.as_str().to_string(),
            index: u32::try_from(page.index).unwrap_or(u32::MAX),
            last: page.last,
            restart,
            items: json::chunks(page.items.iter().map(json::item)),
            skipped: page
                .skipped
                .into_iter()
                .map(|s| SkippedItem {
                    id: s.id,
                    field: s.field,
                    reason: s.reason,
                })
                .collect(),
        }
    }
}

/// What a run did, as the CLI's one-line summary and `--json` say.
#[napi(object)]
pub struct RunSummary {
    /// `api`, `snapshot` or `fallback-snapshot`.
    pub source: String,
    /// The content API the items came from, directly or through a snapshot.
    pub endpoint: String,
    /// Valid items received.
    pub total: u32,
    /// Pages received.
    pub pages: u32,
    /// Bytes of response bodies received from the API.
    pub bytes: f64,
    /// Retried requests.
    pub retries: u32,
    /// Invalid items skipped.
    pub invalid_skipped: u32,
    /// Whether drafts are among the items.
    pub includes_drafts: bool,
    /// Wall time of the fetch in seconds.
    pub seconds: f64,
    /// Things a person should know, such as a fallback being used.
    pub warnings: Vec<String>,
}

fn count(n: impl TryInto<u32>) -> u32 {
    n.try_into().unwrap_or(u32::MAX)
}

impl From<&FetchSummary> for RunSummary {
    fn from(s: &FetchSummary) -> RunSummary {
        RunSummary {
            source: match s.source {
                SourceKind::Api { .. } => "api",
                SourceKind::Snapshot { .. } => "snapshot",
                _ => "fallback-snapshot",
            }
            .to_string(),
            endpoint: s.source.endpoint().to_string(),
            total: count(s.total),
            pages: count(s.pages),
            bytes: s.bytes as f64,
            retries: count(s.retries),
            invalid_skipped: count(s.invalid_skipped),
            includes_drafts: s.includes_drafts,
            seconds: s.seconds,
            warnings: s.warnings.clone(),
        }
    }
}

/// What a snapshot file holds.
#[napi(object)]
pub struct SnapshotHeader {
    /// The file layout version.
    pub format: u32,
    /// The model's schema version the items follow.
    pub schema_version: u32,
    /// The API the items were fetched from.
    pub endpoint: String,
    /// When the run finished (RFC 3339, UTC).
    pub fetched_at: String,
    /// How many items the snapshot holds.
    pub count: u32,
    /// Whether drafts are in it (a preview snapshot).
    pub includes_drafts: bool,
    /// The SHA-256 over every item's type, id and digest in order, as `sha256:<hex>`.
    pub digest: String,
}

impl From<&content_fetch::SnapshotHeader> for SnapshotHeader {
    fn from(h: &content_fetch::SnapshotHeader) -> SnapshotHeader {
        SnapshotHeader {
            format: h.format,
            schema_version: h.schema_version,
            endpoint: h.endpoint.clone(),
            fetched_at: h
                .fetched_at
                .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
            count: count(h.count),
            includes_drafts: h.includes_drafts,
            digest: h.digest.clone(),
        }
    }
}

/// A snapshot written by `pullSnapshot`.
#[napi(object)]
pub struct PulledSnapshot {
    /// The file.
    pub path: String,
    /// What it holds.
    pub header: SnapshotHeader,
    /// What the fetch did.
    pub summary: RunSummary,
}

/// A snapshot read by `loadSnapshot`, its items as JSON text: the package's `loadSnapshot`
/// gives them parsed.
#[napi(object)]
pub struct RawSnapshot {
    /// What it holds.
    pub header: SnapshotHeader,
    /// Its items, sorted by content type then id: JSON arrays of `UnifiedContent`.
    #[napi(ts_type = "Uint8Array[]")]
    pub items: Vec<Buffer>,
}

/// What `writeEngineFiles` did, as the CLI reports it.
#[napi(object)]
pub struct WriteReport {
    /// Whether the run built on the previous run's state.
    pub incremental: bool,
    /// Items received (tombstones included).
    pub received: u32,
    /// Items in the output after the run.
    pub items: u32,
    /// Files whose bytes changed or are new.
    pub files_written: u32,
    /// Files kept as they were, modification time included.
    pub files_unchanged: u32,
    /// Files of the previous output that are gone.
    pub files_removed: u32,
    /// Bytes of the files written.
    pub bytes_written: f64,
    /// Slugs that were fixed, and other things a person should know.
    pub warnings: Vec<String>,
    /// What the fetch did.
    pub summary: RunSummary,
}

impl WriteReport {
    /// The report of a committed run.
    pub(crate) fn new(report: RunReport, summary: &FetchSummary) -> WriteReport {
        WriteReport {
            incremental: report.incremental,
            received: count(report.received),
            items: count(report.items),
            files_written: count(report.files_written),
            files_unchanged: count(report.files_unchanged),
            files_removed: count(report.files_removed),
            bytes_written: report.bytes_written as f64,
            warnings: report.warnings,
            summary: RunSummary::from(summary),
        }
    }
}
