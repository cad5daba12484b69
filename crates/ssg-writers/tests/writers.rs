//! The engine writers on the shared fixture set: generated files, determinism, atomicity,
//! incremental runs and path safety.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use ssg_writers::{Mode, RunReport, SyncRun, WriteError, WriteOptions, engine};
use unified_content::{ContentStatus, UnifiedContent};

fn fixture() -> Vec<UnifiedContent> {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/content/items.json");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut items: Vec<UnifiedContent> = serde_json::from_str(&text).unwrap();
    for item in &mut items {
        item.normalize();
        item.validate().unwrap();
    }
    items
}

fn options(out: &Path) -> WriteOptions {
    WriteOptions::new(out)
}

/// One run, fed in pages of three items like a paged fetch.
fn run(
    name: &str,
    options: WriteOptions,
    items: &[UnifiedContent],
) -> Result<RunReport, WriteError> {
    let mut run = SyncRun::begin(engine(name)?, options)?;
    for page in items.chunks(3) {
        run.add_page(page.to_vec())?;
    }
    run.commit()
}

/// Every file under `dir` with its bytes.
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path
                    .strip_prefix(dir)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                files.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    files
}

fn mtimes(dir: &Path) -> BTreeMap<String, SystemTime> {
    tree(dir)
        .into_keys()
        .map(|rel| {
            let t = std::fs::metadata(dir.join(&rel))
                .unwrap()
                .modified()
                .unwrap();
            (rel, t)
        })
        .collect()
}

/// All generated files of one output as one text.
fn listing(dir: &Path) -> String {
    let mut text = String::new();
    for (rel, bytes) in tree(dir) {
        text.push_str(&format!(
            "===== {rel}\n{}",
            String::from_utf8(bytes).unwrap()
        ));
    }
    text
}

#[test]
fn every_engine_writes_its_layout_for_the_fixture_set() {
    for name in ssg_writers::engine_names() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let report = run(name, options(&out), &fixture()).unwrap();
        assert_eq!(report.items, 9);
        assert!(report.warnings.is_empty(), "{:?}", report.warnings);
        let text = listing(&out);
        assert!(!text.contains("29.990000000000002"));
        insta::with_settings!({filters => vec![(dir.path().to_str().unwrap(), "[TMP]")]}, {
            insta::assert_snapshot!(name, text);
        });
    }
}

#[test]
fn markdown_layout_writes_front_matter_and_body() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let mut opts = options(&out);
    opts.markdown = true;
    run("astro", opts, &fixture()).unwrap();
    let article = std::fs::read_to_string(out.join("articles/brewing-guide.md")).unwrap();
    insta::assert_snapshot!("astro-markdown-article", article);
    let collections = std::fs::read_to_string(out.join("collections.ts")).unwrap();
    assert!(collections.contains(r#"glob({ pattern: "**/*.md", base: folder("articles") })"#));
    assert!(collections.contains(r#"glob({ pattern: "**/*.json", base: folder("products") })"#));

    let mut opts = options(&dir.path().join("eleventy"));
    opts.markdown = true;
    let err = run("eleventy", opts, &fixture()).unwrap_err();
    assert!(
        matches!(err, WriteError::MarkdownUnsupported { engine: "eleventy" }),
        "{err}"
    );
}

#[test]
fn output_is_deterministic_whatever_the_arrival_order() {
    let dir = tempfile::tempdir().unwrap();
    let mut reversed = fixture();
    reversed.reverse();
    for name in ssg_writers::engine_names() {
        let a = dir.path().join(format!("{name}-a"));
        let b = dir.path().join(format!("{name}-b"));
        run(name, options(&a), &fixture()).unwrap();
        run(name, options(&b), &reversed).unwrap();
        assert_eq!(tree(&a), tree(&b), "{name}");
    }
}

#[test]
fn a_failed_fetch_leaves_the_previous_output_exactly_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    run("next", options(&out), &fixture()).unwrap();
    let (before, times) = (tree(&out), mtimes(&out));

    let mut changed = fixture();
    changed[0].title = "Changed".into();
    let mut sync = SyncRun::begin(engine("next").unwrap(), options(&out)).unwrap();
    sync.add_page(changed[..4].to_vec()).unwrap();
    // The fetch of the next page fails: the caller returns its error and drops the run.
    drop(sync);

    assert_eq!(tree(&out), before);
    assert_eq!(mtimes(&out), times);
    assert_eq!(siblings(dir.path()), vec![".content-fetch", "out"]);
    assert_eq!(state_files(&out), STATE_FILES);
}

#[test]
fn a_failed_render_leaves_the_previous_output_exactly_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    run("astro", options(&out), &fixture()).unwrap();
    let (before, times) = (tree(&out), mtimes(&out));

    // A user template that breaks on one item, half-way through the sorted items.
    let templates = dir.path().join("templates");
    std::fs::create_dir_all(templates.join("astro")).unwrap();
    std::fs::write(
        templates.join("astro/entry.json"),
        "{% if item.slug == 'organic-tee' %}{{ item.no_such_field }}{% endif %}{{ item | json }}\n",
    )
    .unwrap();
    let mut opts = options(&out);
    opts.template_dir = Some(templates);
    let err = run("astro", opts, &fixture()).unwrap_err();
    let message = err.to_string();
    assert!(message.contains("template 'astro/entry.json'"), "{message}");
    assert!(message.contains("item 'snipcart:organic-tee'"), "{message}");

    assert_eq!(tree(&out), before);
    assert_eq!(mtimes(&out), times);
    assert_eq!(
        siblings(dir.path()),
        vec![".content-fetch", "out", "templates"]
    );
    assert_eq!(state_files(&out), STATE_FILES);
}

#[test]
fn a_killed_run_leaves_the_output_and_the_next_run_cleans_up() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    run("eleventy", options(&out), &fixture()).unwrap();
    let before = tree(&out);

    // A process killed mid-run never runs its destructors: its staging folder beside the
    // output and its run folder in the state folder stay behind (its lock goes with it).
    plant(
        &dir.path().join(".out.content-fetch-staging-4242-1a2b"),
        &[("products.json", "[\n")],
    );
    plant(
        &ssg_writers::state_dir(&out).join("run-4242-1a2b"),
        &[("items-1.jsonl", "{}\n"), ("sort/by-id-0.run", "")],
    );
    assert_eq!(
        siblings(dir.path()).len(),
        3,
        "a staging folder beside the output"
    );
    assert_eq!(
        siblings(&ssg_writers::state_dir(&out)).len(),
        STATE_FILES.len() + 1,
        "and a run folder"
    );

    // An output of an earlier version killed between the two renames of its folder swap: the
    // old output sits aside.
    let aside = dir.path().join(".out.content-fetch-previous");
    std::fs::rename(&out, &aside).unwrap();

    run("eleventy", options(&out), &fixture()).unwrap();
    assert_eq!(tree(&out), before);
    assert_eq!(siblings(dir.path()), vec![".content-fetch", "out"]);
    assert_eq!(state_files(&out), STATE_FILES);
}

