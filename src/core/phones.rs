//! Phones (sipXconfig PhoneService): provisioned devices of a customer, in groups, with lines
//! that are the customer's subscribers (a line per user) or external accounts on another
//! registrar. There are no real phones behind them: `generateProfiles` and `restart` are
//! recorded on the phone and in the audit log, and answered as done.

use serde_json::json;

use super::actor::Actor;
use super::audit::Event;
use super::permissions::{self, Op};
use super::sipx_users::{check_text, home_customer, user_by_name};
use super::{Core, CoreError, CoreResult, Done};
use crate::db::phones::{self as db_phones, Filter, NewLine, PhoneRow};
use crate::db::{Conn, WriteTx};

/// Phones a search may return.
pub const MAX_FOUND: usize = 10_000;
const SEARCH_PAGE: usize = 1_000;
const MAX_LINES: i64 = 100;
const MAX_GROUPS: usize = 100;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub user_id: String,
    pub uri: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phone {
    pub serial_number: String,
    pub model_id: String,
    pub description: String,
    pub groups: Vec<String>,
    pub lines: Vec<Line>,
}

/// A line to add for one of the customer's users; `uri` defaults to `sip:user@realm`.
#[derive(Debug, Clone, Default)]
pub struct UserLine {
    pub user_id: String,
    pub uri: Option<String>,
}

/// An account on another registrar.
#[derive(Debug, Clone, Default)]
pub struct ExternalLine {
    pub user_id: String,
    pub display_name: Option<String>,
    pub password: Option<String>,
    pub registration_server: String,
    pub voicemail: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct NewPhone {
    pub serial_number: String,
    pub model_id: String,
    pub description: Option<String>,
    pub groups: Vec<String>,
    pub lines: Vec<UserLine>,
}

/// `PhoneSearch`: by serial number, else by group, else every phone.
#[derive(Debug, Clone, Default)]
pub struct PhoneSearch {
    pub by_serial_number: Option<String>,
    pub by_group: Option<String>,
}

impl PhoneSearch {
    fn filter(&self) -> Filter<'_> {
        match (&self.by_serial_number, &self.by_group) {
            (Some(s), _) => Filter::Serial(s),
            (None, Some(g)) => Filter::Group(g),
            (None, None) => Filter::All,
        }
    }

    fn describe(&self) -> String {
        match self.filter() {
            Filter::All => "any phone".into(),
            Filter::Serial(s) => format!("phone '{s}'"),
            Filter::Group(g) => format!("a phone in group '{g}'"),
        }
    }
}

/// The phone properties `managePhone` may edit.
pub const EDITABLE: &[&str] = &["serialNumber", "modelId", "description"];

/// `managePhone`, applied to every phone found, in this order: delete (and nothing else),
/// edits, add a group, remove a group, add a line, add an external line, remove lines,
/// generate profiles, restart.
#[derive(Debug, Clone, Default)]
pub struct ManagePhones {
    pub search: PhoneSearch,
    pub edits: Vec<(String, String)>,
    pub delete: bool,
    pub add_group: Option<String>,
    pub remove_group: Option<String>,
    pub add_line: Option<UserLine>,
    pub add_external_line: Option<ExternalLine>,
    pub remove_line_by_user_id: Option<String>,
    pub remove_line_by_uri: Option<String>,
    pub generate_profiles: bool,
    pub restart: bool,
}

/// Serial numbers are MAC addresses: 12 hex digits, stored in lower case.
fn check_serial(serial: &str) -> CoreResult<String> {
    let s = serial.trim().to_ascii_lowercase();
    if s.len() != 12 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(CoreError::invalid(
            "serialNumber",
            format!("'{serial}' must be 12 hexadecimal digits (the MAC address)"),
        ));
    }
    Ok(s)
}

fn check_model(model: &str) -> CoreResult<()> {
    if model.is_empty()
        || model.len() > 64
        || !model
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
    {
        return Err(CoreError::invalid(
            "modelId",
            format!("'{model}' must be 1 to 64 letters, digits, '.', '_' or '-'"),
        ));
    }
    Ok(())
}

