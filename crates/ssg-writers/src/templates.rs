//! The minijinja environment: embedded templates, overrides and additions from a template
//! folder, strict undefined behaviour and the filters the templates use.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use minijinja::value::Value;
use minijinja::{Environment, Error, ErrorKind, UndefinedBehavior};
use sha2::{Digest, Sha256};

use crate::WriteError;

/// The money and date helpers, one source for the TypeScript modules (`typed = true`) and the
/// Eleventy filters (plain JavaScript).
pub(crate) const FORMAT: (&str, &str) = (
    "shared/format.js",
    include_str!("../templates/shared/format.js"),
);

/// A template that [`Templates::shortcut`] writes directly, with what follows the JSON.
pub(crate) enum Shortcut {
    /// `{{ item | json }}`.
    Json(&'static str),
    /// `{{ item | pick(summary_fields) | json }}`.
    Summary(&'static str),
}

/// Templates ready to render, with a digest of every source so a changed template forces a
/// full render of the files it makes.
pub(crate) struct Templates {
    env: Environment<'static>,
    digest: String,
}

impl Templates {
    /// Loads the embedded templates, then every file under `dir` by its relative path with
    /// `/` separators (`astro/entry.json` overrides the built-in one; other names are added and
    /// can be included or extended).
    pub(crate) fn load(
        embedded: &[&'static [(&'static str, &'static str)]],
        dir: Option<&Path>,
    ) -> Result<Templates, WriteError> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_syntax(
            minijinja::syntax::SyntaxConfig::builder()
                .keep_trailing_newline(true)
                .build()
                .expect("the default delimiters are valid"),
        );
        // The outputs are JSON, TypeScript and Markdown: no HTML escaping anywhere.
        env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
        env.add_filter("json", json);
        env.add_filter("pick", pick);
        env.add_filter("omit", omit);
        env.add_filter("doc", doc);

        let mut sources: Vec<(String, String)> = embedded
            .iter()
            .flat_map(|set| set.iter())
            .map(|(name, source)| (name.to_string(), source.to_string()))
            .collect();
        if let Some(dir) = dir {
            let mut files = Vec::new();
            list_files(dir, dir, &mut files)?;
            for (name, path) in files {
                let source = std::fs::read_to_string(&path)
                    .map_err(|e| WriteError::io("read template", &path, e))?;
                sources.retain(|(n, _)| *n != name);
                sources.push((name, source));
            }
        }
        sources.sort();
        let mut hasher = Sha256::new();
        for (name, source) in &sources {
            hasher.update(name.as_bytes());
            hasher.update([0]);
            hasher.update(source.as_bytes());
            hasher.update([0]);
            let origin = dir
                .map(|d| d.join(name))
                .unwrap_or_else(|| PathBuf::from(format!("<embedded>/{name}")));
            env.add_template_owned(name.clone(), source.clone())
                .map_err(|source| WriteError::TemplateSyntax {
                    path: origin,
                    source,
                })?;
        }
        Ok(Templates {
            env,
            digest: hex::encode(hasher.finalize()),
        })
    }

    /// The SHA-256 of every template's name and source.
    pub(crate) fn digest(&self) -> &str {
        &self.digest
    }

    /// How the template `name` can be written without minijinja: when it is only
    /// `{{ item | json }}` (the built-in entry and list item templates, or an override written
    /// the same) or `{{ item | pick(summary_fields) | json }}` (Next.js's index item), a
    /// renderer writes the item, or its summary fields, with [`serde_json::to_string_pretty`],
    /// the filter's own bytes.
    pub(crate) fn shortcut(&self, name: &str) -> Option<Shortcut> {
        let template = self.env.get_template(name).ok()?;
        let source = template.source();
        let (body, end) = match source.strip_suffix('\n') {
            Some(body) => (body, "\n"),
            None => (source, ""),
        };
        match body {
            "{{ item | json }}" => Some(Shortcut::Json(end)),
            "{{ item | pick(summary_fields) | json }}" => Some(Shortcut::Summary(end)),
            _ => None,
        }
    }

    /// Renders `name` with `ctx`.
    pub(crate) fn render(
        &self,
        name: &str,
        ctx: &Value,
        item_id: Option<&str>,
    ) -> Result<String, WriteError> {
        let fail = |source| WriteError::Render {
            template: name.to_string(),
            item_id: item_id.map(str::to_string),
            source,
        };
        self.env
            .get_template(name)
            .map_err(fail)?
            .render(ctx)
            .map_err(fail)
    }
}

fn list_files(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) -> Result<(), WriteError> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| WriteError::io("read template folder", dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| WriteError::io("read template folder", dir, e))?;
        let path = entry.path();
        if path.is_dir() {
            list_files(root, &path, out)?;
        } else if let Ok(rel) = path.strip_prefix(root) {
            let name: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            out.push((name.join("/"), path));
        }
    }
    Ok(())
}

/// `value | json`: pretty JSON with two-space indentation. Numbers keep the exact text of
/// their amounts, because the model's amounts reach minijinja as the shortest doubles.
fn json(value: Value) -> Result<String, Error> {
    serde_json::to_string_pretty(&value)
        .map_err(|e| Error::new(ErrorKind::InvalidOperation, "cannot write JSON").with_source(e))
}

/// `item | pick(names)`: a map with only the named keys that are present.
fn pick(value: Value, names: Vec<String>) -> Result<Value, Error> {
    let mut picked = BTreeMap::new();
    for name in names {
        if let Ok(v) = value.get_attr(&name)
            && !v.is_undefined()
        {
            picked.insert(name, v);
        }
    }
    Ok(Value::from(picked))
}

/// `item | omit(names)`: a map without the named keys.
fn omit(value: Value, names: Vec<String>) -> Result<Value, Error> {
    let mut kept = BTreeMap::new();
    for key in value.try_iter()? {
        let name = key.to_string();
        if !names.contains(&name) {
            kept.insert(name, value.get_item(&key)?);
        }
    }
    Ok(Value::from(kept))
}

/// `text | doc`: text safe inside a `/** ... */` comment, on one line.
pub(crate) fn doc(text: String) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace("*/", "*\\/")
}
