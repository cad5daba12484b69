//! End to end: one fixture content set, through the real `content-fetch` binary, into three
//! tiny real sites (Eleventy 3, Astro 7, Next.js 16), built by the real SSGs.
//!
//! The sites' npm packages must be installed first: `scripts/install-test-deps`.

// The loopback content API of the fetch client's tests (SigV4-verifying, with faults).
#[path = "../crates/content-fetch/tests/server/mod.rs"]
mod server;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use content_fetch::{Filters, Snapshot};
use unified_content::UnifiedContent;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A site folder whose npm packages are installed; a clear failure otherwise, never a skip.
fn site(name: &str) -> PathBuf {
    let dir = repo().join("tests/sites").join(name);
    assert!(
        dir.join("node_modules").is_dir(),
        "{} has no node_modules: run scripts/install-test-deps (npm ci in every test site) first",
        dir.display()
    );
    dir
}

fn fixture() -> Vec<UnifiedContent> {
    let text = std::fs::read_to_string(repo().join("tests/fixtures/content/items.json")).unwrap();
    let mut items: Vec<UnifiedContent> = serde_json::from_str(&text).unwrap();
    items.iter_mut().for_each(UnifiedContent::normalize);
    items
}

/// The fixture set as a snapshot file, the form `content-fetch --from` reads offline.
fn snapshot(dir: &Path) -> PathBuf {
    snapshot_of(dir, fixture())
}

fn snapshot_of(dir: &Path, items: Vec<UnifiedContent>) -> PathBuf {
    let path = dir.join("fixture.snapshot.json");
    let fetched_at = "2026-02-02T00:00:00Z".parse().unwrap();
    Snapshot::new(
        "http://127.0.0.1/fixture",
        &Filters::default(),
        fetched_at,
        items,
    )
    .write(&path)
    .unwrap();
    path
}

/// The fixture and a page whose body is Markdown (the fixture's bodies are all HTML), for
/// Astro's `render(entry)`.
fn fixture_with_markdown_page() -> Vec<UnifiedContent> {
    let mut items = fixture();
    let mut page = items
        .iter()
        .find(|i| i.content_type.as_str() == "page")
        .unwrap()
        .clone();
    page.id = "decap:content/pages/opening-hours.md".into();
    page.slug = "opening-hours".into();
    page.title = "Opening Hours".into();
    page.body = Some("## Hours\n\nWe open **daily** at _eight_.".into());
    items.push(page);
    items
}

fn check(what: &str, output: Output) -> Output {
    assert!(
        output.status.success(),
        "{what} failed ({}):\n--- stdout\n{}\n--- stderr\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// Runs the real CLI: `content-fetch --from SNAPSHOT --engine ENGINE --out OUT [EXTRA...]`.
fn content_fetch(engine: &str, out: &Path, extra: &[&str]) {
    content_fetch_items(engine, out, extra, fixture());
}

fn content_fetch_items(engine: &str, out: &Path, extra: &[&str], items: Vec<UnifiedContent>) {
    let tmp = tempfile::tempdir().unwrap();
    let snap = snapshot_of(tmp.path(), items);
    let output = Command::new(env!("CARGO_BIN_EXE_content-fetch"))
        .arg("--from")
        .arg(&snap)
        .args(["--engine", engine, "--out"])
        .arg(out)
        .args(extra)
        .env("CI", "true")
        .output()
        .unwrap();
    check(&format!("content-fetch --engine {engine}"), output);
}

/// `npm run build` in the site: npm puts the site's node_modules/.bin first on PATH, so the
/// Astro site runs on the Node 22 it installs.
fn build(site: &Path) -> Output {
    Command::new("npm")
        .args(["run", "build"])
        .current_dir(site)
        .env("CI", "true")
        .env("ASTRO_TELEMETRY_DISABLED", "1")
        .env("NEXT_TELEMETRY_DISABLED", "1")
        .output()
        .unwrap()
}

/// Every HTML file under `dir`, concatenated.
fn html(dir: &Path) -> String {
    let mut text = String::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "html") {
                text.push_str(&std::fs::read_to_string(&path).unwrap());
            }
        }
    }
    text
}

/// Every product's title and exact price and every article's body are in the built pages.
fn assert_shows_the_fixture(engine: &str, built: &str) {
    let items = fixture();
    let mut products = 0;
    for item in &items {
        if let Some(price) = item
            .price
            .as_ref()
            .filter(|_| item.content_type.as_str() == "product")
        {
            products += 1;
            assert!(
                built.contains(&item.title),
                "{engine}: no title {:?}",
                item.title
            );
            let shown = format!("{} {}", price.amount, price.currency_code);
            assert!(
                built.contains(&shown),
                "{engine}: no exact price {shown:?} for {}",
                item.id
            );
        }
        if item.content_type.as_str() == "article" {
            let body = item.body.as_deref().unwrap();
            assert!(
                built.contains(body),
                "{engine}: no body of article {}",
                item.id
            );
        }
    }
    assert_eq!(products, 4);
    assert!(built.contains("0.3 GBP") && built.contains("29.99 EUR"));
    assert!(!built.contains("0.30000000000000004") && !built.contains("29.990000000000002"));
}

