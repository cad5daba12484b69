//! Fetch + write throughput and peak memory of every mode against a loopback content API,
//! beside the floor: a plain fetch of the same pages plus a plain write of as many bytes.
//!
//! `cargo bench --bench ssg_write [-- N...]` (or `BENCH_ITEMS=N`; default 10,000 and
//! 100,000; add 1000000 for a million). The parent process runs an axum server on 127.0.0.1
//! that generates N items of mixed types and realistic sizes lazily, page by page; every mode
//! runs in its own child process with the real library, so the peak RSS printed (VmHWM) is
//! the client's alone. Outputs go to tmpfs when there is one. After each engine's full run
//! one item changes and an incremental run shows the seconds and files it touched.
//!
//! The same server also feeds the two peers under `bench/peers/`: a Node script (aws4fetch +
//! `writeFile` per entry) and a Python one (botocore + requests). The bench installs their
//! packages (npm into `target/bench-peers`, pip into the repository's `.venv`) and skips a
//! peer, saying why, when they cannot be installed. Every row shows the CPU seconds the server
//! spent on it, so that the share of each figure that is the server's own work is visible.
//!
//! `BENCH_MODES=fetch,astro,pull` (any of fetch, the engines, node, python, floor, pull) runs
//! only those (pull then runs `--from` the pulled snapshot with every engine, each in its own
//! process); `BENCH_CHILD=PATH` runs the modes with another build of this bench, to compare
//! two builds on one server.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use aws_credential_types::Credentials;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use content_fetch::{
    AwsAccess, ClientOptions, ContentClient, ContentSource, FetchOptions, FetchSummary, Filters,
    SnapshotWriter, parse_endpoint,
};
use ssg_writers::{Mode, RunReport, SyncRun, WriteOptions};
use unified_content::api::{ContentPage, ContentQuery};
use unified_content::{
    ContentStatus, ContentType, Inventory, InventoryPolicy, MediaAsset, Price, ProductVariant,
    ProviderType, SeoMetadata, Timestamp, UnifiedContent,
};

/// The item that changes before the incremental run.
const CHANGED: usize = 7;
/// Items per page, as the CLI asks.
const PAGE_SIZE: u32 = 1000;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(pos) = args.iter().position(|a| a == "--child") {
        child(&args[pos + 1..]);
        return;
    }
    let mut counts: Vec<usize> = args.iter().filter_map(|a| a.parse().ok()).collect();
    if counts.is_empty() {
        counts = match std::env::var("BENCH_ITEMS")
            .ok()
            .and_then(|n| n.parse().ok())
        {
            Some(n) => vec![n],
            None => vec![10_000, 100_000],
        };
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let exe = std::env::current_exe().expect("the bench knows its own path");
    let peers = Peer::install(&exe);
    // `BENCH_CHILD=<another build of this bench>` runs that build's modes against this
    // server: two builds compared on one server, in one run.
    let child_exe = std::env::var_os("BENCH_CHILD").map_or(exe.clone(), PathBuf::from);
    for count in counts {
        let catalog = Arc::new(Catalog {
            count,
            changed: AtomicBool::new(false),
        });
        let app = Router::new()
            .route("/content", get(content))
            .route("/change", post(change))
            .with_state(catalog.clone());
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let server = runtime.spawn(async move { axum::serve(listener, app).await.unwrap() });
        println!("ssg_write: {count} items from a loopback content API, one process per mode");
        // One child (this bench, or a peer's script), its output passed on: its `RESULT`
        // fields and the server's CPU seconds while it ran.
        let run_command = |mode: &str, mut command: std::process::Command| -> Outcome {
            catalog.changed.store(false, Ordering::SeqCst);
            let cpu = server_cpu_seconds();
            let output = command.output().expect("the bench can run its children");
            let server_s = server_cpu_seconds() - cpu;
            std::io::stderr().write_all(&output.stderr).unwrap();
            assert!(output.status.success(), "{mode}: {}", output.status);
            let text = String::from_utf8(output.stdout).unwrap();
            print!("{text}");
            let fields = text
                .lines()
                .find_map(|l| l.strip_prefix("RESULT "))
                .map(|l| l.split_whitespace().map(str::to_string).collect())
                .unwrap_or_default();
            Outcome { fields, server_s }
        };
        let run = |mode: &str, extra: &[String]| -> Option<Outcome> {
            if !wanted(mode) {
                return None;
            }
            let mut command = std::process::Command::new(&child_exe);
            command
                .args(["--child", mode, &count.to_string(), &endpoint])
                .args(extra);
            Some(run_command(mode, command))
        };
        let mut rows: Vec<(String, Option<Outcome>)> = Vec::new();
        rows.push(("fetch (checked)".into(), run("fetch", &[])));
        let mut astro_bytes = None;
        for engine in ssg_writers::engine_names() {
            let outcome = run(engine, &[]);
            if engine == "astro" {
                astro_bytes = outcome.as_ref().map(|o| o.fields[2].clone());
            }
            rows.push((format!("--engine {engine}"), outcome));
        }
        for peer in &peers {
            let out = scratch();
            let mut command = peer.command();
            command
                .arg(&endpoint)
                .arg(out.path())
                .arg(count.to_string());
            rows.push((peer.name.to_string(), Some(run_command(peer.name, command))));
        }
        rows.push(("snapshot pull".into(), run("pull", &[])));
        // The floor writes as many bytes as Astro wrote (without an Astro run, 3 KiB an item,
        // about what Astro writes).
        let bytes = astro_bytes.unwrap_or_else(|| (count * 3 * 1024).to_string());
        let floor = run("floor", &[bytes]);
        let floor_s = floor.as_ref().map(|f| f.fields[0].parse::<f64>().unwrap());
        println!(
            "{count} items: seconds and peak RSS per mode; the floor = plain fetch + plain \
             write; server = CPU seconds the bench's server spent on the run"
        );
        if let Some(f) = &floor {
            println!(
                "  {:<24} {:>8} s {:>8} MiB  server {:>5.2} s",
                "floor", f.fields[0], "-", f.server_s
            );
        }
        for (name, outcome) in &rows {
            let Some(o) = outcome else { continue };
            let seconds: f64 = o.fields[0].parse().unwrap();
            let ratio = floor_s.map_or(String::new(), |f| {
                format!("  ({:.1}x the floor)", seconds / f)
            });
            println!(
                "  {name:<24} {seconds:>8.2} s {:>8} MiB  server {:>5.2} s{ratio}",
                o.fields[1], o.server_s,
            );
        }
        server.abort();
    }
}

