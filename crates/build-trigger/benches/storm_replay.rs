//! Replays recorded webhook storms through the real trigger (SQLite batch state, the local
//! scheduler's queue on a virtual clock) and prints the builds started against the seed's
//! unbatched one build per event.
//!
//! `cargo bench -p build-trigger --bench storm_replay`

#[path = "../tests/support/events.rs"]
#[allow(dead_code)]
mod events;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use build_trigger::{
    BuildRequest, BuildStarter, BuildTrigger, BuildType, LocalScheduler, SqliteBatchStore,
    StartError,
};
use chrono::{DateTime, Utc};
use events::{at_ms, event};
use unified_content::{ContentEvent, ContentType, EventType};

/// Counts the builds it is asked to start, by type, and the events they cover.
#[derive(Default)]
struct CountingStarter {
    started: Mutex<Vec<(BuildType, u32)>>,
}

#[async_trait]
impl BuildStarter for CountingStarter {
    async fn start(&self, request: &BuildRequest) -> Result<String, StartError> {
        let mut started = self.started.lock().unwrap();
        started.push((request.build_type, request.event_count));
        Ok(format!("bench:{}", started.len()))
    }
}

/// One CMS save: Sanity sends create, update, publish and a repeated publish of one document.
fn cms_save() -> Vec<ContentEvent> {
    let titles = [
        "Spring sale",
        "Spring sale!",
        "Spring sale is on",
        "Spring sale is on",
    ];
    titles
        .iter()
        .enumerate()
        .map(|(i, title)| {
            let kind = if i == 0 {
                EventType::ContentCreated
            } else {
                EventType::ContentUpdated
            };
            let mut e = event(
                "agency",
                ContentType::Article,
                kind,
                "post-1",
                title,
                at_ms(i as i64 * 300),
            );
            e.event_id = format!("cms-{i}");
            e
        })
        .collect()
}

/// 100 product updates in two minutes: 20 products edited five times each, one every 1.2 s.
fn product_updates() -> Vec<ContentEvent> {
    (0..100)
        .map(|i| {
            let id = format!("product-{}", i % 20);
            let title = format!("Product {} v{}", i % 20, i / 20);
            let mut e = event(
                "agency",
                ContentType::Product,
                EventType::ContentUpdated,
                &id,
                &title,
                at_ms(i * 1_200),
            );
            e.event_id = format!("upd-{i}");
            e
        })
        .collect()
}

/// A bulk import of 852 products, 14 a second (a minute).
fn bulk_import() -> Vec<ContentEvent> {
    (0..852)
        .map(|i| {
            let id = format!("import-{i}");
            let mut e = event(
                "agency",
                ContentType::Product,
                EventType::ContentCreated,
                &id,
                &id,
                at_ms(i * 1_000 / 14),
            );
            e.event_id = format!("imp-{i}");
            e
        })
        .collect()
}

/// Replays events one delivery at a time, firing due schedules on the virtual clock first.
async fn replay(events: Vec<ContentEvent>) -> Vec<(BuildType, u32)> {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteBatchStore::open(&dir.path().join("batches.db")).unwrap());
    let (scheduler, mut schedules) = LocalScheduler::channel();
    let starter = Arc::new(CountingStarter::default());
    let trigger = BuildTrigger::new(store, Arc::new(scheduler), starter.clone());
    let mut due: BTreeMap<(DateTime<Utc>, String), ()> = BTreeMap::new();
    let fire_until =
        |until: Option<DateTime<Utc>>,
         due: &mut BTreeMap<(DateTime<Utc>, String), ()>,
         schedules: &mut tokio::sync::mpsc::UnboundedReceiver<(String, DateTime<Utc>)>| {
            while let Ok((batch_id, at)) = schedules.try_recv() {
                due.insert((at, batch_id), ());
            }
            let next = due.keys().next().cloned();
            match next {
                Some((at, batch_id)) if until.is_none_or(|u| at <= u) => {
                    due.remove(&(at, batch_id.clone()));
                    Some((at, batch_id))
                }
                _ => None,
            }
        };
    for e in events {
        let now = e.timestamp;
        while let Some((at, batch_id)) = fire_until(Some(now), &mut due, &mut schedules) {
            trigger.on_scheduled(&batch_id, at).await.unwrap();
        }
        trigger.on_events(vec![e], now).await.unwrap();
    }
    while let Some((at, batch_id)) = fire_until(None, &mut due, &mut schedules) {
        trigger.on_scheduled(&batch_id, at).await.unwrap();
    }
    starter.started.lock().unwrap().clone()
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    println!(
        "{:<34} {:>6} {:>18} {:>15} {:>30}",
        "storm", "events", "seed (1 per event)", "builds started", "immediate / batch / fallback"
    );
    for (name, events) in [
        ("1 CMS save, 4 webhooks", cms_save()),
        ("100 product updates in 2 min", product_updates()),
        ("bulk import of 852 changes", bulk_import()),
    ] {
        let count = events.len();
        let span = events.last().unwrap().timestamp - events[0].timestamp;
        let started = std::time::Instant::now();
        let builds = replay(events).await;
        let by = |t: BuildType| builds.iter().filter(|(b, _)| *b == t).count();
        let covered: u32 = builds.iter().map(|(_, n)| n).sum();
        println!(
            "{:<34} {:>6} {:>18} {:>15} {:>30}",
            name,
            count,
            count,
            builds.len(),
            format!(
                "{} / {} / {}",
                by(BuildType::Immediate),
                by(BuildType::Batch),
                by(BuildType::Fallback)
            )
        );
        println!(
            "    events over {:.1} s; builds cover {covered} events after the digest skip; replay took {:.0} ms",
            span.num_milliseconds() as f64 / 1000.0,
            started.elapsed().as_secs_f64() * 1000.0,
        );
    }
}
