//! Markdown content kept in a GitHub repository, shared by the Git-based CMSes (Decap, Tina):
//! push webhooks, reads through the GitHub REST API, and YAML front matter.
//!
//! A push names the files each commit added, modified or removed; only the net change per file
//! matters (added then removed is a removal, removed then added an upsert). Files are read at the
//! commit that last touched them, so the item's `updated_at` is that commit's time however the
//! change was announced (a GitHub push or a Tina Cloud webhook).

use std::collections::BTreeMap;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, NaiveDate, NaiveDateTime};
use http::HeaderValue;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use unified_content::{
    ContentStatus, ContentType, MediaAsset, ProviderType, Timestamp, UnifiedContent, make_js_safe,
    slugify,
};
use url::Url;

use crate::content_layout::{ContentLayout, dated_stem, is_markdown};
use crate::fields::json_body;
use crate::signature::{constant_time_eq, hmac_sha256};
use crate::{AdapterError, Change, ConfigError, Secret, Settings, SignatureError, WebhookRequest};

/// The header GitHub signs push deliveries in: `sha256=<hex HMAC of the body>`.
pub(crate) const SIGNATURE_HEADER: &str = "X-Hub-Signature-256";
/// The header naming the GitHub event, such as `push` or `ping`.
pub(crate) const EVENT_HEADER: &str = "X-GitHub-Event";
/// The header carrying GitHub's delivery id.
pub(crate) const DELIVERY_HEADER: &str = "X-GitHub-Delivery";

const DEFAULT_API_URL: &str = "https://api.github.com";
const DEFAULT_BRANCH: &str = "main";
/// How many unmapped files a warning names before it only counts the rest.
const NAMED_FILES: usize = 10;
/// The contents API serves files up to 1 MB, base64-encoded; anything much larger is refused.
const MAX_RESPONSE_BYTES: usize = 2 * 1024 * 1024;
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

/// A commit, as far as an item needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CommitRef {
    /// The commit id, the `ref` files are read at.
    pub sha: String,
    /// When it was committed: the item's `updated_at`, or the tombstone's `deleted_at`.
    pub time: Timestamp,
}

/// What last happened to a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FileChange {
    /// Added or modified at this commit.
    Written(CommitRef),
    /// Removed at this commit.
    Removed(CommitRef),
}

/// One repository's content folder and how to read it.
#[derive(Debug)]
pub(crate) struct GitContentSource {
    provider: &'static str,
    owner: String,
    repo: String,
    branch: String,
    layout: ContentLayout,
    api: Url,
    token: Option<Secret>,
    http: reqwest::Client,
}