/// A child: `MODE N ENDPOINT [BYTES]`. Prints its lines, then `RESULT seconds rss-MiB
/// [bytes]` for the parent.
fn child(args: &[String]) {
    let (mode, count, endpoint) = (
        args[0].as_str(),
        args[1].parse::<usize>().unwrap(),
        &args[2],
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = scratch();
    let rss = peak_rss_mib;
    runtime.block_on(async {
        let started = Instant::now();
        match mode {
            "fetch" => {
                let source = ContentSource::api(client(endpoint));
                let mut pages = source.pages(&options()).unwrap();
                let mut items = 0;
                while let Some(page) = pages.next_page().await {
                    items += page.unwrap().items.len();
                }
                assert_eq!(items, count);
                let seconds = started.elapsed().as_secs_f64();
                println!("   fetch:        {count} items checked in {seconds:.2} s, peak RSS {:.1} MiB", rss());
                println!("RESULT {seconds:.2} {:.1}", rss());
            }
            "floor" => {
                let bytes: u64 = args[3].parse().unwrap();
                let fetched = plain_fetch(endpoint).await;
                let fetch_seconds = started.elapsed().as_secs_f64();
                let write_started = Instant::now();
                plain_write(&dir.path().join("out"), count, bytes);
                let write_seconds = write_started.elapsed().as_secs_f64();
                let seconds = started.elapsed().as_secs_f64();
                println!(
                    "   floor:        plain fetch of the same pages ({fetched} bytes) {fetch_seconds:.2} s + plain write of {count} files / {bytes} bytes {write_seconds:.2} s = {seconds:.2} s"
                );
                println!("RESULT {seconds:.2} {:.1}", rss());
            }
            "pull" => {
                let path = dir.path().join("snapshot.json");
                let source = ContentSource::api(client(endpoint));
                let mut pages = source.pages(&options()).unwrap();
                let mut writer = SnapshotWriter::create(&path).unwrap();
                while let Some(page) = pages.next_page().await {
                    writer.add(page.unwrap().items).unwrap();
                }
                let header = writer
                    .finish(endpoint, &Filters::default(), chrono::Utc::now())
                    .unwrap();
                assert_eq!(header.count, count);
                let pull_seconds = started.elapsed().as_secs_f64();
                let pull_rss = rss();
                println!("   snapshot pull: {count} items in {pull_seconds:.2} s, peak RSS {pull_rss:.1} MiB");
                // Each engine's offline run in a process of its own, so that its peak is its own.
                let exe = std::env::current_exe().unwrap();
                for engine in ssg_writers::engine_names() {
                    let status = std::process::Command::new(&exe)
                        .args(["--child", "offline", &count.to_string(), endpoint])
                        .arg(&path)
                        .arg(engine)
                        .status()
                        .unwrap();
                    assert!(status.success());
                }
                println!("RESULT {pull_seconds:.2} {pull_rss:.1}");
            }
            "offline" => {
                let (path, engine) = (Path::new(&args[3]), &args[4]);
                let source = ContentSource::snapshot(path).unwrap();
                let (report, _) = write(&source, engine, &dir.path().join("out"), Mode::Full).await;
                assert_eq!(report.items, count);
                let seconds = started.elapsed().as_secs_f64();
                println!(
                    "   --from snapshot --engine {engine}: {count} items in {seconds:.2} s, peak RSS {:.1} MiB",
                    rss()
                );
                let started = Instant::now();
                let id = "gid://example/product/0";
                assert!(source.get(id).await.unwrap().is_some());
                println!(
                    "   get --from snapshot: {:.2} s, peak RSS {:.1} MiB",
                    started.elapsed().as_secs_f64(),
                    rss()
                );
            }
            engine => engine_run(engine, count, endpoint, &dir.path().join("out")).await,
        }
    });
}

/// A scratch folder on tmpfs when there is one, so the figures are the program's, not the
/// disk's.
fn scratch() -> tempfile::TempDir {
    match Path::new("/dev/shm").is_dir() {
        true => tempfile::tempdir_in("/dev/shm").unwrap(),
        false => tempfile::tempdir().unwrap(),
    }
}

/// Whether `BENCH_MODES` (a comma list; every mode when unset) names `mode`.
fn wanted(mode: &str) -> bool {
    std::env::var("BENCH_MODES").map_or(true, |modes| modes.split(',').any(|m| m == mode))
}

/// What one child printed as its `RESULT` (seconds, peak RSS in MiB, ...), and the server's
/// CPU seconds while it ran.
struct Outcome {
    fields: Vec<String>,
    server_s: f64,
}

/// CPU seconds this process (the server) has used so far, every thread's, from /proc.
fn server_cpu_seconds() -> f64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0.0;
    };
    let nanos: u64 = tasks
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum();
    nanos as f64 / 1e9
}

