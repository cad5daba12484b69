//! `stack-compose register`: the dashboard steps, refusals, and a registration against the
//! GitHub stand-in run twice (created, then already present).

use std::process::Command;

use insta_cmd::{assert_cmd_snapshot, get_cargo_bin};
use webhook_registration::Provider;

// The management API stand-ins are shared with webhook-registration's tests; this file uses
// only the GitHub one.
#[allow(dead_code)]
#[path = "../../webhook-registration/tests/stand_in/mod.rs"]
mod stand_in;

const API_URL: &str = "https://abc123.execute-api.eu-west-1.amazonaws.com/prod";

/// The command with none of the tokens or secrets of the calling environment (each
/// provider's, as the library names them, so a new provider's cannot leak in).
fn register(provider: &str) -> Command {
    let mut command = Command::new(get_cargo_bin("stack-compose"));
    command.env_remove("STACK_COMPOSE_API_BASE");
    for provider in Provider::ALL {
        let token = provider.token_variable().map(String::from);
        for variable in token.into_iter().chain(provider.secret_variable()) {
            command.env_remove(variable);
        }
    }
    command.args(["register", "--provider", provider, "--api-url", API_URL]);
    command
}

#[test]
fn dashboard_steps() {
    assert_cmd_snapshot!("register-snipcart", register("snipcart"));
    assert_cmd_snapshot!("register-foxy", register("foxy"));
    assert_cmd_snapshot!("register-foxy-json", register("foxy").arg("--json"));
}

#[test]
fn refusals() {
    assert_cmd_snapshot!("register-unknown", register("wordpress"));
    assert_cmd_snapshot!(
        "register-no-token",
        register("sanity").args(["--project-id", "abc123xy"])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn github_created_then_present() {
    let github = stand_in::github::GitHub::default();
    let base = stand_in::serve(github.router()).await;
    let secret = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(secret.path(), "file-secret\n").unwrap();
    let run = |json: bool| {
        let mut command = register("decap");
        command
            .args(["--repo", "acme/site", "--api-base", base.as_str()])
            .arg("--secret-file")
            .arg(secret.path())
            .env("GITHUB_TOKEN", stand_in::github::TOKEN);
        if json {
            command.arg("--json");
        }
        command
    };
    assert_cmd_snapshot!("register-github-created", run(false));
    assert_cmd_snapshot!("register-github-present-json", run(true));
    assert_eq!(*github.secrets.lock().unwrap(), ["file-secret"]);
}
