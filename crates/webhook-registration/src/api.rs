//! One management API call: send, check the status, read a bounded body, decode it.

use serde::de::DeserializeOwned;

use crate::RegistrationError;

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
}

impl<'a> Api<'a> {
    pub(crate) fn new(
        client: &'a reqwest::Client,
        provider: &'static str,
        token_variable: &'static str,
        base: &str,
    ) -> Self {
        Api {
            client,
            provider,
            token_variable,
            base: base.trim_end_matches('/').to_string(),
        }
    }

    /// The base URL followed by `path` (which starts with `/`).
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends `request` and decodes a successful answer as `T`; `None` for a 404 when
    /// `absent_ok` (a resource that may not exist yet).
    pub(crate) async fn send<T: DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
        absent_ok: bool,
    ) -> Result<Option<T>, RegistrationError> {
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
        if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
            return Err(RegistrationError::Unauthorized {
                provider: self.provider,
                variable: self.token_variable,
                status: status.as_u16(),
                url,
            });
        }
        if absent_ok && status == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !status.is_success() {
            let text = String::from_utf8_lossy(&body);
            return Err(RegistrationError::Status {
                provider: self.provider,
                status: status.as_u16(),
                url,
                body: text.chars().take(QUOTED_BODY_CHARS).collect(),
            });
        }
        serde_json::from_slice(&body)
            .map(Some)
            .map_err(|e| self.malformed(&url, format!("{e}")))
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
