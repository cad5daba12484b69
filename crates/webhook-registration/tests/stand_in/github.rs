//! GitHub's repository hooks API: `GET`/`POST /repos/{owner}/{repo}/hooks`.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use serde_json::{Value, json};

use super::{Refusal, absolute_url, credential, equals, header, json_body, string};

/// The stand-in's hooks, shared with the test.
#[derive(Clone, Default)]
pub struct GitHub {
    pub hooks: Arc<Mutex<Vec<Value>>>,
    /// The secrets the created hooks were given.
    pub secrets: Arc<Mutex<Vec<String>>>,
}

const REPOSITORY: (&str, &str) = ("acme", "site");
pub const TOKEN: &str = "ghp_stand_in_token";

impl GitHub {
    /// Adds `count` hooks to other URLs, so the listing spans pages.
    pub fn with_other_hooks(self, count: usize) -> Self {
        let mut hooks = self.hooks.lock().unwrap();
        for i in 0..count {
            let id = hooks.len() as u64 + 1;
            hooks.push(json!({
                "id": id, "name": "web", "active": true, "events": ["issues"],
                "config": {"url": format!("https://elsewhere.example/{i}"), "content_type": "json", "insecure_ssl": "0"},
            }));
        }
        drop(hooks);
        self
    }

    pub fn router(&self) -> Router {
        Router::new()
            .route("/repos/{owner}/{repo}/hooks", get(list).post(create))
            .with_state(self.clone())
    }
}

fn common(headers: &HeaderMap, owner: &str, repo: &str) -> Result<(), Refusal> {
    credential(
        headers,
        "authorization",
        &format!("Bearer {TOKEN}"),
        r#"{"message":"Bad credentials","status":"401"}"#,
    )?;
    header(headers, "accept", "application/vnd.github+json")?;
    header(headers, "x-github-api-version", "2022-11-28")?;
    if headers.get("user-agent").is_none() {
        return Err((StatusCode::FORBIDDEN, "GitHub requires a User-Agent".into()));
    }
    if (owner, repo) != REPOSITORY {
        return Err((StatusCode::NOT_FOUND, r#"{"message":"Not Found"}"#.into()));
    }
    Ok(())
}

#[derive(serde::Deserialize)]
struct Page {
    per_page: usize,
    page: usize,
}

async fn list(
    State(state): State<GitHub>,
    Path((owner, repo)): Path<(String, String)>,
    Query(page): Query<Page>,
    headers: HeaderMap,
) -> Result<axum::Json<Value>, Refusal> {
    common(&headers, &owner, &repo)?;
    if page.per_page == 0 || page.per_page > 100 || page.page == 0 {
        return Err((
            StatusCode::BAD_REQUEST,
            "per_page is 1-100 and page starts at 1".into(),
        ));
    }
    let hooks = state.hooks.lock().unwrap();
    let slice: Vec<Value> = hooks
        .iter()
        .skip((page.page - 1) * page.per_page)
        .take(page.per_page)
        .cloned()
        .collect();
    Ok(axum::Json(Value::Array(slice)))
}

async fn create(
    State(state): State<GitHub>,
    Path((owner, repo)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, axum::Json<Value>), Refusal> {
    common(&headers, &owner, &repo)?;
    header(&headers, "content-type", "application/json")?;
    let body = json_body(&body)?;
    equals(&body, "/name", json!("web"))?;
    equals(&body, "/active", json!(true))?;
    equals(&body, "/events", json!(["push"]))?;
    absolute_url(string(&body, "/config/url")?)?;
    equals(&body, "/config/content_type", json!("json"))?;
    equals(&body, "/config/insecure_ssl", json!("0"))?;
    let secret = string(&body, "/config/secret")?.to_string();
    state.secrets.lock().unwrap().push(secret);
    let mut hooks = state.hooks.lock().unwrap();
    let id = hooks.len() as u64 + 1;
    // GitHub never returns the secret; it shows it as asterisks.
    let mut config = body["config"].clone();
    config["secret"] = json!("********");
    let hook = json!({"id": id, "name": "web", "active": true, "events": body["events"], "config": config});
    hooks.push(hook.clone());
    Ok((StatusCode::CREATED, axum::Json(hook)))
}
