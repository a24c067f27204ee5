//! sipXconfig call permissions (PermissionService): the built-in ones
//! ([`KNOWN_PERMISSIONS`], read-only) and custom ones a customer adds. Users hold permissions by
//! name (`sipx_users`).

use serde_json::json;

use super::actor::Actor;
use super::audit::Event;
use super::permissions::{self, Op};
use super::sipx_users::{KNOWN_PERMISSIONS, check_text, home_customer};
use super::{Core, CoreError, CoreResult, Done};
use crate::db::sipx_permissions as db_perms;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Permission {
    pub name: String,
    pub label: String,
    pub description: String,
    pub default_value: bool,
    pub built_in: bool,
}

/// A new custom permission; without a name it is called `perm_<id>`.
#[derive(Debug, Clone, Default)]
pub struct NewPermission {
    pub name: Option<String>,
    pub label: String,
    pub description: Option<String>,
    pub default_value: bool,
}

/// `PermissionSearch`: by name, else by label, else all.
#[derive(Debug, Clone, Default)]
pub struct PermissionSearch {
    pub by_name: Option<String>,
    pub by_label: Option<String>,
}

pub const EDITABLE: &[&str] = &["label", "description", "defaultValue"];

fn check_name(name: &str) -> CoreResult<()> {
    if name.is_empty()
        || name.len() > 64
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-".contains(&b))
    {
        return Err(CoreError::invalid(
            "name",
            format!("'{name}' must be 1 to 64 letters, digits, '_' or '-'"),
        ));
    }
    if KNOWN_PERMISSIONS.contains(&name) {
        return Err(CoreError::Duplicate(format!(
            "'{name}' is a built-in permission"
        )));
    }
    Ok(())
}

fn check_label(label: &str) -> CoreResult<()> {
    if label.trim().is_empty() {
        return Err(CoreError::Missing("label".into()));
    }
    check_text("label", label, 255)
}

fn parse_bool(value: &str) -> CoreResult<bool> {
    match value {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        other => Err(CoreError::invalid(
            "defaultValue",
            format!("'{other}' must be true or false"),
        )),
    }
}

fn check_edits(edits: &[(String, String)]) -> CoreResult<()> {
    for (property, value) in edits {
        match property.as_str() {
            "label" => check_label(value)?,
            "description" => check_text("description", value, 255)?,
            "defaultValue" => drop(parse_bool(value)?),
            other => {
                return Err(CoreError::invalid(
                    "edit",
                    format!(
                        "unknown permission property '{other}'; editable: {}",
                        EDITABLE.join(", ")
                    ),
                ));
            }
        }
    }
    Ok(())
}

fn built_ins(search: &PermissionSearch) -> impl Iterator<Item = Permission> + '_ {
    KNOWN_PERMISSIONS
        .iter()
        .filter(move |n| {
            search.by_name.as_deref().is_none_or(|w| w == **n)
                && search.by_label.as_deref().is_none_or(|w| w == **n)
        })
        .map(|n| Permission {
            name: (*n).to_string(),
            label: (*n).to_string(),
            description: String::new(),
            default_value: false,
            built_in: true,
        })
}

impl Core {
    /// `addPermission`: a custom permission of the caller's customer; returns its name.
    pub async fn add_sipx_permission(&self, actor: &Actor, p: NewPermission) -> CoreResult<String> {
        let checked = p
            .name
            .as_deref()
            .map_or(Ok(()), check_name)
            .and_then(|()| check_label(&p.label))
            .and_then(|()| check_text("description", p.description.as_deref().unwrap_or(""), 255));
        if let Err(e) = checked {
            return self.refuse(actor, Event::PermissionCreated, e).await;
        }
        let detail = json!({"name": p.name, "label": p.label, "description": p.description,
                            "defaultValue": p.default_value})
        .to_string();
        self.mutate(actor, Event::PermissionCreated, move |tx, actor, now| {
            permissions::may_manage_accounts(&actor.principal, Op::Add)?;
            let customer_id = home_customer(&actor.principal)?;
            if let Some(name) = &p.name
                && db_perms::exists(tx, name)?
            {
                return Err(CoreError::Duplicate(format!(
                    "a permission named '{name}' already exists"
                )));
            }
            let name = db_perms::insert(
                tx,
                customer_id,
                p.name.as_deref(),
                &p.label,
                p.description.as_deref().unwrap_or_default(),
                p.default_value,
                now,
            )?;
            Ok(Done {
                target: format!("permission:{name}"),
                value: name,
                detail,
            })
        })
        .await
    }

