//! Content events to an SNS topic: the `ContentEvent` JSON as the message, with the message
//! attributes subscriptions filter on.

use async_trait::async_trait;
use aws_sdk_sns::Client;
use aws_sdk_sns::error::ProvideErrorMetadata;
use aws_sdk_sns::types::MessageAttributeValue;
use unified_content::ContentEvent;

use super::{EventPublisher, PublishError};

/// The build trigger's subscription filter policy: content created, updated or deleted, where
/// a build should follow. The deploy template and the tests read the same file.
pub const FILTER_POLICY: &str = include_str!("../../../../deploy/filter-policy.json");

/// SNS's limit on a message, body and attributes together.
pub const MAX_MESSAGE_BYTES: usize = 256 * 1024;

/// The attribute set on an event that was too large for SNS: `content_data` and
/// `previous_content` were dropped, consumers read the item from the content API.
pub const CONTENT_OMITTED_ATTRIBUTE: &str = "content_omitted";

/// Publishes content events to one SNS topic through an SDK client built once.
#[derive(Debug, Clone)]
pub struct SnsPublisher {
    client: Client,
    topic_arn: String,
}

impl SnsPublisher {
    /// The publisher of `topic_arn`.
    pub fn new(client: Client, topic_arn: impl Into<String>) -> SnsPublisher {
        SnsPublisher {
            client,
            topic_arn: topic_arn.into(),
        }
    }

    /// The topic.
    pub fn topic_arn(&self) -> &str {
        &self.topic_arn
    }

    /// Checks that the topic exists, so that a wrong ARN fails at start.
    pub async fn check(&self) -> Result<(), PublishError> {
        self.client
            .get_topic_attributes()
            .topic_arn(&self.topic_arn)
            .send()
            .await
            .map(drop)
            .map_err(|e| PublishError::Topic {
                event_id: String::new(),
                topic: self.topic_arn.clone(),
                source: Box::new(aws_sdk_sns::Error::from(e)),
            })
    }

    async fn publish_one(&self, event: &ContentEvent) -> Result<(), PublishError> {
        let (message, omitted) = message(event);
        let text = |v: &str| {
            MessageAttributeValue::builder()
                .data_type("String")
                .string_value(v)
                .build()
                .expect("type is set")
        };
        let mut request = self
            .client
            .publish()
            .topic_arn(&self.topic_arn)
            .message(message)
            .message_attributes("event_type", text(event.event_type.as_str()))
            .message_attributes("content_type", text(event.content_type.as_str()))
            .message_attributes("provider_name", text(&event.provider_name))
            .message_attributes(
                "requires_build",
                text(if event.requires_build {
                    "true"
                } else {
                    "false"
                }),
            )
            .message_attributes("client_id", text(&event.client_id));
        if omitted {
            request = request.message_attributes(CONTENT_OMITTED_ATTRIBUTE, text("true"));
        }
        request.send().await.map(drop).map_err(|error| {
            let event_id = event.event_id.clone();
            match error.code() {
                Some(
                    "NotFound" | "NotFoundException" | "AuthorizationError" | "InvalidParameter",
                ) => PublishError::Topic {
                    event_id,
                    topic: self.topic_arn.clone(),
                    source: Box::new(aws_sdk_sns::Error::from(error)),
                },
                _ => PublishError::Failed {
                    event_id,
                    source: Box::new(aws_sdk_sns::Error::from(error)),
                },
            }
        })
    }
}

/// The message of an event, and whether its bodies had to be dropped to fit SNS's limit.
fn message(event: &ContentEvent) -> (String, bool) {
    let full = serde_json::to_string(event).expect("events serialize");
    // Room for the attributes: names, types and values, generously.
    let attributes = 512 + event.provider_name.len() + event.client_id.len();
    if full.len() + attributes <= MAX_MESSAGE_BYTES {
        return (full, false);
    }
    let mut lean = event.clone();
    lean.content_data = None;
    lean.previous_content = None;
    (
        serde_json::to_string(&lean).expect("events serialize"),
        true,
    )
}

#[async_trait]
impl EventPublisher for SnsPublisher {
    async fn publish(&self, events: Vec<ContentEvent>) -> Result<(), PublishError> {
        for event in &events {
            self.publish_one(event).await?;
        }
        Ok(())
    }
}
