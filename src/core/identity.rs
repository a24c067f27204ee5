//! What a subscriber shows about itself (SIP2SIP `get_identity`, `get_aliases`, `get_enum`) and
//! the aliases it may add. Aliases and ENUM numbers are the one `numbers` table: C5's primary
//! and alias numbers, Sippy's DIDs.

use serde_json::json;

use super::actor::Actor;
use super::audit::Event;
use super::forwarding::reachable_subscriber;
use super::{Core, CoreError, CoreResult, Done};
use crate::db;

pub use db::identity::IdentityRow as Identity;

/// The most aliases a subscriber may have.
pub const MAX_ALIASES: usize = 20;
/// The longest alias name.
const MAX_ALIAS_LEN: usize = 64;

/// Checks and lowercases an alias user name: letters, digits, `.`, `_`, `-`.
pub fn normalize_alias(name: &str) -> CoreResult<String> {
    let name = name.trim().to_ascii_lowercase();
    if name.is_empty() || name.len() > MAX_ALIAS_LEN {
        return Err(CoreError::invalid(
            "username",
            format!("must be 1 to {MAX_ALIAS_LEN} characters"),
        ));
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    {
        return Err(CoreError::invalid(
            "username",
            format!("'{name}' may hold only letters, digits, '.', '_' and '-'"),
        ));
    }
    Ok(name)
}

impl Core {
    pub async fn identity(&self, actor: &Actor, id: i64) -> CoreResult<Identity> {
        let acting = actor.clone();
        self.query(actor, Event::AccountRead, move |conn| {
            reachable_subscriber(conn, &acting.principal, id)?;
            db::identity::read(conn, id)?
                .ok_or_else(|| CoreError::NotFound(format!("subscriber {id}")))
        })
        .await
    }

    /// Adds the alias `name` (checked and lowercased) to subscriber `id`; returns it.
    pub async fn add_alias(&self, actor: &Actor, id: i64, name: &str) -> CoreResult<String> {
        let name = match normalize_alias(name) {
            Ok(n) => n,
            Err(e) => return self.refuse(actor, Event::AccountUpdated, e).await,
        };
        self.mutate(actor, Event::AccountUpdated, move |tx, actor, _| {
            reachable_subscriber(tx, &actor.principal, id)?;
            let identity = db::identity::read(tx, id)?
                .ok_or_else(|| CoreError::NotFound(format!("subscriber {id}")))?;
            if identity.numbers.len() >= MAX_ALIASES {
                return Err(CoreError::Conflict(format!(
                    "the account has {MAX_ALIASES} aliases already"
                )));
            }
            if db::identity::alias_taken(tx, &name, identity.domain_id)? {
                return Err(CoreError::Duplicate(format!("alias '{name}' is taken")));
            }
            db::identity::insert_alias(tx, id, &name)?;
            Ok(Done {
                detail: json!({ "alias": name }).to_string(),
                value: name,
                target: format!("subscriber:{id}"),
            })
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_are_lowercased_and_checked() {
        assert_eq!(normalize_alias(" Alice.B ").unwrap(), "alice.b");
        assert!(normalize_alias("a b").is_err());
        assert!(normalize_alias("").is_err());
        assert!(normalize_alias(&"x".repeat(65)).is_err());
    }
}
