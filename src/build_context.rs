//! The build context a triggered site build gets from the build trigger: `BUILD_TYPE` and
//! `CONTENT_CHANGES_SUMMARY` choose between an incremental and a full run when no flag does.
//!
//! The summary is read as plain JSON, only its `requires_full_rebuild` (and `total_changes`
//! for the summary line): the build trigger's own `ChangeSummary` lives in a crate that
//! depends on the CodeBuild, DynamoDB and Scheduler SDKs, which the CLI must not pull in.

use ssg_writers::Mode;

/// The variable naming the kind of build (immediate, batch or fallback).
const BUILD_TYPE: &str = "BUILD_TYPE";
/// The variable holding the changes summary's JSON.
const SUMMARY: &str = "CONTENT_CHANGES_SUMMARY";

/// The run's mode and, when the build context chose it, why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RunMode {
    /// The mode asked of the writer (an incremental run is full without previous state).
    pub(crate) mode: Mode,
    /// Why, for the summary line; `None` when a flag or the default chose.
    pub(crate) reason: Option<String>,
    /// A warning to print: the build context could not be read.
    pub(crate) warning: Option<String>,
}

impl RunMode {
    /// The mode: `--incremental` or `--full` win; else the build context in `var`'s values;
    /// else a full run.
    pub(crate) fn choose(
        incremental: bool,
        full: bool,
        var: impl Fn(&str) -> Option<String>,
    ) -> RunMode {
        let flag = |mode| RunMode {
            mode,
            reason: None,
            warning: None,
        };
        if incremental {
            return flag(Mode::Incremental);
        }
        let set = |name| var(name).filter(|v| !v.trim().is_empty());
        let build_type = set(BUILD_TYPE);
        let summary = set(SUMMARY);
        if full || (build_type.is_none() && summary.is_none()) {
            return flag(Mode::Full);
        }
        let build_type = build_type.unwrap_or_else(|| "without BUILD_TYPE".into());
        let full_because = |reason: &str, warning: Option<String>| RunMode {
            mode: Mode::Full,
            reason: Some(reason.into()),
            warning,
        };
        let Some(text) = summary else {
            return full_because(
                "the build context has no changes summary",
                Some(format!(
                    "{BUILD_TYPE} is {build_type} but {SUMMARY} is not set; running in full"
                )),
            );
        };
        let json: serde_json::Value = match serde_json::from_str(&text) {
            Ok(json) => json,
            Err(e) => {
                return full_because(
                    "the build context's changes summary is unreadable",
                    Some(format!(
                        "{SUMMARY} is not JSON ({e}); running in full (the trigger sets it to the changes summary)"
                    )),
                );
            }
        };
        match json.get("requires_full_rebuild").and_then(|v| v.as_bool()) {
            Some(true) => full_because("the build context requires a full rebuild", None),
            Some(false) => {
                let changes = json
                    .get("total_changes")
                    .and_then(|v| v.as_u64())
                    .map_or(String::new(), |n| format!(", {n} changes"));
                RunMode {
                    mode: Mode::Incremental,
                    reason: Some(format!("build context {build_type}{changes}")),
                    warning: None,
                }
            }
            None => full_because(
                "the build context's changes summary is unreadable",
                Some(format!(
                    "{SUMMARY} has no true or false requires_full_rebuild; running in full"
                )),
            ),
        }
    }

    /// The mode the summary line names: `incremental`, `full`, or either with the reason
    /// (`full: no previous state` when an incremental run found none).
    pub(crate) fn describe(&self, incremental: bool) -> String {
        match (incremental, self.mode, &self.reason) {
            (false, Mode::Incremental, _) => "full: no previous state".into(),
            (true, _, Some(reason)) => format!("incremental: {reason}"),
            (true, _, None) => "incremental".into(),
            (false, _, Some(reason)) => format!("full: {reason}"),
            (false, _, None) => "full".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn choose(incremental: bool, full: bool, vars: &[(&str, &str)]) -> RunMode {
        RunMode::choose(incremental, full, |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    #[test]
    fn flags_win_then_the_context_then_full() {
        let partial = [
            ("BUILD_TYPE", "batch"),
            (
                "CONTENT_CHANGES_SUMMARY",
                r#"{"total_changes":12,"requires_full_rebuild":false}"#,
            ),
        ];
        let whole = [
            ("BUILD_TYPE", "fallback"),
            (
                "CONTENT_CHANGES_SUMMARY",
                r#"{"requires_full_rebuild":true}"#,
            ),
        ];
        assert_eq!(choose(false, true, &partial).mode, Mode::Full);
        assert_eq!(choose(true, false, &whole).mode, Mode::Incremental);
        assert_eq!(choose(false, false, &[]).reason, None);
        let run = choose(false, false, &partial);
        assert_eq!(run.mode, Mode::Incremental);
        assert_eq!(
            run.describe(true),
            "incremental: build context batch, 12 changes"
        );
        assert_eq!(run.describe(false), "full: no previous state");
        let run = choose(false, false, &whole);
        assert_eq!(
            run.describe(false),
            "full: the build context requires a full rebuild"
        );
        assert_eq!(run.warning, None);
    }

    #[test]
    fn an_unreadable_context_warns_and_runs_in_full() {
        for vars in [
            &[
                ("BUILD_TYPE", "batch"),
                ("CONTENT_CHANGES_SUMMARY", "{\"requires"),
            ][..],
            &[(
                "CONTENT_CHANGES_SUMMARY",
                r#"{"requires_full_rebuild":"no"}"#,
            )],
            &[("BUILD_TYPE", "immediate")],
        ] {
            let run = choose(false, false, vars);
            assert_eq!(run.mode, Mode::Full, "{vars:?}");
            assert!(run.warning.is_some(), "{vars:?}");
        }
    }
}
