//! End to end on the local stack: signed Shopify webhooks into the real `integration-api serve`
//! over loopback, then the real `content-fetch` binary reading it with SigV4 and writing
//! Eleventy data files, then a deletion and an incremental run.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use providers::Secret;
use providers::signature::hmac_sha256;
use serde_json::Value;

mod support;
use support::{Server, aws_keys, content_fetch, fixture};

const SECRET: &str = "shpss_e2e_secret";
const ACCESS_KEY: &str = "AKIDE2ETEST";
const SECRET_KEY: &str = "e2e-secret-access-key";

/// The server on the SQLite file of `dir`, or on DynamoDB and SNS (moto's server) with the table
/// and topic `deploy/template.yaml` deploys, created by deploy-template under `prefix`.
async fn serve(dir: &Path, prefix: Option<&str>) -> (Server, String) {
    let config = dir.join("integration-api.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\ndb = \"{}\"\n[sigv4]\nregion = \"eu-west-1\"\n[providers.shopify]\ncurrency = \"EUR\"\n",
            dir.join("content.sqlite3").display()
        ),
    )
    .unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_integration-api"));
    if let Some(prefix) = prefix {
        let moto = moto_server::MotoServer::shared();
        let aws = moto.sdk_config().await;
        let template = deploy_template::Template::shipped().unwrap();
        let made = deploy_template::provision(
            &template,
            &aws_sdk_dynamodb::Client::new(&aws),
            &aws_sdk_sns::Client::new(&aws),
            &format!("{prefix}-{}", std::process::id()),
        )
        .await
        .unwrap();
        command.envs(moto.env());
        command.args(["--config"]).arg(&config);
        command.args(["serve", "--store", "dynamodb", "--table"]);
        command.arg(made.table("ContentTable").unwrap());
        command.args(["--events", "sns", "--topic-arn"]);
        command.arg(made.topic_arn("ContentEventsTopic").unwrap());
    } else {
        command.args(["--config"]).arg(&config).arg("serve");
    }
    let server = Server::spawn(
        command
            .args(["--bind", "127.0.0.1:0", "--require-sigv4"])
            .env("SHOPIFY_WEBHOOK_SECRET", SECRET)
            .env(
                "INTEGRATION_API_ACCESS_KEYS",
                format!("{ACCESS_KEY}:{SECRET_KEY}"),
            ),
    );
    let address = server.address.clone();
    (server, address)
}

async fn deliver(address: &str, topic: &str, body: String, id: &str) -> Value {
    let signature = BASE64.encode(hmac_sha256(&Secret::new(SECRET), body.as_bytes()));
    let response = reqwest::Client::new()
        .post(format!("{address}/webhooks/shopify"))
        .header("X-Shopify-Topic", topic)
        .header("X-Shopify-Hmac-Sha256", signature)
        .header("X-Shopify-Webhook-Id", id)
        .header("Content-Type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{topic}");
    response.json().await.unwrap()
}

fn fetch(bin: &Path, address: &str, out: &Path, secret_key: &str, extra: &[&str]) -> Output {
    // The site folder: two levels above its data folder.
    let site = out.parent().and_then(Path::parent).unwrap();
    let empty = site.join("no-aws-files");
    aws_keys(
        Command::new(bin)
            .args([
                "--endpoint",
                address,
                "--region",
                "eu-west-1",
                "--engine",
                "eleventy",
                "--attempts",
                "1",
            ])
            .arg("--out")
            .arg(out)
            .args(extra)
            .current_dir(site),
        ACCESS_KEY,
        secret_key,
        &empty,
    )
    .env_remove("INTEGRATION_API_URL")
    .env("CI", "true")
    .output()
    .unwrap()
}

