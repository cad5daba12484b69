//! Counting the events SNS accepted, whoever published them (a delivery, or a sweep), so the
//! invocation's `EventsPublished` metric is what reached the topic, not what was meant to.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use integration_api::{EventPublisher, PublishError};
use unified_content::ContentEvent;

/// A publisher that counts the events its inner publisher accepted.
pub(crate) struct Counting<P> {
    inner: P,
    published: Arc<AtomicU64>,
}

impl<P> Counting<P> {
    /// `inner`, counting into `published`.
    pub(crate) fn new(inner: P, published: Arc<AtomicU64>) -> Self {
        Counting { inner, published }
    }
}

#[async_trait]
impl<P: EventPublisher> EventPublisher for Counting<P> {
    async fn publish(&self, events: Vec<ContentEvent>) -> Result<(), PublishError> {
        let n = u64::try_from(events.len()).unwrap_or(u64::MAX);
        self.inner.publish(events).await?;
        self.published.fetch_add(n, Ordering::Relaxed);
        Ok(())
    }
}
