//! The replication journal (SIP2SIP's chat history): a subscriber's devices put opaque entries
//! and read back the ones other devices put. Entries are kept exactly as given; each journal
//! holds a bounded number of them, and the oldest are dropped, with an audit row, to make room.

use std::sync::atomic::Ordering;

use serde_json::json;

use super::actor::Actor;
use super::audit::{self, Event, Outcome};
use super::forwarding::reachable_subscriber;
use super::{Core, CoreError, CoreResult, Done};
use crate::db::{self, journal::JournalFilter};

/// Entries a journal keeps when the configuration names no other number.
pub const DEFAULT_CAPACITY: usize = 10_000;
/// Entries one read returns at most, whatever limit is asked for.
pub const MAX_READ: usize = 5_000;
/// Entries one put may carry, and the largest entry.
pub const MAX_PUT: usize = 1_000;
pub const MAX_DATA_BYTES: usize = 64 * 1024;
const MAX_ID_CHARS: usize = 255;

/// One entry of a put: add `data` under the device's id for it, or remove that id's entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JournalPut {
    Add { client_id: String, data: String },
    Remove { client_id: String },
}

impl JournalPut {
    fn client_id(&self) -> &str {
        match self {
            Self::Add { client_id, .. } | Self::Remove { client_id } => client_id,
        }
    }
}

/// What a put did with one entry: the journal id it got (or, for a removal, the first one
/// removed; None when nothing had that id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalPutResult {
    pub client_id: String,
    pub journal_id: Option<i64>,
}

/// One entry as a read returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalEntry {
    pub id: i64,
    /// Seconds since the epoch.
    pub timestamp: i64,
    pub uuid: String,
    pub ip_address: String,
    pub data: String,
}

/// What a read asks for.
#[derive(Debug, Clone, Default)]
pub struct JournalQuery {
    /// Leave out this device's own entries.
    pub except_uuid: Option<String>,
    pub after_id: Option<i64>,
    /// Seconds since the epoch.
    pub after_timestamp: Option<i64>,
    /// At most this many (never more than [`MAX_READ`]).
    pub limit: Option<usize>,
    /// Also list (id, timestamp) of the journal's newest entries, every device's.
    pub summary: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalPage {
    pub entries: Vec<JournalEntry>,
    pub summary: Option<Vec<(i64, i64)>>,
}

fn invalid(name: &str, message: impl Into<String>) -> CoreError {
    CoreError::Invalid {
        name: name.into(),
        message: message.into(),
    }
}

fn check_put(uuid: &str, entries: &[JournalPut]) -> CoreResult<()> {
    if uuid.is_empty() || uuid.chars().count() > MAX_ID_CHARS {
        return Err(invalid(
            "uuid",
            format!("must be 1 to {MAX_ID_CHARS} characters"),
        ));
    }
    if entries.len() > MAX_PUT {
        return Err(invalid(
            "data",
            format!("holds more than {MAX_PUT} entries"),
        ));
    }
    for e in entries {
        let id = e.client_id();
        if id.is_empty() || id.chars().count() > MAX_ID_CHARS {
            return Err(invalid(
                "data",
                format!(
                    "entry id '{}' must be 1 to {MAX_ID_CHARS} characters",
                    id.chars().take(40).collect::<String>()
                ),
            ));
        }
        if let JournalPut::Add { data, .. } = e
            && data.len() > MAX_DATA_BYTES
        {
            return Err(invalid(
                "data",
                format!("entry '{id}' is larger than {MAX_DATA_BYTES} bytes"),
            ));
        }
    }
    Ok(())
}

impl Core {
    /// Sets how many entries each journal keeps (at least one).
    pub fn set_journal_capacity(&self, entries: usize) {
        self.journal_capacity
            .store(entries.max(1), Ordering::Relaxed);
    }

