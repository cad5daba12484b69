//! Shared by the Git-based CMS tests: a loopback server that behaves like GitHub's contents
//! and commits APIs and checks the token and the ref of every read, and delivery builders.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap as AxumHeaders, StatusCode};
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use http::{HeaderMap, HeaderValue};
use providers::signature::hmac_sha256;
use providers::{Change, Secret, Settings, WebhookRequest};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use unified_content::{ContentType, Timestamp, UnifiedContent};

pub const WEBHOOK_SECRET: &str = "gh-webhook-5f1d8c2a9e";
pub const CLOUD_SECRET: &str = "tina-cloud-7b3e1f9d4c";
pub const TOKEN: &str = "github_pat_11ABCDEFG0123456789_loopback";
pub const C1: &str = "1111111111111111111111111111111111111111";
pub const C2: &str = "2222222222222222222222222222222222222222";
pub const C3: &str = "3333333333333333333333333333333333333333";

pub fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

pub fn fixture(path: &str) -> Vec<u8> {
    std::fs::read(fixtures().join(path)).unwrap()
}

/// A loopback stand-in for api.github.com serving `acme/site` from
/// `fixtures/github/files/<commit>/<path>`, recording every read.
pub struct FakeGitHub {
    pub url: String,
    pub hits: Arc<Mutex<Vec<String>>>,
    /// How many of the next reads answer 502 Bad Gateway, as GitHub now and then does.
    pub failures: Arc<AtomicUsize>,
}

#[derive(Clone)]
pub struct ServerState {
    hits: Arc<Mutex<Vec<String>>>,
    failures: Arc<AtomicUsize>,
}

impl FakeGitHub {
    pub async fn start() -> FakeGitHub {
        let hits = Arc::new(Mutex::new(Vec::new()));
        let failures = Arc::new(AtomicUsize::new(0));
        let app = axum::Router::new()
            .route(
                "/api/v3/repos/{owner}/{repo}/contents/{*path}",
                get(contents),
            )
            .route("/api/v3/repos/{owner}/{repo}/commits", get(commits))
            .with_state(ServerState {
                hits: hits.clone(),
                failures: failures.clone(),
            });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        FakeGitHub {
            // A GitHub Enterprise style base path, to show it is kept.
            url: format!("http://{addr}/api/v3"),
            hits,
            failures,
        }
    }

    pub fn hits(&self) -> Vec<String> {
        let mut hits = self.hits.lock().unwrap().clone();
        hits.sort();
        hits
    }
}

pub fn authorized(headers: &AxumHeaders) -> Result<(), (StatusCode, Json<Value>)> {
    let expected = format!("Bearer {TOKEN}");
    if headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(expected.as_str())
        && headers.get("user-agent").is_some()
    {
        Ok(())
    } else {
        Err((
            StatusCode::UNAUTHORIZED,
            Json(json!({"message": "Bad credentials", "status": "401"})),
        ))
    }
}

pub async fn contents(
    State(state): State<ServerState>,
    Path((owner, repo, path)): Path<(String, String, String)>,
    Query(query): Query<BTreeMap<String, String>>,
    headers: AxumHeaders,
) -> Result<Json<Value>, (StatusCode, Json<Value>)> {
    authorized(&headers)?;
    let git_ref = query.get("ref").cloned().unwrap_or_default();
    state
        .hits
        .lock()
        .unwrap()
        .push(format!("contents {path}@{git_ref}"));
    let failing = state
        .failures
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    if failing {
        return Err((
            StatusCode::BAD_GATEWAY,
            Json(json!({"message": "Server Error"})),
        ));
    }
    let file = fixtures().join("github/files").join(&git_ref).join(&path);
    let text = match std::fs::read(&file) {
        Ok(text) if (owner, repo.as_str()) == ("acme".to_string(), "site") => text,
        _ => {
            return Err((
                StatusCode::NOT_FOUND,
                Json(json!({"message": "Not Found", "status": "404"})),
            ));
        }
    };
    // GitHub wraps the base64 content at 60 columns.
    let encoded = BASE64.encode(&text);
    let wrapped = encoded
        .as_bytes()
        .chunks(60)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect::<Vec<_>>()
        .join("\n");
    Ok(Json(json!({
        "type": "file",
        "encoding": "base64",
        "size": text.len(),
        "name": path.rsplit('/').next(),
        "path": path,
        "content": wrapped + "\n",
        "sha": "3d21ec53a331a6f037a91c368710b99387d012c1",
        "url": format!("https://api.github.com/repos/acme/site/contents/{path}?ref={git_ref}"),
    })))
}

