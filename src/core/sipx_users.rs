//! sipXconfig users: subscribers seen the way sipXconfig's UserService sees them (user name,
//! portal PIN, names, SIP password, aliases, e-mail, user groups, permissions, branch). A user
//! made here is an ordinary subscriber: `/api/subscribers` and XML-RPC see the same row.
//!
//! Where a new user goes: under the acting login's own customer, in the installation's sipX
//! domain, which is the `domains` row named like the configured realm (Sippy's domain-less
//! namespace when there is none). [`Core::sipx_system_info`] reports that domain.

use md5::{Digest as _, Md5};
use serde_json::json;

use super::actor::{Actor, Principal};
use super::attrs::Field;
use super::audit::Event;
use super::permissions::{self, Op};
use super::{Core, CoreError, CoreResult, Done};
use crate::db::sipx_users::{self as db_users, Filter, UserColumns, UserRow};
use crate::db::{self, Conn, WriteTx};

/// The permissions sipXconfig knows out of the box; a user may hold any of them.
pub const KNOWN_PERMISSIONS: &[&str] = &[
    "900Dialing",
    "AutoAttendantDialing",
    "ExchangeUMVoicemailServer",
    "FreeswitchVoicemailServer",
    "InternationalDialing",
    "LocalDialing",
    "LongDistanceDialing",
    "Mobile",
    "NoAccess",
    "RecordSystemPrompts",
    "TollFree",
    "Voicemail",
    "music-on-hold",
    "personal-auto-attendant",
    "subscribe-to-presence",
];

/// Users a search may return; more is refused with a request to narrow it.
pub const MAX_FOUND: usize = 10_000;
/// Users read from storage per statement while searching.
const SEARCH_PAGE: usize = 1_000;
const MAX_NAME: usize = 64;
const MAX_TEXT: usize = 255;
const MAX_LIST: usize = 100;

/// A user as sipXconfig shows it. The SIP password is never read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SipxUser {
    pub id: i64,
    pub user_name: String,
    /// MD5 hex of `user:realm:pin`; None when no portal PIN is set.
    pub pintoken: Option<String>,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub aliases: Vec<String>,
    pub groups: Vec<String>,
    pub permissions: Vec<String>,
    pub branch_name: Option<String>,
}

/// What `addUser` gives.
#[derive(Debug, Clone, Default)]
pub struct NewSipxUser {
    pub user_name: String,
    pub pin: String,
    pub vm_pin: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub sip_password: Option<String>,
    pub email: Option<String>,
    pub aliases: Vec<String>,
    pub groups: Vec<String>,
    pub permissions: Vec<String>,
    pub branch_name: Option<String>,
}

/// `UserSearch`: the first criterion given wins (user name, then fuzzy, then group); none
/// means every user.
#[derive(Debug, Clone, Default)]
pub struct UserSearch {
    pub by_user_name: Option<String>,
    pub by_fuzzy_user_name_or_alias: Option<String>,
    pub by_group: Option<String>,
}

impl UserSearch {
    fn filter(&self) -> Filter<'_> {
        if let Some(name) = &self.by_user_name {
            Filter::UserName(name)
        } else if let Some(text) = &self.by_fuzzy_user_name_or_alias {
            Filter::Fuzzy(text)
        } else if let Some(group) = &self.by_group {
            Filter::Group(group)
        } else {
            Filter::All
        }
    }

    fn describe(&self) -> String {
        match self.filter() {
            Filter::All => "any user".into(),
            Filter::UserName(n) => format!("user '{n}'"),
            Filter::Fuzzy(t) => format!("a user name or alias containing '{t}'"),
            Filter::Group(g) => format!("a user in group '{g}'"),
        }
    }
}

/// One `edit` of `manageUser`: a property of the user and its new value.
#[derive(Debug, Clone)]
pub struct UserEdit {
    pub property: String,
    pub value: String,
}

/// The user properties `manageUser` may edit.
pub const EDITABLE: &[&str] = &[
    "userName",
    "firstName",
    "lastName",
    "sipPassword",
    "pin",
    "voicemailPin",
    "emailAddress",
    "aliases",
    "permissions",
    "branchName",
];

