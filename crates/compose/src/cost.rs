//! The monthly estimate, broken down as the seed does (integration overhead: Lambda,
//! DynamoDB, SNS, API Gateway, storage) plus the site builds, from usage a user can change.

use serde::Serialize;

use crate::catalog::Catalog;
use crate::error::ComposeError;
use crate::money::Money;

/// The usage an estimate is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CostInputs {
    /// Provider webhooks received per month.
    pub webhooks_per_month: u64,
    /// Site builds per month.
    pub builds_per_month: u64,
    /// Items in the content cache.
    pub items: u64,
    /// Size of the built site, in MB.
    pub site_mb: u64,
}

impl Default for CostInputs {
    fn default() -> Self {
        CostInputs {
            webhooks_per_month: 10_000,
            builds_per_month: 300,
            items: 1_000,
            site_mb: 500,
        }
    }
}

/// One line of the breakdown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CostLine {
    /// The seed's name for the line, such as `lambda_executions`.
    pub name: &'static str,
    /// How the amount follows from the inputs and the price table.
    pub formula: String,
    /// The amount per month.
    pub monthly: Money,
    /// The seed's fixed figure for this line, where it has one.
    pub seed_monthly: Option<Money>,
}

/// The estimate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CostEstimate {
    /// The usage it is for.
    pub inputs: CostInputs,
    /// The integration overhead, line by line, then the site builds.
    pub lines: Vec<CostLine>,
    /// The sum of the integration overhead lines.
    pub integration_overhead: Money,
    /// The seed's fixed integration overhead.
    pub seed_integration_overhead: Money,
    /// Everything: the overhead plus the site builds.
    pub total: Money,
    /// When the price table was taken.
    pub prices_as_of: String,
    /// The price table's region.
    pub prices_region: String,
}

/// Upper bounds that keep every input in sane units (and every product far from overflow).
const LIMITS: &[(&str, u64, &str)] = &[
    (
        "webhooks_per_month",
        1_000_000_000,
        "0 to 1,000,000,000 webhooks a month",
    ),
    ("builds_per_month", 100_000, "0 to 100,000 builds a month"),
    ("items", 100_000_000, "0 to 100,000,000 items"),
    ("site_mb", 10_000_000, "0 to 10,000,000 MB"),
];

impl CostInputs {
    fn validate(&self) -> Result<(), ComposeError> {
        let values = [
            self.webhooks_per_month,
            self.builds_per_month,
            self.items,
            self.site_mb,
        ];
        for ((input, max, range), value) in LIMITS.iter().zip(values) {
            if value > *max {
                return Err(ComposeError::CostInput {
                    input,
                    value,
                    range,
                });
            }
        }
        Ok(())
    }
}

const MILLION: u128 = 1_000_000;

