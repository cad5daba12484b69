//! Entry files rendered while the fetch still runs: a full run into an empty output renders
//! each arriving item's entry file into its staged path on background threads, so that the
//! commit only renders what the arrival order could not settle.
//!
//! An item is rendered ahead only when its slug is safe as received (no warning to raise in
//! output order), it is no tombstone, and its staged path is still free: the staging folder
//! itself, through `create_new`, is the set of claimed paths, so memory holds no list of
//! them. The commit then treats the file as rendered when the item keeps that path (it is the
//! newest version of its id and not a suffixed duplicate); any other item placed at that path
//! renders over it, and files of items that were replaced are removed before the journal (see
//! [`Writer::write_items`](super::Writer::write_items)). Nothing here reaches the output but
//! through the journal, and a dropped run removes the staging folder as before.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use unified_content::{ContentType, Timestamp, UnifiedContent};

use crate::Engine;
use crate::naming::collection_name;
use crate::paths::join_inside;
use crate::templates::Templates;

/// The flag set in a spool record's offset when its item's entry file was rendered ahead:
/// spool offsets stay far below it.
pub(crate) const SPECULATED: u64 = 1 << 63;

/// Items handed to a render thread at once.
const BATCH: usize = 32;
/// Batches waiting for a render thread at most: the fetch waits beyond that, so memory holds
/// a few hundred items' lines whatever the catalogue's size.
const QUEUED: usize = 8;

/// One entry file to render ahead.
struct Ahead {
    content_type: ContentType,
    id: String,
    slug: String,
    template: &'static str,
    line: Vec<u8>,
    file: File,
}

/// What the render threads did.
#[derive(Default)]
struct Done {
    synced: Option<Timestamp>,
    bytes: u64,
    failed: bool,
}

/// What rendering ahead left for the commit.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Speculated {
    /// The staged entry files of items whose offset carries [`SPECULATED`] hold their render:
    /// no thread failed, and the output was still empty at the commit.
    pub(crate) valid: bool,
    /// Items rendered ahead.
    pub(crate) count: usize,
    /// The newest `synced_at` of the items rendered ahead.
    pub(crate) synced: Option<Timestamp>,
    /// The bytes of their files.
    pub(crate) bytes: u64,
}

/// The background render of one run's arriving entry files.
pub(crate) struct Speculation {
    engine: &'static dyn Engine,
    markdown: bool,
    staging: PathBuf,
    batch: Vec<Ahead>,
    sender: Option<SyncSender<Vec<Ahead>>>,
    threads: Vec<JoinHandle<Done>>,
    count: usize,
    /// A staged path could not be created for a reason other than being taken.
    failed: bool,
}

impl Speculation {
    /// Starts render threads for the entry files of `engine`, or `None` when it writes none
    /// or also writes list files: their fragments are rendered at the commit from the same
    /// parsed line, so rendering the entry file apart would parse every line twice.
    pub(crate) fn start(
        engine: &'static dyn Engine,
        templates: &Arc<Templates>,
        markdown: bool,
        staging: &Path,
    ) -> io::Result<Option<Speculation>> {
        let folders: Vec<&str> = ContentType::ALL
            .into_iter()
            .filter(|t| engine.entry_file(*t, markdown).is_some())
            .map(collection_name)
            .collect();
        if folders.is_empty() || engine.list_item_template().is_some() {
            return Ok(None);
        }
        for folder in folders {
            std::fs::create_dir_all(join_inside(staging, folder))?;
        }
        let (sender, receiver) = mpsc::sync_channel::<Vec<Ahead>>(QUEUED);
        let receiver = Arc::new(Mutex::new(receiver));
        let workers = std::thread::available_parallelism().map_or(1, |n| n.get().min(8));
        let threads = (0..workers)
            .map(|_| {
                let (receiver, templates) = (Arc::clone(&receiver), Arc::clone(templates));
                std::thread::spawn(move || render_ahead(&receiver, &templates))
            })
            .collect();
        Ok(Some(Speculation {
            engine,
            markdown,
            staging: staging.to_path_buf(),
            batch: Vec::with_capacity(BATCH),
            sender: Some(sender),
            threads,
            count: 0,
            failed: false,
        }))
    }

