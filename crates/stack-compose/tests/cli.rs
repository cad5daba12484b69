//! The stack-compose command's output and exit codes.

use std::process::Command;

use insta_cmd::{assert_cmd_snapshot, get_cargo_bin};

fn cli() -> Command {
    Command::new(get_cargo_bin("stack-compose"))
}

#[test]
fn check_answers_and_refuses() {
    assert_cmd_snapshot!(
        "check-listed",
        cli().args([
            "check",
            "--cms",
            "sanity",
            "--commerce",
            "shopify",
            "--ssg",
            "astro"
        ])
    );
    assert_cmd_snapshot!(
        "check-untested",
        cli().args([
            "check",
            "--cms",
            "sanity",
            "--commerce",
            "shopify",
            "--ssg",
            "eleventy"
        ])
    );
    assert_cmd_snapshot!(
        "check-unknown",
        cli().args([
            "check",
            "--cms",
            "wordpress",
            "--commerce",
            "shopify",
            "--ssg",
            "astro"
        ])
    );
    assert_cmd_snapshot!(
        "check-json",
        cli().args([
            "check",
            "--json",
            "--cms",
            "decap",
            "--commerce",
            "snipcart",
            "--ssg",
            "eleventy"
        ])
    );
}

#[test]
fn recommend_and_cost() {
    assert_cmd_snapshot!(
        "recommend-all",
        cli().args([
            "recommend",
            "--budget-conscious",
            "--simple-needs",
            "--performance-critical",
            "--enterprise"
        ])
    );
    assert_cmd_snapshot!("cost-default", cli().args(["cost"]));
    assert_cmd_snapshot!("cost-negative", cli().args(["cost", "--items", "-5"]));
    assert_cmd_snapshot!(
        "cost-too-many",
        cli().args(["cost", "--builds-per-month", "1000000"])
    );
}

#[test]
fn new_never_overwrites_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("acme");
    let args = |force: bool| {
        let mut c = cli();
        c.args([
            "new",
            "--client",
            "acme",
            "--cms",
            "sanity",
            "--commerce",
            "shopify",
            "--ssg",
            "astro",
            "--out",
        ])
        .arg(&out);
        if force {
            c.arg("--force");
        }
        c
    };
    let tmp = regex_escape(dir.path().to_str().unwrap());
    let filters = vec![(tmp.as_str(), "[TMP]")];
    insta::with_settings!({ filters => filters }, {
        assert_cmd_snapshot!("new-first", args(false));
        std::fs::write(out.join("samconfig.toml"), "edited").unwrap();
        assert_cmd_snapshot!("new-occupied", args(false));
    });
    assert_eq!(
        std::fs::read_to_string(out.join("samconfig.toml")).unwrap(),
        "edited"
    );
    assert!(args(true).status().unwrap().success());
    assert!(
        std::fs::read_to_string(out.join("samconfig.toml"))
            .unwrap()
            .contains("ClientId=acme")
    );
}

fn regex_escape(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '/' || c == '_' || c == '-' {
                c.to_string()
            } else {
                format!("\\{c}")
            }
        })
        .collect()
}
