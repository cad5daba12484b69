//! The Git-based CMSes: GitHub push webhooks (Decap, Tina) and Tina Cloud webhooks, reading
//! files through a loopback server that behaves like GitHub's contents and commits APIs and
//! checks the token and the ref of every read.

mod common;

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

use http::HeaderValue;
use providers::decap::DecapAdapter;
use providers::tina::TinaAdapter;
use providers::{AdapterError, Change, ConfigError, ProviderAdapter, Settings, SignatureError};
use unified_content::{ContentStatus, ContentType, Timestamp};

use common::*;

#[tokio::test]
async fn push_across_commits_gives_the_net_upserts_and_tombstones() {
    let github = FakeGitHub::start().await;
    let adapter = DecapAdapter::from_settings(&repo_settings(
        "decap",
        &github.url,
        &[("webhook_secret", WEBHOOK_SECRET)],
    ))
    .unwrap();
    let body = fixture("github/push.json");
    let headers = github_headers("push", &body, WEBHOOK_SECRET);
    let request = request(&headers, &body);
    adapter.verify(&request).await.unwrap();
    assert_eq!(
        adapter.delivery_id(&request).as_deref(),
        Some("72d3162e-cc78-11e3-81ab-4c9367dc0958")
    );
    let normalized = adapter.normalize(&request).await.unwrap();
    assert_eq!(normalized.event, "push");

    // Each written file is read once, at the commit that last touched it; removed files,
    // files outside the mapped folders and non-Markdown files are never read.
    assert_eq!(
        github.hits(),
        [
            format!("contents content/pages/about.md@{C3}"),
            format!("contents content/posts/draft-idea.md@{C1}"),
            format!("contents content/posts/hello-world.md@{C2}"),
            format!("contents content/posts/old-post.md@{C3}"),
        ]
    );

    let changes = &normalized.changes;
    let ids = changes
        .iter()
        .map(|c| match c {
            Change::Upsert(item) => format!("upsert {}", item.id),
            Change::Tombstone { id, .. } => format!("tombstone {id}"),
            Change::Inventory(_) => unreachable!(),
        })
        .collect::<Vec<_>>();
    assert_eq!(
        ids,
        [
            "tombstone decap:content/articles/gone.md",
            "upsert decap:content/pages/about.md",
            "upsert decap:content/posts/draft-idea.md",
            "upsert decap:content/posts/hello-world.md",
            // Removed in one commit, added back in the next: an upsert.
            "upsert decap:content/posts/old-post.md",
            // Added in one commit, removed in the next: a removal.
            "tombstone decap:content/posts/temp.md",
        ]
    );
    assert_eq!(
        changes[0],
        tombstone(
            "decap:content/articles/gone.md",
            ContentType::Article,
            "2026-11-20T09:30:00Z"
        )
    );
    assert_eq!(
        changes[5],
        tombstone(
            "decap:content/posts/temp.md",
            ContentType::Article,
            "2026-11-20T10:00:00Z"
        )
    );

    let items = upserts(changes);
    let hello = items[2];
    assert_eq!(hello.title, "Hello, World!");
    assert_eq!(hello.slug, "hello-world-2026");
    assert_eq!(hello.tags, ["news", "launch", "2026"]);
    assert_eq!(
        hello.updated_at,
        "2026-11-20T09:30:00Z".parse::<Timestamp>().unwrap()
    );
    assert_eq!(
        hello.created_at,
        "2026-11-19T17:30:00Z".parse::<Timestamp>().unwrap()
    );
    assert_eq!(
        hello.provider_data["front_matter"]["author_id"],
        "9007199254740993"
    );
    let draft = items[1];
    assert_eq!(draft.status, ContentStatus::Draft);
    assert_eq!(draft.tags, ["ideas", "later"]);
    // Dated in the future (scheduled): created no later than its commit.
    assert_eq!(draft.created_at, draft.updated_at);
    let about = items[0];
    assert_eq!(
        (about.content_type, about.title.as_str()),
        (ContentType::Page, "about")
    );
    assert_eq!(about.slug, "about");
    assert_eq!(items[3].slug, "old-post");
    for item in &items {
        item.validate().unwrap();
    }
    insta::assert_json_snapshot!("decap_push_upserts", items);
}

