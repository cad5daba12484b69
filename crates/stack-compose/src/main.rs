//! `stack-compose`: choose, check, price and start one client's stack.
//!
//! Exit codes: 0 success; 1 a refused request (unknown or incompatible choice, cost input out
//! of range, an occupied output folder, a webhook registration that failed or was refused);
//! 2 a usage error (clap).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use compose::{Catalog, CostInputs, Kind, NewStack};

mod register;

/// The composition factory: a CMS, a shop and a generator for one client's stack.
#[derive(Debug, Parser)]
#[command(
    name = "stack-compose",
    version,
    after_help = "Exit codes: 0 success, 1 refused request, 2 usage error. Docs: docs/deploy.md"
)]
struct Cli {
    /// Print every answer as JSON on stdout.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The seed's compatibility answer for a combination.
    Check(Triple),
    /// The seed's recommended combinations for a client's needs.
    Recommend(Needs),
    /// The monthly cost estimate with its formulas and price table.
    Cost(Usage),
    /// Write a client's starting point: integration API config, samconfig.toml, the site's
    /// content-fetch.toml and the engine snippet.
    New(New),
    /// The known CMSes, commerce providers and engines.
    List,
    /// Register the stack's webhook at a provider through its management API, or print the
    /// dashboard steps for Snipcart and Foxy. Existing subscriptions to the same URL are left
    /// alone. The API token comes from the provider's environment variable (GITHUB_TOKEN,
    /// SHOPIFY_ADMIN_TOKEN, SANITY_API_TOKEN, CONTENTFUL_MANAGEMENT_TOKEN), never a flag.
    Register(register::Register),
}

#[derive(Debug, Args)]
struct Triple {
    /// The CMS: decap, tina, sanity or contentful.
    #[arg(long)]
    cms: String,
    /// The commerce provider: snipcart, foxy or shopify.
    #[arg(long)]
    commerce: String,
    /// The site generator: eleventy, astro or next.
    #[arg(long)]
    ssg: String,
}

#[derive(Debug, Args)]
struct Needs {
    /// Cost matters most.
    #[arg(long)]
    budget_conscious: bool,
    /// A small catalogue and simple content.
    #[arg(long)]
    simple_needs: bool,
    /// Speed matters most.
    #[arg(long)]
    performance_critical: bool,
    /// Enterprise workflows and scale.
    #[arg(long)]
    enterprise: bool,
}

#[derive(Debug, Args)]
struct Usage {
    /// Provider webhooks received per month.
    #[arg(long, default_value_t = CostInputs::default().webhooks_per_month)]
    webhooks_per_month: u64,
    /// Site builds per month.
    #[arg(long, default_value_t = CostInputs::default().builds_per_month)]
    builds_per_month: u64,
    /// Items in the content cache.
    #[arg(long, default_value_t = CostInputs::default().items)]
    items: u64,
    /// Size of the built site in MB.
    #[arg(long, default_value_t = CostInputs::default().site_mb)]
    site_mb: u64,
}

#[derive(Debug, Args)]
struct New {
    /// The client's id (a-z, 0-9, '-'), used in resource and secret names.
    #[arg(long)]
    client: String,
    #[command(flatten)]
    triple: Triple,
    /// dev, staging or prod.
    #[arg(long, default_value = "dev")]
    environment: String,
    /// The AWS region to deploy to.
    #[arg(long, default_value = "eu-west-1")]
    region: String,
    /// ISO 4217 currency for prices that arrive without one.
    #[arg(long, default_value = "EUR")]
    currency: String,
    /// The folder to write; it must not exist or be empty.
    #[arg(long)]
    out: PathBuf,
    /// Write into a folder that already holds files (replacing only this command's files).
    #[arg(long)]
    force: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprint!("error: {error}");
            for cause in error.chain().skip(1) {
                eprint!(": {cause}");
            }
            eprintln!();
            ExitCode::from(1)
        }
    }
}

fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