impl GitContentSource {
    /// Reads `github_repo` (required, `owner/name`), `branch` (default `main`), the layout
    /// settings `content_dir`, `content_types` and `default_content_type` (see
    /// [`crate::content_layout`]), `github_api_url` (default `https://api.github.com`) and
    /// `github_token` (optional; needed for private repositories).
    pub(crate) fn from_settings(
        provider: &'static str,
        settings: &Settings,
    ) -> Result<Self, ConfigError> {
        let full_name = settings.require("github_repo")?;
        let (owner, repo) = full_name
            .split_once('/')
            .filter(|(o, r)| !o.is_empty() && !r.is_empty() && !r.contains('/'))
            .ok_or_else(|| {
                settings.invalid(
                    "github_repo",
                    format!("'{full_name}' is not 'owner/name', like 'acme/website'"),
                )
            })?;
        let layout = ContentLayout::from_settings(settings)?;
        let api_text = settings.get("github_api_url").unwrap_or(DEFAULT_API_URL);
        let api = Url::parse(api_text)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && !u.cannot_be_a_base())
            .ok_or_else(|| {
                settings.invalid(
                    "github_api_url",
                    format!("'{api_text}' is not an http(s) URL, like {DEFAULT_API_URL}"),
                )
            })?;
        let http = reqwest::Client::builder()
            .user_agent(concat!(
                "content-platform-providers/",
                env!("CARGO_PKG_VERSION")
            ))
            .timeout(REQUEST_TIMEOUT)
            .retry(retry_policy(&api))
            .build()
            .map_err(|e| settings.invalid("github_api_url", format!("no HTTP client: {e}")))?;
        Ok(GitContentSource {
            provider,
            owner: owner.to_string(),
            repo: repo.to_string(),
            branch: settings.get("branch").unwrap_or(DEFAULT_BRANCH).to_string(),
            layout,
            api,
            token: settings.secret("github_token"),
            http,
        })
    }

    /// The configured branch.
    pub(crate) fn branch(&self) -> &str {
        &self.branch
    }

    /// Turns a push delivery into changes. `ping` and other events give none, as do pushes to
    /// other branches or repositories.
    pub(crate) async fn normalize_push(
        &self,
        request: &WebhookRequest<'_>,
    ) -> Result<(String, Vec<Change>), AdapterError> {
        let event = request
            .header(EVENT_HEADER)
            .ok_or(AdapterError::MissingHeader(EVENT_HEADER))?;
        if event != "push" {
            tracing::debug!(
                provider = self.provider,
                event,
                "no content changes in event"
            );
            return Ok((event.to_string(), Vec::new()));
        }
        let push: PushPayload = serde_path_to_error::deserialize(&push_json(request)?)
            .map_err(AdapterError::from_json_path)?;
        let full_name = format!("{}/{}", self.owner, self.repo);
        if !push.repository.full_name.eq_ignore_ascii_case(&full_name) {
            tracing::warn!(
                provider = self.provider,
                pushed = %push.repository.full_name,
                configured = %full_name,
                "ignoring a push to another repository; check github_repo"
            );
            return Ok((event.to_string(), Vec::new()));
        }
        if push.git_ref != format!("refs/heads/{}", self.branch) {
            tracing::debug!(provider = self.provider, git_ref = %push.git_ref, "ignoring push to another ref");
            return Ok((event.to_string(), Vec::new()));
        }
        let mut net = BTreeMap::new();
        for commit in push.commits {
            let at = CommitRef {
                sha: commit.id,
                time: commit.timestamp,
            };
            for path in commit.added.into_iter().chain(commit.modified) {
                net.insert(path, FileChange::Written(at.clone()));
            }
            for path in commit.removed {
                net.insert(path, FileChange::Removed(at.clone()));
            }
        }
        let changes = self.changes(net, request.received_at).await?;
        Ok((event.to_string(), changes))
    }

    /// The content files among `files`, with their types; the others are skipped. When
    /// Markdown was touched but none of it is content, a warning names the files and the
    /// settings that decide, since the delivery is otherwise answered "upserted 0" in silence.
    pub(crate) fn content_files<T>(
        &self,
        files: impl IntoIterator<Item = (String, T)>,
    ) -> Vec<(String, ContentType, T)> {
        let mut content = Vec::new();
        let mut unmapped = Vec::new();
        for (path, file) in files {
            match self.layout.content_type_of(&path) {
                Some(content_type) => content.push((path, content_type, file)),
                None if is_markdown(&path) => unmapped.push(path),
                None => {
                    tracing::debug!(provider = self.provider, path, "not Markdown; skipped")
                }
            }
        }
        if content.is_empty() && !unmapped.is_empty() {
            let mut files = unmapped
                .iter()
                .take(NAMED_FILES)
                .map(String::as_str)
                .collect::<Vec<_>>()
                .join(", ");
            if unmapped.len() > NAMED_FILES {
                files.push_str(&format!(" and {} more", unmapped.len() - NAMED_FILES));
            }
            tracing::warn!(
                provider = self.provider,
                files,
                layout = %self.layout,
                "Markdown changed but none of it maps to a content type; set [providers.{}] \
                 content_dir (the content folder, '.' for the repository root), content_types \
                 (its subfolders and their types) or default_content_type (files directly in it)",
                self.provider
            );
        }
        content
    }

    /// Turns the net change of each file into changes to the cache, reading written files at
    /// their commit. Files that are not content are skipped (see [`Self::content_files`]).
    pub(crate) async fn changes(
        &self,
        files: BTreeMap<String, FileChange>,
        received_at: Timestamp,
    ) -> Result<Vec<Change>, AdapterError> {
        let mut changes = Vec::new();
        for (path, content_type, change) in self.content_files(files) {
            changes.push(match change {
                FileChange::Written(commit) => {
                    let text = self.read_file(&path, &commit.sha).await?;
                    Change::Upsert(self.item(&path, content_type, &text, &commit, received_at)?)
                }
                FileChange::Removed(commit) => Change::Tombstone {
                    id: self.item_id(&path),
                    content_type: Some(content_type),
                    provider_name: self.provider.to_string(),
                    deleted_at: commit.time,
                },
            });
        }
        Ok(changes)
    }

    /// The latest commit on the configured branch that touched `path`.
    pub(crate) async fn last_commit(&self, path: &str) -> Result<CommitRef, AdapterError> {
        let mut url = self.repo_url(&["commits"]);
        url.query_pairs_mut()
            .append_pair("sha", &self.branch)
            .append_pair("path", path)
            .append_pair("per_page", "1");
        let commits: Vec<CommitEntry> = self.get_json(url.clone()).await?;
        let commit = commits.into_iter().next().ok_or_else(|| AdapterError::Upstream {
            url: url.to_string(),
            message: format!(
                "no commit on branch '{}' touches {path} yet; if the webhook came before GitHub \
                 shows the commit, redeliver it",
                self.branch
            ),
        })?;
        Ok(CommitRef {
            sha: commit.sha,
            time: commit.commit.committer.date,
        })
    }

    /// The unified id of a file: exact and stable, such as `decap:content/posts/hello.md`.
    fn item_id(&self, path: &str) -> String {
        format!("{}:{path}", self.provider)
    }

    fn repo_url(&self, tail: &[&str]) -> Url {
        let mut url = self.api.clone();
        url.path_segments_mut()
            .expect("checked at startup: the API URL can be a base")
            .pop_if_empty()
            .extend(["repos", &self.owner, &self.repo])
            .extend(tail);
        url
    }

    /// A file's text at a commit, through the contents API.
    async fn read_file(&self, path: &str, sha: &str) -> Result<String, AdapterError> {
        let mut url = self.repo_url(&["contents"]);
        url.path_segments_mut()
            .expect("checked at startup: the API URL can be a base")
            .extend(path.split('/'));
        url.query_pairs_mut().append_pair("ref", sha);
        let file: ContentsFile = self.get_json(url.clone()).await?;
        let upstream = |message: String| AdapterError::Upstream {
            url: url.to_string(),
            message,
        };
        if file.kind != "file" || file.encoding.as_deref() != Some("base64") {
            return Err(upstream(format!(
                "expected a base64-encoded file, got type '{}' with encoding '{}' (files over \
                 1 MB are not served inline)",
                file.kind,
                file.encoding.as_deref().unwrap_or("none")
            )));
        }
        // GitHub wraps the base64 text at 60 columns.
        let compact = file
            .content
            .bytes()
            .filter(|b| !b.is_ascii_whitespace())
            .collect::<Vec<_>>();
        let bytes = BASE64
            .decode(compact)
            .map_err(|e| upstream(format!("content is not base64: {e}")))?;
        String::from_utf8(bytes).map_err(|_| upstream("the file is not UTF-8 text".into()))
    }

    async fn get_json<T: DeserializeOwned>(&self, url: Url) -> Result<T, AdapterError> {
        let upstream = |message: String| AdapterError::Upstream {
            url: url.to_string(),
            message,
        };
        let mut request = self
            .http
            .get(url.clone())
            .header(http::header::ACCEPT, "application/vnd.github+json")
            .header("X-GitHub-Api-Version", "2022-11-28");
        if let Some(token) = &self.token {
            let mut value = HeaderValue::try_from(format!("Bearer {}", token.expose()))
                .map_err(|_| upstream("github_token is not a valid header value".into()))?;
            value.set_sensitive(true);
            request = request.header(http::header::AUTHORIZATION, value);
        }
        let mut response = request
            .send()
            .await
            .map_err(|e| upstream(format!("request failed: {}", e.without_url())))?;
        let status = response.status();
        if !status.is_success() {
            let hint = match status.as_u16() {
                401 | 403 => "check github_token and that it may read the repository",
                404 => "check github_repo, branch and github_token (private repositories need one)",
                _ => "GitHub will redeliver the webhook if asked; retry later",
            };
            return Err(upstream(format!("GitHub answered {status}: {hint}")));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| upstream(format!("reading the response failed: {}", e.without_url())))?
        {
            if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
                return Err(upstream(format!(
                    "response is over {MAX_RESPONSE_BYTES} bytes"
                )));
            }
            body.extend_from_slice(&chunk);
        }
        serde_json::from_slice(&body).map_err(|e| upstream(format!("unexpected response: {e}")))
    }

    /// The unified item of a Markdown file read at `commit`.
    fn item(
        &self,
        path: &str,
        content_type: ContentType,
        text: &str,
        commit: &CommitRef,
        received_at: Timestamp,
    ) -> Result<UnifiedContent, AdapterError> {
        let (yaml, body) = split_front_matter(text);
        let front: Value = match yaml {
            Some(yaml) if !yaml.trim().is_empty() => {
                serde_yaml_ng::from_str(yaml).map_err(|e| AdapterError::Malformed {
                    path: format!("{path} (front matter)"),
                    message: e.to_string(),
                })?
            }
            _ => Value::Object(Default::default()),
        };
        let fields: FrontMatter =
            serde_path_to_error::deserialize(&front).map_err(|e| AdapterError::Malformed {
                path: format!("{path} (front matter field {})", e.path()),
                message: e.into_inner().to_string(),
            })?;
        let date = fields
            .date
            .as_deref()
            .map(|d| {
                parse_date(d).ok_or_else(|| AdapterError::Malformed {
                    path: format!("{path} (front matter date)"),
                    message: format!("'{d}' is not a date like 2026-11-20 or 2026-11-20T10:00:00Z"),
                })
            })
            .transpose()?;
        let file_name = path.rsplit('/').next().unwrap_or(path);
        let stem = file_name
            .rsplit_once('.')
            .map_or(file_name, |(stem, _)| stem);
        // Jekyll-style `2019-05-15-hello.md`: dated by its name, named `hello`.
        let (file_date, stem) = dated_stem(stem);
        let date = date.or(file_date);
        let image = fields
            .image
            .filter(|i| !i.trim().is_empty())
            .map(|url| MediaAsset {
                id: url.clone(),
                url,
                alt_text: None,
                width: None,
                height: None,
                file_size: None,
                mime_type: None,
            });

        let mut front_matter = front;
        make_js_safe(&mut front_matter);
        let provider_data = BTreeMap::from([
            ("path".to_string(), Value::String(path.to_string())),
            ("commit".to_string(), Value::String(commit.sha.clone())),
            (
                "repository".to_string(),
                Value::String(format!("{}/{}", self.owner, self.repo)),
            ),
            ("front_matter".to_string(), front_matter),
        ]);
        let mut item = UnifiedContent {
            id: self.item_id(path),
            title: fields
                .title
                .filter(|t| !t.trim().is_empty())
                .unwrap_or_else(|| stem.to_string()),
            slug: slugify(fields.slug.as_deref().unwrap_or(stem)),
            content_type,
            status: if fields.draft.unwrap_or(false) {
                ContentStatus::Draft
            } else {
                ContentStatus::Published
            },
            description: fields.description,
            body: Some(body.to_string()),
            images: image.iter().cloned().collect(),
            featured_image: image,
            price: None,
            inventory: None,
            variants: Vec::new(),
            seo: None,
            tags: fields.tags.map(Tags::into_vec).unwrap_or_default(),
            provider_type: ProviderType::Cms,
            provider_name: self.provider.to_string(),
            provider_data,
            // A post dated in the future is scheduled; its creation cannot follow its change.
            created_at: date.map_or(commit.time, |d| d.min(commit.time)),
            updated_at: commit.time,
            synced_at: received_at,
        };
        item.normalize();
        Ok(item)
    }
}