impl Catalog {
    /// The monthly estimate for `inputs`; inputs out of range are refused.
    pub fn estimate(&self, inputs: CostInputs) -> Result<CostEstimate, ComposeError> {
        inputs.validate()?;
        let u = &self.usage;
        let webhooks = u128::from(inputs.webhooks_per_month);
        let builds = u128::from(inputs.builds_per_month);
        let items = u128::from(inputs.items);
        let page_size = u128::from(u.page_size.max(1));
        let pages_per_build = items.div_ceil(page_size).max(1);
        let pages = builds * pages_per_build;
        let api_requests = webhooks + pages;
        let invocations = api_requests + webhooks + builds;
        let item_kb = u128::from(u.item_kb);
        let overflow = || ComposeError::Catalog("a price times the usage overflows".to_string());

        let p = |name| self.price(name);
        let lambda = p("lambda_per_million_requests")
            .times(invocations, MILLION)
            .and_then(|r| {
                let ms_mb = u128::from(u.lambda_ms_per_invocation) * u128::from(u.lambda_memory_mb);
                p("lambda_per_gb_second_arm")
                    .times(invocations * ms_mb, 1000 * 1024)?
                    .plus(r)
            })
            .ok_or_else(overflow)?;
        let write_units = webhooks * u128::from(u.write_units_per_webhook);
        // A Query reads 4 KB per unit, eventually consistent reads at half a unit.
        let read_units = (builds * items * item_kb).div_ceil(8);
        let storage_kb = items * item_kb;
        let dynamodb = p("dynamodb_per_million_write_units")
            .times(write_units, MILLION)
            .and_then(|w| w.plus(p("dynamodb_per_million_read_units").times(read_units, MILLION)?))
            .and_then(|rw| {
                let per_gb = p("dynamodb_per_gb_month").plus(p("dynamodb_pitr_per_gb_month"))?;
                rw.plus(per_gb.times(storage_kb, 1024 * 1024)?)
            })
            .ok_or_else(overflow)?;
        let sns = p("sns_per_million_publishes")
            .times(webhooks, MILLION)
            .ok_or_else(overflow)?;
        let api_gateway = p("api_gateway_rest_per_million")
            .times(api_requests, MILLION)
            .ok_or_else(overflow)?;
        let storage = p("s3_per_gb_month")
            .times(u128::from(inputs.site_mb), 1024)
            .ok_or_else(overflow)?;
        let build_minutes = builds * u128::from(u.build_minutes);
        let site_builds = p("codebuild_arm_small_per_minute")
            .times(build_minutes, 1)
            .ok_or_else(overflow)?;

        let seed = |name: &str| self.seed_overhead.get(name).and_then(|v| Money::parse(v));
        let lines = vec![
            CostLine {
                name: "lambda_executions",
                formula: format!(
                    "invocations = webhooks {webhooks} x 2 (integration API, build trigger) + content pages {pages} ({builds} builds x {pages_per_build} pages of {page_size}) + builds {builds} = {invocations}; \
                     invocations x lambda_per_million_requests / 1e6 + invocations x {ms} ms x {mb} MB / (1000 x 1024) x lambda_per_gb_second_arm",
                    ms = u.lambda_ms_per_invocation,
                    mb = u.lambda_memory_mb,
                ),
                monthly: lambda,
                seed_monthly: seed("lambda_executions"),
            },
            CostLine {
                name: "dynamodb",
                formula: format!(
                    "write units = webhooks {webhooks} x {w} = {write_units}; read units = builds {builds} x items {items} x {item_kb} KB / 8 KB = {read_units}; \
                     storage = items x {item_kb} KB; write units x dynamodb_per_million_write_units / 1e6 + read units x dynamodb_per_million_read_units / 1e6 + GB x (dynamodb_per_gb_month + dynamodb_pitr_per_gb_month)",
                    w = u.write_units_per_webhook,
                ),
                monthly: dynamodb,
                seed_monthly: seed("dynamodb"),
            },
            CostLine {
                name: "sns",
                formula: format!(
                    "publishes = webhooks {webhooks}; publishes x sns_per_million_publishes / 1e6"
                ),
                monthly: sns,
                seed_monthly: seed("sns"),
            },
            CostLine {
                name: "api_gateway",
                formula: format!(
                    "requests = webhooks {webhooks} + content pages {pages} = {api_requests}; requests x api_gateway_rest_per_million / 1e6"
                ),
                monthly: api_gateway,
                seed_monthly: seed("api_gateway"),
            },
            CostLine {
                name: "storage",
                formula: format!("site {} MB / 1024 x s3_per_gb_month", inputs.site_mb),
                monthly: storage,
                seed_monthly: seed("storage"),
            },
        ];
        let sum = |lines: &[CostLine], f: fn(&CostLine) -> Option<Money>| {
            lines
                .iter()
                .filter_map(f)
                .try_fold(Money::ZERO, Money::plus)
                .ok_or_else(overflow)
        };
        let integration_overhead = sum(&lines, |l| Some(l.monthly))?;
        let seed_integration_overhead = sum(&lines, |l| l.seed_monthly)?;
        let total = integration_overhead
            .plus(site_builds)
            .ok_or_else(overflow)?;
        let mut lines = lines;
        lines.push(CostLine {
            name: "site_builds",
            formula: format!(
                "minutes = builds {builds} x {} = {build_minutes}; minutes x codebuild_arm_small_per_minute",
                u.build_minutes
            ),
            monthly: site_builds,
            seed_monthly: None,
        });
        Ok(CostEstimate {
            inputs,
            lines,
            integration_overhead,
            seed_integration_overhead,
            total,
            prices_as_of: self.prices.as_of.clone(),
            prices_region: self.prices.region.clone(),
        })
    }
}
