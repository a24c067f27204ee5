//! Call groups (hunt groups: an extension that rings the customer's users in order, sipXconfig
//! CallGroupService) and park orbits (an extension where calls wait, ParkOrbitService). Both
//! answer at an extension no other call group, park orbit or subscriber number has.

use serde_json::json;

use super::actor::Actor;
use super::audit::Event;
use super::permissions::{self, Op};
use super::sipx_users::{check_text, home_customer, user_by_name};
use super::{Core, CoreError, CoreResult, Done};
use crate::db::call_groups as db_groups;
use crate::db::park_orbits::{self as db_orbits, ParkOrbitRow};

const MAX_RINGS: usize = 100;
/// Longest a ring may last, seconds.
const MAX_EXPIRATION: i64 = 3_600;

/// How a ring joins the call: after the previous one gave up, or together with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RingType {
    Delayed,
    Immediate,
}

impl RingType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Delayed => "delayed",
            Self::Immediate => "immediate",
        }
    }

    pub fn parse(text: &str) -> CoreResult<Self> {
        match text {
            "delayed" => Ok(Self::Delayed),
            "immediate" => Ok(Self::Immediate),
            other => Err(CoreError::invalid(
                "type",
                format!("'{other}' must be delayed or immediate"),
            )),
        }
    }
}

/// One ring of a call group. `position` orders the rings as given; they are stored numbered
/// from 0 in that order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ring {
    pub expiration: i64,
    pub ring_type: RingType,
    pub position: i64,
    pub user_name: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallGroup {
    pub name: String,
    pub extension: String,
    pub description: String,
    pub enabled: bool,
    pub rings: Vec<Ring>,
}

/// `manageCallGroup`: edits, then rings added (or, with `replace_rings`, put in place of the
/// old ones); or delete alone.
#[derive(Debug, Clone, Default)]
pub struct ManageCallGroup {
    pub name: String,
    pub edits: Vec<(String, String)>,
    pub rings: Vec<Ring>,
    pub replace_rings: bool,
    pub delete: bool,
}

pub const EDITABLE: &[&str] = &["name", "extension", "description", "enabled"];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParkOrbit {
    pub name: String,
    pub extension: String,
    pub description: String,
    pub enabled: bool,
    pub music: String,
}

fn check_name(name: &str) -> CoreResult<()> {
    if name.is_empty() {
        return Err(CoreError::Missing("name".into()));
    }
    check_text("name", name, 64)
}

fn check_extension(extension: &str) -> CoreResult<()> {
    if extension.is_empty()
        || extension.len() > 16
        || !extension.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(CoreError::invalid(
            "extension",
            format!("'{extension}' must be 1 to 16 digits"),
        ));
    }
    Ok(())
}

fn check_rings(rings: &[Ring]) -> CoreResult<()> {
    if rings.len() > MAX_RINGS {
        return Err(CoreError::invalid(
            "rings",
            format!("more than {MAX_RINGS} rings"),
        ));
    }
    for ring in rings {
        if !(1..=MAX_EXPIRATION).contains(&ring.expiration) {
            return Err(CoreError::invalid(
                "expiration",
                format!(
                    "{} must be from 1 to {MAX_EXPIRATION} seconds",
                    ring.expiration
                ),
            ));
        }
        check_text("userName", &ring.user_name, 64)?;
    }
    Ok(())
}

fn parse_bool(field: &str, value: &str) -> CoreResult<bool> {
    match value {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        other => Err(CoreError::invalid(
            field,
            format!("'{other}' must be true or false"),
        )),
    }
}

