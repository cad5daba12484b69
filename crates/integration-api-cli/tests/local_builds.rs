//! `integration-api serve --build-command ... --site DIR`: signed webhooks become batched local
//! builds through the build trigger's decision, each after the real `content-fetch` refreshed
//! the site's data, with the environment a CodeBuild build gets.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use providers::Secret;
use providers::signature::hmac_sha256;

mod support;
use support::{Server, aws_keys, content_fetch, fixture};

const SECRET: &str = "shpss_local_builds_secret";
const ACCESS_KEY: &str = "AKIDLOCALBUILDS";
const SECRET_KEY: &str = "local-builds-secret-access-key";

/// Records each build's variables and what content-fetch wrote before it, one line a build;
/// fails its first attempt when asked to, to show the retry.
const BUILD: &str = r#"if [ -f fail-once ]; then rm fail-once; echo "first attempt fails" >&2; exit 3; fi
printf '%s|%s|%s|%s|%s|%s\n' "$BUILD_TYPE" "$BATCH_ID" "$BATCH_EVENT_COUNT" "$INTEGRATION_API_URL" "$BUILD_REASON" "$(grep -o 'gid://shopify/Product/[0-9]*"' _data/fetched/products.json | sort -u | wc -l | tr -d ' ')" >> builds.log
printf '%s\n' "$CONTENT_CHANGES_SUMMARY" >> summaries.log
echo "site built""#;

fn serve(dir: &Path, site: &Path) -> Server {
    let config = dir.join("integration-api.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\ndb = \"{}\"\n[sigv4]\nregion = \"eu-west-1\"\n[providers.shopify]\ncurrency = \"EUR\"\n",
            dir.join("content.sqlite3").display()
        ),
    )
    .unwrap();
    let empty = dir.join("no-aws-files");
    Server::spawn(
        // The builds' content-fetch signs with these keys.
        aws_keys(
            Command::new(env!("CARGO_BIN_EXE_integration-api"))
                .arg("--config")
                .arg(&config)
                .args(["serve", "--bind", "127.0.0.1:0", "--require-sigv4"])
                .arg("--build-command")
                .arg(BUILD)
                .arg("--site")
                .arg(site)
                .env("SHOPIFY_WEBHOOK_SECRET", SECRET)
                .env(
                    "INTEGRATION_API_ACCESS_KEYS",
                    format!("{ACCESS_KEY}:{SECRET_KEY}"),
                ),
            ACCESS_KEY,
            SECRET_KEY,
            &empty,
        )
        .env("CI", "true")
        .env("RUST_LOG", "info"),
    )
}

/// A Shopify product update for product `n`, signed.
async fn deliver_product(address: &str, n: u32) {
    let body = fixture("products_update.json")
        .replace("788032119674292922", &format!("78803211967429{n:04}"));
    let signature = BASE64.encode(hmac_sha256(&Secret::new(SECRET), body.as_bytes()));
    let response = reqwest::Client::new()
        .post(format!("{address}/webhooks/shopify"))
        .header("X-Shopify-Topic", "products/update")
        .header("X-Shopify-Hmac-Sha256", signature)
        .header("X-Shopify-Webhook-Id", format!("local-build-{n}"))
        .header("Content-Type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

fn lines_of(path: &PathBuf) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_webhooks_build_the_site_once_per_batch_with_the_build_environment() {
    content_fetch();
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("site");
    std::fs::create_dir_all(&site).unwrap();
    std::fs::write(
        site.join("content-fetch.toml"),
        "engine = \"eleventy\"\nregion = \"eu-west-1\"\n",
    )
    .unwrap();
    std::fs::write(site.join("fail-once"), "").unwrap();
    let server = serve(dir.path(), &site);
    let address = server.address.clone();

    // One product update builds at once; the next three, inside the cooldown after that
    // build, wait in one batch that the in-process timer builds at the window's end.
    deliver_product(&address, 1).await;
    let builds = site.join("builds.log");
    let deadline = Instant::now() + Duration::from_secs(60);
    while lines_of(&builds).is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for n in 2..=4 {
        deliver_product(&address, n).await;
    }
    let deadline = Instant::now() + Duration::from_secs(90);
    while lines_of(&builds).len() < 2 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Nothing else is due: a third build would be a bug.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let log = server.stop();
    let lines = lines_of(&builds);
    assert_eq!(lines.len(), 2, "{lines:?}\n{log}");
    let api = format!("|{address}|");
    let first: Vec<&str> = lines[0].split('|').collect();
    assert_eq!(first[0], "immediate", "{lines:?}");
    assert!(first[1].starts_with("batch-"), "{lines:?}");
    assert_eq!(first[2], "1");
    assert!(lines[0].contains(&api), "{lines:?}");
    assert_eq!(first[5], "1", "content-fetch wrote the one product first");
    let second: Vec<&str> = lines[1].split('|').collect();
    assert_eq!(second[0], "batch", "{lines:?}");
    assert_ne!(second[1], first[1]);
    assert_eq!(second[2], "3");
    assert_eq!(second[4], "batch of 3 event(s) over 3 item(s)");
    assert_eq!(
        second[5], "4",
        "content-fetch refreshed the data before the build"
    );

    // The summary is the trigger's JSON; content-fetch ran incrementally off the first run.
    let summaries = lines_of(&site.join("summaries.log"));
    let summary: serde_json::Value = serde_json::from_str(&summaries[1]).unwrap();
    assert_eq!(summary["total_changes"], 3);
    assert_eq!(summary["requires_full_rebuild"], false);
    assert!(
        log.contains("items written (incremental: build context batch, 3 changes)"),
        "{log}"
    );
    assert!(log.contains("build: site built"), "{log}");
    assert!(
        log.contains("build: first attempt fails") && log.contains("exited with exit status: 3"),
        "the failed first attempt is reported, then retried: {log}"
    );
    assert!(!log.contains(SECRET_KEY), "no secret in the log");
}
