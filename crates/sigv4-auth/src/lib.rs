//! SigV4 request verification as API Gateway IAM auth does it, for the local integration API
//! and test servers.
//!
//! The verifier does not re-implement the canonical request: it rebuilds the request from only
//! the headers the client signed and lets `aws-sigv4` (the signer the AWS SDK for Rust uses)
//! sign it again with the client's own `x-amz-date`, with the settings API Gateway expects
//! for `execute-api` (double URI encoding, normalized paths). The two signatures are compared
//! in constant time.
//!
//! ```
//! use std::time::{Duration, SystemTime};
//! use sigv4_auth::{SigV4Verifier, VerifyError};
//!
//! let verifier = SigV4Verifier::new("us-east-1", "execute-api")
//!     .with_key("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", None);
//! let request = http::Request::get("http://127.0.0.1:8080/content").body(()).unwrap();
//! let (parts, ()) = request.into_parts();
//! let err = verifier.verify_parts(&parts, b"", SystemTime::now()).unwrap_err();
//! assert!(matches!(err, VerifyError::MissingAuthorization));
//! ```
#![deny(missing_docs)]

use std::collections::HashMap;
use std::fmt;
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use chrono::{DateTime, NaiveDateTime, Utc};
use http::{HeaderMap, Method, Uri};
use subtle::ConstantTimeEq;

/// How far the request's `x-amz-date` may be from the server's clock, as API Gateway allows.
pub const MAX_CLOCK_SKEW: Duration = Duration::from_secs(5 * 60);

const ALGORITHM: &str = "AWS4-HMAC-SHA256";
const X_AMZ_DATE: &str = "x-amz-date";
const X_AMZ_SECURITY_TOKEN: &str = "x-amz-security-token";

/// Why a request was refused. Messages name the access key, region or header involved but
/// never a secret key, session token or signature.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The request has no `Authorization` header.
    #[error("missing Authorization header: sign the request with AWS SigV4 (service execute-api)")]
    MissingAuthorization,
    /// The `Authorization` header is not a SigV4 header this verifier can read.
    #[error("malformed Authorization header: {reason}")]
    MalformedAuthorization {
        /// What is wrong with it.
        reason: String,
    },
    /// The request has no `x-amz-date` header, or it is not `YYYYMMDDTHHMMSSZ`.
    #[error(
        "missing or malformed x-amz-date header {value:?}: send the signing time as YYYYMMDDTHHMMSSZ"
    )]
    BadDate {
        /// The header's value, if there was one.
        value: Option<String>,
    },
    /// The signing time is too far from the server's clock.
    #[error(
        "request time {request_time} is more than {max_secs} s from server time {server_time}: check the client's clock"
    )]
    ClockSkew {
        /// The request's `x-amz-date`.
        request_time: String,
        /// The server's time.
        server_time: String,
        /// The allowed difference in seconds.
        max_secs: u64,
    },
    /// The access key is not one this verifier knows.
    #[error("unknown access key '{access_key_id}': use credentials this API was configured with")]
    UnknownAccessKey {
        /// The access key the request named.
        access_key_id: String,
    },
    /// The credential scope names another region.
    #[error(
        "credential scope names region '{found}' but this API is in '{expected}': set the region to '{expected}'"
    )]
    WrongRegion {
        /// The region the verifier serves.
        expected: String,
        /// The region the request was signed for.
        found: String,
    },
    /// The credential scope names another service.
    #[error("credential scope names service '{found}' but this API expects '{expected}'")]
    WrongService {
        /// The service the verifier serves.
        expected: String,
        /// The service the request was signed for.
        found: String,
    },
    /// The credential scope's date is not the date of `x-amz-date`.
    #[error("credential scope date '{scope_date}' does not match x-amz-date '{request_time}'")]
    ScopeDateMismatch {
        /// The date in the credential scope.
        scope_date: String,
        /// The request's `x-amz-date`.
        request_time: String,
    },
    /// A header that must be signed was not, or a signed header is missing from the request.
    #[error("header '{name}' must be present and signed")]
    UnsignedHeader {
        /// The header's lower-case name.
        name: String,
    },
    /// The session token is missing, unexpected or not the one configured for the key.
    #[error(
        "session token for access key '{access_key_id}' is missing or wrong: send the x-amz-security-token of these credentials"
    )]
    SessionToken {
        /// The access key the request named.
        access_key_id: String,
    },
    /// The signature does not match the request: it was altered, or signed with another secret.
    #[error(
        "signature mismatch for access key '{access_key_id}': the request was changed after signing or signed with another secret key"
    )]
    SignatureMismatch {
        /// The access key the request named.
        access_key_id: String,
    },
    /// The request could not be put in canonical form (bad header values or URI).
    #[error("request cannot be canonicalized for SigV4: {reason}")]
    Canonical {
        /// What the signer refused.
        reason: String,
    },
}