fn check_edits(edits: &[(String, String)]) -> CoreResult<()> {
    for (property, value) in edits {
        match property.as_str() {
            "name" => check_name(value)?,
            "extension" => check_extension(value)?,
            "description" => check_text("description", value, 255)?,
            "enabled" => drop(parse_bool("enabled", value)?),
            other => {
                return Err(CoreError::invalid(
                    "edit",
                    format!(
                        "unknown call group property '{other}'; editable: {}",
                        EDITABLE.join(", ")
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// The rings resolved to the caller's users, in position order: (subscriber, expiration, type).
fn resolve_rings(
    conn: &crate::db::Conn<'_>,
    actor: &Actor,
    rings: &[Ring],
) -> CoreResult<Vec<(i64, i64, &'static str)>> {
    let mut ordered: Vec<&Ring> = rings.iter().collect();
    ordered.sort_by_key(|r| r.position);
    ordered
        .into_iter()
        .map(|r| {
            let user = user_by_name(conn, actor, &r.user_name)?;
            Ok((user.id, r.expiration, r.ring_type.as_str()))
        })
        .collect()
}

fn rings_detail(rings: &[Ring]) -> serde_json::Value {
    json!(
        rings
            .iter()
            .map(
                |r| json!({"userName": r.user_name, "type": r.ring_type.as_str(),
                        "expiration": r.expiration, "position": r.position})
            )
            .collect::<Vec<_>>()
    )
}

impl Core {
    /// `addCallGroup`: a call group of the caller's customer ringing its users.
    pub async fn add_call_group(&self, actor: &Actor, group: CallGroup) -> CoreResult<()> {
        let checked = check_name(&group.name)
            .and_then(|()| check_extension(&group.extension))
            .and_then(|()| check_text("description", &group.description, 255))
            .and_then(|()| check_rings(&group.rings));
        if let Err(e) = checked {
            return self.refuse(actor, Event::CallGroupCreated, e).await;
        }
        let detail = json!({
            "name": group.name, "extension": group.extension, "description": group.description,
            "enabled": group.enabled, "rings": rings_detail(&group.rings),
        })
        .to_string();
        self.mutate(actor, Event::CallGroupCreated, move |tx, actor, now| {
            permissions::may_manage_accounts(&actor.principal, Op::Add)?;
            let customer_id = home_customer(&actor.principal)?;
            if db_groups::name_taken(tx, &group.name, None)? {
                return Err(CoreError::Duplicate(format!(
                    "a call group named '{}' already exists",
                    group.name
                )));
            }
            if db_groups::extension_taken(tx, &group.extension, None)? {
                return Err(CoreError::Duplicate(format!(
                    "the extension '{}' is already in use",
                    group.extension
                )));
            }
            let rings = resolve_rings(tx, actor, &group.rings)?;
            let id = db_groups::insert(
                tx,
                customer_id,
                &group.name,
                &group.extension,
                &group.description,
                group.enabled,
                now,
            )?;
            db_groups::set_rings(tx, id, &rings, false)?;
            Ok(Done {
                value: (),
                target: format!("call_group:{id}"),
                detail,
            })
        })
        .await
    }

    /// `getCallGroups`: the caller's call groups, by name.
    pub async fn call_groups(&self, actor: &Actor) -> CoreResult<Vec<CallGroup>> {
        let acting = actor.clone();
        self.query(actor, Event::CallGroupsRead, move |conn| {
            let root = permissions::visible_root(&acting.principal)?;
            db_groups::list(conn, &root)?
                .into_iter()
                .map(|g| {
                    Ok(CallGroup {
                        rings: g
                            .rings
                            .into_iter()
                            .map(|r| {
                                Ok(Ring {
                                    expiration: r.expiration,
                                    ring_type: RingType::parse(&r.ring_type)?,
                                    position: r.position,
                                    user_name: r.user_name,
                                })
                            })
                            .collect::<CoreResult<_>>()?,
                        name: g.name,
                        extension: g.extension,
                        description: g.description,
                        enabled: g.enabled,
                    })
                })
                .collect()
        })
        .await
    }

    /// `manageCallGroup`.
    pub async fn manage_call_group(
        &self,
        actor: &Actor,
        request: ManageCallGroup,
    ) -> CoreResult<()> {
        let checked = check_name(&request.name)
            .and_then(|()| check_edits(&request.edits))
            .and_then(|()| check_rings(&request.rings));
        if let Err(e) = checked {
            return self.refuse(actor, Event::CallGroupsManaged, e).await;
        }
        let detail = json!({
            "name": request.name,
            "edit": request.edits.iter().map(|(p, v)| json!({"property": p, "value": v})).collect::<Vec<_>>(),
            "rings": rings_detail(&request.rings), "replaceRings": request.replace_rings,
            "deleteCallGroup": request.delete,
        })
        .to_string();
        self.mutate(actor, Event::CallGroupsManaged, move |tx, actor, _| {
            let root = permissions::visible_root(&actor.principal)?;
            let id = db_groups::find(tx, &root, &request.name)?
                .ok_or_else(|| CoreError::NotFound(format!("call group '{}'", request.name)))?;
            let op = if request.delete { Op::Delete } else { Op::Edit };
            permissions::may_manage_accounts(&actor.principal, op)?;
            if request.delete {
                db_groups::delete(tx, id)?;
            } else {
                let edit = |name: &str| {
                    request
                        .edits
                        .iter()
                        .rev()
                        .find(|(p, _)| p == name)
                        .map(|(_, v)| v.as_str())
                };
                if let Some(name) = edit("name")
                    && db_groups::name_taken(tx, name, Some(id))?
                {
                    return Err(CoreError::Duplicate(format!(
                        "a call group named '{name}' already exists"
                    )));
                }
                if let Some(ext) = edit("extension")
                    && db_groups::extension_taken(tx, ext, Some(id))?
                {
                    return Err(CoreError::Duplicate(format!(
                        "the extension '{ext}' is already in use"
                    )));
                }
                let enabled = edit("enabled")
                    .map(|v| parse_bool("enabled", v))
                    .transpose()?;
                db_groups::update(
                    tx,
                    id,
                    edit("name"),
                    edit("extension"),
                    edit("description"),
                    enabled,
                )?;
                if request.replace_rings || !request.rings.is_empty() {
                    let rings = resolve_rings(tx, actor, &request.rings)?;
                    db_groups::set_rings(tx, id, &rings, !request.replace_rings)?;
                }
            }
            Ok(Done {
                value: (),
                target: format!("call_group:{id}"),
                detail,
            })
        })
        .await
    }

    /// `addParkOrbit`.
    pub async fn add_park_orbit(&self, actor: &Actor, orbit: ParkOrbit) -> CoreResult<()> {
        let checked = check_name(&orbit.name)
            .and_then(|()| check_extension(&orbit.extension))
            .and_then(|()| check_text("description", &orbit.description, 255))
            .and_then(|()| check_text("music", &orbit.music, 255));
        if let Err(e) = checked {
            return self.refuse(actor, Event::ParkOrbitCreated, e).await;
        }
        let detail = json!({
            "name": orbit.name, "extension": orbit.extension, "description": orbit.description,
            "enabled": orbit.enabled, "music": orbit.music,
        })
        .to_string();
        self.mutate(actor, Event::ParkOrbitCreated, move |tx, actor, now| {
            permissions::may_manage_accounts(&actor.principal, Op::Add)?;
            let customer_id = home_customer(&actor.principal)?;
            if db_orbits::name_taken(tx, &orbit.name)? {
                return Err(CoreError::Duplicate(format!(
                    "a park orbit named '{}' already exists",
                    orbit.name
                )));
            }
            if db_groups::extension_taken(tx, &orbit.extension, None)? {
                return Err(CoreError::Duplicate(format!(
                    "the extension '{}' is already in use",
                    orbit.extension
                )));
            }
            let row = ParkOrbitRow {
                name: orbit.name,
                extension: orbit.extension,
                description: orbit.description,
                enabled: orbit.enabled,
                music: orbit.music,
            };
            let id = db_orbits::insert(tx, customer_id, &row, now)?;
            Ok(Done {
                value: (),
                target: format!("park_orbit:{id}"),
                detail,
            })
        })
        .await
    }

    /// `getParkOrbits`: the caller's park orbits, by name.
    pub async fn park_orbits(&self, actor: &Actor) -> CoreResult<Vec<ParkOrbit>> {
        let acting = actor.clone();
        self.query(actor, Event::ParkOrbitsRead, move |conn| {
            let root = permissions::visible_root(&acting.principal)?;
            Ok(db_orbits::list(conn, &root)?
                .into_iter()
                .map(|o| ParkOrbit {
                    name: o.name,
                    extension: o.extension,
                    description: o.description,
                    enabled: o.enabled,
                    music: o.music,
                })
                .collect())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rings_and_extensions_are_checked() {
        assert!(RingType::parse("sometimes").is_err());
        assert_eq!(RingType::parse("immediate").unwrap(), RingType::Immediate);
        assert!(check_extension("12a").is_err());
        assert!(check_extension("").is_err());
        let ring = Ring {
            expiration: 0,
            ring_type: RingType::Delayed,
            position: 0,
            user_name: "u".into(),
        };
        assert!(
            check_rings(&[ring])
                .unwrap_err()
                .to_string()
                .contains("expiration")
        );
        let bad = [("colour".to_string(), "red".to_string())];
        assert!(
            check_edits(&bad)
                .unwrap_err()
                .to_string()
                .contains("colour")
        );
    }
}