fn check_uri(field: &str, uri: &str) -> CoreResult<()> {
    check_text(field, uri, 255)?;
    if !uri.starts_with("sip:") || uri.len() < 5 || uri.contains(char::is_whitespace) {
        return Err(CoreError::invalid(
            field,
            format!("'{uri}' must be a SIP URI (sip:user@host)"),
        ));
    }
    Ok(())
}

fn check_new(p: &NewPhone) -> CoreResult<String> {
    let serial = check_serial(&p.serial_number)?;
    check_model(&p.model_id)?;
    if let Some(d) = &p.description {
        check_text("description", d, 255)?;
    }
    check_groups(&p.groups)?;
    for line in &p.lines {
        check_line(line)?;
    }
    Ok(serial)
}

fn check_groups(groups: &[String]) -> CoreResult<()> {
    if groups.len() > MAX_GROUPS {
        return Err(CoreError::invalid("groups", "more than 100 groups"));
    }
    for g in groups {
        if g.is_empty() {
            return Err(CoreError::invalid("groups", "an empty group name"));
        }
        check_text("groups", g, 64)?;
    }
    Ok(())
}

fn check_line(line: &UserLine) -> CoreResult<()> {
    check_text("userId", &line.user_id, 64)?;
    if line.user_id.is_empty() {
        return Err(CoreError::Missing("userId".into()));
    }
    if let Some(uri) = &line.uri {
        check_uri("uri", uri)?;
    }
    Ok(())
}

fn check_manage(m: &ManagePhones) -> CoreResult<()> {
    for value in [&m.search.by_serial_number, &m.search.by_group]
        .into_iter()
        .flatten()
    {
        check_text("search", value, 255)?;
    }
    for (property, value) in &m.edits {
        match property.as_str() {
            "serialNumber" => drop(check_serial(value)?),
            "modelId" => check_model(value)?,
            "description" => check_text("description", value, 255)?,
            other => {
                return Err(CoreError::invalid(
                    "edit",
                    format!(
                        "unknown phone property '{other}'; editable: {}",
                        EDITABLE.join(", ")
                    ),
                ));
            }
        }
    }
    for g in [&m.add_group, &m.remove_group].into_iter().flatten() {
        check_groups(std::slice::from_ref(g))?;
    }
    if let Some(line) = &m.add_line {
        check_line(line)?;
    }
    if let Some(x) = &m.add_external_line {
        check_text("userId", &x.user_id, 64)?;
        if x.user_id.is_empty() || x.user_id.contains(['@', ' ', ':']) {
            return Err(CoreError::invalid(
                "userId",
                format!(
                    "'{}' must be a user part without '@', ':' or spaces",
                    x.user_id
                ),
            ));
        }
        check_uri(
            "registrationServer",
            &format!("sip:{}", x.registration_server),
        )?;
        for v in [&x.display_name, &x.password, &x.voicemail]
            .into_iter()
            .flatten()
        {
            check_text("addExternalLine", v, 255)?;
        }
    }
    for v in [&m.remove_line_by_user_id, &m.remove_line_by_uri]
        .into_iter()
        .flatten()
    {
        check_text("removeLine", v, 255)?;
    }
    Ok(())
}

fn search(conn: &Conn<'_>, actor: &Actor, search: &PhoneSearch) -> CoreResult<Vec<PhoneRow>> {
    let root = permissions::visible_root(&actor.principal)?;
    // Serial numbers are stored in lower case.
    let serial = search
        .by_serial_number
        .as_ref()
        .map(|s| s.to_ascii_lowercase());
    let lowered = PhoneSearch {
        by_serial_number: serial,
        by_group: search.by_group.clone(),
    };
    let filter = lowered.filter();
    let (mut found, mut after) = (Vec::new(), 0);
    loop {
        let page = db_phones::page(conn, &root, filter, after, SEARCH_PAGE)?;
        let full = page.len() == SEARCH_PAGE;
        after = page.last().map_or(after, |p| p.id);
        found.extend(page);
        if found.len() > MAX_FOUND {
            return Err(CoreError::Unprocessable(format!(
                "more than {MAX_FOUND} phones match; narrow the search"
            )));
        }
        if !full {
            return Ok(found);
        }
    }
}