impl VerifyError {
    /// The HTTP status API Gateway answers with: 403 for every refused signature.
    pub fn status(&self) -> http::StatusCode {
        http::StatusCode::FORBIDDEN
    }
}

/// Secret material for one access key.
struct KeyEntry {
    secret_access_key: String,
    session_token: Option<String>,
}

/// Checks SigV4 `Authorization` headers against a set of configured access keys.
pub struct SigV4Verifier {
    region: String,
    service: String,
    keys: HashMap<String, KeyEntry>,
    max_skew: Duration,
}

impl fmt::Debug for SigV4Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Key ids only: secrets and tokens never reach a log.
        let mut ids: Vec<&String> = self.keys.keys().collect();
        ids.sort();
        f.debug_struct("SigV4Verifier")
            .field("region", &self.region)
            .field("service", &self.service)
            .field("access_key_ids", &ids)
            .finish()
    }
}

/// The identity a verified request was signed with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The access key that signed the request.
    pub access_key_id: String,
    /// The signing time from `x-amz-date`.
    pub signed_at: DateTime<Utc>,
}

/// The parts of an `Authorization: AWS4-HMAC-SHA256 ...` header.
struct Authorization<'a> {
    access_key_id: &'a str,
    date: &'a str,
    region: &'a str,
    service: &'a str,
    signed_headers: Vec<&'a str>,
    signature: &'a str,
}

fn malformed(reason: impl Into<String>) -> VerifyError {
    VerifyError::MalformedAuthorization {
        reason: reason.into(),
    }
}

fn parse_authorization(value: &str) -> Result<Authorization<'_>, VerifyError> {
    let rest = value
        .strip_prefix(ALGORITHM)
        .and_then(|r| r.strip_prefix(' '))
        .ok_or_else(|| malformed(format!("it must start with '{ALGORITHM} '")))?;
    let (mut credential, mut signed, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let (name, val) = part.trim().split_once('=').ok_or_else(|| {
            malformed("expected Credential=..., SignedHeaders=..., Signature=...")
        })?;
        let slot = match name {
            "Credential" => &mut credential,
            "SignedHeaders" => &mut signed,
            "Signature" => &mut signature,
            other => return Err(malformed(format!("unexpected component '{other}'"))),
        };
        if slot.replace(val).is_some() {
            return Err(malformed(format!("component '{name}' appears twice")));
        }
    }
    let credential = credential.ok_or_else(|| malformed("Credential is missing"))?;
    let signed = signed.ok_or_else(|| malformed("SignedHeaders is missing"))?;
    let signature = signature.ok_or_else(|| malformed("Signature is missing"))?;
    let scope: Vec<&str> = credential.split('/').collect();
    let [access_key_id, date, region, service, terminator] = scope[..] else {
        return Err(malformed(
            "Credential must be <access key>/<date>/<region>/<service>/aws4_request",
        ));
    };
    if terminator != "aws4_request" || access_key_id.is_empty() {
        return Err(malformed(
            "Credential must be <access key>/<date>/<region>/<service>/aws4_request",
        ));
    }
    let signed_headers: Vec<&str> = signed.split(';').collect();
    let well_formed = signed_headers
        .iter()
        .all(|h| !h.is_empty() && *h == h.to_ascii_lowercase())
        && signed_headers.windows(2).all(|w| w[0] < w[1]);
    if !well_formed {
        return Err(malformed(
            "SignedHeaders must be lower-case header names, sorted, separated by ';'",
        ));
    }
    if signature.len() != 64 || !signature.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(malformed("Signature must be 64 hex digits"));
    }
    Ok(Authorization {
        access_key_id,
        date,
        region,
        service,
        signed_headers,
        signature,
    })
}

