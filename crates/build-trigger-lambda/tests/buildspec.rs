//! buildspec.yml, read and run as CodeBuild would: its keys checked against what CodeBuild
//! accepts, then its phases run in order with `env.variables`, a CodeBuild-like environment,
//! credentials from a loopback container-credentials endpoint, the local integration API
//! (SigV4 required) and a real Eleventy build, deploying to moto's S3.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_yaml_ng::Value;

const BUILDSPEC: &str = include_str!("../../../buildspec.yml");
const ACCESS_KEY: &str = "AKIDBUILDSPECTEST000";
const SECRET_KEY: &str = "buildspec-test-secret";
const TOKEN: &str = "buildspec-test-session-token";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn keys(value: &Value) -> Vec<String> {
    value
        .as_mapping()
        .unwrap_or_else(|| panic!("a mapping: {value:?}"))
        .keys()
        .map(|k| k.as_str().unwrap().to_owned())
        .collect()
}

fn assert_keys(value: &Value, allowed: &[&str], what: &str) {
    for key in keys(value) {
        assert!(
            allowed.contains(&key.as_str()),
            "{what}: CodeBuild does not accept `{key}`"
        );
    }
}

const PHASES: [&str; 4] = ["install", "pre_build", "build", "post_build"];

#[test]
fn buildspec_uses_only_keys_codebuild_accepts() {
    let spec: Value = serde_yaml_ng::from_str(BUILDSPEC).unwrap();
    assert_keys(
        &spec,
        &[
            "version",
            "run-as",
            "env",
            "proxy",
            "batch",
            "phases",
            "reports",
            "artifacts",
            "cache",
        ],
        "top level",
    );
    assert_eq!(spec["version"].as_f64(), Some(0.2), "version 0.2");
    assert_keys(
        &spec["env"],
        &[
            "shell",
            "variables",
            "parameter-store",
            "exported-variables",
            "secrets-manager",
            "git-credential-helper",
        ],
        "env",
    );
    assert_eq!(spec["env"]["shell"].as_str(), Some("bash"));
    for (name, value) in spec["env"]["variables"].as_mapping().unwrap() {
        assert!(
            value.is_string(),
            "env.variables.{name:?} must be a string for CodeBuild"
        );
    }
    assert_keys(&spec["phases"], &PHASES, "phases");
    assert_eq!(keys(&spec["phases"]), PHASES, "every phase, in order");
    for phase in PHASES {
        let body = &spec["phases"][phase];
        assert_keys(
            body,
            &[
                "run-as",
                "on-failure",
                "runtime-versions",
                "commands",
                "finally",
            ],
            phase,
        );
        let commands = body["commands"].as_sequence().unwrap();
        assert!(
            !commands.is_empty() && commands.iter().all(Value::is_string),
            "{phase}.commands"
        );
    }
    assert_keys(
        &spec["cache"],
        &["key", "fallback-keys", "action", "paths"],
        "cache",
    );
    let paths: Vec<&str> = spec["cache"]["paths"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    assert!(paths.contains(&".content-fetch/**/*"), "{paths:?}");
}

/// Serves the same temporary credentials to every request, as the ECS/CodeBuild container
/// endpoint does; counts the requests.
fn credentials_endpoint() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/credentials", listener.local_addr().unwrap());
    let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = hits.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                line.clear();
            }
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let expiration = (chrono::Utc::now() + chrono::TimeDelta::hours(1))
                .format("%Y-%m-%dT%H:%M:%SZ")
                .to_string();
            let body = serde_json::json!({
                "AccessKeyId": ACCESS_KEY, "SecretAccessKey": SECRET_KEY, "Token": TOKEN,
                "Expiration": expiration,
            })
            .to_string();
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (url, hits)
}

/// Runs one command of a phase as CodeBuild does: in the phase's shell, with the environment
/// and working folder the previous command left.
fn run_command(command: &str, state: &Path, log: &mut String) -> bool {
    let script = format!(
        "set -a; source {env}; set +a; cd \"$(cat {cwd})\"\n{command}\nstatus=$?\nexport -p > {env}.next && mv {env}.next {env}; pwd > {cwd}; exit $status",
        env = state.join("env").display(),
        cwd = state.join("cwd").display(),
    );
    let out = Command::new("bash")
        .arg("-c")
        .arg(script)
        .env_clear()
        .stdin(Stdio::null())
        .output()
        .unwrap();
    log.push_str(&String::from_utf8_lossy(&out.stdout));
    log.push_str(&String::from_utf8_lossy(&out.stderr));
    out.status.success()
}

