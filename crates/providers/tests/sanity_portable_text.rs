//! Portable Text to HTML: every common block, nesting and escaping.

use providers::portable_text::{SanityCdn, sanity_image, to_html};
use serde_json::{Value, json};

fn span(text: &str, marks: &[&str]) -> Value {
    json!({"_type": "span", "_key": "k", "text": text, "marks": marks})
}

fn block(style: &str, children: Vec<Value>) -> Value {
    json!({"_type": "block", "_key": "b", "style": style, "markDefs": [], "children": children})
}

fn item(kind: &str, level: u64, text: &str) -> Value {
    json!({"_type": "block", "_key": "l", "style": "normal", "listItem": kind, "level": level,
           "markDefs": [], "children": [span(text, &[])]})
}

#[test]
fn headings_quotes_and_decorators() {
    let mut blocks: Vec<Value> = (1..=6)
        .map(|n| block(&format!("h{n}"), vec![span(&format!("Heading {n}"), &[])]))
        .collect();
    blocks.push(block("blockquote", vec![span("Quoted", &["em"])]));
    blocks.push(block(
        "normal",
        vec![
            span("u", &["underline"]),
            span("s", &["strike-through"]),
            span("b", &["strong", "em"]),
            span("line one\nline two", &[]),
        ],
    ));
    blocks.push(block("someCustomStyle", vec![span("falls back to p", &[])]));
    assert_eq!(
        to_html(&Value::Array(blocks), None),
        "<h1>Heading 1</h1><h2>Heading 2</h2><h3>Heading 3</h3><h4>Heading 4</h4><h5>Heading 5</h5><h6>Heading 6</h6>\
         <blockquote><em>Quoted</em></blockquote>\
         <p><span style=\"text-decoration:underline\">u</span><del>s</del><strong><em>b</em></strong>line one<br>line two</p>\
         <p>falls back to p</p>"
    );
}

#[test]
fn lists_nest_by_level_and_switch_kind() {
    let blocks = json!([
        item("bullet", 1, "one"),
        item("bullet", 2, "one.a"),
        item("bullet", 2, "one.b"),
        item("number", 3, "one.b.i"),
        item("bullet", 1, "two"),
        item("number", 1, "first"),
        item("number", 1, "second"),
        block("normal", vec![span("after", &[])]),
        item("bullet", 2, "starts deep"),
    ]);
    assert_eq!(
        to_html(&blocks, None),
        "<ul><li>one<ul><li>one.a</li><li>one.b<ol><li>one.b.i</li></ol></li></ul></li><li>two</li></ul>\
         <ol><li>first</li><li>second</li></ol>\
         <p>after</p>\
         <ul><li>starts deep</li></ul>"
    );
}

#[test]
fn text_and_links_are_escaped_and_unsafe_links_dropped() {
    let blocks = json!([{
        "_type": "block", "_key": "x", "style": "normal",
        "markDefs": [
            {"_key": "ok", "_type": "link", "href": "https://example.test/?a=1&b=\"2\""},
            {"_key": "evil", "_type": "link", "href": "javascript:alert(1)"},
            {"_key": "note", "_type": "footnote", "text": "custom annotation"}
        ],
        "children": [
            {"_type": "span", "_key": "1", "text": "<script>alert('x')</script>", "marks": []},
            {"_type": "span", "_key": "2", "text": "safe", "marks": ["ok"]},
            {"_type": "span", "_key": "3", "text": "evil", "marks": ["evil"]},
            {"_type": "span", "_key": "4", "text": "noted", "marks": ["note"]}
        ]
    }]);
    assert_eq!(
        to_html(&blocks, None),
        "<p>&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;\
         <a href=\"https://example.test/?a=1&amp;b=&quot;2&quot;\">safe</a>evilnoted</p>"
    );
}

#[test]
fn images_from_references_or_expanded_assets() {
    let cdn = SanityCdn::new("zp7mbokg", "production");
    let blocks = json!([
        {"_type": "image", "_key": "i1", "alt": "A \"quoted\" alt",
         "asset": {"_type": "reference", "_ref": "image-Tb9Ew8CXIwaY6R1kjMvI0uRR-2000x3000-jpg"}},
        {"_type": "image", "_key": "i2",
         "asset": {"_id": "image-abc-10x20-webp", "url": "https://cdn.sanity.io/images/p/d/abc-10x20.webp",
                   "mimeType": "image/webp", "size": 1234,
                   "metadata": {"dimensions": {"width": 10, "height": 20, "aspectRatio": 0.5}}}},
        {"_type": "codeBlock", "_key": "c", "code": "fn main() {}"}
    ]);
    assert_eq!(
        to_html(&blocks, Some(&cdn)),
        "<figure><img src=\"https://cdn.sanity.io/images/zp7mbokg/production/Tb9Ew8CXIwaY6R1kjMvI0uRR-2000x3000.jpg\" \
         alt=\"A &quot;quoted&quot; alt\" width=\"2000\" height=\"3000\"></figure>\
         <figure><img src=\"https://cdn.sanity.io/images/p/d/abc-10x20.webp\" alt=\"\" width=\"10\" height=\"20\"></figure>"
    );
    // Without a project and dataset, a bare reference has no URL and renders nothing.
    assert_eq!(to_html(&json!([blocks[0]]), None), "");
    let expanded = sanity_image(&blocks[1], None).unwrap();
    assert_eq!(expanded.file_size, Some(1234));
    assert_eq!(expanded.mime_type.as_deref(), Some("image/webp"));
}

#[test]
fn empty_and_odd_input_renders_nothing_harmful() {
    assert_eq!(to_html(&json!([]), None), "");
    assert_eq!(to_html(&json!(null), None), "");
    assert_eq!(to_html(&json!([{"_type": "block"}]), None), "<p></p>");
}
