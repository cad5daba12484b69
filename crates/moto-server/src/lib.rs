//! Test support: moto's server on 127.0.0.1, for the official aws-sdk-rust clients.
//!
//! [`MotoServer::start`] runs `python -m`-style moto (the `moto[server]` package that
//! `scripts/test` installs into the project's venv) on a port the OS picks, waits until it
//! answers, and kills it on drop. [`MotoServer::shared`] gives one server per test process,
//! which exits by itself when that process ends (it watches its stdin pipe), so no test leaves a
//! Python process behind even when it panics or is killed.
//!
//! The Python interpreter is `CONTENT_TEST_PYTHON` (set by `scripts/test`), else the
//! workspace's `.venv/bin/python`.
//!
//! [`FaultProxy`] stands in front of a server and answers chosen DynamoDB requests with the
//! throttling and conflict errors moto never sends.

mod fault;

pub use fault::{Fault, FaultProxy};

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;

/// The region every client of the test server uses.
pub const REGION: &str = "us-east-1";
/// The access key id of the test credentials (moto accepts any).
pub const ACCESS_KEY_ID: &str = "testing";
/// The secret access key of the test credentials.
pub const SECRET_ACCESS_KEY: &str = "testing";
/// The account id moto uses in every ARN and queue URL.
pub const ACCOUNT_ID: &str = "123456789012";

/// How long the server may take to import moto and answer its first request.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// Binds port 0 (so the OS picks a free port without a race), prints the port, then serves until
/// its stdin closes: the test process exiting, however it exits, closes the pipe.
///
/// Requests are handled one at a time. moto's `TransactWriteItems` snapshots every table it
/// touches and restores the snapshot when a condition fails, so two transactions handled at
/// once lose each other's writes; DynamoDB applies each request atomically, and so does moto
/// when requests are serialized. Connections stay concurrent (keep-alive, one thread each).
const SERVER_SCRIPT: &str = r#"
import os, sys, threading
from werkzeug.serving import make_server
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication, MotoRequestHandler, create_backend_app,
)
dispatcher = DomainDispatcherApplication(create_backend_app)
one_at_a_time = threading.Lock()
def app(environ, start_response):
    with one_at_a_time:
        return list(dispatcher(environ, start_response))
server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=MotoRequestHandler)
os.environ["MOTO_PORT"] = str(server.port)
threading.Thread(target=server.serve_forever, daemon=True).start()
print(server.port, flush=True)
sys.stdin.read()
os._exit(0)
"#;

