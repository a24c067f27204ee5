//! Client certificates (C5's `admincerts`): which login a certificate serial stands for. The
//! certificates themselves (keys, X.509, the CA) are made in `server::pki`; the core only records
//! serial → login, audited, and answers the lookup that certificate authentication makes.

use serde_json::json;

use super::actor::Actor;
use super::audit::Event;
use super::logins::ApiLogin;
use super::{Core, CoreError, CoreResult, Done, permissions};
use crate::db;

/// The longest serial accepted: 20 bytes (RFC 5280 §4.1.2.2) in hex.
const MAX_SERIAL_HEX: usize = 40;

/// Checks a serial as the TLS layer renders it: lowercase hex without leading zero bytes.
fn check_serial(serial: &str) -> CoreResult<()> {
    let ok = !serial.is_empty()
        && serial.len() <= MAX_SERIAL_HEX
        && serial
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if ok {
        Ok(())
    } else {
        Err(CoreError::invalid(
            "serial",
            format!("must be 1 to {MAX_SERIAL_HEX} lowercase hex digits"),
        ))
    }
}

impl Core {
    /// Records that the certificate `serial`, valid until `not_after` (milliseconds since the
    /// epoch), was issued to the acting login. Only a customer or admin login gets one (a
    /// read-only login too, as in C5); trusted hosts and the operator are refused.
    pub async fn record_client_cert(
        &self,
        actor: &Actor,
        serial: &str,
        not_after: i64,
    ) -> CoreResult<()> {
        let holder = match permissions::client_cert_holder(&actor.principal) {
            Ok(h) => h,
            Err(e) => return self.refuse(actor, Event::ClientCertIssued, e).await,
        };
        self.insert_client_cert(actor, holder, serial, not_after)
            .await
    }

    /// Records that the certificate `serial` was issued to the login called `login`: the
    /// operator's command line only.
    pub async fn record_client_cert_for(
        &self,
        actor: &Actor,
        login: &str,
        serial: &str,
        not_after: i64,
    ) -> CoreResult<()> {
        if let Err(e) = permissions::may_issue_client_certs_for_others(&actor.principal) {
            return self.refuse(actor, Event::ClientCertIssued, e).await;
        }
        let name = login.to_string();
        let holder = self
            .db
            .read(move |conn| Ok::<_, CoreError>(db::client_certs::holder_id(conn, &name)?))
            .await?
            .ok_or_else(|| CoreError::NotFound(format!("login '{login}'")))?;
        self.insert_client_cert(actor, holder, serial, not_after)
            .await
    }

    async fn insert_client_cert(
        &self,
        actor: &Actor,
        holder: i64,
        serial: &str,
        not_after: i64,
    ) -> CoreResult<()> {
        if let Err(e) = check_serial(serial) {
            return self.refuse(actor, Event::ClientCertIssued, e).await;
        }
        if not_after <= self.now() {
            let e = CoreError::invalid("not_after", "the certificate has already expired");
            return self.refuse(actor, Event::ClientCertIssued, e).await;
        }
        let serial = serial.to_string();
        self.mutate(actor, Event::ClientCertIssued, move |tx, _, now| {
            if db::client_certs::exists(tx, &serial)? {
                return Err(CoreError::Duplicate(format!(
                    "a client certificate with serial {serial} already exists"
                )));
            }
            db::client_certs::insert(tx, &serial, holder, not_after, now)?;
            Ok(Done {
                value: (),
                target: format!("login:{holder}"),
                detail: json!({ "serial": serial, "not_after": not_after }).to_string(),
            })
        })
        .await
    }

    /// The login a client certificate authenticates as: None for an unknown serial, an expired
    /// certificate, or a subscriber login. The API gates are the caller's to apply
    /// ([`ApiLogin::pass_gates`]), exactly as for passwords.
    pub async fn find_login_by_cert_serial(&self, serial: &str) -> CoreResult<Option<ApiLogin>> {
        let now = self.now();
        let found = if let Some(hit) = self.logins.get_by_serial(serial, now) {
            Some(hit)
        } else {
            if check_serial(serial).is_err() {
                return Ok(None);
            }
            let key = serial.to_string();
            let found = self
                .db
                .read(move |conn| Ok::<_, CoreError>(db::client_certs::find_login(conn, &key)?))
                .await?;
            if let Some(hit) = &found {
                self.logins
                    .put_by_serial(serial.to_string(), hit.clone(), now);
            }
            found
        };
        Ok(found
            .filter(|(_, not_after)| *not_after > now)
            .map(|(row, _)| ApiLogin(row)))
    }
}