    /// `findPermission`: built-in permissions first, then the caller's custom ones.
    pub async fn find_sipx_permissions(
        &self,
        actor: &Actor,
        search: PermissionSearch,
    ) -> CoreResult<Vec<Permission>> {
        let acting = actor.clone();
        self.query(actor, Event::PermissionsRead, move |conn| {
            let root = permissions::visible_root(&acting.principal)?;
            let (name, label) = if search.by_name.is_some() {
                (search.by_name.as_deref(), None)
            } else {
                (None, search.by_label.as_deref())
            };
            let narrowed = PermissionSearch {
                by_name: name.map(str::to_string),
                by_label: label.map(str::to_string),
            };
            let custom = db_perms::list(conn, &root, name, label)?;
            Ok(built_ins(&narrowed)
                .chain(custom.into_iter().map(|r| Permission {
                    name: r.name,
                    label: r.label,
                    description: r.description,
                    default_value: r.default_value,
                    built_in: false,
                }))
                .collect())
        })
        .await
    }

    /// `managePermission`: edits or deletes the custom permissions found; built-in ones are
    /// refused. Returns how many.
    pub async fn manage_sipx_permissions(
        &self,
        actor: &Actor,
        search: PermissionSearch,
        edits: Vec<(String, String)>,
        delete: bool,
    ) -> CoreResult<usize> {
        if let Err(e) = check_edits(&edits) {
            return self.refuse(actor, Event::PermissionsManaged, e).await;
        }
        let detail = json!({
            "search": {"byName": search.by_name, "byLabel": search.by_label},
            "edit": edits.iter().map(|(p, v)| json!({"property": p, "value": v})).collect::<Vec<_>>(),
            "deletePermission": delete,
        })
        .to_string();
        self.mutate(actor, Event::PermissionsManaged, move |tx, actor, _| {
            if built_ins(&search).next().is_some()
                && (search.by_name.is_some() || search.by_label.is_some())
            {
                return Err(CoreError::Forbidden(
                    "built-in permissions cannot be changed".into(),
                ));
            }
            let root = permissions::visible_root(&actor.principal)?;
            let (name, label) = match (&search.by_name, &search.by_label) {
                (Some(n), _) => (Some(n.as_str()), None),
                (None, l) => (None, l.as_deref()),
            };
            let found = db_perms::list(tx, &root, name, label)?;
            if found.is_empty() {
                return Err(CoreError::NotFound("permission".into()));
            }
            permissions::may_manage_accounts(
                &actor.principal,
                if delete { Op::Delete } else { Op::Edit },
            )?;
            let edit = |name: &str| {
                edits
                    .iter()
                    .rev()
                    .find(|(p, _)| p == name)
                    .map(|(_, v)| v.as_str())
            };
            let default_value = edit("defaultValue").map(parse_bool).transpose()?;
            for row in &found {
                if delete {
                    db_perms::delete(tx, row)?;
                } else {
                    db_perms::update(
                        tx,
                        row.id,
                        edit("label"),
                        edit("description"),
                        default_value,
                    )?;
                }
            }
            let names: Vec<&str> = found.iter().map(|r| r.name.as_str()).collect();
            Ok(Done {
                value: found.len(),
                target: format!("permission:{}", names.join(",")),
                detail,
            })
        })
        .await
    }
}
