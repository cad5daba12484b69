//! One management API call: send, check the status, read a bounded body, decode it.

use serde::de::DeserializeOwned;

use crate::{RegistrationError, Secret};

/// Answers larger than this are refused: a webhook listing is a few kilobytes.
const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;
/// How much of an error answer is quoted in the error.
const QUOTED_BODY_CHARS: usize = 300;

/// A provider's management API at a base URL, with the names its errors carry.
pub(crate) struct Api<'a> {
    pub(crate) client: &'a reqwest::Client,
    pub(crate) provider: &'static str,
    pub(crate) token_variable: &'static str,
    base: String,
    /// The token and secret, cut out of any answer quoted in an error (a provider may echo
    /// the request).
    redact: Vec<&'a str>,
}

impl<'a> Api<'a> {
    pub(crate) fn new(
        client: &'a reqwest::Client,
        provider: &'static str,
        token_variable: &'static str,
        base: &str,
        secrets: &[&'a Secret],
    ) -> Self {
        Api {
            client,
            provider,
            token_variable,
            base: base.trim_end_matches('/').to_string(),
            redact: secrets.iter().map(|s| s.expose()).collect(),
        }
    }

    /// The base URL followed by `path` (which starts with `/`).
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends `request` and decodes a successful answer as `T`.
    pub(crate) async fn send<T: DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<T, RegistrationError> {
        let (url, status, body) = self.exchange(request).await?;
        self.decode(url, status, &body)
    }

    /// As [`Api::send`], but `None` for a 404: a resource that may not exist yet.
    pub(crate) async fn send_unless_absent<T: DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<Option<T>, RegistrationError> {
        let (url, status, body) = self.exchange(request).await?;
        if status == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        self.decode(url, status, &body).map(Some)
    }

    /// Sends `request` and reads the answer's status and bounded body.
    async fn exchange(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<(String, reqwest::StatusCode, Vec<u8>), RegistrationError> {
        let request = request
            .build()
            .map_err(|source| self.transport("", source))?;
        let url = request.url().to_string();
        let mut response = self
            .client
            .execute(request)
            .await
            .map_err(|source| self.transport(&url, source))?;
        let status = response.status();
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|source| self.transport(&url, source))?
        {
            if body.len() + chunk.len() > MAX_BODY_BYTES {
                return Err(
                    self.malformed(&url, format!("the answer exceeds {MAX_BODY_BYTES} bytes"))
                );
            }
            body.extend_from_slice(&chunk);
        }
        Ok((url, status, body))
    }

    /// A refused token or an error status as an error, else the body decoded as `T`.
    fn decode<T: DeserializeOwned>(
        &self,
        url: String,
        status: reqwest::StatusCode,
        body: &[u8],
    ) -> Result<T, RegistrationError> {
        if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
            return Err(RegistrationError::Unauthorized {
                provider: self.provider,
                variable: self.token_variable,
                status: status.as_u16(),
                url,
            });
        }
        if !status.is_success() {
            return Err(RegistrationError::Status {
                provider: self.provider,
                status: status.as_u16(),
                url,
                body: quote(body, &self.redact),
            });
        }
        serde_json::from_slice(body).map_err(|e| self.malformed(&url, format!("{e}")))
    }

    pub(crate) fn malformed(&self, url: &str, reason: impl Into<String>) -> RegistrationError {
        RegistrationError::Malformed {
            provider: self.provider,
            url: url.to_string(),
            reason: reason.into(),
        }
    }

    fn transport(&self, url: &str, source: reqwest::Error) -> RegistrationError {
        RegistrationError::Transport {
            provider: self.provider,
            url: url.to_string(),
            source,
        }
    }
}

/// The start of an error answer, with every secret in `redact` replaced.
fn quote(body: &[u8], redact: &[&str]) -> String {
    let mut text = String::from_utf8_lossy(body).into_owned();
    for secret in redact.iter().filter(|s| !s.is_empty()) {
        text = text.replace(secret, "[redacted]");
    }
    text.chars().take(QUOTED_BODY_CHARS).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_answers_never_carry_a_secret() {
        let body =
            br#"{"message":"invalid config","config":{"secret":"s3cret"},"token":"t0k3n-value"}"#;
        assert_eq!(
            quote(body, &["s3cret", "t0k3n-value", ""]),
            r#"{"message":"invalid config","config":{"secret":"[redacted]"},"token":"[redacted]"}"#
        );
        assert_eq!(
            quote("é".repeat(400).as_bytes(), &[]).chars().count(),
            QUOTED_BODY_CHARS
        );
    }
}
