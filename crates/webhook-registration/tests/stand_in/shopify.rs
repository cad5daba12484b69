//! Shopify's Admin GraphQL API: `POST /admin/api/{version}/graphql.json` with the
//! `webhookSubscriptions` query and the `webhookSubscriptionCreate` mutation.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use serde_json::{Value, json};

use super::{Refusal, absolute_url, credential, equals, header, json_body, string};

pub const TOKEN: &str = "shpat_stand_in_token";
pub const VERSION: &str = "2026-10";
/// The stand-in's page size, small so that the listing spans pages.
const PAGE: usize = 3;
/// Values of Shopify's `WebhookSubscriptionTopic` enum the stand-in knows.
const TOPICS: &[&str] = &[
    "PRODUCTS_CREATE",
    "PRODUCTS_UPDATE",
    "PRODUCTS_DELETE",
    "COLLECTIONS_CREATE",
    "COLLECTIONS_UPDATE",
    "COLLECTIONS_DELETE",
    "INVENTORY_LEVELS_UPDATE",
    "ORDERS_CREATE",
];

/// The stand-in's subscriptions (`{id, topic, uri}`), shared with the test.
#[derive(Clone, Default)]
pub struct Shopify {
    pub subscriptions: Arc<Mutex<Vec<Value>>>,
}

impl Shopify {
    pub fn router(&self) -> Router {
        Router::new()
            .route("/admin/api/{version}/graphql.json", post(graphql))
            .with_state(self.clone())
    }
}

async fn graphql(
    State(state): State<Shopify>,
    Path(version): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<axum::Json<Value>, Refusal> {
    credential(
        &headers,
        "x-shopify-access-token",
        TOKEN,
        r#"{"errors":"[API] Invalid API key or access token (unrecognized login or wrong password)"}"#,
    )?;
    if version != VERSION {
        return Err((StatusCode::NOT_FOUND, format!("no API version {version}")));
    }
    header(&headers, "content-type", "application/json")?;
    let body = json_body(&body)?;
    let query = string(&body, "/query")?;
    let variables = &body["variables"];
    if query.starts_with("query")
        && query.contains("webhookSubscriptions(first: 100, after: $after)")
    {
        let after = match &variables["after"] {
            Value::Null => 0,
            Value::String(cursor) => cursor
                .strip_prefix("cursor-")
                .and_then(|n| n.parse().ok())
                .ok_or((StatusCode::BAD_REQUEST, format!("unknown cursor {cursor}")))?,
            other => {
                return Err((
                    StatusCode::BAD_REQUEST,
                    format!("after must be a string or null, got {other}"),
                ));
            }
        };
        let all = state.subscriptions.lock().unwrap();
        let nodes: Vec<Value> = all.iter().skip(after).take(PAGE).cloned().collect();
        let end = after + nodes.len();
        return Ok(axum::Json(json!({"data": {"webhookSubscriptions": {
            "nodes": nodes,
            "pageInfo": {"hasNextPage": end < all.len(), "endCursor": format!("cursor-{end}")},
        }}})));
    }
    if query.starts_with("mutation")
        && query.contains(
            "webhookSubscriptionCreate(topic: $topic, webhookSubscription: $webhookSubscription)",
        )
        && query.contains("userErrors")
    {
        let topic = string(variables, "/topic")?;
        if !TOPICS.contains(&topic) {
            return Ok(axum::Json(
                json!({"errors": [{"message": format!("Variable $topic of type WebhookSubscriptionTopic! was provided invalid value {topic}")}]}),
            ));
        }
        let uri = string(variables, "/webhookSubscription/uri")?;
        absolute_url(uri)?;
        equals(variables, "/webhookSubscription/format", json!("JSON"))?;
        let mut all = state.subscriptions.lock().unwrap();
        if all.iter().any(|s| s["topic"] == topic && s["uri"] == uri) {
            return Ok(axum::Json(json!({"data": {"webhookSubscriptionCreate": {
                "webhookSubscription": null,
                "userErrors": [{"field": ["webhookSubscription", "callbackUrl"], "message": "Address for this topic has already been taken"}],
            }}})));
        }
        let subscription = json!({
            "id": format!("gid://shopify/WebhookSubscription/{}", all.len() + 1),
            "topic": topic,
            "uri": uri,
        });
        all.push(subscription.clone());
        return Ok(axum::Json(json!({"data": {"webhookSubscriptionCreate": {
            "webhookSubscription": subscription,
            "userErrors": [],
        }}})));
    }
    Ok(axum::Json(
        json!({"errors": [{"message": "the stand-in knows only the documented list query and create mutation"}]}),
    ))
}
