//! The `content-fetch` binary end to end against the loopback content API that verifies
//! SigV4, with credentials from the environment, a profile file and a container endpoint.

#[path = "../crates/content-fetch/tests/server/mod.rs"]
mod server;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use axum::Router;
use axum::routing::get;
use serde_json::{Value, json};
use server::{ACCESS_KEY, Fault, SECRET_KEY, TestServer, catalog, item};

/// A clean environment: a temporary HOME (no real ~/.aws), no IMDS, no progress spinner.
struct Env {
    home: tempfile::TempDir,
    vars: Vec<(String, String)>,
}

impl Env {
    fn new() -> Env {
        let home = tempfile::tempdir().unwrap();
        let vars = vec![
            ("HOME".into(), home.path().display().to_string()),
            ("AWS_EC2_METADATA_DISABLED".into(), "true".into()),
            (
                "AWS_CONFIG_FILE".into(),
                home.path().join("no-config").display().to_string(),
            ),
            (
                "AWS_SHARED_CREDENTIALS_FILE".into(),
                home.path().join("no-credentials").display().to_string(),
            ),
            ("CI".into(), "true".into()),
            ("CONTENT_FETCH_RETRY_BASE_MS".into(), "5".into()),
        ];
        Env { home, vars }
    }

    /// Static keys in the environment and the API's URL in INTEGRATION_API_URL.
    fn with_keys(server: &TestServer) -> Env {
        Env::new()
            .set("AWS_ACCESS_KEY_ID", ACCESS_KEY)
            .set("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
            .set("AWS_REGION", server::REGION)
            .set("INTEGRATION_API_URL", &server.endpoint())
    }

    fn set(mut self, name: &str, value: &str) -> Env {
        self.vars.retain(|(k, _)| k != name);
        self.vars.push((name.into(), value.into()));
        self
    }

    fn dir(&self) -> &Path {
        self.home.path()
    }

    async fn run(&self, args: &[&str]) -> Output {
        self.run_in(self.dir().to_path_buf(), args).await
    }

    async fn run_in(&self, cwd: PathBuf, args: &[&str]) -> Output {
        let mut command = self.command(cwd, args);
        tokio::task::spawn_blocking(move || command.output().unwrap())
            .await
            .unwrap()
    }

    fn command(&self, cwd: PathBuf, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_content-fetch"));
        command
            .env_clear()
            .envs(self.vars.iter().cloned())
            .current_dir(cwd)
            .args(args);
        command
    }
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[track_caller]
fn assert_exit(o: &Output, code: i32) {
    assert_eq!(
        o.status.code(),
        Some(code),
        "stdout:\n{}\nstderr:\n{}",
        stdout(o),
        stderr(o)
    );
}

fn closed_port_endpoint() -> String {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    format!("http://{}/prod", closed.local_addr().unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn credentials_from_the_environment_and_a_json_summary() {
    let server = TestServer::start(catalog(), 3, None).await;
    let env = Env::with_keys(&server);
    let out = env.run(&["--json"]).await;
    assert_exit(&out, 0);
    let summary: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(summary["total"], 13);
    assert_eq!(summary["items"]["article"], 7);
    assert_eq!(summary["pages"], 3 + 2 + 1 + 1 + 1);
    assert_eq!(summary["source"]["kind"], "api");
    let err = stderr(&out);
    assert!(
        err.contains(
            "13 items (products 4, articles 7, pages 2, collections 0, media 0) in 8 pages"
        ),
        "{err}"
    );
    server.assert_all_verified();
}

#[tokio::test(flavor = "multi_thread")]
async fn endpoint_precedence_flag_then_env_then_config_file() {
    let server = TestServer::start(catalog(), 100, None).await;
    let env = Env::with_keys(&server).set("INTEGRATION_API_URL", "");
    let project = env.dir().join("site");
    let nested = project.join("src/pages");
    std::fs::create_dir_all(&nested).unwrap();
    std::fs::write(
        project.join("content-fetch.toml"),
        format!(
            "endpoint = \"{}\"\nregion = \"{}\"\n",
            server.endpoint(),
            server::REGION
        ),
    )
    .unwrap();
    // The file, found from a nested folder.
    assert_exit(&env.run_in(nested.clone(), &["--type", "page"]).await, 0);
    // The environment beats the file.
    let env = env.set("INTEGRATION_API_URL", &closed_port_endpoint());
    let out = env
        .run_in(nested.clone(), &["--type", "page", "--attempts", "1"])
        .await;
    assert_exit(&out, 4);
    // The flag beats both.
    let out = env
        .run_in(
            nested,
            &["--type", "page", "--endpoint", &server.endpoint()],
        )
        .await;
    assert_exit(&out, 0);
    server.assert_all_verified();

    let no_endpoint = Env::new().run(&[]).await;
    assert_exit(&no_endpoint, 2);
    let err = stderr(&no_endpoint);
    assert!(
        err.contains("--endpoint")
            && err.contains("INTEGRATION_API_URL")
            && err.contains("content-fetch.toml"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn credentials_from_a_profile_file() {
    let server = TestServer::start(catalog(), 100, Some("profile-session-token")).await;
    let env = Env::new().set("INTEGRATION_API_URL", &server.endpoint());
    let config = env.dir().join("aws-config");
    let credentials = env.dir().join("aws-credentials");
    std::fs::write(&config, "[profile site-dev]\nregion = us-east-1\n").unwrap();
    std::fs::write(
        &credentials,
        format!("[site-dev]\naws_access_key_id = {ACCESS_KEY}\naws_secret_access_key = {SECRET_KEY}\naws_session_token = profile-session-token\n"),
    )
    .unwrap();
    let env = env
        .set("AWS_CONFIG_FILE", &config.display().to_string())
        .set(
            "AWS_SHARED_CREDENTIALS_FILE",
            &credentials.display().to_string(),
        );
    let out = env
        .run(&["--profile", "site-dev", "--type", "product", "--json"])
        .await;
    assert_exit(&out, 0);
    let summary: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(summary["total"], 4);
    server.assert_all_verified();
    assert_eq!(
        server.received()[0].security_token.as_deref(),
        Some("profile-session-token")
    );

    // credential_process, one of the sources aws-config supports beyond static keys.
    let script = env.dir().join("creds.sh");
    std::fs::write(
        &script,
        format!("#!/bin/sh\necho '{{\"Version\": 1, \"AccessKeyId\": \"{ACCESS_KEY}\", \"SecretAccessKey\": \"{SECRET_KEY}\", \"SessionToken\": \"profile-session-token\"}}'\n"),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(
        &config,
        format!(
            "[profile site-dev]\nregion = us-east-1\n\n[profile via-process]\nregion = us-east-1\ncredential_process = {}\n",
            script.display()
        ),
    )
    .unwrap();
    let before = server.received().len();
    let out = env
        .run(&["--profile", "via-process", "--type", "page"])
        .await;
    assert_exit(&out, 0);
    assert!(server.received().len() > before);
    server.assert_all_verified();

    let out = env
        .set("AWS_REGION", server::REGION)
        .run(&["--profile", "missing-profile"])
        .await;
    assert_exit(&out, 3);
    assert!(stderr(&out).contains("missing-profile"), "{}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread")]
async fn credentials_from_a_container_endpoint_as_codebuild_serves_them() {
    let server = TestServer::start(catalog(), 100, Some("container-token")).await;
    let expiration = (chrono::Utc::now() + chrono::Duration::hours(1))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let body = json!({
        "AccessKeyId": ACCESS_KEY,
        "SecretAccessKey": SECRET_KEY,
        "Token": "container-token",
        "Expiration": expiration,
    });
    let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = hits.clone();
    let app = Router::new().route(
        "/v2/credentials/build-role",
        get(move || {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let body = body.clone();
            async move { axum::Json(body) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let creds_url = format!(
        "http://{}/v2/credentials/build-role",
        listener.local_addr().unwrap()
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let env = Env::new()
        .set("INTEGRATION_API_URL", &server.endpoint())
        .set("AWS_REGION", server::REGION)
        .set("AWS_CONTAINER_CREDENTIALS_FULL_URI", &creds_url);
    let out = env.run(&["--type", "article"]).await;
    assert_exit(&out, 0);
    assert!(hits.load(std::sync::atomic::Ordering::SeqCst) >= 1);
    server.assert_all_verified();
    assert_eq!(
        server.received()[0].security_token.as_deref(),
        Some("container-token")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn no_credentials_names_every_source_tried() {
    let server = TestServer::start(catalog(), 100, None).await;
    let env = Env::new()
        .set("INTEGRATION_API_URL", &server.endpoint())
        .set("AWS_REGION", server::REGION);
    let out = env.run(&[]).await;
    assert_exit(&out, 3);
    let err = stderr(&out);
    for source in [
        "AWS_ACCESS_KEY_ID",
        "profile 'default'",
        "credential_process",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "IMDS",
        "--profile",
    ] {
        assert!(err.contains(source), "{source} missing from: {err}");
    }
    assert!(server.received().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_403_fails_fast_with_the_auth_exit_code() {
    let server = TestServer::start(catalog(), 100, None).await;
    let env = Env::with_keys(&server).set("AWS_SECRET_ACCESS_KEY", "wrong-secret-value");
    let out = env.run(&["--type", "article"]).await;
    assert_exit(&out, 3);
    let err = stderr(&out);
    assert!(
        err.contains("403") && err.contains("region") && err.contains("clock"),
        "{err}"
    );
    assert!(!err.contains("wrong-secret-value"));
    assert_eq!(server.received().len(), 1, "a 403 is not retried");
}

#[tokio::test(flavor = "multi_thread")]
async fn retries_then_network_exit_code_then_fallback_snapshot() {
    let server = TestServer::start(catalog(), 100, None).await;
    server.fault(Fault::Status(503, None));
    server.fault(Fault::Status(429, Some("0")));
    let env = Env::with_keys(&server);
    let out = env.run(&["--type", "article", "--json"]).await;
    assert_exit(&out, 0);
    let summary: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(summary["retries"], 2);

    let snapshot = env.dir().join("last-good.json");
    let out = env
        .run(&["snapshot", "pull", "--out", snapshot.to_str().unwrap()])
        .await;
    assert_exit(&out, 0);

    let down = env.set("INTEGRATION_API_URL", &closed_port_endpoint());
    let out = down.run(&["--attempts", "2"]).await;
    assert_exit(&out, 4);
    assert!(
        stderr(&out).contains("after 2 attempt(s)"),
        "{}",
        stderr(&out)
    );

    let out = down
        .run(&[
            "--attempts",
            "2",
            "--fallback-snapshot",
            snapshot.to_str().unwrap(),
            "--fallback-max-age",
            "1h",
            "--json",
        ])
        .await;
    assert_exit(&out, 0);
    let err = stderr(&out);
    assert!(
        err.contains("warning:") && err.contains("FALLBACK"),
        "{err}"
    );
    let summary: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(summary["source"]["kind"], "fallback-snapshot");
    assert_eq!(summary["total"], 13);

    // A failed pull writes nothing.
    let failed = down.dir().join("failed.json");
    let out = down
        .run(&[
            "--attempts",
            "1",
            "snapshot",
            "pull",
            "--out",
            failed.to_str().unwrap(),
        ])
        .await;
    assert_exit(&out, 4);
    assert!(!failed.exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn strict_and_lenient_validation() {
    let mut items = catalog();
    let mut bad = item("article-bad", "article", "published");
    bad["slug"] = "Bad Slug".into();
    items.push(bad);
    let server = TestServer::start(items, 100, None).await;
    let env = Env::with_keys(&server);

    let out = env.run(&["--type", "article", "--json"]).await;
    assert_exit(&out, 0);
    let err = stderr(&out);
    assert!(err.contains("article-bad") && err.contains("slug"), "{err}");
    let summary: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(summary["invalid_skipped"], 1);
    assert_eq!(summary["total"], 7);

    let out = env.run(&["--type", "article", "--strict"]).await;
    assert_exit(&out, 5);
    let err = stderr(&out);
    assert!(
        err.contains("invalid item 'article-bad'") && err.contains("field 'slug'"),
        "{err}"
    );
}

const ODD_IDS: &[&str] = &[
    "gid://shopify/Product/7",
    "a:b#c?d=e&f",
    "with space and+plus",
    "ünïcødé/日本語",
];

#[tokio::test(flavor = "multi_thread")]
async fn odd_ids_through_get_online_and_offline() {
    let mut items = catalog();
    items.extend(ODD_IDS.iter().map(|id| item(id, "page", "published")));
    let server = TestServer::start(items, 100, None).await;
    let env = Env::with_keys(&server);
    let snapshot = env.dir().join("snap.json");
    assert_exit(
        &env.run(&["snapshot", "pull", "--out", snapshot.to_str().unwrap()])
            .await,
        0,
    );
    for id in ODD_IDS {
        let online = env.run(&["get", id]).await;
        assert_exit(&online, 0);
        let item: Value = serde_json::from_str(&stdout(&online)).unwrap();
        assert_eq!(item["id"], *id);
        let offline = env
            .run(&["get", id, "--from", snapshot.to_str().unwrap()])
            .await;
        assert_exit(&offline, 0);
        assert_eq!(stdout(&offline), stdout(&online), "{id}");
    }
    let missing = env.run(&["get", "no/such:id"]).await;
    assert_exit(&missing, 1);
    assert!(stderr(&missing).contains("no/such:id"));
    server.assert_all_verified();
}

#[tokio::test(flavor = "multi_thread")]
async fn snapshot_pull_show_diff_and_offline_runs() {
    let server = TestServer::start(catalog(), 3, None).await;
    let env = Env::with_keys(&server);
    let a = env.dir().join("a.json");
    let b = env.dir().join("b.json");
    let c = env.dir().join("c.json");
    let out = env
        .run(&["snapshot", "pull", "--out", a.to_str().unwrap(), "--json"])
        .await;
    assert_exit(&out, 0);
    let online: Value = serde_json::from_str(&stdout(&out)).unwrap();

    // Offline from the snapshot: the same items, pulled again into an identical snapshot.
    let out = env
        .run(&[
            "--from",
            a.to_str().unwrap(),
            "snapshot",
            "pull",
            "--out",
            b.to_str().unwrap(),
            "--json",
        ])
        .await;
    assert_exit(&out, 0);
    let offline: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(offline["items"], online["items"]);
    assert_eq!(offline["source"]["kind"], "snapshot");
    let read = |p: &Path| -> Value { serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap() };
    assert_eq!(read(&a)["items"], read(&b)["items"]);
    assert_eq!(read(&a)["header"]["digest"], read(&b)["header"]["digest"]);
    assert_eq!(read(&a)["header"]["includes_drafts"], false);
    assert_eq!(
        read(&a)["header"]["schema_version"],
        unified_content::SCHEMA_VERSION
    );

    // Offline needs no endpoint and no credentials.
    let out = Env::new()
        .run(&["--from", a.to_str().unwrap(), "--json"])
        .await;
    assert_exit(&out, 0);
    let no_aws: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(no_aws["items"], online["items"]);

    let show = env.run(&["snapshot", "show", a.to_str().unwrap()]).await;
    assert_exit(&show, 0);
    insta::with_settings!({filters => vec![
        (r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", "[TIME]"),
        (r"http://127\.0\.0\.1:\d+", "[ENDPOINT]"),
    ]}, {
        insta::assert_snapshot!("snapshot_show", stdout(&show));
    });

    // Change the API's content, pull again, diff.
    {
        let mut items = server.state.items.lock().unwrap();
        items.retain(|i| i["id"] != "page-about");
        items.iter_mut().find(|i| i["id"] == "article-1").unwrap()["title"] = "Changed".into();
        items.push(item("article-new", "article", "published"));
    }
    assert_exit(
        &env.run(&["snapshot", "pull", "--out", c.to_str().unwrap()])
            .await,
        0,
    );
    let diff = env
        .run(&["snapshot", "diff", a.to_str().unwrap(), c.to_str().unwrap()])
        .await;
    assert_exit(&diff, 0);
    assert_eq!(
        stdout(&diff),
        "+ article article-new\n~ article article-1\n- page page-about\n1 added, 1 changed, 1 removed\n"
    );

    // A preview snapshot is refused for a production run.
    let preview = env.dir().join("preview.json");
    assert_exit(
        &env.run(&[
            "--include-drafts",
            "snapshot",
            "pull",
            "--out",
            preview.to_str().unwrap(),
        ])
        .await,
        0,
    );
    let out = env.run(&["--from", preview.to_str().unwrap()]).await;
    assert_exit(&out, 6);
    assert!(
        stderr(&out).contains("--include-drafts"),
        "{}",
        stderr(&out)
    );
    assert_exit(
        &env.run(&["--from", preview.to_str().unwrap(), "--include-drafts"])
            .await,
        0,
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn usage_errors_and_help() {
    let env = Env::new();
    let out = env
        .run(&["--endpoint", "http://127.0.0.1:9/prod", "--type", "posts"])
        .await;
    assert_exit(&out, 2);
    let err = stderr(&out);
    assert!(
        err.contains("content type 'posts' is not known") && err.contains("(check --type)"),
        "{err}"
    );
    let out = env.run(&["--no-such-flag"]).await;
    assert_exit(&out, 2);
    let help = env.run(&["--help"]).await;
    assert_exit(&help, 0);
    let text = stdout(&help);
    assert!(
        text.contains("Exit codes:") && text.contains("5  validation"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fallback_after_a_partial_fetch_replaces_what_the_writer_got() {
    let server = TestServer::start(catalog(), 3, None).await;
    let env = Env::with_keys(&server);
    let snapshot = env.dir().join("last-good.json");
    let out = env
        .run(&["snapshot", "pull", "--out", snapshot.to_str().unwrap()])
        .await;
    assert_exit(&out, 0);

    // Items the snapshot lacks, first in their types' first pages.
    {
        let mut items = server.state.items.lock().unwrap();
        items.push(item("aaa-new-product", "product", "published"));
        items.push(item("aaa-new-article", "article", "published"));
    }
    // One type at a time: the first page (3 items of either type) arrives, then the API
    // fails for good.
    server.fault(Fault::Delay(std::time::Duration::ZERO));
    for _ in 0..4 {
        server.fault(Fault::Status(503, None));
    }
    let site = env.dir().join("site-data");
    let out = env
        .run(&[
            "--engine",
            "eleventy",
            "--out",
            site.to_str().unwrap(),
            "--type",
            "product,article",
            "--concurrency",
            "1",
            "--attempts",
            "2",
            "--fallback-snapshot",
            snapshot.to_str().unwrap(),
        ])
        .await;
    assert_exit(&out, 0);
    assert!(stderr(&out).contains("FALLBACK"), "{}", stderr(&out));
    let products: Value =
        serde_json::from_slice(&std::fs::read(site.join("products.json")).unwrap()).unwrap();
    let articles: Value =
        serde_json::from_slice(&std::fs::read(site.join("articles.json")).unwrap()).unwrap();
    // What the API sent before failing was dropped: the output is the snapshot's alone.
    for file in ["products.json", "articles.json"] {
        let text = std::fs::read_to_string(site.join(file)).unwrap();
        assert!(
            !text.contains("aaa-new"),
            "{file} kept items of the failed run"
        );
    }
    assert_eq!(products.as_array().unwrap().len(), 4);
    assert_eq!(articles.as_array().unwrap().len(), 7);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_writer_error_keeps_its_own_exit_code() {
    let mut items = catalog();
    let mut twin = item("article-twin", "article", "published");
    twin["slug"] = "s-article-0".into();
    items.push(twin);
    let server = TestServer::start(items, 100, None).await;
    let env = Env::with_keys(&server);
    let site = env.dir().join("site-data");
    let out = env
        .run(&[
            "--engine",
            "eleventy",
            "--out",
            site.to_str().unwrap(),
            "--strict",
            "--type",
            "article",
        ])
        .await;
    assert_exit(&out, 5);
    assert!(
        stderr(&out).contains("both have the slug"),
        "{}",
        stderr(&out)
    );
    assert!(!site.exists(), "a failed run writes nothing");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_foreign_out_folder_is_refused_with_exit_6_and_force_moves_it_aside() {
    let server = TestServer::start(catalog(), 100, None).await;
    let env = Env::with_keys(&server);
    // A git checkout of a site, given as the output folder by mistake.
    let site = env.dir().join("site");
    for (rel, text) in [
        ("README.md", "# My site\n"),
        ("node_modules/@11ty/eleventy/package.json", "{}\n"),
        (".git/HEAD", "ref: refs/heads/main\n"),
    ] {
        let path = site.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    let site_arg = site.to_str().unwrap();
    let out = env.run(&["--engine", "eleventy", "--out", site_arg]).await;
    assert_exit(&out, 6);
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "output folder {site_arg} holds 3 files or folders"
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!("--out {site_arg}/_data/fetched")),
        "{err}"
    );
    assert!(err.contains("--force"), "{err}");
    assert_eq!(
        std::fs::read_to_string(site.join("README.md")).unwrap(),
        "# My site\n"
    );
    assert!(site.join(".git/HEAD").is_file() && site.join("node_modules").is_dir());

    let out = env
        .run(&["--engine", "eleventy", "--out", site_arg, "--force"])
        .await;
    assert_exit(&out, 0);
    let err = stderr(&out);
    let aside = err
        .lines()
        .find_map(|l| {
            l.strip_prefix(&format!(
                "moved the files in {site_arg} that content-fetch did not write to "
            ))
        })
        .unwrap_or_else(|| panic!("{err}"));
    assert!(
        aside.starts_with(&format!("{site_arg}.content-fetch-moved-")),
        "{aside}"
    );
    let aside = Path::new(aside);
    assert_eq!(
        std::fs::read_to_string(aside.join("README.md")).unwrap(),
        "# My site\n"
    );
    assert!(aside.join(".git/HEAD").is_file() && aside.join("node_modules").is_dir());
    assert!(site.join("products.json").is_file() && !site.join("README.md").exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn two_runs_into_one_out_are_both_correct_or_one_is_cleanly_refused() {
    let server = TestServer::start(catalog(), 3, None).await;
    let env = Env::with_keys(&server);
    let site = env.dir().join("site-data");
    let site_arg = site.to_str().unwrap();
    let reference = env.dir().join("reference");
    assert_exit(
        &env.run(&["--engine", "next", "--out", reference.to_str().unwrap()])
            .await,
        0,
    );
    for wait in [true, false] {
        for _ in 0..3 {
            let mut args = vec!["--engine", "next", "--out", site_arg];
            if wait {
                args.extend(["--wait-lock", "60s"]);
            }
            let (a, b) = tokio::join!(env.run(&args), env.run(&args));
            for out in [&a, &b] {
                match out.status.code() {
                    Some(0) => {}
                    Some(6) if !wait => {
                        let err = stderr(out);
                        assert!(err.contains("another content-fetch run (pid "), "{err}");
                        assert!(err.contains(&format!(") holds {site_arg}")), "{err}");
                        assert!(err.contains("--wait-lock"), "{err}");
                    }
                    _ => panic!("wait {wait}: {}", stderr(out)),
                }
            }
            assert!(a.status.success() || b.status.success(), "one of them ran");
            for file in ["products.json", "articles.json", "index.ts"] {
                assert_eq!(
                    std::fs::read(site.join(file)).unwrap(),
                    std::fs::read(reference.join(file)).unwrap(),
                    "{file}"
                );
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_deadline_bounds_a_slow_run_and_names_the_pages_fetched() {
    // 30 pages at 400 ms each would take 12 s; `--deadline 3s` must stop the run near 3 s.
    let items: Vec<Value> = (0..30)
        .map(|i| item(&format!("article-{i:02}"), "article", "published"))
        .collect();
    let server = TestServer::start(items, 1, None).await;
    server.slow_pages(std::time::Duration::from_millis(400));
    let env = Env::with_keys(&server);
    let started = std::time::Instant::now();
    let out = env.run(&["--type", "article", "--deadline", "3s"]).await;
    let took = started.elapsed();
    assert_exit(&out, 4);
    let err = stderr(&out);
    assert!(
        err.contains("deadline of 3 s") && err.contains("page(s) fetched"),
        "{err}"
    );
    // Bounded, not timed: well short of the 12 s an unbounded run takes.
    assert!(took < std::time::Duration::from_secs(9), "took {took:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn cursor_loops_and_lying_counts_exit_4() {
    let page = |ids: &[&str], count: usize, next: Option<&str>| {
        let items: Vec<Value> = ids
            .iter()
            .map(|id| item(id, "article", "published"))
            .collect();
        json!({ "items": items, "count": count, "next_cursor": next })
    };
    let server = TestServer::start(vec![], 100, None).await;
    server.script(move |cursor| match cursor {
        None => page(&["a-0"], 1, Some("A")),
        Some("A") => page(&["a-1"], 1, Some("B")),
        _ => page(&["a-2"], 1, Some("A")),
    });
    let env = Env::with_keys(&server);
    let out = env.run(&["--type", "article", "--attempts", "2"]).await;
    assert_exit(&out, 4);
    assert!(stderr(&out).contains("cursors loop"), "{}", stderr(&out));

    let server = TestServer::start(vec![], 100, None).await;
    server.script(move |_| page(&["a-0", "a-1"], 100, None));
    let env = Env::with_keys(&server);
    let out = env.run(&["--type", "article", "--attempts", "2"]).await;
    assert_exit(&out, 4);
    assert!(
        stderr(&out).contains("says count 100 but holds 2 items"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn snapshot_pull_keeps_each_id_once_the_newest_version() {
    // 2006 rows for 2003 ids: the second page starts with three items the first page also
    // held, two in a newer version (by updated_at, and by synced_at alone) and one older.
    let unique: Vec<Value> = (0..2003)
        .map(|i| item(&format!("a-{i:04}"), "article", "published"))
        .collect();
    let version = |id: &str, title: &str, updated: &str, synced: &str| {
        let mut v = item(id, "article", "published");
        v["title"] = title.into();
        v["updated_at"] = updated.into();
        v["synced_at"] = synced.into();
        v["created_at"] = "2025-01-01T00:00:00Z".into();
        v
    };
    let mut rows = unique[..100].to_vec();
    rows.push(version(
        "a-0097",
        "newer by updated_at",
        "2026-02-01T00:00:00Z",
        "2026-02-01T00:00:00Z",
    ));
    rows.push(version(
        "a-0098",
        "newer by synced_at",
        "2026-01-02T00:00:00Z",
        "2026-01-04T00:00:00Z",
    ));
    rows.push(version(
        "a-0099",
        "older, sent later",
        "2025-12-01T00:00:00Z",
        "2026-01-05T00:00:00Z",
    ));
    rows.extend_from_slice(&unique[100..]);
    assert_eq!(rows.len(), 2006);
    let server = TestServer::start(vec![], 100, None).await;
    server.script(move |cursor| {
        let from: usize = cursor.map_or(0, |c| c.parse().unwrap());
        let page: Vec<Value> = rows.iter().skip(from).take(100).cloned().collect();
        let next = (from + 100 < rows.len()).then(|| (from + 100).to_string());
        json!({ "items": page, "count": page.len(), "next_cursor": next })
    });
    let env = Env::with_keys(&server);
    let snap = env.dir().join("snap.json");
    let snap_arg = snap.to_str().unwrap();
    let out = env
        .run(&[
            "--type", "article", "--json", "snapshot", "pull", "--out", snap_arg,
        ])
        .await;
    assert_exit(&out, 0);
    let err = stderr(&out);
    assert!(err.contains("(2003 items, sha256:"), "{err}");
    assert!(err.contains("3 item(s) came more than once"), "{err}");
    let summary: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(summary["total"], 2003);
    assert_eq!(summary["items"]["article"], 2003);
    let file: Value = serde_json::from_str(&std::fs::read_to_string(&snap).unwrap()).unwrap();
    assert_eq!(file["header"]["count"], 2003);
    assert_eq!(file["items"].as_array().unwrap().len(), 2003);

    for (id, title) in [
        ("a-0097", "newer by updated_at"),
        ("a-0098", "newer by synced_at"),
        ("a-0099", "Title of a-0099"),
    ] {
        let out = env.run(&["get", id, "--from", snap_arg]).await;
        assert_exit(&out, 0);
        let got: Value = serde_json::from_str(&stdout(&out)).unwrap();
        assert_eq!(got["title"], title, "{id}");
    }
    let out = env
        .run(&["--from", snap_arg, "--type", "article", "--json"])
        .await;
    assert_exit(&out, 0);
    let offline: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(offline["total"], 2003);

    // The engine writers pick the same versions from the same pages: one rule (Version).
    let out = env
        .run(&["--type", "article", "--engine", "eleventy"])
        .await;
    assert_exit(&out, 0);
    let written: Value = serde_json::from_str(
        &std::fs::read_to_string(env.dir().join("_data/fetched/articles.json")).unwrap(),
    )
    .unwrap();
    let written = written.as_array().unwrap();
    assert_eq!(written.len(), 2003);
    for (id, title) in [
        ("a-0097", "newer by updated_at"),
        ("a-0098", "newer by synced_at"),
        ("a-0099", "Title of a-0099"),
    ] {
        let item = written.iter().find(|i| i["id"] == id).unwrap();
        assert_eq!(item["title"], title, "{id}");
    }
}

/// The temporary files of a pull of `name` in `dir`.
fn pull_temps(dir: &Path, name: &str) -> Vec<String> {
    let prefix = format!(".{name}.content-fetch-");
    let mut temps: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|f| f.starts_with(&prefix))
        .collect();
    temps.sort();
    temps
}

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_pull_leaves_a_temp_file_that_the_next_pull_removes() {
    let items: Vec<Value> = (0..40)
        .map(|i| item(&format!("article-{i:02}"), "article", "published"))
        .collect();
    let server = TestServer::start(items, 1, None).await;
    server.slow_pages(std::time::Duration::from_millis(250));
    let env = Env::with_keys(&server);
    let dir = env.dir().to_path_buf();
    // Files of the user's with names like the tool's: never touched.
    let theirs = [".snap.json.content-fetch-notes.tmp", ".snap.json.4242.tmp"];
    for name in theirs {
        std::fs::write(dir.join(name), "mine").unwrap();
    }

    let mut child = env
        .command(
            dir.clone(),
            &[
                "--type",
                "article",
                "snapshot",
                "pull",
                "--out",
                "snap.json",
            ],
        )
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let waited = std::time::Instant::now();
    while !pull_temps(&dir, "snap.json")
        .iter()
        .any(|t| !theirs.contains(&t.as_str()))
    {
        assert!(
            waited.elapsed() < std::time::Duration::from_secs(20),
            "no temp file appeared"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    std::thread::sleep(std::time::Duration::from_millis(600));
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let left: Vec<String> = pull_temps(&dir, "snap.json")
        .into_iter()
        .filter(|t| !theirs.contains(&t.as_str()))
        .collect();
    assert_eq!(
        left.len(),
        1,
        "the killed pull left its temp file: {left:?}"
    );
    assert!(!dir.join("snap.json").exists());
    // As if the killed run were a while ago (a fresh unlocked temp may be a live run's).
    let file = std::fs::File::options()
        .write(true)
        .open(dir.join(&left[0]))
        .unwrap();
    file.set_modified(std::time::SystemTime::now() - std::time::Duration::from_secs(60))
        .unwrap();
    drop(file);

    server.slow_pages(std::time::Duration::ZERO);
    let out = env
        .run(&[
            "--type",
            "article",
            "snapshot",
            "pull",
            "--out",
            "snap.json",
        ])
        .await;
    assert_exit(&out, 0);
    assert!(dir.join("snap.json").exists());
    assert_eq!(
        pull_temps(&dir, "snap.json"),
        vec![theirs[0].to_string()],
        "the stale temp file is gone, the user's look-alike is left"
    );
    for name in theirs {
        assert_eq!(std::fs::read_to_string(dir.join(name)).unwrap(), "mine");
    }
}

/// A triggered build's context chooses the mode when no flag does: incremental unless the
/// summary requires a full rebuild or there is no previous state; an unreadable summary is a
/// warning and a full run, never a failed build; `--full` and `--incremental` win.
#[tokio::test(flavor = "multi_thread")]
async fn the_build_context_chooses_incremental_or_full_and_says_why() {
    let server = &TestServer::start(catalog(), 100, None).await;
    let site = tempfile::tempdir().unwrap();
    let out_dir = site.path().join("data");
    let summary = |full: bool| {
        format!(r#"{{"total_events":14,"total_changes":12,"requires_full_rebuild":{full}}}"#)
    };
    let run = |summary: String, flags: &'static [&'static str]| {
        let env = Env::with_keys(server)
            .set("BUILD_TYPE", "batch")
            .set("CONTENT_CHANGES_SUMMARY", &summary);
        let out = out_dir.clone();
        async move {
            let mut args = vec!["--engine", "eleventy", "--out", out.to_str().unwrap()];
            args.extend_from_slice(flags);
            let before = server.received().len();
            let output = env.run(&args).await;
            assert_exit(&output, 0);
            let incremental_queries = server.received()[before..]
                .iter()
                .filter(|r| r.path_and_query.contains("synced_since"))
                .count();
            (stderr(&output), incremental_queries)
        }
    };

    let (err, queries) = run(summary(false), &[]).await;
    assert!(
        err.contains("items written (full: no previous state)"),
        "{err}"
    );
    assert_eq!(queries, 0, "{err}");

    let (err, queries) = run(summary(false), &[]).await;
    assert!(
        err.contains("items written (incremental: build context batch, 12 changes)"),
        "{err}"
    );
    assert!(queries > 0, "an incremental run asks for changes only");

    let (err, queries) = run(summary(true), &[]).await;
    assert!(
        err.contains("items written (full: the build context requires a full rebuild)"),
        "{err}"
    );
    assert_eq!(queries, 0, "{err}");

    let (err, queries) = run(r#"{"requires_full_rebuild": fals"#.into(), &[]).await;
    assert!(
        err.contains("warning: CONTENT_CHANGES_SUMMARY is not JSON"),
        "{err}"
    );
    assert!(
        err.contains("items written (full: the build context's changes summary is unreadable)"),
        "{err}"
    );
    assert_eq!(queries, 0, "{err}");

    // The flags win over the context, either way.
    let (err, queries) = run(summary(false), &["--full"]).await;
    assert!(err.contains("items written (full):"), "{err}");
    assert_eq!(queries, 0, "{err}");
    let (err, queries) = run(summary(true), &["--incremental"]).await;
    assert!(err.contains("items written (incremental):"), "{err}");
    assert!(queries > 0, "{err}");
    server.assert_all_verified();
}
