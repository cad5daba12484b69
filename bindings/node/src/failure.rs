//! Failures as JavaScript sees them: an `Error` whose `code` is the class of the CLI's exit
//! code, and whose message is the CLI's, with the option (not the flag) that fixes it.

use std::fmt::Write as _;

use content_fetch::{ErrorKind, FetchError, RunError};
use napi::bindgen_prelude::{JsObjectValue, ToNapiValue};
use napi::{Env, Error};
use ssg_writers::WriteError;

use crate::options::option_hint;

/// A failed call: the stable `code` and the message.
#[derive(Debug)]
pub(crate) struct Failure {
    /// The class's [`ErrorKind::code`]: `AUTH`, `NETWORK`, `VALIDATION`, `CONFIG`,
    /// `SNAPSHOT`, `OUTPUT` or `NOT_FOUND`.
    pub(crate) code: &'static str,
    /// The CLI's message, cause chain included once.
    pub(crate) message: String,
}

impl Failure {
    /// No item with that id (the CLI's exit code 1).
    pub(crate) fn not_found(id: &str) -> Failure {
        Failure {
            code: ErrorKind::NotFound.code(),
            message: format!("no item with id '{id}'"),
        }
    }

    /// The JavaScript error, made on the JS thread.
    pub(crate) fn into_js(self, env: &Env) -> Error {
        let made = env
            .create_error(Error::from_reason(self.message.clone()))
            .and_then(|mut error| {
                error.set_named_property("code", self.code)?;
                error.into_unknown(env)
            });
        match made {
            Ok(error) => Error::from(error),
            Err(e) => e,
        }
    }
}

impl From<FetchError> for Failure {
    fn from(e: FetchError) -> Failure {
        let mut message = error_line::error_line(&e);
        if let Some(setting) = e.remedy() {
            let _ = write!(message, " ({})", option_hint(setting));
        }
        Failure {
            code: e.kind().code(),
            message,
        }
    }
}

impl From<WriteError> for Failure {
    fn from(e: WriteError) -> Failure {
        Failure {
            code: ErrorKind::of_write(&e).code(),
            message: error_line::error_line(&e),
        }
    }
}

impl<E: Into<Failure>> From<RunError<E>> for Failure {
    fn from(e: RunError<E>) -> Failure {
        match e {
            RunError::Fetch(f) => f.into(),
            RunError::Sink(s) => s.into(),
        }
    }
}
