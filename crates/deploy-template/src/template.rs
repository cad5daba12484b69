//! Reading the template's resources.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value as Json};
use serde_yaml_ng::Value as Yaml;

use crate::TEMPLATE_YAML;

/// A template that cannot be read, or lacks what is asked of it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TemplateError {
    /// The text is not YAML.
    #[error("the template is not valid YAML")]
    Yaml(#[source] serde_yaml_ng::Error),
    /// The template has no resource of that logical id and type.
    #[error("the template has no {kind} resource named {logical_id}")]
    Missing {
        /// The logical id asked for.
        logical_id: String,
        /// The resource type expected, such as `AWS::DynamoDB::Table`.
        kind: &'static str,
    },
    /// A resource lacks a property, or has one of an unexpected shape.
    #[error("resource {logical_id}: property {property} is missing or not {expected}")]
    Property {
        /// The resource's logical id.
        logical_id: String,
        /// The property path, such as `Properties.KeySchema`.
        property: String,
        /// What shape was expected.
        expected: &'static str,
    },
}

/// The template's resources by logical id.
#[derive(Debug, Clone)]
pub struct Template {
    resources: BTreeMap<String, Yaml>,
}

/// A DynamoDB table as the template declares it.
#[derive(Debug, Clone, PartialEq)]
pub struct TableSpec {
    logical_id: String,
    definition: Json,
    ttl_attribute: Option<String>,
    point_in_time_recovery: bool,
    stream_view_type: Option<String>,
}

/// A Lambda function as the template declares it.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionSpec {
    logical_id: String,
    code_uri: String,
    binary: Option<String>,
    environment: BTreeMap<String, EnvValue>,
    actions: BTreeSet<String>,
}

/// The value the template gives an environment variable.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EnvValue {
    /// A literal text.
    Text(String),
    /// `!Ref X`: a parameter's value or a resource's name or ARN.
    Ref(String),
    /// `!GetAtt X.Attr`.
    GetAtt(String),
    /// A key of a Secrets Manager secret named by a parameter, resolved at deploy time, set
    /// only when `condition` holds.
    Secret {
        /// The condition that sets the variable.
        condition: String,
        /// The parameter naming the secret.
        secret_parameter: String,
        /// The key inside the secret's JSON.
        key: String,
    },
    /// Any other intrinsic function, as JSON.
    Expression(Json),
}

impl Template {
    /// The template of `deploy/template.yaml`.
    pub fn shipped() -> Result<Template, TemplateError> {
        Template::parse(TEMPLATE_YAML)
    }

    /// Reads a template from YAML text (CloudFormation's short tags such as `!Ref` included).
    pub fn parse(yaml: &str) -> Result<Template, TemplateError> {
        let document: Yaml = serde_yaml_ng::from_str(yaml).map_err(TemplateError::Yaml)?;
        let resources = match document.get("Resources") {
            Some(Yaml::Mapping(map)) => map
                .iter()
                .filter_map(|(k, v)| Some((k.as_str()?.to_string(), v.clone())))
                .collect(),
            _ => BTreeMap::new(),
        };
        Ok(Template { resources })
    }

    /// The logical ids of the resources of one type, such as `AWS::SNS::Topic`, in order.
    pub fn logical_ids(&self, resource_type: &str) -> Vec<&str> {
        self.resources
            .iter()
            .filter(|(_, r)| r.get("Type").and_then(Yaml::as_str) == Some(resource_type))
            .map(|(id, _)| id.as_str())
            .collect()
    }

    fn resource(&self, logical_id: &str, kind: &'static str) -> Result<&Yaml, TemplateError> {
        self.resources
            .get(logical_id)
            .filter(|r| r.get("Type").and_then(Yaml::as_str) == Some(kind))
            .ok_or_else(|| TemplateError::Missing {
                logical_id: logical_id.to_string(),
                kind,
            })
    }

    /// Every DynamoDB table of the template.
    pub fn tables(&self) -> Result<Vec<TableSpec>, TemplateError> {
        self.logical_ids(TABLE)
            .into_iter()
            .map(|id| self.table(id))
            .collect()
    }