/// GitHub answers the odd read with a 502 or a dropped connection, and it does not redeliver a
/// webhook that failed: reads (all GETs, so safe to repeat) are retried twice on transport
/// errors, 429 and 5xx, within reqwest's retry budget.
fn retry_policy(api: &Url) -> reqwest::retry::Builder {
    reqwest::retry::for_host(api.host_str().unwrap_or_default().to_string()).classify_fn(
        |attempt| {
            let transient = attempt.error().is_some()
                || attempt.status().is_some_and(|s| {
                    s.is_server_error() || s == http::StatusCode::TOO_MANY_REQUESTS
                });
            if transient && attempt.method() == http::Method::GET {
                attempt.retryable()
            } else {
                attempt.success()
            }
        },
    )
}

/// Checks GitHub's `X-Hub-Signature-256: sha256=<hex>` over the raw body.
pub(crate) fn verify_push_signature(
    secret: &Secret,
    request: &WebhookRequest<'_>,
) -> Result<(), SignatureError> {
    let header = request.signature_header(SIGNATURE_HEADER)?;
    let given = header
        .trim()
        .strip_prefix("sha256=")
        .and_then(|h| hex::decode(h).ok())
        .ok_or_else(|| SignatureError::Malformed {
            header: SIGNATURE_HEADER,
            reason: "expected 'sha256=' and a hex digest".into(),
        })?;
    if constant_time_eq(&given, &hmac_sha256(secret, request.body)) {
        Ok(())
    } else {
        Err(SignatureError::Mismatch {
            header: SIGNATURE_HEADER,
        })
    }
}

