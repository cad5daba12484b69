//! `content-fetch`: pulls the unified content cache over SigV4 and hands it to the site build.
//!
//! A thin shell over the `content-fetch` library: it parses flags, sets up logging and the
//! progress indicator, and maps errors to exit codes. [`Exit`] is the one source of the exit
//! codes: `--help` prints it, and a test checks that `crates/content-fetch/EXIT_CODES.md` and
//! the README hold its table.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use content_fetch::{
    CONFIG_FILE_NAME, ConfigFile, ContentSource, FetchError, FetchOptions, FetchSummary, Request,
    Setting, Snapshot, SourceKind, parse_duration, run_engine,
};
use indicatif::{ProgressBar, ProgressStyle};

mod build_context;
mod diagnostics;
mod exit;

use build_context::RunMode;
use diagnostics::{chain, colour, exit_code, flag_hint, init_tracing, paint, write_hint};
use exit::Exit;

/// The text after `--help`: the exit codes, then the environment and the settings file.
fn after_help() -> String {
    let mut text = String::from("Exit codes:\n");
    for exit in Exit::ALL {
        let mut line = format!("  {}  ", exit as u8);
        for word in exit.meaning().replace('`', "").split(' ') {
            if line.len() + word.len() > 92 {
                text.push_str(line.trim_end());
                text.push('\n');
                line = "     ".to_string();
            }
            line.push_str(word);
            line.push(' ');
        }
        text.push_str(line.trim_end());
        text.push('\n');
    }
    text.push_str(ENVIRONMENT);
    text
}

const ENVIRONMENT: &str = "
Environment:
  INTEGRATION_API_URL        endpoint when --endpoint is not given
  BUILD_TYPE, CONTENT_CHANGES_SUMMARY
                             a triggered build's context: without --incremental or --full,
                             an incremental run unless requires_full_rebuild is true
  AWS_REGION, AWS_PROFILE    region and profile when the flags are not given
  AWS_* credentials          aws-config's default chain (env, profile, SSO, assume-role,
                             credential_process, container credentials, IMDS)
  CI=true                    no progress indicator
  NO_COLOR                   no colour (there is none either when stderr is not a terminal)
  RUST_LOG                   log filter, like content_fetch=debug

Settings file: content-fetch.toml in the working folder or a parent, with optional keys
  endpoint = \"https://...\", region = \"...\", profile = \"...\",
  engine = \"eleventy|astro|next\", out = \"DIR\" (relative to the file's folder)
Docs: docs/ in the repository (docs/cli.md, docs/outputs.md)";

/// Pulls the unified content cache with SigV4-signed GETs and checks every item.
///
/// Without a command it fetches, validates and prints a one-line summary on stderr.
#[derive(Debug, Parser)]
#[command(name = "content-fetch", version)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    common: CommonArgs,
    #[command(flatten)]
    output: OutputArgs,
}

/// Writing the data files of a static site generator.
#[derive(Debug, Args)]
struct OutputArgs {
    /// Write the data files of this static site generator [default: engine in
    /// content-fetch.toml].
    #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(ssg_writers::engine_names()))]
    engine: Option<String>,
    /// The output folder, owned by content-fetch [default: out in content-fetch.toml, else the
    /// engine's: eleventy _data/fetched, astro src/content/fetched, next content/fetched].
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// A folder of minijinja templates overriding or adding to the built-in ones, by name
    /// (e.g. astro/entry.json, markdown/entry.md).
    #[arg(long, value_name = "DIR")]
    template_dir: Option<PathBuf>,
    /// Write articles and pages as Markdown with front matter (astro).
    #[arg(long)]
    markdown: bool,
    /// Fetch only what changed since the last run (with tombstones) and rewrite only changed
    /// files; a full run when the output folder has no state yet.
    #[arg(long, conflicts_with_all = ["full", "updated_since"])]
    incremental: bool,
    /// Fetch everything and rewrite the output (the default, unless a triggered build's
    /// CONTENT_CHANGES_SUMMARY allows an incremental run).
    #[arg(long)]
    full: bool,
    /// Take over an output folder that holds files content-fetch did not write, by moving them
    /// into a timestamped folder beside it (nothing is deleted).
    #[arg(long)]
    force: bool,
    /// Wait this long for another run into the same output folder to finish, like 30s or 10m
    /// [default: fail at once].
    #[arg(long, value_name = "DURATION", value_parser = wait_duration)]
    wait_lock: Option<Duration>,
}

