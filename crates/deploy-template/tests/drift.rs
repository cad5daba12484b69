//! The template against the code's own definitions: tables, the filter policy, each
//! function's environment and IAM actions. A change on one side without the other fails here.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use deploy_template::{EnvValue, FunctionSpec, Template};
use serde_json::Value;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read_json(relative: &str) -> Value {
    let path = workspace().join(relative);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{relative} is part of the deploy contract: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{relative}: {e}"))
}

fn template() -> Template {
    Template::shipped().expect("deploy/template.yaml parses")
}

#[test]
fn content_table_is_the_shared_definition() {
    let table = template().table("ContentTable").unwrap();
    let shared: Value =
        serde_json::from_str(integration_api::store::dynamo::TABLE_DEFINITION).unwrap();
    assert_eq!(table.definition(), &shared);
    assert_eq!(
        table.ttl_attribute(),
        Some(integration_api::store::dynamo::TTL_ATTRIBUTE)
    );
    assert!(table.point_in_time_recovery());
    // The outbox is drained by querying OutboxIndex; nothing consumes a stream.
    assert_eq!(table.stream_view_type(), None);
    assert!(table.index_names().contains(&"OutboxIndex"));
}

#[test]
fn batch_table_is_the_shared_definition() {
    let table = template().table("BatchTable").unwrap();
    let mut shared = read_json("deploy/batch-table.json");
    let ttl = shared
        .as_object_mut()
        .unwrap()
        .remove("TimeToLiveAttribute")
        .expect("batch-table.json names its TTL attribute");
    assert_eq!(table.definition(), &shared);
    assert_eq!(table.ttl_attribute(), ttl.as_str());
    assert!(table.point_in_time_recovery());
    assert_eq!(table.index_names(), ["ClientActiveIndex"]);
}

#[test]
fn subscription_filter_is_the_shared_policy() {
    let (policy, scope) = template()
        .filter_policy("BuildTriggerSubscription")
        .unwrap();
    let shared: Value = serde_json::from_str(integration_api::events::FILTER_POLICY).unwrap();
    assert_eq!(policy, shared);
    assert_eq!(scope, "MessageAttributes");
}

#[test]
fn integration_api_variables_are_the_lambdas() {
    use integration_api::config::{ENV_ENVIRONMENT, ENV_PROVIDERS};
    use integration_api_lambda::{ENV_CLIENT, ENV_TABLE, ENV_TOPIC};
    let function = template().function("IntegrationApiFunction").unwrap();
    let env = function.environment();
    assert_eq!(env[ENV_CLIENT], EnvValue::Ref("ClientId".into()));
    assert_eq!(env[ENV_ENVIRONMENT], EnvValue::Ref("Environment".into()));
    assert!(env.contains_key(ENV_PROVIDERS));
    assert_eq!(env[ENV_TABLE], EnvValue::Ref("ContentTable".into()));
    assert_eq!(env[ENV_TOPIC], EnvValue::Ref("ContentEventsTopic".into()));
}

#[test]
fn build_trigger_gets_every_variable_it_requires() {
    let function = template().function("BuildTriggerFunction").unwrap();
    let env = function.environment();
    for name in build_trigger_lambda::REQUIRED_VARIABLES {
        assert!(env.contains_key(name), "the template does not set {name}");
    }
    assert_eq!(env["BUILD_BATCH_TABLE"], EnvValue::Ref("BatchTable".into()));
    assert_eq!(
        env["SCHEDULER_ROLE_ARN"],
        EnvValue::GetAtt("SchedulerRole.Arn".into())
    );
}

/// Every variable the template sets is one the function's code reads: a name its crates spell
/// out, or a provider setting `<PROVIDER>_<SETTING>` of a registered provider.
#[test]
fn every_variable_is_read_by_the_function() {
    let providers: Vec<&str> = providers::registry::FACTORIES
        .iter()
        .map(|f| f.name)
        .collect();
    let provider_sources = sources(&[workspace().join("crates/providers")]);
    for function in template().functions().unwrap() {
        let code = sources(&crate_dirs(&function));
        for name in function.environment().keys() {
            let quoted = format!("\"{name}\"");
            if code.contains(&quoted) {
                continue;
            }
            let setting = providers.iter().find_map(|p| {
                name.strip_prefix(&format!("{}_", p.to_ascii_uppercase()))
                    .map(str::to_ascii_lowercase)
            });
            match setting {
                Some(setting) if provider_sources.contains(&format!("\"{setting}\"")) => {}
                _ => panic!(
                    "{}: the template sets {name}, which its code never reads",
                    function.logical_id()
                ),
            }
        }
    }
}

#[test]
fn secrets_come_only_from_secrets_manager() {
    for function in template().functions().unwrap() {
        for (name, value) in function.environment() {
            let secret_like = ["SECRET", "TOKEN", "API_KEY"]
                .iter()
                .any(|w| name.contains(w));
            if secret_like {
                assert!(
                    matches!(value, EnvValue::Secret { .. }),
                    "{name} must be resolved from Secrets Manager, not {value:?}"
                );
            }
        }
    }
}

