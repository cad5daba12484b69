//! Contentful Rich Text documents to HTML.
//!
//! Follows the element choices of Contentful's own `@contentful/rich-text-html-renderer`:
//! paragraphs, `heading-1`..`heading-6`, ordered and unordered lists, list items, block quotes,
//! horizontal rules, tables, `hyperlink`s, and the marks bold (`<b>`), italic (`<i>`),
//! underline (`<u>`), code, superscript, subscript and strikethrough. Embedded assets render as
//! images or links when the caller can resolve the link (a webhook carries only its id);
//! embedded entries are skipped, and the raw document stays in `provider_data`. Every text and
//! attribute is HTML-escaped; unsafe link schemes are dropped. [`to_plain_text`] gives the
//! text alone, for fields such as a title.

use serde_json::Value;
use unified_content::MediaAsset;

use crate::html::{push_escaped, safe_href};

/// Renders a Rich Text document (`{"nodeType": "document", ...}`) as HTML. `resolve` turns the
/// `data.target` of an embedded or linked asset into a media asset, when it can.
pub fn to_html(document: &Value, resolve: &dyn Fn(&Value) -> Option<MediaAsset>) -> String {
    let mut out = String::new();
    push_children(&mut out, document, resolve);
    out
}

/// The text of a Rich Text document without markup, for fields that hold plain text (a
/// title, a slug): text nodes joined, blocks separated by a space, whitespace collapsed.
pub fn to_plain_text(document: &Value) -> String {
    let mut out = String::new();
    push_plain(&mut out, document);
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn push_plain(out: &mut String, node: &Value) {
    if let Some(value) = node.get("value").and_then(Value::as_str) {
        out.push_str(value);
    }
    for child in node
        .get("content")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        push_plain(out, child);
    }
    // Inline nodes run on; blocks end a word.
    let node_type = node.get("nodeType").and_then(Value::as_str).unwrap_or("");
    if !matches!(
        node_type,
        "text" | "hyperlink" | "entry-hyperlink" | "asset-hyperlink" | "resource-hyperlink"
    ) {
        out.push(' ');
    }
}

fn push_children(out: &mut String, node: &Value, resolve: &dyn Fn(&Value) -> Option<MediaAsset>) {
    for child in node
        .get("content")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        push_node(out, child, resolve);
    }
}

fn push_node(out: &mut String, node: &Value, resolve: &dyn Fn(&Value) -> Option<MediaAsset>) {
    let node_type = node.get("nodeType").and_then(Value::as_str).unwrap_or("");
    let tag = match node_type {
        "text" => return push_text(out, node),
        "hr" => return out.push_str("<hr/>"),
        "paragraph" => "p",
        "heading-1" => "h1",
        "heading-2" => "h2",
        "heading-3" => "h3",
        "heading-4" => "h4",
        "heading-5" => "h5",
        "heading-6" => "h6",
        "unordered-list" => "ul",
        "ordered-list" => "ol",
        "list-item" => "li",
        "blockquote" => "blockquote",
        "table" => "table",
        "table-row" => "tr",
        "table-cell" => "td",
        "table-header-cell" => "th",
        "hyperlink" => {
            let href = node.pointer("/data/uri").and_then(Value::as_str);
            return push_link(out, href.and_then(safe_href), node, resolve);
        }
        "asset-hyperlink" => {
            let asset = node.pointer("/data/target").and_then(resolve);
            return push_link(out, asset.as_ref().map(|a| a.url.as_str()), node, resolve);
        }
        "embedded-asset-block" => {
            if let Some(asset) = node.pointer("/data/target").and_then(resolve) {
                push_asset(out, &asset);
            }
            return;
        }
        // Entry links and embeds name another entry by id; their text is kept, the
        // embedding itself is left to the site.
        "entry-hyperlink" | "resource-hyperlink" => return push_children(out, node, resolve),
        _ => return,
    };
    if tag == "table" {
        out.push_str("<table><tbody>");
        push_children(out, node, resolve);
        out.push_str("</tbody></table>");
        return;
    }
    out.push('<');
    out.push_str(tag);
    out.push('>');
    push_children(out, node, resolve);
    out.push_str("</");
    out.push_str(tag);
    out.push('>');
}

fn push_link(
    out: &mut String,
    href: Option<&str>,
    node: &Value,
    resolve: &dyn Fn(&Value) -> Option<MediaAsset>,
) {
    let Some(href) = href else {
        return push_children(out, node, resolve);
    };
    out.push_str("<a href=\"");
    push_escaped(out, href);
    out.push_str("\">");
    push_children(out, node, resolve);
    out.push_str("</a>");
}

fn push_asset(out: &mut String, asset: &MediaAsset) {
    let is_image = asset
        .mime_type
        .as_deref()
        .is_some_and(|m| m.starts_with("image/"));
    if is_image {
        out.push_str("<figure><img src=\"");
        push_escaped(out, &asset.url);
        out.push_str("\" alt=\"");
        push_escaped(out, asset.alt_text.as_deref().unwrap_or(""));
        out.push('"');
        if let (Some(w), Some(h)) = (asset.width, asset.height) {
            out.push_str(&format!(" width=\"{w}\" height=\"{h}\""));
        }
        out.push_str("/></figure>");
    } else {
        out.push_str("<p><a href=\"");
        push_escaped(out, &asset.url);
        out.push_str("\">");
        push_escaped(out, asset.alt_text.as_deref().unwrap_or(&asset.url));
        out.push_str("</a></p>");
    }
}

fn push_text(out: &mut String, node: &Value) {
    let value = node.get("value").and_then(Value::as_str).unwrap_or("");
    let marks: Vec<&str> = node
        .get("marks")
        .and_then(Value::as_array)
        .map(|m| {
            m.iter()
                .filter_map(|mark| mark.get("type").and_then(Value::as_str))
                .collect()
        })
        .unwrap_or_default();
    let tags: Vec<&str> = marks
        .iter()
        .filter_map(|mark| {
            Some(match *mark {
                "bold" => "b",
                "italic" => "i",
                "underline" => "u",
                "code" => "code",
                "superscript" => "sup",
                "subscript" => "sub",
                "strikethrough" => "s",
                _ => return None,
            })
        })
        .collect();
    for tag in &tags {
        out.push('<');
        out.push_str(tag);
        out.push('>');
    }
    push_escaped(out, value);
    for tag in tags.iter().rev() {
        out.push_str("</");
        out.push_str(tag);
        out.push('>');
    }
}
