//! The bundled demo (`scripts/demo`, `examples/demo/`) cannot rot: every saved delivery still
//! passes its signature check and applies, and the whole script, run with the real binaries,
//! still produces the committed snapshot's content with exact prices, stock and bodies.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{Value, json};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The current `integration-api` binary, built from the workspace (it is not a dependency of
/// this package, so Cargo does not build it for these tests).
fn integration_api() -> PathBuf {
    let status = Command::new(env!("CARGO"))
        .args(["build", "--quiet", "--bin", "integration-api"])
        .current_dir(root())
        .status()
        .unwrap();
    assert!(status.success(), "cargo build --bin integration-api failed");
    Path::new(env!("CARGO_BIN_EXE_content-fetch")).with_file_name("integration-api")
}

fn webhooks() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join("examples/demo/webhooks"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 9,
        "the demo bundles its deliveries: {files:?}"
    );
    files
}

/// `<NN>-<provider>-<what>.json` names the provider, as `scripts/demo` reads it.
fn provider(file: &Path) -> String {
    let name = file.file_name().unwrap().to_str().unwrap();
    name.split('-').nth(1).unwrap().to_string()
}

fn ingest(bin: &Path, db: &Path, file: &Path) -> Value {
    let output = Command::new(bin)
        .arg("--config")
        .arg(root().join("examples/demo/integration-api.toml"))
        .arg("--db")
        .arg(db)
        .args(["ingest", "--provider", &provider(file)])
        .arg(file)
        .env("RUST_LOG", "warn")
        .env_remove("INTEGRATION_API_CONFIG")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{} exited with {:?}: {}",
        file.display(),
        output.status.code(),
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

fn count(summary: &Value, key: &str) -> u64 {
    summary[key].as_u64().unwrap()
}

#[test]
fn every_bundled_webhook_ingests_once_and_a_replay_changes_nothing() {
    let bin = integration_api();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("content.sqlite3");
    for file in webhooks() {
        let summary = ingest(&bin, &db, &file);
        assert_eq!(summary["duplicate"], false, "{}", file.display());
        assert_eq!(count(&summary, "unmatched"), 0, "{}", file.display());
        assert!(
            count(&summary, "upserted") + count(&summary, "inventory") >= 1,
            "{} changed nothing: {summary}",
            file.display()
        );
    }
    // Each delivery carries its provider's delivery id: replaying the set is acknowledged and
    // moves no stock twice.
    for file in webhooks() {
        let summary = ingest(&bin, &db, &file);
        assert_eq!(summary["duplicate"], true, "{}", file.display());
        assert_eq!(count(&summary, "inventory"), 0, "{}", file.display());
    }
}

fn read(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn by_slug<'a>(items: &'a Value, slug: &str) -> &'a Value {
    items
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["slug"] == slug)
        .unwrap_or_else(|| panic!("no item with slug {slug} in {items}"))
}

fn variant<'a>(product: &'a Value, sku: &str) -> &'a Value {
    product["variants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["sku"] == sku)
        .unwrap_or_else(|| panic!("no variant {sku}"))
}

fn show(output: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn the_demo_script_serves_signed_content_and_matches_the_committed_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("site/_data/fetched");
    let snapshot = dir.path().join("content.snapshot.json");
    let output = Command::new("bash")
        .arg(root().join("scripts/demo"))
        .arg("eleventy")
        .arg(&out)
        .env("DEMO_SNAPSHOT", &snapshot)
        .current_dir(root())
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", show(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("    products.json\n"),
        "the tree is printed: {stdout}"
    );

    // The committed snapshot is what the committed deliveries produce (synced_at and the
    // fetch itself are not part of the digest).
    let fresh = read(&snapshot);
    let committed = read(&root().join("examples/demo/content.snapshot.json"));
    assert_eq!(fresh["header"]["count"], 8);
    assert_eq!(
        fresh["header"]["digest"], committed["header"]["digest"],
        "examples/demo/content.snapshot.json is out of date: run scripts/demo and copy \
         demo-output/content.snapshot.json over it"
    );

    let products = read(&out.join("products.json"));
    let tee = by_slug(&products, "organic-cotton-tee");
    let small = variant(tee, "TEE-S-WHT");
    assert_eq!(
        small["price"],
        json!({"amount": 19.99, "compare_at_amount": 29.99, "currency_code": "EUR"})
    );
    assert_eq!(
        small["inventory"]["quantity"], -3,
        "oversold stock stays negative"
    );
    // Foxy sold one Large tee and two mugs, matched by SKU.
    assert_eq!(variant(tee, "TEE-L-WHT")["inventory"]["quantity"], 9);
    assert_eq!(tee["inventory"]["quantity"], 6);
    let mug = by_slug(&products, "blue-enamel-mug");
    assert_eq!(mug["inventory"]["quantity"], 10);
    assert_eq!(
        mug["price"],
        json!({"amount": 24.95, "currency_code": "EUR"}),
        "a compare-at price of 0.00 is no former price"
    );
    assert_eq!(
        by_slug(&products, "linen-tote-bag")["price"],
        json!({"amount": 35, "compare_at_amount": 42.5, "currency_code": "EUR"})
    );

    let articles = read(&out.join("articles.json"));
    let body = |items: &Value, slug| by_slug(items, slug)["body"].as_str().unwrap().to_string();
    assert!(
        body(&articles, "creme-brulee-caramel").starts_with(
            "<p>Heat <strong>sugar</strong> until it turns <em><a \
             href=\"https://en.wikipedia.org/wiki/Caramelization\">amber</a></em>.</p>\
             <h2>You need</h2>"
        ),
        "Portable Text renders to HTML"
    );
    assert!(
        body(&articles, "caring-for-enamel-mugs")
            .contains("<ol><li>Rinse it while it is still warm.</li>")
    );
    let pages = read(&out.join("pages.json"));
    let page = body(&pages, "shipping-returns");
    assert!(
        page.starts_with("<h2>Shipping</h2><p>We ship <b>within 2 days</b> with"),
        "Rich Text renders to HTML: {page}"
    );
    let media = read(&out.join("media.json"));
    assert_eq!(
        by_slug(&media, "parcel-on-a-doorstep")["featured_image"]["url"],
        "https://images.ctfassets.net/yadj1kx9rmg0/3wtvPBbBjiMKqKKga8I2Cu/6d2a4c5e0b1f/parcel.jpg",
        "a published Contentful asset is a media item with an https URL"
    );
}
