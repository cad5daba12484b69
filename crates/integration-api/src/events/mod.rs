//! Content events: the [`EventPublisher`] seam, the local, in-process publisher and the SNS
//! publisher.
//!
//! On AWS [`SnsPublisher`] sits behind the trait; locally the build trigger reads the channel
//! of [`LocalPublisher`].

mod sns;

pub use sns::{CONTENT_OMITTED_ATTRIBUTE, FILTER_POLICY, MAX_MESSAGE_BYTES, SnsPublisher};

use async_trait::async_trait;
use tokio::sync::mpsc;
use unified_content::{ContentEvent, ContentStatus, ContentType, Environment, EventType};

use crate::store::{Outcome, Write, WriteKind};

/// A content event could not be handed on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PublishError {
    /// The consumer of the local channel is gone.
    #[error("event channel is closed; the consumer of content events stopped, restart the server")]
    Closed {
        /// The id of the event not delivered.
        event_id: String,
    },
    /// The topic does not exist or the caller may not publish to it.
    #[error(
        "cannot publish event '{event_id}' to topic {topic}; check the topic ARN and that it exists in this account and region"
    )]
    Topic {
        /// The id of the event not delivered.
        event_id: String,
        /// The topic ARN.
        topic: String,
        /// The cause.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync + 'static>,
    },
    /// Publishing failed for another reason (network, throttling after retries).
    #[error("event '{event_id}' was not published; it is retried")]
    Failed {
        /// The id of the event not delivered.
        event_id: String,
        /// The cause.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync + 'static>,
    },
}

/// Hands content events to whatever triggers site builds.
#[async_trait]
pub trait EventPublisher: Send + Sync {
    /// Publishes the events of one delivery, in order.
    async fn publish(&self, events: Vec<ContentEvent>) -> Result<(), PublishError>;
}

/// Publishes into an in-process channel, read by the local build trigger.
#[derive(Debug, Clone)]
pub struct LocalPublisher {
    sender: mpsc::UnboundedSender<ContentEvent>,
}

impl LocalPublisher {
    /// A publisher and the receiving end of its channel.
    pub fn channel() -> (LocalPublisher, mpsc::UnboundedReceiver<ContentEvent>) {
        let (sender, receiver) = mpsc::unbounded_channel();
        (LocalPublisher { sender }, receiver)
    }
}

#[async_trait]
impl EventPublisher for LocalPublisher {
    async fn publish(&self, events: Vec<ContentEvent>) -> Result<(), PublishError> {
        for event in events {
            let event_id = event.event_id.clone();
            self.sender
                .send(event)
                .map_err(|_| PublishError::Closed { event_id })?;
        }
        Ok(())
    }
}

/// Where events say they come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventSource {
    /// The agency's client the site belongs to.
    pub client_id: String,
    /// The deployment environment.
    pub environment: Environment,
}

impl EventSource {
    /// The event of one store outcome, or `None` when nothing changed.
    pub fn event_for(&self, outcome: &Outcome) -> Option<ContentEvent> {
        let Outcome::Written(write) = outcome else {
            return None;
        };
        let Write {
            kind,
            previous,
            current,
        } = &**write;
        let collection = current.content_type == ContentType::Collection;
        let event_type = match kind {
            WriteKind::Created if collection => EventType::CollectionCreated,
            WriteKind::Updated if collection => EventType::CollectionUpdated,
            WriteKind::Created => EventType::ContentCreated,
            WriteKind::Updated => EventType::ContentUpdated,
            WriteKind::Deleted => EventType::ContentDeleted,
            WriteKind::Inventory => EventType::InventoryUpdated,
        };
        // A build follows when a page shows the change: the item is or was published.
        let visible = |status: ContentStatus| status == ContentStatus::Published;
        let requires_build =
            visible(current.status) || previous.as_ref().is_some_and(|p| visible(p.status));
        Some(ContentEvent {
            event_id: uuid::Uuid::new_v4().to_string(),
            event_type,
            content_id: current.id.clone(),
            content_type: current.content_type,
            provider_name: current.provider_name.clone(),
            timestamp: chrono::Utc::now(),
            requires_build,
            content_data: Some(current.clone()),
            previous_content: previous.clone(),
            client_id: self.client_id.clone(),
            environment: self.environment,
        })
    }
}

/// Logs every event of the local channel. Until the build trigger consumes them, this is what
/// both hosts do with them.
pub async fn log_events(mut events: mpsc::UnboundedReceiver<ContentEvent>) {
    while let Some(e) = events.recv().await {
        tracing::info!(
            event_type = e.event_type.as_str(),
            content_id = %e.content_id,
            provider = %e.provider_name,
            requires_build = e.requires_build,
            "content event"
        );
    }
}