impl SigV4Verifier {
    /// A verifier for requests signed for `region` and `service` (API Gateway: `execute-api`),
    /// with no keys yet.
    pub fn new(region: impl Into<String>, service: impl Into<String>) -> SigV4Verifier {
        SigV4Verifier {
            region: region.into(),
            service: service.into(),
            keys: HashMap::new(),
            max_skew: MAX_CLOCK_SKEW,
        }
    }

    /// Accepts requests signed with this access key and secret. With a session token, the
    /// request must carry exactly that `x-amz-security-token`; without one, it must carry none.
    pub fn with_key(
        mut self,
        access_key_id: impl Into<String>,
        secret_access_key: impl Into<String>,
        session_token: Option<String>,
    ) -> SigV4Verifier {
        self.keys.insert(
            access_key_id.into(),
            KeyEntry {
                secret_access_key: secret_access_key.into(),
                session_token,
            },
        );
        self
    }

    /// Verifies a request given as `http` request parts and its body.
    pub fn verify_parts(
        &self,
        parts: &http::request::Parts,
        body: &[u8],
        now: SystemTime,
    ) -> Result<Verified, VerifyError> {
        self.verify(&parts.method, &parts.uri, &parts.headers, body, now)
    }

    /// Verifies a request: its `Authorization` header, credential scope, key, session token,
    /// signing time (within [`MAX_CLOCK_SKEW`] of `now`) and signature over the method, path,
    /// query, signed headers and body.
    pub fn verify(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        body: &[u8],
        now: SystemTime,
    ) -> Result<Verified, VerifyError> {
        let header = headers
            .get(http::header::AUTHORIZATION)
            .ok_or(VerifyError::MissingAuthorization)?;
        let header = header
            .to_str()
            .map_err(|_| malformed("it is not ASCII text"))?;
        let auth = parse_authorization(header)?;

        if auth.region != self.region {
            return Err(VerifyError::WrongRegion {
                expected: self.region.clone(),
                found: auth.region.to_string(),
            });
        }
        if auth.service != self.service {
            return Err(VerifyError::WrongService {
                expected: self.service.clone(),
                found: auth.service.to_string(),
            });
        }

        let date_value = headers.get(X_AMZ_DATE).and_then(|v| v.to_str().ok());
        let signed_at = date_value
            .and_then(|v| NaiveDateTime::parse_from_str(v, "%Y%m%dT%H%M%SZ").ok())
            .map(|t| t.and_utc())
            .ok_or_else(|| VerifyError::BadDate {
                value: date_value.map(str::to_string),
            })?;
        let request_time = date_value.unwrap_or_default().to_string();
        if !request_time.starts_with(auth.date) || auth.date.len() != 8 {
            return Err(VerifyError::ScopeDateMismatch {
                scope_date: auth.date.to_string(),
                request_time,
            });
        }
        let server_time: DateTime<Utc> = now.into();
        let skew = (server_time - signed_at)
            .abs()
            .to_std()
            .unwrap_or(Duration::MAX);
        if skew > self.max_skew {
            return Err(VerifyError::ClockSkew {
                request_time,
                server_time: server_time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                max_secs: self.max_skew.as_secs(),
            });
        }

        let key =
            self.keys
                .get(auth.access_key_id)
                .ok_or_else(|| VerifyError::UnknownAccessKey {
                    access_key_id: auth.access_key_id.to_string(),
                })?;
        let token_error = || VerifyError::SessionToken {
            access_key_id: auth.access_key_id.to_string(),
        };
        let sent_token = headers.get(X_AMZ_SECURITY_TOKEN).map(|v| v.as_bytes());
        match (&key.session_token, sent_token) {
            (None, None) => {}
            (Some(expected), Some(sent)) if bool::from(expected.as_bytes().ct_eq(sent)) => {}
            _ => return Err(token_error()),
        }

        for required in ["host", X_AMZ_DATE] {
            if !auth.signed_headers.contains(&required) {
                return Err(VerifyError::UnsignedHeader {
                    name: required.to_string(),
                });
            }
        }
        // Rebuild the request from the signed headers only, each with all its values in order.
        let mut signed: Vec<(&str, &str)> = Vec::new();
        let mut token_signed = false;
        for name in &auth.signed_headers {
            let values = headers.get_all(*name);
            let mut any = false;
            for value in values {
                let value = value.to_str().map_err(|_| VerifyError::Canonical {
                    reason: format!("header '{name}' is not visible ASCII"),
                })?;
                any = true;
                match *name {
                    // The signer adds these two itself from the signing time and credentials.
                    X_AMZ_DATE => {}
                    X_AMZ_SECURITY_TOKEN => token_signed = true,
                    _ => signed.push((name, value)),
                }
            }
            if !any {
                return Err(VerifyError::UnsignedHeader {
                    name: name.to_string(),
                });
            }
        }
        let credentials = Credentials::new(
            auth.access_key_id,
            key.secret_access_key.clone(),
            if token_signed {
                key.session_token.clone()
            } else {
                None
            },
            None,
            "sigv4-auth",
        );
        let identity = credentials.into();
        let mut settings = SigningSettings::default();
        // Only signed headers are passed in, so none need excluding.
        settings.excluded_headers = None;
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name(&self.service)
            .time(signed_at.into())
            .settings(settings)
            .build()
            .map_err(|e| VerifyError::Canonical {
                reason: e.to_string(),
            })?
            .into();
        let path_and_query = uri.path_and_query().map_or("/", |p| p.as_str());
        let signable = SignableRequest::new(
            method.as_str(),
            path_and_query,
            signed.into_iter(),
            SignableBody::Bytes(body),
        )
        .map_err(|e| VerifyError::Canonical {
            reason: e.to_string(),
        })?;
        let output = sign(signable, &params).map_err(|e| VerifyError::Canonical {
            reason: e.to_string(),
        })?;
        let (instructions, expected) = output.into_parts();
        let recomputed_headers = instructions
            .headers()
            .find(|(name, _)| name.eq_ignore_ascii_case("authorization"))
            .and_then(|(_, v)| v.split("SignedHeaders=").nth(1))
            .and_then(|v| v.split(',').next())
            .unwrap_or_default()
            .to_string();
        let same_headers = recomputed_headers == auth.signed_headers.join(";");
        let same_signature: bool = expected.as_bytes().ct_eq(auth.signature.as_bytes()).into();
        if same_headers && same_signature {
            Ok(Verified {
                access_key_id: auth.access_key_id.to_string(),
                signed_at,
            })
        } else {
            Err(VerifyError::SignatureMismatch {
                access_key_id: auth.access_key_id.to_string(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorization_header_is_parsed_strictly() {
        let ok = parse_authorization(
            "AWS4-HMAC-SHA256 Credential=AK/20150830/us-east-1/execute-api/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
        )
        .map(|a| (a.access_key_id, a.region, a.service, a.signed_headers))
        .unwrap();
        assert_eq!(
            ok,
            ("AK", "us-east-1", "execute-api", vec!["host", "x-amz-date"])
        );
        for bad in [
            "Basic abc",
            "AWS4-HMAC-SHA256 Credential=AK/20150830/us-east-1/execute-api/aws4_request",
            "AWS4-HMAC-SHA256 Credential=AK/20150830/us-east-1/aws4_request, SignedHeaders=host, Signature=00",
            "AWS4-HMAC-SHA256 Credential=AK/20150830/us-east-1/execute-api/aws4_request, SignedHeaders=x-amz-date;host, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
            "AWS4-HMAC-SHA256 Credential=AK/20150830/us-east-1/execute-api/aws4_request, SignedHeaders=host, Signature=zz",
        ] {
            assert!(
                matches!(
                    parse_authorization(bad),
                    Err(VerifyError::MalformedAuthorization { .. })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn debug_never_shows_secrets() {
        let v = SigV4Verifier::new("eu-west-1", "execute-api").with_key(
            "AKID",
            "very-secret",
            Some("token-value".into()),
        );
        let text = format!("{v:?}");
        assert!(text.contains("AKID"));
        assert!(!text.contains("very-secret") && !text.contains("token-value"));
    }
}
