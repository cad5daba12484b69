//! Registration against loopback stand-ins of the four management APIs: created when absent,
//! left alone when present (a second run creates nothing), a refused token and a malformed
//! answer give errors naming the provider.

mod stand_in;

use axum::http::StatusCode;
use url::Url;
use webhook_registration::{Outcome, Provider, Registration, RegistrationError, Secret, Status};

use stand_in::{contentful, github, sanity, shopify};

const API_URL: &str = "https://abc123.execute-api.eu-west-1.amazonaws.com/prod";
const SECRET: &str = "a-webhook-secret";
/// Contentful's signing secrets are exactly 64 characters.
const SIGNING_SECRET: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

fn registration(provider: Provider, base: &Url) -> Registration {
    let api: Url = API_URL.parse().unwrap();
    let registration = Registration::new(provider, &api).api_base(base.clone());
    match provider {
        Provider::Decap | Provider::Tina => registration
            .repository("acme/site")
            .secret(Secret::new(SECRET)),
        Provider::Shopify => registration.shop("acme"),
        Provider::Sanity => registration
            .project_id(sanity::PROJECT)
            .secret(Secret::new(SECRET)),
        Provider::Contentful => registration
            .space_id(contentful::SPACE)
            .secret(Secret::new(SIGNING_SECRET)),
        _ => registration,
    }
}

/// Registers `provider` at the stand-in at `base` with `token`, expecting success.
async fn register(provider: Provider, base: &Url, token: &str) -> Vec<Outcome> {
    registration(provider, base)
        .register(Some(Secret::new(token)))
        .await
        .unwrap()
}

fn statuses(outcomes: &[Outcome]) -> Vec<(String, Status)> {
    outcomes
        .iter()
        .map(|o| (o.subscription.clone(), o.status))
        .collect()
}

fn all(outcomes: &[Outcome], status: Status) -> bool {
    !outcomes.is_empty()
        && outcomes
            .iter()
            .all(|o| o.status == status && o.note.is_none())
}

#[tokio::test]
async fn github_creates_once_across_pages() {
    let stand_in = github::GitHub::default().with_other_hooks(120);
    let base = stand_in::serve(stand_in.router()).await;

    let first = register(Provider::Decap, &base, github::TOKEN).await;
    assert_eq!(statuses(&first), [("push".to_string(), Status::Created)]);
    let second = register(Provider::Decap, &base, github::TOKEN).await;
    assert!(all(&second, Status::AlreadyPresent), "{second:?}");
    assert_eq!(first[0].id, second[0].id);

    let hooks = stand_in.hooks.lock().unwrap();
    assert_eq!(hooks.len(), 121, "one hook added to the 120 others");
    let ours = &hooks[120];
    assert_eq!(ours["config"]["url"], format!("{API_URL}/webhooks/decap"));
    assert_eq!(*stand_in.secrets.lock().unwrap(), [SECRET]);
}

#[tokio::test]
async fn shopify_subscribes_each_handled_topic_once() {
    let stand_in = shopify::Shopify::default();
    let base = stand_in::serve(stand_in.router()).await;

    let first = register(Provider::Shopify, &base, shopify::TOKEN).await;
    let topics: Vec<String> = first.iter().map(|o| o.subscription.clone()).collect();
    assert_eq!(
        topics,
        [
            "PRODUCTS_CREATE",
            "PRODUCTS_UPDATE",
            "PRODUCTS_DELETE",
            "COLLECTIONS_CREATE",
            "COLLECTIONS_UPDATE",
            "COLLECTIONS_DELETE",
            "INVENTORY_LEVELS_UPDATE"
        ]
    );
    assert!(all(&first, Status::Created), "{first:?}");
    // The stand-in pages by 3, so the second run reads three pages.
    let second = register(Provider::Shopify, &base, shopify::TOKEN).await;
    assert!(all(&second, Status::AlreadyPresent), "{second:?}");
    let subscriptions = stand_in.subscriptions.lock().unwrap();
    assert_eq!(subscriptions.len(), 7);
    assert!(
        subscriptions
            .iter()
            .all(|s| s["uri"] == format!("{API_URL}/webhooks/shopify"))
    );
}

