//! The exit codes of `content-fetch`, in one place: `--help` prints them, and a test checks
//! that `crates/content-fetch/EXIT_CODES.md` and the README hold the same table.

use std::process::ExitCode;

use content_fetch::ErrorKind;

/// The exit codes: `--help` prints them and `EXIT_CODES.md` and the README hold this table (a
/// test checks both).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Exit {
    Success = 0,
    NotFound = 1,
    Usage = 2,
    Auth = 3,
    Network = 4,
    Validation = 5,
    Output = 6,
}

impl Exit {
    pub(crate) const ALL: [Exit; 7] = [
        Exit::Success,
        Exit::NotFound,
        Exit::Usage,
        Exit::Auth,
        Exit::Network,
        Exit::Validation,
        Exit::Output,
    ];

    /// What the code means, in Markdown (backticks are dropped in `--help`).
    pub(crate) fn meaning(self) -> &'static str {
        match self {
            Exit::Success => {
                "success (also when a fallback snapshot was used: the summary and a warning say so)"
            }
            Exit::NotFound => "`get`: no item with that id",
            Exit::Usage => {
                "usage or configuration: flags, endpoint, region, `content-fetch.toml`, an output path that is no folder name, or another 4xx from the API"
            }
            Exit::Auth => "authentication: no credentials, or the API answered 401 or 403",
            Exit::Network => {
                "network: the API stayed unreachable, failing or malformed after every retry or past the deadline"
            }
            Exit::Validation => {
                "validation, with `--strict`: an invalid item, or a duplicate or unsafe slug"
            }
            Exit::Output => {
                "snapshot or output: a snapshot cannot be read, trusted or written; the output folder holds files content-fetch did not write, or another run holds it; or the files cannot be written (the previous output stays as it was)"
            }
        }
    }

    /// What usually fixes it, in Markdown, for `EXIT_CODES.md`.
    #[cfg(test)]
    pub(crate) fn fix(self) -> &'static str {
        match self {
            Exit::Success => "",
            Exit::NotFound => {
                "check the id (`content-fetch snapshot show` lists what a snapshot holds)"
            }
            Exit::Usage => "the message names the flag, variable, setting or file",
            Exit::Auth => {
                "check the region, the credentials (IAM `execute-api:Invoke` on the API) and the clock"
            }
            Exit::Network => {
                "check the endpoint and the network, or build with `--fallback-snapshot`"
            }
            Exit::Validation => {
                "fix the item at its provider, or drop `--strict` to skip it (or suffix the slug) with a warning"
            }
            Exit::Output => "the message names the file and what to do",
        }
    }

    /// The Markdown table of every code, with the fixes (`EXIT_CODES.md`) or without (README).
    #[cfg(test)]
    pub(crate) fn table(with_fix: bool) -> String {
        let mut table = if with_fix {
            "| code | meaning | what to do |\n|---|---|---|\n".to_string()
        } else {
            "| code | meaning |\n|---|---|\n".to_string()
        };
        for exit in Exit::ALL {
            let code = exit as u8;
            if with_fix {
                table.push_str(&format!(
                    "| {code} | {} | {} |\n",
                    exit.meaning(),
                    exit.fix()
                ));
            } else {
                table.push_str(&format!("| {code} | {} |\n", exit.meaning()));
            }
        }
        table
    }
}

impl From<ErrorKind> for Exit {
    /// The exit code of a class of failure: snapshots share the output's code.
    fn from(kind: ErrorKind) -> Exit {
        match kind {
            ErrorKind::NotFound => Exit::NotFound,
            ErrorKind::Auth => Exit::Auth,
            ErrorKind::Network => Exit::Network,
            ErrorKind::Validation => Exit::Validation,
            ErrorKind::Snapshot | ErrorKind::Output => Exit::Output,
            // Config, and any class this build does not know yet, is a usage problem.
            _ => Exit::Usage,
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> ExitCode {
        ExitCode::from(exit as u8)
    }
}