/// A comparison script under `bench/peers/`, with its packages installed.
struct Peer {
    name: &'static str,
    program: PathBuf,
    script: PathBuf,
    env: Vec<(&'static str, PathBuf)>,
}

impl Peer {
    /// Installs each wanted peer's packages, or says why a peer is skipped. `exe` is this
    /// bench, in `<target>/release/deps/`.
    fn install(exe: &Path) -> Vec<Peer> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let target = exe
            .ancestors()
            .nth(3)
            .expect("the bench lives under target/");
        let mut peers = Vec::new();
        if wanted("node") {
            match Peer::node(root, &target.join("bench-peers")) {
                Ok(peer) => peers.push(peer),
                Err(why) => println!("ssg_write: skipping the Node peer: {why}"),
            }
        }
        if wanted("python") {
            match Peer::python(root) {
                Ok(peer) => peers.push(peer),
                Err(why) => println!("ssg_write: skipping the Python peer: {why}"),
            }
        }
        peers
    }

    /// aws4fetch from npm, installed into `dir` from `bench/peers/package.json`.
    fn node(root: &Path, dir: &Path) -> Result<Peer, String> {
        let manifest = root.join("bench/peers/package.json");
        let installed = dir.join("package.json");
        let wanted =
            std::fs::read(&manifest).map_err(|e| format!("{}: {e}", manifest.display()))?;
        if std::fs::read(&installed).ok() != Some(wanted.clone())
            || !dir.join("node_modules/aws4fetch").is_dir()
        {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            std::fs::write(&installed, &wanted)
                .map_err(|e| format!("{}: {e}", installed.display()))?;
            succeeds(
                std::process::Command::new("npm")
                    .args(["install", "--no-audit", "--no-fund", "--silent"])
                    .current_dir(dir),
                "npm install",
            )?;
        }
        Ok(Peer {
            name: "node (aws4fetch)",
            program: "node".into(),
            script: root.join("bench/peers/aws4fetch-writefile.mjs"),
            env: vec![("BENCH_NODE_MODULES", dir.to_path_buf())],
        })
    }

