//! Where a Git repository keeps its Markdown content, and which content type each file is.
//!
//! Three settings decide, shared by Decap and Tina:
//! - `content_dir`: the folder holding the content, relative to the repository root; default
//!   `content`. `.` or `/` is the repository root itself (Jekyll, or a site whose Markdown sits
//!   at the top). An empty value is refused rather than guessed: it is most often a variable
//!   that was never set, and it must neither mean `content` silently nor make the whole
//!   repository content by accident.
//! - `content_types`: subfolders of the content folder and their types, as
//!   `folder=type` pairs; default `posts=article,articles=article,pages=page`. The most
//!   specific folder wins (`blog/news` before `blog`).
//! - `default_content_type`: the type of Markdown files directly inside the content folder
//!   (`content/about.md`, or `about.md` with a root content folder); unset, they are not
//!   content. Repository documents at the root (README, CHANGELOG, LICENSE, CONTRIBUTING,
//!   CODE_OF_CONDUCT, SECURITY) are never content.
//!
//! A Jekyll site is `content_dir = "."`, `content_types = "_posts=article"` and, for its
//! pages, `default_content_type = "page"`. A file name that starts with a date,
//! `_posts/2019-05-15-hello.md`, dates the item (unless the front matter has a `date`) and
//! the rest of the name is its slug and fallback title: `hello`.

use std::fmt;

use chrono::NaiveDate;
use unified_content::{ContentType, Timestamp};

use crate::fields::TypeMap;
use crate::{ConfigError, Settings};

const DEFAULT_CONTENT_DIR: &str = "content";
const DEFAULT_CONTENT_TYPES: &[(&str, ContentType)] = &[
    ("posts", ContentType::Article),
    ("articles", ContentType::Article),
    ("pages", ContentType::Page),
];
/// File extensions read as Markdown.
const MARKDOWN_EXTENSIONS: [&str; 3] = ["md", "markdown", "mdx"];
/// Files at a repository's root that document the repository, not the site.
const REPOSITORY_DOCUMENTS: [&str; 6] = [
    "readme",
    "changelog",
    "license",
    "contributing",
    "code_of_conduct",
    "security",
];

/// The content folder of a repository and the types of its files.
#[derive(Debug)]
pub(crate) struct ContentLayout {
    /// The content folder without surrounding slashes; `None` is the repository root.
    content_dir: Option<String>,
    /// Subfolder (relative to the content folder) to content type.
    folders: TypeMap,
    /// The type of files directly inside the content folder.
    default_type: Option<ContentType>,
}

impl ContentLayout {
    /// Reads `content_dir`, `content_types` and `default_content_type` (see the module
    /// documentation).
    pub(crate) fn from_settings(settings: &Settings) -> Result<Self, ConfigError> {
        let content_dir = match settings.get_even_if_empty("content_dir") {
            None => Some(DEFAULT_CONTENT_DIR.to_string()),
            Some("") => {
                return Err(settings.invalid(
                    "content_dir",
                    "is empty; write \".\" for the repository root, or leave the setting out \
                     for the 'content' folder",
                ));
            }
            Some(raw) => {
                let dir = raw.trim_matches('/');
                let dir = dir.strip_prefix("./").unwrap_or(dir);
                match dir {
                    "" | "." => None,
                    dir if is_plain_path(dir) => Some(dir.to_string()),
                    _ => {
                        return Err(settings.invalid(
                            "content_dir",
                            format!(
                                "'{raw}' is not a folder of the repository, like 'content', \
                                 or '.' for the repository root"
                            ),
                        ));
                    }
                }
            }
        };
        let folders = TypeMap::from_settings(settings, "content_types", DEFAULT_CONTENT_TYPES)?;
        let default_type = settings
            .get("default_content_type")
            .map(|raw| {
                ContentType::parse(raw).ok_or_else(|| {
                    settings.invalid(
                        "default_content_type",
                        format!(
                            "'{raw}' is not a content type; use one of product, article, page, \
                             collection, media"
                        ),
                    )
                })
            })
            .transpose()?;
        Ok(ContentLayout {
            content_dir,
            folders,
            default_type,
        })
    }

    /// Whether `path` is a Markdown file that is content, and of which type.
    pub(crate) fn content_type_of(&self, path: &str) -> Option<ContentType> {
        if !is_plain_path(path) || !is_markdown(path) {
            return None;
        }
        let relative = match &self.content_dir {
            None => path,
            Some(dir) => path.strip_prefix(dir.as_str())?.strip_prefix('/')?,
        };
        if !relative.contains('/') {
            if self.content_dir.is_none() && is_repository_document(relative) {
                return None;
            }
            return self.default_type;
        }
        // The most specific folder wins: `blog/news` before `blog`.
        relative
            .rmatch_indices('/')
            .find_map(|(end, _)| self.folders.get(&relative[..end]))
    }
}

/// The settings as they stand, for a warning that tells which one to change.
impl fmt::Display for ContentLayout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.content_dir {
            Some(dir) => write!(f, "content_dir '{dir}'")?,
            None => write!(f, "content_dir '.' (the repository root)")?,
        }
        write!(f, ", content_types {}", self.folders)?;
        match self.default_type {
            Some(t) => write!(f, ", default_content_type {}", t.as_str()),
            None => write!(f, ", default_content_type unset"),
        }
    }
}

