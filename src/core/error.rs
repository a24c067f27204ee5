//! The core's one error type. Each dialect maps it to its own wire form (an XML-RPC fault, a C5
//! `{code, message}`, an HTTP status), so messages here are written for the person reading them.

use crate::db::DbError;

#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    #[error("missing required parameter '{0}'")]
    Missing(String),
    #[error("invalid parameter '{name}': {message}")]
    Invalid { name: String, message: String },
    #[error("{0} not found")]
    NotFound(String),
    /// The target exists but lies outside the caller's scope. Answered exactly like
    /// [`CoreError::NotFound`], so existence does not leak; audited as a refusal.
    #[error("{0} not found")]
    OutOfScope(String),
    #[error("{0}")]
    Duplicate(String),
    #[error("{0}")]
    Conflict(String),
    /// Well-formed input that the model cannot take (a reference to the wrong kind of row, a
    /// change to a terminated object); the message says what to fix.
    #[error("{0}")]
    Unprocessable(String),
    /// The target is still used by other rows and cannot be removed.
    #[error("{0}")]
    InUse(String),
    /// A read-only login tried to change something.
    #[error("permission denied: this login is read-only")]
    ReadOnly,
    #[error("permission denied: {0}")]
    Forbidden(String),
    #[error("storage is full: the change was not saved; free disk space and retry")]
    StorageFull,
    #[error("the server is busy: the change was not saved; retry shortly")]
    Busy,
    /// The database failed for a reason outside the request (the file system turned read-only,
    /// an I/O error, a corrupt page): the operator has to look at the data directory.
    #[error(
        "storage failure ({0}): the change was not saved; the operator must check the data \
         directory"
    )]
    StorageFailed(&'static str),
    #[error("internal storage error; the change was not saved")]
    Storage(#[source] DbError),
}

impl CoreError {
    pub fn invalid(name: &str, message: impl Into<String>) -> Self {
        Self::Invalid {
            name: name.to_string(),
            message: message.into(),
        }
    }

    /// Whether this answer should leave a "refused" row in the audit log.
    pub fn is_refusal(&self) -> bool {
        // A missing target too: a read of another tenant's object (out of scope) and of one
        // that never existed must cost the same audit write, or timing tells them apart.
        matches!(
            self,
            Self::NotFound(_) | Self::OutOfScope(_) | Self::Forbidden(_) | Self::ReadOnly
        )
    }
}

impl From<DbError> for CoreError {
    fn from(e: DbError) -> Self {
        if e.is_full() {
            Self::StorageFull
        } else if matches!(e, DbError::Busy) {
            Self::Busy
        } else if let Some(what) = e.failure() {
            tracing::error!(error = %e, "storage failure");
            Self::StorageFailed(what)
        } else {
            tracing::error!(error = %e, "storage error");
            Self::Storage(e)
        }
    }
}

pub type CoreResult<T> = Result<T, CoreError>;