/// Adds a line for one of the caller's users.
fn add_user_line(
    tx: &WriteTx<'_>,
    actor: &Actor,
    phone_id: i64,
    line: &UserLine,
    realm: &str,
) -> CoreResult<()> {
    let user = user_by_name(tx, actor, &line.user_id)?;
    let uri = line
        .uri
        .clone()
        .unwrap_or_else(|| format!("sip:{}@{realm}", user.username));
    add_line(
        tx,
        phone_id,
        &NewLine {
            subscriber_id: Some(user.id),
            user_id: &user.username,
            uri: &uri,
            display_name: "",
            password: "",
            registration_server: "",
            voicemail: "",
        },
    )
}

fn add_line(tx: &WriteTx<'_>, phone_id: i64, line: &NewLine<'_>) -> CoreResult<()> {
    if db_phones::line_count(tx, phone_id)? >= MAX_LINES {
        return Err(CoreError::Unprocessable(format!(
            "a phone has at most {MAX_LINES} lines"
        )));
    }
    if !db_phones::add_line(tx, phone_id, line)? {
        return Err(CoreError::Duplicate(format!(
            "the phone already has a line for {}",
            line.uri
        )));
    }
    Ok(())
}

fn to_phone(row: PhoneRow) -> Phone {
    Phone {
        serial_number: row.serial_number,
        model_id: row.model_id,
        description: row.description,
        groups: row.groups,
        lines: row
            .lines
            .into_iter()
            .map(|l| Line {
                user_id: l.user_id,
                uri: l.uri,
            })
            .collect(),
    }
}

impl Core {
    /// `addPhone`: a phone of the caller's customer, with groups (created when missing) and
    /// lines for its users.
    pub async fn add_phone(&self, actor: &Actor, phone: NewPhone) -> CoreResult<()> {
        let serial = match check_new(&phone) {
            Ok(s) => s,
            Err(e) => return self.refuse(actor, Event::PhoneCreated, e).await,
        };
        let realm = self.realm().to_string();
        let detail = json!({
            "serialNumber": serial, "modelId": phone.model_id, "description": phone.description,
            "groups": phone.groups,
            "lines": phone.lines.iter().map(|l| json!({"userId": l.user_id, "uri": l.uri})).collect::<Vec<_>>(),
        })
        .to_string();
        self.mutate(actor, Event::PhoneCreated, move |tx, actor, now| {
            permissions::may_manage_accounts(&actor.principal, Op::Add)?;
            let customer_id = home_customer(&actor.principal)?;
            if db_phones::serial_taken(tx, &serial, None)? {
                return Err(CoreError::Duplicate(format!(
                    "a phone with serial number '{serial}' already exists"
                )));
            }
            let id = db_phones::insert(
                tx,
                customer_id,
                &serial,
                &phone.model_id,
                phone.description.as_deref().unwrap_or_default(),
                now,
            )?;
            for group in &phone.groups {
                db_phones::add_to_group(tx, customer_id, id, group)?;
            }
            for line in &phone.lines {
                add_user_line(tx, actor, id, line, &realm)?;
            }
            Ok(Done {
                value: (),
                target: format!("phone:{id}"),
                detail,
            })
        })
        .await
    }

    /// `findPhone`: the phones the search finds, by id.
    pub async fn find_phones(&self, actor: &Actor, query: PhoneSearch) -> CoreResult<Vec<Phone>> {
        let acting = actor.clone();
        self.query(actor, Event::PhonesRead, move |conn| {
            Ok(search(conn, &acting, &query)?
                .into_iter()
                .map(to_phone)
                .collect())
        })
        .await
    }

