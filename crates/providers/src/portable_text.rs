//! Portable Text (Sanity's rich text) to HTML.
//!
//! Covers the blocks editors use every day: paragraphs, headings `h1`-`h6`, block quotes,
//! bullet and numbered lists (nested by `level`), the decorators `strong`, `em`, `code`,
//! `underline` and `strike-through`, `link` annotations, and images. Every text and attribute
//! is HTML-escaped; unsafe link schemes are dropped. Blocks of custom types are skipped, and
//! the raw value stays in the item's `provider_data` for sites that render them themselves.

use serde_json::Value;
use unified_content::MediaAsset;

use crate::fields::text;
use crate::html::{push_escaped, safe_href};

/// Where a Sanity project serves its images, for image blocks that hold only an asset
/// reference such as `image-Tb9Ew8CXIwaY6R1kjMvI0uRR-2000x3000-jpg`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SanityCdn {
    project_id: String,
    dataset: String,
}

impl SanityCdn {
    /// The CDN of `project_id`'s `dataset`.
    pub fn new(project_id: impl Into<String>, dataset: impl Into<String>) -> Self {
        SanityCdn {
            project_id: project_id.into(),
            dataset: dataset.into(),
        }
    }
}

/// The media asset of a Sanity image object (`{"_type": "image", "asset": {...}, "alt": ...}`):
/// from its expanded asset (`asset->` in the webhook projection, with `url`), or from its
/// asset reference and `cdn`. `None` when neither gives a URL.
pub fn sanity_image(image: &Value, cdn: Option<&SanityCdn>) -> Option<MediaAsset> {
    let asset = image.get("asset")?;
    let alt_text = text(image.get("alt")).map(str::to_string);
    if let Some(url) = text(asset.get("url")) {
        let dimensions = asset.pointer("/metadata/dimensions");
        let dim = |key: &str| {
            dimensions
                .and_then(|d| d.get(key))
                .and_then(Value::as_u64)
                .and_then(|v| u32::try_from(v).ok())
        };
        return Some(MediaAsset {
            id: text(asset.get("_id")).unwrap_or(url).to_string(),
            url: url.to_string(),
            alt_text,
            width: dim("width"),
            height: dim("height"),
            file_size: asset.get("size").and_then(Value::as_u64),
            mime_type: text(asset.get("mimeType")).map(str::to_string),
        });
    }
    let reference = text(asset.get("_ref"))?;
    let cdn = cdn?;
    // `image-<hash>-<width>x<height>-<ext>` is served as `<hash>-<width>x<height>.<ext>`.
    let rest = reference.strip_prefix("image-")?;
    let (name, ext) = rest.rsplit_once('-')?;
    let (_, dims) = name.rsplit_once('-')?;
    let (width, height) = dims.split_once('x')?;
    Some(MediaAsset {
        id: reference.to_string(),
        url: format!(
            "https://cdn.sanity.io/images/{}/{}/{name}.{ext}",
            cdn.project_id, cdn.dataset
        ),
        alt_text,
        width: width.parse().ok(),
        height: height.parse().ok(),
        file_size: None,
        mime_type: mime_of(ext).map(str::to_string),
    })
}

fn mime_of(ext: &str) -> Option<&'static str> {
    Some(match ext {
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "svg" => "image/svg+xml",
        "avif" => "image/avif",
        _ => return None,
    })
}

/// Renders a Portable Text array as HTML. `cdn` resolves image asset references.
pub fn to_html(blocks: &Value, cdn: Option<&SanityCdn>) -> String {
    let mut out = String::new();
    // Open lists, innermost last: each has an open `<li>`.
    let mut lists: Vec<(ListKind, u64)> = Vec::new();
    for block in blocks.as_array().map(Vec::as_slice).unwrap_or_default() {
        let list_item = block
            .get("listItem")
            .and_then(Value::as_str)
            .filter(|_| is_text_block(block));
        match list_item {
            Some(kind) => {
                let kind = if kind == "number" {
                    ListKind::Numbered
                } else {
                    ListKind::Bullet
                };
                let level = block
                    .get("level")
                    .and_then(Value::as_u64)
                    .unwrap_or(1)
                    .max(1);
                open_list_item(&mut out, &mut lists, kind, level);
                push_spans(&mut out, block);
            }
            None => {
                close_lists(&mut out, &mut lists, 0);
                push_block(&mut out, block, cdn);
            }
        }
    }
    close_lists(&mut out, &mut lists, 0);
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ListKind {
    Bullet,
    Numbered,
}

impl ListKind {
    fn tag(self) -> &'static str {
        match self {
            ListKind::Bullet => "ul",
            ListKind::Numbered => "ol",
        }
    }
}

