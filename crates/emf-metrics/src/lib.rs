//! CloudWatch metrics written as Embedded Metric Format (EMF) log lines.
//!
//! A Lambda's stdout goes to CloudWatch Logs, which turns every line holding an `_aws`
//! member into metrics: no `PutMetricData` call, so no IAM permission and no latency on the
//! request. [`Metrics`] collects counts and gauges during an invocation, grouped by their
//! dimension values, and [`Metrics::flush`] writes one JSON line per group:
//!
//! ```json
//! {"_aws":{"Timestamp":1764590400000,"CloudWatchMetrics":[{"Namespace":"ContentPlatform",
//!  "Dimensions":[["Provider"]],"Metrics":[{"Name":"WebhooksAccepted","Unit":"Count"}]}]},
//!  "Provider":"shopify","WebhooksAccepted":1}
//! ```
//!
//! (shown wrapped; a real line has no line break). A document carries one value per
//! dimension key, so metrics with different dimension values need documents of their own;
//! an invocation that handles one webhook writes one line.
#![deny(missing_docs)]

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The environment variable naming the namespace of a function's metrics; the deploy template
/// sets it to one namespace per stack.
pub const NAMESPACE_VARIABLE: &str = "METRICS_NAMESPACE";

/// The namespace when [`NAMESPACE_VARIABLE`] is unset or blank.
pub const DEFAULT_NAMESPACE: &str = "ContentPlatform";

/// The namespace `value` of [`NAMESPACE_VARIABLE`] names, or [`DEFAULT_NAMESPACE`].
pub fn namespace_or_default(value: Option<&str>) -> String {
    value
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .unwrap_or(DEFAULT_NAMESPACE)
        .to_string()
}

/// The most metrics one directive may hold (the EMF specification's limit).
pub const MAX_METRICS_PER_DIRECTIVE: usize = 100;

/// The longest dimension value CloudWatch accepts.
const MAX_DIMENSION_VALUE: usize = 1024;

/// The unit of a metric, as CloudWatch names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Unit {
    /// A number of things.
    Count,
    /// A duration in milliseconds.
    Milliseconds,
    /// No unit.
    None,
}

