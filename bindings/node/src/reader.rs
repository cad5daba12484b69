//! A run read page by page from JavaScript, for `pages()` and `fetchContent()`. The fetch and
//! the JSON writing of each page run ahead of `next()` on the addon's runtime, a page or two
//! at most, so the JS thread parses one page while the next is fetched and written: memory
//! holds a few pages whatever the catalog's size, and nothing waits for the last page.

use std::sync::Arc;

use content_fetch::{Feed, RunFeeds};
use napi::bindgen_prelude::{AsyncTask, Uint32Array};
use napi_derive::napi;
use tokio::sync::{Mutex, mpsc, watch};
use unified_content::ContentType;

use crate::failure::Failure;
use crate::job::{Done, Job, cwd};
use crate::options::ContentOptions;
use crate::results::{self, RawPage};

/// Pages written ahead of `next()`: one parsed in JS while the next is ready and a third is
/// being written.
const AHEAD: usize = 2;

/// Reads the pages of a run one at a time: the fetch runs at most a few pages ahead of
/// `next()`. Use `pages()` or `fetchContent()` from the package, which read it.
#[napi]
pub struct PageReader {
    state: Arc<Mutex<ReaderState>>,
    /// Set by `close()`: a `next()` waiting for its page, which holds `state`, sees it at once.
    closed: watch::Sender<bool>,
}

enum ReaderState {
    Ready {
        options: Box<ContentOptions>,
        whole: bool,
    },
    Open(mpsc::Receiver<Ahead>),
    /// After the last page: the order that sorts what was read (`whole` runs only).
    Done(Option<Vec<u32>>),
}

/// What the writer hands `next()`: a page or the end, with the run's new warnings.
type Ahead = (Result<Step, Failure>, Vec<String>);

enum Step {
    Page(RawPage),
    /// The last page was read; `Some` order for a `whole` run whose pages did not come
    /// sorted.
    End(Option<Vec<u32>>),
}

/// A reader of the pages of the run the options ask for (`pages()`). Nothing is fetched
/// before the first `next()`.
#[napi]
pub fn open_pages(options: Option<ContentOptions>) -> PageReader {
    PageReader::new(options, false)
}

/// A reader of the whole run the options ask for (`fetchContent()`): the same pages, and
/// after the last one `order()` sorts them by content type then id. A snapshot
/// file is checked as it is read, as the caller keeps everything until the end.
#[napi]
pub fn open_content(options: Option<ContentOptions>) -> PageReader {
    PageReader::new(options, true)
}

impl PageReader {
    fn new(options: Option<ContentOptions>, whole: bool) -> PageReader {
        PageReader {
            state: Arc::new(Mutex::new(ReaderState::Ready {
                options: Box::new(options.unwrap_or_default()),
                whole,
            })),
            closed: watch::Sender::new(false),
        }
    }
}

#[napi]
impl PageReader {
    /// The next page of valid items of one content type, or `null` after the last page.
    /// Invalid items are listed in the page's `skipped` (or fail the call with `strict`).
    /// When the API stays unreachable and `fallbackSnapshot` is given, the snapshot's pages
    /// follow from the start, the first with `restart` set, and a warning is emitted.
    #[napi(ts_return_type = "Promise<RawPage | null>")]
    pub fn next(&self) -> AsyncTask<Job<Option<RawPage>>> {
        let state = Arc::clone(&self.state);
        let mut closed = self.closed.subscribe();
        Job::spawn(move || async move {
            let mut state = state.lock().await;
            // Closing drops the page being waited for, and with it the writer and the fetch.
            let closing = async {
                if closed.wait_for(|closed| *closed).await.is_err() {
                    // The reader is gone without a close(): only the reader closes a run.
                    std::future::pending::<()>().await;
                }
            };
            let step = tokio::select! {
                biased;
                () = closing => None,
                step = read(&mut state) => Some(step),
            };
            step.unwrap_or_else(|| {
                *state = ReaderState::Done(None);
                Ok(Done::new(None))
            })
        })
    }

    /// After the last page of an `openContent` reader: the positions, among the items read in
    /// order since the last page with `restart` set (or the first page), that sort them by
    /// content type then id; `null` when they came sorted.
    #[napi]
    pub fn order(&self) -> Option<Uint32Array> {
        match &mut *self.state.try_lock().ok()? {
            ReaderState::Done(order) => order.take().map(Uint32Array::new),
            _ => None,
        }
    }

