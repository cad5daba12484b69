//! `compose new`: the files of a new client's stack, and writing them safely.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::catalog::{Catalog, Component, Kind};
use crate::check::Compatibility;
use crate::error::ComposeError;

/// What a new client's stack is made of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewStack {
    /// The client's id, used in resource and secret names.
    pub client: String,
    /// `dev`, `staging` or `prod`.
    pub environment: String,
    /// The CMS.
    pub cms: String,
    /// The commerce provider.
    pub commerce: String,
    /// The engine.
    pub engine: String,
    /// The AWS region to deploy to.
    pub region: String,
    /// The currency of prices that arrive without one.
    pub currency: String,
}

/// One file of the starting point.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScaffoldFile {
    /// The path relative to the output folder.
    pub path: String,
    /// The file's text.
    pub contents: String,
}

/// A webhook to register at a provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Webhook {
    /// The provider.
    pub provider: String,
    /// The URL, with the stack output `{IntegrationApiUrl}` still to substitute.
    pub url: String,
    /// How it is registered: `github`, `shopify`, `sanity`, `contentful` or `dashboard`.
    pub registered_with: String,
}

/// The starting point of a client's stack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Scaffold {
    /// The combination's compatibility.
    pub compatibility: Compatibility,
    /// The files to write.
    pub files: Vec<ScaffoldFile>,
    /// The webhooks to register after the deploy.
    pub webhooks: Vec<Webhook>,
    /// What the user still has to fill in or create.
    pub to_fill: Vec<String>,
}

const PLACEHOLDER: &str = "FILL-IN";
const ENVIRONMENTS: &[&str] = &["dev", "staging", "prod"];

fn client_id_ok(id: &str) -> bool {
    (2..=32).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !id.starts_with('-')
        && !id.ends_with('-')
}

impl Catalog {
    /// The starting point for `stack`: the integration API config with exactly its two
    /// providers, the SAM configuration, the site's `content-fetch.toml` and the engine's
    /// snippet. Refuses unknown or incompatible choices and a client id that cannot name
    /// AWS resources.
    pub fn scaffold(&self, stack: &NewStack) -> Result<Scaffold, ComposeError> {
        if !client_id_ok(&stack.client) {
            return Err(ComposeError::ClientId {
                given: stack.client.clone(),
            });
        }
        if !ENVIRONMENTS.contains(&stack.environment.as_str()) {
            return Err(ComposeError::Unknown {
                kind: "environment",
                given: stack.environment.clone(),
                known: ENVIRONMENTS.iter().map(|e| e.to_string()).collect(),
            });
        }
        let compatibility = self.check(&stack.cms, &stack.commerce, &stack.engine)?;
        let cms = self.find(Kind::Cms, &stack.cms)?;
        let commerce = self.find(Kind::Commerce, &stack.commerce)?;
        let engine = compatibility.engine.clone();
        let providers = [cms, commerce];
        let mut to_fill = Vec::new();

        let config = self.integration_config(stack, &providers, &mut to_fill);
        let samconfig = self.samconfig(stack, &providers, &engine, &mut to_fill);
        let fetch = format!(
            "# content-fetch settings for the site (read from the site's folder or a parent).\n\
             # The endpoint is the stack output IntegrationApiUrl; CodeBuild sets\n\
             # INTEGRATION_API_URL itself, so this file serves local runs.\n\
             endpoint = \"https://{PLACEHOLDER}.execute-api.{region}.amazonaws.com/{env}\"\n\
             region = \"{region}\"\n\
             engine = \"{engine}\"\n",
            region = stack.region,
            env = stack.environment,
        );
        to_fill.push(
            "site/content-fetch.toml: endpoint, from the stack output IntegrationApiUrl".into(),
        );
        let mut files = vec![
            ScaffoldFile {
                path: "integration-api.toml".into(),
                contents: config,
            },
            ScaffoldFile {
                path: "samconfig.toml".into(),
                contents: samconfig,
            },
            ScaffoldFile {
                path: "site/content-fetch.toml".into(),
                contents: fetch,
            },
        ];
        files.push(engine_snippet(&engine));
        let webhooks = providers
            .iter()
            .map(|p| Webhook {
                provider: p.id().to_string(),
                url: format!("{{IntegrationApiUrl}}/webhooks/{}", p.id()),
                registered_with: p.webhook().unwrap_or("dashboard").to_string(),
            })
            .collect();
        Ok(Scaffold {
            compatibility,
            files,
            webhooks,
            to_fill,
        })
    }

    fn setting_value(&self, stack: &NewStack, setting: &str) -> Option<String> {
        if setting == "currency" {
            return Some(stack.currency.clone());
        }
        self.setting_defaults.get(setting).cloned()
    }

    fn integration_config(
        &self,
        stack: &NewStack,
        providers: &[&Component],
        to_fill: &mut Vec<String>,
    ) -> String {
        let mut out = format!(
            "# integration-api configuration for {client} ({env}), written by `stack-compose new`.\n\
             # On AWS the template sets the same values as environment variables; this file\n\
             # serves `integration-api serve` and `ingest` on a laptop.\n\
             # Secrets never go here: set them in the environment (names below).\n\n\
             [server]\nclient_id = \"{client}\"\nenvironment = \"{env}\"\n\n\
             [sigv4]\nregion = \"{region}\"\n",
            client = stack.client,
            env = stack.environment,
            region = stack.region,
        );
        for provider in providers {
            let id = provider.id();
            let _ = write!(out, "\n[providers.{id}]\n");
            for setting in provider.settings() {
                let value = self.setting_value(stack, setting).unwrap_or_else(|| {
                    to_fill.push(format!("integration-api.toml: [providers.{id}] {setting}"));
                    PLACEHOLDER.to_string()
                });
                let _ = writeln!(
                    out,
                    "{setting} = \"{value}\"{:pad$}# {}",
                    "",
                    env_name(id, setting),
                    pad = 28usize.saturating_sub(setting.len() + value.len() + 5),
                );
            }
            for secret in provider.secrets() {
                let _ = writeln!(
                    out,
                    "# {secret}: secret, from the environment as {}",
                    env_name(id, secret)
                );
            }
        }
        out
    }