#[test]
fn incremental_runs_equal_full_runs_and_touch_only_changed_files() {
    for name in ssg_writers::engine_names() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        run(name, options(&out), &fixture()).unwrap();
        let times = mtimes(&out);
        std::thread::sleep(std::time::Duration::from_millis(20));

        let base = fixture();
        let mut mug = base[0].clone();
        mug.price.as_mut().unwrap().amount = "27.5".parse().unwrap();
        mug.updated_at = "2026-03-01T00:00:00Z".parse().unwrap();
        let mut gone = base[4].clone();
        gone.status = ContentStatus::Deleted;
        gone.updated_at = "2026-03-01T00:00:00Z".parse().unwrap();
        let mut fresh = base[1].clone();
        fresh.id = "snipcart:new-cap".into();
        fresh.slug = "new-cap".into();
        fresh.title = "New Cap".into();
        fresh.updated_at = "2026-03-01T00:00:00Z".parse().unwrap();
        // The cache stored the three changes after the previous run.
        for item in [&mut mug, &mut gone, &mut fresh] {
            item.synced_at = "2026-03-01T00:00:05Z".parse().unwrap();
        }

        let state = ssg_writers::state_dir(&out);
        let state_before = mtimes(&state);
        let mut opts = options(&out);
        opts.mode = Mode::Incremental;
        let mut sync = SyncRun::begin(engine(name).unwrap(), opts).unwrap();
        assert!(sync.is_incremental());
        assert_eq!(
            sync.changes_since(),
            Some("2026-02-01T12:30:05Z".parse().unwrap()),
            "the newest synced_at of the previous run"
        );
        sync.add_page(vec![mug.clone(), gone.clone(), fresh.clone()])
            .unwrap();
        let report = sync.commit().unwrap();
        assert!(report.incremental);
        assert_eq!(report.items, 9);

        // The same final content, written by a full run elsewhere.
        let mut all: Vec<UnifiedContent> = base
            .iter()
            .filter(|i| i.id != gone.id && i.id != mug.id)
            .cloned()
            .collect();
        all.push(mug.clone());
        all.push(fresh.clone());
        let full = dir.path().join("full");
        run(name, options(&full), &all).unwrap();
        assert_eq!(
            tree(&out),
            tree(&full),
            "{name}: incremental differs from full"
        );

        let after = mtimes(&out);
        let touched: Vec<&String> = after
            .iter()
            .filter(|(rel, t)| times.get(*rel) != Some(t))
            .map(|(rel, _)| rel)
            .collect();
        let removed: Vec<&String> = times
            .keys()
            .filter(|rel| !after.contains_key(*rel))
            .collect();
        let expected: (Vec<&str>, Vec<&str>) = match name {
            "eleventy" => (vec!["articles.json", "products.json"], vec![]),
            "astro" => (
                vec!["products/ceramic-mug.json", "products/new-cap.json"],
                vec!["articles/first-harvest.json"],
            ),
            _ => (
                vec![
                    "articles.json",
                    "products.json",
                    "products/ceramic-mug.json",
                    "products/new-cap.json",
                ],
                vec!["articles/first-harvest.json"],
            ),
        };
        assert_eq!(touched, expected.0, "{name}: files touched");
        // The previous run's items stay where they are; only the three received are written,
        // into a new segment. The index and the file list get a delta; their bases stay.
        let state_after = mtimes(&state);
        for base in ["index.jsonl", "files.txt"] {
            assert_eq!(
                state_before.get(base),
                state_after.get(base),
                "{name}: {base}"
            );
        }
        assert_eq!(deltas(&out), (1, usize::from(name != "eleventy")), "{name}");
        let delta = std::fs::read_to_string(state.join("index.0.jsonl")).unwrap();
        // The two received items' lines and the tombstone of the third.
        assert_eq!(delta.lines().count(), 3, "{name}: {delta}");
        let segments: Vec<&String> = state_after
            .keys()
            .filter(|f| f.starts_with("items-"))
            .collect();
        assert_eq!(segments.len(), 2, "{name}: {segments:?}");
        let (old, new) = (segments[0], segments[1]);
        assert_eq!(
            state_before.get(old),
            state_after.get(old),
            "{name}: {old} kept"
        );
        let received = std::fs::read_to_string(state.join(new)).unwrap();
        assert_eq!(received.lines().count(), 3, "{name}: {new}");
        assert_eq!(removed, expected.1, "{name}: files removed");
        assert_eq!(report.files_removed, expected.1.len(), "{name}");
        assert_eq!(report.files_written, expected.0.len(), "{name}");
    }
}

