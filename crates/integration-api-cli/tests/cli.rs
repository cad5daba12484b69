//! The `integration-api` binary: `ingest` of saved webhooks with its exit codes, and `serve`
//! over loopback HTTP with SigV4 on GETs.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

use aws_credential_types::Credentials;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use providers::Secret;
use providers::signature::hmac_sha256;
use serde_json::{Value, json};
use url::Url;

mod support;
use support::{Server, fixture};

const BIN: &str = env!("CARGO_BIN_EXE_integration-api");
const SECRET: &str = "shpss_cli_test_secret";
const PRODUCT: &str = "gid://shopify/Product/788032119674292922";

fn config(dir: &Path) -> PathBuf {
    let path = dir.join("integration-api.toml");
    std::fs::write(
        &path,
        format!(
            "[server]\ndb = \"{}\"\nclient_id = \"acme\"\n\n[sigv4]\nregion = \"eu-west-1\"\n\n[providers.shopify]\ncurrency = \"EUR\"\n",
            dir.join("content.sqlite3").display()
        ),
    )
    .unwrap();
    path
}

fn saved(dir: &Path, name: &str, topic: &str, body: &str, id: &str, secret: &str) -> PathBuf {
    let path = dir.join(name);
    let signature = BASE64.encode(hmac_sha256(&Secret::new(secret), body.as_bytes()));
    let file = json!({
        "headers": {
            "X-Shopify-Topic": topic,
            "X-Shopify-Hmac-Sha256": signature,
            "X-Shopify-Webhook-Id": id,
            "X-Shopify-Shop-Domain": "acme-apparel.myshopify.com",
            "Content-Type": "application/json"
        },
        "body": body
    });
    std::fs::write(&path, serde_json::to_string_pretty(&file).unwrap()).unwrap();
    path
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(config: &Path, args: &[&str], secret: Option<&str>) -> Run {
    let mut command = Command::new(BIN);
    command
        .arg("--config")
        .arg(config)
        .args(args)
        .env_remove("SHOPIFY_WEBHOOK_SECRET")
        .env_remove("INTEGRATION_API_DB")
        .env_remove("INTEGRATION_API_CONFIG");
    if let Some(secret) = secret {
        command.env("SHOPIFY_WEBHOOK_SECRET", secret);
    }
    let output = command.output().unwrap();
    Run {
        code: output.status.code().unwrap(),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}

#[test]
fn ingest_replays_saved_webhooks_with_documented_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path());
    let good = saved(
        dir.path(),
        "good.json",
        "products/update",
        &fixture("products_update.json"),
        "wh-1",
        SECRET,
    );
    let file = good.to_str().unwrap();

    let first = run(
        &config,
        &["ingest", "--provider", "shopify", file],
        Some(SECRET),
    );
    assert_eq!(first.code, 0, "{}", first.stderr);
    let summary: Value = serde_json::from_str(&first.stdout).unwrap();
    assert_eq!(summary["upserted"], 1);
    assert_eq!(summary["duplicate"], false);
    let again = run(
        &config,
        &["ingest", "--provider", "shopify", file],
        Some(SECRET),
    );
    assert_eq!(again.code, 0, "{}", again.stderr);
    let summary: Value = serde_json::from_str(&again.stdout).unwrap();
    assert_eq!(summary["duplicate"], true);

    // 2: the secret is missing; the message names the setting and its variable.
    let missing = run(&config, &["ingest", "--provider", "shopify", file], None);
    assert_eq!(missing.code, 2);
    assert!(
        missing.stderr.contains("SHOPIFY_WEBHOOK_SECRET"),
        "{}",
        missing.stderr
    );
    // 2: a provider that is not enabled.
    let unknown = run(
        &config,
        &["ingest", "--provider", "sanity", file],
        Some(SECRET),
    );
    assert_eq!(unknown.code, 2, "{}", unknown.stderr);
    assert!(
        unknown.stderr.contains("[providers.sanity]"),
        "{}",
        unknown.stderr
    );
    // 2: not a saved webhook.
    let junk = dir.path().join("junk.json");
    std::fs::write(&junk, "[1, 2]").unwrap();
    let bad_file = run(
        &config,
        &["ingest", "--provider", "shopify", junk.to_str().unwrap()],
        Some(SECRET),
    );
    assert_eq!(bad_file.code, 2, "{}", bad_file.stderr);
    assert!(
        bad_file.stderr.contains("\"headers\""),
        "{}",
        bad_file.stderr
    );
    // 3: signed with another secret; no secret in the output.
    let forged = saved(
        dir.path(),
        "forged.json",
        "products/update",
        &fixture("products_update.json"),
        "wh-2",
        "wrong-secret",
    );
    let refused = run(
        &config,
        &["ingest", "--provider", "shopify", forged.to_str().unwrap()],
        Some(SECRET),
    );
    assert_eq!(refused.code, 3, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("X-Shopify-Hmac-Sha256"),
        "{}",
        refused.stderr
    );
    assert!(!refused.stderr.contains(SECRET) && !refused.stderr.contains("wrong-secret"));
    // 4: a signed body that is not a product.
    let malformed = saved(
        dir.path(),
        "malformed.json",
        "products/update",
        "{\"id\": \"x\"}",
        "wh-3",
        SECRET,
    );
    let refused = run(
        &config,
        &[
            "ingest",
            "--provider",
            "shopify",
            malformed.to_str().unwrap(),
        ],
        Some(SECRET),
    );
    assert_eq!(refused.code, 4, "{}", refused.stderr);
    // 4: over the body limit, as the server's 413.
    let output = Command::new(BIN)
        .arg("--config")
        .arg(&config)
        .args(["ingest", "--provider", "shopify", file])
        .env("SHOPIFY_WEBHOOK_SECRET", SECRET)
        .env("INTEGRATION_API_BODY_LIMIT", "100")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&output.stderr).contains("body_limit"));
    // 2: usage errors come from clap.
    let usage = run(&config, &["ingest", file], Some(SECRET));
    assert_eq!(usage.code, 2);
}

