//! sipXconfig's private user key: 32 characters that alone authenticate a subscriber at
//! `/sipxconfig/rest/private/{key}/...` (links in voicemail feeds use it). A subscriber gets one
//! the first time it asks for its login details.

use serde_json::json;
use subtle::ConstantTimeEq;

use super::actor::{Actor, LoginPrincipal, Principal, Scope};
use super::audit::Event;
use super::call_sequence::check_subscriber;
use super::{Core, CoreError, CoreResult, Done};
use crate::db;

/// A key's length: 16 random bytes in hex.
pub const KEY_LEN: usize = 32;

/// The subscriber a private key names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyHolder {
    pub subscriber_id: i64,
    pub customer_id: i64,
    /// `user@domain`, or the user name alone for a subscriber without a domain.
    pub login: String,
}

impl KeyHolder {
    /// The subscriber acting on itself.
    pub fn principal(&self) -> Principal {
        Principal::Login(LoginPrincipal {
            login_id: None,
            login: self.login.clone(),
            scope: Scope::Subscriber {
                id: self.subscriber_id,
                customer_id: self.customer_id,
            },
            accounts_mgmt: 0,
            customers_mgmt: 0,
            read_only: false,
            is_reseller: false,
        })
    }
}

fn new_key() -> CoreResult<String> {
    let mut bytes = [0u8; KEY_LEN / 2];
    getrandom::fill(&mut bytes)
        .map_err(|e| CoreError::Unprocessable(format!("no randomness for a key: {e}")))?;
    Ok(hex::encode(bytes))
}

impl Core {
    /// The subscriber's private user key, made on first use.
    pub async fn private_user_key(&self, actor: &Actor, subscriber_id: i64) -> CoreResult<String> {
        let acting = actor.clone();
        let existing = self
            .query(actor, Event::PrivateKeyIssued, move |conn| {
                check_subscriber(conn, &acting, subscriber_id)?;
                Ok(db::private_keys::key_of(conn, subscriber_id)?)
            })
            .await?;
        if let Some(key) = existing {
            return Ok(key);
        }
        let key = new_key()?;
        self.mutate(actor, Event::PrivateKeyIssued, move |tx, actor, _| {
            check_subscriber(tx, actor, subscriber_id)?;
            // Another request may have made one meanwhile: keep that one.
            let key = if let Some(existing) = db::private_keys::key_of(tx, subscriber_id)? {
                existing
            } else {
                db::private_keys::insert(tx, subscriber_id, &key)?;
                key
            };
            Ok(Done {
                value: key,
                target: format!("subscriber:{subscriber_id}"),
                detail: json!({ "private_user_key": "(secret)" }).to_string(),
            })
        })
        .await
    }

    /// The active subscriber holding `key`, compared in constant time once found.
    pub async fn find_private_key_holder(&self, key: &str) -> CoreResult<Option<KeyHolder>> {
        if key.len() != KEY_LEN || !key.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Ok(None);
        }
        let key = key.to_string();
        self.db
            .read(move |conn| {
                Ok(
                    db::private_keys::holder(conn, &key)?.and_then(|(stored, holder)| {
                        bool::from(stored.as_bytes().ct_eq(key.as_bytes())).then_some(holder)
                    }),
                )
            })
            .await
    }
}
