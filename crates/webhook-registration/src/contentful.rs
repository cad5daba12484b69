//! Contentful webhook definitions and the space's signing secret, through the Content
//! Management API.
//!
//! - `GET /spaces/{space_id}/webhook_definitions?limit=100&skip=N` lists the definitions;
//!   `POST` to the same path creates one: `{"name", "url", "topics", "filters": [],
//!   "headers": [], "active": true}`. The topics are the Contentful adapter's, without the
//!   `ContentManagement.` prefix its header carries (`Entry.publish`).
//! - `GET /spaces/{space_id}/webhook_settings/signing_secret` answers 404 when the space has
//!   none; then `PUT` there `{"value"}` sets it. An existing one is left alone (the API shows
//!   only its last characters, and it is the space's one secret for every webhook).
//!
//! Calls carry `Authorization: Bearer` and, with a body,
//! `Content-Type: application/vnd.contentful.management.v1+json`.

use serde::Deserialize;
use serde_json::json;

use crate::{MAX_PAGES, Outcome, Registration, RegistrationError, Secret, Status};

const DEFAULT_BASE: &str = "https://api.contentful.com";
const CONTENT_TYPE: &str = "application/vnd.contentful.management.v1+json";
const TOPIC_PREFIX: &str = "ContentManagement.";
const PAGE: usize = 100;
/// Contentful's rule for a signing secret: exactly 64 characters of this set.
const SECRET_LEN: usize = 64;

#[derive(Deserialize)]
struct Collection {
    items: Vec<Definition>,
    total: usize,
}

#[derive(Deserialize)]
struct Definition {
    sys: Sys,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    topics: Vec<String>,
}

#[derive(Deserialize)]
struct Sys {
    id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SigningSecret {
    redacted_value: String,
}

pub(crate) async fn register(
    registration: &Registration,
    client: &reqwest::Client,
    token: &Secret,
) -> Result<Vec<Outcome>, RegistrationError> {
    let space =
        registration.path_setting(registration.space_id.as_deref(), "space id", "yadj1kx9rmg0")?;
    let secret = registration.required_secret()?;
    check_secret(registration, secret)?;
    let api = registration.api(client, DEFAULT_BASE, &[token, secret]);
    let topics: Vec<&str> = providers::contentful::EVENTS
        .iter()
        .map(|t| t.strip_prefix(TOPIC_PREFIX).unwrap_or(t))
        .collect();
    let subscription = topics.join(",");
    let wanted = registration.webhook_url.as_str();
    let definitions_url = api.url(&format!("/spaces/{space}/webhook_definitions"));

    let mut outcomes = Vec::new();
    let mut found = None;
    let mut skip = 0;
    for page in 0..=MAX_PAGES {
        if page == MAX_PAGES {
            return Err(api.malformed(
                &definitions_url,
                format!("the webhook listing did not end within {MAX_PAGES} pages"),
            ));
        }
        let collection: Collection = api
            .send(
                client
                    .get(format!("{definitions_url}?limit={PAGE}&skip={skip}"))
                    .bearer_auth(token.expose()),
            )
            .await?;
        let count = collection.items.len();
        found = collection
            .items
            .into_iter()
            .find(|d| d.url.as_deref() == Some(wanted));
        skip += count;
        // An empty page ends the listing even when the total says otherwise.
        if found.is_some() || count == 0 || skip >= collection.total {
            break;
        }
    }
    match found {
        Some(definition) => {
            let missing: Vec<&str> = topics
                .iter()
                .copied()
                .filter(|t| !covers(&definition.topics, t))
                .collect();
            outcomes.push(Outcome {
                subscription,
                status: Status::AlreadyPresent,
                id: Some(definition.sys.id),
                note: (!missing.is_empty()).then(|| {
                    format!(
                        "the webhook does not send {}: add them in Settings → Webhooks",
                        missing.join(", ")
                    )
                }),
            });
        }
        None => {
            let created: Definition = api
                .send(
                    client
                        .post(&definitions_url)
                        .bearer_auth(token.expose())
                        .header(reqwest::header::CONTENT_TYPE, CONTENT_TYPE)
                        .body(
                            json!({
                                "name": "integration-api",
                                "url": wanted,
                                "topics": topics,
                                "filters": [],
                                "headers": [],
                                "active": true,
                            })
                            .to_string(),
                        ),
                )
                .await?;
            outcomes.push(Outcome {
                subscription,
                status: Status::Created,
                id: Some(created.sys.id),
                note: None,
            });
        }
    }

    let secret_url = api.url(&format!("/spaces/{space}/webhook_settings/signing_secret"));
    let existing: Option<SigningSecret> = api
        .send_unless_absent(client.get(&secret_url).bearer_auth(token.expose()))
        .await?;
    let outcome = match existing {
        Some(existing) => Outcome {
            subscription: "signing secret".into(),
            status: Status::AlreadyPresent,
            id: None,
            note: (!existing.redacted_value.is_empty()
                && !secret.expose().ends_with(&existing.redacted_value))
            .then(|| {
                "the space's signing secret is not the integration API's signing_secret: replace one of them".to_string()
            }),
        },
        None => {
            let _: SigningSecret = api
                .send(
                    client
                        .put(&secret_url)
                        .bearer_auth(token.expose())
                        .header(reqwest::header::CONTENT_TYPE, CONTENT_TYPE)
                        .body(json!({ "value": secret.expose() }).to_string())
                )
                .await?;
            Outcome {
                subscription: "signing secret".into(),
                status: Status::Created,
                id: None,
                note: None,
            }
        }
    };
    outcomes.push(outcome);
    Ok(outcomes)
}

/// Whether a definition's topics include `topic`, directly or by a `*` wildcard.
fn covers(topics: &[String], topic: &str) -> bool {
    let (kind, action) = topic.split_once('.').unwrap_or((topic, ""));
    topics.iter().any(|t| {
        let (k, a) = t.split_once('.').unwrap_or((t, ""));
        (k == kind || k == "*") && (a == action || a == "*")
    })
}

fn check_secret(registration: &Registration, secret: &Secret) -> Result<(), RegistrationError> {
    let value = secret.expose();
    let ok = value.len() == SECRET_LEN
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(RegistrationError::Secret {
            provider: registration.provider.name(),
            reason: format!(
                "must be exactly {SECRET_LEN} characters of A-Z, a-z, 0-9, +, /, =, _ or - \
                 (Contentful's rule); it has {} characters",
                value.chars().count()
            ),
        })
    }
}
