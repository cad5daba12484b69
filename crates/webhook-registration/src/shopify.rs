//! Shopify Admin GraphQL webhook subscriptions.
//!
//! All calls are `POST /admin/api/<version>/graphql.json` with `X-Shopify-Access-Token`.
//! The `webhookSubscriptions` query lists the app's subscriptions (100 a page, by cursor);
//! `webhookSubscriptionCreate(topic, webhookSubscription: {uri, format: JSON})` adds one per
//! topic the Shopify adapter handles (`products/create` is the enum `PRODUCTS_CREATE`).
//! Shopify signs deliveries with the app's client secret, so no secret is sent.

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::api::Api;
use crate::{MAX_PAGES, Outcome, Registration, RegistrationError, Secret, Status};

pub(crate) const DEFAULT_API_VERSION: &str = "2026-10";

const LIST: &str = "query WebhookSubscriptions($after: String) {
  webhookSubscriptions(first: 100, after: $after) {
    nodes { id topic uri }
    pageInfo { hasNextPage endCursor }
  }
}";

const CREATE: &str = "mutation WebhookSubscriptionCreate($topic: WebhookSubscriptionTopic!, $webhookSubscription: WebhookSubscriptionInput!) {
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: $webhookSubscription) {
    webhookSubscription { id topic uri }
    userErrors { field message }
  }
}";

#[derive(Deserialize)]
struct Answer<T> {
    data: Option<T>,
    #[serde(default)]
    errors: Vec<Message>,
}

#[derive(Deserialize)]
struct Message {
    message: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListData {
    webhook_subscriptions: Connection,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Connection {
    nodes: Vec<Subscription>,
    page_info: PageInfo,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PageInfo {
    has_next_page: bool,
    end_cursor: Option<String>,
}

#[derive(Deserialize)]
struct Subscription {
    id: String,
    topic: String,
    uri: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateData {
    webhook_subscription_create: Created,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Created {
    webhook_subscription: Option<Subscription>,
    #[serde(default)]
    user_errors: Vec<Message>,
}

/// `products/create` → `PRODUCTS_CREATE`, the GraphQL enum of a REST topic name.
fn topic_enum(topic: &str) -> String {
    topic.replace('/', "_").to_ascii_uppercase()
}

pub(crate) async fn register(
    registration: &Registration,
    client: &reqwest::Client,
    token: &Secret,
) -> Result<Vec<Outcome>, RegistrationError> {
    let provider = registration.provider.name();
    let shop = registration.path_setting(
        registration.shop.as_deref(),
        "shop",
        "acme or acme.myshopify.com",
    )?;
    let host = if shop.contains('.') {
        shop.to_string()
    } else {
        format!("{shop}.myshopify.com")
    };
    let version = registration.path_setting(
        Some(&registration.shopify_api_version),
        "Admin API version",
        DEFAULT_API_VERSION,
    )?;
    let api = registration.api(client, &format!("https://{host}"), &[token]);
    let url = api.url(&format!("/admin/api/{version}/graphql.json"));
    let graphql = Graphql {
        api: &api,
        url: &url,
        token,
    };

    let mut existing = Vec::new();
    let mut after: Option<String> = None;
    let mut finished = false;
    for _ in 0..MAX_PAGES {
        let page: ListData = graphql
            .call(LIST, json!({ "after": after }), "webhookSubscriptions")
            .await?;
        let connection = page.webhook_subscriptions;
        existing.extend(connection.nodes);
        let next = connection
            .page_info
            .end_cursor
            .filter(|_| connection.page_info.has_next_page);
        if next.is_none() {
            finished = true;
            break;
        }
        if next == after {
            return Err(api.malformed(&url, "the same page cursor came back twice"));
        }
        after = next;
    }
    if !finished {
        return Err(api.malformed(
            &url,
            format!("the subscription listing did not end within {MAX_PAGES} pages"),
        ));
    }

    let wanted = registration.webhook_url.as_str();
    let mut outcomes = Vec::new();
    for topic in providers::shopify::EVENTS.iter().map(|t| topic_enum(t)) {
        if let Some(found) = existing
            .iter()
            .find(|s| s.topic == topic && s.uri.as_deref() == Some(wanted))
        {
            outcomes.push(Outcome {
                subscription: topic,
                status: Status::AlreadyPresent,
                id: Some(found.id.clone()),
                note: None,
            });
            continue;
        }
        let data: CreateData = graphql
            .call(
                CREATE,
                json!({
                    "topic": topic,
                    "webhookSubscription": { "uri": wanted, "format": "JSON" },
                }),
                &topic,
            )
            .await?;
        let created = data.webhook_subscription_create;
        if !created.user_errors.is_empty() {
            return Err(RegistrationError::Refused {
                provider,
                subscription: topic,
                messages: join(&created.user_errors),
            });
        }
        let subscription = created.webhook_subscription.ok_or_else(|| {
            api.malformed(&url, format!("webhookSubscriptionCreate for {topic} returned no subscription and no userErrors"))
        })?;
        outcomes.push(Outcome {
            subscription: topic,
            status: Status::Created,
            id: Some(subscription.id),
            note: None,
        });
    }
    Ok(outcomes)
}

struct Graphql<'a> {
    api: &'a Api<'a>,
    url: &'a str,
    token: &'a Secret,
}

impl Graphql<'_> {
    /// One GraphQL call; top-level `errors` (throttling, a bad query, a missing scope) are a
    /// refusal of `subject`.
    async fn call<T: DeserializeOwned>(
        &self,
        query: &str,
        variables: Value,
        subject: &str,
    ) -> Result<T, RegistrationError> {
        let request = self
            .api
            .client
            .post(self.url)
            .header("X-Shopify-Access-Token", self.token.expose())
            .json(&json!({ "query": query, "variables": variables }));
        let answer: Answer<T> = self.api.send(request).await?;
        if !answer.errors.is_empty() {
            return Err(RegistrationError::Refused {
                provider: self.api.provider,
                subscription: subject.to_string(),
                messages: join(&answer.errors),
            });
        }
        answer
            .data
            .ok_or_else(|| self.api.malformed(self.url, "neither data nor errors"))
    }
}

fn join(messages: &[Message]) -> String {
    messages
        .iter()
        .map(|m| m.message.as_str())
        .collect::<Vec<_>>()
        .join("; ")
}
