//! What people read on stderr: errors with their cause chain printed once, the hint naming the
//! flag that fixes them, their exit code, and every log line in one `warning: message` format.

use std::io::IsTerminal;
use std::path::PathBuf;

use content_fetch::{ErrorKind, FetchError, Setting};

use crate::exit::Exit;

/// How the CLI names the flag that fixes a library error ([`FetchError::remedy`]).
pub(crate) fn flag_hint(setting: Setting) -> &'static str {
    match setting {
        Setting::Endpoint => "pass --endpoint URL",
        Setting::Region => "pass --region",
        Setting::Profile => "pass --profile NAME",
        Setting::Types => "check --type",
        Setting::Statuses => "check --status",
        Setting::UpdatedSince => "check --updated-since",
        Setting::IncludeDrafts => "pass --include-drafts for a preview",
        Setting::Strict => "drop --strict to skip invalid items with a warning",
        Setting::FallbackSnapshot => "pass --fallback-snapshot FILE",
        Setting::FallbackMaxAge => "check --fallback-max-age",
        Setting::PageSize => "check --page-size",
        Setting::Timeout => "check --timeout",
        Setting::Deadline => "check --deadline",
        _ => "see --help",
    }
}

/// The error and its causes on one line, each cause once: a message that already holds its
/// source's text does not repeat it.
pub(crate) fn chain(e: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in e.chain() {
        let part = cause.to_string();
        if text.contains(&part) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&part);
    }
    text
}

/// How the CLI names the flag that fixes a writer's error.
pub(crate) fn write_hint(e: &ssg_writers::WriteError, engine: Option<&str>) -> Option<String> {
    use ssg_writers::WriteError as W;
    Some(match e {
        W::ForeignOutput { path, .. } => format!(
            "give it a folder of its own, like --out {}, or pass --force to move these files aside",
            subfolder(path, engine).display()
        ),
        W::Locked { .. } => "pass --wait-lock 10m to wait for it".into(),
        W::OutputFolder { .. } => "choose another folder with --out".into(),
        W::MarkdownUnsupported { .. } => {
            "drop --markdown, or add your own template with --template-dir".into()
        }
        W::TemplateSyntax { .. } => "the template is in the --template-dir folder".into(),
        W::DuplicateSlug { .. } | W::UnsafeSlug { .. } => {
            "drop --strict to fix slugs with a warning".into()
        }
        W::State { .. } => "run with --full".into(),
        _ => return None,
    })
}

/// A folder for the engine's files inside `path`, which holds someone else's: the engine's
/// default folder, less the part `path` already ends with (`site` gives
/// `site/_data/fetched`, `_data` gives `_data/fetched` for Eleventy).
pub(crate) fn subfolder(path: &std::path::Path, engine: Option<&str>) -> PathBuf {
    let default = engine
        .and_then(|name| ssg_writers::engine(name).ok())
        .map_or("fetched", |e| e.default_out());
    let parts: Vec<&str> = default.split('/').collect();
    let given = (1..parts.len())
        .rev()
        .find(|&n| path.ends_with(parts[..n].join("/")))
        .unwrap_or(0);
    path.join(parts[given..].join("/"))
}

/// The exit code of a failure: its class ([`ErrorKind`]); anything that is neither a fetch's
/// nor a writer's error is a usage problem.
pub(crate) fn exit_code(e: &anyhow::Error) -> Exit {
    let kind = match e.downcast_ref::<ssg_writers::WriteError>() {
        Some(w) => ErrorKind::of_write(w),
        None => e
            .downcast_ref::<FetchError>()
            .map_or(ErrorKind::Config, FetchError::kind),
    };
    Exit::from(kind)
}

/// Colour on stderr only on a terminal, and never with `NO_COLOR` set (no-color.org).
pub(crate) fn colour() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// `label` in bold and the colour of its level, when `colour`.
pub(crate) fn paint(colour: bool, label: &'static str) -> std::borrow::Cow<'static, str> {
    let code = match label {
        "error" => "1;31",
        "warning" => "1;33",
        _ => return label.into(),
    };
    if colour {
        format!("\x1b[{code}m{label}\x1b[0m").into()
    } else {
        label.into()
    }
}

/// Every diagnostic in one format, `warning: message (fields)`, like the CLI's own errors.
pub(crate) struct Diagnostic {
    colour: bool,
}

impl<S, N> tracing_subscriber::fmt::FormatEvent<S, N> for Diagnostic
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    N: for<'a> tracing_subscriber::fmt::FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &tracing_subscriber::fmt::FmtContext<'_, S, N>,
        mut writer: tracing_subscriber::fmt::format::Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> std::fmt::Result {
        let label = match *event.metadata().level() {
            tracing::Level::ERROR => "error",
            tracing::Level::WARN => "warning",
            tracing::Level::INFO => "info",
            tracing::Level::DEBUG => "debug",
            _ => "trace",
        };
        write!(writer, "{}: ", paint(self.colour, label))?;
        ctx.field_format().format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}

pub(crate) fn init_tracing(verbose: u8, colour: bool) {
    let default = match verbose {
        // aws-config warns of every credential source that has nothing; the CLI's own error
        // lists the sources tried when none has credentials.
        0 => "warn,aws_config=error",
        1 => "warn,content_fetch=debug,content_fetch_cli=debug",
        _ => "debug,content_fetch=trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(colour)
        .event_format(Diagnostic { colour })
        .init();
}
