//! Repositories laid out the way their users lay them out: a Jekyll site with `_posts/` and
//! pages at the repository root, and a Decap site with pages directly in `content/`. Pushes
//! and Tina Cloud webhooks are shaped like the real ones; files are read from the loopback
//! GitHub stand-in.

mod common;

use providers::decap::DecapAdapter;
use providers::tina::TinaAdapter;
use providers::{Change, ProviderAdapter};
use unified_content::{ContentType, Timestamp};

use common::*;

const C4: &str = "4444444444444444444444444444444444444444";
const C5: &str = "5555555555555555555555555555555555555555";

async fn push(adapter: &dyn ProviderAdapter, file: &str) -> Vec<Change> {
    let body = fixture(file);
    let headers = github_headers("push", &body, WEBHOOK_SECRET);
    let request = request(&headers, &body);
    adapter.verify(&request).await.unwrap();
    adapter.normalize(&request).await.unwrap().changes
}

fn decap(github: &FakeGitHub, extra: &[(&str, &str)]) -> DecapAdapter {
    let mut settings = vec![("webhook_secret", WEBHOOK_SECRET)];
    settings.extend_from_slice(extra);
    DecapAdapter::from_settings(&repo_settings("decap", &github.url, &settings)).unwrap()
}

fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

#[tokio::test]
async fn a_jekyll_site_maps_posts_and_root_pages_with_a_root_content_dir() {
    for root in [".", "/"] {
        let github = FakeGitHub::start().await;
        let adapter = decap(
            &github,
            &[
                ("content_dir", root),
                ("content_types", "_posts=article"),
                ("default_content_type", "page"),
            ],
        );
        let changes = push(&adapter, "github/push_jekyll.json").await;

        // README.md, _config.yml, Gemfile.lock and the image are not read.
        assert_eq!(
            github.hits(),
            [
                format!("contents _posts/2019-05-15-hello.md@{C4}"),
                format!("contents _posts/2019-06-01-second-post.markdown@{C4}"),
                format!("contents about.md@{C4}"),
            ],
            "{root}"
        );
        let items = upserts(&changes);
        assert_eq!(items.len(), 3, "{root}: {changes:?}");
        let hello = items[0];
        assert_eq!(hello.id, "decap:_posts/2019-05-15-hello.md");
        assert_eq!(hello.content_type, ContentType::Article);
        assert_eq!(hello.title, "Hello from Jekyll");
        // The date in the name dates the post; the rest of the name is its slug.
        assert_eq!(hello.slug, "hello");
        assert_eq!(hello.created_at, at("2019-05-15T00:00:00Z"));
        assert_eq!(hello.updated_at, at("2026-11-21T08:15:00Z"));
        assert_eq!(hello.tags, ["welcome", "jekyll"]);
        let second = items[1];
        assert_eq!(second.slug, "second-post");
        // The front matter's date wins over the name's.
        assert_eq!(second.created_at, at("2019-06-01T09:30:00Z"));
        let about = items[2];
        assert_eq!(
            (about.id.as_str(), about.content_type, about.slug.as_str()),
            ("decap:about.md", ContentType::Page, "about")
        );
        for item in &items {
            item.validate().unwrap();
        }
    }
}

#[tokio::test]
async fn tina_cloud_paths_at_the_repository_root_give_the_same_items() {
    let github = FakeGitHub::start().await;
    let adapter = TinaAdapter::from_settings(&repo_settings(
        "tina",
        &github.url,
        &[
            ("webhook_secret", WEBHOOK_SECRET),
            ("cloud_webhook_secret", CLOUD_SECRET),
            ("content_dir", "."),
            ("content_types", "_posts=article"),
            ("default_content_type", "page"),
        ],
    ))
    .unwrap();
    let from_push = push(&adapter, "github/push_jekyll.json").await;

    // Tina Cloud names documents without their extension.
    let event = br#"{"clientId": "2763b8a4-5c3e-4a4c-9a4e-0d8e1c2f9b71", "branch": "main",
        "paths": ["_posts/2019-05-15-hello", "about", "README"],
        "type": "content.modified", "eventId": "9d1e0c2b-3a4f-4e5d-8c7b-6a5f4e3d2c1b"}"#;
    let headers = tina_headers(Some(CLOUD_SECRET));
    let cloud = request(&headers, event);
    adapter.verify(&cloud).await.unwrap();
    let from_cloud = adapter.normalize(&cloud).await.unwrap().changes;
    let cloud_items = upserts(&from_cloud);
    assert_eq!(
        cloud_items
            .iter()
            .map(|i| i.id.as_str())
            .collect::<Vec<_>>(),
        ["tina:_posts/2019-05-15-hello.md", "tina:about.md"]
    );
    for item in cloud_items {
        assert!(upserts(&from_push).contains(&item), "{}", item.id);
    }
}

#[tokio::test]
async fn files_directly_in_the_content_folder_take_the_default_type() {
    let github = FakeGitHub::start().await;
    let adapter = decap(&github, &[("default_content_type", "page")]);
    let changes = push(&adapter, "github/push_content_root_files.json").await;
    let items = upserts(&changes);
    let summary = items
        .iter()
        .map(|i| (i.id.as_str(), i.content_type, i.slug.as_str()))
        .collect::<Vec<_>>();
    assert_eq!(
        summary,
        [
            ("decap:content/about.md", ContentType::Page, "about"),
            ("decap:content/contact.md", ContentType::Page, "contact"),
            (
                "decap:content/posts/2024-01-02-new-year.md",
                ContentType::Article,
                "new-year"
            ),
        ]
    );
    assert_eq!(items[0].description.as_deref(), Some("Who we are"));
    assert_eq!(items[2].created_at, at("2024-01-02T00:00:00Z"));
    assert_eq!(items[0].updated_at, at("2026-11-22T16:40:00Z"));
    assert_eq!(
        github.hits(),
        [
            format!("contents content/about.md@{C5}"),
            format!("contents content/contact.md@{C5}"),
            format!("contents content/posts/2024-01-02-new-year.md@{C5}"),
        ]
    );
}

#[tokio::test]
async fn a_push_whose_markdown_maps_to_nothing_warns_naming_files_and_settings() {
    let github = FakeGitHub::start().await;
    let (_guard, logs) = capture_logs();

    // A Jekyll push against the default layout (`content/posts`, `content/articles`,
    // `content/pages`): nothing maps, nothing is read, and the log says why.
    let adapter = decap(&github, &[]);
    let changes = push(&adapter, "github/push_jekyll.json").await;
    assert!(changes.is_empty(), "{changes:?}");
    assert!(github.hits().is_empty());
    let text = logs.text();
    let warning = text
        .lines()
        .find(|l| l.contains("WARN"))
        .unwrap_or_else(|| panic!("no warning in: {text}"));
    for expected in [
        "_posts/2019-05-15-hello.md",
        "_posts/2019-06-01-second-post.markdown",
        "about.md",
        "README.md",
        "[providers.decap] content_dir",
        "content_types",
        "default_content_type",
        "content_dir 'content'",
    ] {
        assert!(
            warning.contains(expected),
            "{expected} missing in: {warning}"
        );
    }
    // Non-Markdown files are not named.
    assert!(!warning.contains("_config.yml"), "{warning}");

    // Without a default type, files directly in `content/` are skipped; the post in
    // `content/posts` still maps, so the push is not silent and gives no warning.
    let changes = push(&adapter, "github/push_content_root_files.json").await;
    assert_eq!(upserts(&changes).len(), 1);
    assert_eq!(logs.text().matches("WARN").count(), 1, "{}", logs.text());
}
