//! What `content-fetch` prints for people, snapshot-tested with insta_cmd: `--help`, an error a
//! newcomer meets (a site's own folder given as `--out`), and a piped run's stderr, which must
//! carry no escape codes and one format of warnings.

use std::path::Path;
use std::process::Command;

use content_fetch::{Filters, Snapshot};
use insta_cmd::{assert_cmd_snapshot, get_cargo_bin};
use unified_content::UnifiedContent;

fn fixture() -> Vec<UnifiedContent> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/content/items.json");
    let mut items: Vec<UnifiedContent> =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    items.iter_mut().for_each(UnifiedContent::normalize);
    items
}

/// The CLI with nothing from this machine's environment that changes its output.
fn cli(dir: &Path) -> Command {
    let mut command = Command::new(get_cargo_bin("content-fetch"));
    command
        .current_dir(dir)
        .env_remove("RUST_LOG")
        .env_remove("NO_COLOR")
        .env_remove("INTEGRATION_API_URL")
        .env("CI", "true");
    command
}

fn write_snapshot(path: &Path, items: Vec<UnifiedContent>) {
    let fetched_at = "2026-02-02T00:00:00Z".parse().unwrap();
    Snapshot::new(
        "http://127.0.0.1/fixture",
        &Filters::default(),
        fetched_at,
        items,
    )
    .write(path)
    .unwrap();
}

#[test]
fn help() {
    let dir = tempfile::tempdir().unwrap();
    assert_cmd_snapshot!(cli(dir.path()).arg("--help"));
}

#[test]
fn a_sites_own_folder_as_out_is_refused_and_names_the_way_out() {
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("site");
    std::fs::create_dir_all(site.join("src")).unwrap();
    std::fs::write(site.join("package.json"), "{}\n").unwrap();
    let snapshot = dir.path().join("content.json");
    write_snapshot(&snapshot, fixture());
    let tmp = regex_escape(dir.path());
    insta::with_settings!({filters => vec![(tmp.as_str(), "[TMP]")]}, {
        assert_cmd_snapshot!(cli(dir.path())
            .args(["--from", "content.json", "--engine", "eleventy", "--out", "site"]));
    });
    assert_eq!(
        std::fs::read_to_string(site.join("package.json")).unwrap(),
        "{}\n"
    );
}

/// A piped run (stderr is no terminal): the warnings of the fetch (an invalid item skipped) and
/// of the writer (a duplicate slug suffixed) in one format, then the summaries, with no escape
/// codes even when colour was not turned off.
#[test]
fn a_piped_runs_stderr_has_one_warning_format_and_no_escape_codes() {
    let dir = tempfile::tempdir().unwrap();
    let mut items = fixture();
    let mut twin = items[0].clone();
    twin.id = "gid://shopify/Product/99".into();
    items.push(twin);
    let mut invalid = items[1].clone();
    invalid.id = "snipcart:broken".into();
    invalid.slug = "broken".into();
    invalid.price.as_mut().unwrap().currency_code = "euro".into();
    items.push(invalid);
    write_snapshot(&dir.path().join("content.json"), items);
    let run = |out: &str| {
        let mut command = cli(dir.path());
        command.args(["--from", "content.json", "--engine", "next", "--out", out]);
        command
    };
    let output = run("first").output().unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        !stderr.contains('\x1b'),
        "escape codes when piped:\n{stderr}"
    );
    assert!(
        !stderr.contains("WARN"),
        "a second warning format:\n{stderr}"
    );
    let tmp = regex_escape(dir.path());
    insta::with_settings!({filters => vec![
        (tmp.as_str(), "[TMP]"),
        (r"\d+\.\d\d s", "[SECONDS] s"),
        (r"\d+ bytes", "[N] bytes"),
    ]}, {
        assert_cmd_snapshot!(run("out"));
    });
}

