//! Why a request to the factory is refused.

use std::path::PathBuf;

/// A refused request; each names what was given and what is accepted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ComposeError {
    /// A provider or engine the catalog does not know.
    #[error("unknown {kind} '{given}'; known: {}", known.join(", "))]
    Unknown {
        /// What was asked for: `CMS`, `commerce provider` or `engine`.
        kind: &'static str,
        /// The name given.
        given: String,
        /// The accepted names.
        known: Vec<String>,
    },
    /// A provider that does not work with the engine, by the seed's matrix.
    #[error(
        "{provider} does not work with engine {engine}; engines {provider} works with: {}",
        engines.join(", ")
    )]
    Incompatible {
        /// The provider.
        provider: String,
        /// The engine.
        engine: String,
        /// The engines the provider works with.
        engines: Vec<String>,
    },
    /// A need the recommendations do not know.
    #[error("unknown need '{given}'; known: {}", known.join(", "))]
    UnknownNeed {
        /// The need given.
        given: String,
        /// The accepted needs.
        known: Vec<String>,
    },
    /// A cost input out of its range.
    #[error("cost input {input} = {value} is out of range; give {range}")]
    CostInput {
        /// The input's name.
        input: &'static str,
        /// The value given.
        value: u64,
        /// The accepted range, with its unit.
        range: &'static str,
    },
    /// A client id that cannot name AWS resources.
    #[error(
        "client id '{given}' must be 2 to 32 of a-z, 0-9 and '-', not starting or ending with '-'"
    )]
    ClientId {
        /// The id given.
        given: String,
    },
    /// The output folder exists and holds files.
    #[error("{path} already exists and is not empty; choose a new folder or allow overwriting")]
    OutputExists {
        /// The folder.
        path: PathBuf,
    },
    /// A file could not be written.
    #[error("cannot write {path}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The embedded data file is invalid (a build defect, caught by the tests).
    #[error("the embedded compose.toml is invalid: {0}")]
    Catalog(String),
}