    /// `managePhone`: changes every phone found, all or none; returns how many.
    pub async fn manage_phones(&self, actor: &Actor, request: ManagePhones) -> CoreResult<usize> {
        if let Err(e) = check_manage(&request) {
            return self.refuse(actor, Event::PhonesManaged, e).await;
        }
        let realm = self.realm().to_string();
        let detail = json!({
            "search": request.search.describe(),
            "edit": request.edits.iter().map(|(p, v)| json!({"property": p, "value": v})).collect::<Vec<_>>(),
            "deletePhone": request.delete, "addGroup": request.add_group,
            "removeGroup": request.remove_group,
            "addLine": request.add_line.as_ref().map(|l| json!({"userId": l.user_id, "uri": l.uri})),
            "addExternalLine": request.add_external_line.as_ref().map(|x| json!({
                "userId": x.user_id, "registrationServer": x.registration_server,
                "password": x.password.as_ref().map(|_| "***"),
            })),
            "removeLineByUserId": request.remove_line_by_user_id,
            "removeLineByUri": request.remove_line_by_uri,
            "generateProfiles": request.generate_profiles, "restart": request.restart,
        });
        self.mutate(actor, Event::PhonesManaged, move |tx, actor, now| {
            let phones = search(tx, actor, &request.search)?;
            if phones.is_empty() {
                return Err(CoreError::NotFound(request.search.describe()));
            }
            let op = if request.delete { Op::Delete } else { Op::Edit };
            permissions::may_manage_accounts(&actor.principal, op)?;
            for phone in &phones {
                if request.delete {
                    db_phones::delete(tx, phone.id)?;
                    continue;
                }
                manage_one(tx, actor, phone, &request, &realm, now)?;
            }
            let ids: Vec<i64> = phones.iter().map(|p| p.id).collect();
            Ok(super::sipx_users::done_with_many(
                "phone", "phones", &ids, detail,
            ))
        })
        .await
    }
}

fn manage_one(
    tx: &WriteTx<'_>,
    actor: &Actor,
    phone: &PhoneRow,
    r: &ManagePhones,
    realm: &str,
    now: i64,
) -> CoreResult<()> {
    let edit = |name: &str| {
        r.edits
            .iter()
            .rev()
            .find(|(p, _)| p == name)
            .map(|(_, v)| v.as_str())
    };
    let serial = edit("serialNumber").map(check_serial).transpose()?;
    if let Some(s) = &serial
        && db_phones::serial_taken(tx, s, Some(phone.id))?
    {
        return Err(CoreError::Duplicate(format!(
            "a phone with serial number '{s}' already exists"
        )));
    }
    if !r.edits.is_empty() {
        db_phones::update(
            tx,
            phone.id,
            serial.as_deref(),
            edit("modelId"),
            edit("description"),
            now,
        )?;
    }
    if let Some(group) = &r.add_group {
        db_phones::add_to_group(tx, phone.customer_id, phone.id, group)?;
    }
    if let Some(group) = &r.remove_group {
        db_phones::remove_from_group(tx, phone.id, group)?;
    }
    if let Some(line) = &r.add_line {
        add_user_line(tx, actor, phone.id, line, realm)?;
    }
    if let Some(x) = &r.add_external_line {
        let uri = format!("sip:{}@{}", x.user_id, x.registration_server);
        add_line(
            tx,
            phone.id,
            &NewLine {
                subscriber_id: None,
                user_id: &x.user_id,
                uri: &uri,
                display_name: x.display_name.as_deref().unwrap_or_default(),
                password: x.password.as_deref().unwrap_or_default(),
                registration_server: &x.registration_server,
                voicemail: x.voicemail.as_deref().unwrap_or_default(),
            },
        )?;
    }
    if let Some(user) = &r.remove_line_by_user_id {
        db_phones::remove_lines(tx, phone.id, false, user)?;
    }
    if let Some(uri) = &r.remove_line_by_uri {
        db_phones::remove_lines(tx, phone.id, true, uri)?;
    }
    if r.generate_profiles {
        db_phones::mark(tx, phone.id, false, now)?;
    }
    if r.restart {
        db_phones::mark(tx, phone.id, true, now)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serials_are_macs_in_lower_case() {
        assert_eq!(
            check_serial("00A0C9 14C829".replace(' ', "").as_str()).unwrap(),
            "00a0c914c829"
        );
        assert!(check_serial("00a0c914c82").is_err());
        assert!(check_serial("00a0c914c82z").is_err());
        assert!(check_model("polycom600").is_ok());
        assert!(check_model("poly com").is_err());
    }

    #[test]
    fn unknown_phone_properties_are_named() {
        let m = ManagePhones {
            edits: vec![("colour".into(), "red".into())],
            ..ManagePhones::default()
        };
        assert!(check_manage(&m).unwrap_err().to_string().contains("colour"));
    }
}
