//! An error and its causes on one line, each once.
//!
//! Libraries keep their errors typed (a message and a `source`); where one is logged or shown
//! to a person, it becomes `error: cause: deeper cause`. Some errors (the AWS SDK's among
//! them) already repeat their cause in their own message, so a cause whose text is already on
//! the line is left out rather than printed twice.

use std::error::Error;

/// `error`'s message followed by each of its causes, `": "` between them, each cause's text at
/// most once.
///
/// ```
/// let error = "12x".parse::<u8>().unwrap_err();
/// assert_eq!(error_line::error_line(&error), "invalid digit found in string");
/// ```
pub fn error_line(error: &dyn Error) -> String {
    let mut line = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !line.contains(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
        source = cause.source();
    }
    line
}

#[cfg(test)]
mod tests {
    use super::error_line;

    #[derive(Debug, thiserror::Error)]
    #[error("{message}")]
    struct Layer {
        message: &'static str,
        #[source]
        source: Option<Box<Layer>>,
    }

    fn layers(messages: &[&'static str]) -> Layer {
        messages
            .iter()
            .rev()
            .fold(None, |source, message| {
                Some(Layer {
                    message,
                    source: source.map(Box::new),
                })
            })
            .unwrap()
    }

    #[test]
    fn every_cause_follows_its_error() {
        let error = layers(&["the store failed", "database is locked", "busy"]);
        assert_eq!(
            error_line(&error),
            "the store failed: database is locked: busy"
        );
    }

    #[test]
    fn a_cause_already_in_the_message_is_not_repeated() {
        let error = layers(&["service error: timed out", "timed out"]);
        assert_eq!(error_line(&error), "service error: timed out");
    }

    #[test]
    fn an_error_without_causes_is_its_message() {
        assert_eq!(error_line(&layers(&["alone"])), "alone");
    }
}