#[tokio::test]
async fn shopify_subscription_to_another_url_is_not_ours() {
    let stand_in = shopify::Shopify::default();
    stand_in.subscriptions.lock().unwrap().push(serde_json::json!({
        "id": "gid://shopify/WebhookSubscription/99", "topic": "PRODUCTS_CREATE", "uri": "https://old.example/hook",
    }));
    let base = stand_in::serve(stand_in.router()).await;
    let outcomes = register(Provider::Shopify, &base, shopify::TOKEN).await;
    assert!(all(&outcomes, Status::Created), "{outcomes:?}");
    assert_eq!(
        stand_in.subscriptions.lock().unwrap().len(),
        8,
        "the old one is left in place"
    );
}

#[tokio::test]
async fn sanity_creates_once() {
    let stand_in = sanity::Sanity::default();
    let base = stand_in::serve(stand_in.router()).await;

    let first = register(Provider::Sanity, &base, sanity::TOKEN).await;
    assert_eq!(
        statuses(&first),
        [("create,update,delete".to_string(), Status::Created)]
    );
    let second = register(Provider::Sanity, &base, sanity::TOKEN).await;
    assert!(all(&second, Status::AlreadyPresent), "{second:?}");
    let hooks = stand_in.hooks.lock().unwrap();
    assert_eq!(hooks.len(), 1);
    assert_eq!(hooks[0]["url"], format!("{API_URL}/webhooks/sanity"));
    assert_eq!(hooks[0]["dataset"], "production");
    assert_eq!(hooks[0]["secret"], SECRET);
}

#[tokio::test]
async fn contentful_creates_definition_and_secret_once() {
    let stand_in = contentful::Contentful::default();
    // Unrelated definitions, so the listing spans pages (the stand-in pages by 2).
    for i in 0..5 {
        stand_in.definitions.lock().unwrap().push(serde_json::json!({
            "sys": {"id": format!("other{i}")}, "url": format!("https://other.example/{i}"), "topics": ["Entry.save"],
        }));
    }
    let base = stand_in::serve(stand_in.router()).await;

    let first = register(Provider::Contentful, &base, contentful::TOKEN).await;
    assert!(all(&first, Status::Created), "{first:?}");
    assert_eq!(first.len(), 2);
    assert_eq!(first[1].subscription, "signing secret");
    let second = register(Provider::Contentful, &base, contentful::TOKEN).await;
    assert!(all(&second, Status::AlreadyPresent), "{second:?}");

    let definitions = stand_in.definitions.lock().unwrap();
    assert_eq!(definitions.len(), 6);
    assert_eq!(
        definitions[5]["url"],
        format!("{API_URL}/webhooks/contentful")
    );
    assert_eq!(definitions[5]["topics"][0], "Entry.publish");
    assert_eq!(
        stand_in.signing_secret.lock().unwrap().as_deref(),
        Some(SIGNING_SECRET)
    );
}

#[tokio::test]
async fn contentful_other_signing_secret_is_left_and_flagged() {
    let stand_in = contentful::Contentful::default();
    *stand_in.signing_secret.lock().unwrap() = Some("z".repeat(64));
    let base = stand_in::serve(stand_in.router()).await;
    let outcomes = register(Provider::Contentful, &base, contentful::TOKEN).await;
    assert_eq!(outcomes[1].status, Status::AlreadyPresent);
    assert!(
        outcomes[1]
            .note
            .as_deref()
            .unwrap()
            .contains("signing_secret")
    );
    assert_eq!(
        stand_in.signing_secret.lock().unwrap().as_deref(),
        Some("z".repeat(64).as_str())
    );
}

/// Every provider's stand-in and its token variable.
async fn stand_ins() -> Vec<(Provider, Url, &'static str)> {
    vec![
        (
            Provider::Tina,
            stand_in::serve(github::GitHub::default().router()).await,
            "GITHUB_TOKEN",
        ),
        (
            Provider::Shopify,
            stand_in::serve(shopify::Shopify::default().router()).await,
            "SHOPIFY_ADMIN_TOKEN",
        ),
        (
            Provider::Sanity,
            stand_in::serve(sanity::Sanity::default().router()).await,
            "SANITY_API_TOKEN",
        ),
        (
            Provider::Contentful,
            stand_in::serve(contentful::Contentful::default().router()).await,
            "CONTENTFUL_MANAGEMENT_TOKEN",
        ),
    ]
}

