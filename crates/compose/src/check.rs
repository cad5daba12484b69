//! The seed's compatibility answer for a CMS, shop and engine.

use serde::Serialize;

use crate::catalog::{Catalog, Component, Kind};
use crate::error::ComposeError;

/// The answer for one combination.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Compatibility {
    /// The CMS id.
    pub cms: String,
    /// The commerce provider id.
    pub commerce: String,
    /// The engine id.
    pub engine: String,
    /// Score out of 10.
    pub score: u8,
    /// `low`, `medium`, `high`, or `unknown` for an untested combination.
    pub complexity: String,
    /// Whether the seed tested this combination.
    pub tested: bool,
    /// Whether the seed recommends it (score 8 or more).
    pub recommended: bool,
    /// A warning for an untested combination.
    pub warning: Option<String>,
}

impl Catalog {
    /// Checks a combination: a listed triple gives its score and complexity, an unlisted one
    /// whose providers both work with the engine is compatible but untested (score 6, with a
    /// warning). Unknown names and a provider that does not work with the engine are refused.
    pub fn check(
        &self,
        cms: &str,
        commerce: &str,
        engine: &str,
    ) -> Result<Compatibility, ComposeError> {
        let cms = self.find(Kind::Cms, cms)?;
        let commerce = self.find(Kind::Commerce, commerce)?;
        let engine = self.find(Kind::Engine, engine)?;
        for provider in [cms, commerce] {
            works_with(provider, engine)?;
        }
        let listed = self
            .triple
            .iter()
            .find(|t| t.cms == cms.id() && t.commerce == commerce.id() && t.engine == engine.id());
        let (score, complexity, warning) = match listed {
            Some(t) => (t.score, t.complexity.clone(), None),
            None => (
                self.untested.score,
                self.untested.complexity.clone(),
                Some(self.untested.warning.clone()),
            ),
        };
        Ok(Compatibility {
            cms: cms.id().to_string(),
            commerce: commerce.id().to_string(),
            engine: engine.id().to_string(),
            score,
            complexity,
            tested: listed.is_some(),
            recommended: listed.is_some() && score >= self.untested.recommended_from_score,
            warning,
        })
    }
}

fn works_with(provider: &Component, engine: &Component) -> Result<(), ComposeError> {
    if provider.engines().iter().any(|e| e == engine.id()) {
        return Ok(());
    }
    Err(ComposeError::Incompatible {
        provider: provider.id().to_string(),
        engine: engine.id().to_string(),
        engines: provider.engines().to_vec(),
    })
}
