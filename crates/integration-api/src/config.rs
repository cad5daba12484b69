//! Configuration: `integration-api.toml` plus environment overrides.
//!
//! ```toml
//! [server]
//! bind = "127.0.0.1:8787"
//! db = "integration-api.sqlite3"
//! body_limit = 1048576
//! client_id = "acme"
//! environment = "dev"
//!
//! [sigv4]
//! region = "eu-west-1"
//!
//! [providers.shopify]
//! webhook_secret = "..."   # or SHOPIFY_WEBHOOK_SECRET
//! currency = "EUR"
//! ```
//!
//! SigV4 access keys come only from `INTEGRATION_API_ACCESS_KEYS=AKID:SECRET[:TOKEN][,...]`.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use providers::{ProviderRegistry, Secret};
use serde::Deserialize;
use sigv4_auth::SigV4Verifier;
use unified_content::Environment;

use crate::router::DEFAULT_BODY_LIMIT;

/// The environment variable naming the config file.
pub const ENV_CONFIG: &str = "INTEGRATION_API_CONFIG";
/// The environment variable overriding `[server] bind`.
pub const ENV_BIND: &str = "INTEGRATION_API_BIND";
/// The environment variable overriding `[server] db`.
pub const ENV_DB: &str = "INTEGRATION_API_DB";
/// The environment variable overriding `[server] body_limit`.
pub const ENV_BODY_LIMIT: &str = "INTEGRATION_API_BODY_LIMIT";
/// The environment variable overriding `[server] client_id`.
pub const ENV_CLIENT_ID: &str = "INTEGRATION_API_CLIENT_ID";
/// The environment variable overriding `[server] environment`.
pub const ENV_ENVIRONMENT: &str = "INTEGRATION_API_ENVIRONMENT";
/// The environment variable overriding `[sigv4] region`.
pub const ENV_REGION: &str = "INTEGRATION_API_REGION";
/// The environment variable holding the SigV4 access keys, `AKID:SECRET[:TOKEN][,...]`.
pub const ENV_ACCESS_KEYS: &str = "INTEGRATION_API_ACCESS_KEYS";
/// The environment variable enabling providers by name (comma-separated) besides the config
/// file's `[providers.*]` tables; their settings then come from `<PROVIDER>_<SETTING>`.
pub const ENV_PROVIDERS: &str = "INTEGRATION_API_PROVIDERS";