#[test]
fn incremental_without_state_falls_back_to_full() {
    let dir = tempfile::tempdir().unwrap();
    let mut opts = options(&dir.path().join("out"));
    opts.mode = Mode::Incremental;
    let sync = SyncRun::begin(engine("astro").unwrap(), opts).unwrap();
    assert!(!sync.is_incremental());
    assert_eq!(sync.changes_since(), None);
}

fn with_slug(base: &UnifiedContent, id: &str, slug: &str) -> UnifiedContent {
    let mut item = base.clone();
    item.id = id.into();
    item.slug = slug.into();
    item
}

#[test]
fn no_slug_writes_outside_the_output_folder() {
    let base = fixture()[1].clone();
    let cases = [
        ("dots", "../../escaped", "escaped"),
        ("absolute", "/etc/passwd", "etc-passwd"),
        (
            "backslashes",
            "..\\..\\windows\\system32",
            "windows-system32",
        ),
        ("nul", "nul\0byte", "nul-byte"),
        ("look-alike", "\u{ff0e}\u{ff0e}\u{ff0f}ｅｖｉｌ", "evil"),
        ("only-dots", "..", "item"),
        ("upper", "Mixed Case", "mixed-case"),
    ];
    for name in ["astro", "next"] {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("site").join("out");
        let items: Vec<UnifiedContent> = cases
            .iter()
            .map(|(id, slug, _)| with_slug(&base, id, slug))
            .collect();
        let report = run(name, options(&out), &items).unwrap();
        assert_eq!(report.warnings.len(), cases.len(), "{:?}", report.warnings);
        for (id, _, safe) in cases {
            let path = out.join(format!("products/{safe}.json"));
            let text =
                std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{id}: {path:?}: {e}"));
            assert!(text.contains(&format!("\"slug\": \"{safe}\"")), "{id}");
        }
        // Nothing but the output folder exists beside it, and nothing above it.
        assert_eq!(
            siblings(&dir.path().join("site")),
            vec![".content-fetch", "out"]
        );
        assert_eq!(siblings(dir.path()), vec!["site"]);
        assert_eq!(tree(&out.join("products")).len(), cases.len());

        for (id, slug, safe) in cases {
            let mut opts = options(&dir.path().join("strict"));
            opts.strict = true;
            let err = run(name, opts, &[with_slug(&base, id, slug)]).unwrap_err();
            match err {
                WriteError::UnsafeSlug {
                    item_id, safe: s, ..
                } => {
                    assert_eq!((item_id.as_str(), s.as_str()), (id, safe))
                }
                other => panic!("{id}: {other}"),
            }
        }
    }
}

#[test]
fn duplicate_slugs_get_a_stable_suffix_or_fail_under_strict() {
    let base = fixture()[1].clone();
    let items = vec![
        with_slug(&base, "b-second", "tee"),
        with_slug(&base, "a-first", "tee"),
    ];
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let report = run("astro", options(&out), &items).unwrap();
    assert_eq!(report.warnings.len(), 1);
    assert!(
        report.warnings[0].contains("'a-first' and 'b-second'"),
        "{:?}",
        report.warnings
    );
    let files: Vec<String> = tree(&out.join("products")).into_keys().collect();
    assert_eq!(files.len(), 2);
    assert_eq!(files[1], "tee.json", "the smallest id keeps the slug");
    assert!(
        files[0].starts_with("tee-") && files[0].len() == "tee-12345678.json".len(),
        "{files:?}"
    );
    let second = std::fs::read_to_string(out.join("products").join(&files[0])).unwrap();
    assert!(second.contains("\"id\": \"b-second\""));

    let mut opts = options(&dir.path().join("strict"));
    opts.strict = true;
    let err = run("astro", opts, &items).unwrap_err();
    assert!(matches!(err, WriteError::DuplicateSlug { .. }), "{err}");
    assert!(err.to_string().contains("without strict checks"), "{err}");
}

#[test]
fn output_folder_must_be_a_named_folder() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("file");
    std::fs::write(&file, "x").unwrap();
    for out in [PathBuf::new(), file, PathBuf::from("/")] {
        let err = SyncRun::begin(engine("astro").unwrap(), options(&out))
            .err()
            .unwrap();
        assert!(
            matches!(err, WriteError::OutputFolder { .. }),
            "{out:?}: {err}"
        );
    }
    let err = engine("hugo").err().unwrap();
    assert_eq!(
        err.to_string(),
        "unknown engine 'hugo'; use one of: eleventy, astro, next"
    );
}

/// What the state folder of an output holds between runs.
const STATE_FILES: [&str; 5] = [
    "files.txt",
    "index.jsonl",
    "items-<n>.jsonl",
    "lock",
    "state.json",
];

/// The names in the state folder of `out`, segment and delta numbers left out.
fn state_files(out: &Path) -> Vec<String> {
    let mut names: Vec<String> = siblings(&ssg_writers::state_dir(out))
        .into_iter()
        .map(|n| match () {
            () if n.starts_with("items-") => "items-<n>.jsonl".into(),
            () if numbered(&n, "index.", ".jsonl") => "index.<n>.jsonl".into(),
            () if numbered(&n, "files.", ".txt") => "files.<n>.txt".into(),
            () => n,
        })
        .collect();
    names.dedup();
    names
}

