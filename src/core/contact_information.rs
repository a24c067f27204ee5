//! A subscriber's contact information as sipXconfig keeps it. The names and the e-mail address
//! are the subscriber's contact row (and its C5 `email`), so XML-RPC and C5 see the same values;
//! the rest (job, addresses, other numbers, IM and social names) is stored beside it as a checked
//! JSON object.

use std::collections::BTreeMap;

use serde_json::{Map, Value as Json, json};

use super::actor::Actor;
use super::audit::Event;
use super::call_sequence::check_subscriber;
use super::{Core, CoreError, CoreResult, Done};
use crate::db;

/// Text fields kept beside the contact row, by their sipXconfig names.
pub const TEXT_FIELDS: [&str; 26] = [
    "jobTitle",
    "jobDept",
    "companyName",
    "assistantName",
    "location",
    "cellPhoneNumber",
    "homePhoneNumber",
    "assistantPhoneNumber",
    "faxNumber",
    "didNumber",
    "imDisplayName",
    "alternateImId",
    "alternateEmailAddress",
    "emailAddressAliases",
    "branchName",
    "twiterName",
    "linkedinName",
    "facebookName",
    "xingName",
    "custom1",
    "custom2",
    "custom3",
    "imId",
    "salutation",
    "manager",
    "employeeId",
];
/// Fields a subscriber may not change (an administrator's or the directory's).
pub const READ_ONLY_FIELDS: [&str; 4] = ["imId", "salutation", "manager", "employeeId"];
/// The addresses, each with [`ADDRESS_PARTS`].
pub const ADDRESS_FIELDS: [&str; 3] = ["homeAddress", "officeAddress", "branchAddress"];
pub const ADDRESS_PARTS: [&str; 6] = [
    "street",
    "city",
    "country",
    "state",
    "zip",
    "officeDesignation",
];
/// The longest value of a field.
const MAX_TEXT: usize = 255;

pub type Address = BTreeMap<String, String>;

/// Contact information as read, or as a subscriber writes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContactInformation {
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    /// Non-empty values of [`TEXT_FIELDS`].
    pub text: BTreeMap<String, String>,
    /// Non-empty parts of each address in [`ADDRESS_FIELDS`].
    pub addresses: BTreeMap<String, Address>,
    pub use_branch_address: bool,
    /// Whether the subscriber is active (read only).
    pub enabled: bool,
    /// When it last changed, ms since the epoch (read only).
    pub updated_on: Option<i64>,
}

fn check_text(field: &str, value: &str) -> CoreResult<()> {
    if value.len() > MAX_TEXT || value.chars().any(char::is_control) {
        return Err(CoreError::invalid(
            field,
            format!("must be at most {MAX_TEXT} bytes without control characters"),
        ));
    }
    Ok(())
}

/// Checks a subscriber's input; fields outside the model are refused by name.
fn check(info: &ContactInformation) -> CoreResult<()> {
    check_text("firstName", &info.first_name)?;
    check_text("lastName", &info.last_name)?;
    check_text("emailAddress", &info.email)?;
    if !info.email.is_empty()
        && !info.email.split_once('@').is_some_and(|(l, d)| {
            !l.is_empty() && d.contains('.') && !d.contains(char::is_whitespace)
        })
    {
        return Err(CoreError::invalid(
            "emailAddress",
            format!("'{}' is not an e-mail address", info.email),
        ));
    }
    for (k, v) in &info.text {
        if !TEXT_FIELDS.contains(&k.as_str()) {
            return Err(CoreError::invalid(k, "is not a contact information field"));
        }
        check_text(k, v)?;
    }
    for (k, address) in &info.addresses {
        if !ADDRESS_FIELDS.contains(&k.as_str()) {
            return Err(CoreError::invalid(k, "is not an address field"));
        }
        for (part, v) in address {
            if !ADDRESS_PARTS.contains(&part.as_str()) {
                return Err(CoreError::invalid(
                    &format!("{k}.{part}"),
                    "is not a part of an address",
                ));
            }
            check_text(&format!("{k}.{part}"), v)?;
        }
    }
    Ok(())
}

/// The stored JSON of the fields kept beside the contact row.
pub(crate) fn details_json(info: &ContactInformation) -> String {
    let mut map = Map::new();
    for (k, v) in &info.text {
        map.insert(k.clone(), json!(v));
    }
    for (k, a) in &info.addresses {
        map.insert(k.clone(), json!(a));
    }
    map.insert("useBranchAddress".into(), json!(info.use_branch_address));
    Json::Object(map).to_string()
}

