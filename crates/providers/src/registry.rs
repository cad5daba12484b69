//! The provider registry: the one place that lists the adapters.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::ProviderAdapter;
use crate::error::ConfigError;
use crate::settings::Settings;

/// How to build one adapter from its settings.
#[derive(Clone, Copy)]
pub struct Factory {
    /// The provider's registry name.
    pub name: &'static str,
    /// Builds the adapter, checking every setting it needs up front.
    pub build: fn(&Settings) -> Result<Arc<dyn ProviderAdapter>, ConfigError>,
}

/// Every provider this build knows. Adding a provider adds one line here.
pub const FACTORIES: &[Factory] = &[
    Factory {
        name: crate::shopify::NAME,
        build: crate::shopify::build,
    },
    Factory {
        name: crate::decap::NAME,
        build: crate::decap::build,
    },
    Factory {
        name: crate::tina::NAME,
        build: crate::tina::build,
    },
    Factory {
        name: "sanity",
        build: crate::sanity::build,
    },
    Factory {
        name: "contentful",
        build: crate::contentful::build,
    },
    Factory {
        name: "snipcart",
        build: crate::snipcart::build,
    },
    Factory {
        name: "foxy",
        build: crate::foxy::build,
    },
];

/// The enabled adapters, by name.
#[derive(Clone, Default)]
pub struct ProviderRegistry {
    adapters: BTreeMap<&'static str, Arc<dyn ProviderAdapter>>,
}

impl ProviderRegistry {
    /// Builds the adapters of the enabled providers: `tables` holds each enabled provider's
    /// config table by name, `env` the environment that may override any setting.
    /// Fails on the first unknown provider or missing or invalid setting.
    pub fn from_config(
        tables: &BTreeMap<String, BTreeMap<String, String>>,
        env: &BTreeMap<String, String>,
    ) -> Result<ProviderRegistry, ConfigError> {
        let mut registry = ProviderRegistry::default();
        for (name, table) in tables {
            let factory = FACTORIES
                .iter()
                .find(|f| f.name == name)
                .ok_or_else(|| ConfigError::UnknownProvider(name.clone(), known_names()))?;
            let settings = Settings::new(factory.name, table.clone(), env.clone());
            registry.insert((factory.build)(&settings)?);
        }
        Ok(registry)
    }

    /// Adds or replaces an adapter.
    pub fn insert(&mut self, adapter: Arc<dyn ProviderAdapter>) {
        self.adapters.insert(adapter.name(), adapter);
    }

    /// The adapter of `name`, if enabled.
    pub fn get(&self, name: &str) -> Option<&Arc<dyn ProviderAdapter>> {
        self.adapters.get(name)
    }

    /// The enabled adapters, by name.
    pub fn adapters(&self) -> impl Iterator<Item = &Arc<dyn ProviderAdapter>> {
        self.adapters.values()
    }
}

fn known_names() -> String {
    FACTORIES
        .iter()
        .map(|f| f.name)
        .collect::<Vec<_>>()
        .join(", ")
}