/// SDK operations by the crate that names them, and the IAM action each needs. Table
/// creation is left out: only test set-up and `provision` call it, never a function.
const OPERATIONS: &[(&str, &str, &str)] = &[
    ("aws_sdk_dynamodb", "get_item", "dynamodb:GetItem"),
    ("aws_sdk_dynamodb", "put_item", "dynamodb:PutItem"),
    ("aws_sdk_dynamodb", "update_item", "dynamodb:UpdateItem"),
    ("aws_sdk_dynamodb", "delete_item", "dynamodb:DeleteItem"),
    ("aws_sdk_dynamodb", "query", "dynamodb:Query"),
    ("aws_sdk_dynamodb", "scan", "dynamodb:Scan"),
    (
        "aws_sdk_dynamodb",
        "batch_get_item",
        "dynamodb:BatchGetItem",
    ),
    (
        "aws_sdk_dynamodb",
        "batch_write_item",
        "dynamodb:BatchWriteItem",
    ),
    // IAM has no transaction actions: a transaction needs the action of each item it holds
    // (see TRANSACTION_ITEMS); a read transaction needs GetItem.
    ("aws_sdk_dynamodb", "transact_get_items", "dynamodb:GetItem"),
    (
        "aws_sdk_dynamodb",
        "describe_table",
        "dynamodb:DescribeTable",
    ),
    ("aws_sdk_sns", "publish", "sns:Publish"),
    ("aws_sdk_sns", "publish_batch", "sns:Publish"),
    (
        "aws_sdk_sns",
        "get_topic_attributes",
        "sns:GetTopicAttributes",
    ),
    (
        "aws_sdk_scheduler",
        "create_schedule",
        "scheduler:CreateSchedule",
    ),
    (
        "aws_sdk_scheduler",
        "delete_schedule",
        "scheduler:DeleteSchedule",
    ),
    ("aws_sdk_codebuild", "start_build", "codebuild:StartBuild"),
];

/// The items of a `TransactWriteItems` call and the action each needs.
const TRANSACTION_ITEMS: &[(&str, &str)] = &[
    (".put(", "dynamodb:PutItem"),
    (".update(", "dynamodb:UpdateItem"),
    (".delete(", "dynamodb:DeleteItem"),
    (".condition_check(", "dynamodb:ConditionCheckItem"),
];

/// The IAM actions a source file's SDK calls need.
fn actions_called(text: &str) -> BTreeSet<String> {
    let mut called = BTreeSet::new();
    for (krate, op, action) in OPERATIONS {
        if text.contains(krate) && text.contains(&format!(".{op}()")) {
            called.insert(action.to_string());
        }
    }
    // A transaction item is built only to go into TransactWriteItems, which IAM authorizes
    // item by item; the builder may sit in another file of the crate than the call.
    for (i, _) in text.match_indices("TransactWriteItem::builder()") {
        let rest: String = text[i + "TransactWriteItem::builder()".len()..]
            .chars()
            .filter(|c| !c.is_whitespace())
            .take(24)
            .collect();
        for (item, action) in TRANSACTION_ITEMS {
            if rest.starts_with(item) {
                called.insert(action.to_string());
            }
        }
    }
    called
}

/// Actions the template grants besides SDK calls.
const GRANTED_FOR_OTHERS: &[&str] = &["iam:PassRole"];

#[test]
fn iam_actions_are_the_calls_the_code_makes() {
    let mut drift = Vec::new();
    for function in template().functions().unwrap() {
        let mut called = BTreeSet::new();
        for file in rust_files(&crate_dirs(&function)) {
            called.extend(actions_called(&std::fs::read_to_string(&file).unwrap()));
        }
        let granted: BTreeSet<String> = function
            .actions()
            .iter()
            .filter(|a| !GRANTED_FOR_OTHERS.contains(&a.as_str()))
            .cloned()
            .collect();
        if granted != called {
            drift.push(format!(
                "{}: the template grants {granted:?} but the code calls {called:?}",
                function.logical_id()
            ));
        }
        match iam_document_actions(&function) {
            Ok(documented) if &documented == function.actions() => {}
            Ok(documented) => drift.push(format!(
                "{}: the template grants {:?} but deploy/iam documents {documented:?}",
                function.logical_id(),
                function.actions()
            )),
            Err(missing) => drift.push(missing),
        }
    }
    assert!(drift.is_empty(), "{}", drift.join("\n"));
}

/// The actions of `deploy/iam/<function crate>.json`, the least-privilege policy documented
/// for each function (and cited by the README).
fn iam_document_actions(function: &FunctionSpec) -> Result<BTreeSet<String>, String> {
    let relative = format!("deploy/iam/{}.json", crate_name(function));
    let text = std::fs::read_to_string(workspace().join(&relative))
        .map_err(|e| format!("{}: {relative}: {e}", function.logical_id()))?;
    let policy: Value = serde_json::from_str(&text).map_err(|e| format!("{relative}: {e}"))?;
    let mut actions = BTreeSet::new();
    for statement in policy["Statement"].as_array().into_iter().flatten() {
        match &statement["Action"] {
            Value::String(a) => {
                actions.insert(a.clone());
            }
            Value::Array(list) => {
                actions.extend(list.iter().filter_map(Value::as_str).map(str::to_string));
            }
            _ => {}
        }
    }
    Ok(actions)
}