/// Reads [`details_json`] back into `info`.
pub(crate) fn apply_details(info: &mut ContactInformation, details: &str) -> CoreResult<()> {
    let value: Json = serde_json::from_str(details)
        .map_err(|e| CoreError::Unprocessable(format!("stored contact information: {e}")))?;
    let Json::Object(map) = value else {
        return Ok(());
    };
    for (k, v) in map {
        match v {
            Json::String(s) if TEXT_FIELDS.contains(&k.as_str()) => {
                info.text.insert(k, s);
            }
            Json::Object(parts) if ADDRESS_FIELDS.contains(&k.as_str()) => {
                let address = parts
                    .into_iter()
                    .filter_map(|(p, v)| v.as_str().map(|s| (p, s.to_string())))
                    .collect();
                info.addresses.insert(k, address);
            }
            Json::Bool(b) if k == "useBranchAddress" => info.use_branch_address = b,
            _ => {}
        }
    }
    Ok(())
}

impl Core {
    pub async fn get_contact_information(
        &self,
        actor: &Actor,
        id: i64,
    ) -> CoreResult<ContactInformation> {
        let acting = actor.clone();
        self.query(actor, Event::ContactInformationRead, move |conn| {
            check_subscriber(conn, &acting, id)?;
            let stored = db::contact_information::read(conn, id)?
                .ok_or_else(|| CoreError::NotFound(format!("subscriber {id}")))?;
            let mut info = ContactInformation {
                first_name: stored.first_name,
                last_name: stored.last_name,
                email: stored.email,
                enabled: stored.active,
                updated_on: stored.updated_on,
                ..ContactInformation::default()
            };
            if let Some(details) = stored.details {
                apply_details(&mut info, &details)?;
            }
            Ok(info)
        })
        .await
    }

    /// Replaces the subscriber's contact information with `info`; the read-only fields keep
    /// their stored values whatever `info` says.
    pub async fn set_contact_information(
        &self,
        actor: &Actor,
        id: i64,
        mut info: ContactInformation,
    ) -> CoreResult<()> {
        if let Err(e) = check(&info) {
            return self
                .refuse(actor, Event::ContactInformationChanged, e)
                .await;
        }
        self.mutate(
            actor,
            Event::ContactInformationChanged,
            move |tx, actor, now| {
                check_subscriber(tx, actor, id)?;
                let stored = db::contact_information::read(tx, id)?
                    .ok_or_else(|| CoreError::NotFound(format!("subscriber {id}")))?;
                let mut previous = ContactInformation::default();
                if let Some(details) = &stored.details {
                    apply_details(&mut previous, details)?;
                }
                for field in READ_ONLY_FIELDS {
                    match previous.text.remove(field) {
                        Some(v) => info.text.insert(field.to_string(), v),
                        None => info.text.remove(field),
                    };
                }
                info.text.retain(|_, v| !v.is_empty());
                for address in info.addresses.values_mut() {
                    address.retain(|_, v| !v.is_empty());
                }
                info.addresses.retain(|_, a| !a.is_empty());
                db::contact_information::write(
                    tx,
                    id,
                    stored.contact_id,
                    &db::contact_information::Names {
                        first_name: &info.first_name,
                        last_name: &info.last_name,
                        email: &info.email,
                    },
                    &details_json(&info),
                    now,
                )?;
                let changed: Vec<&str> = info.text.keys().map(String::as_str).collect();
                Ok(Done {
                    value: (),
                    target: format!("subscriber:{id}"),
                    detail: json!({
                        "resource": "contact-information",
                        "first_name": info.first_name,
                        "last_name": info.last_name,
                        "email": info.email,
                        "fields": changed,
                        "addresses": info.addresses.keys().collect::<Vec<_>>(),
                    })
                    .to_string(),
                })
            },
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn details_round_trip_and_unknown_fields_are_refused() {
        let mut info = ContactInformation::default();
        info.text.insert("jobTitle".into(), "Engineer".into());
        info.addresses.insert(
            "homeAddress".into(),
            [("city".to_string(), "Graz".to_string())].into(),
        );
        info.use_branch_address = true;
        check(&info).unwrap();
        let mut back = ContactInformation::default();
        apply_details(&mut back, &details_json(&info)).unwrap();
        assert_eq!(back.text, info.text);
        assert_eq!(back.addresses, info.addresses);
        assert!(back.use_branch_address);

        info.text.insert("shoeSize".into(), "44".into());
        assert!(check(&info).is_err());
        let bad_email = ContactInformation {
            email: "not-an-address".into(),
            ..ContactInformation::default()
        };
        assert!(check(&bad_email).is_err());
    }
}