/// One EMF document: the `_aws` metadata and the dimension and metric values it points to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    #[serde(rename = "_aws")]
    metadata: Metadata,
    #[serde(flatten)]
    members: BTreeMap<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct Metadata {
    timestamp: u64,
    cloud_watch_metrics: Vec<Directive>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct Directive {
    namespace: String,
    dimensions: Vec<Vec<String>>,
    metrics: Vec<Definition>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct Definition {
    name: String,
    unit: Unit,
}

impl Record {
    /// Reads one line written by [`Metrics::flush`] (or any EMF document with one directive
    /// per namespace).
    pub fn parse(line: &str) -> Result<Record, serde_json::Error> {
        serde_json::from_str(line)
    }

    /// The namespace of the first directive.
    pub fn namespace(&self) -> Option<&str> {
        self.metadata
            .cloud_watch_metrics
            .first()
            .map(|d| d.namespace.as_str())
    }

    /// When the values were taken, in milliseconds since the Unix epoch.
    pub fn timestamp_millis(&self) -> u64 {
        self.metadata.timestamp
    }

    /// The dimensions the directives name, with their values.
    pub fn dimensions(&self) -> BTreeMap<&str, &str> {
        self.metadata
            .cloud_watch_metrics
            .iter()
            .flat_map(|d| d.dimensions.iter().flatten())
            .filter_map(|key| Some((key.as_str(), self.members.get(key)?.as_str()?)))
            .collect()
    }

    /// The value and unit of a metric the directives define.
    pub fn metric(&self, name: &str) -> Option<(f64, Unit)> {
        let unit = self
            .metadata
            .cloud_watch_metrics
            .iter()
            .flat_map(|d| &d.metrics)
            .find(|m| m.name == name)?
            .unit;
        Some((self.members.get(name)?.as_f64()?, unit))
    }

    /// The names of the metrics the directives define.
    pub fn metric_names(&self) -> Vec<&str> {
        self.metadata
            .cloud_watch_metrics
            .iter()
            .flat_map(|d| &d.metrics)
            .map(|m| m.name.as_str())
            .collect()
    }
}

/// A metric's value so far, and how a new one combines with it.
#[derive(Debug, Clone, Copy)]
struct Pending {
    unit: Unit,
    value: f64,
}

type DimensionValues = BTreeMap<String, String>;

/// Metrics of one namespace, collected until [`Metrics::flush`] writes them to the sink.
///
/// Dimension keys and metric names share the document's root, so a metric must not be named
/// like a dimension key.
pub struct Metrics {
    namespace: String,
    pending: Mutex<BTreeMap<DimensionValues, BTreeMap<String, Pending>>>,
    sink: Mutex<Box<dyn Write + Send>>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics")
            .field("namespace", &self.namespace)
            .finish_non_exhaustive()
    }
}

impl Metrics {
    /// Metrics written to the process's stdout, which Lambda sends to CloudWatch Logs.
    pub fn stdout(namespace: impl Into<String>) -> Metrics {
        Metrics::to_writer(namespace, std::io::stdout())
    }

    /// Metrics written to `sink`, one line per document.
    pub fn to_writer(namespace: impl Into<String>, sink: impl Write + Send + 'static) -> Metrics {
        Metrics {
            namespace: namespace.into(),
            pending: Mutex::new(BTreeMap::new()),
            sink: Mutex::new(Box::new(sink)),
        }
    }

    /// The namespace the metrics go to.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// Adds `value` to the count `name` with these dimension values.
    pub fn count(&self, name: &str, value: u64, dimensions: &[(&str, &str)]) {
        // Counts stay far below 2^53, where f64 stops being exact.
        self.record(name, Unit::Count, value as f64, dimensions, |old, new| {
            old + new
        });
    }

    /// Sets the gauge `name` with these dimension values; the last value set is written.
    pub fn gauge(&self, name: &str, unit: Unit, value: f64, dimensions: &[(&str, &str)]) {
        self.record(name, unit, value, dimensions, |_, new| new);
    }

    fn record(
        &self,
        name: &str,
        unit: Unit,
        value: f64,
        dimensions: &[(&str, &str)],
        combine: fn(f64, f64) -> f64,
    ) {
        let key: DimensionValues = dimensions
            .iter()
            .map(|(k, v)| (k.to_string(), dimension_value(v)))
            .collect();
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        pending
            .entry(key)
            .or_default()
            .entry(name.to_string())
            .and_modify(|p| {
                p.value = combine(p.value, value);
                p.unit = unit;
            })
            .or_insert(Pending { unit, value });
    }

    /// The documents of what was collected, stamped `at`, without writing or clearing them.
    fn records(
        &self,
        pending: &BTreeMap<DimensionValues, BTreeMap<String, Pending>>,
        at: SystemTime,
    ) -> Vec<Record> {
        let timestamp = at
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        let mut records = Vec::new();
        for (dimensions, metrics) in pending {
            let metrics: Vec<(&String, &Pending)> = metrics.iter().collect();
            for chunk in metrics.chunks(MAX_METRICS_PER_DIRECTIVE) {
                let mut members: BTreeMap<String, Value> = dimensions
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::from(v.clone())))
                    .collect();
                let mut definitions = Vec::new();
                for (name, p) in chunk {
                    members.insert((*name).clone(), Value::from(p.value));
                    definitions.push(Definition {
                        name: (*name).clone(),
                        unit: p.unit,
                    });
                }
                records.push(Record {
                    metadata: Metadata {
                        timestamp,
                        cloud_watch_metrics: vec![Directive {
                            namespace: self.namespace.clone(),
                            dimensions: vec![dimensions.keys().cloned().collect()],
                            metrics: definitions,
                        }],
                    },
                    members,
                });
            }
        }
        records
    }

    /// Writes what was collected, one JSON line per set of dimension values, and starts
    /// afresh. What could not be written is dropped: metrics never fail an invocation.
    pub fn flush(&self) -> std::io::Result<()> {
        let pending =
            std::mem::take(&mut *self.pending.lock().unwrap_or_else(PoisonError::into_inner));
        if pending.is_empty() {
            return Ok(());
        }
        let mut text = String::new();
        for record in self.records(&pending, SystemTime::now()) {
            text.push_str(&serde_json::to_string(&record).map_err(std::io::Error::other)?);
            text.push('\n');
        }
        let mut sink = self.sink.lock().unwrap_or_else(PoisonError::into_inner);
        // One write for every line, so no other log line lands inside one.
        sink.write_all(text.as_bytes())?;
        sink.flush()
    }
}

/// A value CloudWatch accepts as a dimension value: printable ASCII, not empty, at most
/// 1024 characters.
fn dimension_value(value: &str) -> String {
    let mut clean: String = value
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .take(MAX_DIMENSION_VALUE)
        .collect();
    if clean.trim().is_empty() {
        clean = "none".to_string();
    }
    clean
}

