//! Runs from a snapshot file: its items streamed in pages per content type, as the API sends
//! them, with one page at a time in memory.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::sync::mpsc;
use tokio::task::JoinSet;
use unified_content::{ContentType, UnifiedContent};

use crate::error::FetchError;
use crate::fetch::{FetchOptions, FetchedPage, PageStream, SourceKind, build_page, check_model};
use crate::snapshot::{self, SnapshotHeader};

/// Items per page read from a snapshot: a few pages in flight hold little memory.
const PAGE_ITEMS: usize = 250;

type Sender = mpsc::Sender<Result<FetchedPage, FetchError>>;

/// Streams the matching items of the snapshot at `path`, opened with `header`, page by page
/// from a blocking reader. The last page is sent only once the whole file has been checked.
pub(crate) fn pages(
    header: &SnapshotHeader,
    path: &Path,
    source: SourceKind,
    options: &FetchOptions,
) -> PageStream {
    let (tx, rx) = mpsc::channel(1);
    let mut tasks = JoinSet::new();
    let reader = Pager {
        options: options.clone(),
        path: path.to_path_buf(),
        digest: header.digest.clone(),
        types: options.filters.types().into_iter(),
        current: None,
        tx,
        stopped: false,
    };
    tasks.spawn_blocking(move || reader.run());
    let mut stream = PageStream::new(
        rx,
        tasks,
        Arc::default(),
        source,
        options.filters.includes_drafts(),
    );
    if let SourceKind::FallbackSnapshot {
        path,
        age_secs,
        api_error,
        ..
    } = stream.source()
    {
        let warning = format!(
            "the API was unreachable ({api_error}); using fallback snapshot {} from {} ({age_secs} s old)",
            path.display(),
            header
                .fetched_at
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        );
        tracing::warn!("{warning}");
        stream.warn(warning);
    }
    stream
}

/// The item with `id` in the snapshot at `path`, after checking the whole file; of two
/// versions (in files pulled before snapshots held each id once), the newest.
pub(crate) async fn item(path: &Path, id: &str) -> Result<Option<UnifiedContent>, FetchError> {
    let (path, id) = (path.to_path_buf(), id.to_string());
    tokio::task::spawn_blocking(move || {
        let mut found: Option<UnifiedContent> = None;
        snapshot::stream(&path, &mut |_| Ok(()), &mut |item| {
            if item.content.id == id
                && found
                    .as_ref()
                    .is_none_or(|f| item.content.version().replaces(f.version()))
            {
                found = Some(item.content);
            }
            Ok(())
        })?;
        Ok(found)
    })
    .await
    .expect("reading a snapshot does not panic")
}

/// Cuts a snapshot's items into pages per content type. The snapshot is sorted by type, so
/// each type's items come together and in the order of [`crate::Filters::types`].
struct Pager {
    options: FetchOptions,
    path: PathBuf,
    /// The digest of the file as opened: a file replaced since is refused.
    digest: String,
    /// The wanted types not started yet.
    types: std::vec::IntoIter<ContentType>,
    /// The type being paged, its page index and the items of its page so far.
    current: Option<(ContentType, usize, Vec<UnifiedContent>)>,
    tx: Sender,
    /// Set once the consumer is gone or a failed page was sent: nothing more to send.
    stopped: bool,
}

impl Pager {
    fn run(mut self) {
        let path = self.path.clone();
        let digest = self.digest.clone();
        let read = snapshot::stream(
            &path,
            &mut |header| {
                if header.digest == digest {
                    Ok(())
                } else {
                    Err(FetchError::snapshot(
                        &path,
                        "the file was replaced while in use; run again",
                    ))
                }
            },
            &mut |item| self.take(item.content),
        );
        let result = read.and_then(|_| self.finish());
        if let Err(e) = result
            && !self.stopped
        {
            let _ = self.tx.blocking_send(Err(e));
        }
    }

    fn take(&mut self, item: UnifiedContent) -> Result<(), FetchError> {
        if !self.options.filters.matches(&item) {
            return Ok(());
        }
        while self
            .current
            .as_ref()
            .is_none_or(|(t, ..)| *t != item.content_type)
        {
            self.close()?;
            let next = self.types.next().ok_or_else(|| {
                FetchError::snapshot(
                    &self.path,
                    format!(
                        "item '{}' is out of order (items are sorted by type, then id); the file was edited, pull it again",
                        item.id
                    ),
                )
            })?;
            self.current = Some((next, 0, Vec::new()));
        }
        let (content_type, index, items) = self.current.as_mut().expect("a type is open");
        if items.len() == PAGE_ITEMS {
            let (content_type, page_index) = (*content_type, *index);
            *index += 1;
            let full = std::mem::take(items);
            self.send(content_type, page_index, false, full)?;
        }
        self.current.as_mut().expect("a type is open").2.push(item);
        Ok(())
    }

    /// Sends the open type's last page.
    fn close(&mut self) -> Result<(), FetchError> {
        match self.current.take() {
            Some((content_type, index, items)) => self.send(content_type, index, true, items),
            None => Ok(()),
        }
    }

    /// Sends the last pages, empty for the wanted types the snapshot holds none of.
    fn finish(&mut self) -> Result<(), FetchError> {
        self.close()?;
        while let Some(content_type) = self.types.next() {
            self.send(content_type, 0, true, Vec::new())?;
        }
        Ok(())
    }

    fn send(
        &mut self,
        content_type: ContentType,
        index: usize,
        last: bool,
        items: Vec<UnifiedContent>,
    ) -> Result<(), FetchError> {
        let origin = self.path.display().to_string();
        let checked = items.into_iter().map(check_model);
        let page = build_page(content_type, index, last, checked, &self.options, &origin);
        let failed = page.is_err();
        if self.tx.blocking_send(page).is_err() || failed {
            self.stopped = true;
            return Err(FetchError::snapshot(&self.path, "the run stopped reading"));
        }
        Ok(())
    }
}
