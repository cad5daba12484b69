//! `stack-compose register`: the webhook of one provider, through the webhook-registration
//! library.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;
use url::Url;
use webhook_registration::{Provider, Registration, Secret};

/// Where the webhook goes and where the provider keeps it.
#[derive(Debug, Args)]
pub struct Register {
    /// decap, tina, shopify, sanity, contentful, snipcart or foxy.
    #[arg(long)]
    provider: String,
    /// The integration API's URL, the stack output IntegrationApiUrl; the webhook is this
    /// URL followed by /webhooks/PROVIDER.
    #[arg(long)]
    api_url: Url,
    /// Decap, Tina: the GitHub repository, as owner/name.
    #[arg(long)]
    repo: Option<String>,
    /// Shopify: the shop, as name or name.myshopify.com.
    #[arg(long)]
    shop: Option<String>,
    /// Shopify: the Admin API version.
    #[arg(long, default_value = Registration::DEFAULT_SHOPIFY_API_VERSION)]
    shopify_api_version: String,
    /// Sanity: the project id.
    #[arg(long)]
    project_id: Option<String>,
    /// Sanity: the dataset.
    #[arg(long, default_value = "production")]
    dataset: String,
    /// Contentful: the space id.
    #[arg(long)]
    space_id: Option<String>,
    /// The management API's base URL instead of the provider's own (GitHub Enterprise's
    /// https://HOST/api/v3, or a local stand-in).
    #[arg(long, env = "STACK_COMPOSE_API_BASE")]
    api_base: Option<Url>,
    /// Read the webhook secret from this file instead of the provider's environment variable
    /// (DECAP_WEBHOOK_SECRET, TINA_WEBHOOK_SECRET, SANITY_WEBHOOK_SECRET,
    /// CONTENTFUL_SIGNING_SECRET: the integration API's own setting).
    #[arg(long)]
    secret_file: Option<PathBuf>,
}

/// Registers (or prints the dashboard steps) and reports per subscription.
pub fn run(args: &Register, json: bool) -> anyhow::Result<()> {
    let provider = Provider::from_name(&args.provider)?;
    let mut registration = Registration::new(provider, &args.api_url)
        .shopify_api_version(&args.shopify_api_version)
        .dataset(&args.dataset);
    if let Some(repo) = &args.repo {
        registration = registration.repository(repo);
    }
    if let Some(shop) = &args.shop {
        registration = registration.shop(shop);
    }
    if let Some(project_id) = &args.project_id {
        registration = registration.project_id(project_id);
    }
    if let Some(space_id) = &args.space_id {
        registration = registration.space_id(space_id);
    }
    if let Some(base) = &args.api_base {
        registration = registration.api_base(base.clone());
    }
    let webhook_url = registration.webhook_url().to_string();

    if let Some(steps) = registration.instructions() {
        if json {
            return crate::print_json(&serde_json::json!({
                "provider": provider,
                "webhook_url": webhook_url,
                "instructions": steps,
            }));
        }
        print!("{steps}");
        return Ok(());
    }

    if let Some(secret) = secret(provider, args.secret_file.as_ref())? {
        registration = registration.secret(secret);
    }
    let token = provider
        .token_variable()
        .and_then(|v| std::env::var(v).ok())
        .map(Secret::new);
    let outcomes = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(registration.register(token))?;
    if json {
        return crate::print_json(&serde_json::json!({
            "provider": provider,
            "webhook_url": webhook_url,
            "outcomes": outcomes,
        }));
    }
    println!("{} webhook {webhook_url}:", provider.name());
    for outcome in &outcomes {
        let id = outcome
            .id
            .as_deref()
            .map(|id| format!(" ({id})"))
            .unwrap_or_default();
        println!("  {:<15} {}{id}", outcome.status, outcome.subscription);
        if let Some(note) = &outcome.note {
            println!("    note: {note}");
        }
    }
    Ok(())
}

/// The webhook secret from `--secret-file` or the provider's variable; never printed.
fn secret(provider: Provider, file: Option<&PathBuf>) -> anyhow::Result<Option<Secret>> {
    if let Some(path) = file {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the webhook secret from {}", path.display()))?;
        return Ok(Some(Secret::new(text.trim_end_matches(['\r', '\n']))));
    }
    Ok(provider
        .secret_variable()
        .and_then(|v| std::env::var(v).ok())
        .map(Secret::new))
}
