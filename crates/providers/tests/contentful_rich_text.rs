//! Contentful Rich Text to HTML: every common node type, marks, assets and escaping.

use providers::rich_text::to_html;
use serde_json::{Value, json};
use unified_content::MediaAsset;

fn text(value: &str, marks: &[&str]) -> Value {
    let marks: Vec<Value> = marks.iter().map(|m| json!({"type": m})).collect();
    json!({"nodeType": "text", "value": value, "marks": marks, "data": {}})
}

fn node(node_type: &str, content: Vec<Value>) -> Value {
    json!({"nodeType": node_type, "data": {}, "content": content})
}

fn doc(content: Vec<Value>) -> Value {
    node("document", content)
}

fn asset_link(id: &str) -> Value {
    json!({"sys": {"id": id, "type": "Link", "linkType": "Asset"}})
}

/// Resolves the assets a site has fetched: one image and one PDF.
fn resolve(target: &Value) -> Option<MediaAsset> {
    let id = target.pointer("/sys/id")?.as_str()?;
    let (url, mime, alt) = match id {
        "img" => (
            "https://images.ctfassets.net/s/img/h/photo.jpg",
            "image/jpeg",
            "A <photo>",
        ),
        "pdf" => (
            "https://assets.ctfassets.net/s/pdf/h/terms.pdf",
            "application/pdf",
            "Terms",
        ),
        _ => return None,
    };
    Some(MediaAsset {
        id: id.into(),
        url: url.into(),
        alt_text: Some(alt.into()),
        width: (id == "img").then_some(800),
        height: (id == "img").then_some(600),
        file_size: None,
        mime_type: Some(mime.into()),
    })
}

#[test]
fn blocks_lists_and_tables() {
    let mut content: Vec<Value> = (1..=6)
        .map(|n| node(&format!("heading-{n}"), vec![text(&format!("H{n}"), &[])]))
        .collect();
    content.push(node(
        "ordered-list",
        vec![
            node("list-item", vec![node("paragraph", vec![text("one", &[])])]),
            node(
                "list-item",
                vec![
                    node("paragraph", vec![text("two", &[])]),
                    node(
                        "unordered-list",
                        vec![node(
                            "list-item",
                            vec![node("paragraph", vec![text("two.a", &[])])],
                        )],
                    ),
                ],
            ),
        ],
    ));
    content.push(node(
        "blockquote",
        vec![node("paragraph", vec![text("quoted", &[])])],
    ));
    content.push(node("hr", vec![]));
    content.push(node(
        "table",
        vec![
            node(
                "table-row",
                vec![node(
                    "table-header-cell",
                    vec![node("paragraph", vec![text("Size", &[])])],
                )],
            ),
            node(
                "table-row",
                vec![node(
                    "table-cell",
                    vec![node("paragraph", vec![text("M", &[])])],
                )],
            ),
        ],
    ));
    assert_eq!(
        to_html(&doc(content), &resolve),
        "<h1>H1</h1><h2>H2</h2><h3>H3</h3><h4>H4</h4><h5>H5</h5><h6>H6</h6>\
         <ol><li><p>one</p></li><li><p>two</p><ul><li><p>two.a</p></li></ul></li></ol>\
         <blockquote><p>quoted</p></blockquote><hr/>\
         <table><tbody><tr><th><p>Size</p></th></tr><tr><td><p>M</p></td></tr></tbody></table>"
    );
}

#[test]
fn marks_links_and_escaping() {
    let paragraph = node(
        "paragraph",
        vec![
            text("b", &["bold"]),
            text("i", &["italic"]),
            text("u", &["underline"]),
            text("c", &["code"]),
            text("sup", &["superscript"]),
            text("sub", &["subscript"]),
            text("s", &["strikethrough"]),
            text("all", &["bold", "italic"]),
            text("<b>not bold</b> & \"quoted\"", &[]),
            json!({"nodeType": "hyperlink", "data": {"uri": "https://example.test/?a=1&b=2"}, "content": [text("link", &[])]}),
            json!({"nodeType": "hyperlink", "data": {"uri": "javascript:alert(1)"}, "content": [text("unsafe", &[])]}),
            json!({"nodeType": "entry-hyperlink", "data": {"target": {"sys": {"id": "e1", "type": "Link", "linkType": "Entry"}}},
                   "content": [text("entry", &[])]}),
            json!({"nodeType": "asset-hyperlink", "data": {"target": asset_link("pdf")}, "content": [text("terms", &[])]}),
            json!({"nodeType": "embedded-entry-inline", "data": {"target": {"sys": {"id": "e2"}}}, "content": []}),
        ],
    );
    assert_eq!(
        to_html(&doc(vec![paragraph]), &resolve),
        "<p><b>b</b><i>i</i><u>u</u><code>c</code><sup>sup</sup><sub>sub</sub><s>s</s><b><i>all</i></b>\
         &lt;b&gt;not bold&lt;/b&gt; &amp; &quot;quoted&quot;\
         <a href=\"https://example.test/?a=1&amp;b=2\">link</a>unsafeentry\
         <a href=\"https://assets.ctfassets.net/s/pdf/h/terms.pdf\">terms</a></p>"
    );
}

#[test]
fn embedded_assets_render_when_resolvable() {
    let document = doc(vec![
        json!({"nodeType": "embedded-asset-block", "data": {"target": asset_link("img")}, "content": []}),
        json!({"nodeType": "embedded-asset-block", "data": {"target": asset_link("pdf")}, "content": []}),
        json!({"nodeType": "embedded-asset-block", "data": {"target": asset_link("unknown")}, "content": []}),
        json!({"nodeType": "embedded-entry-block", "data": {"target": {"sys": {"id": "e3"}}}, "content": []}),
    ]);
    assert_eq!(
        to_html(&document, &resolve),
        "<figure><img src=\"https://images.ctfassets.net/s/img/h/photo.jpg\" alt=\"A &lt;photo&gt;\" width=\"800\" height=\"600\"/></figure>\
         <p><a href=\"https://assets.ctfassets.net/s/pdf/h/terms.pdf\">Terms</a></p>"
    );
    assert_eq!(to_html(&json!({}), &resolve), "");
}