#[tokio::test]
async fn push_signatures_are_checked_over_the_raw_body() {
    let adapter = DecapAdapter::from_settings(&repo_settings(
        "decap",
        "http://127.0.0.1:9",
        &[("webhook_secret", WEBHOOK_SECRET)],
    ))
    .unwrap();
    let body = fixture("github/push.json");

    let wrong = github_headers("push", &body, "not-the-secret");
    assert_eq!(
        adapter.verify(&request(&wrong, &body)).await,
        Err(SignatureError::Mismatch {
            header: "X-Hub-Signature-256"
        })
    );
    let mut missing = github_headers("push", &body, WEBHOOK_SECRET);
    missing.remove("X-Hub-Signature-256");
    assert_eq!(
        adapter.verify(&request(&missing, &body)).await,
        Err(SignatureError::Missing {
            header: "X-Hub-Signature-256"
        })
    );
    let mut sha1 = github_headers("push", &body, WEBHOOK_SECRET);
    sha1.insert(
        "X-Hub-Signature-256",
        HeaderValue::from_static("sha1=7d38cdd689735b008b3c702edd92eea23791c5f6"),
    );
    assert!(matches!(
        adapter.verify(&request(&sha1, &body)).await,
        Err(SignatureError::Malformed { .. })
    ));
    let mut tampered = body.clone();
    tampered.push(b' ');
    let signed = github_headers("push", &body, WEBHOOK_SECRET);
    assert!(adapter.verify(&request(&signed, &tampered)).await.is_err());
}

#[tokio::test]
async fn ping_other_branches_and_form_encoding() {
    let github = FakeGitHub::start().await;
    let adapter = DecapAdapter::from_settings(&repo_settings(
        "decap",
        &github.url,
        &[("webhook_secret", WEBHOOK_SECRET)],
    ))
    .unwrap();

    let ping = fixture("github/ping.json");
    let headers = github_headers("ping", &ping, WEBHOOK_SECRET);
    adapter.verify(&request(&headers, &ping)).await.unwrap();
    let normalized = adapter.normalize(&request(&headers, &ping)).await.unwrap();
    assert_eq!(
        (normalized.event.as_str(), normalized.changes.len()),
        ("ping", 0)
    );

    let other_branch = String::from_utf8(fixture("github/push.json"))
        .unwrap()
        .replace("refs/heads/main", "refs/heads/feature/redesign")
        .into_bytes();
    let headers = github_headers("push", &other_branch, WEBHOOK_SECRET);
    let normalized = adapter
        .normalize(&request(&headers, &other_branch))
        .await
        .unwrap();
    assert!(normalized.changes.is_empty());
    assert!(github.hits().is_empty(), "nothing read for another branch");

    // A webhook set to application/x-www-form-urlencoded sends the JSON in `payload`.
    let json = fixture("github/push.json");
    let form = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("payload", std::str::from_utf8(&json).unwrap())
        .finish()
        .into_bytes();
    let mut headers = github_headers("push", &form, WEBHOOK_SECRET);
    headers.insert(
        "Content-Type",
        HeaderValue::from_static("application/x-www-form-urlencoded"),
    );
    adapter.verify(&request(&headers, &form)).await.unwrap();
    let normalized = adapter.normalize(&request(&headers, &form)).await.unwrap();
    assert_eq!(normalized.changes.len(), 6);
}

