//! HTML output shared by the rich-text renderers: escaping and link safety.

/// Appends `text` with `&`, `<`, `>`, `"` and `'` escaped, so that it is safe both as element
/// content and inside a double-quoted attribute.
pub(crate) fn push_escaped(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

/// `href` if it is safe to put in a link: http(s), mailto and tel URLs, and relative ones.
/// `javascript:`, `data:` and other schemes run code or smuggle content, so they are dropped.
pub(crate) fn safe_href(href: &str) -> Option<&str> {
    let href = href.trim();
    if href.is_empty() {
        return None;
    }
    // Browsers ignore tabs and newlines inside a scheme ("java\tscript:"), so look at the
    // scheme with them removed.
    let squeezed: String = href
        .chars()
        .filter(|c| !c.is_ascii_whitespace() && !c.is_control())
        .collect::<String>()
        .to_ascii_lowercase();
    let scheme_end = squeezed.find(':');
    let first_delimiter = squeezed.find(['/', '?', '#']);
    match scheme_end {
        Some(colon) if first_delimiter.is_none_or(|d| colon < d) => {
            let scheme = &squeezed[..colon];
            ["http", "https", "mailto", "tel"]
                .contains(&scheme)
                .then_some(href)
        }
        _ => Some(href),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_filters_links() {
        let mut out = String::new();
        push_escaped(&mut out, r#"<a href="x">Tom & 'Jerry'</a>"#);
        assert_eq!(
            out,
            "&lt;a href=&quot;x&quot;&gt;Tom &amp; &#39;Jerry&#39;&lt;/a&gt;"
        );
        assert_eq!(safe_href("https://x.test/a"), Some("https://x.test/a"));
        assert_eq!(safe_href("/relative?q=1"), Some("/relative?q=1"));
        assert_eq!(safe_href("#top"), Some("#top"));
        assert_eq!(safe_href("mailto:a@b.test"), Some("mailto:a@b.test"));
        assert_eq!(safe_href("javascript:alert(1)"), None);
        assert_eq!(safe_href("Java\tScript:alert(1)"), None);
        assert_eq!(safe_href("data:text/html;base64,xx"), None);
        assert_eq!(safe_href("  "), None);
    }
}
