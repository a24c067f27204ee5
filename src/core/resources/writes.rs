//! The rules of each collection's create, replace and delete: references checked against the
//! caller's reach, uniqueness, life cycles, and the side effects C5 clients rely on.

use serde_json::Value as Json;

use super::Collection;
use crate::core::actor::Actor;
use crate::core::attrs::{self, Field, Fields, Kind, Presence};
use crate::core::passwords;
use crate::core::permissions::{self, Reach};
use crate::core::{CoreError, CoreResult};
use crate::db::resources::{Number, TreeNode};
use crate::db::{self, Conn, WriteTx, fields};

/// An admin login's password, hashed before the write (the slow hash stays off the writer).
pub struct AdminSecret {
    md5: String,
    sha256: String,
    realm: String,
    web_hash: String,
}

/// Checked input, ready for the writer thread.
pub struct Prepared {
    values: Vec<(&'static str, Field)>,
    admin_secret: Option<AdminSecret>,
    /// The primary number (if given) and aliases (None: leave the numbers as they are).
    numbers: Option<(Option<Number>, Vec<Number>)>,
}

impl Prepared {
    /// Removes and returns the value of `column`.
    fn take(&mut self, column: &str) -> Option<Field> {
        let at = self.values.iter().position(|(c, _)| *c == column)?;
        Some(self.values.remove(at).1)
    }
}

fn int(field: Option<Field>) -> Option<i64> {
    match field? {
        Field::Int(n) => Some(n),
        _ => None,
    }
}

fn text(field: Option<&Field>) -> Option<&str> {
    match field {
        Some(Field::Str(s)) => Some(s),
        _ => None,
    }
}

/// Checks the given fields of `c`. On create every required field must be there; on replace
/// (a whole representation) too, except write-only secrets, which keep their values.
pub async fn prepare(
    c: Collection,
    given: &Fields,
    existing: Option<i64>,
    realm: &str,
) -> CoreResult<Prepared> {
    let mut values = Vec::new();
    for def in c.writable() {
        match given.get(def.name) {
            // C5 clients send null for "not set"; text columns keep that as empty.
            Some(Field::Null) if matches!(def.kind, Kind::Text(_)) => {
                values.push((def.column, Field::Str(String::new())));
            }
            Some(value) => values.push((def.column, attrs::check(def, value)?)),
            None if def.presence == Presence::Required && (existing.is_none() || !def.secret) => {
                return Err(CoreError::Missing(def.name.to_string()));
            }
            None => {}
        }
    }
    let mut prepared = Prepared {
        values,
        admin_secret: None,
        numbers: None,
    };
    match c {
        Collection::Admins => {
            if let Some(Field::Str(password)) = prepared.take("password") {
                let login = text(
                    prepared
                        .values
                        .iter()
                        .find(|(c, _)| *c == "login")
                        .map(|(_, v)| v),
                )
                .unwrap_or_default()
                .to_string();
                prepared.admin_secret = Some(hash_admin_password(login, password, realm).await?);
            }
        }
        Collection::Subscribers => {
            // No web password (null) means no self-care login: stored as empty.
            if let Some((_, value)) = prepared
                .values
                .iter_mut()
                .find(|(c, _)| *c == "web_password")
                && *value == Field::Null
            {
                *value = Field::Str(String::new());
            }
            let primary = prepared.take("primary_number");
            let aliases = prepared.take("alias_numbers");
            if primary.is_some() || aliases.is_some() || existing.is_none() {
                let primary = match primary {
                    Some(Field::Str(json)) => parse_number("primary_number", &json)?,
                    _ => None,
                };
                let aliases = match aliases {
                    Some(Field::Str(json)) => parse_aliases(&json)?,
                    _ => Vec::new(),
                };
                prepared.numbers = Some((primary, aliases));
            }
        }
        Collection::BillingProfiles => {
            for (column, value) in &prepared.values {
                if let Field::Str(json) = value {
                    match *column {
                        "peaktime_weekdays" => check_weekday_peaks(json)?,
                        "peaktime_special" => check_special_peaks(json)?,
                        _ => {}
                    }
                }
            }
        }
        Collection::Domains => {
            if let Some(Field::Str(name)) = prepared
                .values
                .iter()
                .find(|(c, _)| *c == "domain")
                .map(|(_, v)| v)
            {
                check_domain_name(name)?;
            }
        }
        _ => {}
    }
    Ok(prepared)
}

async fn hash_admin_password(
    login: String,
    password: String,
    realm: &str,
) -> CoreResult<AdminSecret> {
    passwords::check_password("password", &password)?;
    let (md5, sha256) = passwords::api_ha1(&login, realm, &password);
    let web_hash = tokio::task::spawn_blocking(move || passwords::hash_web_password(&password))
        .await
        .map_err(|_| CoreError::Storage(db::DbError::Panicked))??;
    Ok(AdminSecret {
        md5,
        sha256,
        realm: realm.to_string(),
        web_hash,
    })
}

fn check_domain_name(name: &str) -> CoreResult<()> {
    let ok = !name.is_empty()
        && name.split('.').all(|label| {
            !label.is_empty()
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    if ok {
        Ok(())
    } else {
        Err(CoreError::invalid(
            "domain",
            "must be a host name such as voip.example.com",
        ))
    }
}

/// Reads `{cc, ac, sn}`; the parts may be digits as strings or integers.
fn number_from(field: &str, value: &Json) -> CoreResult<Number> {
    let Json::Object(map) = value else {
        return Err(CoreError::invalid(
            field,
            "must be an object with cc, ac and sn",
        ));
    };
    let part = |key: &str, required: bool| -> CoreResult<String> {
        let text = match map.get(key) {
            Some(Json::String(s)) => s.clone(),
            Some(Json::Number(n)) if n.is_u64() => n.to_string(),
            None | Some(Json::Null) if !required => String::new(),
            _ => {
                return Err(CoreError::invalid(field, format!("'{key}' must be digits")));
            }
        };
        if text.len() > 16 || !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CoreError::invalid(
                field,
                format!("'{key}' must be up to 16 digits"),
            ));
        }
        Ok(text)
    };
    let number = Number {
        cc: part("cc", true)?,
        ac: part("ac", false)?,
        sn: part("sn", true)?,
    };
    if number.cc.is_empty() || number.sn.is_empty() {
        return Err(CoreError::invalid(field, "'cc' and 'sn' must not be empty"));
    }
    Ok(number)
}

fn parse_number(field: &str, json: &str) -> CoreResult<Option<Number>> {
    let value: Json =
        serde_json::from_str(json).map_err(|e| CoreError::invalid(field, e.to_string()))?;
    if value.is_null() {
        return Ok(None);
    }
    number_from(field, &value).map(Some)
}

fn parse_aliases(json: &str) -> CoreResult<Vec<Number>> {
    let value: Json = serde_json::from_str(json)
        .map_err(|e| CoreError::invalid("alias_numbers", e.to_string()))?;
    match value {
        Json::Null => Ok(Vec::new()),
        Json::Array(items) if items.len() <= 100 => items
            .iter()
            .map(|v| number_from("alias_numbers", v))
            .collect(),
        Json::Array(_) => Err(CoreError::invalid("alias_numbers", "at most 100 numbers")),
        _ => Err(CoreError::invalid(
            "alias_numbers",
            "must be an array of {cc, ac, sn}",
        )),
    }
}

/// Minutes since midnight of `HH:MM` or `HH:MM:SS`.
fn clock_minutes(text: &str) -> Option<u32> {
    let mut parts = text.split(':');
    let h: u32 = parts.next()?.parse().ok()?;
    let m: u32 = parts.next()?.parse().ok()?;
    let s: u32 = parts.next().map_or(Some(0), |s| s.parse().ok())?;
    (h < 24 && m < 60 && s < 60 && parts.next().is_none()).then_some(h * 60 + m)
}

fn check_weekday_peaks(json: &str) -> CoreResult<()> {
    let bad = |m: &str| CoreError::invalid("peaktime_weekdays", m.to_string());
    let items: Vec<Json> = serde_json::from_str(json)
        .map_err(|_| bad("must be an array of {weekday, start, stop}"))?;
    let mut spans: Vec<(u64, u32, u32)> = Vec::new();
    for item in &items {
        let weekday = item
            .get("weekday")
            .and_then(Json::as_u64)
            .filter(|d| *d <= 6)
            .ok_or_else(|| bad("weekday must be 0 (Monday) to 6"))?;
        let start = item
            .get("start")
            .and_then(Json::as_str)
            .and_then(clock_minutes)
            .ok_or_else(|| bad("start must be a time like 08:00:00"))?;
        let stop = item
            .get("stop")
            .and_then(Json::as_str)
            .and_then(clock_minutes)
            .ok_or_else(|| bad("stop must be a time like 18:00:00"))?;
        if stop < start {
            return Err(bad("stop must not be before start"));
        }
        if spans
            .iter()
            .any(|(d, s, e)| *d == weekday && start <= *e && *s <= stop)
        {
            return Err(bad("peaktime weekday ranges overlap"));
        }
        spans.push((weekday, start, stop));
    }
    Ok(())
}

fn check_special_peaks(json: &str) -> CoreResult<()> {
    let bad = |m: &str| CoreError::invalid("peaktime_special", m.to_string());
    let items: Vec<Json> =
        serde_json::from_str(json).map_err(|_| bad("must be an array of {start, stop}"))?;
    let mut spans: Vec<(i64, i64)> = Vec::new();
    for item in &items {
        let at = |key: &str| {
            item.get(key)
                .and_then(Json::as_str)
                .and_then(crate::core::records::parse_timestamp)
                .ok_or_else(|| bad(&format!("{key} must be a date like 2026-12-24 00:00:00")))
        };
        let (start, stop) = (at("start")?, at("stop")?);
        if stop < start {
            return Err(bad("stop must not be before start"));
        }
        if spans.iter().any(|(s, e)| start <= *e && *s <= stop) {
            return Err(bad("peaktime special ranges overlap"));
        }
        spans.push((start, stop));
    }
    Ok(())
}

/// The reseller a new or changed object belongs to: the caller's own for a reseller, else the
/// one named, which must be a reseller (`message` is C5's refusal).
fn reseller_of(
    conn: &Conn<'_>,
    reach: &Reach,
    asked: Option<i64>,
    message: &str,
) -> CoreResult<i64> {
    let Some(id) = reach.reseller_for(asked) else {
        return Err(CoreError::Missing("reseller_id".into()));
    };
    match db::resources::tree_node(conn, id)? {
        Some(node) if node.kind == "reseller" && reach.sees(&node.path) => Ok(id),
        _ => Err(CoreError::Unprocessable(message.to_string())),
    }
}

fn reseller_node(conn: &Conn<'_>, id: i64) -> CoreResult<TreeNode> {
    db::resources::tree_node(conn, id)?
        .ok_or_else(|| CoreError::Unprocessable("Invalid 'reseller_id'".into()))
}

/// A live customer contact the caller reaches; its reseller.
fn contract_contact(conn: &Conn<'_>, reach: &Reach, id: i64) -> CoreResult<i64> {
    match db::resources::contact(conn, id)? {
        Some((kind, _, _)) if kind == "system" => Err(CoreError::Unprocessable(format!(
            "The contact_id is not a valid ngcp:customercontacts item, but an \
             ngcp:systemcontacts item: {id}"
        ))),
        Some((_, reseller, status))
            if status != "terminated" && reach.sees(&reseller_node(conn, reseller)?.path) =>
        {
            Ok(reseller)
        }
        _ => Err(CoreError::Unprocessable("Invalid 'contact_id'".into())),
    }
}

/// A live billing profile usable by customers of `reseller` (its own, or the root's).
fn usable_billing_profile(conn: &Conn<'_>, id: i64, reseller: i64) -> CoreResult<()> {
    match db::resources::billing_profile(conn, id)? {
        Some((owner, status)) if status == "active" && (owner == reseller || owner == 1) => Ok(()),
        _ => Err(CoreError::Unprocessable(
            "Invalid 'billing_profile_id'".into(),
        )),
    }
}

fn ensure_unique_profile(
    conn: &Conn<'_>,
    reseller: i64,
    p: &Prepared,
    except: Option<i64>,
) -> CoreResult<()> {
    for column in ["handle", "name"] {
        if let Some(value) = text(p.values.iter().find(|(c, _)| *c == column).map(|(_, v)| v))
            && db::resources::billing_profile_taken(conn, reseller, column, value, except)?
        {
            return Err(CoreError::Duplicate(format!(
                "Billing profile with {column} '{value}' already exists for this reseller."
            )));
        }
    }
    Ok(())
}

/// A customer (contract) that can take subscribers.
fn subscriber_owner(conn: &Conn<'_>, reach: &Reach, id: i64) -> CoreResult<TreeNode> {
    match db::resources::tree_node(conn, id)? {
        Some(node) if node.kind == "customer" && reach.sees(&node.path) => {
            if node.status == "terminated" {
                Err(CoreError::Unprocessable(
                    "Invalid 'customer_id', the customer is terminated.".into(),
                ))
            } else {
                Ok(node)
            }
        }
        _ => Err(CoreError::Unprocessable("Invalid 'customer_id'".into())),
    }
}

/// The subscriber's domain id from `domain_id` or `domain`, checked against the customer's
/// reseller.
fn subscriber_domain(
    conn: &Conn<'_>,
    p: &mut Prepared,
    owner: &TreeNode,
) -> CoreResult<Option<i64>> {
    let by_id = int(p.take("domain_id"));
    let by_name = p.take("domain");
    let found = match (by_id, by_name) {
        (Some(id), _) => db::resources::domain(conn, id)?.map(|(_, reseller)| (id, reseller)),
        (None, Some(Field::Str(name))) => db::resources::domain_by_name(conn, &name)?,
        _ => return Err(CoreError::Missing("domain".into())),
    };
    match found {
        Some((id, reseller)) if reseller == owner.reseller_id || reseller == 1 => Ok(Some(id)),
        _ => Err(CoreError::Unprocessable(
            "Invalid 'domain', doesn't exist.".into(),
        )),
    }
}

fn reachable_subscriber_names(
    conn: &Conn<'_>,
    p: &Prepared,
    domain_id: Option<i64>,
    except: Option<i64>,
) -> CoreResult<()> {
    let domain_name = match domain_id {
        Some(id) => db::resources::domain(conn, id)?
            .map(|(n, _)| n)
            .unwrap_or_default(),
        None => String::new(),
    };
    if let Some(name) = text(
        p.values
            .iter()
            .find(|(c, _)| *c == "username")
            .map(|(_, v)| v),
    ) {
        if name.is_empty() || name.chars().any(|c| c.is_whitespace() || c == '@') {
            return Err(CoreError::invalid(
                "username",
                "must be non-empty, without spaces or '@'",
            ));
        }
        if db::resources::subscriber_name_taken(conn, "username", name, domain_id, except)? {
            return Err(CoreError::Unprocessable(format!(
                "Subscriber '{name}@{domain_name}' already exists."
            )));
        }
    }
    if let Some(name) = text(
        p.values
            .iter()
            .find(|(c, _)| *c == "webusername")
            .map(|(_, v)| v),
    ) && db::resources::subscriber_name_taken(conn, "webusername", name, domain_id, except)?
    {
        return Err(CoreError::Unprocessable(format!(
            "Webusername-Domain combination '{name}@{domain_name}' already exists."
        )));
    }
    Ok(())
}

fn check_numbers_free(conn: &Conn<'_>, p: &Prepared, subscriber: Option<i64>) -> CoreResult<()> {
    let Some((primary, aliases)) = &p.numbers else {
        return Ok(());
    };
    let mut seen = Vec::new();
    for number in primary.iter().chain(aliases) {
        let full = number.full();
        let taken_elsewhere = db::resources::number_owner(conn, &full)?
            .is_some_and(|owner| owner.is_none() || owner != subscriber);
        if taken_elsewhere || seen.contains(&full) {
            return Err(CoreError::Unprocessable(format!(
                "Number '{full}' already exists."
            )));
        }
        seen.push(full);
    }
    Ok(())
}

pub fn create(
    tx: &WriteTx<'_>,
    actor: &Actor,
    reach: &Reach,
    c: Collection,
    mut p: Prepared,
    now: i64,
) -> CoreResult<i64> {
    match c {
        Collection::Resellers => {
            permissions::reaches_all(&actor.principal)?;
            let name = text(p.values.iter().find(|(c, _)| *c == "name").map(|(_, v)| v))
                .unwrap_or_default()
                .to_string();
            if db::customers::name_taken(tx, &name, None)? {
                return Err(CoreError::Duplicate(format!(
                    "Reseller '{name}' already exists."
                )));
            }
            let root = db::customers::node_by_id(tx, 1)?
                .ok_or_else(|| CoreError::NotFound("the root customer".into()))?;
            let mut values = p.values;
            // A reseller's admins may use the API: C5 has no per-reseller switch for it.
            values.extend([
                ("kind", Field::Str("reseller".into())),
                ("api_permission", Field::Int(1)),
            ]);
            Ok(db::customers::insert(tx, Some(&root), &values, None, now)?)
        }
        Collection::Admins => {
            let asked = int(p.take("reseller_id"));
            let reseller = reseller_of(tx, reach, asked, "Invalid 'reseller_id'")?;
            let login = text(p.values.iter().find(|(c, _)| *c == "login").map(|(_, v)| v))
                .unwrap_or_default()
                .to_string();
            check_login_name(&login)?;
            if db::logins::exists(tx, &login)? {
                return Err(CoreError::Unprocessable(format!(
                    "Login '{login}' already exists."
                )));
            }
            let secret = p
                .admin_secret
                .take()
                .ok_or_else(|| CoreError::Missing("password".into()))?;
            let mut values = p.values;
            values.extend([
                ("customer_id", Field::Int(reseller)),
                ("role", Field::Str("admin".into())),
                ("allow_api_calls", Field::Int(1)),
                ("created_on", Field::Time(now)),
                ("updated_on", Field::Time(now)),
            ]);
            let id = fields::insert(tx, "logins", &values)?;
            store_admin_secret(tx, id, &secret, now)?;
            Ok(id)
        }
        Collection::SystemContacts | Collection::CustomerContacts => {
            let asked = int(p.take("reseller_id"));
            let (kind, reseller) = if c == Collection::SystemContacts {
                permissions::reaches_all(&actor.principal)?;
                ("system", Field::Null)
            } else {
                let id = reseller_of(tx, reach, asked, "Invalid 'reseller_id'")?;
                ("customer", Field::Int(id))
            };
            let mut values = p.values;
            values.extend([
                ("kind", Field::Str(kind.into())),
                ("reseller_id", reseller),
                ("create_timestamp", Field::Time(now)),
                ("modify_timestamp", Field::Time(now)),
            ]);
            Ok(db::contacts::insert(tx, &values)?)
        }
        Collection::Customers => {
            let contact = int(p.take("contact_id")).unwrap_or_default();
            let reseller = contract_contact(tx, reach, contact)?;
            let profile = int(p.take("billing_profile_id")).unwrap_or_default();
            usable_billing_profile(tx, profile, reseller)?;
            let parent = db::customers::node_by_id(tx, reseller)?
                .ok_or_else(|| CoreError::Unprocessable("Invalid 'contact_id'".into()))?;
            let mut values = p.values;
            let placeholder = format!("customer-new-{now}-{contact}");
            values.extend([
                ("name", Field::Str(placeholder)),
                ("billing_profile_id", Field::Int(profile)),
            ]);
            let id = db::customers::insert(tx, Some(&parent), &values, Some(contact), now)?;
            db::resources::name_contract(tx, id)?;
            Ok(id)
        }
        Collection::Domains => {
            let asked = int(p.take("reseller_id"));
            let reseller = reseller_of(tx, reach, asked, "Invalid 'reseller_id'")?;
            let name = text(
                p.values
                    .iter()
                    .find(|(c, _)| *c == "domain")
                    .map(|(_, v)| v),
            )
            .unwrap_or_default()
            .to_string();
            if db::resources::domain_by_name(tx, &name)?.is_some() {
                return Err(CoreError::Unprocessable(format!(
                    "Domain '{name}' already exists."
                )));
            }
            Ok(db::resources::insert_domain(tx, &name, reseller, now)?)
        }
        Collection::BillingProfiles => {
            let asked = int(p.take("reseller_id"));
            let reseller = reseller_of(tx, reach, asked, "Invalid reseller ID.")?;
            ensure_unique_profile(tx, reseller, &p, None)?;
            let mut values = p.values;
            values.extend([
                ("reseller_id", Field::Int(reseller)),
                ("create_timestamp", Field::Time(now)),
                ("modify_timestamp", Field::Time(now)),
            ]);
            Ok(fields::insert(tx, "billing_profiles", &values)?)
        }
        Collection::Subscribers => {
            let owner_id = int(p.take("customer_id")).unwrap_or_default();
            let owner = subscriber_owner(tx, reach, owner_id)?;
            let domain_id = subscriber_domain(tx, &mut p, &owner)?;
            if let Some(max) = owner.max_subscribers
                && db::resources::subscriber_count(tx, owner.id)? >= max
            {
                return Err(CoreError::Forbidden(
                    "Maximum number of customer subscribers reached.".into(),
                ));
            }
            let has_primary = matches!(&p.numbers, Some((Some(_), _)));
            if owner.contract_type == "sipaccount" && !has_primary {
                return Err(CoreError::Unprocessable(
                    "A primary_number is required for the SIP subscriber.".into(),
                ));
            }
            reachable_subscriber_names(tx, &p, domain_id, None)?;
            check_numbers_free(tx, &p, None)?;
            let username = text(
                p.values
                    .iter()
                    .find(|(c, _)| *c == "username")
                    .map(|(_, v)| v),
            )
            .unwrap_or_default()
            .to_string();
            let by = actor.display_name();
            let numbers = p.numbers.take();
            let mut values = p.values;
            values.extend([
                ("customer_id", Field::Int(owner.id)),
                ("domain_id", domain_id.map_or(Field::Null, Field::Int)),
                ("authname", Field::Str(username)),
                ("billing_plan_id", Field::Int(1)),
                ("time_zone_id", Field::Int(1)),
                ("uuid", Field::Str(new_uuid()?)),
                ("created_on", Field::Time(now)),
                ("created_by", Field::Str(by.clone())),
                ("updated_on", Field::Time(now)),
                ("updated_by", Field::Str(by)),
            ]);
            let id = db::accounts::insert(tx, &values)?;
            if let Some((primary, aliases)) = numbers {
                db::resources::replace_numbers(tx, id, primary.as_ref(), &aliases)?;
            }
            Ok(id)
        }
    }
}

pub fn replace(
    tx: &WriteTx<'_>,
    actor: &Actor,
    reach: &Reach,
    c: Collection,
    id: i64,
    mut p: Prepared,
    now: i64,
) -> CoreResult<()> {
    match c {
        Collection::Resellers => {
            permissions::reaches_all(&actor.principal)?;
            if let Some(name) = text(p.values.iter().find(|(c, _)| *c == "name").map(|(_, v)| v))
                && db::customers::name_taken(tx, name, Some(id))?
            {
                return Err(CoreError::Duplicate(format!(
                    "Reseller '{name}' already exists."
                )));
            }
            let values = fields::changed(tx, "customers", id, &p.values)?;
            if !values.is_empty() {
                db::customers::update(tx, id, &values, now)?;
            }
        }
        Collection::Admins => {
            let (old_login, role, _) = db::resources::login(tx, id)?
                .ok_or_else(|| CoreError::NotFound(format!("admin {id}")))?;
            let asked = int(p.take("reseller_id"));
            if role == "admin" {
                let reseller = reseller_of(tx, reach, asked, "Invalid 'reseller_id'")?;
                p.values.push(("customer_id", Field::Int(reseller)));
            }
            let login = text(p.values.iter().find(|(c, _)| *c == "login").map(|(_, v)| v))
                .unwrap_or_default()
                .to_string();
            if login != old_login {
                check_login_name(&login)?;
                if role != "admin" {
                    return Err(CoreError::Unprocessable(
                        "A customer's own login is renamed through the customer.".into(),
                    ));
                }
                if p.admin_secret.is_none() {
                    return Err(CoreError::invalid(
                        "password",
                        "is required when the login changes (the stored digest includes the login)",
                    ));
                }
                if db::logins::exists(tx, &login)? {
                    return Err(CoreError::Unprocessable(format!(
                        "Login '{login}' already exists."
                    )));
                }
            }
            let mut values = fields::changed(tx, "logins", id, &p.values)?;
            if !values.is_empty() || p.admin_secret.is_some() {
                values.push(("updated_on", Field::Time(now)));
                fields::update(tx, "logins", id, &values)?;
            }
            if let Some(secret) = &p.admin_secret {
                store_admin_secret(tx, id, secret, now)?;
            }
        }
        Collection::SystemContacts | Collection::CustomerContacts => {
            let asked = int(p.take("reseller_id"));
            if c == Collection::SystemContacts {
                permissions::reaches_all(&actor.principal)?;
            } else if asked.is_some() {
                let reseller = reseller_of(tx, reach, asked, "Invalid 'reseller_id'")?;
                p.values.push(("reseller_id", Field::Int(reseller)));
            }
            let mut values = fields::changed(tx, "contacts", id, &p.values)?;
            if !values.is_empty() {
                values.push(("modify_timestamp", Field::Time(now)));
                db::contacts::update(tx, id, &values)?;
            }
        }
        Collection::Customers => {
            let node = db::resources::tree_node(tx, id)?
                .ok_or_else(|| CoreError::NotFound(format!("customer {id}")))?;
            if node.status == "terminated" {
                return Err(CoreError::Unprocessable(
                    "Customer is already terminated and cannot be changed.".into(),
                ));
            }
            let contact = int(p.take("contact_id")).unwrap_or_default();
            let reseller = contract_contact(tx, reach, contact)?;
            if reseller != node.reseller_id {
                return Err(CoreError::Unprocessable(
                    "Invalid 'contact_id': it belongs to another reseller".into(),
                ));
            }
            let profile = int(p.take("billing_profile_id")).unwrap_or_default();
            usable_billing_profile(tx, profile, reseller)?;
            let terminating = text(
                p.values
                    .iter()
                    .find(|(c, _)| *c == "status")
                    .map(|(_, v)| v),
            ) == Some("terminated");
            let mut values = p.values;
            values.extend([
                ("contact_id", Field::Int(contact)),
                ("billing_profile_id", Field::Int(profile)),
            ]);
            let values = fields::changed(tx, "customers", id, &values)?;
            if !values.is_empty() {
                db::customers::update(tx, id, &values, now)?;
            }
            if terminating {
                db::resources::delete_subscribers_of(tx, id)?;
            }
        }
        Collection::Domains => {
            return Err(CoreError::Forbidden(
                "domains cannot be changed, only created and deleted".into(),
            ));
        }
        Collection::BillingProfiles => {
            let (owner, _) = db::resources::billing_profile(tx, id)?
                .ok_or_else(|| CoreError::NotFound(format!("billingprofile {id}")))?;
            let asked = int(p.take("reseller_id"));
            let reseller = match asked {
                Some(_) => reseller_of(tx, reach, asked, "Invalid reseller ID.")?,
                None => owner,
            };
            ensure_unique_profile(tx, reseller, &p, Some(id))?;
            let mut values = p.values;
            values.push(("reseller_id", Field::Int(reseller)));
            let mut values = fields::changed(tx, "billing_profiles", id, &values)?;
            if !values.is_empty() {
                values.push(("modify_timestamp", Field::Time(now)));
                fields::update(tx, "billing_profiles", id, &values)?;
            }
        }
        Collection::Subscribers => {
            let owner_id = int(p.take("customer_id")).unwrap_or_default();
            let owner = subscriber_owner(tx, reach, owner_id)?;
            let domain_id = subscriber_domain(tx, &mut p, &owner)?;
            reachable_subscriber_names(tx, &p, domain_id, Some(id))?;
            check_numbers_free(tx, &p, Some(id))?;
            let numbers = p.numbers.take();
            let mut values = p.values;
            values.extend([
                ("customer_id", Field::Int(owner.id)),
                ("domain_id", domain_id.map_or(Field::Null, Field::Int)),
            ]);
            let mut values = fields::changed(tx, "subscribers", id, &values)?;
            if !values.is_empty() {
                values.extend([
                    ("updated_on", Field::Time(now)),
                    ("updated_by", Field::Str(actor.display_name())),
                ]);
                db::accounts::update(tx, id, &values)?;
            }
            if let Some((primary, aliases)) = numbers {
                db::resources::replace_numbers(tx, id, primary.as_ref(), &aliases)?;
            }
        }
    }
    Ok(())
}

pub fn delete(
    tx: &WriteTx<'_>,
    actor: &Actor,
    _reach: &Reach,
    c: Collection,
    id: i64,
    now: i64,
) -> CoreResult<()> {
    match c {
        Collection::Admins => {
            let (_, role, _) = db::resources::login(tx, id)?
                .ok_or_else(|| CoreError::NotFound(format!("admin {id}")))?;
            if actor.principal.login_id() == Some(id) {
                return Err(CoreError::Forbidden("a login cannot delete itself".into()));
            }
            if role != "admin" {
                return Err(CoreError::Forbidden(
                    "a customer's own login is removed with the customer".into(),
                ));
            }
            db::resources::delete_login(tx, id)?;
        }
        Collection::CustomerContacts | Collection::SystemContacts => {
            if c == Collection::SystemContacts {
                permissions::reaches_all(&actor.principal)?;
            }
            let (live, terminated) = db::resources::contact_users(tx, id)?;
            if live > 0 {
                return Err(CoreError::InUse("Contact is still in use.".into()));
            }
            if terminated > 0 {
                db::resources::terminate_contact(tx, id, now)?;
            } else {
                db::resources::delete_contact(tx, id)?;
            }
        }
        Collection::Domains => {
            if db::resources::domain_users(tx, id)? > 0 {
                return Err(CoreError::InUse(
                    "Domain is still used by subscribers.".into(),
                ));
            }
            db::resources::delete_domain(tx, id)?;
        }
        Collection::BillingProfiles => {
            if id == 1 {
                return Err(CoreError::Forbidden(
                    "the default billing profile cannot be terminated".into(),
                ));
            }
            if db::resources::billing_profile_users(tx, id)? > 0 {
                return Err(CoreError::InUse(
                    "Cannot terminate billing_profile that is still used by non-terminated customers.".into(),
                ));
            }
            db::resources::terminate_billing_profile(tx, id, now)?;
        }
        Collection::Subscribers => {
            let node = db::accounts::node_by_id(tx, id)?
                .ok_or_else(|| CoreError::NotFound(format!("subscriber {id}")))?;
            db::accounts::delete(tx, &node)?;
        }
        Collection::Resellers | Collection::Customers => {
            return Err(CoreError::Forbidden(format!(
                "a {} is not deleted; set its status to terminated",
                c.noun()
            )));
        }
    }
    Ok(())
}

fn check_login_name(login: &str) -> CoreResult<()> {
    if login.is_empty()
        || login
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == ':')
    {
        return Err(CoreError::invalid(
            "login",
            "must be non-empty, without spaces or ':'",
        ));
    }
    Ok(())
}

fn store_admin_secret(tx: &WriteTx<'_>, id: i64, s: &AdminSecret, now: i64) -> CoreResult<()> {
    let secret = db::logins::ApiSecret {
        realm: &s.realm,
        ha1_md5: &s.md5,
        ha1_sha256: &s.sha256,
    };
    db::logins::set_api_secret(tx, id, &secret, now)?;
    db::logins::set_web_password_hash(tx, id, &s.web_hash, now)?;
    Ok(())
}

/// A random (version 4) UUID.
fn new_uuid() -> CoreResult<String> {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b)
        .map_err(|e| CoreError::Storage(db::DbError::Corrupt(format!("no randomness: {e}"))))?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    ))
}