/// Reads `--wait-lock` with the one duration syntax of every flag.
fn wait_duration(text: &str) -> Result<Duration, String> {
    parse_duration(Setting::Deadline, text)
        .map_err(|_| "write a whole number with s, m, h or d, like 30s or 10m".to_string())
}

impl OutputArgs {
    /// The engine and output folder: the flags, else `engine` and `out` in the nearest
    /// `content-fetch.toml` (its `out` relative to the file's folder), else the engine's
    /// default folder. `None` when no engine is named anywhere.
    fn target(&self) -> anyhow::Result<Option<(&'static dyn ssg_writers::Engine, PathBuf)>> {
        let cwd = std::env::current_dir().context("cannot read the working folder")?;
        let file = if self.engine.is_some() && self.out.is_some() {
            None
        } else {
            ConfigFile::find(&cwd)?
        };
        let (dir, config) = match &file {
            Some((path, config)) => (path.parent().unwrap_or(&cwd), Some(config)),
            None => (cwd.as_path(), None),
        };
        let Some(name) = self
            .engine
            .as_deref()
            .or(config.and_then(|c| c.engine.as_deref()))
        else {
            if let Some(flag) = self.engine_flags().first() {
                anyhow::bail!(
                    "{flag} needs --engine eleventy|astro|next, or engine = \"...\" in {CONFIG_FILE_NAME}"
                );
            }
            return Ok(None);
        };
        let engine = ssg_writers::engine(name)?;
        let out = match (&self.out, config.and_then(|c| c.out.as_ref())) {
            (Some(out), _) => out.clone(),
            (None, Some(out)) => dir.join(out),
            (None, None) => PathBuf::from(engine.default_out()),
        };
        Ok(Some((engine, out)))
    }

    /// The engine flags given, which mean nothing without an engine.
    fn engine_flags(&self) -> Vec<&'static str> {
        [
            (self.out.is_some(), "--out"),
            (self.template_dir.is_some(), "--template-dir"),
            (self.markdown, "--markdown"),
            (self.incremental, "--incremental"),
            (self.full, "--full"),
            (self.force, "--force"),
            (self.wait_lock.is_some(), "--wait-lock"),
        ]
        .into_iter()
        .filter_map(|(given, flag)| given.then_some(flag))
        .collect()
    }

    /// The run's mode: the flags, else the build context, else full.
    fn run_mode(&self) -> RunMode {
        RunMode::choose(self.incremental, self.full, |name| std::env::var(name).ok())
    }

    /// Starts the engine's run when an engine is named.
    fn begin(
        &self,
        strict: bool,
        mode: ssg_writers::Mode,
    ) -> anyhow::Result<Option<ssg_writers::SyncRun>> {
        let Some((engine, out)) = self.target()? else {
            return Ok(None);
        };
        let options = ssg_writers::WriteOptions {
            template_dir: self.template_dir.clone(),
            markdown: self.markdown,
            strict,
            mode,
            force: self.force,
            wait_lock: self.wait_lock,
            ..ssg_writers::WriteOptions::new(&out)
        };
        let run = ssg_writers::SyncRun::begin(engine, options)?;
        if let Some(aside) = run.moved_aside() {
            eprintln!(
                "moved the files in {} that content-fetch did not write to {}",
                out.display(),
                aside.display()
            );
        }
        Ok(Some(run))
    }
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Fetch one item by id and print it as JSON on stdout.
    Get {
        /// The item's id, as stored (it may hold `/`, `:`, `#`, `?`, spaces, any Unicode).
        id: String,
    },
    /// Save, inspect and compare snapshots for offline builds.
    #[command(subcommand)]
    Snapshot(SnapshotCommand),
}