/// Names in `dir`, sorted.
fn siblings(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn a_template_dir_overrides_and_adds_templates_and_incremental_follows_it() {
    let dir = tempfile::tempdir().unwrap();
    let templates = dir.path().join("templates");
    std::fs::create_dir_all(templates.join("next")).unwrap();
    std::fs::create_dir_all(templates.join("parts")).unwrap();
    // An override that includes an added template.
    std::fs::write(
        templates.join("next/entry.json"),
        "{% include \"parts/slim.json\" %}\n",
    )
    .unwrap();
    std::fs::write(
        templates.join("parts/slim.json"),
        "{{ item | pick([\"id\", \"slug\", \"title\", \"price\"]) | json }}",
    )
    .unwrap();

    let out = dir.path().join("out");
    run("next", options(&out), &fixture()).unwrap();
    let mut opts = options(&out);
    opts.template_dir = Some(templates.clone());
    opts.mode = Mode::Incremental;
    let report = run("next", opts, &[]).unwrap();
    assert!(report.incremental);
    let mug = std::fs::read_to_string(out.join("products/ceramic-mug.json")).unwrap();
    assert_eq!(
        mug,
        "{\n  \"id\": \"gid://shopify/Product/8123456789012345\",\n  \"price\": {\n    \"amount\": 29.99,\n    \"compare_at_amount\": 34.9,\n    \"currency_code\": \"EUR\"\n  },\n  \"slug\": \"ceramic-mug\",\n  \"title\": \"Ceramic Mug\"\n}\n"
    );

    let full = dir.path().join("full");
    let mut opts = options(&full);
    opts.template_dir = Some(templates);
    run("next", opts, &fixture()).unwrap();
    assert_eq!(tree(&out), tree(&full));

    let broken = dir.path().join("broken");
    std::fs::create_dir_all(broken.join("next")).unwrap();
    std::fs::write(broken.join("next/entry.json"), "{% if %}").unwrap();
    let mut opts = options(&dir.path().join("never"));
    opts.template_dir = Some(broken.clone());
    let err = run("next", opts, &fixture()).unwrap_err();
    assert!(
        matches!(err, WriteError::TemplateSyntax { ref path, .. } if path == &broken.join("next/entry.json")),
        "{err}"
    );
}

#[test]
fn a_suffixed_slug_never_overwrites_another_items_file() {
    let base = fixture()[1].clone();
    let dir = tempfile::tempdir().unwrap();
    let pair = vec![with_slug(&base, "a", "tee"), with_slug(&base, "b", "tee")];
    let out = dir.path().join("out");
    run("astro", options(&out), &pair).unwrap();
    let suffixed = tree(&out.join("products"))
        .into_keys()
        .find(|f| f != "tee.json")
        .unwrap();
    let before = tree(&out);

    // A third item whose own slug is the second one's suffixed slug.
    let mut three = pair.clone();
    three.push(with_slug(&base, "c", suffixed.trim_end_matches(".json")));
    let err = run("astro", options(&out), &three).unwrap_err();
    assert!(
        err.to_string().contains("two items map to this file"),
        "{err}"
    );
    assert_eq!(tree(&out), before);
}

#[test]
fn the_newest_version_of_an_id_wins_within_a_run() {
    let base = fixture()[1].clone();
    let mut newer = base.clone();
    newer.title = "Newer Tee".into();
    newer.slug = "newer-tee".into();
    newer.updated_at = "2026-05-01T00:00:00Z".parse().unwrap();
    let mut gone = fixture()[2].clone();
    let kept = gone.clone();
    gone.status = ContentStatus::Deleted;
    gone.updated_at = "2026-05-01T00:00:00Z".parse().unwrap();

    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    // Newer before older, and a tombstone after the item it deletes.
    let report = run("astro", options(&out), &[newer, base, kept, gone]).unwrap();
    assert_eq!((report.received, report.items), (4, 1));
    let files: Vec<String> = tree(&out.join("products")).into_keys().collect();
    assert_eq!(files, vec!["newer-tee.json"]);
}

#[test]
fn incremental_runs_keep_suffixed_duplicates_equal_to_a_full_run() {
    let base = fixture()[1].clone();
    let items = vec![with_slug(&base, "a", "tee"), with_slug(&base, "b", "tee")];
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    run("next", options(&out), &items).unwrap();

    let mut change = with_slug(&base, "c", "cap");
    change.updated_at = "2026-06-01T00:00:00Z".parse().unwrap();
    let mut opts = options(&out);
    opts.mode = Mode::Incremental;
    let report = run("next", opts, std::slice::from_ref(&change)).unwrap();
    assert!(report.incremental);
    assert_eq!(report.warnings.len(), 1, "{:?}", report.warnings);

    let full = dir.path().join("full");
    let mut all = items.clone();
    all.push(change);
    run("next", options(&full), &all).unwrap();
    assert_eq!(tree(&out), tree(&full));
}

/// Writes each (relative path, text) under `dir`.
fn plant(dir: &Path, files: &[(&str, &str)]) {
    for (rel, text) in files {
        let path = dir.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
}

/// Files to plant: (relative path, text).
type Files = &'static [(&'static str, &'static str)];

/// What users point `--out` at by mistake: a git checkout, Eleventy's `_data`, Astro's
/// `src/content`, as (engine, folder, files in it).
const FOREIGN: [(&str, &str, Files); 3] = [
    (
        "eleventy",
        "site",
        &[
            ("README.md", "# My site\n"),
            ("node_modules/@11ty/eleventy/package.json", "{}\n"),
            (".git/HEAD", "ref: refs/heads/main\n"),
            ("index.njk", "{{ fetched.products | length }}\n"),
        ],
    ),
    (
        "eleventy",
        "_data",
        &[("site.json", "{\"title\": \"My site\"}\n")],
    ),
    (
        "astro",
        "src/content",
        &[
            ("blog/first.md", "---\ntitle: First\n---\nHello\n"),
            ("blog/second.md", "---\ntitle: Second\n---\nAgain\n"),
        ],
    ),
];

#[test]
fn a_first_run_refuses_a_folder_of_someone_elses_files_and_deletes_nothing() {
    for (name, rel, files) in FOREIGN {
        for mode in [Mode::Full, Mode::Incremental] {
            let dir = tempfile::tempdir().unwrap();
            let out = dir.path().join(rel);
            plant(&out, files);
            let before = tree(dir.path());
            let mut opts = options(&out);
            opts.mode = mode;
            let err = run(name, opts, &fixture()).unwrap_err();
            assert!(
                matches!(&err, WriteError::ForeignOutput { path, .. } if path == &out),
                "{name} {rel}: {err}"
            );
            let message = err.to_string();
            assert!(message.contains(&out.display().to_string()), "{message}");
            assert!(
                !message.contains("--"),
                "no CLI flags in a library: {message}"
            );
            assert_eq!(
                tree(dir.path()),
                before,
                "{name} {rel}: nothing deleted or added"
            );
        }
    }
}

#[test]
fn force_moves_someone_elses_files_aside_into_a_timestamped_folder() {
    for (name, rel, files) in FOREIGN {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join(rel);
        plant(&out, files);
        let planted = tree(&out);
        let mut opts = options(&out);
        opts.force = true;
        let mut sync = SyncRun::begin(engine(name).unwrap(), opts).unwrap();
        let aside = sync.moved_aside().expect("files were moved").to_path_buf();
        sync.add_page(fixture()).unwrap();
        sync.commit().unwrap();

        assert_eq!(aside.parent(), out.parent());
        let aside_name = aside.file_name().unwrap().to_string_lossy().into_owned();
        let prefix = format!(
            "{}.content-fetch-moved-",
            out.file_name().unwrap().to_string_lossy()
        );
        assert!(aside_name.starts_with(&prefix), "{aside_name}");
        assert_eq!(
            tree(&aside),
            planted,
            "{name} {rel}: every file kept, aside"
        );
        let fresh = dir.path().join("fresh");
        run(name, options(&fresh), &fixture()).unwrap();
        assert_eq!(tree(&out), tree(&fresh), "{name} {rel}");
    }
}

#[test]
fn runs_remove_only_files_that_earlier_runs_wrote() {
    for name in ssg_writers::engine_names() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        run(name, options(&out), &fixture()).unwrap();
        // The user adds files to the folder after the first run.
        let own = [
            ("notes.txt", "mine\n"),
            ("products/hand-made.json", "{\"id\": \"mine\"}\n"),
        ];
        plant(&out, &own);

        let mut fewer = fixture();
        let dropped = fewer.remove(0);
        run(name, options(&out), &fewer).unwrap();
        let mut gone = fewer[0].clone();
        gone.status = ContentStatus::Deleted;
        gone.updated_at = "2026-03-01T00:00:00Z".parse().unwrap();
        gone.synced_at = "2026-03-01T00:00:05Z".parse().unwrap();
        let mut opts = options(&out);
        opts.mode = Mode::Incremental;
        run(name, opts, &[gone]).unwrap();

        let after = tree(&out);
        for (rel, text) in own {
            assert_eq!(
                after.get(rel).map(Vec::as_slice),
                Some(text.as_bytes()),
                "{name}: {rel}"
            );
        }
        if name != "eleventy" {
            assert!(
                !after.contains_key(&format!("products/{}.json", dropped.slug)),
                "{name}"
            );
        }
    }
}

#[test]
fn a_second_run_into_one_folder_waits_for_the_lock_or_is_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    run("astro", options(&out), &fixture()).unwrap();
    let mut changed = fixture();
    changed[0].title = "Changed".into();

    let mut first = SyncRun::begin(engine("astro").unwrap(), options(&out)).unwrap();
    let err = SyncRun::begin(engine("astro").unwrap(), options(&out))
        .err()
        .unwrap();
    let pid = std::process::id();
    assert!(
        matches!(err, WriteError::Locked { pid: Some(p), .. } if p == pid),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        format!(
            "another content-fetch run (pid {pid}) holds {}",
            out.display()
        )
    );

    // A run that may wait goes on once the first one is done, and builds on its output.
    let waiting = std::thread::spawn({
        let (out, changed) = (out.clone(), changed.clone());
        move || {
            let mut opts = options(&out);
            opts.wait_lock = Some(std::time::Duration::from_secs(60));
            run("astro", opts, &changed)
        }
    });
    std::thread::sleep(std::time::Duration::from_millis(300));
    first.add_page(fixture()).unwrap();
    first.commit().unwrap();
    waiting.join().unwrap().unwrap();
    let expected = dir.path().join("expected");
    run("astro", options(&expected), &changed).unwrap();
    assert_eq!(tree(&out), tree(&expected));

    // Many at once, half of them waiting: each one is correct or cleanly refused.
    let runs: Vec<_> = (0..6)
        .map(|i| {
            let out = out.clone();
            std::thread::spawn(move || {
                let mut opts = options(&out);
                opts.mode = if i % 3 == 0 {
                    Mode::Incremental
                } else {
                    Mode::Full
                };
                opts.wait_lock = (i % 2 == 0).then(|| std::time::Duration::from_secs(60));
                run("next", opts, &fixture())
            })
        })
        .collect();
    let mut refused = 0;
    for handle in runs {
        match handle.join().unwrap() {
            Ok(_) => {}
            Err(WriteError::Locked { .. }) => refused += 1,
            Err(other) => panic!("{other}"),
        }
    }
    assert!(refused <= 3, "only runs that may not wait are refused");
    let expected = dir.path().join("expected-next");
    run("next", options(&expected), &fixture()).unwrap();
    assert_eq!(tree(&out), tree(&expected));
    assert_eq!(
        siblings(dir.path()),
        vec![".content-fetch", "expected", "expected-next", "out"]
    );
    // The last run may have been incremental and left deltas.
    let mut files = state_files(&out);
    files.retain(|n| !n.contains(".<n>."));
    assert_eq!(files, STATE_FILES);
}