    /// Adds and removes entries of subscriber `id`'s journal for device `uuid`, in order, in one
    /// transaction; then drops the oldest entries beyond the journal's capacity.
    pub async fn put_journal_entries(
        &self,
        actor: &Actor,
        id: i64,
        uuid: String,
        entries: Vec<JournalPut>,
    ) -> CoreResult<Vec<JournalPutResult>> {
        if let Err(e) = check_put(&uuid, &entries) {
            return self.refuse(actor, Event::JournalEntriesPut, e).await;
        }
        let capacity = self.journal_capacity.load(Ordering::Relaxed);
        self.mutate(actor, Event::JournalEntriesPut, move |tx, actor, now| {
            reachable_subscriber(tx, &actor.principal, id)?;
            let ip = actor
                .user_ip
                .clone()
                .or_else(|| actor.peer_ip.map(|ip| ip.to_string()))
                .unwrap_or_default();
            let (mut added, mut removed) = (0, 0);
            let mut results = Vec::with_capacity(entries.len());
            for e in &entries {
                let journal_id = match e {
                    JournalPut::Add { client_id, data } => {
                        added += 1;
                        Some(db::journal::insert(
                            tx,
                            id,
                            &uuid,
                            client_id,
                            data,
                            now / 1000,
                            &ip,
                        )?)
                    }
                    JournalPut::Remove { client_id } => {
                        let gone = db::journal::remove_by_client_id(tx, id, client_id)?;
                        removed += gone.len();
                        gone.first().copied()
                    }
                };
                results.push(JournalPutResult {
                    client_id: e.client_id().to_string(),
                    journal_id,
                });
            }
            let dropped = db::journal::trim(tx, id, capacity)?;
            let target = format!("subscriber:{id}");
            if dropped > 0 {
                let detail = json!({"dropped": dropped, "capacity": capacity}).to_string();
                let entry = audit::Entry {
                    event: Event::JournalEntriesDropped,
                    outcome: Outcome::Ok,
                    target: &target,
                    detail: &detail,
                };
                audit::record(tx, actor, now, &entry)?;
            }
            Ok(Done {
                value: results,
                detail: json!({"uuid": uuid, "added": added, "removed": removed}).to_string(),
                target,
            })
        })
        .await
    }

    /// Entries of subscriber `id`'s journal, oldest first.
    pub async fn get_journal_entries(
        &self,
        actor: &Actor,
        id: i64,
        query: JournalQuery,
    ) -> CoreResult<JournalPage> {
        let principal = actor.principal.clone();
        self.query(actor, Event::JournalRead, move |conn| {
            reachable_subscriber(conn, &principal, id)?;
            let filter = JournalFilter {
                except_uuid: query.except_uuid.as_deref(),
                after_id: query.after_id.unwrap_or(0),
                after_timestamp: query.after_timestamp.unwrap_or(i64::MIN),
                limit: query.limit.unwrap_or(MAX_READ).min(MAX_READ),
            };
            let entries = db::journal::entries(conn, id, &filter)?
                .into_iter()
                .map(|r| JournalEntry {
                    id: r.id,
                    timestamp: r.timestamp,
                    uuid: r.uuid,
                    ip_address: r.ip_address,
                    data: r.data,
                })
                .collect();
            let summary = if query.summary {
                Some(db::journal::summary(conn, id, MAX_READ)?)
            } else {
                None
            };
            Ok(JournalPage { entries, summary })
        })
        .await
    }

    /// Removes entries of subscriber `id`'s journal by journal id; ids it does not have are
    /// ignored. Returns how many were removed.
    pub async fn delete_journal_entries(
        &self,
        actor: &Actor,
        id: i64,
        journal_ids: Vec<i64>,
    ) -> CoreResult<usize> {
        if journal_ids.len() > MAX_READ {
            let e = invalid("data", format!("names more than {MAX_READ} entries"));
            return self.refuse(actor, Event::JournalEntriesDeleted, e).await;
        }
        self.mutate(actor, Event::JournalEntriesDeleted, move |tx, actor, _| {
            reachable_subscriber(tx, &actor.principal, id)?;
            let removed = db::journal::remove(tx, id, &journal_ids)?;
            Ok(Done {
                value: removed,
                target: format!("subscriber:{id}"),
                detail: json!({"asked": journal_ids.len(), "removed": removed}).to_string(),
            })
        })
        .await
    }
}