/// `manageUser`: run on every user the search finds, in sipXconfig's order: delete (and
/// nothing else), edits, add a group, remove a group, set the branch; then save.
#[derive(Debug, Clone, Default)]
pub struct ManageUsers {
    pub search: UserSearch,
    pub edits: Vec<UserEdit>,
    pub delete: bool,
    pub add_group: Option<String>,
    pub remove_group: Option<String>,
    /// A new branch name; empty clears it.
    pub update_branch: Option<String>,
}

/// The installation's sipX domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SystemDomain {
    pub name: String,
    pub realm: String,
    pub aliases: Vec<String>,
}

pub(crate) fn check_text(field: &str, value: &str, max: usize) -> CoreResult<()> {
    if value.len() > max {
        return Err(CoreError::invalid(
            field,
            format!("longer than {max} bytes"),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(CoreError::invalid(field, "contains control characters"));
    }
    Ok(())
}

fn check_user_name(name: &str) -> CoreResult<()> {
    if name.is_empty() {
        return Err(CoreError::Missing("userName".into()));
    }
    check_text("userName", name, MAX_NAME)?;
    if name
        .chars()
        .any(|c| c.is_whitespace() || matches!(c, '@' | ':' | '"' | '<' | '>'))
    {
        return Err(CoreError::invalid(
            "userName",
            format!("'{name}' must not contain spaces, '@', ':', quotes or angle brackets"),
        ));
    }
    Ok(())
}

fn check_pin(field: &str, pin: &str) -> CoreResult<()> {
    if pin.is_empty() {
        return Err(CoreError::invalid(field, "must not be empty"));
    }
    check_text(field, pin, MAX_NAME)
}

fn check_list(field: &str, items: &[String]) -> CoreResult<()> {
    if items.len() > MAX_LIST {
        return Err(CoreError::invalid(
            field,
            format!("more than {MAX_LIST} items"),
        ));
    }
    for item in items {
        if item.is_empty() {
            return Err(CoreError::invalid(field, "an empty item"));
        }
        check_text(field, item, MAX_NAME)?;
    }
    Ok(())
}

fn check_aliases(aliases: &[String]) -> CoreResult<()> {
    check_list("aliases", aliases)?;
    if let Some(bad) = aliases
        .iter()
        .find(|a| a.chars().any(|c| c.is_whitespace() || c == '@'))
    {
        return Err(CoreError::invalid(
            "aliases",
            format!("'{bad}' must not contain spaces or '@'"),
        ));
    }
    Ok(())
}

fn check_permissions(permissions: &[String]) -> CoreResult<()> {
    check_list("permissions", permissions)
}

/// Refuses a permission that is neither built in nor one of the custom ones.
fn ensure_known_permissions(conn: &Conn<'_>, permissions: &[String]) -> CoreResult<()> {
    for p in permissions {
        if !KNOWN_PERMISSIONS.contains(&p.as_str()) && !db::sipx_permissions::exists(conn, p)? {
            return Err(CoreError::invalid(
                "permissions",
                format!(
                    "unknown permission '{p}'; built in: {} (and custom ones from PermissionService)",
                    KNOWN_PERMISSIONS.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

fn check_search(search: &UserSearch) -> CoreResult<()> {
    for (field, value) in [
        ("byUserName", &search.by_user_name),
        (
            "byFuzzyUserNameOrAlias",
            &search.by_fuzzy_user_name_or_alias,
        ),
        ("byGroup", &search.by_group),
    ] {
        if let Some(v) = value {
            check_text(field, v, MAX_TEXT)?;
        }
    }
    Ok(())
}

/// Aliases as sipXconfig's `aliasesString`: separated by spaces or commas.
fn split_list(value: &str) -> Vec<String> {
    value
        .split([' ', ','])
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

fn check_new_user(u: &NewSipxUser) -> CoreResult<()> {
    check_user_name(&u.user_name)?;
    check_pin("pin", &u.pin)?;
    if let Some(vm) = &u.vm_pin {
        check_pin("vmpin", vm)?;
    }
    for (field, value) in [
        ("firstName", &u.first_name),
        ("lastName", &u.last_name),
        ("sipPassword", &u.sip_password),
        ("emailAddress", &u.email),
        ("branchName", &u.branch_name),
    ] {
        if let Some(v) = value {
            check_text(field, v, MAX_TEXT)?;
        }
    }
    check_aliases(&u.aliases)?;
    check_list("groups", &u.groups)?;
    check_permissions(&u.permissions)
}

fn check_edits(edits: &[UserEdit]) -> CoreResult<()> {
    if edits.len() > MAX_LIST {
        return Err(CoreError::invalid(
            "edit",
            format!("more than {MAX_LIST} edits"),
        ));
    }
    for edit in edits {
        let value = edit.value.as_str();
        match edit.property.as_str() {
            "userName" => check_user_name(value)?,
            "pin" | "voicemailPin" => check_pin(&edit.property, value)?,
            "aliases" => check_aliases(&split_list(value))?,
            "permissions" => check_permissions(&split_list(value))?,
            "firstName" | "lastName" | "sipPassword" | "emailAddress" | "branchName" => {
                check_text(&edit.property, value, MAX_TEXT)?;
            }
            other => {
                return Err(CoreError::invalid(
                    "edit",
                    format!(
                        "unknown user property '{other}'; editable: {}",
                        EDITABLE.join(", ")
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// The customer new users and groups of this principal belong to.
pub(crate) fn home_customer(p: &Principal) -> CoreResult<i64> {
    match p {
        Principal::Login(_) => permissions::default_customer(p, "customer"),
        // Trusted hosts and the operator act for the whole installation: its root.
        _ => Ok(1),
    }
}

fn pintoken(user: &str, realm: &str, pin: &str) -> String {
    hex::encode(Md5::digest(format!("{user}:{realm}:{pin}")))
}

fn to_user(row: UserRow, realm: &str) -> SipxUser {
    SipxUser {
        id: row.id,
        pintoken: row
            .portal_pin
            .filter(|p| !p.is_empty())
            .map(|pin| pintoken(&row.username, realm, &pin)),
        user_name: row.username,
        first_name: row.first_name,
        last_name: row.last_name,
        email: row.email,
        aliases: row.aliases,
        groups: row.groups,
        permissions: row.permissions,
        branch_name: row.branch_name,
    }
}

/// Every user under the principal's part of the tree that the search finds, read in pages.
fn search(conn: &Conn<'_>, actor: &Actor, search: &UserSearch) -> CoreResult<Vec<UserRow>> {
    let root = permissions::visible_root(&actor.principal)?;
    let filter = search.filter();
    let mut found = Vec::new();
    let mut after = 0;
    loop {
        let page = db_users::page(conn, &root, &filter, after, SEARCH_PAGE)?;
        let full = page.len() == SEARCH_PAGE;
        after = page.last().map_or(after, |u| u.id);
        found.extend(page);
        if found.len() > MAX_FOUND {
            return Err(CoreError::Unprocessable(format!(
                "more than {MAX_FOUND} users match; narrow the search"
            )));
        }
        if !full {
            return Ok(found);
        }
    }
}

/// One of the caller's users by user name.
pub(crate) fn user_by_name(conn: &Conn<'_>, actor: &Actor, name: &str) -> CoreResult<UserRow> {
    let root = permissions::visible_root(&actor.principal)?;
    db_users::page(conn, &root, &Filter::UserName(name), 0, 1)?
        .into_iter()
        .next()
        .ok_or_else(|| CoreError::NotFound(format!("user '{name}'")))
}

/// Refuses aliases another subscriber (or another user of this call) already has.
fn ensure_aliases_free(tx: &WriteTx<'_>, aliases: &[String], owner: Option<i64>) -> CoreResult<()> {
    for (i, alias) in aliases.iter().enumerate() {
        let taken = db_users::number_owner(tx, alias)?.is_some_and(|o| Some(o) != owner);
        if taken || aliases[..i].contains(alias) {
            return Err(CoreError::Duplicate(format!(
                "the alias '{alias}' is already in use"
            )));
        }
    }
    Ok(())
}

fn set_groups(
    tx: &WriteTx<'_>,
    customer_id: i64,
    id: i64,
    groups: &[String],
    now: i64,
) -> CoreResult<()> {
    for name in groups {
        let group = db_users::ensure_group(tx, customer_id, name, now)?;
        db_users::add_member(tx, group, id)?;
    }
    Ok(())
}

/// Applies one user's edits; returns whether anything needs saving.
fn apply_edits(
    tx: &WriteTx<'_>,
    user: &UserRow,
    domain_id: Option<i64>,
    edits: &[UserEdit],
    now: i64,
    by: &str,
) -> CoreResult<()> {
    let mut columns = UserColumns {
        portal_pin: None,
        vm_pin: None,
        sip_password: None,
        email: None,
        username: None,
        branch: None,
    };
    let (mut first, mut last) = (None, None);
    for edit in edits {
        let v = edit.value.as_str();
        match edit.property.as_str() {
            "userName" => {
                if v != user.username && db_users::username_taken(tx, v, domain_id, Some(user.id))?
                {
                    return Err(CoreError::Duplicate(format!(
                        "the user name '{v}' is already in use"
                    )));
                }
                columns.username = Some(v);
            }
            "firstName" => first = Some(v),
            "lastName" => last = Some(v),
            "sipPassword" => columns.sip_password = Some(v),
            "pin" => columns.portal_pin = Some(v),
            "voicemailPin" => columns.vm_pin = Some(v),
            "emailAddress" => columns.email = Some(v),
            "branchName" => columns.branch = Some((!v.is_empty()).then_some(v)),
            "aliases" => {
                let aliases = split_list(v);
                ensure_aliases_free(tx, &aliases, Some(user.id))?;
                db_users::replace_aliases(tx, user.id, &aliases)?;
            }
            "permissions" => {
                let permissions = split_list(v);
                ensure_known_permissions(tx, &permissions)?;
                db_users::replace_permissions(tx, user.id, &permissions)?;
            }
            other => {
                return Err(CoreError::invalid(
                    "edit",
                    format!("unknown user property '{other}'"),
                ));
            }
        }
    }
    db_users::update_columns(tx, user.id, &columns, now, by)?;
    if let Some(contact) = user.contact_id
        && (first.is_some() || last.is_some() || columns.email.is_some())
    {
        db_users::update_contact(tx, contact, first, last, columns.email)?;
    }
    Ok(())
}

impl Core {
    /// The domain sipX users live in: the realm's domain row, with every other domain as an
    /// alias.
    pub async fn sipx_system_info(&self, actor: &Actor) -> CoreResult<SystemDomain> {
        let realm = self.realm().to_string();
        // Only the domains in the caller's reach: another tenant's domain names are theirs.
        let below = match permissions::visible_root(&actor.principal) {
            Ok(below) => below,
            Err(e) => return self.refuse(actor, Event::SipxUsersRead, e).await,
        };
        let with_unowned = permissions::is_root_equivalent(&actor.principal);
        self.query(actor, Event::SipxUsersRead, move |conn| {
            Ok(SystemDomain {
                aliases: db_users::other_domains(conn, &realm, &below, with_unowned)?,
                name: realm.clone(),
                realm,
            })
        })
        .await
    }

    /// `addUser`: a new subscriber with its portal PIN, aliases, groups (created when missing)
    /// and permissions. Returns its id.
    pub async fn add_sipx_user(&self, actor: &Actor, user: NewSipxUser) -> CoreResult<i64> {
        if let Err(e) = check_new_user(&user) {
            return self.refuse(actor, Event::SipxUserCreated, e).await;
        }
        let realm = self.realm().to_string();
        let detail = json!({
            "userName": user.user_name, "pin": "***", "vmpin": user.vm_pin.as_ref().map(|_| "***"),
            "sipPassword": user.sip_password.as_ref().map(|_| "***"),
            "firstName": user.first_name, "lastName": user.last_name,
            "emailAddress": user.email, "aliases": user.aliases, "groups": user.groups,
            "permissions": user.permissions, "branchName": user.branch_name,
        })
        .to_string();
        self.mutate(actor, Event::SipxUserCreated, move |tx, actor, now| {
            permissions::may_manage_accounts(&actor.principal, Op::Add)?;
            let customer_id = home_customer(&actor.principal)?;
            let domain_id = db_users::domain_id(tx, &realm)?;
            if db_users::username_taken(tx, &user.user_name, domain_id, None)? {
                return Err(CoreError::Duplicate(format!(
                    "the user name '{}' is already in use",
                    user.user_name
                )));
            }
            ensure_aliases_free(tx, &user.aliases, None)?;
            ensure_known_permissions(tx, &user.permissions)?;
            let text = |v: &Option<String>| Field::Str(v.clone().unwrap_or_default());
            let contact_id = db::contacts::insert(
                tx,
                &[
                    ("first_name", text(&user.first_name)),
                    ("last_name", text(&user.last_name)),
                    ("email", text(&user.email)),
                    ("create_timestamp", Field::Time(now)),
                    ("modify_timestamp", Field::Time(now)),
                ],
            )?;
            let by = actor.display_name();
            let id = db::accounts::insert(
                tx,
                &[
                    ("customer_id", Field::Int(customer_id)),
                    ("domain_id", domain_id.map_or(Field::Null, Field::Int)),
                    ("contact_id", Field::Int(contact_id)),
                    ("username", Field::Str(user.user_name.clone())),
                    ("authname", Field::Str(user.user_name.clone())),
                    ("voip_password", text(&user.sip_password)),
                    ("vm_password", text(&user.vm_pin)),
                    ("portal_pin", Field::Str(user.pin.clone())),
                    ("email", user.email.clone().map_or(Field::Null, Field::Str)),
                    (
                        "branch_name",
                        user.branch_name.clone().map_or(Field::Null, Field::Str),
                    ),
                    ("billing_plan_id", Field::Int(1)),
                    ("time_zone_id", Field::Int(1)),
                    ("created_on", Field::Time(now)),
                    ("created_by", Field::Str(by.clone())),
                    ("updated_on", Field::Time(now)),
                    ("updated_by", Field::Str(by)),
                ],
            )?;
            db_users::replace_aliases(tx, id, &user.aliases)?;
            db_users::replace_permissions(tx, id, &user.permissions)?;
            set_groups(tx, customer_id, id, &user.groups, now)?;
            Ok(Done {
                value: id,
                target: format!("account:{id}"),
                detail,
            })
        })
        .await
    }

    /// `findUser`: the users the search finds, by id.
    pub async fn find_sipx_users(
        &self,
        actor: &Actor,
        query: UserSearch,
    ) -> CoreResult<Vec<SipxUser>> {
        if let Err(e) = check_search(&query) {
            return self.refuse(actor, Event::SipxUsersRead, e).await;
        }
        let acting = actor.clone();
        let realm = self.realm().to_string();
        self.query(actor, Event::SipxUsersRead, move |conn| {
            Ok(search(conn, &acting, &query)?
                .into_iter()
                .map(|row| to_user(row, &realm))
                .collect())
        })
        .await
    }

    /// `manageUser`: changes every user the search finds, all or none. Returns how many.
    pub async fn manage_sipx_users(
        &self,
        actor: &Actor,
        request: ManageUsers,
    ) -> CoreResult<usize> {
        let checked = check_search(&request.search)
            .and_then(|()| check_edits(&request.edits))
            .and_then(|()| {
                for (field, value) in [
                    ("addGroup", &request.add_group),
                    ("removeGroup", &request.remove_group),
                    ("updateBranch", &request.update_branch),
                ] {
                    if let Some(v) = value {
                        check_text(field, v, MAX_NAME)?;
                    }
                }
                Ok(())
            });
        if let Err(e) = checked {
            return self.refuse(actor, Event::SipxUsersManaged, e).await;
        }
        let realm = self.realm().to_string();
        let edits: Vec<_> = request
            .edits
            .iter()
            .map(|e| {
                let secret = matches!(e.property.as_str(), "sipPassword" | "pin" | "voicemailPin");
                json!({"property": e.property, "value": if secret { "***" } else { e.value.as_str() }})
            })
            .collect();
        let detail = json!({
            "search": request.search.describe(), "edit": edits, "deleteUser": request.delete,
            "addGroup": request.add_group, "removeGroup": request.remove_group,
            "updateBranch": request.update_branch,
        });
        self.mutate(actor, Event::SipxUsersManaged, move |tx, actor, now| {
            let users = search(tx, actor, &request.search)?;
            if users.is_empty() {
                return Err(CoreError::NotFound(request.search.describe()));
            }
            let op = if request.delete { Op::Delete } else { Op::Edit };
            permissions::may_manage_accounts(&actor.principal, op)?;
            let domain_id = db_users::domain_id(tx, &realm)?;
            let by = actor.display_name();
            for user in &users {
                if request.delete {
                    if let Some(node) = db::accounts::node_by_id(tx, user.id)? {
                        db::accounts::delete(tx, &node)?;
                    }
                    continue;
                }
                apply_edits(tx, user, domain_id, &request.edits, now, &by)?;
                if let Some(group) = &request.add_group {
                    let id = db_users::ensure_group(tx, user.customer_id, group, now)?;
                    db_users::add_member(tx, id, user.id)?;
                }
                if let Some(group) = &request.remove_group
                    && let Some(id) = db_users::find_group(tx, user.customer_id, group)?
                {
                    db_users::remove_member(tx, id, user.id)?;
                }
                if let Some(branch) = &request.update_branch {
                    let columns = UserColumns {
                        portal_pin: None,
                        vm_pin: None,
                        sip_password: None,
                        email: None,
                        username: None,
                        branch: Some((!branch.is_empty()).then_some(branch.as_str())),
                    };
                    db_users::update_columns(tx, user.id, &columns, now, &by)?;
                }
            }
            let ids: Vec<i64> = users.iter().map(|u| u.id).collect();
            Ok(done_with_many("account", "accounts", &ids, detail))
        })
        .await
    }
}

/// What a change of several objects reports: how many, their ids in the audit target
/// (`<kind>:1,2,3`) and under `key` in the detail.
pub(super) fn done_with_many(
    kind: &str,
    key: &str,
    ids: &[i64],
    mut detail: serde_json::Value,
) -> Done<usize> {
    detail[key] = json!(ids);
    let list: Vec<String> = ids.iter().map(ToString::to_string).collect();
    Done {
        value: ids.len(),
        target: format!("{kind}:{}", list.join(",")),
        detail: detail.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pintoken_is_the_md5_of_user_realm_pin() {
        // md5("alice:example.org:1234")
        assert_eq!(
            pintoken("alice", "example.org", "1234"),
            hex::encode(Md5::digest(b"alice:example.org:1234"))
        );
        assert_eq!(pintoken("a", "r", "p").len(), 32);
    }

    #[test]
    fn search_priority_is_user_name_then_fuzzy_then_group() {
        let all = UserSearch {
            by_user_name: Some("u".into()),
            by_fuzzy_user_name_or_alias: Some("f".into()),
            by_group: Some("g".into()),
        };
        assert!(matches!(all.filter(), Filter::UserName("u")));
        let fuzzy_group = UserSearch {
            by_user_name: None,
            ..all.clone()
        };
        assert!(matches!(fuzzy_group.filter(), Filter::Fuzzy("f")));
        let group = UserSearch {
            by_group: Some("g".into()),
            ..UserSearch::default()
        };
        assert!(matches!(group.filter(), Filter::Group("g")));
        assert!(matches!(UserSearch::default().filter(), Filter::All));
    }

    #[test]
    fn bad_input_is_named() {
        let user = NewSipxUser {
            user_name: "has space".into(),
            pin: "1".into(),
            ..NewSipxUser::default()
        };
        assert!(
            check_new_user(&user)
                .unwrap_err()
                .to_string()
                .contains("userName")
        );
        let user = NewSipxUser {
            user_name: "ok".into(),
            ..NewSipxUser::default()
        };
        assert!(
            check_new_user(&user)
                .unwrap_err()
                .to_string()
                .contains("pin")
        );
        let edit = [UserEdit {
            property: "colour".into(),
            value: "blue".into(),
        }];
        assert!(
            check_edits(&edit)
                .unwrap_err()
                .to_string()
                .contains("colour")
        );
        assert_eq!(split_list("1001, 1002 ,x"), ["1001", "1002", "x"]);
    }
}
