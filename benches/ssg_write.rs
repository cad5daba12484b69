//! Fetch + write throughput of every engine writer against a loopback content API.
//!
//! `cargo bench --bench ssg_write [-- N]` (or `BENCH_ITEMS=N`; default 100,000). An axum server
//! on 127.0.0.1 generates N items of mixed types and realistic sizes lazily, page by page,
//! and the real fetch client reads them. Each engine runs in its own child process, so the
//! peak RSS printed (VmHWM, server included) is that engine's alone. After the full run one
//! item changes and an incremental run shows the seconds and files it touched.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use aws_credential_types::Credentials;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use content_fetch::{
    AwsAccess, ClientOptions, ContentClient, ContentSource, FetchOptions, FetchSummary,
    parse_endpoint,
};
use ssg_writers::{Mode, RunReport, SyncRun, WriteOptions};
use unified_content::api::{ContentPage, ContentQuery};
use unified_content::{
    ContentStatus, ContentType, Inventory, InventoryPolicy, MediaAsset, Price, ProductVariant,
    ProviderType, SeoMetadata, Timestamp, UnifiedContent,
};

const DEFAULT_ITEMS: usize = 100_000;
/// The item that changes before the incremental run.
const CHANGED: usize = 7;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let count = args
        .iter()
        .find_map(|a| a.parse::<usize>().ok())
        .or_else(|| std::env::var("BENCH_ITEMS").ok()?.parse().ok())
        .unwrap_or(DEFAULT_ITEMS);
    if let Some(pos) = args.iter().position(|a| a == "--child") {
        child(&args[pos + 1], count);
        return;
    }
    println!("ssg_write: {count} items from a loopback content API, one process per engine");
    let exe = std::env::current_exe().expect("the bench knows its own path");
    for engine in ssg_writers::engine_names() {
        let status = std::process::Command::new(&exe)
            .args(["--child", engine, &count.to_string()])
            .status()
            .expect("the bench can run itself");
        assert!(status.success(), "{engine}: {status}");
    }
}

fn child(engine: &str, count: usize) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let catalog = Arc::new(Catalog {
            count,
            changed: AtomicBool::new(false),
        });
        let app = Router::new()
            .route("/content", get(content))
            .with_state(catalog.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

        // tmpfs when there is one, so the figures are the program's, not the disk's.
        let dir = match std::path::Path::new("/dev/shm").is_dir() {
            true => tempfile::tempdir_in("/dev/shm").unwrap(),
            false => tempfile::tempdir().unwrap(),
        };
        let out = dir.path().join("out");
        let started = Instant::now();
        let (report, summary) = sync(engine, &out, Mode::Full, &endpoint).await;
        let full_seconds = started.elapsed().as_secs_f64();
        let seconds = full_seconds;
        assert_eq!(report.items, count);
        println!(
            "{engine:>8} full:        {count} items in {seconds:.2} s = {:.0} items/s, {} pages, \
             {} API bytes, {} files / {} bytes written",
            count as f64 / seconds,
            summary.pages,
            summary.bytes,
            report.files_written,
            report.bytes_written,
        );

        catalog.changed.store(true, Ordering::SeqCst);
        let started = Instant::now();
        let (report, summary) = sync(engine, &out, Mode::Incremental, &endpoint).await;
        let seconds = started.elapsed().as_secs_f64();
        // The newest items of the previous run, within the incremental overlap, come again
        // with the changed one.
        assert!(
            report.incremental && summary.total <= 3,
            "{} fetched",
            summary.total
        );
        println!(
            "{engine:>8} incremental: 1 changed item ({} fetched) in {seconds:.2} s ({:.1}% of the \
             full run), {} files touched ({} bytes), {} unchanged, {} removed",
            summary.total,
            100.0 * seconds / full_seconds,
            report.files_written,
            report.bytes_written,
            report.files_unchanged,
            report.files_removed,
        );
        println!(
            "{engine:>8} peak RSS:    {:.1} MiB",
            peak_rss_kib() as f64 / 1024.0
        );
    });
}

async fn sync(
    engine: &str,
    out: &std::path::Path,
    mode: Mode,
    endpoint: &str,
) -> (RunReport, FetchSummary) {
    let mut options = WriteOptions::new(out);
    options.mode = mode;
    let mut run = SyncRun::begin(ssg_writers::engine(engine).unwrap(), options).unwrap();
    let mut fetch = FetchOptions {
        page_size: Some(1000),
        ..FetchOptions::default()
    };
    if let Some(since) = run.changes_since() {
        fetch.filters.continue_from(since);
    }
    let credentials = Credentials::new("AKIDBENCH", "bench-secret", None, None, "bench");
    let client = ContentClient::new(
        parse_endpoint(endpoint, "bench").unwrap(),
        AwsAccess::new("us-east-1", credentials),
        ClientOptions::default(),
    )
    .unwrap();
    let source = ContentSource::api(client);
    let mut pages = source.pages(&fetch).unwrap();
    while let Some(page) = pages.next_page().await {
        run.add_page(page.unwrap().items).unwrap();
    }
    let summary = pages.summary();
    (run.commit().unwrap(), summary)
}

