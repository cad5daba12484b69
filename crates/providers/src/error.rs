//! Adapter errors. Their texts never include a secret.

/// A delivery whose signature or token does not check out (HTTP 401).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    /// The signature header is absent.
    #[error("missing signature header '{header}'")]
    Missing {
        /// The header the provider signs in.
        header: &'static str,
    },
    /// The signature header cannot be read.
    #[error("malformed signature header '{header}': {reason}")]
    Malformed {
        /// The header.
        header: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The signature does not match the body.
    #[error("signature in '{header}' does not match the body; check the webhook secret")]
    Mismatch {
        /// The header.
        header: &'static str,
    },
    /// The signed timestamp is outside the accepted window (a replay or a skewed clock).
    #[error("signed timestamp is {age_secs}s from now, outside the {window_secs}s window")]
    Stale {
        /// How far the timestamp is from now, in seconds.
        age_secs: i64,
        /// The accepted window, in seconds.
        window_secs: i64,
    },
    /// The provider's own validation service refused the token.
    #[error("the provider did not confirm the request token: {reason}")]
    Rejected {
        /// What the provider said.
        reason: String,
    },
}

/// A verified delivery that cannot be turned into changes.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AdapterError {
    /// The body or a field is malformed (HTTP 400).
    #[error("malformed payload at {path}: {message}")]
    Malformed {
        /// The JSON path of the problem, such as `$.variants[0].price`.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// A required header, such as the event topic, is missing (HTTP 400).
    #[error("missing header '{0}'")]
    MissingHeader(&'static str),
    /// Reading more from the provider failed (HTTP 502).
    #[error("reading {url} failed: {message}")]
    Upstream {
        /// The URL read, without credentials.
        url: String,
        /// What went wrong.
        message: String,
    },
}

impl AdapterError {
    /// A malformed-payload error from a serde_json error, with the path as `$.a.b[0]`.
    pub fn from_json(error: &serde_json::Error, path: impl Into<String>) -> AdapterError {
        AdapterError::Malformed {
            path: path.into(),
            message: error.to_string(),
        }
    }

    /// A malformed-payload error from a typed read of a JSON value through
    /// `serde_path_to_error`, with the path of the bad field as `$.variants[0].price`.
    pub(crate) fn from_json_path(
        error: serde_path_to_error::Error<serde_json::Error>,
    ) -> AdapterError {
        let path = error.path().to_string();
        AdapterError::Malformed {
            path: if path == "." {
                "$".to_string()
            } else {
                format!("$.{path}")
            },
            message: error.into_inner().to_string(),
        }
    }
}

/// A provider configuration that cannot work: a startup error, never a runtime 500.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A required setting is absent.
    #[error("provider '{provider}' needs setting '{setting}' (environment variable {env})")]
    Missing {
        /// The provider.
        provider: &'static str,
        /// The setting's name in the config file.
        setting: &'static str,
        /// The environment variable that may carry it.
        env: String,
    },
    /// A setting has a value that cannot work.
    #[error("provider '{provider}' setting '{setting}': {message}")]
    Invalid {
        /// The provider.
        provider: &'static str,
        /// The setting.
        setting: &'static str,
        /// What is wrong and what is accepted.
        message: String,
    },
    /// A provider is enabled that no adapter implements.
    #[error("unknown provider '{0}'; known providers: {1}")]
    UnknownProvider(String, String),
}