#[tokio::test]
async fn a_refused_token_is_reported_without_the_token() {
    let github = FakeGitHub::start().await;
    let adapter = DecapAdapter::from_settings(&Settings::from_table(
        "decap",
        [
            ("github_repo", "acme/site"),
            ("github_api_url", github.url.as_str()),
            ("github_token", "github_pat_revoked_0000"),
            ("webhook_secret", WEBHOOK_SECRET),
        ],
    ))
    .unwrap();
    let body = fixture("github/push.json");
    let headers = github_headers("push", &body, WEBHOOK_SECRET);
    let err = adapter
        .normalize(&request(&headers, &body))
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, AdapterError::Upstream { .. }), "{text}");
    assert!(
        text.contains("401") && text.contains("github_token"),
        "{text}"
    );
    assert!(!text.contains("github_pat_revoked_0000"), "{text}");
    assert!(!format!("{adapter:?}").contains("github_pat_revoked_0000"));
}

#[tokio::test]
async fn tina_cloud_webhooks_give_the_same_items_as_github_pushes() {
    let github = FakeGitHub::start().await;
    let adapter = TinaAdapter::from_settings(&repo_settings(
        "tina",
        &github.url,
        &[
            ("webhook_secret", WEBHOOK_SECRET),
            ("cloud_webhook_secret", CLOUD_SECRET),
        ],
    ))
    .unwrap();

    let push = fixture("github/push.json");
    let headers = github_headers("push", &push, WEBHOOK_SECRET);
    adapter.verify(&request(&headers, &push)).await.unwrap();
    let from_push = adapter.normalize(&request(&headers, &push)).await.unwrap();

    let modified = fixture("tina/content_modified.json");
    let headers = tina_headers(Some(CLOUD_SECRET));
    let cloud = request(&headers, &modified);
    adapter.verify(&cloud).await.unwrap();
    assert_eq!(
        adapter.delivery_id(&cloud).as_deref(),
        Some("472c1f0e-8d6b-4f9a-b1de-7f3a2c9e5d10")
    );
    let from_cloud = adapter.normalize(&cloud).await.unwrap();
    assert_eq!(from_cloud.event, "content.modified");

    // The extensionless path is Tina's `.md` document; the unmapped author is skipped.
    let cloud_items = upserts(&from_cloud.changes);
    let push_items = upserts(&from_push.changes);
    assert_eq!(
        cloud_items
            .iter()
            .map(|i| i.id.as_str())
            .collect::<Vec<_>>(),
        [
            "tina:content/pages/about.md",
            "tina:content/posts/hello-world.md"
        ]
    );
    for item in &cloud_items {
        let pushed = push_items.iter().find(|p| p.id == item.id).unwrap();
        assert_eq!(item, pushed);
    }
    assert!(
        github
            .hits()
            .contains(&"commits content/pages/about.md@main".to_string())
    );

    let removed = fixture("tina/content_removed.json");
    let from_cloud = adapter
        .normalize(&request(&headers, &removed))
        .await
        .unwrap();
    assert_eq!(
        from_cloud.changes,
        [tombstone(
            "tina:content/articles/gone.md",
            ContentType::Article,
            "2026-11-20T09:30:00Z"
        )]
    );
    assert!(from_push.changes.contains(&from_cloud.changes[0]));
}

#[tokio::test]
async fn tina_cloud_secret_header_is_checked() {
    let adapter = TinaAdapter::from_settings(&repo_settings(
        "tina",
        "http://127.0.0.1:9",
        &[("cloud_webhook_secret", CLOUD_SECRET)],
    ))
    .unwrap();
    let body = fixture("tina/content_modified.json");

    let right = tina_headers(Some(CLOUD_SECRET));
    adapter.verify(&request(&right, &body)).await.unwrap();
    let wrong = tina_headers(Some("tina-cloud-7b3e1f9d4d"));
    assert_eq!(
        adapter.verify(&request(&wrong, &body)).await,
        Err(SignatureError::Mismatch {
            header: "X-Tina-Webhook-Secret"
        })
    );
    let prefix = tina_headers(Some(&CLOUD_SECRET[..10]));
    assert!(adapter.verify(&request(&prefix, &body)).await.is_err());
    let missing = tina_headers(None);
    assert_eq!(
        adapter.verify(&request(&missing, &body)).await,
        Err(SignatureError::Missing {
            header: "X-Tina-Webhook-Secret"
        })
    );
    // GitHub pushes are refused while no GitHub webhook secret is configured.
    let push = fixture("github/push.json");
    let headers = github_headers("push", &push, "");
    let err = adapter.verify(&request(&headers, &push)).await.unwrap_err();
    assert!(matches!(err, SignatureError::Rejected { .. }), "{err}");
}