#[tokio::test]
async fn a_refused_token_names_the_provider_and_variable() {
    for (provider, base, variable) in stand_ins().await {
        let error = registration(provider, &base)
            .register(Some(Secret::new("wrong-token")))
            .await
            .unwrap_err();
        assert!(
            matches!(error, RegistrationError::Unauthorized { status: 401, .. }),
            "{error:?}"
        );
        let message = error.to_string();
        assert!(
            message.starts_with(&format!(
                "{} refused the API token from {variable} with 401",
                provider.name()
            )),
            "{message}"
        );
        assert!(
            !message.contains("wrong-token"),
            "the token never shows: {message}"
        );
    }
}

#[tokio::test]
async fn a_missing_token_names_the_variable() {
    let base: Url = "http://127.0.0.1:9".parse().unwrap();
    for (provider, variable) in [
        (Provider::Decap, "GITHUB_TOKEN"),
        (Provider::Shopify, "SHOPIFY_ADMIN_TOKEN"),
        (Provider::Sanity, "SANITY_API_TOKEN"),
        (Provider::Contentful, "CONTENTFUL_MANAGEMENT_TOKEN"),
    ] {
        let error = registration(provider, &base)
            .register(None)
            .await
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "{}: no API token: set the environment variable {variable}",
                provider.name()
            )
        );
        let blank = registration(provider, &base)
            .register(Some(Secret::new(" ")))
            .await
            .unwrap_err();
        assert!(matches!(blank, RegistrationError::MissingToken { .. }));
    }
}

#[tokio::test]
async fn a_malformed_answer_is_a_clear_error() {
    let not_json = stand_in::answering(StatusCode::OK, "<html>maintenance</html>").await;
    let wrong_shape = stand_in::answering(StatusCode::OK, r#"{"unexpected": true}"#).await;
    for provider in [
        Provider::Decap,
        Provider::Shopify,
        Provider::Sanity,
        Provider::Contentful,
    ] {
        let token = Some(Secret::new("t"));
        for base in [&not_json, &wrong_shape] {
            let error = registration(provider, base)
                .register(token.clone())
                .await
                .unwrap_err();
            assert!(
                matches!(error, RegistrationError::Malformed { .. }),
                "{provider:?}: {error:?}"
            );
            let message = error.to_string();
            assert!(
                message.starts_with(&format!(
                    "{} sent an unexpected answer from {base}",
                    provider.name()
                )),
                "{message}"
            );
        }
    }
}

#[tokio::test]
async fn an_endless_shopify_listing_is_refused() {
    // hasNextPage forever with the same cursor: a paging loop.
    let looping = stand_in::answering(
        StatusCode::OK,
        r#"{"data":{"webhookSubscriptions":{"nodes":[],"pageInfo":{"hasNextPage":true,"endCursor":"c"}}}}"#,
    )
    .await;
    let error = registration(Provider::Shopify, &looping)
        .register(Some(Secret::new("t")))
        .await
        .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("the same page cursor came back twice"),
        "{error}"
    );
}

