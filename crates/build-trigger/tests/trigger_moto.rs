//! The trigger against moto's server: DynamoDB batch rows, EventBridge Scheduler schedules and
//! CodeBuild StartBuild, seen through moto's request recorder.

mod support;

use build_trigger::{
    BuildType, Outcome, STANDARD_BATCH_WINDOW, Scheduled, ScheduledPayload, TriggerError,
    at_expression, schedule_name,
};
use chrono::{TimeDelta, Utc};
use support::aws::{
    API_URL, LAMBDA_ARN, Recorder, SCHEDULER_ROLE_ARN, clients, overrides, trigger,
};
use support::events::articles;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_is_scheduled_once_and_twenty_firings_start_one_build() {
    let aws = clients().await;
    let (trigger, project) = trigger(&aws, None).await;
    let recorder = Recorder::start().await;
    let client = support::moto::unique("client");
    let now = Utc::now();
    let events = articles(&client, 5, now);

    let outcomes = trigger.on_events(events.clone(), now).await.unwrap();
    let [
        Outcome::Batched {
            batch_id,
            due_at,
            scheduled,
        },
    ] = &outcomes[..]
    else {
        panic!("five articles with no batch active wait in a batch: {outcomes:?}");
    };
    assert_eq!(
        (*due_at, *scheduled),
        (now + STANDARD_BATCH_WINDOW, Scheduled::Created)
    );

    // The schedule: at() in UTC, no flexible window, deletes itself, invokes the Lambda.
    let schedule = aws
        .scheduler
        .get_schedule()
        .name(schedule_name(batch_id, *due_at))
        .send()
        .await
        .unwrap();
    assert_eq!(
        schedule.schedule_expression(),
        Some(at_expression(*due_at).as_str())
    );
    assert!(
        at_expression(*due_at).starts_with("at(20"),
        "{}",
        at_expression(*due_at)
    );
    assert_eq!(schedule.schedule_expression_timezone(), Some("UTC"));
    assert_eq!(
        schedule.flexible_time_window().map(|w| w.mode().as_str()),
        Some("OFF")
    );
    assert_eq!(
        schedule.action_after_completion().map(|a| a.as_str()),
        Some("DELETE")
    );
    let target = schedule.target().unwrap();
    assert_eq!(
        (target.arn(), target.role_arn()),
        (LAMBDA_ARN, SCHEDULER_ROLE_ARN)
    );
    let payload: ScheduledPayload = serde_json::from_str(target.input().unwrap()).unwrap();
    assert_eq!(payload, ScheduledPayload::trigger(batch_id));
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(target.input().unwrap()).unwrap(),
        serde_json::json!({"batch_id": batch_id, "action": "trigger_batch_build"})
    );

    // A repeated delivery changes nothing; a schedule made twice is already scheduled.
    let again = trigger
        .on_events(events, now + TimeDelta::seconds(1))
        .await
        .unwrap();
    assert_eq!(
        again,
        [Outcome::Duplicate {
            client_id: client.clone()
        }]
    );
    let more = articles(&client, 1, now);
    let mut more = more;
    more[0].event_id.push_str("-second");
    more[0].content_id = "article-extra".into();
    let outcomes = trigger
        .on_events(more, now + TimeDelta::seconds(2))
        .await
        .unwrap();
    assert!(
        matches!(&outcomes[..], [Outcome::Batched { scheduled: Scheduled::AlreadyScheduled, batch_id: b, .. }] if b == batch_id),
        "{outcomes:?}"
    );

    // Moto never fires schedules: invoke the payload, twenty times at once.
    let fired = *due_at;
    let firings: Vec<_> = (0..20)
        .map(|_| {
            let trigger = trigger.clone();
            let batch_id = batch_id.clone();
            tokio::spawn(async move { trigger.on_scheduled(&batch_id, fired).await.unwrap() })
        })
        .collect();
    let mut started = Vec::new();
    for firing in firings {
        match firing.await.unwrap() {
            Outcome::Started {
                build_type,
                build_id,
                ..
            } => started.push((build_type, build_id)),
            Outcome::AlreadyHandled { .. } => {}
            other => panic!("a firing either starts the build or finds it handled: {other:?}"),
        }
    }
    assert_eq!(started.len(), 1, "exactly one build: {started:?}");
    assert_eq!(started[0].0, BuildType::Batch);
    let builds = aws
        .codebuild
        .list_builds_for_project()
        .project_name(&project)
        .send()
        .await
        .unwrap();
    assert_eq!(builds.ids(), [started[0].1.clone()]);

    // What StartBuild was sent, from the recorder (moto does not echo overrides).
    let bodies = recorder.bodies("StartBuild", &project).await;
    assert_eq!(bodies.len(), 1, "{bodies:?}");
    let env = overrides(&bodies[0]);
    assert_eq!(env["BUILD_TYPE"], "batch");
    assert_eq!(&env["BATCH_ID"], batch_id);
    assert_eq!(env["BATCH_EVENT_COUNT"], "6");
    assert_eq!(env["INTEGRATION_API_URL"], API_URL);
    assert_eq!(env["BUILD_REASON"], "batch of 6 event(s) over 6 item(s)");
    let summary: serde_json::Value = serde_json::from_str(&env["CONTENT_CHANGES_SUMMARY"]).unwrap();
    assert_eq!(summary["total_events"], 6);
    assert_eq!(summary["content_types"]["article"], 6);
    assert_eq!(summary["requires_full_rebuild"], false);
    assert_eq!(env.len(), 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_schedule_falls_back_to_one_build_per_client_and_window() {
    let aws = clients().await;
    // A schedule group that does not exist: every CreateSchedule fails.
    let (trigger, project) = trigger(&aws, Some("no-such-group".into())).await;
    let recorder = Recorder::start().await;
    let client = support::moto::unique("client");
    // The start of a fallback window, so every event below falls in the same one.
    let window = STANDARD_BATCH_WINDOW.num_milliseconds();
    let now = chrono::DateTime::from_timestamp_millis(
        Utc::now().timestamp_millis().div_euclid(window) * window + window,
    )
    .unwrap();

    let mut outcomes = Vec::new();
    for i in 0..6 {
        let mut events = articles(&client, 4, now);
        for e in &mut events {
            e.event_id.push_str(&format!("-{i}"));
            e.content_id.push_str(&format!("-{i}"));
        }
        outcomes.extend(
            trigger
                .on_events(events, now + TimeDelta::seconds(i))
                .await
                .unwrap(),
        );
    }
    let fallbacks = outcomes
        .iter()
        .filter(|o| {
            matches!(
                o,
                Outcome::Started {
                    build_type: BuildType::Fallback,
                    ..
                }
            )
        })
        .count();
    assert_eq!(fallbacks, 1, "{outcomes:?}");
    let bodies = recorder.bodies("StartBuild", &project).await;
    assert_eq!(bodies.len(), 1, "one build, not one per event: {bodies:?}");
    let env = overrides(&bodies[0]);
    assert_eq!(env["BUILD_TYPE"], "fallback");
    let summary: serde_json::Value = serde_json::from_str(&env["CONTENT_CHANGES_SUMMARY"]).unwrap();
    assert_eq!(summary["requires_full_rebuild"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_start_build_is_an_error_naming_the_project() {
    let aws = clients().await;
    let store = support::moto::batch_store("batches").await;
    let trigger = build_trigger::BuildTrigger::new(
        std::sync::Arc::new(store),
        std::sync::Arc::new(build_trigger::EventBridgeScheduler::new(
            aws.scheduler.clone(),
            LAMBDA_ARN,
            SCHEDULER_ROLE_ARN,
            None,
        )),
        std::sync::Arc::new(build_trigger::CodeBuildStarter::new(
            aws.codebuild.clone(),
            "no-such-project",
            API_URL,
        )),
    );
    let client = support::moto::unique("client");
    let error = trigger
        .on_events(articles(&client, 1, Utc::now()), Utc::now())
        .await
        .unwrap_err();
    assert!(matches!(error, TriggerError::Fallback { .. }), "{error:?}");
    let text = error_line::error_line(&error);
    assert!(text.contains("no-such-project"), "{text}");
}
