//! The composition factory: one client's CMS, shop and generator, from choice to a starting
//! point.
//!
//! [`Catalog`] holds the data (the seed's compatibility matrix and recommendations, the price
//! table with its date) from the embedded `compose.toml`. On it: [`Catalog::check`] gives the
//! seed's compatibility answer for a triple, [`Catalog::recommend`] the combinations for a
//! client's needs, [`Catalog::estimate`] the monthly cost with its formulas, and
//! [`Catalog::scaffold`] the files of a new client's stack, which [`Scaffold::write`] puts in
//! a folder without ever overwriting one it was not allowed to.
#![deny(missing_docs)]

mod catalog;
mod check;
mod cost;
mod error;
mod money;
mod recommend;
mod scaffold;

pub use catalog::{Catalog, Component, Kind, Prices};
pub use check::Compatibility;
pub use cost::{CostEstimate, CostInputs, CostLine};
pub use error::ComposeError;
pub use money::Money;
pub use recommend::{NEEDS, Recommendation};
pub use scaffold::{NewStack, Scaffold, ScaffoldFile, Webhook};

/// The embedded data file.
pub const CATALOG_TOML: &str = include_str!("../compose.toml");