#[derive(Debug, Subcommand)]
enum SnapshotCommand {
    /// Fetch with the current filters and save everything to FILE (written aside, then renamed).
    Pull {
        /// Where to write the snapshot.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Print a snapshot's header and a per-type table.
    Show {
        /// The snapshot [default: the one --from names].
        #[arg(value_name = "SNAPSHOT")]
        file: Option<PathBuf>,
    },
    /// List items added, changed and removed from snapshot A to snapshot B.
    Diff {
        /// The older snapshot.
        a: PathBuf,
        /// The newer snapshot.
        b: PathBuf,
    },
}

#[derive(Debug, Args)]
struct CommonArgs {
    /// The content API's base URL, stage included [default: INTEGRATION_API_URL, then
    /// content-fetch.toml].
    #[arg(long, global = true, value_name = "URL")]
    endpoint: Option<String>,
    /// The API's AWS region [default: AWS_REGION, content-fetch.toml, the profile].
    #[arg(long, global = true)]
    region: Option<String>,
    /// The AWS profile of the shared config/credentials files.
    #[arg(long, global = true)]
    profile: Option<String>,
    /// Read content from this snapshot instead of the API (offline).
    #[arg(long, global = true, value_name = "FILE")]
    from: Option<PathBuf>,
    /// Only these content types (repeat or comma-separate): product, article, page,
    /// collection, media.
    #[arg(
        long = "type",
        global = true,
        value_name = "TYPE",
        value_delimiter = ','
    )]
    types: Vec<String>,
    /// Only items from this provider, like shopify or sanity.
    #[arg(long, global = true)]
    provider: Option<String>,
    /// Only these statuses (comma-separated) [default: published].
    #[arg(long, global = true, value_delimiter = ',')]
    status: Vec<String>,
    /// Only items updated at or after this RFC 3339 time (sent as UTC).
    #[arg(long, global = true, value_name = "TIME")]
    updated_since: Option<String>,
    /// Also fetch drafts, for previews. Needed to use a snapshot that holds drafts.
    #[arg(long, global = true)]
    include_drafts: bool,
    /// Also fetch tombstones of deleted items.
    #[arg(long, global = true)]
    include_deleted: bool,
    /// Fail on the first invalid item instead of skipping it with a warning.
    #[arg(long, global = true)]
    strict: bool,
    /// Print the summary (or snapshot table/diff) as JSON on stdout.
    #[arg(long, global = true)]
    json: bool,
    /// More logs on stderr (-v debug, -vv trace); RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    /// When the API stays unreachable after retries, go on from this snapshot.
    #[arg(long, global = true, value_name = "FILE")]
    fallback_snapshot: Option<PathBuf>,
    /// The oldest fallback snapshot accepted, like 24h or 7d.
    #[arg(long, global = true, value_name = "DURATION", default_value = "24h")]
    fallback_max_age: String,
    /// Content types fetched at once.
    #[arg(long, global = true, default_value_t = 3)]
    concurrency: usize,
    /// Items per page asked of the API (1 to 1000) [default: the API's, 100].
    #[arg(long, global = true)]
    page_size: Option<u32>,
    /// Time limit of one request.
    #[arg(long, global = true, value_name = "DURATION", default_value = "30s")]
    timeout: String,
    /// Time limit of the whole run, retries included.
    #[arg(long, global = true, value_name = "DURATION", default_value = "300s")]
    deadline: String,
    /// Attempts per request, the first included.
    #[arg(long, global = true, default_value_t = 5)]
    attempts: u32,
    /// The first retry's backoff in milliseconds (doubles per retry, with jitter).
    #[arg(
        long,
        global = true,
        env = "CONTENT_FETCH_RETRY_BASE_MS",
        default_value_t = 250,
        hide = true
    )]
    retry_base_ms: u64,
}

