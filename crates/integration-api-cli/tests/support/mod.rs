//! Set-up the binary's tests share: Shopify fixtures, the current `content-fetch` and a running
//! `integration-api serve`.

#![allow(dead_code)] // Each test file uses its own part.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::JoinHandle;

/// `command` with `access` and `secret` as its only AWS credentials, as a developer's shell
/// would hold them: no session token or profile, no config or credentials file (`missing`
/// names none) and no instance metadata.
pub fn aws_keys<'a>(
    command: &'a mut Command,
    access: &str,
    secret: &str,
    missing: &Path,
) -> &'a mut Command {
    command
        .env("AWS_ACCESS_KEY_ID", access)
        .env("AWS_SECRET_ACCESS_KEY", secret)
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_PROFILE")
        .env("AWS_CONFIG_FILE", missing)
        .env("AWS_SHARED_CREDENTIALS_FILE", missing)
        .env("AWS_EC2_METADATA_DISABLED", "true")
}

/// A Shopify fixture of the providers crate.
pub fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/../providers/tests/fixtures/shopify/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

/// The current `content-fetch` binary, built from the workspace so that a test never runs a
/// stale one, next to the `integration-api` binary where `serve` looks for it.
pub fn content_fetch() -> PathBuf {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let status = Command::new(env!("CARGO"))
        .args(["build", "--quiet", "--bin", "content-fetch"])
        .current_dir(&workspace)
        .status()
        .unwrap();
    assert!(status.success(), "cargo build --bin content-fetch failed");
    let bin = Path::new(env!("CARGO_BIN_EXE_integration-api")).with_file_name("content-fetch");
    assert!(bin.is_file(), "{} was not built", bin.display());
    bin
}

/// A running server, killed when the test ends however it ends.
pub struct Server {
    child: Child,
    log: Option<JoinHandle<Vec<String>>>,
    /// `http://127.0.0.1:<port>` as the server printed it.
    pub address: String,
}

impl Server {
    /// Spawns `command` (a `serve` bound to port 0) and waits for the address it prints; its
    /// log is drained meanwhile so that it never blocks on a full pipe.
    pub fn spawn(command: &mut Command) -> Server {
        let mut child = command.stderr(Stdio::piped()).spawn().unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let address = loop {
            let line = lines
                .next()
                .expect("the server printed its address")
                .unwrap();
            if let Some(rest) = line.split("listening on ").nth(1) {
                break rest.trim().to_string();
            }
        };
        let log = std::thread::spawn(move || lines.map_while(Result::ok).collect());
        Server {
            child,
            log: Some(log),
            address,
        }
    }

    /// Stops the server and returns everything it logged after its address.
    pub fn stop(mut self) -> String {
        self.kill();
        self.log.take().unwrap().join().unwrap().join("\n")
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}
