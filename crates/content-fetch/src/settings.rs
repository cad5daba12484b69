//! Where the fetcher talks to: the endpoint, region and profile from flags, environment and
//! `content-fetch.toml`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::Url;
use serde::Deserialize;

use crate::error::{FetchError, Setting};

/// The name of the optional settings file, searched from the working folder upward.
pub const CONFIG_FILE_NAME: &str = "content-fetch.toml";

/// The variable CodeBuild receives the API's URL in from the build trigger.
pub const ENDPOINT_ENV: &str = "INTEGRATION_API_URL";

/// The contents of `content-fetch.toml`. Every key is optional; unknown keys are left for
/// other parts of the tool (such as the writers' settings).
///
/// ```toml
/// endpoint = "https://abc123.execute-api.eu-west-1.amazonaws.com/prod"
/// region = "eu-west-1"
/// profile = "agency-dev"
/// engine = "eleventy"
/// out = "src/_data/fetched"
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct ConfigFile {
    /// The content API's base URL, stage included.
    pub endpoint: Option<String>,
    /// The API's AWS region.
    pub region: Option<String>,
    /// The AWS profile to sign with.
    pub profile: Option<String>,
    /// The static site generator whose data files a run writes, such as `astro`.
    pub engine: Option<String>,
    /// The output folder of those files, relative to this file's folder (the site's root).
    pub out: Option<PathBuf>,
}

impl ConfigFile {
    /// The nearest `content-fetch.toml` in `start` or a parent folder, read, with its path.
    pub fn find(start: &Path) -> Result<Option<(PathBuf, ConfigFile)>, FetchError> {
        for dir in start.ancestors() {
            let path = dir.join(CONFIG_FILE_NAME);
            if path.is_file() {
                let text = std::fs::read_to_string(&path).map_err(|e| FetchError::ConfigFile {
                    path: path.clone(),
                    reason: e.to_string(),
                })?;
                let file = toml::from_str(&text).map_err(|e| FetchError::ConfigFile {
                    path: path.clone(),
                    reason: e.to_string(),
                })?;
                return Ok(Some((path, file)));
            }
        }
        Ok(None)
    }
}

/// What [`Settings::endpoint_source`] says of an endpoint the caller gave.
const GIVEN: &str = "the given endpoint";

/// The settings of one run, after precedence was applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The API's base URL, without a trailing slash.
    pub endpoint: Url,
    /// Where the endpoint came from: the caller, `INTEGRATION_API_URL` or a file path.
    pub endpoint_source: String,
    /// The region named by flag or file; `None` leaves it to the AWS environment and profile.
    pub region: Option<String>,
    /// The profile named by flag or file; `None` leaves it to `AWS_PROFILE` or `default`.
    pub profile: Option<String>,
}

impl Settings {
    /// Applies precedence: the endpoint the caller gives, else `INTEGRATION_API_URL`, else
    /// `content-fetch.toml` found from `cwd` upward. Region and profile the caller gives, else
    /// `AWS_REGION`/`AWS_DEFAULT_REGION`/`AWS_PROFILE` (left to aws-config), else the file.
    pub fn resolve(
        endpoint: Option<&str>,
        region: Option<&str>,
        profile: Option<&str>,
        cwd: &Path,
    ) -> Result<Settings, FetchError> {
        let file = ConfigFile::find(cwd)?;
        let env_endpoint = std::env::var(ENDPOINT_ENV).ok().filter(|v| !v.is_empty());
        let (raw, source) = if let Some(given) = endpoint {
            (given.to_string(), GIVEN.to_string())
        } else if let Some(env) = env_endpoint {
            (env, ENDPOINT_ENV.to_string())
        } else if let Some((
            path,
            ConfigFile {
                endpoint: Some(e), ..
            },
        )) = &file
        {
            (e.clone(), path.display().to_string())
        } else {
            return Err(FetchError::NoEndpoint {
                searched_from: cwd.to_path_buf(),
            });
        };
        let endpoint = parse_endpoint(&raw, &source)?;
        let env_set = |names: &[&str]| {
            names
                .iter()
                .any(|n| std::env::var(n).is_ok_and(|v| !v.is_empty()))
        };
        let file = file.map(|(_, f)| f).unwrap_or_default();
        let region = match region {
            Some(r) => Some(r.to_string()),
            None if env_set(&["AWS_REGION", "AWS_DEFAULT_REGION"]) => None,
            None => file.region,
        };
        let profile = match profile {
            Some(p) => Some(p.to_string()),
            None if env_set(&["AWS_PROFILE"]) => None,
            None => file.profile,
        };
        Ok(Settings {
            endpoint,
            endpoint_source: source,
            region,
            profile,
        })
    }
}