#[test]
fn of_two_versions_with_one_updated_at_the_later_synced_at_wins() {
    let base = fixture()[1].clone();
    let mut later = base.clone();
    later.title = "Stored later".into();
    later.synced_at = "2026-06-01T00:01:00Z".parse().unwrap();
    let mut base = base;
    base.synced_at = "2026-06-01T00:00:00Z".parse().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    // The later-stored version arrives first: `Version` orders by synced_at on a tie.
    run("astro", options(&out), &[later, base.clone()]).unwrap();
    let text = std::fs::read_to_string(out.join(format!("products/{}.json", base.slug))).unwrap();
    assert!(text.contains("\"title\": \"Stored later\""), "{text}");
}

#[test]
fn a_chain_of_incremental_runs_equals_a_full_run_and_drops_segments_nothing_uses() {
    let base = fixture();
    for name in ssg_writers::engine_names() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        run(name, options(&out), &base).unwrap();
        let mut current: Vec<UnifiedContent> = base.clone();
        let steps: Vec<Vec<UnifiedContent>> = {
            let mut first = base[0].clone();
            first.title = "First change".into();
            first.updated_at = "2026-03-01T00:00:00Z".parse().unwrap();
            let mut again = first.clone();
            again.title = "Second change".into();
            again.updated_at = "2026-03-02T00:00:00Z".parse().unwrap();
            let mut gone = base[2].clone();
            gone.status = ContentStatus::Deleted;
            gone.updated_at = "2026-03-02T00:00:00Z".parse().unwrap();
            // A new item onto an existing slug: the pair is suffixed.
            let twin = with_slug(&base[1], "aaa-twin", &base[1].slug);
            vec![vec![first], vec![again, gone, twin]]
        };
        for step in steps {
            incremental_equals_full(name, dir.path(), &mut current, step);
        }
        // The first incremental run's segment held only the item the second one replaced.
        let segments: Vec<String> = siblings(&ssg_writers::state_dir(&out))
            .into_iter()
            .filter(|n| n.starts_with("items-"))
            .collect();
        assert_eq!(segments, vec!["items-0.jsonl", "items-2.jsonl"], "{name}");
    }
}

