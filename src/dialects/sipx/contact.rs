//! `my/contact-information`: GET and PUT of the `contact-information` document, in sipXconfig's
//! field order; PUT ignores the fields a subscriber may not change.

use super::repr::{Fields, Item, Media};
use super::{Answer, Mine, Refusal, document, done, repr::Doc};
use crate::core::contact_information::{
    ADDRESS_FIELDS, ADDRESS_PARTS, Address, ContactInformation, READ_ONLY_FIELDS, TEXT_FIELDS,
};

const ROOT: &str = "contact-information";

/// One field of the document, in order.
enum Field {
    /// A stored text field; `always`: shown empty rather than left out.
    Text(&'static str, bool),
    Address(&'static str),
    UseBranchAddress,
    Email,
    Timestamp,
    Enabled,
    LdapManaged,
    FirstName,
    LastName,
}

/// `avatar`, `lastImportedDate` and `disabledDate` are always null here (no avatars, no
/// directory import), and XStream leaves null fields out, so they are not listed.
const ORDER: [Field; 36] = [
    Field::Text("jobTitle", false),
    Field::Text("jobDept", false),
    Field::Text("companyName", false),
    Field::Text("assistantName", false),
    Field::Text("location", false),
    Field::Address("homeAddress"),
    Field::Address("officeAddress"),
    Field::Address("branchAddress"),
    Field::Text("cellPhoneNumber", false),
    Field::Text("homePhoneNumber", false),
    Field::Text("assistantPhoneNumber", false),
    Field::Text("faxNumber", false),
    Field::Text("didNumber", false),
    Field::Text("imId", true),
    Field::Text("imDisplayName", false),
    Field::Text("alternateImId", false),
    Field::Email,
    Field::Text("alternateEmailAddress", false),
    Field::Text("emailAddressAliases", false),
    Field::UseBranchAddress,
    Field::Text("branchName", false),
    Field::Text("manager", false),
    Field::Text("salutation", false),
    Field::Text("employeeId", false),
    Field::Text("twiterName", false),
    Field::Text("linkedinName", false),
    Field::Text("facebookName", false),
    Field::Text("xingName", false),
    Field::Timestamp,
    Field::Enabled,
    Field::LdapManaged,
    Field::Text("custom1", false),
    Field::Text("custom2", false),
    Field::Text("custom3", false),
    Field::FirstName,
    Field::LastName,
];

fn address_item(address: Option<&Address>) -> Item {
    Item::Record(
        ADDRESS_PARTS
            .iter()
            .filter_map(|part| {
                address
                    .and_then(|a| a.get(*part))
                    .map(|v| (*part, Item::text(v)))
            })
            .collect(),
    )
}

fn non_empty(name: &'static str, value: &str) -> Option<(&'static str, Item)> {
    (!value.is_empty()).then(|| (name, Item::text(value)))
}

pub fn render(info: &ContactInformation) -> Item {
    let fields = ORDER
        .iter()
        .filter_map(|field| match field {
            Field::Text(name, always) => match info.text.get(*name) {
                Some(v) => Some((*name, Item::text(v))),
                None if *always => Some((*name, Item::text(""))),
                None => None,
            },
            Field::Address(name) => Some((*name, address_item(info.addresses.get(*name)))),
            Field::UseBranchAddress => {
                Some(("useBranchAddress", Item::Bool(info.use_branch_address)))
            }
            Field::Email => non_empty("emailAddress", &info.email),
            Field::Timestamp => info.updated_on.map(|t| ("timestamp", Item::Int(t))),
            Field::Enabled => Some(("enabled", Item::Bool(info.enabled))),
            Field::LdapManaged => Some(("ldapManaged", Item::Bool(false))),
            Field::FirstName => non_empty("firstName", &info.first_name),
            Field::LastName => non_empty("lastName", &info.last_name),
        })
        .collect();
    Item::Record(fields)
}

/// Reads a `contact-information` document; fields PUT ignores, and unknown ones, are skipped.
pub fn parse(content: &serde_json::Value) -> Result<ContactInformation, String> {
    let fields = Fields(content);
    let text = |name: &str| fields.text(name).map(Option::unwrap_or_default);
    let mut info = ContactInformation {
        first_name: text("firstName")?,
        last_name: text("lastName")?,
        email: text("emailAddress")?.trim().to_string(),
        use_branch_address: fields.bool("useBranchAddress")?.unwrap_or(false),
        ..ContactInformation::default()
    };
    for name in TEXT_FIELDS {
        if READ_ONLY_FIELDS.contains(&name) {
            continue;
        }
        let value = text(name)?;
        if !value.is_empty() {
            info.text.insert(name.to_string(), value);
        }
    }
    for name in ADDRESS_FIELDS {
        let Some(value) = fields.get(name) else {
            continue;
        };
        if value.as_str() == Some("") {
            continue;
        }
        if !value.is_object() {
            return Err(format!("'{name}' must hold {}", ADDRESS_PARTS.join(", ")));
        }
        let parts = Fields(value);
        let mut address = Address::new();
        for part in ADDRESS_PARTS {
            let v = parts
                .text(part)
                .map_err(|e| format!("{name}: {e}"))?
                .unwrap_or_default();
            if !v.is_empty() {
                address.insert(part.to_string(), v);
            }
        }
        info.addresses.insert(name.to_string(), address);
    }
    Ok(info)
}

pub async fn get(mine: &Mine<'_>) -> Answer {
    let media = mine.accept(&[Media::Xml, Media::Json])?;
    let info = mine
        .state
        .core
        .get_contact_information(&mine.actor, mine.subscriber_id)
        .await?;
    Ok(document(media, &Doc::new(ROOT, render(&info))))
}

pub async fn put(mine: &Mine<'_>) -> Answer {
    let content = mine.parse(&[ROOT])?;
    let info = parse(&content).map_err(Refusal::bad_request)?;
    mine.state
        .core
        .set_contact_information(&mine.actor, mine.subscriber_id, info)
        .await?;
    Ok(done())
}
