//! A subscriber's sipXconfig credentials: the user-portal PIN (what `my/...` authenticates with),
//! the voicemail PIN, and the login details it may read about itself.

use serde_json::json;

use super::actor::Actor;
use super::audit::Event;
use super::call_sequence::check_subscriber;
use super::{Core, CoreError, CoreResult, Done};
use crate::db;

/// What a subscriber may read about its own sign-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginDetails {
    pub user_name: String,
    /// The IM id (none: switchyard has no IM service, so it is the user name).
    pub im_id: String,
    /// The private user key for `/sipxconfig/rest/private/{key}/...`.
    pub private_user_key: String,
}

/// Checks a portal PIN: 4 to 64 printable ASCII characters, no spaces.
fn check_portal_pin(pin: &str) -> CoreResult<()> {
    if !(4..=64).contains(&pin.len()) || !pin.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(CoreError::invalid(
            "portal password",
            "must be 4 to 64 printable characters without spaces",
        ));
    }
    Ok(())
}

/// Checks a voicemail PIN: 4 to 16 digits, as phones key it in.
fn check_voicemail_pin(pin: &str) -> CoreResult<()> {
    if !(4..=16).contains(&pin.len()) || !pin.bytes().all(|b| b.is_ascii_digit()) {
        return Err(CoreError::invalid(
            "voicemail pin",
            "must be 4 to 16 digits",
        ));
    }
    Ok(())
}

impl Core {
    /// Sets the subscriber's user-portal PIN (the subscriber itself, its admins, the operator).
    pub async fn set_portal_pin(&self, actor: &Actor, id: i64, pin: String) -> CoreResult<()> {
        if let Err(e) = check_portal_pin(&pin) {
            return self.refuse(actor, Event::PortalPinChanged, e).await;
        }
        self.mutate(actor, Event::PortalPinChanged, move |tx, actor, _| {
            check_subscriber(tx, actor, id)?;
            db::credentials::set_portal_pin(tx, id, &pin)?;
            Ok(Done {
                value: (),
                target: format!("subscriber:{id}"),
                detail: json!({ "portal_pin": "(secret)" }).to_string(),
            })
        })
        .await
    }

    /// Sets the subscriber's voicemail PIN (`vm_password`, as XML-RPC knows it).
    pub async fn set_voicemail_pin(&self, actor: &Actor, id: i64, pin: String) -> CoreResult<()> {
        if let Err(e) = check_voicemail_pin(&pin) {
            return self.refuse(actor, Event::VoicemailPinChanged, e).await;
        }
        self.mutate(actor, Event::VoicemailPinChanged, move |tx, actor, _| {
            check_subscriber(tx, actor, id)?;
            db::credentials::set_voicemail_pin(tx, id, &pin)?;
            Ok(Done {
                value: (),
                target: format!("subscriber:{id}"),
                detail: json!({ "vm_password": "(secret)" }).to_string(),
            })
        })
        .await
    }

    /// The subscriber's login details; its private user key is made on first use.
    pub async fn login_details(&self, actor: &Actor, id: i64) -> CoreResult<LoginDetails> {
        let acting = actor.clone();
        let user_name = self
            .query(actor, Event::LoginDetailsRead, move |conn| {
                check_subscriber(conn, &acting, id)?;
                db::credentials::user_name(conn, id)?
                    .ok_or_else(|| CoreError::NotFound(format!("subscriber {id}")))
            })
            .await?;
        let private_user_key = self.private_user_key(actor, id).await?;
        Ok(LoginDetails {
            im_id: user_name.clone(),
            user_name,
            private_user_key,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_are_checked() {
        assert!(check_portal_pin("1234").is_ok());
        assert!(check_portal_pin("s3cret!pw").is_ok());
        assert!(check_portal_pin("123").is_err());
        assert!(check_portal_pin("with space").is_err());
        assert!(check_voicemail_pin("0042").is_ok());
        assert!(check_voicemail_pin("12a4").is_err());
        assert!(check_voicemail_pin("1").is_err());
    }
}