/// `item` as an item of the first other content type.
fn retyped(item: &UnifiedContent) -> UnifiedContent {
    let mut item = item.clone();
    item.content_type = unified_content::ContentType::ALL
        .into_iter()
        .find(|t| *t != item.content_type)
        .unwrap();
    item
}

#[test]
fn an_item_leaving_its_type_rewrites_that_types_files_as_a_full_run_does() {
    // The types an incremental run rewrites are those of what it received, and those its
    // items or tombstones left: only the previous index says which those are.
    let base = fixture();
    for name in ssg_writers::engine_names() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        run(name, options(&out), &base).unwrap();
        let mut current: Vec<UnifiedContent> = base.clone();
        let at = |item: &mut UnifiedContent, when: &str| {
            item.updated_at = when.parse().unwrap();
            item.synced_at = item.updated_at;
        };
        let mut first = base[0].clone();
        first.title = "First change".into();
        at(&mut first, "2026-03-01T00:00:00Z");
        let mut moved = retyped(&base[3]);
        at(&mut moved, "2026-03-01T00:00:00Z");
        // Over a delta: an item moves type, and a tombstone comes under another type than
        // the item it removes.
        let mut leaving = retyped(&base[1]);
        at(&mut leaving, "2026-03-02T00:00:00Z");
        let mut gone = retyped(&base[2]);
        gone.status = ContentStatus::Deleted;
        at(&mut gone, "2026-03-02T00:00:00Z");
        for step in [vec![first, moved], vec![leaving, gone]] {
            incremental_equals_full(name, dir.path(), &mut current, step);
        }
    }
}

#[test]
fn an_incremental_run_reads_none_of_the_unchanged_items() {
    let base = fixture();
    for name in ssg_writers::engine_names() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        run(name, options(&out), &base).unwrap();
        // Every item of the previous run is now unreadable: a run that read one would fail.
        let state = ssg_writers::state_dir(&out);
        std::fs::write(state.join("items-0.jsonl"), "").unwrap();

        let mut changed = base[0].clone();
        changed.title = "Changed".into();
        changed.updated_at = "2026-03-01T00:00:00Z".parse().unwrap();
        let mut opts = options(&out);
        opts.mode = Mode::Incremental;
        let report = run(name, opts, std::slice::from_ref(&changed)).unwrap();
        assert!(report.incremental, "{name}");

        let mut all = base.clone();
        all[0] = changed;
        let full = dir.path().join("full");
        run(name, options(&full), &all).unwrap();
        assert_eq!(tree(&out), tree(&full), "{name}");
    }
}

#[test]
fn a_plain_json_template_writes_the_bytes_the_json_filter_writes() {
    // The built-in `{{ item | json }}` and `{{ item | pick(summary_fields) | json }}`
    // templates are written by serde_json directly; the same templates with a comment added go
    // through minijinja and its `pick` and `json` filters.
    let builtin = Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
    let dir = tempfile::tempdir().unwrap();
    let templates = dir.path().join("templates");
    let mut overridden = 0;
    for (rel, bytes) in tree(&builtin) {
        let source = String::from_utf8(bytes).unwrap();
        let body = source.trim_end();
        if body == "{{ item | json }}" || body == "{{ item | pick(summary_fields) | json }}" {
            let path = templates.join(&rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            let slow = source.replace("| json }}", "| json }}{# filter #}");
            std::fs::write(path, slow).unwrap();
            overridden += 1;
        }
    }
    assert!(overridden >= 4, "{overridden}");
    for name in ssg_writers::engine_names() {
        let fast = dir.path().join(format!("{name}-fast"));
        run(name, options(&fast), &fixture()).unwrap();
        let slow = dir.path().join(format!("{name}-slow"));
        let mut opts = options(&slow);
        opts.template_dir = Some(templates.clone());
        run(name, opts, &fixture()).unwrap();
        assert_eq!(tree(&fast), tree(&slow), "{name}");
    }
}

#[test]
fn an_incremental_run_writes_again_the_files_removed_from_the_output() {
    let base = fixture();
    for name in ssg_writers::engine_names() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        run(name, options(&out), &base).unwrap();
        let expected = tree(&out);
        // Every other output file goes (the state folder's stay): entry files and lists.
        let removed: Vec<&String> = expected
            .keys()
            .filter(|rel| !rel.starts_with('.'))
            .step_by(2)
            .collect();
        assert!(!removed.is_empty(), "{name}");
        for rel in &removed {
            std::fs::remove_file(out.join(rel)).unwrap();
        }

        let mut opts = options(&out);
        opts.mode = Mode::Incremental;
        let report = run(name, opts, &[]).unwrap();
        assert!(report.incremental, "{name}");
        assert_eq!(report.files_written, removed.len(), "{name}: {report:?}");
        assert_eq!(tree(&out), expected, "{name}");
    }
}