fn is_text_block(block: &Value) -> bool {
    block.get("_type").and_then(Value::as_str) == Some("block")
}

/// Closes every open list deeper than `level`.
fn close_lists(out: &mut String, lists: &mut Vec<(ListKind, u64)>, level: u64) {
    while let Some(&(kind, l)) = lists.last() {
        if l <= level {
            break;
        }
        out.push_str("</li></");
        out.push_str(kind.tag());
        out.push('>');
        lists.pop();
    }
}

fn open_list_item(out: &mut String, lists: &mut Vec<(ListKind, u64)>, kind: ListKind, level: u64) {
    close_lists(out, lists, level);
    match lists.last() {
        Some(&(k, l)) if l == level && k == kind => out.push_str("</li><li>"),
        Some(&(k, l)) if l == level => {
            // Same depth, other kind: the old list ends and a new one starts.
            out.push_str("</li></");
            out.push_str(k.tag());
            out.push('>');
            lists.pop();
            open_list(out, lists, kind, level);
        }
        _ => open_list(out, lists, kind, level),
    }
}

fn open_list(out: &mut String, lists: &mut Vec<(ListKind, u64)>, kind: ListKind, level: u64) {
    out.push('<');
    out.push_str(kind.tag());
    out.push_str("><li>");
    lists.push((kind, level));
}

fn push_block(out: &mut String, block: &Value, cdn: Option<&SanityCdn>) {
    match block.get("_type").and_then(Value::as_str) {
        Some("block") => {
            let tag = block
                .get("style")
                .and_then(Value::as_str)
                .filter(|s| matches!(*s, "h1" | "h2" | "h3" | "h4" | "h5" | "h6" | "blockquote"))
                .unwrap_or("p");
            out.push('<');
            out.push_str(tag);
            out.push('>');
            push_spans(out, block);
            out.push_str("</");
            out.push_str(tag);
            out.push('>');
        }
        Some("image") => {
            if let Some(image) = sanity_image(block, cdn) {
                push_image(out, &image);
            }
        }
        // Custom block types have no generic HTML; the raw value is kept for the site.
        _ => {}
    }
}

fn push_image(out: &mut String, image: &MediaAsset) {
    out.push_str("<figure><img src=\"");
    push_escaped(out, &image.url);
    out.push_str("\" alt=\"");
    push_escaped(out, image.alt_text.as_deref().unwrap_or(""));
    out.push('"');
    if let (Some(w), Some(h)) = (image.width, image.height) {
        out.push_str(&format!(" width=\"{w}\" height=\"{h}\""));
    }
    out.push_str("></figure>");
}

/// The inline content of a text block: spans with their decorators and annotations.
fn push_spans(out: &mut String, block: &Value) {
    let mark_defs = block
        .get("markDefs")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    for span in block
        .get("children")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        let Some(span_text) = span.get("text").and_then(Value::as_str) else {
            continue;
        };
        let marks: Vec<&str> = span
            .get("marks")
            .and_then(Value::as_array)
            .map(|m| m.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let mut closers = Vec::with_capacity(marks.len());
        for mark in marks {
            let (open, close) = match mark {
                "strong" => ("<strong>".to_string(), "</strong>"),
                "em" => ("<em>".to_string(), "</em>"),
                "code" => ("<code>".to_string(), "</code>"),
                "underline" => (
                    "<span style=\"text-decoration:underline\">".to_string(),
                    "</span>",
                ),
                "strike-through" => ("<del>".to_string(), "</del>"),
                key => match link_href(mark_defs, key) {
                    Some(href) => {
                        let mut open = String::from("<a href=\"");
                        push_escaped(&mut open, href);
                        open.push_str("\">");
                        (open, "</a>")
                    }
                    None => continue,
                },
            };
            out.push_str(&open);
            closers.push(close);
        }
        for (i, line) in span_text.split('\n').enumerate() {
            if i > 0 {
                out.push_str("<br>");
            }
            push_escaped(out, line);
        }
        for close in closers.iter().rev() {
            out.push_str(close);
        }
    }
}

/// The safe `href` of the `link` annotation with key `key`.
fn link_href<'a>(mark_defs: &'a [Value], key: &str) -> Option<&'a str> {
    let def = mark_defs
        .iter()
        .find(|d| d.get("_key").and_then(Value::as_str) == Some(key))?;
    if def.get("_type").and_then(Value::as_str) != Some("link") {
        return None;
    }
    safe_href(def.get("href").and_then(Value::as_str)?)
}
