//! Contentful's Content Management API: webhook definitions and the space's signing secret.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use serde_json::{Value, json};

use super::{Refusal, absolute_url, credential, equals, header, json_body, string};

pub const TOKEN: &str = "CFPAT-stand-in-token";
pub const SPACE: &str = "yadj1kx9rmg0";
const MEDIA_TYPE: &str = "application/vnd.contentful.management.v1+json";
/// The stand-in's page size cap, small so that the listing spans pages.
const MAX_PAGE: usize = 2;

/// The stand-in's definitions and signing secret, shared with the test.
#[derive(Clone, Default)]
pub struct Contentful {
    pub definitions: Arc<Mutex<Vec<Value>>>,
    pub signing_secret: Arc<Mutex<Option<String>>>,
}

impl Contentful {
    pub fn router(&self) -> Router {
        Router::new()
            .route(
                "/spaces/{space}/webhook_definitions",
                get(list).post(create),
            )
            .route(
                "/spaces/{space}/webhook_settings/signing_secret",
                get(get_secret).put(put_secret),
            )
            .with_state(self.clone())
    }
}

fn common(headers: &HeaderMap, space: &str) -> Result<(), Refusal> {
    credential(
        headers,
        "authorization",
        &format!("Bearer {TOKEN}"),
        r#"{"sys":{"type":"Error","id":"AccessTokenInvalid"},"message":"The access token you sent could not be found or is invalid."}"#,
    )?;
    if space != SPACE {
        return Err((
            StatusCode::NOT_FOUND,
            r#"{"sys":{"type":"Error","id":"NotFound"}}"#.into(),
        ));
    }
    Ok(())
}

#[derive(serde::Deserialize)]
struct Page {
    limit: usize,
    skip: usize,
}

async fn list(
    State(state): State<Contentful>,
    Path(space): Path<String>,
    Query(page): Query<Page>,
    headers: HeaderMap,
) -> Result<axum::Json<Value>, Refusal> {
    common(&headers, &space)?;
    if page.limit == 0 || page.limit > 1000 {
        return Err((StatusCode::BAD_REQUEST, "limit is 1-1000".into()));
    }
    let all = state.definitions.lock().unwrap();
    let items: Vec<Value> = all
        .iter()
        .skip(page.skip)
        .take(page.limit.min(MAX_PAGE))
        .cloned()
        .collect();
    Ok(axum::Json(json!({
        "sys": {"type": "Array"}, "total": all.len(), "skip": page.skip, "limit": page.limit, "items": items,
    })))
}

const ACTIONS: &[&str] = &[
    "create",
    "save",
    "auto_save",
    "archive",
    "unarchive",
    "publish",
    "unpublish",
    "delete",
    "*",
];
const TYPES: &[&str] = &["Entry", "Asset", "ContentType", "*"];

async fn create(
    State(state): State<Contentful>,
    Path(space): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, axum::Json<Value>), Refusal> {
    common(&headers, &space)?;
    header(&headers, "content-type", MEDIA_TYPE)?;
    let body = json_body(&body)?;
    string(&body, "/name")?;
    absolute_url(string(&body, "/url")?)?;
    equals(&body, "/active", json!(true))?;
    let topics = body["topics"].as_array().filter(|t| !t.is_empty()).ok_or((
        StatusCode::BAD_REQUEST,
        "topics must be a non-empty array".into(),
    ))?;
    for topic in topics {
        let valid = topic
            .as_str()
            .and_then(|t| t.split_once('.'))
            .is_some_and(|(kind, action)| TYPES.contains(&kind) && ACTIONS.contains(&action));
        if !valid {
            return Err((
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("invalid topic {topic}"),
            ));
        }
    }
    let mut all = state.definitions.lock().unwrap();
    let mut definition = body.clone();
    definition["sys"] = json!({"type": "WebhookDefinition", "id": format!("wh{}", all.len() + 1)});
    all.push(definition.clone());
    Ok((StatusCode::CREATED, axum::Json(definition)))
}

async fn get_secret(
    State(state): State<Contentful>,
    Path(space): Path<String>,
    headers: HeaderMap,
) -> Result<axum::Json<Value>, Refusal> {
    common(&headers, &space)?;
    match state.signing_secret.lock().unwrap().as_deref() {
        Some(secret) => Ok(axum::Json(json!({
            "redactedValue": &secret[secret.len() - 4..],
            "sys": {"type": "WebhookSigningSecret"},
        }))),
        None => Err((
            StatusCode::NOT_FOUND,
            r#"{"sys":{"type":"Error","id":"NotFound"}}"#.into(),
        )),
    }
}

async fn put_secret(
    State(state): State<Contentful>,
    Path(space): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<axum::Json<Value>, Refusal> {
    common(&headers, &space)?;
    header(&headers, "content-type", MEDIA_TYPE)?;
    let body = json_body(&body)?;
    let value = string(&body, "/value")?;
    let valid = value.len() == 64
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+/=_-".contains(&b));
    if !valid {
        return Err((
            StatusCode::UNPROCESSABLE_ENTITY,
            "the secret must be 64 characters of [0-9a-zA-Z+/=_-]".into(),
        ));
    }
    *state.signing_secret.lock().unwrap() = Some(value.to_string());
    Ok(axum::Json(
        json!({"redactedValue": &value[60..], "sys": {"type": "WebhookSigningSecret"}}),
    ))
}