    /// The DynamoDB table `logical_id`.
    pub fn table(&self, logical_id: &str) -> Result<TableSpec, TemplateError> {
        let resource = self.resource(logical_id, TABLE)?;
        let properties = json(resource.get("Properties"));
        let wrong = |property: &str, expected| TemplateError::Property {
            logical_id: logical_id.to_string(),
            property: format!("Properties.{property}"),
            expected,
        };
        let mut definition = Map::new();
        for (key, expected) in [
            ("AttributeDefinitions", "a list"),
            ("KeySchema", "a list"),
            ("GlobalSecondaryIndexes", "a list"),
            ("BillingMode", "a text"),
        ] {
            let value = properties.get(key).cloned();
            match (&value, expected) {
                (Some(Json::Array(_)), "a list") | (Some(Json::String(_)), "a text") => {}
                (None, _) if key == "GlobalSecondaryIndexes" => continue,
                _ => return Err(wrong(key, expected)),
            }
            definition.insert(key.to_string(), value.unwrap_or_default());
        }
        let ttl = properties.get("TimeToLiveSpecification");
        let ttl_attribute = ttl
            .filter(|t| t.get("Enabled") == Some(&Json::Bool(true)))
            .and_then(|t| t.get("AttributeName"))
            .and_then(Json::as_str)
            .map(str::to_string);
        let point_in_time_recovery = properties
            .pointer("/PointInTimeRecoverySpecification/PointInTimeRecoveryEnabled")
            == Some(&Json::Bool(true));
        let stream_view_type = properties
            .pointer("/StreamSpecification/StreamViewType")
            .and_then(Json::as_str)
            .map(str::to_string);
        Ok(TableSpec {
            logical_id: logical_id.to_string(),
            definition: Json::Object(definition),
            ttl_attribute,
            point_in_time_recovery,
            stream_view_type,
        })
    }

    /// The filter policy of the SNS subscription `logical_id`, as JSON, with its scope
    /// (`MessageAttributes` unless the template says otherwise).
    pub fn filter_policy(&self, logical_id: &str) -> Result<(Json, String), TemplateError> {
        let resource = self.resource(logical_id, SUBSCRIPTION)?;
        let properties = json(resource.get("Properties"));
        let policy = properties
            .get("FilterPolicy")
            .filter(|p| p.is_object())
            .cloned()
            .ok_or_else(|| TemplateError::Property {
                logical_id: logical_id.to_string(),
                property: "Properties.FilterPolicy".to_string(),
                expected: "an object",
            })?;
        let scope = properties
            .get("FilterPolicyScope")
            .and_then(Json::as_str)
            .unwrap_or("MessageAttributes")
            .to_string();
        Ok((policy, scope))
    }

    /// The logical id of the topic the SNS subscription `logical_id` subscribes to
    /// (its `TopicArn: !Ref Topic`).
    pub fn subscription_topic(&self, logical_id: &str) -> Result<String, TemplateError> {
        let resource = self.resource(logical_id, SUBSCRIPTION)?;
        json(resource.get("Properties"))
            .pointer("/TopicArn/!Ref")
            .and_then(Json::as_str)
            .map(str::to_string)
            .ok_or_else(|| TemplateError::Property {
                logical_id: logical_id.to_string(),
                property: "Properties.TopicArn".to_string(),
                expected: "a !Ref of a topic",
            })
    }

    /// Every Lambda function of the template.
    pub fn functions(&self) -> Result<Vec<FunctionSpec>, TemplateError> {
        self.logical_ids(FUNCTION)
            .into_iter()
            .map(|id| self.function(id))
            .collect()
    }

    /// The function `logical_id`.
    pub fn function(&self, logical_id: &str) -> Result<FunctionSpec, TemplateError> {
        let resource = self.resource(logical_id, FUNCTION)?;
        let properties = resource.get("Properties");
        let code_uri = properties
            .and_then(|p| p.get("CodeUri"))
            .and_then(Yaml::as_str)
            .ok_or_else(|| TemplateError::Property {
                logical_id: logical_id.to_string(),
                property: "Properties.CodeUri".to_string(),
                expected: "a path",
            })?
            .to_string();
        let binary = resource
            .get("Metadata")
            .and_then(|m| m.get("BuildProperties"))
            .and_then(|b| b.get("Binary"))
            .and_then(Yaml::as_str)
            .map(str::to_string);
        let environment = match properties
            .and_then(|p| p.get("Environment"))
            .and_then(|e| e.get("Variables"))
        {
            Some(Yaml::Mapping(vars)) => vars
                .iter()
                .filter_map(|(k, v)| Some((k.as_str()?.to_string(), env_value(v))))
                .collect(),
            _ => BTreeMap::new(),
        };
        let mut actions = BTreeSet::new();
        let policies = json(properties.and_then(|p| p.get("Policies")));
        for policy in policies.as_array().into_iter().flatten() {
            for statement in policy
                .get("Statement")
                .and_then(Json::as_array)
                .into_iter()
                .flatten()
            {
                match statement.get("Action") {
                    Some(Json::String(a)) => {
                        actions.insert(a.clone());
                    }
                    Some(Json::Array(list)) => {
                        actions.extend(list.iter().filter_map(Json::as_str).map(str::to_string));
                    }
                    _ => {}
                }
            }
        }
        Ok(FunctionSpec {
            logical_id: logical_id.to_string(),
            code_uri,
            binary,
            environment,
            actions,
        })
    }
}

