//! What a webhook request came to, in terms a metric can count: the router attaches a
//! [`WebhookOutcome`] to the extensions of every `POST /webhooks/{provider}` response, so that
//! the process serving the router (the Lambda) counts accepted and refused deliveries without
//! reading the answer's body.

use providers::AdapterError;

use crate::ingest::IngestError;

/// What one webhook request came to.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum WebhookOutcome {
    /// The delivery was applied, or acknowledged as a repeat (HTTP 200).
    Accepted {
        /// The provider.
        provider: String,
        /// The delivery id had been applied before; nothing changed.
        duplicate: bool,
    },
    /// The delivery was refused (HTTP 4xx or 5xx); nothing of it was stored.
    Refused {
        /// The provider, if it is an enabled one; `None` for a name no adapter answers to
        /// (anyone can put any name in the path, so it is not worth a metric of its own).
        provider: Option<String>,
        /// Why.
        reason: RefusalReason,
    },
}

/// Why a webhook was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RefusalReason {
    /// No adapter is enabled under the name in the path (404).
    UnknownProvider,
    /// The signature or token does not check out (401).
    Signature,
    /// The body is over the limit (413).
    TooLarge,
    /// The body could not be read (400).
    UnreadableBody,
    /// The verified payload is malformed or lacks a header (400).
    Malformed,
    /// The payload gives content that breaks the model's rules (400).
    Invalid,
    /// Reading more from the provider failed (502).
    Upstream,
    /// The store failed (500); the provider's retry applies the delivery.
    Store,
}

impl RefusalReason {
    /// The reason as a metric dimension value, such as `signature`.
    pub fn as_str(self) -> &'static str {
        match self {
            RefusalReason::UnknownProvider => "unknown_provider",
            RefusalReason::Signature => "signature",
            RefusalReason::TooLarge => "too_large",
            RefusalReason::UnreadableBody => "unreadable_body",
            RefusalReason::Malformed => "malformed",
            RefusalReason::Invalid => "invalid",
            RefusalReason::Upstream => "upstream",
            RefusalReason::Store => "store",
        }
    }
}

impl IngestError {
    /// Why the delivery was refused, as a metric counts it.
    pub fn refusal_reason(&self) -> RefusalReason {
        match self {
            IngestError::UnknownProvider { .. } => RefusalReason::UnknownProvider,
            IngestError::Signature { .. } => RefusalReason::Signature,
            IngestError::Adapter {
                cause: AdapterError::Upstream { .. },
                ..
            } => RefusalReason::Upstream,
            IngestError::Adapter { .. } => RefusalReason::Malformed,
            IngestError::Invalid { .. } => RefusalReason::Invalid,
            IngestError::Store(_) | IngestError::Publish(_) => RefusalReason::Store,
        }
    }
}