impl CommonArgs {
    /// The run the flags ask for, checked by the library like the addon's options.
    fn request(&self) -> Result<Request, FetchError> {
        Ok(Request {
            endpoint: self.endpoint.clone(),
            region: self.region.clone(),
            profile: self.profile.clone(),
            from: self.from.clone(),
            types: self.types.clone(),
            provider: self.provider.clone(),
            statuses: self.status.clone(),
            updated_since: self.updated_since.clone(),
            changes_since: None,
            include_drafts: self.include_drafts,
            include_deleted: self.include_deleted,
            strict: self.strict,
            page_size: self.page_size,
            concurrency: self.concurrency,
            timeout: parse_duration(Setting::Timeout, &self.timeout)?,
            deadline: parse_duration(Setting::Deadline, &self.deadline)?,
            attempts: self.attempts,
            retry_base: Duration::from_millis(self.retry_base_ms),
            fallback_snapshot: self.fallback_snapshot.clone(),
            fallback_max_age: parse_duration(Setting::FallbackMaxAge, &self.fallback_max_age)?,
        })
    }

    fn fetch_options(&self) -> Result<FetchOptions, FetchError> {
        self.request()?.fetch_options()
    }

    /// The snapshot of `--from`, or the API with credentials from aws-config.
    async fn open_source(&self) -> Result<ContentSource, FetchError> {
        self.request()?.open(&cwd()?).await
    }
}

/// The working folder, where `content-fetch.toml` is searched from.
fn cwd() -> Result<PathBuf, FetchError> {
    std::env::current_dir()
        .map_err(|e| FetchError::Usage(format!("cannot read the working folder: {e}")))
}