/// The JSON of a push: the body itself, or its `payload` field when the webhook is set to send
/// `application/x-www-form-urlencoded`.
fn push_json(request: &WebhookRequest<'_>) -> Result<Value, AdapterError> {
    let form = request
        .header(http::header::CONTENT_TYPE.as_str())
        .is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"));
    if !form {
        return json_body(request.body);
    }
    let payload = url::form_urlencoded::parse(request.body)
        .find(|(key, _)| key == "payload")
        .ok_or_else(|| AdapterError::Malformed {
            path: "payload".into(),
            message: "a form-encoded delivery needs a 'payload' field".into(),
        })?
        .1;
    json_body(payload.as_bytes())
}

/// Splits `---\n<yaml>\n---\n<body>`; a file without front matter is all body.
fn split_front_matter(text: &str) -> (Option<&str>, &str) {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let Some(rest) = text
        .strip_prefix("---\n")
        .or_else(|| text.strip_prefix("---\r\n"))
    else {
        return (None, text);
    };
    let mut offset = 0;
    for line in rest.split_inclusive('\n') {
        let trimmed = line.trim_end_matches(['\r', '\n']);
        if trimmed == "---" || trimmed == "..." {
            return (Some(&rest[..offset]), &rest[offset + line.len()..]);
        }
        offset += line.len();
    }
    (None, text)
}

