//! The data of `compose.toml`, and finding a provider or engine in it by name.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::CATALOG_TOML;
use crate::error::ComposeError;
use crate::money::Money;
use ComposeError as E;

/// What a component is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A content management system.
    Cms,
    /// An e-commerce provider.
    Commerce,
    /// A static site generator.
    Engine,
}

impl Kind {
    fn noun(self) -> &'static str {
        match self {
            Kind::Cms => "CMS",
            Kind::Commerce => "commerce provider",
            Kind::Engine => "engine",
        }
    }
}

/// A CMS, shop or engine of the catalog.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Component {
    id: String,
    #[serde(default)]
    aliases: Vec<String>,
    label: String,
    /// For providers: the engines the seed's matrix pairs it with.
    #[serde(default)]
    engines: Vec<String>,
    /// For providers: settings that are not secret.
    #[serde(default)]
    settings: Vec<String>,
    /// For providers: settings kept in Secrets Manager.
    #[serde(default)]
    secrets: Vec<String>,
    /// For providers: how its webhook is registered (`github`, `shopify`, `sanity`,
    /// `contentful` or `dashboard`).
    #[serde(default)]
    webhook: Option<String>,
}

impl Component {
    /// The id, such as `sanity`.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// A one-line description.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The engines a provider works with.
    pub fn engines(&self) -> &[String] {
        &self.engines
    }

    /// A provider's settings that are not secret.
    pub fn settings(&self) -> &[String] {
        &self.settings
    }

    /// A provider's secret settings.
    pub fn secrets(&self) -> &[String] {
        &self.secrets
    }

    /// How a provider's webhook is registered.
    pub fn webhook(&self) -> Option<&str> {
        self.webhook.as_deref()
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Triple {
    pub(crate) cms: String,
    pub(crate) commerce: String,
    pub(crate) engine: String,
    pub(crate) score: u8,
    pub(crate) complexity: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Untested {
    pub(crate) score: u8,
    pub(crate) complexity: String,
    pub(crate) warning: String,
    pub(crate) recommended_from_score: u8,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RecommendationData {
    pub(crate) needs: Vec<String>,
    pub(crate) cms: String,
    pub(crate) commerce: String,
    pub(crate) engine: String,
    pub(crate) monthly_cost: String,
    pub(crate) setup_cost: String,
    pub(crate) reason: String,
    pub(crate) complexity: String,
    pub(crate) score: u8,
}

/// The unit prices of the estimate, with the date they were taken.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Prices {
    /// When the prices were taken (year and month).
    pub as_of: String,
    /// The AWS region they are for.
    pub region: String,
    /// Unit prices by name, in US dollars, as written in the data file.
    #[serde(flatten)]
    pub unit: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Usage {
    pub(crate) lambda_memory_mb: u64,
    pub(crate) lambda_ms_per_invocation: u64,
    pub(crate) write_units_per_webhook: u64,
    pub(crate) item_kb: u64,
    pub(crate) page_size: u64,
    pub(crate) build_minutes: u64,
}

/// The factory's data: providers, engines, the matrix, recommendations and prices.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalog {
    cms: Vec<Component>,
    commerce: Vec<Component>,
    engine: Vec<Component>,
    pub(crate) triple: Vec<Triple>,
    pub(crate) untested: Untested,
    pub(crate) recommendation: Vec<RecommendationData>,
    pub(crate) seed_overhead: BTreeMap<String, String>,
    pub(crate) prices: Prices,
    pub(crate) usage: Usage,
    pub(crate) setting_defaults: BTreeMap<String, String>,
}

impl Catalog {
    /// The catalog embedded in this build.
    pub fn embedded() -> Result<Catalog, ComposeError> {
        let catalog: Catalog =
            toml::from_str(CATALOG_TOML).map_err(|e| E::Catalog(e.to_string()))?;
        catalog.prices_checked()?;
        Ok(catalog)
    }

    /// The components of one kind, in the catalog's order.
    pub fn components(&self, kind: Kind) -> &[Component] {
        match kind {
            Kind::Cms => &self.cms,
            Kind::Commerce => &self.commerce,
            Kind::Engine => &self.engine,
        }
    }

    /// The component of `kind` named `name` (its id or an alias, any case).
    pub fn find(&self, kind: Kind, name: &str) -> Result<&Component, ComposeError> {
        let wanted = name.trim().to_ascii_lowercase();
        self.components(kind)
            .iter()
            .find(|c| c.id == wanted || c.aliases.contains(&wanted))
            .ok_or_else(|| E::Unknown {
                kind: kind.noun(),
                given: name.to_string(),
                known: self.components(kind).iter().map(|c| c.id.clone()).collect(),
            })
    }

    /// The price table.
    pub fn prices(&self) -> &Prices {
        &self.prices
    }

    pub(crate) fn price(&self, name: &str) -> Money {
        self.prices
            .unit
            .get(name)
            .and_then(|p| Money::parse(p))
            .unwrap_or_default()
    }

    fn prices_checked(&self) -> Result<(), ComposeError> {
        for (name, value) in &self.prices.unit {
            if Money::parse(value).is_none() {
                return Err(E::Catalog(format!(
                    "price {name} = '{value}' is no decimal"
                )));
            }
        }
        for (name, value) in &self.seed_overhead {
            if Money::parse(value).is_none() {
                return Err(E::Catalog(format!(
                    "seed_overhead {name} = '{value}' is no decimal"
                )));
            }
        }
        Ok(())
    }
}