#[test]
fn warnings_and_the_first_error_come_in_output_order_whatever_the_render_threads() {
    // Far more items than one batch of the render window, so that several threads render
    // them; they arrive in reverse output order.
    let base = fixture()[1].clone();
    let item = |i: usize, safe: bool| {
        let slug = match safe {
            true => format!("slug-{i:03}"),
            false => format!("Slug {i:03}"),
        };
        with_slug(&base, &format!("item-{i:03}"), &slug)
    };
    let dir = tempfile::tempdir().unwrap();
    let items: Vec<UnifiedContent> = (0..300).rev().map(|i| item(i, false)).collect();
    let report = run("astro", options(&dir.path().join("out")), &items).unwrap();
    let warned: Vec<&str> = report
        .warnings
        .iter()
        .map(|w| w.split('\'').nth(1).unwrap())
        .collect();
    let expected: Vec<String> = (0..300).map(|i| format!("item-{i:03}")).collect();
    assert_eq!(warned, expected);

    // Under strict, two items of different batches fail: the run names the first.
    let items: Vec<UnifiedContent> = (0..300)
        .rev()
        .map(|i| item(i, i != 40 && i != 20))
        .collect();
    let mut opts = options(&dir.path().join("strict"));
    opts.strict = true;
    match run("astro", opts, &items).unwrap_err() {
        WriteError::UnsafeSlug { item_id, .. } => assert_eq!(item_id, "item-020"),
        other => panic!("{other}"),
    }
}

/// The index and file-list deltas in the state folder of `out`, by kind: (index, files).
fn deltas(out: &Path) -> (usize, usize) {
    let names = siblings(&ssg_writers::state_dir(out));
    let count =
        |prefix: &str, suffix: &str| names.iter().filter(|n| numbered(n, prefix, suffix)).count();
    (count("index.", ".jsonl"), count("files.", ".txt"))
}

/// Whether `name` is `<prefix><number><suffix>`: a delta's name.
fn numbered(name: &str, prefix: &str, suffix: &str) -> bool {
    name.strip_prefix(prefix)
        .and_then(|rest| rest.strip_suffix(suffix))
        .is_some_and(|number| number.parse::<u32>().is_ok())
}

/// Runs `step` incrementally into `dir/out`, applies it to `current`, and asserts that the
/// output equals a full run of `current` into `dir/full`.
fn incremental_equals_full(
    name: &str,
    dir: &Path,
    current: &mut Vec<UnifiedContent>,
    step: Vec<UnifiedContent>,
) {
    let out = dir.join("out");
    let mut opts = options(&out);
    opts.mode = Mode::Incremental;
    assert!(run(name, opts, &step).unwrap().incremental, "{name}");
    apply_changes(current, step);
    let full = dir.join("full");
    std::fs::remove_dir_all(&full).ok();
    std::fs::remove_dir_all(ssg_writers::state_dir(&full)).ok();
    run(name, options(&full), current).unwrap();
    assert_eq!(tree(&out), tree(&full), "{name}");
}

/// `current` after a run of `changes`: each changed item replaces its id's, a deleted one
/// goes.
fn apply_changes(current: &mut Vec<UnifiedContent>, changes: Vec<UnifiedContent>) {
    for item in changes {
        current.retain(|i| i.id != item.id);
        if !item.is_deleted() {
            current.push(item);
        }
    }
}

/// The bytes and modification time of a file, to tell whether a run wrote it again.
fn stamp(path: &Path) -> (Vec<u8>, SystemTime) {
    let time = std::fs::metadata(path).unwrap().modified().unwrap();
    (std::fs::read(path).unwrap(), time)
}

/// 80 items of every type under their own ids and slugs.
fn catalogue() -> Vec<UnifiedContent> {
    let base = fixture();
    (0..80)
        .map(|i| {
            let mut item = with_slug(&base[i % base.len()], &format!("id-{i:02}"), "");
            item.slug = format!("item-{i:02}");
            item.updated_at = "2026-02-01T00:00:00Z".parse().unwrap();
            item
        })
        .collect()
}

/// The changes of incremental run `step` over [`catalogue`]: item 0 every time (an item
/// changed in delta after delta), a slug change, a tombstone of an item of the base, a new
/// item; step 20 changes 70 items at once.
fn step_changes(step: usize, current: &[UnifiedContent]) -> Vec<UnifiedContent> {
    let when: unified_content::Timestamp =
        format!("2026-03-01T00:{:02}:00Z", step).parse().unwrap();
    let find = |id: &str| current.iter().find(|i| i.id == id).cloned();
    let mut changes = Vec::new();
    let mut push = |mut item: UnifiedContent| {
        item.updated_at = when;
        item.synced_at = when;
        changes.push(item);
    };
    if let Some(mut first) = find("id-00") {
        first.title = format!("Changed in step {step}");
        push(first);
    }
    if step.is_multiple_of(3)
        && let Some(mut moved) = find(&format!("id-{:02}", 1 + step % 70))
    {
        moved.slug = format!("moved-{step}");
        push(moved);
    }
    if step % 4 == 1
        && let Some(mut gone) = find(&format!("id-{:02}", 79 - step))
    {
        gone.status = ContentStatus::Deleted;
        push(gone);
    }
    if step % 5 == 2 {
        let base = fixture();
        let mut fresh = with_slug(&base[step % base.len()], &format!("new-{step}"), "");
        fresh.slug = format!("new-{step}");
        push(fresh);
    }
    if step == 20 {
        for item in current.iter().skip(1).take(70) {
            let mut item = item.clone();
            item.title = format!("Bulk change {}", item.id);
            push(item);
        }
    }
    changes
}