/// A configuration that cannot work.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The config file cannot be read.
    #[error(
        "cannot read config file {path}: {source}; pass an existing file with --config or {ENV_CONFIG}"
    )]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The config file is not valid TOML of the expected shape.
    #[error("config file {path} is invalid: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What is wrong, with its line.
        message: String,
    },
    /// A setting has a value that cannot work.
    #[error("setting {setting} (environment variable {env}): {message}")]
    Invalid {
        /// The setting, such as `[server] bind`.
        setting: &'static str,
        /// The environment variable that may carry it.
        env: &'static str,
        /// What is wrong and what is accepted.
        message: String,
    },
    /// A provider table holds a value that is not text, a number or a boolean.
    #[error("setting [providers.{provider}] {setting} must be text, a number or a boolean")]
    ProviderValue {
        /// The provider.
        provider: String,
        /// The setting.
        setting: String,
    },
    /// SigV4 is required but no access key is configured.
    #[error("--require-sigv4 needs access keys: set {ENV_ACCESS_KEYS}=AKID:SECRET[,AKID:SECRET]")]
    NoAccessKeys,
    /// The enabled providers' settings are incomplete or invalid.
    #[error(transparent)]
    Provider(#[from] providers::ConfigError),
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    #[serde(default)]
    server: ServerSection,
    #[serde(default)]
    sigv4: Sigv4Section,
    #[serde(default)]
    providers: BTreeMap<String, toml::Table>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ServerSection {
    bind: Option<String>,
    db: Option<PathBuf>,
    body_limit: Option<usize>,
    client_id: Option<String>,
    environment: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Sigv4Section {
    region: Option<String>,
}

/// One access key accepted for SigV4-signed GETs.
#[derive(Debug, Clone)]
pub struct AccessKey {
    /// The access key id.
    pub id: String,
    /// The secret access key.
    pub secret: Secret,
    /// The session token of temporary credentials, if any.
    pub session_token: Option<Secret>,
}

/// The integration API's settings. `Debug` shows no provider setting value and no
/// environment variable, as either may be a secret.
#[derive(Clone)]
pub struct Config {
    /// Where the local server listens.
    pub bind: SocketAddr,
    /// The SQLite database file.
    pub db: PathBuf,
    /// The largest webhook body accepted, in bytes.
    pub body_limit: usize,
    /// The agency's client, written into every event.
    pub client_id: String,
    /// The deployment environment, written into every event.
    pub environment: Environment,
    /// The region SigV4 signatures must name.
    pub region: String,
    /// Access keys accepted for SigV4-signed GETs.
    pub access_keys: Vec<AccessKey>,
    /// Each enabled provider's settings table.
    pub providers: BTreeMap<String, BTreeMap<String, String>>,
    /// The environment snapshot, whose `<PROVIDER>_<SETTING>` variables override tables.
    pub env: BTreeMap<String, String>,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let providers: BTreeMap<&String, Vec<&String>> = self
            .providers
            .iter()
            .map(|(name, table)| (name, table.keys().collect()))
            .collect();
        f.debug_struct("Config")
            .field("bind", &self.bind)
            .field("db", &self.db)
            .field("body_limit", &self.body_limit)
            .field("client_id", &self.client_id)
            .field("environment", &self.environment)
            .field("region", &self.region)
            .field("access_keys", &self.access_keys)
            .field("providers", &providers)
            .finish_non_exhaustive()
    }
}

impl Config {
    /// Reads the config file, if any, then applies the environment. Without a file the
    /// defaults and the environment make the whole configuration.
    pub fn load(path: Option<&Path>, env: BTreeMap<String, String>) -> Result<Config, ConfigError> {
        let text = match path {
            Some(path) => std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                path: path.to_path_buf(),
                source,
            })?,
            None => String::new(),
        };
        Config::from_toml(&text, path.unwrap_or(Path::new("(none)")), env)
    }

    /// Reads a config file's text (named `origin` in errors), then applies the environment.
    pub fn from_toml(
        text: &str,
        origin: &Path,
        env: BTreeMap<String, String>,
    ) -> Result<Config, ConfigError> {
        let file: FileConfig = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: origin.to_path_buf(),
            message: e.to_string(),
        })?;
        let var = |name: &str| {
            env.get(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };

        let bind_text = var(ENV_BIND)
            .or(file.server.bind)
            .unwrap_or_else(|| "127.0.0.1:8787".to_string());
        let bind = bind_text.parse().map_err(|_| ConfigError::Invalid {
            setting: "[server] bind",
            env: ENV_BIND,
            message: format!("'{bind_text}' is not an address like 127.0.0.1:8787"),
        })?;
        let db = var(ENV_DB)
            .map(PathBuf::from)
            .or(file.server.db)
            .unwrap_or_else(|| PathBuf::from("integration-api.sqlite3"));
        let body_limit = match var(ENV_BODY_LIMIT) {
            Some(text) => text.parse().map_err(|_| ConfigError::Invalid {
                setting: "[server] body_limit",
                env: ENV_BODY_LIMIT,
                message: format!("'{text}' is not a number of bytes"),
            })?,
            None => file.server.body_limit.unwrap_or(DEFAULT_BODY_LIMIT),
        };
        if body_limit == 0 {
            return Err(ConfigError::Invalid {
                setting: "[server] body_limit",
                env: ENV_BODY_LIMIT,
                message: "must be more than 0 bytes".to_string(),
            });
        }
        let client_id = var(ENV_CLIENT_ID)
            .or(file.server.client_id)
            .unwrap_or_else(|| "local".to_string());
        let environment_text = var(ENV_ENVIRONMENT)
            .or(file.server.environment)
            .unwrap_or_else(|| "dev".to_string());
        let environment = match environment_text.as_str() {
            "dev" => Environment::Dev,
            "staging" => Environment::Staging,
            "prod" => Environment::Prod,
            other => {
                return Err(ConfigError::Invalid {
                    setting: "[server] environment",
                    env: ENV_ENVIRONMENT,
                    message: format!("'{other}' is not dev, staging or prod"),
                });
            }
        };
        let region = var(ENV_REGION)
            .or(file.sigv4.region)
            .unwrap_or_else(|| "us-east-1".to_string());
        let access_keys = match var(ENV_ACCESS_KEYS) {
            Some(text) => parse_access_keys(&text)?,
            None => Vec::new(),
        };

        let mut providers = BTreeMap::new();
        for (name, table) in file.providers {
            let mut values = BTreeMap::new();
            for (setting, value) in table {
                let text = match value {
                    toml::Value::String(s) => s,
                    toml::Value::Integer(i) => i.to_string(),
                    toml::Value::Float(f) => f.to_string(),
                    toml::Value::Boolean(b) => b.to_string(),
                    _ => {
                        return Err(ConfigError::ProviderValue {
                            provider: name,
                            setting,
                        });
                    }
                };
                values.insert(setting, text);
            }
            providers.insert(name, values);
        }
        for name in var(ENV_PROVIDERS).unwrap_or_default().split(',') {
            let name = name.trim();
            if !name.is_empty() {
                providers.entry(name.to_string()).or_default();
            }
        }

        Ok(Config {
            bind,
            db,
            body_limit,
            client_id,
            environment,
            region,
            access_keys,
            providers,
            env,
        })
    }

    /// The adapters of the enabled providers, every required setting checked.
    pub fn registry(&self) -> Result<ProviderRegistry, ConfigError> {
        Ok(ProviderRegistry::from_config(&self.providers, &self.env)?)
    }

    /// A SigV4 verifier for `execute-api` in the configured region with the configured keys.
    pub fn verifier(&self) -> Result<SigV4Verifier, ConfigError> {
        if self.access_keys.is_empty() {
            return Err(ConfigError::NoAccessKeys);
        }
        Ok(self.access_keys.iter().fold(
            SigV4Verifier::new(&self.region, "execute-api"),
            |v, key| {
                v.with_key(
                    &key.id,
                    key.secret.expose(),
                    key.session_token.as_ref().map(|t| t.expose().to_string()),
                )
            },
        ))
    }
}

