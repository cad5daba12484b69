//! Sanity's webhooks API.
//!
//! `GET /v2021-10-04/hooks/projects/{projectId}` lists the project's webhooks; `POST` to the
//! same path creates a document webhook: `{"type": "document", "name", "url", "dataset",
//! "httpMethod": "POST", "apiVersion", "includeDrafts": false, "rule": {"on": [...]},
//! "secret"}`, with `Authorization: Bearer`. No filter and no projection: the body is then
//! the whole document and every type reaches the adapter, whose type map picks what it keeps.

use serde::Deserialize;
use serde_json::json;

use crate::{Outcome, Registration, RegistrationError, Secret, Status};

const DEFAULT_BASE: &str = "https://api.sanity.io";
const HOOKS_API: &str = "v2021-10-04";
/// The GROQ API version of the webhook's filter; delta GROQ needs at least this one.
const GROQ_API_VERSION: &str = "v2021-03-25";

#[derive(Deserialize)]
struct Hook {
    id: String,
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    dataset: Option<String>,
    #[serde(default)]
    rule: Option<Rule>,
}

#[derive(Deserialize)]
struct Rule {
    #[serde(default)]
    on: Vec<String>,
}

pub(crate) async fn register(
    registration: &Registration,
    client: &reqwest::Client,
    token: &Secret,
) -> Result<Vec<Outcome>, RegistrationError> {
    let project =
        registration.path_setting(registration.project_id.as_deref(), "project id", "abc123xy")?;
    let dataset =
        registration.path_setting(Some(&registration.dataset), "dataset", "production")?;
    let secret = registration.required_secret()?;
    let api = registration.api(client, DEFAULT_BASE, &[token, secret]);
    let hooks_url = api.url(&format!("/{HOOKS_API}/hooks/projects/{project}"));
    let operations = providers::sanity::EVENTS;
    let subscription = operations.join(",");

    let hooks: Vec<Hook> = api
        .send(client.get(&hooks_url).bearer_auth(token.expose()))
        .await?;
    let wanted = registration.webhook_url.as_str();
    if let Some(hook) = hooks.iter().find(|h| {
        h.kind.as_deref() == Some("document")
            && h.url.as_deref() == Some(wanted)
            && matches!(h.dataset.as_deref(), Some(d) if d == dataset || d == "*")
    }) {
        let on = hook
            .rule
            .as_ref()
            .map(|r| r.on.as_slice())
            .unwrap_or_default();
        let missing: Vec<&str> = operations
            .iter()
            .copied()
            .filter(|o| !on.iter().any(|x| x == o))
            .collect();
        return Ok(vec![Outcome {
            subscription,
            status: Status::AlreadyPresent,
            id: Some(hook.id.clone()),
            note: (!missing.is_empty()).then(|| {
                format!(
                    "the webhook does not trigger on {}: add it at sanity.io/manage",
                    missing.join(", ")
                )
            }),
        }]);
    }
    let created: Hook = api
        .send(
            client.post(&hooks_url).bearer_auth(token.expose()).json(&json!({
                "type": "document",
                "name": "integration-api",
                "description": "Content changes for the integration API (created by stack-compose register)",
                "url": wanted,
                "dataset": dataset,
                "httpMethod": "POST",
                "apiVersion": GROQ_API_VERSION,
                "includeDrafts": false,
                "rule": { "on": operations },
                "headers": {},
                "secret": secret.expose(),
            }))
        )
        .await?;
    Ok(vec![Outcome {
        subscription,
        status: Status::Created,
        id: Some(created.id),
        note: None,
    }])
}
