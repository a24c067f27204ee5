//! Authentication rules of an account (Sippy's `i_authentication`, seed 003).

use serde_json::json;

use super::accounts::{AccountKey, audit_detail, check_refs};
use super::actor::Actor;
use super::attrs::{self, AttrDef, Field, Fields, Kind, Presence, RefTable, reference, renamed};
use super::audit::Event;
use super::permissions::{self, Op};
use super::{Core, CoreError, CoreResult, Done};
use crate::db::{self, Conn, auth_rules::RuleFilter};

const MATCH: Kind = Kind::OptText(128);
const RULE_TEXT: Kind = Kind::OptText(1024);

/// Rule attributes, by Sippy's names. The first five are the match fields: at least one must be
/// set.
pub const AUTH_RULE_ATTRS: &[AttrDef] = &[
    renamed("remote_ip", "remote_ip", MATCH, Presence::Optional),
    renamed("incoming_cli", "incoming_cli", MATCH, Presence::Optional),
    renamed("incoming_cld", "incoming_cld", MATCH, Presence::Optional),
    renamed("to_domain", "to_domain", MATCH, Presence::Optional),
    renamed("from_domain", "from_domain", MATCH, Presence::Optional),
    renamed(
        "i_protocol",
        "protocol",
        Kind::Int(1, 4),
        Presence::Required,
    ),
    renamed(
        "cli_translation_rule",
        "cli_translation_rule",
        RULE_TEXT,
        Presence::Optional,
    ),
    renamed(
        "cld_translation_rule",
        "cld_translation_rule",
        RULE_TEXT,
        Presence::Optional,
    ),
    renamed(
        "i_tariff",
        "tariff_id",
        reference(RefTable::Tariffs, true),
        Presence::Optional,
    ),
    renamed(
        "i_routing_group",
        "routing_group_id",
        reference(RefTable::RoutingGroups, true),
        Presence::Optional,
    ),
    renamed(
        "max_sessions",
        "max_sessions",
        Kind::Int(-1, i32::MAX as i64),
        Presence::Optional,
    ),
    renamed("max_cps", "max_cps", Kind::OptDouble, Presence::Optional),
];

const MATCH_FIELDS: [&str; 5] = [
    "remote_ip",
    "incoming_cli",
    "incoming_cld",
    "to_domain",
    "from_domain",
];

/// The attributes read back: the rule's own id and account, then its attributes.
const ID_ATTRS: &[AttrDef] = &[
    renamed(
        "i_authentication",
        "id",
        Kind::Int(1, i64::MAX),
        Presence::Optional,
    ),
    renamed(
        "i_account",
        "subscriber_id",
        Kind::Int(1, i64::MAX),
        Presence::Optional,
    ),
];

