//! The core: owns the data model, decides who may do what, and writes the audit log. Dialects call
//! [`Core`] only; the core reaches storage only through `db`'s functions and handle types.

pub mod accounts;
pub mod actor;
pub mod address_book;
pub mod admin;
pub mod attrs;
pub mod audit;
pub mod auth_rules;
pub mod call_groups;
pub mod call_sequence;
pub mod calls;
pub mod click_to_call;
pub mod client_certs;
pub mod conferences;
pub mod contact_information;
pub mod credentials;
pub mod customers;
pub mod error;
pub mod forwarding;
pub mod gates;
pub mod identity;
pub mod journal;
pub mod logins;
pub mod maintenance;
pub mod passwords;
pub mod permissions;
pub mod phonebooks;
pub mod phones;
pub mod preferences;
pub mod private_keys;
pub mod records;
pub mod resources;
pub mod self_care;
pub mod sessions;
pub mod sipx_permissions;
pub mod sipx_users;
pub mod trusted_hosts;
pub mod vouchers;

use std::sync::Arc;

use serde_json::{Value as Json, json};

use crate::clock::SharedClock;
use crate::db::{Conn, Db, WriteTx};
use actor::Actor;
use audit::{Entry, Event, Outcome};
pub use error::{CoreError, CoreResult};

/// The largest page any list call returns.
pub const MAX_PAGE: i64 = 10_000;
/// The page size when the caller names none.
pub const DEFAULT_PAGE: i64 = 1_000;

/// What a successful mutation reports for its audit row.
pub struct Done<T> {
    pub value: T,
    pub target: String,
    /// JSON text; hot paths render it before the write so the writer thread does less.
    pub detail: String,
}

/// The core facade. Cheap to clone; every clone shares the same database and clock.
#[derive(Clone)]
pub struct Core {
    db: Db,
    clock: SharedClock,
    realm: String,
    logins: Arc<logins::LoginCache>,
    address_books: Arc<address_book::AddressBooks>,
    journal_capacity: Arc<std::sync::atomic::AtomicUsize>,
}

impl Core {
    /// `realm` is the HTTP Digest realm API passwords are hashed for.
    pub fn new(db: Db, clock: SharedClock, realm: String) -> Self {
        Self {
            db,
            clock,
            realm,
            logins: Arc::default(),
            address_books: Arc::default(),
            journal_capacity: Arc::new(journal::DEFAULT_CAPACITY.into()),
        }
    }

    pub fn realm(&self) -> &str {
        &self.realm
    }

    /// The clock this core reads, for parts that sign or expire things on the same time.
    pub fn clock(&self) -> SharedClock {
        self.clock.clone()
    }

    pub fn now(&self) -> i64 {
        self.clock.now_millis()
    }

    /// Runs a change in one transaction and writes its audit row in that same transaction. A
    /// change the caller was not allowed to make, or gave bad input for, is rolled back and
    /// audited as refused in a transaction of its own.
    async fn mutate<T, F>(&self, actor: &Actor, event: Event, change: F) -> CoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&WriteTx<'_>, &Actor, i64) -> CoreResult<Done<T>> + Send + 'static,
    {
        let now = self.now();
        let acting = actor.clone();
        let result = self
            .db
            .write(move |tx| {
                if acting.principal.is_read_only() && !event.allowed_read_only() {
                    return Err(CoreError::ReadOnly);
                }
                let done = change(tx, &acting, now)?;
                let entry = Entry {
                    event,
                    outcome: Outcome::Ok,
                    target: &done.target,
                    detail: &done.detail,
                };
                audit::record(tx, &acting, now, &entry)?;
                Ok::<_, CoreError>(done.value)
            })
            .await;
        if result.is_ok() && event.touches_logins() {
            self.logins.clear();
        }
        if let Err(e) = &result
            && !matches!(
                e,
                CoreError::Storage(_)
                    | CoreError::StorageFailed(_)
                    | CoreError::StorageFull
                    | CoreError::Busy
            )
        {
            self.audit_refusal(actor, event, e).await;
        }
        result
    }

    /// Runs a read; a refusal (a target outside the caller's scope) is audited.
    async fn query<T, F>(&self, actor: &Actor, event: Event, read: F) -> CoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Conn<'_>) -> CoreResult<T> + Send + 'static,
    {
        let result = self.db.read(read).await;
        if let Err(e) = &result
            && e.is_refusal()
        {
            self.audit_refusal(actor, event, e).await;
        }
        result
    }

    async fn audit_refusal(&self, actor: &Actor, event: Event, error: &CoreError) {
        let detail = json!({ "event": event.code(), "error": error.to_string() });
        self.audit_refused(actor, detail).await;
    }

    /// Audits a refused call, with what was refused and why in `detail`.
    pub(crate) async fn audit_refused(&self, actor: &Actor, detail: Json) {
        self.audit_only(
            actor,
            Event::ApiRefused,
            Outcome::Refused,
            String::new(),
            detail,
        )
        .await;
    }

    /// Writes an audit row that stands alone (failed authentication, refused call). A failure to
    /// write it is logged, not returned: the caller is already answering with a refusal.
    pub(crate) async fn audit_only(
        &self,
        actor: &Actor,
        event: Event,
        outcome: Outcome,
        target: String,
        detail: Json,
    ) {
        let now = self.now();
        let acting = actor.clone();
        let detail = detail.to_string();
        let written = self
            .db
            .write(move |tx| {
                let entry = Entry {
                    event,
                    outcome,
                    target: &target,
                    detail: &detail,
                };
                audit::record(tx, &acting, now, &entry).map_err(CoreError::from)
            })
            .await;
        if let Err(e) = written {
            tracing::error!(error = %e, "could not write an audit row");
        }
    }

    /// Reads the audit log, newest first. Root's login, trusted hosts and the operator see all of
    /// it; other logins see only the rows they caused.
    pub async fn audit_log(
        &self,
        actor: &Actor,
        mut filter: audit::AuditFilter,
    ) -> CoreResult<Vec<audit::AuditRecord>> {
        if !permissions::is_root_equivalent(&actor.principal) {
            filter.principal = Some(actor.principal.audit_name());
        }
        filter.limit = filter.limit.clamp(1, 1000);
        self.query(actor, Event::AuditRead, move |conn| {
            Ok(crate::db::audit::list(conn, &filter)?)
        })
        .await
    }
}

/// Checks an offset/limit pair from a client and applies the defaults.
pub fn page(offset: Option<i64>, limit: Option<i64>) -> CoreResult<(i64, i64)> {
    let offset = offset.unwrap_or(0);
    if offset < 0 {
        return Err(CoreError::invalid("offset", "must not be negative"));
    }
    let limit = limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(CoreError::invalid(
            "limit",
            format!("must be from 1 to {MAX_PAGE}"),
        ));
    }
    Ok((offset, limit))
}

impl Core {
    /// Audits a call refused before it reached storage, and returns its error.
    async fn refuse<T>(&self, actor: &Actor, event: Event, error: CoreError) -> CoreResult<T> {
        self.audit_refusal(actor, event, &error).await;
        Err(error)
    }
}

impl Core {
    /// Whether the database answers.
    pub async fn health(&self) -> CoreResult<()> {
        self.db
            .read(|conn| Ok(crate::db::settings::get(conn, "nonce_key").map(|_| ())?))
            .await
    }
}

#[cfg(test)]
pub(crate) mod tests;