fn read_json_files(dir: &Path) -> Vec<(String, Value)> {
    let mut files = Vec::new();
    for entry in walk(dir) {
        if entry.extension().is_some_and(|e| e == "json") {
            let text = std::fs::read_to_string(&entry).unwrap();
            files.push((
                entry.strip_prefix(dir).unwrap().display().to_string(),
                serde_json::from_str(&text).unwrap(),
            ));
        }
    }
    files.sort_by(|a, b| a.0.cmp(&b.0));
    files
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[tokio::test]
async fn webhooks_in_signed_fetch_out_files_written() {
    webhooks_in_fetch_out(None).await;
}

#[tokio::test]
async fn webhooks_in_signed_fetch_out_files_written_on_dynamodb() {
    webhooks_in_fetch_out(Some("e2e")).await;
}

async fn webhooks_in_fetch_out(prefix: Option<&str>) {
    let bin = content_fetch();
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("site");
    std::fs::create_dir_all(&site).unwrap();
    let out = site.join("_data").join("content");
    let (_server, address) = serve(dir.path(), prefix).await;

    deliver(
        &address,
        "products/update",
        fixture("products_update.json"),
        "e2e-1",
    )
    .await;
    deliver(
        &address,
        "collections/update",
        fixture("collections_update.json"),
        "e2e-2",
    )
    .await;
    let stock = deliver(
        &address,
        "inventory_levels/update",
        fixture("inventory_levels_update.json"),
        "e2e-3",
    )
    .await;
    assert_eq!(stock["inventory"], 1);

    // A wrong secret key: the API refuses, content-fetch exits 3 and writes nothing.
    let refused = fetch(&bin, &address, &out, "not-the-key", &[]);
    assert_eq!(
        refused.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    assert!(!out.exists());

    let run = fetch(&bin, &address, &out, SECRET_KEY, &[]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains(SECRET_KEY));
    let files = read_json_files(&out);
    let products = files
        .iter()
        .find(|(name, _)| name.ends_with("products.json"))
        .unwrap_or_else(|| panic!("no products file in {files:?}"));
    let product = &products.1.as_array().unwrap()[0];
    assert_eq!(product["id"], "gid://shopify/Product/788032119674292922");
    assert_eq!(product["price"]["currency_code"], "EUR");
    assert_eq!(
        product["inventory"]["quantity"], 5,
        "stock from the inventory webhook"
    );
    assert_eq!(product["variants"][0]["inventory"]["quantity"], -5);
    assert!(
        files
            .iter()
            .any(|(name, v)| name.ends_with("Collections.json")
                && v.as_array().is_some_and(|a| a.len() == 1)),
        "{files:?}"
    );

    // The collection is unpublished (no tombstone, only a newer draft) and the product is
    // deleted at the shop; one incremental run removes both from the data files.
    let unpublished = fixture("collections_update.json")
        .replace(
            r#""updated_at":"2026-11-19T16:00:00+01:00""#,
            r#""updated_at":"2026-11-20T16:00:00+01:00""#,
        )
        .replace(
            r#""published_at":"2026-11-18T10:00:00+01:00""#,
            r#""published_at":null"#,
        );
    assert_eq!(
        deliver(&address, "collections/update", unpublished, "e2e-5").await["upserted"],
        1
    );
    let deleted = deliver(
        &address,
        "products/delete",
        fixture("products_delete.json"),
        "e2e-4",
    )
    .await;
    assert_eq!(deleted["deleted"], 1);
    let run = fetch(&bin, &address, &out, SECRET_KEY, &["--incremental"]);
    assert_eq!(
        run.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let files = read_json_files(&out);
    let products: Vec<&Value> = files
        .iter()
        .filter(|(name, _)| name.ends_with("products.json"))
        .map(|(_, v)| v)
        .collect();
    assert!(
        products
            .iter()
            .all(|v| v.as_array().is_some_and(|a| a.is_empty())),
        "the deleted product is gone: {files:?}"
    );
    assert!(
        files
            .iter()
            .filter(|(name, _)| name.ends_with("Collections.json"))
            .all(|(_, v)| v.as_array().is_some_and(|a| a.is_empty())),
        "the unpublished collection is gone: {files:?}"
    );
}