/// Whether `path` names a Markdown file.
pub(crate) fn is_markdown(path: &str) -> bool {
    let file_name = path.rsplit('/').next().unwrap_or(path);
    file_name.rsplit_once('.').is_some_and(|(_, extension)| {
        MARKDOWN_EXTENSIONS.contains(&extension.to_ascii_lowercase().as_str())
    })
}

/// A relative path with no empty, `.` or `..` segment.
pub(crate) fn is_plain_path(path: &str) -> bool {
    !path.is_empty()
        && path
            .split('/')
            .all(|s| !s.is_empty() && s != "." && s != "..")
}

fn is_repository_document(file_name: &str) -> bool {
    let stem = file_name.split('.').next().unwrap_or(file_name);
    REPOSITORY_DOCUMENTS.contains(&stem.to_ascii_lowercase().as_str())
}

/// Splits a Jekyll-style date prefix off a file stem: `2019-05-15-hello` is dated 2019-05-15
/// (midnight UTC) and named `hello`. Other stems are returned whole.
pub(crate) fn dated_stem(stem: &str) -> (Option<Timestamp>, &str) {
    let dated = stem.get(..10).zip(stem.get(10..)).and_then(|(date, rest)| {
        let name = rest.strip_prefix('-').filter(|n| !n.is_empty())?;
        let date = NaiveDate::parse_from_str(date, "%Y-%m-%d").ok()?;
        Some((date.and_hms_opt(0, 0, 0)?.and_utc(), name))
    });
    match dated {
        Some((date, name)) => (Some(date), name),
        None => (None, stem),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(table: &[(&str, &str)]) -> Result<ContentLayout, ConfigError> {
        ContentLayout::from_settings(&Settings::from_table("decap", table.iter().copied()))
    }

    #[test]
    fn the_default_layout_takes_only_mapped_subfolders() {
        let l = layout(&[]).unwrap();
        assert_eq!(
            l.content_type_of("content/posts/a.md"),
            Some(ContentType::Article)
        );
        assert_eq!(
            l.content_type_of("content/pages/team/b.MD"),
            Some(ContentType::Page)
        );
        assert_eq!(l.content_type_of("content/about.md"), None);
        assert_eq!(l.content_type_of("content/docs/a.md"), None);
        assert_eq!(l.content_type_of("content/posts/a.txt"), None);
        assert_eq!(l.content_type_of("contentx/posts/a.md"), None);
        assert_eq!(l.content_type_of("content/posts/../a.md"), None);
        assert_eq!(
            l.to_string(),
            "content_dir 'content', content_types articles=article, pages=page, \
             posts=article, default_content_type unset"
        );
    }

    #[test]
    fn root_spellings_and_the_default_type() {
        for root in [".", "/", "./", "//"] {
            let l = layout(&[
                ("content_dir", root),
                ("content_types", "_posts=article"),
                ("default_content_type", "page"),
            ])
            .unwrap();
            assert_eq!(
                l.content_type_of("_posts/2019-05-15-hello.md"),
                Some(ContentType::Article),
                "{root}"
            );
            assert_eq!(l.content_type_of("about.md"), Some(ContentType::Page));
            assert_eq!(l.content_type_of("README.md"), None);
            assert_eq!(l.content_type_of("CHANGELOG.markdown"), None);
            assert_eq!(l.content_type_of("docs/setup.md"), None);
        }
        let l = layout(&[("content_dir", "./src/content/")]).unwrap();
        assert_eq!(
            l.content_type_of("src/content/posts/a.md"),
            Some(ContentType::Article)
        );
        // Inside a content folder that is not the root, a README is content like any file.
        let l = layout(&[("default_content_type", "article")]).unwrap();
        assert_eq!(
            l.content_type_of("content/README.md"),
            Some(ContentType::Article)
        );
    }

    #[test]
    fn empty_and_escaping_folders_and_unknown_types_are_refused() {
        let err = layout(&[("content_dir", "")]).unwrap_err().to_string();
        assert!(
            err.contains("content_dir") && err.contains("\".\""),
            "{err}"
        );
        let err = layout(&[("content_dir", "  ")]).unwrap_err().to_string();
        assert!(err.contains("content_dir"), "{err}");
        for bad in ["../site", "content/../..", "a//b"] {
            let err = layout(&[("content_dir", bad)]).unwrap_err();
            assert!(
                matches!(&err, ConfigError::Invalid { setting, .. } if *setting == "content_dir"),
                "{bad}: {err}"
            );
        }
        let err = layout(&[("default_content_type", "essay")]).unwrap_err();
        assert!(
            matches!(&err, ConfigError::Invalid { setting, .. } if *setting == "default_content_type"),
            "{err}"
        );
    }

    #[test]
    fn date_prefixes_date_the_item_and_leave_the_name() {
        let (date, name) = dated_stem("2019-05-15-hello");
        assert_eq!(name, "hello");
        assert_eq!(date.unwrap().to_rfc3339(), "2019-05-15T00:00:00+00:00");
        assert_eq!(dated_stem("2019-05-15"), (None, "2019-05-15"));
        assert_eq!(dated_stem("2019-05-15-"), (None, "2019-05-15-"));
        assert_eq!(dated_stem("2019-13-45-odd"), (None, "2019-13-45-odd"));
        assert_eq!(dated_stem("hello-world"), (None, "hello-world"));
        assert_eq!(dated_stem("héllo"), (None, "héllo"));
    }
}
