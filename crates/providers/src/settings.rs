//! Provider settings from a config file section or the environment.

use std::collections::BTreeMap;

use crate::error::ConfigError;
use crate::secret::Secret;

/// The settings of one provider: values from its config file table
/// (`[providers.shopify] webhook_secret = "..."`), each overridable by an environment variable
/// named `<PROVIDER>_<SETTING>` in upper case (`SHOPIFY_WEBHOOK_SECRET`).
#[derive(Debug, Clone)]
pub struct Settings {
    provider: &'static str,
    values: BTreeMap<String, String>,
    env: BTreeMap<String, String>,
}

impl Settings {
    /// Settings of `provider` from its table and an environment snapshot.
    pub fn new(
        provider: &'static str,
        table: BTreeMap<String, String>,
        env: BTreeMap<String, String>,
    ) -> Self {
        Settings {
            provider,
            values: table,
            env,
        }
    }

    /// Settings from a table alone, for tests.
    pub fn from_table<K: Into<String>, V: Into<String>>(
        provider: &'static str,
        table: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Settings::new(
            provider,
            table
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
            BTreeMap::new(),
        )
    }

    /// The environment variable that overrides `setting`.
    pub fn env_name(&self, setting: &str) -> String {
        format!("{}_{}", self.provider, setting)
            .to_ascii_uppercase()
            .replace('-', "_")
    }

    /// A setting's value, if set and not empty.
    pub fn get(&self, setting: &str) -> Option<&str> {
        self.env
            .get(&self.env_name(setting))
            .or_else(|| self.values.get(setting))
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// A setting's value as given, trimmed, even when empty: for the few settings where an
    /// empty value must be refused rather than read as unset.
    pub(crate) fn get_even_if_empty(&self, setting: &str) -> Option<&str> {
        self.env
            .get(&self.env_name(setting))
            .or_else(|| self.values.get(setting))
            .map(|v| v.trim())
    }

    /// A required setting.
    pub fn require(&self, setting: &'static str) -> Result<&str, ConfigError> {
        self.get(setting).ok_or_else(|| ConfigError::Missing {
            provider: self.provider,
            setting,
            env: self.env_name(setting),
        })
    }

    /// A required secret.
    pub fn require_secret(&self, setting: &'static str) -> Result<Secret, ConfigError> {
        self.require(setting).map(Secret::new)
    }

    /// An optional secret.
    pub fn secret(&self, setting: &str) -> Option<Secret> {
        self.get(setting).map(Secret::new)
    }

    /// An invalid-setting error for this provider.
    pub fn invalid(&self, setting: &'static str, message: impl Into<String>) -> ConfigError {
        ConfigError::Invalid {
            provider: self.provider,
            setting,
            message: message.into(),
        }
    }
}
