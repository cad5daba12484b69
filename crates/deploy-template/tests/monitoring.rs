//! The template's monitoring and schedules against the code: every metric the Lambdas write is
//! on the dashboard, in the namespace the functions are given; every alarm watches a metric
//! that exists; the outbox sweep is scheduled; the build cache is S3 and the build role
//! reaches only its prefix.

use std::collections::BTreeSet;

use deploy_template::{EnvValue, TEMPLATE_YAML, Template};
use serde_json::{Value, json};

/// The stack's namespace as the template writes it.
const NAMESPACE: &str = "ContentPlatform/${ClientId}-${Environment}";

fn resources() -> Value {
    let yaml: serde_yaml_ng::Value = serde_yaml_ng::from_str(TEMPLATE_YAML).unwrap();
    // A tagged value `!Sub x` becomes `{"!Sub": x}`.
    serde_json::to_value(yaml).unwrap()["Resources"].clone()
}

fn of_type<'a>(resources: &'a Value, kind: &str) -> Vec<(&'a String, &'a Value)> {
    resources
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["Type"] == kind)
        .collect()
}

#[test]
fn both_functions_write_metrics_into_the_stack_namespace() {
    let template = Template::shipped().unwrap();
    for function in template.functions().unwrap() {
        assert_eq!(
            function.environment().get(emf_metrics::NAMESPACE_VARIABLE),
            Some(&EnvValue::Expression(json!({ "!Sub": NAMESPACE }))),
            "{}",
            function.logical_id()
        );
    }
}