/// Why the test server could not start or answer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MotoError {
    /// The Python interpreter could not be run.
    #[error(
        "cannot run {python} for moto's server (run scripts/test once to create the venv, or set CONTENT_TEST_PYTHON)"
    )]
    Spawn {
        /// The interpreter that was tried.
        python: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The server exited or printed no port; its standard error is attached.
    #[error("moto's server did not start (is moto[server] installed in the venv?): {stderr}")]
    Start {
        /// What the server wrote to standard error.
        stderr: String,
    },
    /// The server did not answer within the start timeout.
    #[error("moto's server at {endpoint} did not answer within {seconds} s")]
    Timeout {
        /// The endpoint that was polled.
        endpoint: String,
        /// The timeout.
        seconds: u64,
    },
    /// A request to the server's own API failed.
    #[error("request to moto's server at {endpoint}{path} failed")]
    Request {
        /// The endpoint.
        endpoint: String,
        /// The path requested.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

/// A running moto server; dropping it kills the process.
#[derive(Debug)]
pub struct MotoServer {
    child: Child,
    // Held open: the server exits when it closes.
    _stdin: ChildStdin,
    port: u16,
    endpoint: String,
}

impl MotoServer {
    /// Starts a server of its own for the caller, on a free port, and waits until it answers.
    pub fn start() -> Result<Self, MotoError> {
        let python = python();
        // moto's request recorder (`/moto-api/recorder/...`) writes to its working folder unless
        // told otherwise; keep it out of the source tree.
        static SERVERS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = SERVERS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let recording =
            std::env::temp_dir().join(format!("moto-recording-{}-{n}", std::process::id()));
        let mut child = Command::new(&python)
            .args(["-c", SERVER_SCRIPT])
            .env("MOTO_RECORDER_FILEPATH", recording)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| MotoError::Spawn {
                python: python.clone(),
                source,
            })?;
        let stdin = child.stdin.take().expect("stdin is piped");
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout is piped"));
        let mut stderr = child.stderr.take().expect("stderr is piped");
        let mut line = String::new();
        let port = match stdout.read_line(&mut line) {
            Ok(_) => line.trim().parse::<u16>().ok(),
            Err(_) => None,
        };
        let Some(port) = port else {
            let _ = child.kill();
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            let _ = child.wait();
            return Err(MotoError::Start { stderr: text });
        };
        // Werkzeug logs every request to stderr; drain it so a full pipe never blocks the server.
        std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
        let server = MotoServer {
            child,
            _stdin: stdin,
            port,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        server.wait_until_answering()?;
        Ok(server)
    }

    /// The one server of this test process, started on first use. It is never dropped; it exits
    /// when the process does. Tests sharing it must use names of their own (tables, topics) and
    /// must not [`reset`](Self::reset) it.
    pub fn shared() -> &'static MotoServer {
        static SHARED: OnceLock<MotoServer> = OnceLock::new();
        SHARED.get_or_init(|| {
            MotoServer::start().unwrap_or_else(|error| panic!("{}", error_line::error_line(&error)))
        })
    }

    /// The endpoint URL, `http://127.0.0.1:<port>`.
    pub fn endpoint_url(&self) -> &str {
        &self.endpoint
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Configuration for any aws-sdk-rust client: this endpoint, [`REGION`] and the test
    /// credentials, whatever the environment says.
    pub async fn sdk_config(&self) -> SdkConfig {
        sdk_config(&self.endpoint).await
    }

    /// The environment a child process (a binary under test) needs to reach this server through
    /// aws-config's default chain.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_REGION", REGION.to_owned()),
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID.to_owned()),
            ("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY.to_owned()),
            ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
        ]
    }

    /// Forgets every resource (tables, topics, queues): `POST /moto-api/reset`.
    pub fn reset(&self) -> Result<(), MotoError> {
        self.request("POST", "/moto-api/reset").map(drop)
    }

    fn wait_until_answering(&self) -> Result<(), MotoError> {
        let started = Instant::now();
        loop {
            if self.request("GET", "/moto-api/data.json").is_ok() {
                return Ok(());
            }
            if started.elapsed() > START_TIMEOUT {
                return Err(MotoError::Timeout {
                    endpoint: self.endpoint.clone(),
                    seconds: START_TIMEOUT.as_secs(),
                });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// One HTTP/1.1 request with `Connection: close`; returns the status line's code. Plain std
    /// I/O keeps this usable from sync code, drops and any async runtime alike.
    fn request(&self, method: &str, path: &str) -> Result<u16, MotoError> {
        let fail = |source| MotoError::Request {
            endpoint: self.endpoint.clone(),
            path: path.to_owned(),
            source,
        };
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).map_err(fail)?;
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .map_err(fail)?;
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            self.port
        );
        stream.write_all(request.as_bytes()).map_err(fail)?;
        let mut response = String::new();
        stream.read_to_string(&mut response).map_err(fail)?;
        let status = response
            .split(' ')
            .nth(1)
            .and_then(|code| code.parse::<u16>().ok())
            .ok_or_else(|| {
                fail(std::io::Error::other(format!(
                    "not an HTTP response: {response:.80}"
                )))
            })?;
        if (200..300).contains(&status) {
            Ok(status)
        } else {
            Err(fail(std::io::Error::other(format!("HTTP {status}"))))
        }
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Configuration for `endpoint` with [`REGION`] and the test credentials, whatever the
/// environment says.
async fn sdk_config(endpoint: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .credentials_provider(Credentials::new(
            ACCESS_KEY_ID,
            SECRET_ACCESS_KEY,
            None,
            None,
            "moto-server",
        ))
        .endpoint_url(endpoint)
        .load()
        .await
}

fn python() -> PathBuf {
    std::env::var_os("CONTENT_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python"))
}
