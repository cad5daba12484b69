//! GitHub repository hooks, for the Git-based CMSes (Decap, Tina).
//!
//! `GET /repos/{owner}/{repo}/hooks` lists the hooks (100 a page); `POST` to the same path
//! creates one: `{"name": "web", "active": true, "events": ["push"], "config": {"url",
//! "content_type": "json", "secret", "insecure_ssl": "0"}}`. Calls carry `Authorization:
//! Bearer`, `Accept: application/vnd.github+json` and `X-GitHub-Api-Version`.

use serde::Deserialize;
use serde_json::json;

use crate::{MAX_PAGES, Outcome, Registration, RegistrationError, Secret, Status};

const DEFAULT_BASE: &str = "https://api.github.com";
const API_VERSION: &str = "2022-11-28";
const ACCEPT: &str = "application/vnd.github+json";
const PER_PAGE: usize = 100;

#[derive(Deserialize)]
struct Hook {
    id: u64,
    #[serde(default)]
    events: Vec<String>,
    config: HookConfig,
}

#[derive(Deserialize)]
struct HookConfig {
    #[serde(default)]
    url: Option<String>,
}

pub(crate) async fn register(
    registration: &Registration,
    client: &reqwest::Client,
    token: &Secret,
) -> Result<Vec<Outcome>, RegistrationError> {
    let (owner, repo) = repository(registration)?;
    let secret = registration.required_secret()?;
    let api = registration.api(client, DEFAULT_BASE, &[token, secret]);
    let hooks_url = api.url(&format!("/repos/{owner}/{repo}/hooks"));
    let request = |method: reqwest::Method, url: &str| {
        client
            .request(method, url)
            .bearer_auth(token.expose())
            .header(reqwest::header::ACCEPT, ACCEPT)
            .header("X-GitHub-Api-Version", API_VERSION)
    };

    let wanted = registration.webhook_url.as_str();
    for page in 1..=MAX_PAGES {
        let hooks: Vec<Hook> = api
            .send(request(
                reqwest::Method::GET,
                &format!("{hooks_url}?per_page={PER_PAGE}&page={page}"),
            ))
            .await?;
        if let Some(hook) = hooks
            .iter()
            .find(|h| h.config.url.as_deref() == Some(wanted))
        {
            let pushes = providers::decap::EVENTS
                .iter()
                .all(|e| hook.events.iter().any(|h| h == e || h == "*"));
            return Ok(vec![Outcome {
                subscription: events(),
                status: Status::AlreadyPresent,
                id: Some(hook.id.to_string()),
                note: (!pushes).then(|| {
                    format!(
                        "the hook does not send {}: add it in the repository's webhook settings",
                        events()
                    )
                }),
            }]);
        }
        if hooks.len() < PER_PAGE {
            let created: Hook = api
                .send(request(reqwest::Method::POST, &hooks_url).json(&json!({
                    "name": "web",
                    "active": true,
                    "events": providers::decap::EVENTS,
                    "config": {
                        "url": wanted,
                        "content_type": "json",
                        "secret": secret.expose(),
                        "insecure_ssl": "0",
                    },
                })))
                .await?;
            return Ok(vec![Outcome {
                subscription: events(),
                status: Status::Created,
                id: Some(created.id.to_string()),
                note: None,
            }]);
        }
    }
    Err(api.malformed(
        &hooks_url,
        format!("the hook listing did not end within {MAX_PAGES} pages"),
    ))
}

fn events() -> String {
    providers::decap::EVENTS.join(",")
}

/// `owner/name`, each part a safe path segment.
fn repository(registration: &Registration) -> Result<(&str, &str), RegistrationError> {
    let full = registration
        .repository
        .as_deref()
        .map(str::trim)
        .unwrap_or_default();
    let Some((owner, repo)) = full.split_once('/') else {
        return Err(RegistrationError::Setting {
            provider: registration.provider.name(),
            setting: "repository",
            reason: format!("{full:?} is not owner/name, such as acme/site"),
        });
    };
    Ok((
        registration.path_setting(Some(owner), "repository owner", "acme")?,
        registration.path_setting(Some(repo), "repository name", "site")?,
    ))
}
