//! One invocation: an API Gateway request goes through lambda_http's own conversion to the
//! router; the scheduled event (an EventBridge rule, every 5 minutes) sweeps the outbox. Either
//! way the invocation's metrics are written as EMF lines when it ends.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use emf_metrics::{Metrics, Unit};
use integration_api::WebhookOutcome;
use integration_api::ingest::SWEEP_GRACE;
use lambda_http::lambda_runtime::{Error, LambdaEvent};
use lambda_http::request::LambdaRequest;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tower::ServiceExt;

use crate::{App, service};

/// Webhooks applied or acknowledged as repeats, by `Provider`.
pub const WEBHOOKS_ACCEPTED: &str = "WebhooksAccepted";
/// Webhooks refused, by `Provider` (`unknown` for a name no adapter answers to) and `Reason`
/// ([`integration_api::RefusalReason::as_str`]).
pub const WEBHOOKS_REFUSED: &str = "WebhooksRefused";
/// Content events SNS accepted during the invocation (a delivery's own, or swept ones).
pub const EVENTS_PUBLISHED: &str = "EventsPublished";
/// Outbox events still unsent 30 s after their delivery, measured by each scheduled sweep.
pub const OUTBOX_BACKLOG: &str = "OutboxBacklog";

/// Whether `payload` is the event of an EventBridge schedule rule (`"source": "aws.events"`,
/// which only AWS sends, and `"detail-type": "Scheduled Event"`). API Gateway's requests have
/// neither member.
fn is_scheduled(payload: &Value) -> bool {
    payload.get("source").and_then(Value::as_str) == Some("aws.events")
        && payload.get("detail-type").and_then(Value::as_str) == Some("Scheduled Event")
}

/// What a scheduled sweep did, returned as the invocation's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SweepReport {
    /// Outbox events published.
    pub published: usize,
    /// Outbox events still unsent after the sweep.
    pub backlog: usize,
}

/// The function's handler: the app and where its metrics go.
#[derive(Clone)]
pub struct Handler {
    app: App,
    metrics: Arc<Metrics>,
}

impl Handler {
    /// The handler of `app`, writing metrics to `metrics`.
    pub fn new(app: App, metrics: Metrics) -> Handler {
        Handler {
            app,
            metrics: Arc::new(metrics),
        }
    }

    /// Handles one invocation: an API Gateway request (answered as lambda_http answers it) or
    /// the scheduled sweep. Anything else is an error naming what was expected.
    pub async fn invoke(&self, event: LambdaEvent<Value>) -> Result<Value, Error> {
        let LambdaEvent { payload, context } = event;
        let result = if is_scheduled(&payload) {
            self.sweep(context.deadline).await
        } else {
            match serde_json::from_value::<LambdaRequest>(payload) {
                Ok(request) => self.http(LambdaEvent::new(request, context)).await,
                Err(error) => Err(format!(
                    "the integration API takes API Gateway requests and its scheduled sweep \
                     (an EventBridge \"Scheduled Event\"), not this event: {error}"
                )
                .into()),
            }
        };
        let published = self.app.published.swap(0, Ordering::Relaxed);
        if published > 0 {
            self.metrics.count(EVENTS_PUBLISHED, published, &[]);
        }
        if let Err(error) = self.metrics.flush() {
            tracing::warn!(%error, "metrics could not be written");
        }
        result
    }

    async fn http(&self, event: LambdaEvent<LambdaRequest>) -> Result<Value, Error> {
        let metrics = Arc::clone(&self.metrics);
        let routes = service(self.app.router.clone()).map_response(move |response| {
            if let Some(outcome) = response.extensions().get::<WebhookOutcome>() {
                record(&metrics, outcome);
            }
            response
        });
        // lambda_http::run wraps a service in this same Adapter (request conversion, X-Ray
        // header, the response shape of each origin). It and LambdaRequest are public but
        // hidden from lambda_http's docs: an upgrade may move them, which the handler tests
        // (REST fixtures through invoke) would show.
        let response = lambda_http::Adapter::from(routes)
            .oneshot(event)
            .await
            .map_err(|never| match never {})?;
        Ok(serde_json::to_value(response)?)
    }

    /// Sweeps until done or until [`SWEEP_MARGIN`] before the invocation's deadline (in ms
    /// since the epoch; 0 when unknown): events published but not yet marked sent when it is
    /// cut go out again next time, which consumers de-duplicate.
    async fn sweep(&self, deadline: u64) -> Result<Value, Error> {
        let sweep = self.app.ingest.sweep(SWEEP_GRACE);
        let swept = match time_left(deadline) {
            None => sweep.await,
            Some(budget) => match tokio::time::timeout(budget, sweep).await {
                Ok(swept) => swept,
                Err(_) => {
                    tracing::warn!("outbox sweep cut short by the invocation's deadline");
                    let published = self.app.published.load(Ordering::Relaxed);
                    Ok(usize::try_from(published).unwrap_or(usize::MAX))
                }
            },
        };
        // Measured after the sweep, and also when it failed: that is when it grows.
        let backlog = self.app.ingest.outbox_backlog(SWEEP_GRACE).await;
        if let Ok(backlog) = &backlog {
            self.metrics
                .gauge(OUTBOX_BACKLOG, Unit::Count, *backlog as f64, &[]);
        }
        let published = swept.map_err(|e| chain(&e))?;
        let backlog = backlog.map_err(|e| chain(&e))?;
        tracing::info!(published, backlog, "outbox swept");
        Ok(serde_json::to_value(SweepReport { published, backlog })?)
    }
}

/// What a sweep leaves of the invocation's time: enough to count the backlog and write the
/// metrics, which an invocation cut by its timeout loses.
pub const SWEEP_MARGIN: Duration = Duration::from_secs(3);

/// The time the sweep may take before the deadline (ms since the epoch), or `None` when the
/// deadline is unknown (0).
fn time_left(deadline: u64) -> Option<Duration> {
    if deadline == 0 {
        return None;
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    Some(
        Duration::from_millis(deadline)
            .saturating_sub(now)
            .saturating_sub(SWEEP_MARGIN),
    )
}

fn record(metrics: &Metrics, outcome: &WebhookOutcome) {
    match outcome {
        WebhookOutcome::Accepted { provider, .. } => {
            metrics.count(WEBHOOKS_ACCEPTED, 1, &[("Provider", provider)]);
        }
        WebhookOutcome::Refused { provider, reason } => {
            let provider = provider.as_deref().unwrap_or("unknown");
            metrics.count(
                WEBHOOKS_REFUSED,
                1,
                &[("Provider", provider), ("Reason", reason.as_str())],
            );
        }
        // A later kind of outcome is not counted until it has a metric.
        _ => {}
    }
}

fn chain(error: &dyn std::error::Error) -> Error {
    let text = error_line::error_line(error);
    tracing::error!(error = %text, "outbox sweep failed");
    text.into()
}