/// Reads front matter dates: RFC 3339, `2026-11-20 10:00:00` (UTC), or `2026-11-20`.
fn parse_date(text: &str) -> Option<Timestamp> {
    let text = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.to_utc());
    }
    if let Ok(t) = DateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S %:z") {
        return Some(t.to_utc());
    }
    ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
        .or_else(|| {
            NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
        })
        .map(|t| t.and_utc())
}

#[derive(Deserialize)]
struct PushPayload {
    #[serde(rename = "ref")]
    git_ref: String,
    repository: Repository,
    #[serde(default)]
    commits: Vec<PushCommit>,
}

#[derive(Deserialize)]
struct Repository {
    full_name: String,
}

#[derive(Deserialize)]
struct PushCommit {
    id: String,
    timestamp: Timestamp,
    #[serde(default)]
    added: Vec<String>,
    #[serde(default)]
    modified: Vec<String>,
    #[serde(default)]
    removed: Vec<String>,
}

#[derive(Deserialize)]
struct ContentsFile {
    #[serde(rename = "type")]
    kind: String,
    encoding: Option<String>,
    #[serde(default)]
    content: String,
}

#[derive(Deserialize)]
struct CommitEntry {
    sha: String,
    commit: CommitDetail,
}

#[derive(Deserialize)]
struct CommitDetail {
    committer: CommitSignature,
}

#[derive(Deserialize)]
struct CommitSignature {
    date: Timestamp,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct FrontMatter {
    title: Option<String>,
    description: Option<String>,
    /// YAML leaves unquoted dates as text; read by [`parse_date`].
    #[serde(deserialize_with = "scalar_text")]
    date: Option<String>,
    tags: Option<Tags>,
    draft: Option<bool>,
    slug: Option<String>,
    image: Option<String>,
}

/// Tags as a YAML list or one comma-separated string.
#[derive(Deserialize)]
#[serde(untagged)]
enum Tags {
    List(Vec<Value>),
    Text(String),
}

impl Tags {
    fn into_vec(self) -> Vec<String> {
        let texts = match self {
            Tags::List(items) => items
                .into_iter()
                .filter_map(|v| match v {
                    Value::String(s) => Some(s),
                    Value::Number(n) => Some(n.to_string()),
                    Value::Bool(b) => Some(b.to_string()),
                    _ => None,
                })
                .collect::<Vec<_>>(),
            Tags::Text(text) => text.split(',').map(str::to_string).collect(),
        };
        texts
            .into_iter()
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
            .collect()
    }
}

fn scalar_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        Some(Value::String(s)) => Some(s),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn front_matter_splits_from_the_body() {
        let (yaml, body) = split_front_matter("---\ntitle: A\n---\n# Body\n");
        assert_eq!(yaml, Some("title: A\n"));
        assert_eq!(body, "# Body\n");
        let (yaml, body) = split_front_matter("\u{feff}---\r\ntitle: A\r\n---\r\nBody");
        assert_eq!(yaml, Some("title: A\r\n"));
        assert_eq!(body, "Body");
        assert_eq!(
            split_front_matter("# No front matter"),
            (None, "# No front matter")
        );
        assert_eq!(split_front_matter("---\nunclosed"), (None, "---\nunclosed"));
    }

    #[test]
    fn dates_read_in_the_forms_cms_write() {
        let at = |s: &str| parse_date(s).map(|t| t.to_rfc3339());
        assert_eq!(at("2026-11-20"), Some("2026-11-20T00:00:00+00:00".into()));
        assert_eq!(
            at("2026-11-20T10:00:00+02:00"),
            Some("2026-11-20T08:00:00+00:00".into())
        );
        assert_eq!(
            at("2026-11-20 10:00:00"),
            Some("2026-11-20T10:00:00+00:00".into())
        );
        assert_eq!(at("20 November"), None);
    }
}
