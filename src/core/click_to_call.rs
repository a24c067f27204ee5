//! Click-to-call (sipXconfig `my/call/{to}`): a subscriber asks for a call from its own phones to
//! a number. The request is a job recorded and audited here; the server hands it to the
//! configured call controller and records what came of it.

use serde_json::json;

use super::actor::Actor;
use super::audit::Event;
use super::call_sequence::check_subscriber;
use super::{Core, CoreError, CoreResult, Done, permissions};
use crate::db;

/// Characters sipXconfig strips from a number before checking it.
pub const STRIPPED: &[char] = &['[', ']', '(', ')', '.', '{', '}', '-'];
/// The longest number that can be called.
const MAX_NUMBER: usize = 32;
/// The most jobs one listing shows.
const MAX_LIST: u32 = 1000;

/// The states of a job.
pub const PENDING: &str = "pending";
pub const HANDED_OVER: &str = "handed_over";
pub const FAILED: &str = "failed";

/// One click-to-call request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallJob {
    pub id: i64,
    pub subscriber_id: i64,
    /// The subscriber's address (`user@domain`), whose phones ring first.
    pub caller: String,
    /// The cleaned number to call.
    pub callee: String,
    pub state: String,
    /// What the call controller answered, or why it failed.
    pub outcome: String,
    pub created_on: i64,
    pub finished_on: Option<i64>,
}

/// Strips sipXconfig's decoration characters and checks the rest is a number: digits, `*`, `#`,
/// an optional leading `+`.
pub fn clean_number(raw: &str) -> CoreResult<String> {
    let cleaned: String = raw.chars().filter(|c| !STRIPPED.contains(c)).collect();
    let digits = cleaned.strip_prefix('+').unwrap_or(&cleaned);
    if digits.is_empty()
        || cleaned.len() > MAX_NUMBER
        || !digits
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b'*' || b == b'#')
    {
        return Err(CoreError::invalid(
            "to",
            format!(
                "'{raw}' is not a number to call: digits, '*' and '#' with an optional leading \
                 '+', at most {MAX_NUMBER} characters"
            ),
        ));
    }
    Ok(cleaned)
}

impl Core {
    /// Records a click-to-call request of subscriber `id` to `to` (cleaned and checked).
    pub async fn request_call(&self, actor: &Actor, id: i64, to: &str) -> CoreResult<CallJob> {
        let callee = match clean_number(to) {
            Ok(c) => c,
            Err(e) => return self.refuse(actor, Event::ClickToCallRequested, e).await,
        };
        self.mutate(actor, Event::ClickToCallRequested, move |tx, actor, now| {
            check_subscriber(tx, actor, id)?;
            let address = db::click_to_call::address(tx, id)?
                .ok_or_else(|| CoreError::NotFound(format!("subscriber {id}")))?;
            let job = db::click_to_call::insert(tx, id, &address, &callee, now)?;
            Ok(Done {
                target: format!("subscriber:{id}"),
                detail: json!({ "job": job.id, "callee": job.callee }).to_string(),
                value: job,
            })
        })
        .await
    }

    /// Records what the call controller made of job `job_id`.
    pub async fn finish_call(
        &self,
        actor: &Actor,
        job_id: i64,
        outcome: Result<String, String>,
    ) -> CoreResult<()> {
        let (state, text) = match outcome {
            Ok(t) => (HANDED_OVER, t),
            Err(t) => (FAILED, t),
        };
        self.mutate(actor, Event::ClickToCallFinished, move |tx, actor, now| {
            let job = db::click_to_call::get(tx, job_id)?
                .ok_or_else(|| CoreError::NotFound(format!("call {job_id}")))?;
            check_subscriber(tx, actor, job.subscriber_id)?;
            db::click_to_call::finish(tx, job_id, state, &text, now)?;
            Ok(Done {
                value: (),
                target: format!("call:{job_id}"),
                detail: json!({ "state": state, "outcome": text }).to_string(),
            })
        })
        .await
    }

    /// The newest `limit` jobs, oldest first; the operator and root see them all.
    pub async fn list_calls(&self, actor: &Actor, limit: u32) -> CoreResult<Vec<CallJob>> {
        let acting = actor.clone();
        self.query(actor, Event::ClickToCallRead, move |conn| {
            if !permissions::is_root_equivalent(&acting.principal) {
                return Err(CoreError::Forbidden(
                    "only the operator reads every click-to-call job".into(),
                ));
            }
            Ok(db::click_to_call::newest(conn, limit.clamp(1, MAX_LIST))?)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_cleaned_then_checked() {
        assert!(
            clean_number("(0316) 123-45.67").is_err(),
            "spaces are not stripped"
        );
        assert_eq!(clean_number("(0316)123-45.67").unwrap(), "03161234567");
        assert_eq!(clean_number("+43[316]{1}").unwrap(), "+433161");
        assert_eq!(clean_number("*97#").unwrap(), "*97#");
        assert!(clean_number("---").is_err());
        assert!(clean_number("12ab").is_err());
        assert!(clean_number("sip:bob@example.com").is_err());
    }
}