fn crate_name(function: &FunctionSpec) -> String {
    Path::new(function.code_uri())
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

/// The function's crate and every workspace crate it depends on, transitively.
fn crate_dirs(function: &FunctionSpec) -> Vec<PathBuf> {
    let root = workspace();
    let first = root.join("deploy").join(function.code_uri());
    assert!(
        first.join("Cargo.toml").is_file(),
        "{}: CodeUri {} is not a crate",
        function.logical_id(),
        function.code_uri()
    );
    let members = workspace_paths(&root);
    let mut seen: BTreeMap<PathBuf, ()> = BTreeMap::new();
    let mut todo = vec![first];
    while let Some(dir) = todo.pop() {
        let dir = dir.canonicalize().unwrap();
        if seen.insert(dir.clone(), ()).is_some() {
            continue;
        }
        let manifest: toml::Table =
            toml::from_str(&std::fs::read_to_string(dir.join("Cargo.toml")).unwrap()).unwrap();
        let deps = manifest
            .get("dependencies")
            .and_then(|d| d.as_table())
            .cloned()
            .unwrap_or_default();
        for (name, spec) in deps {
            if let Some(path) = spec.get("path").and_then(|p| p.as_str()) {
                todo.push(dir.join(path));
            } else if let Some(path) = members.get(&name) {
                todo.push(path.clone());
            }
        }
    }
    seen.into_keys().collect()
}

/// Workspace dependencies given by path, by name.
fn workspace_paths(root: &Path) -> BTreeMap<String, PathBuf> {
    let manifest: toml::Table =
        toml::from_str(&std::fs::read_to_string(root.join("Cargo.toml")).unwrap()).unwrap();
    manifest["workspace"]["dependencies"]
        .as_table()
        .unwrap()
        .iter()
        .filter_map(|(name, spec)| {
            let path = spec.get("path")?.as_str()?;
            Some((name.clone(), root.join(path)))
        })
        .collect()
}

fn rust_files(dirs: &[PathBuf]) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut todo: Vec<PathBuf> = dirs.iter().map(|d| d.join("src")).collect();
    while let Some(dir) = todo.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                todo.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files
}

fn sources(dirs: &[PathBuf]) -> String {
    rust_files(dirs)
        .iter()
        .map(|f| std::fs::read_to_string(f).unwrap())
        .collect()
}

#[test]
fn the_api_signs_content_reads_and_opens_webhooks() {
    let yaml: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(deploy_template::TEMPLATE_YAML).unwrap();
    let api = &yaml["Resources"]["ContentApi"]["Properties"];
    assert_eq!(api["Auth"]["DefaultAuthorizer"].as_str(), Some("AWS_IAM"));
    let events = &yaml["Resources"]["IntegrationApiFunction"]["Properties"]["Events"];
    let mut routes = BTreeMap::new();
    for (_, event) in events.as_mapping().unwrap() {
        // The outbox sweep's schedule is no route (tests/monitoring.rs checks it).
        if event["Type"].as_str() != Some("Api") {
            continue;
        }
        let p = &event["Properties"];
        let auth = p["Auth"]["Authorizer"].as_str().unwrap_or("AWS_IAM");
        routes.insert(
            format!(
                "{} {}",
                p["Method"].as_str().unwrap(),
                p["Path"].as_str().unwrap()
            ),
            auth.to_string(),
        );
    }
    assert_eq!(routes["get /content"], "AWS_IAM");
    assert_eq!(routes["get /content/{id+}"], "AWS_IAM");
    assert_eq!(routes["post /webhooks/{provider}"], "NONE");
    let runtime = &yaml["Globals"]["Function"]["Runtime"];
    assert_eq!(runtime.as_str(), Some("provided.al2023"));
    for function in template().functions().unwrap() {
        assert!(function.binary().is_some(), "{}", function.logical_id());
    }
}

/// Every variable the CodeBuild project sets is one `buildspec.yml` or content-fetch uses.
#[test]
fn build_variables_are_the_buildspecs() {
    let yaml: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(deploy_template::TEMPLATE_YAML).unwrap();
    let buildspec = std::fs::read_to_string(workspace().join("buildspec.yml")).unwrap();
    // content-fetch itself reads some, such as INTEGRATION_API_URL.
    let fetcher = sources(&[workspace(), workspace().join("crates/content-fetch")]);
    let vars =
        yaml["Resources"]["SiteBuildProject"]["Properties"]["Environment"]["EnvironmentVariables"]
            .as_sequence()
            .unwrap();
    assert!(!vars.is_empty());
    for var in vars {
        let name = var["Name"].as_str().unwrap();
        assert!(
            buildspec.contains(&format!("${name}"))
                || buildspec.contains(&format!("${{{name}"))
                || fetcher.contains(&format!("\"{name}\"")),
            "the build project sets {name}, which neither buildspec.yml nor content-fetch reads"
        );
    }
}