/// Peak resident set size of this process, from /proc/self/status.
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

struct Catalog {
    count: usize,
    changed: AtomicBool,
}

const LOREM: &str = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua. ";

impl Catalog {
    /// 60% products, 25% articles, 10% pages, 2.5% collections, 2.5% media.
    fn type_of(i: usize) -> ContentType {
        match i % 40 {
            0..=23 => ContentType::Product,
            24..=33 => ContentType::Article,
            34..=37 => ContentType::Page,
            38 => ContentType::Collection,
            _ => ContentType::Media,
        }
    }

    /// Ten minutes apart per item, so that only the newest two fall in the incremental
    /// overlap; the changed item becomes the newest of all. Also the item's `synced_at`.
    fn updated_at(&self, i: usize) -> Timestamp {
        let base: Timestamp = "2026-01-02T00:00:00Z".parse().unwrap();
        let offset = if i == CHANGED && self.changed.load(Ordering::SeqCst) {
            self.count + 1
        } else {
            i
        };
        base + chrono::Duration::minutes(10 * offset as i64)
    }

    fn item(&self, i: usize) -> UnifiedContent {
        let content_type = Self::type_of(i);
        let changed = i == CHANGED && self.changed.load(Ordering::SeqCst);
        let t: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let image = |n: usize| MediaAsset {
            id: format!("img-{i}-{n}"),
            url: format!("https://cdn.example.com/{i}/{n}.jpg"),
            alt_text: Some(format!("Photo {n} of item {i}")),
            width: Some(1200),
            height: Some(800),
            file_size: Some(183_204),
            mime_type: Some("image/jpeg".into()),
        };
        let price = |cents: usize| Price {
            amount: format!("{}.{:02}", cents / 100, cents % 100)
                .parse()
                .unwrap(),
            currency_code: "EUR".into(),
            compare_at_amount: None,
        };
        let is_product = content_type == ContentType::Product;
        let body_len = match content_type {
            ContentType::Article => 24,
            ContentType::Page => 12,
            ContentType::Product => 6,
            _ => 1,
        };
        UnifiedContent {
            id: format!("gid://example/{}/{i}", content_type.as_str()),
            title: format!(
                "{} {i}{}",
                content_type.as_str(),
                if changed { " (changed)" } else { "" }
            ),
            slug: format!("{}-{i}", content_type.as_str()),
            content_type,
            status: ContentStatus::Published,
            description: Some(LOREM.to_string()),
            body: Some(format!("<p>{}</p>", LOREM.repeat(body_len))),
            featured_image: Some(image(0)),
            images: vec![image(0), image(1)],
            price: is_product.then(|| price(499 + i % 20_000)),
            inventory: is_product.then_some(Inventory {
                quantity: (i % 50) as i64 - 5,
                track_quantity: true,
                continue_selling_when_out_of_stock: false,
                inventory_policy: InventoryPolicy::Deny,
            }),
            variants: if is_product {
                (0..2)
                    .map(|v| ProductVariant {
                        id: format!("gid://example/variant/{i}-{v}"),
                        title: ["Small", "Large"][v].into(),
                        sku: Some(format!("SKU-{i}-{v}")),
                        price: price(499 + i % 20_000 + v * 300),
                        inventory: None,
                        options: [("Size".to_string(), ["S", "L"][v].to_string())].into(),
                    })
                    .collect()
            } else {
                Vec::new()
            },
            seo: Some(SeoMetadata {
                meta_title: Some(format!("Item {i}")),
                meta_description: Some(LOREM.into()),
                ..SeoMetadata::default()
            }),
            tags: vec!["bench".into(), format!("group-{}", i % 100)],
            provider_type: if is_product {
                ProviderType::Ecommerce
            } else {
                ProviderType::Cms
            },
            provider_name: if is_product { "shopify" } else { "sanity" }.into(),
            provider_data: Default::default(),
            created_at: t,
            updated_at: self.updated_at(i),
            synced_at: self.updated_at(i),
        }
    }
}

/// `GET /content`: pages generated on demand; the cursor is the next index to scan.
async fn content(
    State(catalog): State<Arc<Catalog>>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Response {
    let query = match ContentQuery::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    {
        Ok(q) => q,
        Err(e) => return (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    };
    let limit = query.effective_limit() as usize;
    let mut i: usize = query
        .cursor
        .as_deref()
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let mut items = Vec::new();
    while i < catalog.count && items.len() < limit {
        if query.content_type.is_none_or(|t| t == Catalog::type_of(i))
            && [query.updated_since, query.synced_since]
                .into_iter()
                .flatten()
                .all(|since| catalog.updated_at(i) >= since)
        {
            items.push(catalog.item(i));
        }
        i += 1;
    }
    let next_cursor = (i < catalog.count).then(|| i.to_string());
    Json(ContentPage {
        count: items.len(),
        items,
        next_cursor,
    })
    .into_response()
}
