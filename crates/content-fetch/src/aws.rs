//! AWS region and credentials through aws-config's default chain, and SigV4 signing of GETs.

use std::time::SystemTime;

use aws_config::{BehaviorVersion, Region};
use aws_credential_types::Credentials;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use error_line::error_line;
use reqwest::Url;

use crate::error::FetchError;
use crate::settings::{Settings, region_from_endpoint};

/// The service name API Gateway IAM auth expects in the credential scope.
pub const SERVICE: &str = "execute-api";

/// The region and credentials requests are signed with.
#[derive(Clone, Debug)]
pub struct AwsAccess {
    /// The API's region.
    pub region: String,
    /// Where credentials come from; refreshed by aws-config when they expire.
    pub credentials: SharedCredentialsProvider,
    /// The profile the credentials were looked up in, for messages.
    profile: String,
}

impl AwsAccess {
    /// Fixed region and credentials, for callers that already hold them.
    pub fn new(region: impl Into<String>, credentials: impl ProvideCredentials + 'static) -> Self {
        AwsAccess {
            region: region.into(),
            credentials: SharedCredentialsProvider::new(credentials),
            profile: "(given credentials)".into(),
        }
    }

    /// Loads region and credentials through aws-config's default chain: environment, web
    /// identity, the shared files with the settings' profile (static keys, SSO, assume-role,
    /// credential_process), container credentials and IMDS. Credentials are fetched once
    /// here so that a missing source fails before any request, with one error listing them.
    pub async fn load(settings: &Settings) -> Result<AwsAccess, FetchError> {
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        if let Some(profile) = &settings.profile {
            loader = loader.profile_name(profile);
        }
        if let Some(region) = &settings.region {
            loader = loader.region(Region::new(region.clone()));
        }
        let config = loader.load().await;
        let profile = settings
            .profile
            .clone()
            .or_else(|| std::env::var("AWS_PROFILE").ok())
            .unwrap_or_else(|| "default".to_string());
        let region = config
            .region()
            .map(|r| r.to_string())
            .or_else(|| region_from_endpoint(&settings.endpoint))
            .ok_or_else(|| FetchError::NoRegion {
                profile: settings.profile.clone(),
            })?;
        let no_credentials = |cause: String| FetchError::NoCredentials {
            profile: profile.clone(),
            cause,
        };
        let credentials = config
            .credentials_provider()
            .ok_or_else(|| no_credentials("no credentials provider configured".into()))?;
        if let Err(e) = credentials.provide_credentials().await {
            return Err(no_credentials(error_line(&e)));
        }
        Ok(AwsAccess {
            region,
            credentials,
            profile,
        })
    }

    /// Current credentials, refreshed when needed.
    pub(crate) async fn current(&self) -> Result<Credentials, FetchError> {
        self.credentials
            .provide_credentials()
            .await
            .map_err(|e| FetchError::NoCredentials {
                profile: self.profile.clone(),
                cause: error_line(&e),
            })
    }
}

/// Signs a GET of `url` with SigV4 for `execute-api` in `region` at `time`, as the AWS SDKs
/// do (double URI encoding, normalized path, session token signed in), and returns the
/// headers to send: `x-amz-date`, `x-amz-security-token` when there is one, `authorization`.
///
/// `url` must already be percent-encoded; [`crate::content_url`] and [`crate::item_url`]
/// encode every query value, because aws-sigv4 1.6 would sign a raw `+` as a space.
pub fn sign_get(
    url: &Url,
    region: &str,
    credentials: &Credentials,
    time: SystemTime,
) -> Result<Vec<(String, String)>, FetchError> {
    let identity = credentials.clone().into();
    let signing_error = |e: &dyn std::error::Error| FetchError::BadEndpoint {
        url: url.to_string(),
        source_name: "request signing".into(),
        reason: error_line(e),
    };
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(SERVICE)
        .time(time)
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| signing_error(&e))?
        .into();
    let request = SignableRequest::new(
        "GET",
        url.as_str(),
        std::iter::empty(),
        SignableBody::Bytes(&[]),
    )
    .map_err(|e| signing_error(&e))?;
    let (instructions, _signature) = sign(request, &params)
        .map_err(|e| signing_error(&e))?
        .into_parts();
    let (headers, _params) = instructions.into_parts();
    Ok(headers
        .into_iter()
        .map(|h| (h.name().to_string(), h.value().to_string()))
        .collect())
}
