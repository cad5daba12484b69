//! `deploy/template.yaml`, the SAM template of one client's stack, read as data.
//!
//! moto's CloudFormation does not run the SAM transform, so tests cannot deploy the template
//! itself. Instead [`Template`] reads its resources (tables with their keys, indexes and TTL,
//! the topic, the build trigger's filter policy, each function's environment and IAM actions)
//! and [`provision`] creates those tables and that topic on any DynamoDB and SNS endpoint. A
//! test set up this way runs against exactly what the template deploys, and the drift tests
//! compare the same reading with the code's own definitions.
#![deny(missing_docs)]

mod provision;
mod template;

pub use provision::{ProvisionError, Provisioned, provision, provision_table};
pub use template::{EnvValue, FunctionSpec, TableSpec, Template, TemplateError};

/// The template as shipped in `deploy/template.yaml`.
pub const TEMPLATE_YAML: &str = include_str!("../../../deploy/template.yaml");