    /// Renders `item`'s entry file ahead when it can (its spool `line` and `safe_slug`);
    /// returns whether it does, so that its spool record says so.
    pub(crate) fn offer(&mut self, item: &UnifiedContent, safe_slug: &str, line: &[u8]) -> bool {
        if self.failed || item.is_deleted() || item.slug != safe_slug {
            return false;
        }
        let Some(entry) = self.engine.entry_file(item.content_type, self.markdown) else {
            return false;
        };
        let folder = collection_name(item.content_type);
        let mut rel = String::with_capacity(folder.len() + safe_slug.len() + 8);
        for part in [folder, "/", safe_slug, ".", entry.extension] {
            rel.push_str(part);
        }
        let path = join_inside(&self.staging, &rel);
        let file = match File::options().write(true).create_new(true).open(&path) {
            Ok(file) => file,
            // An earlier item holds the path: this one is rendered at the commit.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return false,
            Err(e) => {
                tracing::debug!(path = %path.display(), error = %e, "no longer rendering ahead");
                self.failed = true;
                return false;
            }
        };
        self.batch.push(Ahead {
            content_type: item.content_type,
            id: item.id.clone(),
            slug: safe_slug.to_string(),
            template: entry.template,
            line: line.to_vec(),
            file,
        });
        self.count += 1;
        if self.batch.len() == BATCH {
            self.hand();
        }
        true
    }

    /// Items rendered ahead so far.
    #[cfg(test)]
    pub(crate) fn count(&self) -> usize {
        self.count
    }

    fn hand(&mut self) {
        let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(BATCH));
        let sent = self.sender.as_ref().is_some_and(|s| s.send(batch).is_ok());
        // Every thread gone means one panicked: the commit renders everything again.
        self.failed |= !sent;
    }

    /// Waits for the render threads and says what they left.
    pub(crate) fn finish(mut self) -> Speculated {
        if !self.batch.is_empty() {
            self.hand();
        }
        let (mut synced, mut bytes, mut failed) = (None, 0, self.failed);
        for done in self.stop() {
            synced = synced.max(done.synced);
            bytes += done.bytes;
            failed |= done.failed;
        }
        Speculated {
            valid: !failed,
            count: self.count,
            synced,
            bytes,
        }
    }

    /// Closes the queue and joins the threads; a thread that panicked counts as failed.
    fn stop(&mut self) -> Vec<Done> {
        self.sender = None;
        self.threads
            .drain(..)
            .map(|t| {
                t.join().unwrap_or(Done {
                    failed: true,
                    ..Done::default()
                })
            })
            .collect()
    }
}

impl Drop for Speculation {
    fn drop(&mut self) {
        // A dropped run joins its threads before its staging folder goes.
        self.stop();
    }
}

/// A render thread: renders each entry file it is handed into its open staged file.
fn render_ahead(receiver: &Mutex<Receiver<Vec<Ahead>>>, templates: &Templates) -> Done {
    let mut done = Done::default();
    loop {
        let batch = match receiver.lock().map(|r| r.recv()) {
            Ok(Ok(batch)) => batch,
            _ => return done,
        };
        // After a failure the rest is only drained: the commit renders everything again.
        for ahead in batch {
            if done.failed {
                continue;
            }
            let rendered = super::item::render_entry(
                templates,
                ahead.content_type,
                &ahead.line,
                &ahead.id,
                &ahead.slug,
                ahead.template,
            );
            match rendered {
                Ok((text, synced)) if (&ahead.file).write_all(text.as_bytes()).is_ok() => {
                    done.synced = done.synced.max(synced);
                    done.bytes += text.len() as u64;
                }
                _ => done.failed = true,
            }
        }
    }
}
