//! The local path with real parts: SQLite batch state, the in-process timer and a build
//! command that records its environment, run once per build, retried once when it fails.

mod support;

use std::sync::Arc;

use build_trigger::{
    BuildTrigger, BuildType, CommandStarter, LocalScheduler, Outcome, SqliteBatchStore,
    run_local_timer,
};
use chrono::Utc;
use support::events::articles;

/// Appends the build's variables to builds.log, one build per line; fails its first run when
/// asked to, to show the retry.
const COMMAND: &str = r#"if [ -f fail-once ]; then rm fail-once; echo "first attempt fails" >&2; exit 3; fi
printf '%s|%s|%s|%s|%s\n' "$BUILD_TYPE" "$BATCH_ID" "$BATCH_EVENT_COUNT" "$INTEGRATION_API_URL" "$BUILD_REASON" >> builds.log"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_runs_once_per_build_with_the_build_environment() {
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("site");
    std::fs::create_dir_all(&site).unwrap();
    std::fs::write(site.join("fail-once"), "").unwrap();
    let store = Arc::new(SqliteBatchStore::open(&dir.path().join("batches.db")).unwrap());
    let (scheduler, schedules) = LocalScheduler::channel();
    let trigger = BuildTrigger::new(
        store,
        Arc::new(scheduler),
        Arc::new(CommandStarter::new(
            COMMAND,
            &site,
            "http://127.0.0.1:9/api",
        )),
    );
    tokio::spawn(run_local_timer(trigger.clone(), schedules));

    // One change builds at once (its first attempt fails and is retried); the next four,
    // within the cooldown, wait in one batch that the timer fires at the window's end.
    let client = "local";
    let now = Utc::now();
    let first = trigger
        .on_events(articles(client, 1, now), now)
        .await
        .unwrap();
    assert!(
        matches!(&first[..], [Outcome::Started { build_type: BuildType::Immediate, build_id, .. }] if build_id.ends_with(":2")),
        "{first:?}"
    );
    let mut more = articles(client, 5, now);
    more.remove(0);
    let later = Utc::now();
    let batched = trigger.on_events(more, later).await.unwrap();
    let [
        Outcome::Batched {
            batch_id, due_at, ..
        },
    ] = &batched[..]
    else {
        panic!("{batched:?}");
    };
    assert_eq!(*due_at, later + build_trigger::STANDARD_BATCH_WINDOW);

    let log = site.join("builds.log");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let lines = loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if text.lines().count() >= 2 || std::time::Instant::now() > deadline {
            break text;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    let lines: Vec<&str> = lines.lines().collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines[0].starts_with("immediate|batch-"), "{}", lines[0]);
    assert!(
        lines[0].ends_with("|1|http://127.0.0.1:9/api|1 change(s), built at once"),
        "{}",
        lines[0]
    );
    assert_eq!(
        lines[1],
        format!("batch|{batch_id}|4|http://127.0.0.1:9/api|batch of 4 event(s) over 4 item(s)")
    );
    assert!(
        Utc::now() >= *due_at,
        "the batch built no earlier than its window's end"
    );
    // Nothing more runs: the batch is done.
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    assert_eq!(std::fs::read_to_string(&log).unwrap().lines().count(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_failing_twice_is_reported_naming_the_batch() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteBatchStore::open(&dir.path().join("batches.db")).unwrap());
    let (scheduler, _schedules) = LocalScheduler::channel();
    let trigger = BuildTrigger::new(
        store,
        Arc::new(scheduler),
        Arc::new(CommandStarter::new(
            "exit 7",
            dir.path(),
            "http://127.0.0.1:9",
        )),
    );
    let error = trigger
        .on_events(articles("c", 1, Utc::now()), Utc::now())
        .await
        .unwrap_err();
    let text = format!("{error:?}");
    assert!(text.contains("exit 7") && text.contains("batch-"), "{text}");
}
