//! The Lambda's handler end to end against moto's server: SnsPublisher → SNS topic → SQS
//! queue subscribed with the shipped filter policy → the SNS event Lambda would get → batch
//! rows → a Scheduler schedule → its payload invoked → StartBuild once, with the overrides.

#[path = "../../build-trigger/tests/support/mod.rs"]
mod support;

use std::collections::BTreeMap;

use build_trigger::{BatchStatus, BatchStore, ScheduledPayload, at_expression, schedule_name};
use build_trigger_lambda::{Config, ConfigError, Handler, REQUIRED_VARIABLES, handle};
use chrono::{TimeDelta, Utc};
use emf_metrics::{MemorySink, Metrics, Record};
use integration_api::events::{EventPublisher, FILTER_POLICY, SnsPublisher};
use moto_server::MotoServer;
use serde_json::{Value, json};
use support::aws::{API_URL, Recorder, overrides};
use unified_content::{ContentType, EventType};

/// The SNS record Lambda delivers for a notification that SNS delivered to SQS.
fn lambda_record(notification: &Value, subscription_arn: &str) -> Value {
    let n = notification;
    json!({
        "EventSource": "aws:sns",
        "EventVersion": "1.0",
        "EventSubscriptionArn": subscription_arn,
        "Sns": {
            "Type": n["Type"],
            "MessageId": n["MessageId"],
            "TopicArn": n["TopicArn"],
            "Subject": n["Subject"],
            "Message": n["Message"],
            "Timestamp": n["Timestamp"],
            "SignatureVersion": n["SignatureVersion"],
            "Signature": n["Signature"],
            "SigningCertUrl": n["SigningCertURL"],
            "UnsubscribeUrl": n["UnsubscribeURL"],
            "MessageAttributes": n["MessageAttributes"],
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sns_events_become_one_immediate_build_and_one_scheduled_batch() {
    let config = MotoServer::shared().sdk_config().await;
    let sns = aws_sdk_sns::Client::new(&config);
    let sqs = aws_sdk_sqs::Client::new(&config);
    let aws = support::aws::clients().await;
    let store = support::moto::batch_store("lambda-batches").await;
    let project = support::aws::project(&aws.codebuild).await;
    let trigger = build_trigger::BuildTrigger::new(
        std::sync::Arc::new(store.clone()),
        std::sync::Arc::new(build_trigger::EventBridgeScheduler::new(
            aws.scheduler.clone(),
            support::aws::LAMBDA_ARN,
            support::aws::SCHEDULER_ROLE_ARN,
            None,
        )),
        std::sync::Arc::new(build_trigger::CodeBuildStarter::new(
            aws.codebuild.clone(),
            &project,
            API_URL,
        )),
    );

    let topic_arn = sns
        .create_topic()
        .name(support::moto::unique("content-events"))
        .send()
        .await
        .unwrap()
        .topic_arn
        .unwrap();
    let queue_url = sqs
        .create_queue()
        .queue_name(support::moto::unique("build-trigger"))
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let queue_arn = sqs
        .get_queue_attributes()
        .queue_url(&queue_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn]
        .clone();
    let subscription_arn = sns
        .subscribe()
        .topic_arn(&topic_arn)
        .protocol("sqs")
        .endpoint(&queue_arn)
        .attributes("FilterPolicy", FILTER_POLICY)
        .send()
        .await
        .unwrap()
        .subscription_arn
        .unwrap();

    let client = support::moto::unique("client");
    let now = Utc::now();
    let mut events = support::events::articles(&client, 5, now);
    let mut draft = support::events::event(
        &client,
        ContentType::Article,
        EventType::ContentUpdated,
        "draft-1",
        "Draft",
        now,
    );
    draft.requires_build = false;
    events.push(draft);
    SnsPublisher::new(sns.clone(), &topic_arn)
        .publish(events)
        .await
        .unwrap();

    // What the filter policy let through, in publish order.
    let mut notifications: BTreeMap<String, Value> = BTreeMap::new();
    for _ in 0..20 {
        let received = sqs
            .receive_message()
            .queue_url(&queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        for m in received.messages() {
            let notification: Value = serde_json::from_str(m.body().unwrap()).unwrap();
            let event: Value =
                serde_json::from_str(notification["Message"].as_str().unwrap()).unwrap();
            notifications.insert(
                event["content_id"].as_str().unwrap().to_owned(),
                notification,
            );
        }
        if notifications.len() == 5 {
            break;
        }
    }
    assert_eq!(
        notifications.keys().collect::<Vec<_>>(),
        [
            "article-0",
            "article-1",
            "article-2",
            "article-3",
            "article-4"
        ],
        "the draft is filtered out"
    );

    // One record per invocation, as Lambda delivers SNS; the metrics are read back.
    let recorder = Recorder::start().await;
    let sink = MemorySink::default();
    let handler = Handler::new(trigger.clone(), Metrics::to_writer("Builds", sink.clone()));
    let mut reports = Vec::new();
    for notification in notifications.values() {
        let payload = json!({ "Records": [lambda_record(notification, &subscription_arn)] });
        reports.push(handler.invoke(payload, now).await.unwrap());
    }
    assert_eq!(
        reports[0].builds_started, 1,
        "the first change builds at once: {reports:?}"
    );
    assert!(
        reports[1..]
            .iter()
            .all(|r| r.builds_started == 0 && r.events == 1),
        "{reports:?}"
    );

    // The rest wait in one batch row, scheduled at its window's end.
    let snapshot = store.snapshot(&client, &[], now).await.unwrap();
    let active = snapshot.state.active.expect("a batch is active");
    assert_eq!(active.event_count, 4);
    let due = now + build_trigger::STANDARD_BATCH_WINDOW;
    let schedule = aws
        .scheduler
        .get_schedule()
        .name(schedule_name(&active.batch_id, due))
        .send()
        .await
        .unwrap();
    assert_eq!(
        schedule.schedule_expression(),
        Some(at_expression(due).as_str())
    );
    let input = schedule.target().unwrap().input().unwrap().to_owned();
    assert_eq!(
        serde_json::from_str::<ScheduledPayload>(&input).unwrap(),
        ScheduledPayload::trigger(&active.batch_id)
    );

    // A firing before the window ends reschedules; moto never fires, so invoke the payload.
    let early = handler
        .invoke(
            serde_json::from_str(&input).unwrap(),
            due - TimeDelta::seconds(5),
        )
        .await
        .unwrap();
    assert_eq!(early.builds_started, 0, "{early:?}");
    // Twenty concurrent invocations of the payload start exactly one build.
    let invocations: Vec<_> = (0..20)
        .map(|_| {
            let handler = handler.clone();
            let payload: Value = serde_json::from_str(&input).unwrap();
            tokio::spawn(async move { handler.invoke(payload, due).await.unwrap() })
        })
        .collect();
    let mut started = 0;
    for invocation in invocations {
        started += invocation.await.unwrap().builds_started;
    }
    assert_eq!(started, 1, "twenty invocations, one build");
    let again = handler
        .invoke(serde_json::from_str(&input).unwrap(), due)
        .await
        .unwrap();
    assert_eq!(
        again.builds_started, 0,
        "a repeated firing builds nothing: {again:?}"
    );
    let batch = store.batch(&active.batch_id).await.unwrap().unwrap();
    assert_eq!(batch.status, BatchStatus::Done);

    // The first product again, as SNS may deliver it twice: no build.
    let first = notifications.values().next().unwrap();
    let payload = json!({ "Records": [lambda_record(first, &subscription_arn)] });
    assert_eq!(
        handler.invoke(payload, due).await.unwrap().builds_started,
        0
    );

    // The EMF lines: one build of each kind, five batchings (four events and the early
    // firing set again), the repeat skipped; the nineteen losing invocations print nothing.
    let mut totals: BTreeMap<String, f64> = BTreeMap::new();
    let lines = sink.lines();
    for line in &lines {
        let record = Record::parse(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert_eq!(record.namespace(), Some("Builds"));
        let raw: Value = serde_json::from_str(line).unwrap();
        assert!(raw["_aws"]["Timestamp"].is_u64(), "{line}");
        for name in record.metric_names() {
            let dims: Vec<String> = record
                .dimensions()
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            *totals.entry(format!("{name}{dims:?}")).or_default() += record.metric(name).unwrap().0;
        }
    }
    assert_eq!(
        totals,
        BTreeMap::from([
            ("BuildsBatched[]".to_string(), 5.0),
            ("BuildsSkipped[\"Reason=duplicate\"]".to_string(), 1.0),
            ("BuildsStarted[\"BuildType=batch\"]".to_string(), 1.0),
            ("BuildsStarted[\"BuildType=immediate\"]".to_string(), 1.0),
        ]),
        "{lines:#?}"
    );

    let bodies = recorder.bodies("StartBuild", &project).await;
    assert_eq!(bodies.len(), 2, "{bodies:?}");
    let immediate = overrides(&bodies[0]);
    assert_eq!(immediate["BUILD_TYPE"], "immediate");
    assert_eq!(immediate["BATCH_EVENT_COUNT"], "1");
    let batched = overrides(&bodies[1]);
    assert_eq!(batched["BUILD_TYPE"], "batch");
    assert_eq!(batched["BATCH_ID"], active.batch_id);
    assert_eq!(batched["BATCH_EVENT_COUNT"], "4");
    assert_eq!(batched["INTEGRATION_API_URL"], API_URL);
    let summary: Value = serde_json::from_str(&batched["CONTENT_CHANGES_SUMMARY"]).unwrap();
    assert_eq!(
        summary["affected_ids"],
        json!(["article-1", "article-2", "article-3", "article-4"])
    );
    let builds = project_builds(&aws, &project).await;
    assert_eq!(builds.len(), 2, "{builds:?}");
    assert!(
        builds.contains(batch.build_id.as_ref().unwrap()),
        "{builds:?}"
    );
}

async fn project_builds(aws: &support::aws::Aws, project: &str) -> Vec<String> {
    aws.codebuild
        .list_builds_for_project()
        .project_name(project)
        .send()
        .await
        .unwrap()
        .ids
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anything_else_is_logged_and_ignored() {
    let aws = support::aws::clients().await;
    let (trigger, _) = support::aws::trigger(&aws, None).await;
    let now = Utc::now();
    for payload in [
        json!({"hello": "world"}),
        json!({"Records": [{"eventSource": "aws:sqs", "body": "{}"}]}),
        json!({"action": "trigger_batch_build"}),
        json!({"action": "something_else", "batch_id": "b"}),
    ] {
        let report = handle(&trigger, payload.clone(), now).await.unwrap();
        assert_eq!(
            (report.ignored, report.builds_started),
            (1, 0),
            "{payload}: {report:?}"
        );
    }
    // An SNS record whose message is not a content event.
    let record = json!({"Records": [{
        "EventSource": "aws:sns", "EventVersion": "1.0", "EventSubscriptionArn": "arn:sub",
        "Sns": {"Type": "Notification", "MessageId": "m-1", "TopicArn": "arn:topic",
                "Message": "{\"not\":\"an event\"}", "Timestamp": "2026-12-01T10:00:00.000Z",
                "SignatureVersion": "1", "Signature": "x", "SigningCertUrl": "https://x",
                "UnsubscribeUrl": "https://x", "MessageAttributes": {}}
    }]});
    let report = handle(&trigger, record, now).await.unwrap();
    assert_eq!((report.events, report.ignored), (0, 1), "{report:?}");
    // A payload for a batch nobody knows is handled, and builds nothing.
    let unknown = handle(
        &trigger,
        json!(ScheduledPayload::trigger("batch-unknown")),
        now,
    )
    .await
    .unwrap();
    assert_eq!((unknown.ignored, unknown.builds_started), (0, 0));
}

#[test]
fn refuses_to_start_naming_every_missing_variable() {
    let all: BTreeMap<&str, &str> = REQUIRED_VARIABLES.iter().map(|n| (*n, "x")).collect();
    let config = Config::from_lookup(|n| all.get(n).map(|v| v.to_string())).unwrap();
    assert_eq!(config.schedule_group, None);
    let error = Config::from_lookup(|n| {
        (n != "SCHEDULER_ROLE_ARN" && n != "BUILD_BATCH_TABLE")
            .then(|| all.get(n).map(|v| v.to_string()))
            .flatten()
    })
    .unwrap_err();
    let ConfigError::Missing { names } = &error else {
        panic!("{error}");
    };
    assert_eq!(names, &["BUILD_BATCH_TABLE", "SCHEDULER_ROLE_ARN"]);
    assert!(
        error
            .to_string()
            .contains("BUILD_BATCH_TABLE, SCHEDULER_ROLE_ARN"),
        "{error}"
    );
    // Blank counts as missing.
    let blank =
        Config::from_lookup(|n| Some(if n == "INTEGRATION_API_URL" { " " } else { "x" }.into()));
    assert!(
        matches!(blank, Err(ConfigError::Missing { names }) if names == ["INTEGRATION_API_URL"])
    );
}