    /// botocore and requests from PyPI, in the repository's `.venv` (the one `scripts/test`
    /// uses), created when missing.
    fn python(root: &Path) -> Result<Peer, String> {
        let venv = root.join(".venv");
        let python = venv.join("bin/python");
        let ready = || {
            std::process::Command::new(&python)
                .args(["-c", "import botocore, requests"])
                .stderr(std::process::Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        };
        if !ready() {
            if !python.exists() {
                succeeds(
                    std::process::Command::new("python3")
                        .args(["-m", "venv"])
                        .arg(&venv),
                    "python3 -m venv",
                )?;
            }
            succeeds(
                std::process::Command::new(&python).args([
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                    "botocore==1.44.8",
                    "requests==2.34.2",
                ]),
                "pip install",
            )?;
        }
        Ok(Peer {
            name: "python (botocore)",
            program: python,
            script: root.join("bench/peers/botocore-requests.py"),
            env: Vec::new(),
        })
    }

    /// The command running the script, before its arguments (endpoint, output folder, count).
    fn command(&self) -> std::process::Command {
        let mut command = std::process::Command::new(&self.program);
        command.arg(&self.script).envs(self.env.iter().cloned());
        command
    }
}

/// Runs the install step `what`; an error says how it failed.
fn succeeds(command: &mut std::process::Command, what: &str) -> Result<(), String> {
    match command.status() {
        Ok(status) if status.success() => Ok(()),
        Ok(status) => Err(format!("{what} failed ({status})")),
        Err(e) => Err(format!("{what} could not start: {e}")),
    }
}

async fn engine_run(engine: &str, count: usize, endpoint: &str, out: &Path) {
    let source = ContentSource::api(client(endpoint));
    let started = Instant::now();
    let (report, summary) = write(&source, engine, out, Mode::Full).await;
    let full_seconds = started.elapsed().as_secs_f64();
    let full_rss = peak_rss_mib();
    assert_eq!(report.items, count);
    println!(
        "{engine:>8} full:        {count} items in {full_seconds:.2} s = {:.0} items/s, {} pages, \
         {} API bytes, {} files / {} bytes written, peak RSS {full_rss:.1} MiB",
        count as f64 / full_seconds,
        summary.pages,
        summary.bytes,
        report.files_written,
        report.bytes_written,
    );
    let bytes = report.bytes_written;

    change_one(endpoint).await;
    let started = Instant::now();
    let (report, summary) = write(&source, engine, out, Mode::Incremental).await;
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
         full run), {} files touched ({} bytes), {} unchanged, {} removed, {} bytes written \
         into a state folder of {} bytes",
        summary.total,
        100.0 * seconds / full_seconds,
        report.files_written,
        report.bytes_written,
        report.files_unchanged,
        report.files_removed,
        report.state_bytes_written,
        std::fs::read_dir(ssg_writers::state_dir(out))
            .map(|d| d
                .flatten()
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum::<u64>())
            .unwrap_or(0),
    );
    println!("RESULT {full_seconds:.2} {full_rss:.1} {bytes}");
}

fn options() -> FetchOptions {
    FetchOptions {
        page_size: Some(PAGE_SIZE),
        ..FetchOptions::default()
    }
}

fn client(endpoint: &str) -> ContentClient {
    let credentials = Credentials::new("AKIDBENCH", "bench-secret", None, None, "bench");
    ContentClient::new(
        parse_endpoint(endpoint, "bench").unwrap(),
        AwsAccess::new("us-east-1", credentials),
        ClientOptions::default(),
    )
    .unwrap()
}

