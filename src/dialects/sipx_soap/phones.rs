//! PhoneService (`addPhone`, `findPhone`, `managePhone`): WSDL elements to core calls and back.
//! Items of `ArrayOfPhones` are named `user`, as in sipXconfig.

use super::core_fault;
use super::envelope::{Element, Fault};
use super::schema::{NS, View};
use crate::core::Core;
use crate::core::actor::Actor;
use crate::core::phones::{ExternalLine, ManagePhones, NewPhone, Phone, PhoneSearch, UserLine};

type Answer = Result<Option<Element>, Fault>;

fn owned(text: Option<&str>) -> Option<String> {
    text.map(str::to_string).filter(|t| !t.is_empty())
}

fn search(view: Option<View<'_>>) -> PhoneSearch {
    view.map(|s| PhoneSearch {
        by_serial_number: owned(s.text("bySerialNumber")),
        by_group: owned(s.text("byGroup")),
    })
    .unwrap_or_default()
}

fn line(view: View<'_>) -> UserLine {
    UserLine {
        user_id: view.text("userId").unwrap_or_default().trim().to_string(),
        uri: owned(view.text("uri")),
    }
}

pub async fn add_phone(core: &Core, actor: &Actor, request: View<'_>) -> Answer {
    let phone = request
        .child("phone")
        .ok_or_else(|| Fault::client("<phone> is missing in <AddPhone>"))?;
    let new = NewPhone {
        serial_number: phone.text("serialNumber").unwrap_or_default().to_string(),
        model_id: phone.text("modelId").unwrap_or_default().trim().to_string(),
        description: owned(phone.text("description")),
        groups: phone
            .texts("groups")
            .into_iter()
            .map(str::to_string)
            .collect(),
        lines: phone.children("lines").into_iter().map(line).collect(),
    };
    core.add_phone(actor, new)
        .await
        .map_err(|e| core_fault(&e))?;
    Ok(None)
}

fn phone_element(p: Phone) -> Element {
    let text = |name: &str, value: String| Element::text(NS, name, value);
    let mut e = Element::new(NS, "user")
        .with(text("serialNumber", p.serial_number))
        .with(text("modelId", p.model_id));
    if !p.description.is_empty() {
        e.children.push(text("description", p.description));
    }
    e.children
        .extend(p.groups.into_iter().map(|g| text("groups", g)));
    e.children.extend(p.lines.into_iter().map(|l| {
        Element::new(NS, "lines")
            .with(text("userId", l.user_id))
            .with(text("uri", l.uri))
    }));
    e
}

pub async fn find_phone(core: &Core, actor: &Actor, request: View<'_>) -> Answer {
    let found = core
        .find_phones(actor, search(request.child("search")))
        .await
        .map_err(|e| core_fault(&e))?;
    let mut phones = Element::new(NS, "phones");
    phones.children = found.into_iter().map(phone_element).collect();
    Ok(Some(Element::new(NS, "FindPhoneResponse").with(phones)))
}

pub async fn manage_phone(core: &Core, actor: &Actor, request: View<'_>) -> Answer {
    let manage = ManagePhones {
        search: search(request.child("search")),
        edits: request
            .children("edit")
            .into_iter()
            .map(|p| {
                (
                    p.text("property").unwrap_or_default().trim().to_string(),
                    p.text("value").unwrap_or_default().to_string(),
                )
            })
            .collect(),
        delete: request.bool("deletePhone").unwrap_or(false),
        add_group: owned(request.text("addGroup")),
        remove_group: owned(request.text("removeGroup")),
        add_line: request.child("addLine").map(line),
        add_external_line: request.child("addExternalLine").map(|x| ExternalLine {
            user_id: x.text("userId").unwrap_or_default().trim().to_string(),
            display_name: owned(x.text("displayName")),
            password: owned(x.text("password")),
            registration_server: x
                .text("registrationServer")
                .unwrap_or_default()
                .trim()
                .to_string(),
            voicemail: owned(x.text("voiceMail")),
        }),
        remove_line_by_user_id: owned(request.text("removeLineByUserId")),
        remove_line_by_uri: owned(request.text("removeLineByUri")),
        generate_profiles: request.bool("generateProfiles").unwrap_or(false),
        restart: request.bool("restart").unwrap_or(false),
    };
    core.manage_phones(actor, manage)
        .await
        .map_err(|e| core_fault(&e))?;
    Ok(None)
}