fn aws(args: &[&str], env: &BTreeMap<String, String>) -> String {
    let out = Command::new(root().join(".venv/bin/aws"))
        .args(args)
        .envs(env)
        .output()
        .unwrap_or_else(|e| panic!("the aws CLI must be in .venv (pip install awscli): {e}"));
    assert!(
        out.status.success(),
        "aws {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn copy_site(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if ["node_modules", "_site", "_data"].contains(&name.to_str().unwrap()) {
            continue;
        }
        let path = entry.path();
        if path.is_dir() {
            copy_site(&path, &to.join(&name));
        } else {
            std::fs::copy(&path, to.join(&name)).unwrap();
        }
    }
}

#[test]
fn buildspec_phases_run_as_codebuild_runs_them() {
    let root = root();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let built = Command::new(&cargo)
        .args([
            "build",
            "--quiet",
            "--bin",
            "content-fetch",
            "--bin",
            "integration-api",
        ])
        .current_dir(&root)
        .status()
        .unwrap();
    assert!(built.success());
    // Cargo puts the binaries one folder above this test's own (target/debug/deps/…), wherever
    // the target folder is (CARGO_TARGET_DIR moves it).
    let exe = std::env::current_exe().unwrap();
    let bin = exe.parent().and_then(Path::parent).unwrap().to_path_buf();
    let tmp = tempfile::tempdir().unwrap();
    let config = root.join("examples/demo/integration-api.toml");

    // The content cache: the signed demo deliveries, ingested.
    let db = tmp.path().join("content.sqlite3");
    let mut webhooks: Vec<PathBuf> = std::fs::read_dir(root.join("examples/demo/webhooks"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    webhooks.sort();
    for file in &webhooks {
        let name = file.file_stem().unwrap().to_str().unwrap();
        let provider = name.split('-').nth(1).unwrap();
        let status = Command::new(bin.join("integration-api"))
            .arg("--config")
            .arg(&config)
            .arg("--db")
            .arg(&db)
            .args(["ingest", "--provider", provider])
            .arg(file)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "ingest {name}");
    }
    // The local integration API, SigV4 required, accepting the container's credentials.
    let mut server = Command::new(bin.join("integration-api"))
        .arg("--config")
        .arg(&config)
        .arg("--db")
        .arg(&db)
        .args(["serve", "--bind", "127.0.0.1:0", "--require-sigv4"])
        .env(
            "INTEGRATION_API_ACCESS_KEYS",
            format!("{ACCESS_KEY}:{SECRET_KEY}:{TOKEN}"),
        )
        .env("RUST_LOG", "warn")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(server.stderr.take().unwrap());
    let mut api = String::new();
    let mut line = String::new();
    while stderr.read_line(&mut line).unwrap() > 0 {
        if let Some(url) = line.trim().strip_prefix("integration-api listening on ") {
            api = url.to_owned();
            break;
        }
        line.clear();
    }
    assert!(!api.is_empty(), "integration-api serve printed no address");
    std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));

    let (credentials_url, credential_hits) = credentials_endpoint();
    let moto = moto_server::MotoServer::shared();
    let home = tmp.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let no_files = tmp.path().join("no-aws-files");
    std::fs::write(&no_files, "").unwrap();
    let src = tmp.path().join("src");
    copy_site(&root.join("tests/sites/eleventy"), &src);

    // The environment: CodeBuild's own, the project's settings, the trigger's overrides.
    let real_home = std::env::var("HOME").unwrap();
    let mut env: BTreeMap<String, String> = BTreeMap::from(
        [
            (
                "PATH",
                format!(
                    "{}:/usr/local/bin:/usr/bin:/bin",
                    std::env::var("PATH").unwrap()
                ),
            ),
            ("HOME", home.display().to_string()),
            ("npm_config_cache", format!("{real_home}/.npm")),
            ("CODEBUILD_SRC_DIR", src.display().to_string()),
            ("CODEBUILD_BUILD_ID", "site:0b1d".into()),
            ("CODEBUILD_BUILD_NUMBER", "7".into()),
            ("CODEBUILD_CI", "true".into()),
            ("CI", "true".into()),
            ("AWS_REGION", "eu-west-1".into()),
            ("AWS_DEFAULT_REGION", "eu-west-1".into()),
            ("AWS_CONTAINER_CREDENTIALS_FULL_URI", credentials_url),
            ("AWS_CONFIG_FILE", no_files.display().to_string()),
            (
                "AWS_SHARED_CREDENTIALS_FILE",
                no_files.display().to_string(),
            ),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
            // The aws CLI in install and post_build reaches moto's S3.
            ("AWS_ENDPOINT_URL_S3", moto.endpoint_url().to_owned()),
            ("SSG_ENGINE", "eleventy".into()),
            ("SITE_OUTPUT_DIR", "_site".into()),
            (
                "CONTENT_FETCH_ARTIFACT",
                "s3://build-tools/content-fetch".into(),
            ),
            ("SITE_BUCKET", "client-site".into()),
            ("BUILD_TYPE", "batch".into()),
            ("BATCH_ID", "batch-1".into()),
            ("BATCH_EVENT_COUNT", "4".into()),
            (
                "CONTENT_CHANGES_SUMMARY",
                r#"{"total_events":4,"requires_full_rebuild":false}"#.into(),
            ),
            ("INTEGRATION_API_URL", api.clone()),
            ("BUILD_REASON", "batch of 4 event(s)".into()),
        ]
        .map(|(k, v)| (k.to_owned(), v)),
    );
    let spec: Value = serde_yaml_ng::from_str(BUILDSPEC).unwrap();
    // env.variables are defaults: the project's and the trigger's values win.
    for (name, value) in spec["env"]["variables"].as_mapping().unwrap() {
        env.entry(name.as_str().unwrap().to_owned())
            .or_insert_with(|| value.as_str().unwrap().to_owned());
    }
    // The release artifact and the bucket, in moto's S3.
    let mut cli_env = env.clone();
    cli_env.insert("AWS_ACCESS_KEY_ID".into(), "testing".into());
    cli_env.insert("AWS_SECRET_ACCESS_KEY".into(), "testing".into());
    cli_env.remove("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    aws(&["s3", "mb", "s3://build-tools"], &cli_env);
    aws(&["s3", "mb", "s3://client-site"], &cli_env);
    aws(
        &[
            "s3",
            "cp",
            "--only-show-errors",
            bin.join("content-fetch").to_str().unwrap(),
            "s3://build-tools/content-fetch",
        ],
        &cli_env,
    );

    let state = tmp.path().join("codebuild");
    std::fs::create_dir_all(&state).unwrap();
    let exports: String = env
        .iter()
        .map(|(k, v)| format!("export {k}='{}'\n", v.replace('\'', r"'\''")))
        .collect();
    std::fs::write(state.join("env"), exports).unwrap();
    std::fs::write(state.join("cwd"), src.display().to_string()).unwrap();

    let mut log = String::new();
    let mut succeeded = true;
    for phase in PHASES {
        if phase == "post_build" {
            let flag = if succeeded { "1" } else { "0" };
            let mut envfile = std::fs::OpenOptions::new()
                .append(true)
                .open(state.join("env"))
                .unwrap();
            writeln!(envfile, "export CODEBUILD_BUILD_SUCCEEDING={flag}").unwrap();
        }
        log.push_str(&format!(
            "[Container] Entering phase {}\n",
            phase.to_uppercase()
        ));
        for command in spec["phases"][phase]["commands"].as_sequence().unwrap() {
            if !run_command(command.as_str().unwrap(), &state, &mut log) {
                succeeded = false;
                break;
            }
        }
        // Like CodeBuild: a failed install or pre_build ends the build; post_build follows a
        // failed build.
        if !succeeded && phase != "build" {
            break;
        }
    }
    let _ = server.kill();
    let _ = server.wait();
    assert!(succeeded, "the build failed:\n{log}");

    assert!(
        log.contains("content-fetch: build batch batch-1, 4 event(s)"),
        "{log}"
    );
    // content-fetch read the build context: incremental, but the first build has no
    // previous state.
    assert!(
        log.contains("items written (full: no previous state)"),
        "{log}"
    );
    assert!(
        credential_hits.load(std::sync::atomic::Ordering::SeqCst) > 0,
        "container credentials were used"
    );
    let products = std::fs::read_to_string(src.join("_data/fetched/products.json")).unwrap();
    assert!(products.contains("\"slug\""), "{products}");
    let index = std::fs::read_to_string(src.join("_site/index.html")).unwrap();
    assert!(index.contains("<"), "{index}");
    assert!(
        src.join(".content-fetch/last-good.snapshot").is_file(),
        "the last good snapshot is kept for the cache"
    );
    assert!(log.contains("deployed _site to s3://client-site"), "{log}");
    assert!(
        log.contains("DISTRIBUTION_ID is not set; no invalidation"),
        "{log}"
    );
    let listed = aws(&["s3", "ls", "--recursive", "s3://client-site"], &cli_env);
    assert!(listed.contains("index.html"), "{listed}");
    let mut local = String::new();
    std::fs::File::open(src.join("_site/index.html"))
        .unwrap()
        .read_to_string(&mut local)
        .unwrap();
    let remote = aws(&["s3", "cp", "s3://client-site/index.html", "-"], &cli_env);
    assert_eq!(remote, local, "the deployed page is the built one");
}