async fn write(
    source: &ContentSource,
    engine: &str,
    out: &Path,
    mode: Mode,
) -> (RunReport, FetchSummary) {
    let mut options = WriteOptions::new(out);
    options.mode = mode;
    let mut run = SyncRun::begin(ssg_writers::engine(engine).unwrap(), options).unwrap();
    let mut fetch = self::options();
    if let Some(since) = run.changes_since() {
        fetch.filters.continue_from(since);
    }
    let mut pages = source.pages(&fetch).unwrap();
    while let Some(page) = pages.next_page().await {
        run.add_page(page.unwrap().items).unwrap();
    }
    let summary = pages.summary();
    (run.commit().unwrap(), summary)
}

/// The floor's fetch: the same pages (three types at a time, as the client pages them) over
/// one plain HTTP/1.1 connection per type, each body read whole and only its `next_cursor`
/// looked at; no signing, no checks.
async fn plain_fetch(endpoint: &str) -> u64 {
    let mut tasks = tokio::task::JoinSet::new();
    let permits = Arc::new(tokio::sync::Semaphore::new(3));
    let host = endpoint.trim_start_matches("http://").to_string();
    for content_type in ContentType::ALL {
        let (host, permits) = (host.clone(), permits.clone());
        tasks.spawn(async move {
            let _permit = permits.acquire_owned().await.unwrap();
            let mut connection =
                tokio::io::BufReader::new(tokio::net::TcpStream::connect(&host).await.unwrap());
            let mut cursor: Option<String> = None;
            let mut bytes = 0u64;
            loop {
                let mut path = format!(
                    "/content?content_type={}&limit={PAGE_SIZE}",
                    content_type.as_str()
                );
                if let Some(c) = &cursor {
                    path.push_str(&format!("&cursor={c}"));
                }
                let body = http_get(&mut connection, &host, &path).await;
                bytes += body.len() as u64;
                cursor = next_cursor(&body);
                if cursor.is_none() {
                    return bytes;
                }
            }
        });
    }
    tasks.join_all().await.into_iter().sum()
}

/// One GET on a kept-alive connection; the body by its `content-length`.
async fn http_get(
    connection: &mut tokio::io::BufReader<tokio::net::TcpStream>,
    host: &str,
    path: &str,
) -> Vec<u8> {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
    let request = format!("GET {path} HTTP/1.1\r\nhost: {host}\r\n\r\n");
    connection
        .get_mut()
        .write_all(request.as_bytes())
        .await
        .unwrap();
    let mut length = 0;
    loop {
        let mut line = String::new();
        connection.read_line(&mut line).await.unwrap();
        if line == "\r\n" {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().unwrap();
        }
    }
    let mut body = vec![0; length];
    connection.read_exact(&mut body).await.unwrap();
    body
}

/// The page's `next_cursor`, found from the end of its body (it is the last field).
fn next_cursor(body: &[u8]) -> Option<String> {
    let marker = b"\"next_cursor\":\"";
    let at = body.windows(marker.len()).rposition(|w| w == marker)? + marker.len();
    let end = body[at..].iter().position(|b| *b == b'"')?;
    Some(String::from_utf8_lossy(&body[at..at + end]).into_owned())
}

/// The floor's write: `files` files of `bytes` in all, in one folder, with plain `std::fs::write`.
fn plain_write(out: &Path, files: usize, bytes: u64) {
    std::fs::create_dir_all(out).unwrap();
    let size = (bytes / files as u64) as usize;
    let buffer = vec![b'x'; size + 1];
    let extra = (bytes % files as u64) as usize;
    for i in 0..files {
        let len = if i < extra { size + 1 } else { size };
        std::fs::write(out.join(format!("item-{i}.json")), &buffer[..len]).unwrap();
    }
}

/// Asks the parent's server to change one item.
async fn change_one(endpoint: &str) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let host = endpoint.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(host).await.unwrap();
    let request = format!(
        "POST /change HTTP/1.1\r\nhost: {host}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    assert!(
        response.starts_with(b"HTTP/1.1 204"),
        "{}",
        String::from_utf8_lossy(&response)
    );
}

/// `POST /change`: the changed item becomes the newest, for the incremental run.
async fn change(State(catalog): State<Arc<Catalog>>) -> StatusCode {
    catalog.changed.store(true, Ordering::SeqCst);
    StatusCode::NO_CONTENT
}

/// Peak resident set size of this process in MiB, from /proc/self/status.
fn peak_rss_mib() -> f64 {
    let kib: u64 = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0);
    kib as f64 / 1024.0
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