#[test]
fn many_incremental_runs_write_deltas_compact_them_and_equal_full_runs() {
    for name in ssg_writers::engine_names() {
        let dir = tempfile::tempdir().unwrap();
        let (out, full) = (dir.path().join("out"), dir.path().join("full"));
        let state = ssg_writers::state_dir(&out);
        let mut current = catalogue();
        run(name, options(&out), &current).unwrap();
        let (mut most, mut compactions) = (0, Vec::new());
        for step in 0..56 {
            let changes = step_changes(step, &current);
            let (index, files) = (
                stamp(&state.join("index.jsonl")),
                stamp(&state.join("files.txt")),
            );
            let before = deltas(&out);
            let mut opts = options(&out);
            opts.mode = Mode::Incremental;
            let report = run(name, opts, &changes).unwrap();
            assert!(report.incremental, "{name} {step}");
            apply_changes(&mut current, changes);
            // Around each compaction, and now and then between them.
            if step.is_multiple_of(6) || (19..=21).contains(&step) || step >= 52 {
                std::fs::remove_dir_all(&full).ok();
                std::fs::remove_dir_all(ssg_writers::state_dir(&full)).ok();
                run(name, options(&full), &current).unwrap();
                assert_eq!(tree(&out), tree(&full), "{name} {step}");
            }

            // A run that added a delta wrote neither base; one that compacted removed them all.
            let after = deltas(&out);
            if after.0 > before.0 {
                assert_eq!(stamp(&state.join("index.jsonl")), index, "{name} {step}");
            } else {
                assert_eq!(after.0, 0, "{name} {step}: {before:?} -> {after:?}");
                compactions.push(step);
            }
            if after.1 > before.1 {
                assert_eq!(stamp(&state.join("files.txt")), files, "{name} {step}");
            }
            assert!(after.0 <= 33 && after.1 <= 33, "{name} {step}: {after:?}");
            most = most.max(after.0);
        }
        assert!(
            most > 10,
            "{name}: deltas pile up between compactions ({most})"
        );
        // The bulk step's entries, and later the count of deltas, each called for one.
        assert_eq!(compactions, [20, 53], "{name}: compactions");
    }
}

#[test]
fn a_failed_or_killed_run_over_deltas_leaves_them_and_the_next_run_builds_on_them() {
    for name in ssg_writers::engine_names() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let state = ssg_writers::state_dir(&out);
        let mut current = catalogue();
        run(name, options(&out), &current).unwrap();
        let incremental = || {
            let mut opts = options(&out);
            opts.mode = Mode::Incremental;
            opts
        };
        for step in 0..3 {
            let changes = step_changes(step, &current);
            run(name, incremental(), &changes).unwrap();
            apply_changes(&mut current, changes);
        }
        assert!(deltas(&out).0 >= 2, "{name}: {:?}", deltas(&out));
        let (output, saved) = (tree(&out), tree(&state));

        // A fetch that fails half-way, and a run killed before its commit.
        let changes = step_changes(3, &current);
        let mut sync = SyncRun::begin(engine(name).unwrap(), incremental()).unwrap();
        sync.add_page(changes.clone()).unwrap();
        drop(sync);
        assert_eq!(tree(&out), output, "{name}");
        assert_eq!(tree(&state), saved, "{name}");
        plant(
            &dir.path().join(".out.content-fetch-staging-4242-1a2b"),
            &[("products/item-00.json", "{\n")],
        );
        plant(
            &state.join("run-4242-1a2b"),
            &[("index.9.jsonl", "[\n"), ("files.9.txt", "+x\n")],
        );

        run(name, incremental(), &changes).unwrap();
        apply_changes(&mut current, changes);
        let full = dir.path().join("full");
        run(name, options(&full), &current).unwrap();
        assert_eq!(tree(&out), tree(&full), "{name}");
        assert_eq!(siblings(dir.path()), vec![".content-fetch", "full", "out"]);
        assert!(
            !siblings(&state).iter().any(|n| n.starts_with("run-")),
            "{name}"
        );

        // A full run writes new bases and removes every delta.
        run(name, options(&out), &current).unwrap();
        assert_eq!(deltas(&out), (0, 0), "{name}");
        assert_eq!(tree(&out), tree(&full), "{name}");
    }
}

/// A file-list delta that does not parse stops every run, full ones too (the list says which
/// files runs may replace or delete): the error names the file and does not advise the full
/// sync that would fail the same way (it did before).
#[test]
fn a_damaged_file_list_delta_stops_full_runs_too_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    run("astro", options(&out), &fixture()).unwrap();
    let delta = ssg_writers::state_dir(&out).join("files.0.txt");
    std::fs::write(&delta, "products/x.json\n").unwrap();
    let before = tree(&out);
    for mode in [Mode::Incremental, Mode::Full] {
        let mut opts = options(&out);
        opts.mode = mode;
        let message = run("astro", opts, &fixture()).unwrap_err().to_string();
        assert!(message.contains(&delta.display().to_string()), "{message}");
        assert!(!message.contains("full sync"), "{mode:?}: {message}");
        assert_eq!(tree(&out), before, "{mode:?}");
    }
}
