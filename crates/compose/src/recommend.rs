//! The seed's recommendations for a client's needs.

use serde::Serialize;

use crate::catalog::Catalog;
use crate::error::ComposeError;

/// The needs a client can state.
pub const NEEDS: &[&str] = &[
    "budget_conscious",
    "simple_needs",
    "performance_critical",
    "enterprise",
];

/// A recommended combination with its cost ranges and the reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Recommendation {
    /// The CMS id.
    pub cms: String,
    /// The commerce provider id.
    pub commerce: String,
    /// The engine id.
    pub engine: String,
    /// The monthly cost range, as the seed states it.
    pub monthly_cost: String,
    /// The one-time setup cost range.
    pub setup_cost: String,
    /// Why.
    pub reason: String,
    /// `Low`, `Medium` or `High`.
    pub complexity: String,
    /// Score out of 10.
    pub score: u8,
    /// The needs that selected it.
    pub needs: Vec<String>,
}

impl Catalog {
    /// The recommendations whose needs are all among `needs`, in the seed's order. An unknown
    /// need is refused with the known ones.
    pub fn recommend(&self, needs: &[&str]) -> Result<Vec<Recommendation>, ComposeError> {
        for need in needs {
            if !NEEDS.contains(need) {
                return Err(ComposeError::UnknownNeed {
                    given: need.to_string(),
                    known: NEEDS.iter().map(|n| n.to_string()).collect(),
                });
            }
        }
        Ok(self
            .recommendation
            .iter()
            .filter(|r| r.needs.iter().all(|n| needs.contains(&n.as_str())))
            .map(|r| Recommendation {
                cms: r.cms.clone(),
                commerce: r.commerce.clone(),
                engine: r.engine.clone(),
                monthly_cost: r.monthly_cost.clone(),
                setup_cost: r.setup_cost.clone(),
                reason: r.reason.clone(),
                complexity: r.complexity.clone(),
                score: r.score,
                needs: r.needs.clone(),
            })
            .collect())
    }
}