fn run(cli: &Cli) -> anyhow::Result<()> {
    let catalog = Catalog::embedded()?;
    match &cli.command {
        Command::Register(r) => return register::run(r, cli.json),
        Command::Check(t) => {
            let answer = catalog.check(&t.cms, &t.commerce, &t.ssg)?;
            if cli.json {
                return print_json(&answer);
            }
            let tested = if answer.tested { "tested" } else { "untested" };
            println!(
                "{} + {} + {}: compatible, {tested}, score {}/10, complexity {}{}",
                answer.cms,
                answer.commerce,
                answer.engine,
                answer.score,
                answer.complexity,
                if answer.recommended {
                    ", recommended"
                } else {
                    ""
                }
            );
            if let Some(warning) = &answer.warning {
                eprintln!("warning: {warning}");
            }
        }
        Command::Recommend(n) => {
            let needs: Vec<&str> = [
                (n.budget_conscious, "budget_conscious"),
                (n.simple_needs, "simple_needs"),
                (n.performance_critical, "performance_critical"),
                (n.enterprise, "enterprise"),
            ]
            .into_iter()
            .filter_map(|(on, name)| on.then_some(name))
            .collect();
            let found = catalog.recommend(&needs)?;
            if cli.json {
                return print_json(&found);
            }
            if found.is_empty() {
                println!(
                    "no recommendation for these needs; state one of --budget-conscious with --simple-needs, --performance-critical or --enterprise"
                );
            }
            for r in found {
                println!(
                    "{} + {} + {}: score {}/10, complexity {}, monthly {}, setup {}\n  {}",
                    r.cms,
                    r.commerce,
                    r.engine,
                    r.score,
                    r.complexity,
                    r.monthly_cost,
                    r.setup_cost,
                    r.reason
                );
            }
        }
        Command::Cost(u) => {
            let estimate = catalog.estimate(CostInputs {
                webhooks_per_month: u.webhooks_per_month,
                builds_per_month: u.builds_per_month,
                items: u.items,
                site_mb: u.site_mb,
            })?;
            if cli.json {
                return print_json(&serde_json::json!({
                    "estimate": estimate,
                    "prices": catalog.prices(),
                }));
            }
            println!(
                "Monthly estimate for {} webhooks, {} builds, {} items, {} MB site:",
                u.webhooks_per_month, u.builds_per_month, u.items, u.site_mb
            );
            for line in &estimate.lines {
                let seed = line
                    .seed_monthly
                    .map(|s| format!(" (seed: {s})"))
                    .unwrap_or_default();
                println!(
                    "  {:<18} {:>12}{seed}\n    {}",
                    line.name,
                    line.monthly.to_string(),
                    line.formula
                );
            }
            println!(
                "  integration overhead {} (the seed's fixed figure: {})\n  total with site builds {}",
                estimate.integration_overhead, estimate.seed_integration_overhead, estimate.total
            );
            let prices = catalog.prices();
            println!(
                "Prices ({}, as of {}, USD, no free tier):",
                prices.region, prices.as_of
            );
            for (name, value) in &prices.unit {
                println!("  {name} = {value}");
            }
        }
        Command::New(n) => {
            let stack = NewStack {
                client: n.client.clone(),
                environment: n.environment.clone(),
                cms: n.triple.cms.clone(),
                commerce: n.triple.commerce.clone(),
                engine: n.triple.ssg.clone(),
                region: n.region.clone(),
                currency: n.currency.clone(),
            };
            let scaffold = catalog.scaffold(&stack)?;
            scaffold.write(&n.out, n.force).map_err(|e| match e {
                compose::ComposeError::OutputExists { .. } => {
                    anyhow::anyhow!("{e} (pass --force to write into it)")
                }
                other => other.into(),
            })?;
            if cli.json {
                return print_json(&scaffold);
            }
            println!(
                "Wrote {} files to {}:",
                scaffold.files.len(),
                n.out.display()
            );
            for file in &scaffold.files {
                println!("  {}", file.path);
            }
            if let Some(warning) = &scaffold.compatibility.warning {
                eprintln!("warning: {warning}");
            }
            println!(
                "Webhooks to register after `sam deploy` ({{IntegrationApiUrl}} is a stack output):"
            );
            for w in &scaffold.webhooks {
                println!(
                    "  {:<10} {}  (via {})",
                    w.provider, w.url, w.registered_with
                );
            }
            println!("Still to fill in:");
            for item in &scaffold.to_fill {
                println!("  - {item}");
            }
        }
        Command::List => {
            let list: Vec<_> = [Kind::Cms, Kind::Commerce, Kind::Engine]
                .into_iter()
                .map(|k| (k, catalog.components(k)))
                .collect();
            if cli.json {
                let value: serde_json::Map<String, serde_json::Value> = list
                    .iter()
                    .map(|(k, c)| {
                        (
                            serde_json::to_value(k)
                                .unwrap_or_default()
                                .as_str()
                                .unwrap_or_default()
                                .to_string(),
                            serde_json::to_value(c).unwrap_or_default(),
                        )
                    })
                    .collect();
                return print_json(&value);
            }
            for (kind, components) in list {
                println!("{kind:?}:");
                for c in components {
                    println!("  {:<11} {}", c.id(), c.label());
                }
            }
        }
    }
    Ok(())
}
