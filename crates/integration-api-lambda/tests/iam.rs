//! The Lambda's least-privilege policy (`deploy/iam/integration-api-lambda.json`) allows
//! exactly the calls the store and the publisher make: none missing, none extra.

use std::collections::BTreeSet;

fn source(path: &str) -> String {
    std::fs::read_to_string(format!("{}/../{path}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

/// The SDK operations called as `.client.<operation>()` (whitespace allowed) in `text`.
fn operations(text: &str) -> BTreeSet<String> {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    compact
        .split(".client.")
        .skip(1)
        .filter_map(|rest| rest.split_once('(').map(|(op, _)| op.to_string()))
        .filter(|op| op.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
        .collect()
}

fn pascal(op: &str) -> String {
    op.split('_')
        .map(|w| w[..1].to_uppercase() + &w[1..])
        .collect()
}

#[test]
fn the_policy_allows_exactly_the_calls_the_code_makes() {
    let mut needed = BTreeSet::new();
    // The store's module and its submodules (reads, lists, the outbox count).
    let mut store = source("integration-api/src/store/dynamo.rs");
    let dir = format!(
        "{}/../integration-api/src/store/dynamo",
        env!("CARGO_MANIFEST_DIR")
    );
    for entry in std::fs::read_dir(dir).unwrap() {
        store.push_str(&std::fs::read_to_string(entry.unwrap().path()).unwrap());
    }
    for op in operations(&store) {
        match op.as_str() {
            // A transaction is authorized by the actions inside it: the store puts and
            // deletes rows in it.
            "transact_write_items" => {
                needed.insert("dynamodb:PutItem".to_string());
                needed.insert("dynamodb:DeleteItem".to_string());
            }
            _ => {
                needed.insert(format!("dynamodb:{}", pascal(&op)));
            }
        }
    }
    for op in operations(&source("integration-api/src/events/sns.rs")) {
        needed.insert(format!("sns:{}", pascal(&op)));
    }
    assert!(
        needed.contains("dynamodb:Query") && needed.contains("sns:Publish"),
        "{needed:?}"
    );

    let policy: serde_json::Value =
        serde_json::from_str(&source("../deploy/iam/integration-api-lambda.json")).unwrap();
    let mut allowed = BTreeSet::new();
    for statement in policy["Statement"].as_array().unwrap() {
        assert_eq!(statement["Effect"], "Allow");
        assert!(
            !statement["Resource"].to_string().contains("\"*\""),
            "no wildcard resource"
        );
        for action in statement["Action"].as_array().unwrap() {
            let action = action.as_str().unwrap();
            assert!(!action.contains('*'), "no wildcard action: {action}");
            allowed.insert(action.to_string());
        }
    }
    assert_eq!(allowed, needed, "policy actions vs the calls in the code");
}