/// Reads an endpoint URL: http or https, no query or fragment, no trailing slash.
pub fn parse_endpoint(raw: &str, source: &str) -> Result<Url, FetchError> {
    let bad = |reason: &str| FetchError::BadEndpoint {
        url: raw.to_string(),
        source_name: source.to_string(),
        reason: reason.to_string(),
    };
    let mut url = Url::parse(raw.trim()).map_err(|e| {
        bad(&format!(
            "{e}; give a full URL like https://abc123.execute-api.eu-west-1.amazonaws.com/prod"
        ))
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(bad("it must be an http:// or https:// URL with a host"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("it must not have a query or fragment"));
    }
    let path = url.path().trim_end_matches('/').to_string();
    url.set_path(&path);
    Ok(url)
}

/// The region in an API Gateway host name (`<id>.execute-api.<region>.amazonaws.com`).
pub fn region_from_endpoint(endpoint: &Url) -> Option<String> {
    let host = endpoint.host_str()?;
    let rest = host.split_once(".execute-api.")?.1;
    let region = rest.split('.').next()?;
    (!region.is_empty()).then(|| region.to_string())
}

/// Reads the duration of `setting`, like `90s`, `15m`, `24h` or `7d` (a bare number is
/// seconds).
pub fn parse_duration(setting: Setting, text: &str) -> Result<Duration, FetchError> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let factor = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => 0,
    };
    match number.parse::<u64>() {
        Ok(n) if factor > 0 => Ok(Duration::from_secs(n.saturating_mul(factor))),
        _ => Err(FetchError::BadValue {
            setting,
            value: text.to_string(),
            expected:
                "a duration: write a whole number with s, m, h or d, like 90s, 15m, 24h or 7d"
                    .to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_endpoints_parse() {
        let parse = |text| parse_duration(Setting::Deadline, text);
        assert_eq!(parse("24h").unwrap(), Duration::from_secs(86_400));
        assert_eq!(parse("90").unwrap(), Duration::from_secs(90));
        assert_eq!(parse("7d").unwrap(), Duration::from_secs(604_800));
        let err = parse("1 week").unwrap_err();
        assert_eq!(err.remedy(), Some(Setting::Deadline));
        assert!(
            err.to_string()
                .starts_with("deadline '1 week' is not a duration"),
            "{err}"
        );
        assert!(parse("h").is_err());

        let url = parse_endpoint(
            "https://abc.execute-api.eu-west-1.amazonaws.com/prod/",
            "--endpoint",
        )
        .unwrap();
        assert_eq!(
            url.as_str(),
            "https://abc.execute-api.eu-west-1.amazonaws.com/prod"
        );
        assert_eq!(region_from_endpoint(&url).as_deref(), Some("eu-west-1"));
        assert_eq!(
            region_from_endpoint(&parse_endpoint("http://127.0.0.1:9/", "x").unwrap()),
            None
        );
        for bad in ["ftp://x", "not a url", "https://x/?a=1"] {
            let err = parse_endpoint(bad, "--endpoint").unwrap_err();
            assert!(err.to_string().contains("--endpoint"), "{err}");
        }
    }

    #[test]
    fn config_file_is_found_upward() {
        let dir = std::env::temp_dir().join(format!("cf-settings-{}", std::process::id()));
        let nested = dir.join("a/b");
        std::fs::create_dir_all(&nested).unwrap();
        std::fs::write(
            dir.join(CONFIG_FILE_NAME),
            "endpoint = \"http://127.0.0.1:1/stage\"\nregion = \"eu-west-1\"\n",
        )
        .unwrap();
        let (path, file) = ConfigFile::find(&nested).unwrap().unwrap();
        assert_eq!(path, dir.join(CONFIG_FILE_NAME));
        assert_eq!(file.endpoint.as_deref(), Some("http://127.0.0.1:1/stage"));
        std::fs::write(dir.join(CONFIG_FILE_NAME), "endpoint = [").unwrap();
        let err = ConfigFile::find(&nested).unwrap_err();
        assert!(err.to_string().contains(CONFIG_FILE_NAME), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