/// The latest commit on `main` touching each path, as GitHub's commits API lists it.
pub async fn commits(
    State(state): State<ServerState>,
    Query(query): Query<BTreeMap<String, String>>,
    headers: AxumHeaders,
) -> Result<Json<Value>, (StatusCode, Json<Value>)> {
    authorized(&headers)?;
    let path = query.get("path").cloned().unwrap_or_default();
    let branch = query.get("sha").cloned().unwrap_or_default();
    state
        .hits
        .lock()
        .unwrap()
        .push(format!("commits {path}@{branch}"));
    let latest = match (branch.as_str(), path.as_str()) {
        ("main", "content/posts/hello-world.md") => Some((C2, "2026-11-20T09:30:00Z")),
        ("main", "content/articles/gone.md") => Some((C2, "2026-11-20T09:30:00Z")),
        ("main", "content/pages/about.md") => Some((C3, "2026-11-20T10:00:00Z")),
        ("main", path) => latest_commit_with(path),
        _ => None,
    };
    Ok(Json(Value::Array(
        latest
            .into_iter()
            .map(|(sha, date)| {
                json!({
                    "sha": sha,
                    "commit": {
                        "author": {"name": "Decap CMS", "email": "editor@acme.example", "date": date},
                        "committer": {"name": "GitHub", "email": "noreply@github.com", "date": date},
                        "message": "Update content"
                    }
                })
            })
            .collect(),
    )))
}

pub fn repo_settings(provider: &'static str, api: &str, extra: &[(&str, &str)]) -> Settings {
    let mut table = vec![
        ("github_repo", "acme/site"),
        ("github_api_url", api),
        ("github_token", TOKEN),
    ];
    table.extend_from_slice(extra);
    Settings::from_table(provider, table)
}

pub fn received_at() -> Timestamp {
    "2026-11-20T10:00:05Z".parse().unwrap()
}

pub fn github_headers(event: &str, body: &[u8], secret: &str) -> HeaderMap {
    let signature = format!(
        "sha256={}",
        hex::encode(hmac_sha256(&Secret::new(secret), body))
    );
    let mut headers = HeaderMap::new();
    for (name, value) in [
        ("X-GitHub-Event", event),
        ("X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958"),
        ("X-GitHub-Hook-ID", "512345678"),
        ("X-Hub-Signature-256", signature.as_str()),
        ("User-Agent", "GitHub-Hookshot/044aadd"),
        ("Content-Type", "application/json"),
    ] {
        headers.insert(name, HeaderValue::from_str(value).unwrap());
    }
    headers
}

pub fn tina_headers(secret: Option<&str>) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert("Content-Type", HeaderValue::from_static("application/json"));
    if let Some(secret) = secret {
        headers.insert(
            "X-Tina-Webhook-Secret",
            HeaderValue::from_str(secret).unwrap(),
        );
    }
    headers
}

pub fn request<'a>(headers: &'a HeaderMap, body: &'a [u8]) -> WebhookRequest<'a> {
    WebhookRequest {
        headers,
        body,
        received_at: received_at(),
    }
}

pub fn upserts(changes: &[Change]) -> Vec<&UnifiedContent> {
    changes
        .iter()
        .filter_map(|c| match c {
            Change::Upsert(item) => Some(item),
            _ => None,
        })
        .collect()
}

pub fn tombstone(id: &str, content_type: ContentType, deleted_at: &str) -> Change {
    Change::Tombstone {
        id: id.into(),
        content_type: Some(content_type),
        provider_name: id.split(':').next().unwrap().into(),
        deleted_at: deleted_at.parse().unwrap(),
    }
}

/// The commit times of the fixture commits other than the three above.
const FIXTURE_COMMIT_TIMES: &[(&str, &str)] = &[
    (
        "4444444444444444444444444444444444444444",
        "2026-11-21T08:15:00Z",
    ),
    (
        "5555555555555555555555555555555555555555",
        "2026-11-22T16:40:00Z",
    ),
];

/// The newest of the other fixture commits that holds `path`.
fn latest_commit_with(path: &str) -> Option<(&'static str, &'static str)> {
    FIXTURE_COMMIT_TIMES
        .iter()
        .rev()
        .find(|(sha, _)| {
            fixtures()
                .join("github/files")
                .join(sha)
                .join(path)
                .is_file()
        })
        .copied()
}

/// Log lines written while a [`capture_logs`] guard lives.
#[derive(Clone, Default)]
pub struct Logs(Arc<Mutex<Vec<u8>>>);

impl Logs {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Logs {
    type Writer = Logs;

    fn make_writer(&'a self) -> Logs {
        self.clone()
    }
}

/// Captures this thread's log lines at INFO and above until the guard is dropped.
pub fn capture_logs() -> (tracing::subscriber::DefaultGuard, Logs) {
    let logs = Logs::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(logs.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .finish();
    (tracing::subscriber::set_default(subscriber), logs)
}