    /// Stops the fetch, a request in flight included; `next()` gives `null` from now on, a
    /// `next()` still waiting for its page included.
    #[napi]
    pub fn close(&self) {
        self.closed.send_replace(true);
        // Between `next()`s nothing waits to see the flag: drop the run here.
        if let Ok(mut state) = self.state.try_lock() {
            *state = ReaderState::Done(None);
        }
    }
}

/// The next step of `next()`: opens the run on the first call, then hands on what the writer
/// sends.
async fn read(state: &mut ReaderState) -> Result<Done<Option<RawPage>>, Failure> {
    if let ReaderState::Ready { options, whole } = &*state {
        let request = options.request()?;
        let fetch = request.fetch_options()?;
        let source = request.open(&cwd()?).await?;
        let feeds = if *whole {
            source.run_whole(&fetch, request.fallback())?
        } else {
            source.run(&fetch, request.fallback())?
        };
        let (tx, rx) = mpsc::channel(AHEAD);
        tokio::spawn(write_ahead(feeds, tx, whole.then(Whole::default)));
        *state = ReaderState::Open(rx);
    }
    let ReaderState::Open(rx) = &mut *state else {
        return Ok(Done::new(None));
    };
    let Some((step, warnings)) = rx.recv().await else {
        // The writer stops only after an end or an error, both handed on.
        *state = ReaderState::Done(None);
        return Ok(Done::new(None));
    };
    match step {
        Ok(Step::Page(page)) => Ok(Done::with_warnings(Some(page), warnings)),
        Ok(Step::End(order)) => {
            *state = ReaderState::Done(order);
            Ok(Done::with_warnings(None, warnings))
        }
        Err(failure) => {
            *state = ReaderState::Done(None);
            Err(failure)
        }
    }
}

/// What a `whole` run keeps until its end: every item's sort key, and a warning per item
/// skipped as invalid, emitted with the run's own when the last page is read.
#[derive(Default)]
struct Whole {
    keys: Vec<(ContentType, String)>,
    skipped: Vec<String>,
}

/// Reads the run's feeds and writes each page's JSON text, a few pages ahead of the reader.
/// Stops after the end or an error, or as soon as the reader is closed or gone, even while a
/// page is being fetched: dropping the feeds stops the fetch.
async fn write_ahead(mut feeds: RunFeeds, tx: mpsc::Sender<Ahead>, mut whole: Option<Whole>) {
    let mut restart = false;
    let mut warned = 0;
    loop {
        let feed = tokio::select! {
            feed = feeds.next() => feed,
            () = tx.closed() => return,
        };
        let step = match feed {
            Some(Ok(Feed::Restart)) => {
                restart = true;
                whole = whole.map(|_| Whole::default());
                continue;
            }
            Some(Ok(Feed::Page(page))) => {
                if let Some(whole) = &mut whole {
                    let keys = page.items.iter().map(|i| (i.content_type, i.id.clone()));
                    whole.keys.extend(keys);
                    let skipped = page.skipped.iter().map(results::skipped_warning);
                    whole.skipped.extend(skipped);
                }
                Ok(Step::Page(RawPage::new(page, std::mem::take(&mut restart))))
            }
            Some(Err(e)) => Err(e.into()),
            None => Ok(Step::End(
                whole
                    .as_mut()
                    .and_then(|w| sort_order(std::mem::take(&mut w.keys))),
            )),
        };
        let warnings = match (&mut whole, &step) {
            (Some(_), Ok(Step::Page(_)) | Err(_)) => Vec::new(),
            (Some(whole), Ok(Step::End(_))) => {
                let mut warnings = std::mem::take(&mut whole.skipped);
                warnings.extend(feeds.summary().warnings);
                warnings
            }
            (None, _) => {
                let warnings = feeds.summary().warnings.split_off(warned);
                warned += warnings.len();
                warnings
            }
        };
        let last = !matches!(step, Ok(Step::Page(_)));
        if tx.send((step, warnings)).await.is_err() || last {
            return;
        }
    }
}

/// The positions that sort `keys` (stably), or `None` when they are sorted already.
fn sort_order(keys: Vec<(ContentType, String)>) -> Option<Vec<u32>> {
    if keys.is_sorted() {
        return None;
    }
    // A JS array holds at most 2^32 - 1 items, so every position fits.
    let mut order: Vec<u32> = (0..keys.len())
        .map(|i| u32::try_from(i).unwrap_or(u32::MAX))
        .collect();
    order.sort_by(|&a, &b| keys[a as usize].cmp(&keys[b as usize]));
    Some(order)
}