fn regex_escape(path: &Path) -> String {
    let text = path.to_str().unwrap();
    let mut escaped = String::new();
    for c in text.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

/// `engine` and `out` in `content-fetch.toml`: a site with Eleventy's `dir.input = "src"` says
/// `out = "src/_data/fetched"` once, relative to the file, wherever in the site the run starts.
#[test]
fn engine_and_out_come_from_content_fetch_toml() {
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("site");
    std::fs::create_dir_all(site.join("src/posts")).unwrap();
    std::fs::write(site.join("package.json"), "{}\n").unwrap();
    std::fs::write(
        site.join("content-fetch.toml"),
        "engine = \"eleventy\"\nout = \"src/_data/fetched\"\n",
    )
    .unwrap();
    write_snapshot(&dir.path().join("content.json"), fixture());
    let snapshot = dir.path().join("content.json");
    let output = cli(&site.join("src/posts"))
        .arg("--from")
        .arg(&snapshot)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    assert!(site.join("src/_data/fetched/products.json").is_file());
    assert!(
        site.join("src/_data/fetched/productCollections.json")
            .is_file()
    );

    // The flags win over the file.
    let output = cli(&site)
        .arg("--from")
        .arg(&snapshot)
        .args(["--engine", "next", "--out", "content/fetched"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    assert!(site.join("content/fetched/index.ts").is_file());

    // Engine flags without an engine anywhere are a usage error that says where to name one.
    let output = cli(dir.path())
        .args(["--from", "content.json", "--out", "x"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        String::from_utf8(output.stderr).unwrap(),
        "error: --out needs --engine eleventy|astro|next, or engine = \"...\" in content-fetch.toml\n"
    );
}

/// `snapshot show --from FILE` reads like every other command's `--from` (before, the global
/// flag took the file and the usage line asked for `--from <FILE> <FILE>`).
#[test]
fn snapshot_show_takes_the_file_as_argument_or_from() {
    let dir = tempfile::tempdir().unwrap();
    write_snapshot(&dir.path().join("content.json"), fixture());
    let by_argument = cli(dir.path())
        .args(["snapshot", "show", "content.json"])
        .output()
        .unwrap();
    let by_from = cli(dir.path())
        .args(["snapshot", "show", "--from", "content.json"])
        .output()
        .unwrap();
    assert!(by_from.status.success(), "{by_from:?}");
    assert_eq!(by_from.stdout, by_argument.stdout);
    assert!(String::from_utf8_lossy(&by_from.stdout).contains("schema version"));
    let neither = cli(dir.path()).args(["snapshot", "show"]).output().unwrap();
    assert_eq!(neither.status.code(), Some(2));
}

/// A network error names its URL once (reqwest's own text held it a second time).
#[test]
fn a_network_error_names_the_url_once() {
    let dir = tempfile::tempdir().unwrap();
    // A port nothing listens on: bound, then released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let endpoint = format!("http://127.0.0.1:{port}/prod");
    let output = cli(dir.path())
        .env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
        .env("AWS_SECRET_ACCESS_KEY", "example")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("CONTENT_FETCH_RETRY_BASE_MS", "1")
        .args(["--endpoint", &endpoint, "--region", "eu-west-1"])
        .args(["--type", "product", "--attempts", "2"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(4));
    let stderr = String::from_utf8(output.stderr).unwrap();
    let error = stderr.lines().find(|l| l.starts_with("error: ")).unwrap();
    assert_eq!(error.matches(&endpoint).count(), 1, "{error}");
}

/// An error's causes are printed once, on one line, even where a message embeds its source's
/// text and also names it as its source.
#[test]
fn an_errors_cause_is_printed_once() {
    let dir = tempfile::tempdir().unwrap();
    let output = cli(dir.path())
        .args(["--from", "missing.json"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(6));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert_eq!(
        stderr.matches("No such file or directory").count(),
        1,
        "{stderr}"
    );
    assert!(
        stderr.starts_with("error: ") && stderr.contains("missing.json"),
        "{stderr}"
    );
}
