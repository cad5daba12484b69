//! One call's work: a future run to completion on the addon's Tokio runtime from a libuv
//! worker thread, then its result (or its failure, with its `code`) handed to JavaScript on
//! the JS thread, with any warnings emitted through `process.emitWarning`.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::OnceLock;

use napi::bindgen_prelude::{
    AsyncTask, FnArgs, Function, JsObjectValue, Object, ToNapiValue, TypeName,
};
use napi::{Env, Error, Task};
use tokio::runtime::Runtime;

use content_fetch::ErrorKind;

use crate::failure::Failure;

/// What a finished call gives JavaScript.
pub struct Done<T> {
    value: T,
    warnings: Vec<String>,
}

impl<T> Done<T> {
    /// A result without warnings.
    pub(crate) fn new(value: T) -> Done<T> {
        Done {
            value,
            warnings: Vec::new(),
        }
    }

    /// A result and the warnings of the run (invalid items skipped, a fallback used).
    pub(crate) fn with_warnings(value: T, warnings: Vec<String>) -> Done<T> {
        Done { value, warnings }
    }
}

/// Makes the call's future inside `compute`: the future runs where it is made (the library's
/// sinks are not `Send`), only the making moves to the worker thread.
type Work<T> = Box<dyn FnOnce() -> Pin<Box<dyn Future<Output = Result<Done<T>, Failure>>>> + Send>;

/// The work of one call, as a napi task.
pub struct Job<T> {
    work: Option<Work<T>>,
    failure: Option<Failure>,
}

impl<T: ToNapiValue + TypeName + Send + 'static> Job<T> {
    /// The call's promise: the future `work` makes runs off the JS thread.
    pub(crate) fn spawn<F>(work: impl FnOnce() -> F + Send + 'static) -> AsyncTask<Job<T>>
    where
        F: Future<Output = Result<Done<T>, Failure>> + 'static,
    {
        AsyncTask::new(Job {
            work: Some(Box::new(move || Box::pin(work()))),
            failure: None,
        })
    }
}

/// The addon's runtime: two workers, like the CLI's, shared by every call.
fn runtime() -> Result<&'static Runtime, Failure> {
    static RUNTIME: OnceLock<Result<Runtime, String>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("content-fetch")
                .enable_all()
                .build()
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| Failure {
            code: ErrorKind::Config.code(),
            message: format!("cannot start the async runtime: {e}"),
        })
}

/// The working folder, where `content-fetch.toml` is searched from.
pub(crate) fn cwd() -> Result<PathBuf, Failure> {
    std::env::current_dir().map_err(|e| Failure {
        code: ErrorKind::Config.code(),
        message: format!("cannot read the working folder: {e}"),
    })
}

impl<T: ToNapiValue + TypeName + Send + 'static> Task for Job<T> {
    type Output = Done<T>;
    type JsValue = T;

    fn compute(&mut self) -> napi::Result<Done<T>> {
        let outcome = match (self.work.take(), runtime()) {
            (Some(work), Ok(runtime)) => runtime.block_on(work()),
            (None, _) => Err(Failure {
                code: ErrorKind::Config.code(),
                message: "the call ran twice".into(),
            }),
            (_, Err(failure)) => Err(failure),
        };
        outcome.map_err(|failure| {
            let error = Error::from_reason(failure.message.clone());
            self.failure = Some(failure);
            error
        })
    }

    fn resolve(&mut self, env: Env, done: Done<T>) -> napi::Result<T> {
        if !done.warnings.is_empty() {
            let process: Object = env.get_global()?.get_named_property("process")?;
            let emit: Function<FnArgs<(String, String, String)>, ()> =
                process.get_named_property("emitWarning")?;
            for warning in done.warnings {
                emit.call(FnArgs::from((
                    warning,
                    "ContentFetchWarning".to_string(),
                    "CONTENT_FETCH".to_string(),
                )))?;
            }
        }
        Ok(done.value)
    }

    fn reject(&mut self, env: Env, error: Error) -> napi::Result<T> {
        match self.failure.take() {
            Some(failure) => Err(failure.into_js(&env)),
            None => Err(error),
        }
    }
}
