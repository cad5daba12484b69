//! Sanity's webhooks API: `GET`/`POST /v2021-10-04/hooks/projects/{projectId}`.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use serde_json::{Value, json};

use super::{Refusal, absolute_url, credential, equals, header, json_body, string};

pub const TOKEN: &str = "sk_stand_in_token";
pub const PROJECT: &str = "abc123xy";

/// The stand-in's webhooks, shared with the test.
#[derive(Clone, Default)]
pub struct Sanity {
    pub hooks: Arc<Mutex<Vec<Value>>>,
}

impl Sanity {
    pub fn router(&self) -> Router {
        Router::new()
            .route(
                "/v2021-10-04/hooks/projects/{project}",
                get(list).post(create),
            )
            .with_state(self.clone())
    }
}

fn common(headers: &HeaderMap, project: &str) -> Result<(), Refusal> {
    credential(
        headers,
        "authorization",
        &format!("Bearer {TOKEN}"),
        r#"{"statusCode":401,"error":"Unauthorized","message":"Session not found"}"#,
    )?;
    if project != PROJECT {
        return Err((
            StatusCode::NOT_FOUND,
            r#"{"message":"Project not found"}"#.into(),
        ));
    }
    Ok(())
}

async fn list(
    State(state): State<Sanity>,
    Path(project): Path<String>,
    headers: HeaderMap,
) -> Result<axum::Json<Value>, Refusal> {
    common(&headers, &project)?;
    Ok(axum::Json(Value::Array(
        state.hooks.lock().unwrap().clone(),
    )))
}

async fn create(
    State(state): State<Sanity>,
    Path(project): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<axum::Json<Value>, Refusal> {
    common(&headers, &project)?;
    header(&headers, "content-type", "application/json")?;
    let body = json_body(&body)?;
    equals(&body, "/type", json!("document"))?;
    string(&body, "/name")?;
    absolute_url(string(&body, "/url")?)?;
    string(&body, "/dataset")?;
    equals(&body, "/httpMethod", json!("POST"))?;
    let api_version = string(&body, "/apiVersion")?;
    if api_version < "v2021-03-25" {
        return Err((
            StatusCode::BAD_REQUEST,
            "delta GROQ needs apiVersion v2021-03-25 or later".into(),
        ));
    }
    let on = body
        .pointer("/rule/on")
        .and_then(Value::as_array)
        .filter(|on| !on.is_empty())
        .ok_or((
            StatusCode::BAD_REQUEST,
            "rule.on must list create, update or delete".into(),
        ))?;
    if on
        .iter()
        .any(|o| !matches!(o.as_str(), Some("create" | "update" | "delete")))
    {
        return Err((
            StatusCode::BAD_REQUEST,
            format!("rule.on has an unknown operation: {on:?}"),
        ));
    }
    string(&body, "/secret")?;
    let mut hooks = state.hooks.lock().unwrap();
    let mut hook = body.clone();
    hook["id"] = json!(format!("hook{}", hooks.len() + 1));
    hook["projectId"] = json!(project);
    hook["isDisabled"] = json!(false);
    hooks.push(hook.clone());
    Ok(axum::Json(hook))
}