#[tokio::test]
async fn bad_settings_are_refused_before_any_call() {
    let base: Url = "http://127.0.0.1:9".parse().unwrap();
    let api: Url = API_URL.parse().unwrap();
    let token = || Some(Secret::new("t"));
    let cases = [
        (
            Registration::new(Provider::Decap, &api)
                .api_base(base.clone())
                .repository("acme")
                .secret(Secret::new(SECRET)),
            "decap: repository \"acme\" is not owner/name, such as acme/site",
        ),
        (
            Registration::new(Provider::Decap, &api)
                .api_base(base.clone())
                .repository("acme/../x")
                .secret(Secret::new(SECRET)),
            "decap: repository name \"../x\" is not valid: expected letters, digits, '-', '_' or '.', such as site",
        ),
        (
            Registration::new(Provider::Tina, &api)
                .api_base(base.clone())
                .repository("acme/site"),
            "tina: the webhook secret is missing: set TINA_WEBHOOK_SECRET (the integration API's webhook_secret)",
        ),
        (
            Registration::new(Provider::Sanity, &api)
                .api_base(base.clone())
                .secret(Secret::new(SECRET)),
            "sanity: project id is missing: expected letters, digits, '-', '_' or '.', such as abc123xy",
        ),
        (
            Registration::new(Provider::Contentful, &api)
                .api_base(base.clone())
                .space_id("s1")
                .secret(Secret::new("short")),
            "contentful: the webhook secret must be exactly 64 characters of A-Z, a-z, 0-9, +, /, =, _ or - (Contentful's rule); it has 5 characters",
        ),
    ];
    for (registration, expected) in cases {
        assert_eq!(
            registration
                .register(token())
                .await
                .unwrap_err()
                .to_string(),
            expected
        );
    }
}

#[test]
fn webhook_urls_and_names() {
    let api: Url = "https://x.execute-api.eu-west-1.amazonaws.com/prod/"
        .parse()
        .unwrap();
    assert_eq!(
        Provider::Foxy.webhook_url(&api).as_str(),
        "https://x.execute-api.eu-west-1.amazonaws.com/prod/webhooks/foxy"
    );
    let error = Provider::from_name("wordpress").unwrap_err();
    assert_eq!(
        error.to_string(),
        "unknown provider \"wordpress\": known providers are decap, tina, shopify, sanity, contentful, snipcart, foxy"
    );
    assert_eq!(
        Provider::Contentful.secret_variable().as_deref(),
        Some("CONTENTFUL_SIGNING_SECRET")
    );
    assert!(
        Registration::new(Provider::Snipcart, &api)
            .instructions()
            .is_some()
    );
    assert!(
        Registration::new(Provider::Sanity, &api)
            .instructions()
            .is_none()
    );
}

#[tokio::test]
async fn an_existing_hook_lacking_an_event_is_left_and_flagged() {
    let stand_in = github::GitHub::default();
    stand_in.hooks.lock().unwrap().push(serde_json::json!({
        "id": 7, "name": "web", "active": true, "events": ["issues"],
        "config": {"url": format!("{API_URL}/webhooks/tina"), "content_type": "json", "insecure_ssl": "0"},
    }));
    let base = stand_in::serve(stand_in.router()).await;
    let outcomes = register(Provider::Tina, &base, github::TOKEN).await;
    assert_eq!(outcomes[0].status, Status::AlreadyPresent);
    assert_eq!(outcomes[0].id.as_deref(), Some("7"));
    assert_eq!(
        outcomes[0].note.as_deref(),
        Some("the hook does not send push: add it in the repository's webhook settings")
    );
    assert_eq!(
        stand_in.hooks.lock().unwrap().len(),
        1,
        "nothing created or changed"
    );
}

#[tokio::test]
async fn a_sanity_webhook_on_every_dataset_counts_as_present() {
    let stand_in = sanity::Sanity::default();
    stand_in.hooks.lock().unwrap().push(serde_json::json!({
        "id": "old", "type": "document", "url": format!("{API_URL}/webhooks/sanity"), "dataset": "*",
        "rule": {"on": ["create", "update", "delete"]},
    }));
    let base = stand_in::serve(stand_in.router()).await;
    let outcomes = register(Provider::Sanity, &base, sanity::TOKEN).await;
    assert!(all(&outcomes, Status::AlreadyPresent), "{outcomes:?}");
    assert_eq!(stand_in.hooks.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_forbidden_token_is_refused_like_an_invalid_one() {
    let forbidden = stand_in::answering(
        StatusCode::FORBIDDEN,
        r#"{"message":"Resource not accessible by personal access token"}"#,
    )
    .await;
    let error = registration(Provider::Decap, &forbidden)
        .register(Some(Secret::new("t")))
        .await
        .unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("decap refused the API token from GITHUB_TOKEN with 403"),
        "{error}"
    );
}