    fn samconfig(
        &self,
        stack: &NewStack,
        providers: &[&Component],
        engine: &str,
        to_fill: &mut Vec<String>,
    ) -> String {
        let mut parameters = vec![
            format!("ClientId={}", stack.client),
            format!("Environment={}", stack.environment),
            format!(
                "Providers={}",
                providers
                    .iter()
                    .map(|p| p.id())
                    .collect::<Vec<_>>()
                    .join(",")
            ),
            format!("Engine={engine}"),
            format!(
                "SiteRepositoryUrl=https://github.com/{PLACEHOLDER}/{}-site.git",
                stack.client
            ),
            format!("Currency={}", stack.currency),
        ];
        to_fill.push(
            "samconfig.toml: SiteRepositoryUrl, the site repository with buildspec.yml".into(),
        );
        for provider in providers {
            let id = provider.id();
            if provider.settings().iter().any(|s| s == "github_repo") {
                parameters.push(format!("GitHubRepo={PLACEHOLDER}/{}-content", stack.client));
                to_fill.push(
                    "samconfig.toml: GitHubRepo, the content repository as owner/name".into(),
                );
            }
            if provider.settings().iter().any(|s| s == "locale") {
                parameters.push("ContentfulLocale=en-US".into());
            }
            let secret_name = format!("{}/{}/{id}", stack.client, stack.environment);
            parameters.push(format!("{}SecretName={secret_name}", capitalized(id)));
            let keys: Vec<String> = provider
                .secrets()
                .iter()
                .map(|s| format!("\"{s}\": \"...\""))
                .collect();
            to_fill.push(format!(
                "Secrets Manager: aws secretsmanager create-secret --name {secret_name} --secret-string '{{{}}}'",
                keys.join(", ")
            ));
        }
        let mut out = format!(
            "# SAM CLI configuration for {client} ({env}), written by `stack-compose new`.\n\
             # From the repository root: sam build --config-file <this file>, then sam deploy.\n\
             version = 0.1\n\n\
             [default.global.parameters]\n\
             stack_name = \"{client}-{env}-content-platform\"\n\
             template_file = \"deploy/template.yaml\"\n\n\
             [default.build.parameters]\n\
             beta_features = true\n\n\
             [default.deploy.parameters]\n\
             capabilities = \"CAPABILITY_IAM\"\n\
             confirm_changeset = true\n\
             resolve_s3 = true\n\
             region = \"{region}\"\n\
             parameter_overrides = [\n",
            client = stack.client,
            env = stack.environment,
            region = stack.region,
        );
        for p in parameters {
            let _ = writeln!(out, "  \"{p}\",");
        }
        out.push_str("]\n");
        out
    }
}

fn env_name(provider: &str, setting: &str) -> String {
    format!("{provider}_{setting}").to_ascii_uppercase()
}

fn capitalized(id: &str) -> String {
    let mut chars = id.chars();
    chars
        .next()
        .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

fn engine_snippet(engine: &str) -> ScaffoldFile {
    let (path, contents) = match engine {
        "astro" => (
            "site/src/content.config.ts",
            "// The collections and their zod schemas are generated by `content-fetch --engine astro`\n\
             // into src/content/fetched; this file makes them the site's collections.\n\
             export { collections } from \"./content/fetched/collections\";\n",
        ),
        "next" => (
            "site/lib/content.ts",
            "// Typed helpers generated by `content-fetch --engine next` into content/fetched,\n\
             // for server components and generateStaticParams.\n\
             export {\n  getAllArticles,\n  getAllProducts,\n  getArticleBySlug,\n  getProductBySlug,\n} from \"../content/fetched\";\n",
        ),
        _ => (
            "site/products.njk",
            "---\n\
             # `content-fetch --engine eleventy` writes _data/fetched/<type>.json, so every type\n\
             # is global data under `fetched`, ready for pagination.\n\
             pagination:\n  data: fetched.products\n  size: 1\n  alias: product\n\
             permalink: \"products/{{ product.slug }}/\"\n\
             ---\n\
             <h1>{{ product.title }}</h1>\n",
        ),
    };
    ScaffoldFile {
        path: path.to_string(),
        contents: contents.to_string(),
    }
}

impl Scaffold {
    /// Writes the files under `out`. A folder that exists and is not empty is refused unless
    /// `overwrite`; even then only this scaffold's own files are replaced, nothing else in the
    /// folder is touched.
    pub fn write(&self, out: &Path, overwrite: bool) -> Result<Vec<PathBuf>, ComposeError> {
        let occupied = std::fs::read_dir(out)
            .map(|mut entries| entries.next().is_some())
            .unwrap_or(false);
        if occupied && !overwrite {
            return Err(ComposeError::OutputExists {
                path: out.to_path_buf(),
            });
        }
        let mut written = Vec::new();
        for file in &self.files {
            let path = out.join(&file.path);
            let failed = |source| ComposeError::Write {
                path: path.clone(),
                source,
            };
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(failed)?;
            }
            std::fs::write(&path, &file.contents).map_err(failed)?;
            written.push(path);
        }
        Ok(written)
    }
}