fn start_server(config: &Path) -> Server {
    Server::spawn(
        Command::new(BIN)
            .arg("--config")
            .arg(config)
            .args(["serve", "--bind", "127.0.0.1:0", "--require-sigv4"])
            .env("SHOPIFY_WEBHOOK_SECRET", SECRET)
            .env(
                "INTEGRATION_API_ACCESS_KEYS",
                "AKIDCLI:cli-secret-access-key",
            )
            .env("RUST_LOG", "debug")
            .env_remove("INTEGRATION_API_DB"),
    )
}

#[tokio::test]
async fn serve_takes_webhooks_and_serves_signed_reads() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path());
    let server = start_server(&config);
    let address = server.address.clone();
    let client = reqwest::Client::new();

    let body = fixture("products_update.json");
    let signature = BASE64.encode(hmac_sha256(&Secret::new(SECRET), body.as_bytes()));
    let response = client
        .post(format!("{address}/webhooks/shopify"))
        .header("X-Shopify-Topic", "products/update")
        .header("X-Shopify-Hmac-Sha256", signature)
        .header("X-Shopify-Webhook-Id", "serve-1")
        .header("Content-Type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let summary: Value = response.json().await.unwrap();
    assert_eq!(summary["upserted"], 1);

    let unsigned = client
        .get(format!("{address}/content"))
        .send()
        .await
        .unwrap();
    assert_eq!(unsigned.status(), 403);

    let credentials = Credentials::new("AKIDCLI", "cli-secret-access-key", None, None, "test");
    let endpoint = Url::parse(&address).unwrap();
    let url = content_fetch::item_url(&endpoint, PRODUCT);
    let headers =
        content_fetch::sign_get(&url, "eu-west-1", &credentials, SystemTime::now()).unwrap();
    let mut request = client.get(url.as_str());
    for (name, value) in headers {
        request = request.header(name, value);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 200);
    let item: Value = response.json().await.unwrap();
    assert_eq!(item["content"]["id"], PRODUCT);
    assert_eq!(item["content"]["price"]["currency_code"], "EUR");

    let log = server.stop();
    assert!(
        log.contains("webhook applied") && log.contains("SigV4 signature verified"),
        "{log}"
    );
    assert!(
        !log.contains(SECRET) && !log.contains("cli-secret-access-key"),
        "a secret reached the log:\n{log}"
    );
}

/// An index's name, key schema and projection type.
type IndexShape = (String, Vec<(String, String)>, String);

/// `integration-api dynamodb create-table` makes the table `deploy/template.yaml` deploys: the
/// same keys and the same indexes with the same keys and projections.
#[tokio::test]
async fn dynamodb_create_table_makes_the_templates_table() {
    let moto = moto_server::MotoServer::shared();
    let table = format!("cli-create-table-{}", std::process::id());
    let created = Command::new(env!("CARGO_BIN_EXE_integration-api"))
        .args(["dynamodb", "create-table", "--table", &table])
        .envs(moto.env())
        .output()
        .unwrap();
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let dynamo = aws_sdk_dynamodb::Client::new(&moto.sdk_config().await);
    let described = dynamo
        .describe_table()
        .table_name(&table)
        .send()
        .await
        .unwrap()
        .table
        .unwrap();
    let template = deploy_template::Template::shipped().unwrap();
    let wanted = template.table("ContentTable").unwrap();
    let keys = |schema: &[aws_sdk_dynamodb::types::KeySchemaElement]| -> Vec<(String, String)> {
        schema
            .iter()
            .map(|k| {
                (
                    k.attribute_name().to_string(),
                    k.key_type().as_str().to_string(),
                )
            })
            .collect()
    };
    let wanted_keys = |value: &serde_json::Value| -> Vec<(String, String)> {
        value
            .as_array()
            .unwrap()
            .iter()
            .map(|k| {
                (
                    k["AttributeName"].as_str().unwrap().to_string(),
                    k["KeyType"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    let definition = wanted.definition();
    assert_eq!(
        keys(described.key_schema()),
        wanted_keys(&definition["KeySchema"])
    );
    let mut made: Vec<IndexShape> = described
        .global_secondary_indexes()
        .iter()
        .map(|i| {
            (
                i.index_name().unwrap().to_string(),
                keys(i.key_schema()),
                i.projection()
                    .and_then(|p| p.projection_type())
                    .map(|p| p.as_str().to_string())
                    .unwrap_or_default(),
            )
        })
        .collect();
    let mut deployed: Vec<IndexShape> = definition["GlobalSecondaryIndexes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["IndexName"].as_str().unwrap().to_string(),
                wanted_keys(&i["KeySchema"]),
                i["Projection"]["ProjectionType"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            )
        })
        .collect();
    made.sort();
    deployed.sort();
    assert_eq!(made, deployed);
}