/// One rule as read back, attributes by Sippy's names (unset ones are `Field::Null`).
pub type AuthRule = Vec<(&'static str, Field)>;

/// Query for listing an account's rules.
#[derive(Debug, Clone, Default)]
pub struct AuthRuleQuery {
    pub account_id: i64,
    pub rule_id: Option<i64>,
    pub protocol: Option<i64>,
    pub remote_ip: Option<String>,
    pub offset: Option<i64>,
    pub limit: Option<i64>,
}

fn check(given: &Fields, creating: bool) -> CoreResult<Vec<(&'static str, Field)>> {
    let values = attrs::check_all(AUTH_RULE_ATTRS, given, creating)?;
    if let Some((_, Field::Str(ip))) = values.iter().find(|(c, _)| *c == "remote_ip") {
        super::trusted_hosts::parse_network(ip)
            .map_err(|_| CoreError::invalid("remote_ip", format!("'{ip}' is not an IP address")))?;
    }
    if let Some((_, Field::Double(cps))) = values.iter().find(|(c, _)| *c == "max_cps")
        && *cps < 0.0
    {
        return Err(CoreError::invalid(
            "max_cps",
            "must not be negative (nil is unlimited)",
        ));
    }
    Ok(values)
}

fn has_match(values: &[(&'static str, Field)]) -> bool {
    values
        .iter()
        .any(|(c, v)| MATCH_FIELDS.contains(c) && !matches!(v, Field::Null))
}

fn no_match_error() -> CoreError {
    CoreError::Missing(
        "at least one of remote_ip, incoming_cli, incoming_cld, to_domain, from_domain".into(),
    )
}

/// Finds a rule the principal may see, by way of its account.
fn visible_rule(conn: &Conn<'_>, actor: &Actor, id: i64) -> CoreResult<db::auth_rules::RuleOwner> {
    let what = format!("auth rule {id}");
    let owner =
        db::auth_rules::owner(conn, id)?.ok_or_else(|| CoreError::NotFound(what.clone()))?;
    if !permissions::sees_account(&actor.principal, owner.account_id, &owner.customer_path) {
        return Err(CoreError::OutOfScope(what));
    }
    Ok(owner)
}

fn read_rule(conn: &Conn<'_>, id: i64) -> CoreResult<AuthRule> {
    let missing = || CoreError::NotFound(format!("auth rule {id}"));
    let mut out = db::auth_rules::read(conn, id, ID_ATTRS)?.ok_or_else(missing)?;
    out.extend(db::auth_rules::read(conn, id, AUTH_RULE_ATTRS)?.ok_or_else(missing)?);
    Ok(out)
}

impl Core {
    /// Adds a rule to an account; returns its id.
    pub async fn add_auth_rule(
        &self,
        actor: &Actor,
        account_id: i64,
        given: Fields,
    ) -> CoreResult<i64> {
        let checked = attrs::refuse_unknown(&given, &[AUTH_RULE_ATTRS], &[])
            .and_then(|()| check(&given, true))
            .and_then(|values| {
                if has_match(&values) {
                    Ok(values)
                } else {
                    Err(no_match_error())
                }
            });
        let values = match checked {
            Ok(v) => v,
            Err(e) => return self.refuse(actor, Event::AuthRuleCreated, e).await,
        };
        self.mutate(actor, Event::AuthRuleCreated, move |tx, actor, _| {
            let account = super::accounts::visible_account(tx, actor, &AccountKey::Id(account_id))?;
            permissions::may_manage_accounts(&actor.principal, Op::Edit)?;
            check_refs(tx, AUTH_RULE_ATTRS, &values)?;
            let mut row = values;
            row.push(("subscriber_id", Field::Int(account.id)));
            let id = db::auth_rules::insert(tx, &row)?;
            let mut detail = audit_detail(&given, &[AUTH_RULE_ATTRS]);
            detail["i_account"] = json!(account.id);
            Ok(Done {
                value: id,
                target: format!("auth_rule:{id}"),
                detail: detail.to_string(),
            })
        })
        .await
    }

    /// Changes a rule. `account_id`, when given, must be the rule's own account: rules do not
    /// move between accounts.
    pub async fn update_auth_rule(
        &self,
        actor: &Actor,
        id: i64,
        account_id: Option<i64>,
        given: Fields,
    ) -> CoreResult<()> {
        let checked = attrs::refuse_unknown(&given, &[AUTH_RULE_ATTRS], &[])
            .and_then(|()| check(&given, false));
        let values = match checked {
            Ok(v) => v,
            Err(e) => return self.refuse(actor, Event::AuthRuleUpdated, e).await,
        };
        self.mutate(actor, Event::AuthRuleUpdated, move |tx, actor, _| {
            let owner = visible_rule(tx, actor, id)?;
            permissions::may_manage_accounts(&actor.principal, Op::Edit)?;
            if account_id.is_some_and(|a| a != owner.account_id) {
                return Err(CoreError::invalid(
                    "i_account",
                    "a rule cannot be moved to another account; delete it and add a new one",
                ));
            }
            check_refs(tx, AUTH_RULE_ATTRS, &values)?;
            let current = read_rule(tx, id)?;
            let mut merged: Vec<(&'static str, Field)> = AUTH_RULE_ATTRS
                .iter()
                .map(|d| {
                    let stored = current
                        .iter()
                        .find(|(n, _)| *n == d.name)
                        .map(|(_, v)| v.clone());
                    (d.column, stored.unwrap_or(Field::Null))
                })
                .collect();
            for (column, value) in &values {
                if let Some(slot) = merged.iter_mut().find(|(c, _)| c == column) {
                    slot.1 = value.clone();
                }
            }
            if !has_match(&merged) {
                return Err(no_match_error());
            }
            db::auth_rules::update(tx, id, &values)?;
            Ok(Done {
                value: (),
                target: format!("auth_rule:{id}"),
                detail: audit_detail(&given, &[AUTH_RULE_ATTRS]).to_string(),
            })
        })
        .await
    }

    pub async fn delete_auth_rule(&self, actor: &Actor, id: i64) -> CoreResult<()> {
        self.mutate(actor, Event::AuthRuleDeleted, move |tx, actor, _| {
            visible_rule(tx, actor, id)?;
            permissions::may_manage_accounts(&actor.principal, Op::Edit)?;
            db::auth_rules::delete(tx, id)?;
            Ok(Done {
                value: (),
                target: format!("auth_rule:{id}"),
                detail: json!({}).to_string(),
            })
        })
        .await
    }

    pub async fn get_auth_rule(&self, actor: &Actor, id: i64) -> CoreResult<AuthRule> {
        let acting = actor.clone();
        self.query(actor, Event::AuthRuleRead, move |conn| {
            visible_rule(conn, &acting, id)?;
            read_rule(conn, id)
        })
        .await
    }

    /// An account's rules, filtered and paged in SQL.
    pub async fn list_auth_rules(
        &self,
        actor: &Actor,
        q: AuthRuleQuery,
    ) -> CoreResult<Vec<AuthRule>> {
        let checked = super::page(q.offset, q.limit).and_then(|page| {
            if let Some(p) = q.protocol
                && !(1..=4).contains(&p)
            {
                return Err(CoreError::invalid("i_protocol", "must be from 1 to 4"));
            }
            Ok(page)
        });
        let (offset, limit) = match checked {
            Ok(p) => p,
            Err(e) => return self.refuse(actor, Event::AuthRuleRead, e).await,
        };
        let acting = actor.clone();
        self.query(actor, Event::AuthRuleRead, move |conn| {
            super::accounts::visible_account(conn, &acting, &AccountKey::Id(q.account_id))?;
            let filter = RuleFilter {
                account_id: q.account_id,
                rule_id: q.rule_id,
                protocol: q.protocol,
                remote_ip: q.remote_ip.as_deref(),
                offset,
                limit,
            };
            let mut defs = vec![ID_ATTRS[0]];
            defs.extend_from_slice(AUTH_RULE_ATTRS);
            Ok(db::auth_rules::list(conn, &filter, &defs)?)
        })
        .await
    }
}