/// Every metric the code writes, and the dimension keys it writes them with.
fn emitted() -> Vec<(&'static str, &'static [&'static str])> {
    use build_trigger_lambda::{BUILDS_BATCHED, BUILDS_SKIPPED, BUILDS_STARTED};
    use integration_api_lambda::handler::{
        EVENTS_PUBLISHED, OUTBOX_BACKLOG, WEBHOOKS_ACCEPTED, WEBHOOKS_REFUSED,
    };
    vec![
        (WEBHOOKS_ACCEPTED, &["Provider"]),
        (WEBHOOKS_REFUSED, &["Provider", "Reason"]),
        (EVENTS_PUBLISHED, &[]),
        (OUTBOX_BACKLOG, &[]),
        (BUILDS_STARTED, &["BuildType"]),
        (BUILDS_BATCHED, &[]),
        (BUILDS_SKIPPED, &["Reason"]),
    ]
}

#[test]
fn the_dashboard_shows_every_metric_with_its_dimensions_and_the_lambdas_and_builds() {
    let resources = resources();
    let dashboards = of_type(&resources, "AWS::CloudWatch::Dashboard");
    assert_eq!(dashboards.len(), 1);
    let body = &dashboards[0].1["Properties"]["DashboardBody"]["!Sub"];
    assert_eq!(body[1], json!({ "Namespace": { "!Sub": NAMESPACE } }));
    // What CloudFormation substitutes, then CloudWatch's own check: the body is JSON.
    let mut text = body[0].as_str().unwrap().to_string();
    for (name, value) in [
        ("Namespace", "ContentPlatform/acme-dev"),
        ("AWS::Region", "eu-west-1"),
        ("IntegrationApiFunction", "acme-dev-integration-api"),
        ("BuildTriggerFunction", "acme-dev-build-trigger"),
        ("SiteBuildProject", "acme-dev-site"),
        ("OutboxBacklogThreshold", "100"),
    ] {
        text = text.replace(&format!("${{{name}}}"), value);
    }
    assert!(!text.contains("${"), "an unknown substitution: {text}");
    let dashboard: Value = serde_json::from_str(&text).expect("the dashboard body is JSON");
    let entries: Vec<Value> = dashboard["widgets"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|w| w["properties"]["metrics"].as_array().unwrap().clone())
        .collect();
    let metrics: Vec<String> = entries.iter().map(Value::to_string).collect();
    for (name, dimensions) in emitted() {
        let shown = entries
            .iter()
            .any(|entry| match entry[0]["expression"].as_str() {
                // A SEARCH over exactly the dimension set the code writes.
                Some(search) => {
                    let schema = format!("{{ContentPlatform/acme-dev,{}}}", dimensions.join(","));
                    !dimensions.is_empty()
                        && search.contains(&format!("'{schema} "))
                        && search.contains(&format!("MetricName=\"{name}\""))
                }
                None => {
                    dimensions.is_empty()
                        && entry[0] == "ContentPlatform/acme-dev"
                        && entry[1] == name
                }
            });
        assert!(
            shown,
            "{name} {dimensions:?} is not on the dashboard: {metrics:#?}"
        );
    }
    for function in ["acme-dev-integration-api", "acme-dev-build-trigger"] {
        for metric in ["Errors", "Duration"] {
            let line = json!(["AWS/Lambda", metric, "FunctionName", function]).to_string();
            assert!(metrics.contains(&line), "{line} missing: {metrics:#?}");
        }
    }
    let failed = json!([
        "AWS/CodeBuild",
        "FailedBuilds",
        "ProjectName",
        "acme-dev-site"
    ]);
    assert!(metrics.contains(&failed.to_string()), "{metrics:#?}");
}

#[test]
fn alarms_watch_lambda_errors_the_outbox_backlog_and_failed_builds() {
    let resources = resources();
    let mut watched = BTreeSet::new();
    for (id, alarm) in of_type(&resources, "AWS::CloudWatch::Alarm") {
        let p = &alarm["Properties"];
        let dimensions: Vec<String> = p["Dimensions"]
            .as_array()
            .map(|d| {
                d.iter()
                    .map(|d| format!("{}={}", d["Name"].as_str().unwrap(), d["Value"]))
                    .collect()
            })
            .unwrap_or_default();
        watched.insert(format!(
            "{} {} {dimensions:?}",
            p["Namespace"], p["MetricName"]
        ));
        // Notified only when an address is given.
        let notify =
            json!({"!If": ["HasAlarmEmail", [{"!Ref": "AlarmTopic"}], {"!Ref": "AWS::NoValue"}]});
        assert_eq!(p["AlarmActions"], notify, "{id}");
        assert_eq!(p["TreatMissingData"], "notBreaching", "{id}");
    }
    let namespace = json!({ "!Sub": NAMESPACE });
    let expected = BTreeSet::from([
        format!(
            "\"AWS/Lambda\" \"Errors\" {:?}",
            ["FunctionName={\"!Ref\":\"IntegrationApiFunction\"}"]
        ),
        format!(
            "\"AWS/Lambda\" \"Errors\" {:?}",
            ["FunctionName={\"!Ref\":\"BuildTriggerFunction\"}"]
        ),
        format!(
            "\"AWS/CodeBuild\" \"FailedBuilds\" {:?}",
            ["ProjectName={\"!Ref\":\"SiteBuildProject\"}"]
        ),
        // The sweep writes the backlog with no dimensions; an alarm naming any would see none.
        format!(
            "{namespace} \"{}\" []",
            integration_api_lambda::handler::OUTBOX_BACKLOG
        ),
    ]);
    assert_eq!(watched, expected);
}

#[test]
fn the_integration_api_is_invoked_every_five_minutes_to_sweep_the_outbox() {
    let resources = resources();
    let events = resources["IntegrationApiFunction"]["Properties"]["Events"]
        .as_object()
        .unwrap();
    let schedules: Vec<&Value> = events
        .values()
        .filter(|e| e["Type"] == "Schedule")
        .collect();
    assert_eq!(schedules.len(), 1, "{events:?}");
    assert_eq!(schedules[0]["Properties"]["Schedule"], "rate(5 minutes)");
    // No Input: the function receives EventBridge's own "Scheduled Event", which it tells
    // apart from API Gateway requests.
    assert!(schedules[0]["Properties"].get("Input").is_none());
    // Nothing else schedules the integration API: the build trigger's schedules are its own.
    assert!(
        resources["BuildTriggerFunction"]["Properties"]["Events"].is_null(),
        "the build trigger is invoked by its subscription and its own schedules"
    );
}

#[test]
fn the_build_cache_is_s3_and_the_build_role_reaches_only_its_prefix() {
    let resources = resources();
    let project = &resources["SiteBuildProject"]["Properties"];
    assert_eq!(
        project["Cache"],
        json!({"Type": "S3", "Location": {"!Sub": "${BuildCacheBucket}/site-build"}})
    );
    let bucket = &resources["BuildCacheBucket"];
    assert_eq!(bucket["Type"], "AWS::S3::Bucket");
    let blocked = &bucket["Properties"]["PublicAccessBlockConfiguration"];
    for setting in [
        "BlockPublicAcls",
        "BlockPublicPolicy",
        "IgnorePublicAcls",
        "RestrictPublicBuckets",
    ] {
        assert_eq!(blocked[setting], true, "{setting}");
    }
    let statements =
        resources["SiteBuildRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
            .as_array()
            .unwrap();
    let on_cache: Vec<&Value> = statements
        .iter()
        .filter(|s| s.to_string().contains("BuildCacheBucket"))
        .collect();
    assert_eq!(
        on_cache,
        [
            &json!({"Sid": "BuildCache", "Effect": "Allow",
                    "Action": ["s3:GetObject", "s3:PutObject"],
                    "Resource": {"!Sub": "${BuildCacheBucket.Arn}/site-build/*"}}),
            &json!({"Sid": "BuildCacheBucket", "Effect": "Allow",
                    "Action": ["s3:GetBucketAcl", "s3:GetBucketLocation"],
                    "Resource": {"!GetAtt": "BuildCacheBucket.Arn"}}),
        ]
    );
    // The cache holds what buildspec.yml names.
    let buildspec =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../buildspec.yml"))
            .unwrap();
    assert!(
        buildspec.contains("\ncache:\n  paths:\n"),
        "buildspec.yml caches paths"
    );
}