#[test]
fn settings_are_checked_up_front() {
    let err = DecapAdapter::from_settings(&Settings::from_table(
        "decap",
        [("github_repo", "acme/site")],
    ))
    .unwrap_err();
    assert_eq!(
        err,
        ConfigError::Missing {
            provider: "decap",
            setting: "webhook_secret",
            env: "DECAP_WEBHOOK_SECRET".into()
        }
    );
    let err =
        DecapAdapter::from_settings(&Settings::from_table("decap", [("webhook_secret", "s")]))
            .unwrap_err();
    assert!(err.to_string().contains("DECAP_GITHUB_REPO"), "{err}");
    for (setting, value) in [
        ("github_repo", "just-a-name"),
        ("content_types", "posts=essay"),
        ("content_dir", "../outside"),
        ("github_api_url", "ftp://example.invalid"),
    ] {
        let mut table = BTreeMap::from([("webhook_secret", "s"), ("github_repo", "acme/site")]);
        table.insert(setting, value);
        let err = DecapAdapter::from_settings(&Settings::from_table("decap", table)).unwrap_err();
        assert!(
            matches!(&err, ConfigError::Invalid { setting: s, .. } if *s == setting),
            "{setting}: {err}"
        );
    }
    let err = TinaAdapter::from_settings(&Settings::from_table(
        "tina",
        [("github_repo", "acme/site")],
    ))
    .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("TINA_CLOUD_WEBHOOK_SECRET") && text.contains("TINA_WEBHOOK_SECRET"),
        "{text}"
    );
}

#[tokio::test]
async fn custom_folders_map_to_types() {
    let github = FakeGitHub::start().await;
    let adapter = DecapAdapter::from_settings(&repo_settings(
        "decap",
        &github.url,
        &[
            ("webhook_secret", WEBHOOK_SECRET),
            ("content_types", "pages=article"),
        ],
    ))
    .unwrap();
    let body = fixture("github/push.json");
    let headers = github_headers("push", &body, WEBHOOK_SECRET);
    let normalized = adapter.normalize(&request(&headers, &body)).await.unwrap();
    let items = upserts(&normalized.changes);
    assert_eq!(items.len(), 1);
    assert_eq!(
        (items[0].id.as_str(), items[0].content_type),
        ("decap:content/pages/about.md", ContentType::Article)
    );
    assert_eq!(
        github.hits(),
        [format!("contents content/pages/about.md@{C3}")]
    );
}

#[tokio::test]
async fn transient_github_errors_are_retried_then_reported() {
    let github = FakeGitHub::start().await;
    let adapter = DecapAdapter::from_settings(&repo_settings(
        "decap",
        &github.url,
        &[
            ("webhook_secret", WEBHOOK_SECRET),
            ("content_types", "pages=page"),
        ],
    ))
    .unwrap();
    let body = fixture("github/push.json");
    let headers = github_headers("push", &body, WEBHOOK_SECRET);

    github.failures.store(1, Ordering::SeqCst);
    let normalized = adapter.normalize(&request(&headers, &body)).await.unwrap();
    assert_eq!(upserts(&normalized.changes).len(), 1);
    let read = format!("contents content/pages/about.md@{C3}");
    assert_eq!(github.hits(), [read.clone(), read.clone()]);

    github.failures.store(10, Ordering::SeqCst);
    let err = adapter
        .normalize(&request(&headers, &body))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, AdapterError::Upstream { url, .. } if url.contains("/contents/content/pages/about.md?ref=")),
        "{err}"
    );
    assert!(err.to_string().contains("502"), "{err}");
    // The first attempt and two retries.
    assert_eq!(github.hits().len(), 2 + 3);
}