fn parse_access_keys(text: &str) -> Result<Vec<AccessKey>, ConfigError> {
    text.split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .enumerate()
        .map(|(i, entry)| {
            let mut parts = entry.splitn(3, ':');
            match (parts.next(), parts.next(), parts.next()) {
                (Some(id), Some(secret), token) if !id.is_empty() && !secret.is_empty() => {
                    Ok(AccessKey {
                        id: id.to_string(),
                        secret: Secret::new(secret),
                        session_token: token.filter(|t| !t.is_empty()).map(Secret::new),
                    })
                }
                // The entry itself may hold a secret, so only its position is named.
                _ => Err(ConfigError::Invalid {
                    setting: "SigV4 access keys",
                    env: ENV_ACCESS_KEYS,
                    message: format!("entry {} is not AKID:SECRET or AKID:SECRET:TOKEN", i + 1),
                }),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn file_values_yield_to_the_environment() {
        let text = r#"
            [server]
            bind = "127.0.0.1:9000"
            db = "/tmp/x.sqlite3"
            body_limit = 2048
            client_id = "acme"
            environment = "staging"
            [sigv4]
            region = "eu-west-1"
            [providers.shopify]
            webhook_secret = "s"
            api_version = 2025
        "#;
        let config = Config::from_toml(
            text,
            Path::new("t.toml"),
            env(&[
                (ENV_BIND, "127.0.0.1:9001"),
                (ENV_ACCESS_KEYS, "AKID:SECRET, AKID2:S2:TOKEN"),
                (ENV_PROVIDERS, "sanity"),
            ]),
        )
        .unwrap();
        assert_eq!(config.bind.port(), 9001);
        assert_eq!(config.db, PathBuf::from("/tmp/x.sqlite3"));
        assert_eq!(config.body_limit, 2048);
        assert_eq!(config.environment, Environment::Staging);
        assert_eq!(config.region, "eu-west-1");
        assert_eq!(config.providers["shopify"]["api_version"], "2025");
        assert!(config.providers["sanity"].is_empty());
        assert_eq!(config.access_keys.len(), 2);
        assert_eq!(
            config.access_keys[1]
                .session_token
                .as_ref()
                .unwrap()
                .expose(),
            "TOKEN"
        );
        let shown = format!("{config:?}");
        assert!(
            shown.contains("AKID2") && shown.contains("webhook_secret"),
            "{shown}"
        );
        assert!(
            !shown.contains("SECRET") && !shown.contains("TOKEN") && !shown.contains("\"s\""),
            "{shown}"
        );
    }

    #[test]
    fn the_example_file_works() {
        let text = include_str!("../integration-api.example.toml");
        let config = Config::from_toml(
            text,
            Path::new("integration-api.example.toml"),
            env(&[("SHOPIFY_WEBHOOK_SECRET", "from-env")]),
        )
        .unwrap();
        assert_eq!(config.client_id, "acme");
        let registry = config.registry().unwrap();
        assert!(registry.get("shopify").is_some());
        let err = Config::from_toml(text, Path::new("x"), BTreeMap::new())
            .unwrap()
            .registry()
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("SHOPIFY_WEBHOOK_SECRET"), "{err}");
    }

    #[test]
    fn bad_values_name_the_setting_and_never_the_secret() {
        let err = Config::from_toml(
            "",
            Path::new("t"),
            env(&[(ENV_ACCESS_KEYS, "nocolon-secret")]),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains(ENV_ACCESS_KEYS) && !err.contains("nocolon-secret"),
            "{err}"
        );
        let err = Config::from_toml("[server]\nport = 1", Path::new("t.toml"), BTreeMap::new())
            .unwrap_err()
            .to_string();
        assert!(err.contains("t.toml") && err.contains("port"), "{err}");
        let err = Config::from_toml("", Path::new("t"), BTreeMap::new())
            .unwrap()
            .verifier()
            .unwrap_err();
        assert!(matches!(err, ConfigError::NoAccessKeys));
    }
}