/// The site's home page used the generated helpers the natural way: `formatPrice`, the date
/// helpers (newest first, formatted in UTC), the lookup by provider id and the renamed
/// `productCollections`.
fn assert_uses_the_generated_helpers(engine: &str, home: &str) {
    for shown in ["€29.99", "$19.90", "£0.30", "€1,234.56"] {
        assert!(home.contains(shown), "{engine}: no formatted price {shown}");
    }
    assert!(
        home.contains(r#"<p id="by-provider-id">Espresso Machine</p>"#),
        "{engine}: the lookup by provider id found nothing"
    );
    assert!(
        home.contains("7 January 2026") && home.contains("5 January 2026"),
        "{engine}: no formatted dates"
    );
    let newer = home.find("Brewing Guide").unwrap();
    let older = home.find("First Harvest of the Year").unwrap();
    assert!(newer < older, "{engine}: articles are not newest first");
    assert!(
        home.contains("Summer Picks"),
        "{engine}: productCollections is empty"
    );
}

#[test]
fn eleventy_site_builds_from_the_fixture() {
    let site = site("eleventy");
    content_fetch("eleventy", &site.join("_data/fetched"), &[]);
    check("eleventy build", build(&site));
    let built = html(&site.join("_site"));
    assert_shows_the_fixture("eleventy", &built);
    let home = std::fs::read_to_string(site.join("_site/index.html")).unwrap();
    assert_uses_the_generated_helpers("eleventy", &home);
    // Pagination over fetched.products made one page per product.
    assert!(
        site.join("_site/products/tiny-sticker/index.html")
            .is_file()
    );
}

/// Removes the deliberately invalid entry even when an assertion fails.
struct Remove(PathBuf);

impl Drop for Remove {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[test]
fn astro_site_renders_entries_in_both_layouts_validates_every_entry_and_rejects_an_invalid_one() {
    let site = site("astro");
    let out = site.join("src/content/fetched");
    let items = fixture_with_markdown_page();
    // The same pages in both layouts: JSON entries (the default) and, with `--markdown`,
    // Markdown with front matter for articles and pages. `render(entry)` gives the body and
    // `data.body` holds its text in both.
    for (layout, extra) in [("json", &[][..]), ("markdown", &["--markdown"][..])] {
        content_fetch_items("astro", &out, extra, items.clone());
        let ext = if layout == "json" { "json" } else { "md" };
        assert!(out.join(format!("articles/brewing-guide.{ext}")).is_file());
        assert!(out.join("products/ceramic-mug.json").is_file());
        check(&format!("astro build ({layout})"), build(&site));
        let built = html(&site.join("dist"));
        assert_shows_the_fixture("astro", &built);
        let home = std::fs::read_to_string(site.join("dist/index.html")).unwrap();
        assert_uses_the_generated_helpers("astro", &home);
        assert!(
            home.contains("<strong>daily</strong>") && home.contains("<h2 id=\"hours\">Hours</h2>"),
            "{layout}: the Markdown body was not rendered:\n{home}"
        );
        assert!(home.contains("<p>We roast in small batches in Ghent.</p>"));
        assert_eq!(home.matches(r#"data-body="yes""#).count(), 4, "{layout}");
        assert!(
            !home.contains(r#"data-body="no""#),
            "{layout}: data.body is missing"
        );
        // Each entry's dates came out of the generated zod schema as Date objects.
        let validated = built.matches(r#"data-validated="yes""#).count();
        assert_eq!(
            validated,
            items.len(),
            "entries that went through the schema"
        );
        assert!(!built.contains(r#"data-validated="no""#));
        assert!(home.contains("productCollections/summer-picks"));
    }

    // One entry breaking the model (negative price, no title) must fail the build.
    let invalid = Remove(out.join("products/zz-invalid.json"));
    let mut entry = serde_json::to_value(&fixture()[1]).unwrap();
    entry["slug"] = "zz-invalid".into();
    entry["price"]["amount"] = serde_json::json!(-5);
    entry.as_object_mut().unwrap().remove("title");
    std::fs::write(&invalid.0, serde_json::to_vec_pretty(&entry).unwrap()).unwrap();
    let output = build(&site);
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(!output.status.success(), "the invalid entry built:\n{log}");
    assert!(
        log.contains("zz-invalid"),
        "the failure names the entry:\n{log}"
    );
    assert!(
        log.contains("price") && log.contains("title"),
        "the failure names the fields:\n{log}"
    );
}

#[test]
fn next_site_builds_from_the_fixture() {
    let site = site("next");
    content_fetch("next", &site.join("content/fetched"), &[]);
    check("next build", build(&site));
    let built = html(&site.join("out"));
    assert_shows_the_fixture("next", &built);
    let home = std::fs::read_to_string(site.join("out/index.html")).unwrap();
    assert_uses_the_generated_helpers("next", &home);
    // generateStaticParams made one page per article, read with getArticleBySlug.
    let page = std::fs::read_to_string(site.join("out/articles/brewing-guide.html")).unwrap();
    assert!(page.contains("crème and clarity"));
}

/// The CLI's engine flags without any SSG: an incremental run over unchanged content keeps
/// every file, and errors map to the documented exit codes.
#[test]
fn cli_incremental_runs_keep_unchanged_files_and_errors_have_exit_codes() {
    let tmp = tempfile::tempdir().unwrap();
    let snap = snapshot(tmp.path());
    let out = tmp.path().join("out");
    let cli = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_content-fetch"))
            .arg("--from")
            .arg(&snap)
            .arg("--out")
            .arg(&out)
            .args(extra)
            .env("CI", "true")
            .output()
            .unwrap()
    };
    check("full run", cli(&["--engine", "next"]));
    let before = std::fs::metadata(out.join("products/ceramic-mug.json"))
        .unwrap()
        .modified()
        .unwrap();
    let again = check(
        "incremental run",
        cli(&["--engine", "next", "--incremental"]),
    );
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(
        stderr.contains("(incremental): 0 files written"),
        "{stderr}"
    );
    let after = std::fs::metadata(out.join("products/ceramic-mug.json"))
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(before, after);

    let markdown = cli(&["--engine", "eleventy", "--markdown"]);
    assert_eq!(markdown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&markdown.stderr).contains("--template-dir"));
    let unknown = cli(&["--engine", "hugo"]);
    assert_eq!(unknown.status.code(), Some(2));
}

/// Files under `dir` with their bytes and modification times.
fn files(dir: &Path) -> Vec<(PathBuf, Vec<u8>, std::time::SystemTime)> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let modified = std::fs::metadata(&path).unwrap().modified().unwrap();
                found.push((path.clone(), std::fs::read(&path).unwrap(), modified));
            }
        }
    }
    found.sort();
    found
}

/// The real CLI against the loopback API: a fetch that fails after its first page leaves the
/// previous output exactly as it was, and nothing beside it.
#[tokio::test(flavor = "multi_thread")]
async fn a_fetch_failing_mid_way_leaves_the_previous_output() {
    let items = fixture()
        .iter()
        .map(|i| serde_json::to_value(i).unwrap())
        .collect();
    let api = server::TestServer::start(items, 2, None).await;
    let home = tempfile::tempdir().unwrap();
    let out = home.path().join("site/src/content/fetched");
    let endpoint = api.endpoint();
    let run = |extra: Vec<&'static str>| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_content-fetch"));
        command
            .env_clear()
            .env("HOME", home.path())
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_CONFIG_FILE", home.path().join("none"))
            .env("AWS_SHARED_CREDENTIALS_FILE", home.path().join("none"))
            .env("AWS_ACCESS_KEY_ID", server::ACCESS_KEY)
            .env("AWS_SECRET_ACCESS_KEY", server::SECRET_KEY)
            .env("AWS_REGION", server::REGION)
            .env("CONTENT_FETCH_RETRY_BASE_MS", "1")
            .env("CI", "true")
            .args(["--endpoint", &endpoint, "--engine", "astro", "--out"])
            .arg(&out)
            .args(extra);
        tokio::task::spawn_blocking(move || command.output().unwrap())
    };
    check("first run", run(vec![]).await.unwrap());
    let before = files(&out);
    assert_eq!(
        before.len(),
        9 + 2,
        "9 entries, collections.ts and index.ts: the state lives outside the output folder"
    );

    // New content, then an API that answers one page and fails for good.
    api.state.items.lock().unwrap()[0]["title"] = "Renamed Mug".into();
    api.fault(server::Fault::Delay(std::time::Duration::ZERO));
    for _ in 0..10 {
        api.fault(server::Fault::Status(503, None));
    }
    let failed = run(vec!["--concurrency", "1", "--attempts", "1"])
        .await
        .unwrap();
    assert_eq!(
        failed.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&failed.stderr)
    );
    assert_eq!(files(&out), before, "the failed run changed the output");
    // Beside the output folder: at most the runs' state folder, no staging folder.
    let state = ssg_writers::state_dir(&out);
    let mut beside: Vec<_> = std::fs::read_dir(out.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| !state.starts_with(p))
        .map(|p| p.file_name().unwrap().to_owned())
        .collect();
    beside.sort();
    assert_eq!(beside, vec!["fetched"], "no staging folder is left behind");
    api.assert_all_verified();
}
