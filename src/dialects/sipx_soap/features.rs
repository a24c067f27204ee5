//! CallGroupService, ParkOrbitService and PermissionService: WSDL elements to core calls and
//! back. SOAP ring types are `delayed` and `immediate`.

use super::core_fault;
use super::envelope::{Element, Fault};
use super::schema::{NS, View};
use crate::core::Core;
use crate::core::actor::Actor;
use crate::core::call_groups::{CallGroup, ManageCallGroup, ParkOrbit, Ring, RingType};
use crate::core::sipx_permissions::{NewPermission, Permission, PermissionSearch};

type Answer = Result<Option<Element>, Fault>;

fn text(view: View<'_>, name: &str) -> String {
    view.text(name).unwrap_or_default().trim().to_string()
}

fn given(view: View<'_>, name: &str) -> Option<String> {
    view.text(name)
        .map(str::to_string)
        .filter(|t| !t.is_empty())
}

fn edits(view: View<'_>) -> Vec<(String, String)> {
    view.children("edit")
        .into_iter()
        .map(|p| {
            (
                text(p, "property"),
                p.text("value").unwrap_or_default().to_string(),
            )
        })
        .collect()
}

fn rings(view: View<'_>) -> Result<Vec<Ring>, Fault> {
    view.children("rings")
        .into_iter()
        .map(|r| {
            Ok(Ring {
                expiration: r.int("expiration").unwrap_or_default(),
                ring_type: RingType::parse(&text(r, "type")).map_err(|e| core_fault(&e))?,
                position: r.int("position").unwrap_or_default(),
                user_name: text(r, "userName"),
            })
        })
        .collect()
}

fn el(name: &str, value: impl Into<String>) -> Element {
    Element::text(NS, name, value)
}

pub async fn add_call_group(core: &Core, actor: &Actor, request: View<'_>) -> Answer {
    let g = request
        .child("callGroup")
        .ok_or_else(|| Fault::client("<callGroup> is missing in <AddCallGroup>"))?;
    let group = CallGroup {
        name: text(g, "name"),
        extension: text(g, "extension"),
        description: g.text("description").unwrap_or_default().to_string(),
        enabled: g.bool("enabled").unwrap_or(true),
        rings: rings(g)?,
    };
    core.add_call_group(actor, group)
        .await
        .map_err(|e| core_fault(&e))?;
    Ok(None)
}

pub async fn get_call_groups(core: &Core, actor: &Actor) -> Answer {
    let groups = core.call_groups(actor).await.map_err(|e| core_fault(&e))?;
    let mut list = Element::new(NS, "callGroups");
    for g in groups {
        let mut e = Element::new(NS, "callGroup")
            .with(el("name", g.name))
            .with(el("extension", g.extension));
        if !g.description.is_empty() {
            e.children.push(el("description", g.description));
        }
        e.children.push(el("enabled", g.enabled.to_string()));
        e.children.extend(g.rings.into_iter().map(|r| {
            Element::new(NS, "rings")
                .with(el("expiration", r.expiration.to_string()))
                .with(el("type", r.ring_type.as_str()))
                .with(el("position", r.position.to_string()))
                .with(el("userName", r.user_name))
        }));
        list.children.push(e);
    }
    Ok(Some(Element::new(NS, "GetCallGroupsResponse").with(list)))
}

pub async fn manage_call_group(core: &Core, actor: &Actor, request: View<'_>) -> Answer {
    let manage = ManageCallGroup {
        name: text(request, "name"),
        edits: edits(request),
        rings: rings(request)?,
        replace_rings: request.bool("replaceRings").unwrap_or(false),
        delete: request.bool("deleteCallGroup").unwrap_or(false),
    };
    core.manage_call_group(actor, manage)
        .await
        .map_err(|e| core_fault(&e))?;
    Ok(None)
}

pub async fn add_park_orbit(core: &Core, actor: &Actor, request: View<'_>) -> Answer {
    let o = request
        .child("parkOrbit")
        .ok_or_else(|| Fault::client("<parkOrbit> is missing in <AddParkOrbit>"))?;
    let orbit = ParkOrbit {
        name: text(o, "name"),
        extension: text(o, "extension"),
        description: o.text("description").unwrap_or_default().to_string(),
        enabled: o.bool("enabled").unwrap_or(true),
        music: given(o, "music").unwrap_or_else(|| "default.wav".into()),
    };
    core.add_park_orbit(actor, orbit)
        .await
        .map_err(|e| core_fault(&e))?;
    Ok(None)
}

pub async fn get_park_orbits(core: &Core, actor: &Actor) -> Answer {
    let orbits = core.park_orbits(actor).await.map_err(|e| core_fault(&e))?;
    let mut list = Element::new(NS, "parkOrbits");
    for o in orbits {
        let mut e = Element::new(NS, "parkOrbit")
            .with(el("name", o.name))
            .with(el("extension", o.extension));
        if !o.description.is_empty() {
            e.children.push(el("description", o.description));
        }
        e.children.push(el("enabled", o.enabled.to_string()));
        e.children.push(el("music", o.music));
        list.children.push(e);
    }
    Ok(Some(Element::new(NS, "GetParkOrbitsResponse").with(list)))
}

fn permission_search(view: Option<View<'_>>) -> PermissionSearch {
    view.map(|s| PermissionSearch {
        by_name: given(s, "byName"),
        by_label: given(s, "byLabel"),
    })
    .unwrap_or_default()
}

pub async fn add_permission(core: &Core, actor: &Actor, request: View<'_>) -> Answer {
    let p = request
        .child("permission")
        .ok_or_else(|| Fault::client("<permission> is missing in <AddPermission>"))?;
    let new = NewPermission {
        name: given(p, "name"),
        label: text(p, "label"),
        description: given(p, "description"),
        default_value: p.bool("defaultValue").unwrap_or(false),
    };
    core.add_sipx_permission(actor, new)
        .await
        .map_err(|e| core_fault(&e))?;
    Ok(None)
}

fn permission_element(p: Permission) -> Element {
    let mut e = Element::new(NS, "permission")
        .with(el("name", p.name))
        .with(el("label", p.label));
    if !p.description.is_empty() {
        e.children.push(el("description", p.description));
    }
    e.with(el("defaultValue", p.default_value.to_string()))
        .with(el("builtIn", p.built_in.to_string()))
}

pub async fn find_permission(core: &Core, actor: &Actor, request: View<'_>) -> Answer {
    let found = core
        .find_sipx_permissions(actor, permission_search(request.child("search")))
        .await
        .map_err(|e| core_fault(&e))?;
    let mut list = Element::new(NS, "permissions");
    list.children = found.into_iter().map(permission_element).collect();
    Ok(Some(Element::new(NS, "FindPermissionResponse").with(list)))
}

pub async fn manage_permission(core: &Core, actor: &Actor, request: View<'_>) -> Answer {
    core.manage_sipx_permissions(
        actor,
        permission_search(request.child("search")),
        edits(request),
        request.bool("deletePermission").unwrap_or(false),
    )
    .await
    .map_err(|e| core_fault(&e))?;
    Ok(None)
}
