//! UserService (`addUser`, `findUser`, `manageUser`) and SystemService (`systemInfo`): WSDL
//! elements to core calls and back.

use super::core_fault;
use super::envelope::{Element, Fault};
use super::schema::{NS, View};
use crate::core::Core;
use crate::core::actor::Actor;
use crate::core::sipx_users::{ManageUsers, NewSipxUser, SipxUser, UserEdit, UserSearch};

type Answer = Result<Option<Element>, Fault>;

fn owned(text: Option<&str>) -> Option<String> {
    text.map(str::to_string)
}

fn strings(texts: Vec<&str>) -> Vec<String> {
    texts.into_iter().map(str::to_string).collect()
}

fn search(view: Option<View<'_>>) -> UserSearch {
    let Some(s) = view else {
        return UserSearch::default();
    };
    // An empty criterion counts as not given, as in sipXconfig.
    let given = |name| owned(s.text(name)).filter(|t| !t.is_empty());
    UserSearch {
        by_user_name: given("byUserName"),
        by_fuzzy_user_name_or_alias: given("byFuzzyUserNameOrAlias"),
        by_group: given("byGroup"),
    }
}

pub async fn add_user(core: &Core, actor: &Actor, request: View<'_>) -> Answer {
    let user = request
        .child("user")
        .ok_or_else(|| Fault::client("<user> is missing in <AddUser>"))?;
    let new = NewSipxUser {
        user_name: user.text("userName").unwrap_or_default().trim().to_string(),
        pin: request.text("pin").unwrap_or_default().to_string(),
        vm_pin: owned(request.text("vmpin")),
        first_name: owned(user.text("firstName")),
        last_name: owned(user.text("lastName")),
        sip_password: owned(user.text("sipPassword")),
        email: owned(user.text("emailAddress")),
        aliases: strings(user.texts("aliases")),
        groups: strings(user.texts("groups")),
        permissions: strings(user.texts("permissions")),
        branch_name: owned(user.text("branchName")),
    };
    core.add_sipx_user(actor, new)
        .await
        .map_err(|e| core_fault(&e))?;
    Ok(None)
}

/// A `User` in the WSDL's element order; empty optional fields are left out.
fn user_element(u: SipxUser) -> Element {
    let text = |name: &str, value: String| Element::text(NS, name, value);
    let mut e = Element::new(NS, "user").with(text("userName", u.user_name));
    let optional = [
        ("pintoken", u.pintoken.unwrap_or_default()),
        ("lastName", u.last_name),
        ("firstName", u.first_name),
    ];
    e.children.extend(
        optional
            .into_iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(n, v)| text(n, v)),
    );
    e.children
        .extend(u.aliases.into_iter().map(|a| text("aliases", a)));
    if !u.email.is_empty() {
        e.children.push(text("emailAddress", u.email));
    }
    e.children
        .extend(u.groups.into_iter().map(|g| text("groups", g)));
    e.children
        .extend(u.permissions.into_iter().map(|p| text("permissions", p)));
    if let Some(branch) = u.branch_name {
        e.children.push(text("branchName", branch));
    }
    e
}

pub async fn find_user(core: &Core, actor: &Actor, request: View<'_>) -> Answer {
    let found = core
        .find_sipx_users(actor, search(request.child("search")))
        .await
        .map_err(|e| core_fault(&e))?;
    let mut users = Element::new(NS, "users");
    users.children = found.into_iter().map(user_element).collect();
    Ok(Some(Element::new(NS, "FindUserResponse").with(users)))
}

pub async fn manage_user(core: &Core, actor: &Actor, request: View<'_>) -> Answer {
    let edits = request
        .children("edit")
        .into_iter()
        .map(|p| UserEdit {
            property: p.text("property").unwrap_or_default().trim().to_string(),
            value: p.text("value").unwrap_or_default().to_string(),
        })
        .collect();
    let manage = ManageUsers {
        search: search(request.child("search")),
        edits,
        delete: request.bool("deleteUser").unwrap_or(false),
        add_group: owned(request.text("addGroup")).filter(|g| !g.is_empty()),
        remove_group: owned(request.text("removeGroup")).filter(|g| !g.is_empty()),
        update_branch: owned(request.text("updateBranch")),
    };
    core.manage_sipx_users(actor, manage)
        .await
        .map_err(|e| core_fault(&e))?;
    Ok(None)
}

pub async fn system_info(core: &Core, actor: &Actor) -> Answer {
    let d = core
        .sipx_system_info(actor)
        .await
        .map_err(|e| core_fault(&e))?;
    let mut domain = Element::new(NS, "domain")
        .with(Element::text(NS, "name", d.name))
        .with(Element::text(NS, "realm", d.realm));
    for alias in d.aliases {
        domain.children.push(Element::text(NS, "aliases", alias));
    }
    Ok(Some(Element::new(NS, "SystemInfoResponse").with(domain)))
}