/// A sink that keeps what is written to it, to read the lines back (in tests, or to show
/// what an invocation emitted).
#[derive(Debug, Clone, Default)]
pub struct MemorySink(Arc<Mutex<Vec<u8>>>);

impl MemorySink {
    /// The lines written so far.
    pub fn lines(&self) -> Vec<String> {
        let bytes = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        String::from_utf8_lossy(&bytes)
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// Forgets what was written.
    pub fn clear(&self) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }
}

impl Write for MemorySink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_flush_writes_one_spec_shaped_line_per_set_of_dimension_values() {
        let sink = MemorySink::default();
        let metrics = Metrics::to_writer("ContentPlatform/acme-dev", sink.clone());
        let before = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        metrics.count("WebhooksAccepted", 1, &[("Provider", "shopify")]);
        metrics.count("WebhooksAccepted", 2, &[("Provider", "shopify")]);
        metrics.count(
            "WebhooksRefused",
            1,
            &[("Provider", "sanity"), ("Reason", "signature")],
        );
        metrics.gauge("OutboxBacklog", Unit::Count, 7.0, &[]);
        metrics.gauge("OutboxBacklog", Unit::Count, 3.0, &[]);
        metrics.flush().unwrap();

        let lines = sink.lines();
        assert_eq!(lines.len(), 3, "{lines:#?}");
        let docs: Vec<Value> = lines
            .iter()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        // Groups are written in the order of their dimension values: none, then by key.
        let backlog = &docs[0];
        let stamp = backlog["_aws"]["Timestamp"].as_u64().unwrap();
        assert!(stamp >= before && stamp < before + 60_000, "{stamp}");
        assert_eq!(
            backlog,
            &json!({
                "_aws": {"Timestamp": stamp, "CloudWatchMetrics": [{
                    "Namespace": "ContentPlatform/acme-dev",
                    "Dimensions": [[]],
                    "Metrics": [{"Name": "OutboxBacklog", "Unit": "Count"}]}]},
                "OutboxBacklog": 3.0
            })
        );
        assert_eq!(docs[1]["Provider"], "sanity");
        assert_eq!(docs[1]["Reason"], "signature");
        assert_eq!(
            docs[1]["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["Provider", "Reason"]])
        );
        assert_eq!(docs[2]["WebhooksAccepted"], 3.0);

        let record = Record::parse(&lines[2]).unwrap();
        assert_eq!(record.namespace(), Some("ContentPlatform/acme-dev"));
        assert_eq!(
            record.dimensions(),
            BTreeMap::from([("Provider", "shopify")])
        );
        assert_eq!(record.metric("WebhooksAccepted"), Some((3.0, Unit::Count)));
        assert_eq!(record.timestamp_millis(), stamp);

        // A flush starts afresh; an empty one writes nothing.
        sink.clear();
        metrics.flush().unwrap();
        assert!(sink.lines().is_empty());
    }

    #[test]
    fn dimension_values_are_made_acceptable_and_directives_hold_at_most_100_metrics() {
        let sink = MemorySink::default();
        let metrics = Metrics::to_writer("N", sink.clone());
        let long = "x".repeat(2000);
        for i in 0..150 {
            metrics.count(
                &format!("M{i:03}"),
                1,
                &[("Provider", "caf\u{e9}\n"), ("Long", &long)],
            );
        }
        metrics.count("Other", 1, &[("Provider", "  ")]);
        metrics.flush().unwrap();
        let records: Vec<Record> = sink
            .lines()
            .iter()
            .map(|l| Record::parse(l).unwrap())
            .collect();
        assert_eq!(records.len(), 3);
        assert_eq!(records[0].dimensions()["Provider"], "caf__");
        assert_eq!(records[0].dimensions()["Long"].len(), 1024);
        assert_eq!(records[0].metric_names().len(), 100);
        assert_eq!(records[1].metric_names().len(), 50);
        assert_eq!(records[2].dimensions()["Provider"], "none");
    }

    #[test]
    fn a_line_that_is_not_emf_is_refused() {
        assert!(Record::parse(r#"{"level":"INFO","message":"hello"}"#).is_err());
        assert!(
            Record::parse(r#"{"_aws":{"Timestamp":1,"CloudWatchMetrics":[],"Extra":1}}"#).is_err()
        );
    }
}