const TABLE: &str = "AWS::DynamoDB::Table";
const SUBSCRIPTION: &str = "AWS::SNS::Subscription";
const FUNCTION: &str = "AWS::Serverless::Function";

/// YAML as JSON; a tagged value `!Tag v` becomes `{"!Tag": v}`.
fn json(value: Option<&Yaml>) -> Json {
    value
        .and_then(|v| serde_json::to_value(v).ok())
        .unwrap_or(Json::Null)
}

fn env_value(value: &Yaml) -> EnvValue {
    // Checked by variant: `as_str` would also see through a tag such as `!Ref`.
    if let Yaml::String(text) = value {
        return EnvValue::Text(text.clone());
    }
    let as_json = json(Some(value));
    if let Some(target) = as_json.get("!Ref").and_then(Json::as_str) {
        return EnvValue::Ref(target.to_string());
    }
    if let Some(target) = as_json.get("!GetAtt").and_then(Json::as_str) {
        return EnvValue::GetAtt(target.to_string());
    }
    if let Some(secret) = secret_reference(&as_json) {
        return secret;
    }
    EnvValue::Expression(as_json)
}

/// `!If [Cond, !Sub "{{resolve:secretsmanager:${Param}:SecretString:key}}", !Ref AWS::NoValue]`.
fn secret_reference(value: &Json) -> Option<EnvValue> {
    let branches = value.get("!If")?.as_array()?;
    let [condition, set, unset] = branches.as_slice() else {
        return None;
    };
    if unset.get("!Ref").and_then(Json::as_str) != Some("AWS::NoValue") {
        return None;
    }
    let text = set.get("!Sub")?.as_str()?;
    let inner = text
        .strip_prefix("{{resolve:secretsmanager:${")?
        .strip_suffix("}}")?;
    let (parameter, rest) = inner.split_once('}')?;
    let key = rest.strip_prefix(":SecretString:")?;
    Some(EnvValue::Secret {
        condition: condition.as_str()?.to_string(),
        secret_parameter: parameter.to_string(),
        key: key.to_string(),
    })
}

impl TableSpec {
    /// The table's logical id in the template.
    pub fn logical_id(&self) -> &str {
        &self.logical_id
    }

    /// The table in the shape of DynamoDB's `CreateTable` input without the name:
    /// `AttributeDefinitions`, `KeySchema`, `GlobalSecondaryIndexes` and `BillingMode`.
    pub fn definition(&self) -> &Json {
        &self.definition
    }

    /// The attribute whose epoch seconds expire items, when TTL is on.
    pub fn ttl_attribute(&self) -> Option<&str> {
        self.ttl_attribute.as_deref()
    }

    /// Whether point-in-time recovery is on.
    pub fn point_in_time_recovery(&self) -> bool {
        self.point_in_time_recovery
    }

    /// The stream's view type, when the table has a stream.
    pub fn stream_view_type(&self) -> Option<&str> {
        self.stream_view_type.as_deref()
    }

    /// The names of the table's global secondary indexes, in order.
    pub fn index_names(&self) -> Vec<&str> {
        self.definition
            .get("GlobalSecondaryIndexes")
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
            .filter_map(|i| i.get("IndexName").and_then(Json::as_str))
            .collect()
    }
}

impl FunctionSpec {
    /// The function's logical id in the template.
    pub fn logical_id(&self) -> &str {
        &self.logical_id
    }

    /// The crate folder, relative to `deploy/`.
    pub fn code_uri(&self) -> &str {
        &self.code_uri
    }

    /// The binary cargo-lambda builds, when the template names one.
    pub fn binary(&self) -> Option<&str> {
        self.binary.as_deref()
    }

    /// The environment variables the template sets.
    pub fn environment(&self) -> &BTreeMap<String, EnvValue> {
        &self.environment
    }

    /// The IAM actions the function's inline policies allow.
    pub fn actions(&self) -> &BTreeSet<String> {
        &self.actions
    }
}
