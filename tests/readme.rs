//! The README works as written on a fresh clone: its quick starts' shell lines that need no AWS
//! run, and its tables follow the contracts they summarize.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn readme() -> String {
    std::fs::read_to_string(root().join("README.md")).unwrap()
}

/// The fenced blocks of `text` as (info string, body).
fn fenced(text: &str) -> Vec<(String, String)> {
    let mut blocks = Vec::new();
    let mut open: Option<(String, String)> = None;
    for line in text.lines() {
        match (&mut open, line.strip_prefix("```")) {
            (None, Some(info)) => open = Some((info.trim().to_string(), String::new())),
            (Some(_), Some(_)) => blocks.push(open.take().unwrap()),
            (Some((_, body)), None) => {
                body.push_str(line);
                body.push('\n');
            }
            (None, None) => {}
        }
    }
    blocks
}

/// The part of the README from the `## heading` line to the next `## ` heading.
fn section<'a>(text: &'a str, heading: &str) -> &'a str {
    let start = text
        .find(&format!("\n## {heading}\n"))
        .unwrap_or_else(|| panic!("the README has no '## {heading}' section"));
    let rest = &text[start + 1..];
    let end = rest[3..].find("\n## ").map_or(rest.len(), |i| i + 3);
    &rest[..end]
}

/// A block that talks to AWS: a named profile or a real API Gateway endpoint.
fn needs_aws(block: &str) -> bool {
    block.contains("--profile") || block.contains("amazonaws.com")
}

#[test]
fn the_readme_starts_with_the_two_set_up_commands() {
    let text = readme();
    let (info, body) = fenced(&text).into_iter().next().unwrap();
    assert_eq!(info, "sh");
    let commands: Vec<&str> = body
        .lines()
        .map(|l| l.split('#').next().unwrap().trim())
        .collect();
    assert_eq!(commands, ["scripts/demo astro", "scripts/test"]);
    // Nothing before the block but the title: they are the first thing a newcomer reads.
    let before = &text[..text.find("```").unwrap()];
    assert_eq!(before.trim().lines().count(), 1, "{before}");
    assert!(
        !text.contains("../shared"),
        "the README points outside the repository"
    );
}

/// Runs every quick-start `sh` block that needs no AWS, as written, from the repository root,
/// with no AWS files or settings: what a newcomer's fresh clone does.
#[test]
fn the_quick_starts_run_as_written() {
    let text = readme();
    let blocks: Vec<String> = fenced(section(&text, "Quick starts"))
        .into_iter()
        .filter(|(info, _)| info == "sh")
        .map(|(_, body)| body)
        .collect();
    let runnable: Vec<&String> = blocks.iter().filter(|b| !needs_aws(b)).collect();
    assert!(
        blocks.len() > runnable.len() && runnable.len() >= 2,
        "the quick starts changed shape: {blocks:#?}"
    );
    let aws = tempfile::tempdir().unwrap();
    let none = aws.path().join("none");
    for block in runnable {
        // A background server started by a block stops with it, whatever happens.
        let script =
            format!("set -euo pipefail\ntrap 'kill $(jobs -p) 2>/dev/null || true' EXIT\n{block}");
        let mut command = Command::new("bash");
        command
            .arg("-c")
            .arg(&script)
            .current_dir(root())
            .env("AWS_CONFIG_FILE", &none)
            .env("AWS_SHARED_CREDENTIALS_FILE", &none)
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("CI", "true");
        // No AWS or provider settings of this machine: only what the README gives.
        for (name, _) in std::env::vars() {
            if ["AWS_", "INTEGRATION_API_", "SHOPIFY_"]
                .iter()
                .any(|p| name.starts_with(p))
                && !name.starts_with("AWS_CONFIG_FILE")
                && !name.starts_with("AWS_SHARED_CREDENTIALS_FILE")
                && name != "AWS_EC2_METADATA_DISABLED"
            {
                command.env_remove(&name);
            }
        }
        let output = command.output().unwrap();
        assert!(
            output.status.success(),
            "this README block failed ({}):\n{block}\n--- stdout\n{}\n--- stderr\n{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    // What the blocks promise is there.
    assert!(Path::new("/tmp/next-content/index.ts").is_file());
    assert!(Path::new("/tmp/astro-content/collections.ts").is_file());
    assert!(
        std::fs::read_dir("/tmp/astro-content/products")
            .unwrap()
            .count()
            > 0,
        "the local stack served no product"
    );
}

/// Every route of `openapi.json` has a row in the README's table naming its query parameters
/// and its answers (200 aside, and 403, which the SigV4 line covers).
#[test]
fn the_content_api_table_follows_openapi_json() {
    let text = readme();
    let table = section(&text, "Integration API");
    let api: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("crates/integration-api/openapi.json")).unwrap(),
    )
    .unwrap();
    for (path, operations) in api["paths"].as_object().unwrap() {
        for (method, operation) in operations.as_object().unwrap() {
            let route = format!("`{} {path}`", method.to_uppercase());
            let row = table
                .lines()
                .find(|l| l.starts_with('|') && l.contains(&route))
                .unwrap_or_else(|| panic!("the README's API table has no row for {route}"));
            for parameter in operation["parameters"].as_array().into_iter().flatten() {
                if parameter["in"] == "query" {
                    let name = parameter["name"].as_str().unwrap();
                    assert!(
                        row.contains(&format!("`{name}`")),
                        "{route}: no `{name}` in {row}"
                    );
                }
            }
            for code in operation["responses"].as_object().unwrap().keys() {
                if code != "200" && code != "403" {
                    assert!(
                        row.split(|c: char| !c.is_ascii_digit()).any(|w| w == code),
                        "{route}: no {code} in {row}"
                    );
                }
            }
            let description = operation["responses"]["200"]["description"]
                .as_str()
                .unwrap_or_default();
            if description.contains("5 MiB") {
                assert!(row.contains("5 MiB"), "{route}: the page size limit");
            }
        }
    }
}

/// Every `cargo install --path P` line installs a package that has a binary: a crate that
/// became a library (as `crates/integration-api` did when its binary moved to
/// `crates/integration-api-cli`) would make the line fail on a newcomer's machine.
#[test]
fn every_install_path_has_a_binary() {
    let text = readme();
    let paths: Vec<&str> = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("cargo install --locked --path "))
        .map(|rest| rest.split_whitespace().next().unwrap())
        .collect();
    assert!(paths.len() >= 2, "the Install section changed shape");
    for path in paths {
        let package = root().join(path);
        let manifest = std::fs::read_to_string(package.join("Cargo.toml"))
            .unwrap_or_else(|e| panic!("{path}: no Cargo.toml ({e})"));
        assert!(
            manifest.contains("[[bin]]") || package.join("src/main.rs").is_file(),
            "README: `cargo install --path {path}` installs nothing, {path} has no binary"
        );
    }
}