fn main() -> ExitCode {
    let help = after_help();
    let matches = Cli::command()
        .after_help(&help)
        .after_long_help(&help)
        .get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    let colour = colour();
    init_tracing(cli.common.verbose, colour);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!(
                "{}: cannot start the async runtime: {e}",
                paint(colour, "error")
            );
            return Exit::Usage.into();
        }
    };
    let engine = cli.output.engine.clone();
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            let label = paint(colour, "error");
            let hint = match e.downcast_ref::<FetchError>().and_then(FetchError::remedy) {
                Some(setting) => Some(flag_hint(setting).to_string()),
                None => e
                    .downcast_ref::<ssg_writers::WriteError>()
                    .and_then(|w| write_hint(w, engine.as_deref())),
            };
            match hint {
                Some(hint) => eprintln!("{label}: {} ({hint})", chain(&e)),
                None => eprintln!("{label}: {}", chain(&e)),
            }
            exit_code(&e).into()
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let common = &cli.common;
    match &cli.command {
        None => {
            let options = common.fetch_options()?;
            let mode = cli.output.run_mode();
            let writer = cli.output.begin(common.strict, mode.mode)?;
            if let Some(warning) = mode.warning.as_ref().filter(|_| writer.is_some()) {
                tracing::warn!("{warning}");
            }
            let progress = Progress::new();
            let outcome = run_engine::<anyhow::Error>(
                &common.request()?,
                options,
                &cwd()?,
                writer,
                &mut || cli.output.begin(common.strict, mode.mode),
                &mut |s| progress.update(s),
            )
            .await?;
            progress.finish();
            if let Some(written) = outcome.report {
                eprintln!(
                    "{} items written ({}): {} files written, {} unchanged, {} removed, {} bytes",
                    written.items,
                    mode.describe(written.incremental),
                    written.files_written,
                    written.files_unchanged,
                    written.files_removed,
                    written.bytes_written
                );
            }
            report(&outcome.summary, common.json)?;
        }
        Some(Command::Get { id }) => {
            let source = common.open_source().await?;
            match source.get(id).await? {
                Some(item) => print_stdout(&serde_json::to_string_pretty(&item)?)?,
                None => {
                    eprintln!("{}: no item with id '{id}'", paint(colour(), "error"));
                    return Ok(Exit::NotFound.into());
                }
            }
        }
        Some(Command::Snapshot(SnapshotCommand::Pull { out })) => {
            let options = common.fetch_options()?;
            let source = common.open_source().await?;
            let progress = Progress::new();
            let (header, summary) = source
                .pull_snapshot(&options, out, &mut |s| progress.update(s))
                .await?;
            progress.finish();
            eprintln!(
                "wrote {} ({} items, {})",
                out.display(),
                header.count,
                header.digest
            );
            report(&summary, common.json)?;
        }
        Some(Command::Snapshot(SnapshotCommand::Show { file })) => {
            // `snapshot show --from FILE` reads like the other commands' --from.
            let Some(file) = file.as_ref().or(common.from.as_ref()) else {
                anyhow::bail!("snapshot show needs a snapshot: content-fetch snapshot show FILE");
            };
            let snapshot = Snapshot::read(file)?;
            if common.json {
                let table = serde_json::json!({
                    "header": snapshot.header,
                    "types": snapshot.per_type(),
                });
                print_stdout(&serde_json::to_string_pretty(&table)?)?;
            } else {
                print_stdout(&snapshot.show())?;
            }
        }
        Some(Command::Snapshot(SnapshotCommand::Diff { a, b })) => {
            let diff = Snapshot::read(a)?.diff(&Snapshot::read(b)?);
            if common.json {
                print_stdout(&serde_json::to_string_pretty(&diff)?)?;
            } else {
                print_stdout(&diff.to_string())?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn report(summary: &FetchSummary, json: bool) -> anyhow::Result<()> {
    eprintln!("{summary}");
    if json {
        print_stdout(&serde_json::to_string_pretty(summary)?)?;
    }
    Ok(())
}

/// Writes to stdout; a closed pipe (`| head`) is not an error.
fn print_stdout(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{text}").and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context("cannot write to stdout"),
    }
}

/// A spinner on stderr, only on a terminal and never under CI.
struct Progress(Option<ProgressBar>);

impl Progress {
    fn new() -> Progress {
        let ci = std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true"));
        if ci || !std::io::stderr().is_terminal() {
            return Progress(None);
        }
        let bar = ProgressBar::new_spinner();
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.enable_steady_tick(Duration::from_millis(120));
        Progress(Some(bar))
    }

    fn update(&self, summary: &FetchSummary) {
        if let Some(bar) = &self.0 {
            bar.set_message(format!(
                "{} items, {} pages, {} retries{}",
                summary.total,
                summary.pages,
                summary.retries,
                match summary.source {
                    SourceKind::FallbackSnapshot { .. } => " (from the fallback snapshot)",
                    _ => "",
                }
            ));
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use unified_content::ContentType;

    /// `--help` prints [`Exit`]; `EXIT_CODES.md` and the README must hold its table as it is.
    #[test]
    fn exit_codes_have_one_source() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        for (file, with_fix) in [
            ("crates/content-fetch/EXIT_CODES.md", true),
            ("README.md", false),
        ] {
            let text = std::fs::read_to_string(root.join(file)).unwrap();
            let table = Exit::table(with_fix);
            assert!(
                text.contains(&table),
                "{file} does not hold the exit codes of src/main.rs; put this table in it:\n{table}"
            );
        }
        let help = after_help();
        for exit in Exit::ALL {
            let first = exit.meaning().replace('`', "");
            let first = first.split(' ').take(3).collect::<Vec<_>>().join(" ");
            assert!(
                help.contains(&format!("  {}  {first}", exit as u8)),
                "{help}"
            );
        }
    }

    #[test]
    fn a_cause_already_in_the_message_is_printed_once() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "No such file (os error 2)");
        let e = anyhow::Error::new(io).context("cannot read a.json: No such file (os error 2)");
        assert_eq!(format!("{e:#}").matches("os error 2").count(), 2);
        assert_eq!(chain(&e), "cannot read a.json: No such file (os error 2)");
        let e = anyhow::Error::new(std::io::Error::other("reset")).context("cannot fetch");
        assert_eq!(chain(&e), "cannot fetch: reset");
    }

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn filters_come_from_flags() {
        let cli = Cli::parse_from([
            "content-fetch",
            "--type",
            "products,article",
            "--include-drafts",
        ]);
        let f = cli.common.fetch_options().unwrap().filters;
        assert_eq!(
            f.content_types,
            vec![ContentType::Product, ContentType::Article]
        );
        assert!(f.includes_drafts());
        let bad = Cli::parse_from(["content-fetch", "--type", "posts"]);
        let err = bad.common.fetch_options().unwrap_err();
        assert_eq!(flag_hint(err.remedy().unwrap()), "check --type");
    }
}
