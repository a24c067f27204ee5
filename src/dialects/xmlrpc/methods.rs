//! Sippy's XML-RPC methods: each takes apart its struct, calls the core, and renders the answer.

use std::collections::BTreeMap;

use super::codec::{ParseFault as Fault, Value};
use super::convert::{Args, bad_param, fault, parse_date, sippy_date, to_value};
use crate::core::Core;
use crate::core::accounts::{AccountKey, BalanceKind, BalanceRequest};
use crate::core::actor::Actor;
use crate::core::attrs::Field;
use crate::core::auth_rules::AuthRuleQuery;
use crate::core::calls::{CdrKind, CdrScope, ListedCdr};
use crate::core::customers::CustomerKey;

/// A method's name, help text and XML-RPC signature, for `system.*`.
pub struct MethodInfo {
    pub name: &'static str,
    pub help: &'static str,
    /// Whether a successful call changes data.
    pub mutates: bool,
}

/// A method that only reads.
const fn m(name: &'static str, help: &'static str) -> MethodInfo {
    MethodInfo {
        name,
        help,
        mutates: false,
    }
}

/// A method that changes data.
const fn w(name: &'static str, help: &'static str) -> MethodInfo {
    MethodInfo {
        name,
        help,
        mutates: true,
    }
}

/// Every method this dialect serves. `dispatch` must handle each one (a unit test checks).
pub const METHODS: &[MethodInfo] = &[
    w(
        "createAccount",
        "Create an account under i_customer (trusted mode) or the caller. Returns i_account.",
    ),
    w(
        "updateAccount",
        "Change the given attributes of account i_account.",
    ),
    w("deleteAccount", "Delete account i_account."),
    w("blockAccount", "Block account i_account."),
    w("unblockAccount", "Unblock account i_account."),
    m(
        "getAccountInfo",
        "Attributes of the account named by i_account or username (balance negated).",
    ),
    m(
        "listAccounts",
        "Accounts of i_customer or the caller, with offset and limit.",
    ),
    w(
        "accountAddFunds",
        "Add amount (currency) to account i_account.",
    ),
    w(
        "accountCredit",
        "Credit amount (currency) to account i_account.",
    ),
    w(
        "accountDebit",
        "Debit amount (currency) from account i_account.",
    ),
    w(
        "createCustomer",
        "Create a sub-customer of i_wholesaler (trusted mode) or the caller. Returns i_customer.",
    ),
    w(
        "updateCustomer",
        "Change the given attributes of customer i_customer.",
    ),
    w(
        "deleteCustomer",
        "Delete customer i_customer (it must have no accounts or sub-customers).",
    ),
    m(
        "getCustomerInfo",
        "The customer named by i_customer or name (balance negated).",
    ),
    m(
        "listCustomers",
        "Sub-customers of i_wholesaler or the caller, with offset and limit.",
    ),
    w(
        "addAuthRule",
        "Add an authentication rule to account i_account. Returns i_authentication.",
    ),
    w(
        "updateAuthRule",
        "Change authentication rule i_authentication.",
    ),
    w(
        "delAuthRule",
        "Delete authentication rule i_authentication.",
    ),
    m("getAuthRuleInfo", "Authentication rule i_authentication."),
    m(
        "getAccountCDRs",
        "Call records of account i_account between start_date and end_date (default: the last \
         hour), of a type (non_zero_and_errors, non_zero, all, complete, incomplete, errors), \
         with offset and limit.",
    ),
    m(
        "getCustomerCDRs",
        "Call records of every account of customer i_customer (or the caller) and below, with \
         the filters of getAccountCDRs.",
    ),
    m(
        "getRegistrationStatus",
        "The newest registration of account i_account that has not lapsed; fault 403 if none.",
    ),
    m(
        "listAuthRules",
        "Authentication rules of account i_account, with filters, offset and limit.",
    ),
];

/// A call's context: the core and who is calling.
pub struct Ctx<'a> {
    pub core: &'a Core,
    pub actor: Actor,
}

type Reply = Result<Value, Fault>;

fn ok(mut members: BTreeMap<String, Value>) -> Value {
    members.insert("result".into(), Value::Str("OK".into()));
    Value::Struct(members)
}

fn ok_with(name: &str, value: Value) -> Value {
    ok(BTreeMap::from([(name.to_string(), value)]))
}

fn pairs<'a>(fields: &'a [(&'static str, Field)]) -> impl Iterator<Item = (String, Value)> + 'a {
    fields
        .iter()
        .map(|(name, value)| ((*name).to_string(), to_value(value)))
}

/// Calls the named method. Unknown names are a fault.
pub async fn dispatch(ctx: &Ctx<'_>, method: &str, mut args: Args) -> Reply {
    match method {
        "createAccount" => {
            let owner = args.id("i_customer")?;
            let id = ctx
                .core
                .create_account(&ctx.actor, owner, args.into_fields()?)
                .await
                .map_err(|e| fault(&e))?;
            Ok(ok_with("i_account", Value::Int(id)))
        }
        "updateAccount" => {
            let id = args.required_id("i_account")?;
            args.take("i_customer");
            ctx.core
                .update_account(&ctx.actor, id, args.into_fields()?)
                .await
                .map_err(|e| fault(&e))?;
            Ok(ok(BTreeMap::new()))
        }
        "blockAccount" | "unblockAccount" => {
            let id = args.required_id("i_account")?;
            args.take("i_customer");
            args.finish()?;
            let blocked = Field::Int(i64::from(method == "blockAccount"));
            let fields = BTreeMap::from([("blocked".to_string(), blocked)]);
            ctx.core
                .update_account(&ctx.actor, id, fields)
                .await
                .map_err(|e| fault(&e))?;
            Ok(ok(BTreeMap::new()))
        }
        "deleteAccount" => {
            let id = args.required_id("i_account")?;
            args.take("i_customer");
            args.finish()?;
            ctx.core
                .delete_account(&ctx.actor, id)
                .await
                .map_err(|e| fault(&e))?;
            Ok(ok(BTreeMap::new()))
        }
        "getAccountInfo" => get_account_info(ctx, args).await,
        "listAccounts" => list_accounts(ctx, args).await,
        "accountAddFunds" | "accountCredit" | "accountDebit" => balance(ctx, method, args).await,
        "getAccountCDRs" | "getCustomerCDRs" => cdrs(ctx, method, args).await,
        "getRegistrationStatus" => registration_status(ctx, args).await,
        "createCustomer" => {
            let parent = args.id("i_wholesaler")?;
            let id = ctx
                .core
                .create_customer(&ctx.actor, parent, args.into_fields()?)
                .await
                .map_err(|e| fault(&e))?;
            Ok(ok_with("i_customer", Value::Int(id)))
        }
        "updateCustomer" => {
            let id = args.required_id("i_customer")?;
            args.take("i_wholesaler");
            ctx.core
                .update_customer(&ctx.actor, id, args.into_fields()?)
                .await
                .map_err(|e| fault(&e))?;
            Ok(ok(BTreeMap::new()))
        }
        "deleteCustomer" => {
            let id = args.required_id("i_customer")?;
            args.take("i_wholesaler");
            args.finish()?;
            ctx.core
                .delete_customer(&ctx.actor, id)
                .await
                .map_err(|e| fault(&e))?;
            Ok(ok(BTreeMap::new()))
        }
        "getCustomerInfo" => get_customer_info(ctx, args).await,
        "listCustomers" => {
            let parent = args.id("i_wholesaler")?;
            let (offset, limit) = (args.int("offset")?, args.int("limit")?);
            args.finish()?;
            let list = ctx
                .core
                .list_customers(&ctx.actor, parent, offset, limit)
                .await
                .map_err(|e| fault(&e))?;
            let customers = list
                .into_iter()
                .map(|c| {
                    Value::Struct(BTreeMap::from([
                        ("i_customer".into(), Value::Int(c.id)),
                        ("name".into(), Value::Str(c.name)),
                        (
                            "web_login".into(),
                            c.web_login.map_or(Value::Nil, Value::Str),
                        ),
                        ("description".into(), Value::Str(c.description)),
                        ("balance".into(), Value::Double(c.balance)),
                        (
                            "credit_limit".into(),
                            c.credit_limit.map_or(Value::Nil, Value::Double),
                        ),
                        ("base_currency".into(), Value::Str(c.base_currency)),
                    ]))
                })
                .collect();
            Ok(ok_with("customers", Value::Array(customers)))
        }
        "addAuthRule" => {
            let account = args.required_id("i_account")?;
            args.take("i_customer");
            let id = ctx
                .core
                .add_auth_rule(&ctx.actor, account, args.into_fields()?)
                .await
                .map_err(|e| fault(&e))?;
            Ok(ok_with("i_authentication", Value::Int(id)))
        }
        "updateAuthRule" => {
            let id = args.required_id("i_authentication")?;
            let account = args.id("i_account")?;
            args.take("i_customer");
            let fields = args.into_fields()?;
            ctx.core
                .update_auth_rule(&ctx.actor, id, account, fields)
                .await
                .map_err(|e| fault(&e))?;
            Ok(ok(BTreeMap::new()))
        }
        "delAuthRule" => {
            let id = args.required_id("i_authentication")?;
            args.take("i_customer");
            args.finish()?;
            ctx.core
                .delete_auth_rule(&ctx.actor, id)
                .await
                .map_err(|e| fault(&e))?;
            Ok(ok(BTreeMap::new()))
        }
        "getAuthRuleInfo" => {
            let id = args.required_id("i_authentication")?;
            args.take("i_customer");
            args.finish()?;
            let rule = ctx
                .core
                .get_auth_rule(&ctx.actor, id)
                .await
                .map_err(|e| fault(&e))?;
            Ok(ok_with("authrule", Value::Struct(pairs(&rule).collect())))
        }
        "listAuthRules" => {
            let query = AuthRuleQuery {
                account_id: args.required_id("i_account")?,
                rule_id: args.id("i_authentication")?,
                protocol: args.int("i_protocol")?,
                remote_ip: args.string("remote_ip")?,
                offset: args.int("offset")?,
                limit: args.int("limit")?,
            };
            args.take("i_customer");
            args.finish()?;
            let rules = ctx
                .core
                .list_auth_rules(&ctx.actor, query)
                .await
                .map_err(|e| fault(&e))?;
            let rules = rules
                .iter()
                .map(|r| Value::Struct(pairs(r).collect()))
                .collect();
            Ok(ok_with("authrules", Value::Array(rules)))
        }
        other => Err(super::not_supported(other)),
    }
}

async fn get_account_info(ctx: &Ctx<'_>, mut args: Args) -> Reply {
    let key = match (args.id("i_account")?, args.string("username")?) {
        (Some(id), _) => AccountKey::Id(id),
        (None, Some(name)) => AccountKey::Username(name),
        (None, None) => {
            return Err(Fault::new(
                400,
                "missing required parameter 'i_account' (or 'username')",
            ));
        }
    };
    args.take("i_customer");
    args.finish()?;
    let view = ctx
        .core
        .get_account(&ctx.actor, key)
        .await
        .map_err(|e| fault(&e))?;
    let mut out: BTreeMap<String, Value> = pairs(&view.attrs).chain(pairs(&view.contact)).collect();
    // Sippy shows the balance negated in getAccountInfo (but not in listAccounts).
    if let Some(Value::Double(b)) = out.get_mut("balance") {
        *b = 0.0 - *b;
    }
    let s = view.stamps;
    let date = |ms: Option<i64>| ms.map_or(Value::Nil, |ms| Value::Str(sippy_date(ms)));
    out.extend([
        ("i_account".into(), Value::Int(view.id)),
        ("i_customer".into(), Value::Int(view.customer_id)),
        (
            "i_contact".into(),
            view.contact_id.map_or(Value::Nil, Value::Int),
        ),
        ("base_currency".into(), Value::Str(s.base_currency)),
        ("created_on".into(), Value::Str(sippy_date(s.created_on))),
        ("created_by".into(), Value::Str(s.created_by)),
        ("updated_on".into(), Value::Str(sippy_date(s.updated_on))),
        ("updated_by".into(), Value::Str(s.updated_by)),
        ("first_use".into(), date(s.first_use)),
        ("last_login".into(), date(s.last_login)),
        // switchyard routes no calls, runs no registrar and no billing cycles: no sessions, no
        // registration yet, nothing suspended or scheduled, no backup balances.
        ("sessions".into(), Value::Int(0)),
        ("first_reg_done".into(), Value::Int(0)),
        ("billing_plan_suspended".into(), Value::Int(0)),
        ("next_billing_time".into(), Value::Nil),
        ("balance_bak".into(), Value::Nil),
        ("credit_limit_bak".into(), Value::Nil),
        ("followme_timeout".into(), Value::Nil),
    ]);
    let followme = matches!(out.get("followme_enabled"), Some(Value::Int(1)));
    out.insert("i_followme_mode".into(), Value::Int(i64::from(followme)));
    Ok(ok(out))
}

async fn list_accounts(ctx: &Ctx<'_>, mut args: Args) -> Reply {
    let owner = args.id("i_customer")?;
    let (offset, limit) = (args.int("offset")?, args.int("limit")?);
    args.finish()?;
    let list = ctx
        .core
        .list_accounts(&ctx.actor, owner, offset, limit)
        .await
        .map_err(|e| fault(&e))?;
    let now = ctx.core.now();
    let accounts = list
        .into_iter()
        .map(|a| {
            let expired = a.expires_at().is_some_and(|at| at <= now);
            Value::Struct(BTreeMap::from([
                ("i_account".into(), Value::Int(a.id)),
                ("i_customer".into(), Value::Int(a.customer_id)),
                ("username".into(), Value::Str(a.username)),
                ("description".into(), Value::Str(a.description)),
                ("base_currency".into(), Value::Str(a.base_currency)),
                ("blocked".into(), Value::Bool(a.blocked)),
                ("expired".into(), Value::Bool(expired)),
                ("balance".into(), Value::Double(a.balance)),
                ("credit_limit".into(), Value::Double(a.credit_limit)),
                // switchyard has no registrar; no account is registered.
                ("registration_status".into(), Value::Nil),
            ]))
        })
        .collect();
    Ok(ok_with("accounts", Value::Array(accounts)))
}

async fn balance(ctx: &Ctx<'_>, method: &str, mut args: Args) -> Reply {
    let id = args.required_id("i_account")?;
    let amount = match args.take("amount") {
        Some(v) => v
            .as_double()
            .ok_or_else(|| bad_param("amount", "expected a double"))?,
        None => return Err(Fault::new(400, "missing required parameter 'amount'")),
    };
    let currency = args
        .string("currency")?
        .ok_or_else(|| Fault::new(400, "missing required parameter 'currency'"))?;
    let notes = args.string("payment_notes")?.unwrap_or_default();
    let payment_time = match args.take("payment_time") {
        None | Some(Value::Nil) => None,
        Some(v) => Some(parse_date("payment_time", &v)?),
    };
    args.take("i_customer");
    args.finish()?;
    let kind = match method {
        "accountAddFunds" => BalanceKind::AddFunds,
        "accountCredit" => BalanceKind::Credit,
        _ => BalanceKind::Debit,
    };
    let request = BalanceRequest {
        kind,
        amount,
        currency,
        notes,
        payment_time,
    };
    ctx.core
        .change_account_balance(&ctx.actor, id, request)
        .await
        .map_err(|e| fault(&e))?;
    Ok(ok(BTreeMap::new()))
}

async fn get_customer_info(ctx: &Ctx<'_>, mut args: Args) -> Reply {
    let key = match (args.id("i_customer")?, args.string("name")?) {
        (Some(id), _) => CustomerKey::Id(id),
        (None, Some(name)) => CustomerKey::Name(name),
        (None, None) => {
            return Err(Fault::new(
                400,
                "missing required parameter 'i_customer' (or 'name')",
            ));
        }
    };
    args.take("i_wholesaler");
    args.finish()?;
    let view = ctx
        .core
        .get_customer(&ctx.actor, key)
        .await
        .map_err(|e| fault(&e))?;
    let mut customer: BTreeMap<String, Value> =
        pairs(&view.attrs).chain(pairs(&view.contact)).collect();
    // Sippy shows the balance negated in getCustomerInfo (but not in listCustomers).
    if let Some(Value::Double(b)) = customer.get_mut("balance") {
        *b = 0.0 - *b;
    }
    customer.extend([
        ("i_customer".into(), Value::Int(view.id)),
        (
            "i_parent".into(),
            view.parent_id.map_or(Value::Nil, Value::Int),
        ),
        (
            "i_contact".into(),
            view.contact_id.map_or(Value::Nil, Value::Int),
        ),
        (
            "web_login".into(),
            view.web_login.map_or(Value::Nil, Value::Str),
        ),
        ("api_access".into(), Value::Int(i64::from(view.api_access))),
        ("api_permission".into(), Value::Bool(view.api_permission)),
        ("created_on".into(), Value::Str(sippy_date(view.created_on))),
        ("updated_on".into(), Value::Str(sippy_date(view.updated_on))),
    ]);
    Ok(ok_with("customer", Value::Struct(customer)))
}

/// The window and kind of a CDR listing (Sippy: the last hour and `non_zero_and_errors` unless
/// told otherwise).
fn cdr_filters(ctx: &Ctx<'_>, args: &mut Args) -> Result<(CdrKind, (i64, i64)), Fault> {
    const HOUR_MILLIS: i64 = 3_600_000;
    let end = match args.take("end_date") {
        None | Some(Value::Nil) => ctx.core.now() + 1,
        Some(v) => parse_date("end_date", &v)?,
    };
    let start = match args.take("start_date") {
        None | Some(Value::Nil) => end - HOUR_MILLIS,
        Some(v) => parse_date("start_date", &v)?,
    };
    let kind = match args.string("type")?.as_deref() {
        None | Some("non_zero_and_errors") => CdrKind::NonZeroAndErrors,
        Some("non_zero") => CdrKind::NonZero,
        Some("all") => CdrKind::All,
        Some("complete") => CdrKind::Complete,
        Some("incomplete") => CdrKind::Incomplete,
        Some("errors") => CdrKind::Errors,
        Some(other) => {
            return Err(bad_param(
                "type",
                &format!(
                    "'{other}' is not one of non_zero_and_errors, non_zero, all, complete, \
                     incomplete, errors"
                ),
            ));
        }
    };
    Ok((kind, (start, end)))
}

/// A call record as Sippy shows it: the account's side is the CLI of a placed call and the CLD
/// of a received one; `result` is the SIP status (0 for 2xx), `cost` a string.
fn cdr_value(listed: &ListedCdr, customer: bool) -> Value {
    let c = &listed.cdr;
    let (cli, cld) = if c.direction == "placed" {
        (listed.username.clone(), c.remote_party.clone())
    } else {
        (c.remote_party.clone(), listed.username.clone())
    };
    let status: i64 = c.status.parse().unwrap_or(0);
    let result = if (200..300).contains(&status) {
        0
    } else {
        status
    };
    let connect = sippy_date(c.start_time);
    let mut members = BTreeMap::from([
        ("i_cdr".to_string(), Value::Int(c.id)),
        ("i_account".into(), Value::Int(c.subscriber_id)),
        ("call_id".into(), Value::Str(c.call_id.clone())),
        ("connect_time".into(), Value::Str(connect.clone())),
        (
            "disconnect_time".into(),
            Value::Str(sippy_date(c.start_time + c.duration * 1000)),
        ),
        ("duration".into(), Value::Double(c.duration as f64)),
        ("billed_duration".into(), Value::Int(c.duration)),
        ("cli".into(), Value::Str(cli.clone())),
        ("cld".into(), Value::Str(cld.clone())),
        ("cli_in".into(), Value::Str(cli)),
        ("cld_in".into(), Value::Str(cld)),
        ("result".into(), Value::Int(result)),
        (
            "cost".into(),
            Value::Str(format!("{:.5}", c.price.unwrap_or(0.0))),
        ),
    ]);
    if customer {
        members.insert("i_customer".into(), Value::Int(listed.customer_id));
        members.insert("setup_time".into(), Value::Str(connect));
    }
    Value::Struct(members)
}

async fn cdrs(ctx: &Ctx<'_>, method: &str, mut args: Args) -> Reply {
    let customer = method == "getCustomerCDRs";
    let scope = if customer {
        args.take("i_wholesaler");
        match args.id("i_customer")? {
            Some(id) => CdrScope::Customer(id),
            None => CdrScope::Customer(
                crate::core::permissions::default_customer(&ctx.actor.principal, "i_customer")
                    .map_err(|e| fault(&e))?,
            ),
        }
    } else {
        CdrScope::Subscriber(args.required_id("i_account")?)
    };
    let (kind, window) = cdr_filters(ctx, &mut args)?;
    let (offset, limit) = (args.int("offset")?, args.int("limit")?);
    args.finish()?;
    let list = ctx
        .core
        .list_cdrs(&ctx.actor, scope, kind, window, offset, limit)
        .await
        .map_err(|e| fault(&e))?;
    let items = list.iter().map(|c| cdr_value(c, customer)).collect();
    Ok(ok_with("cdrs", Value::Array(items)))
}

async fn registration_status(ctx: &Ctx<'_>, mut args: Args) -> Reply {
    let id = args.required_id("i_account")?;
    args.finish()?;
    let devices = ctx
        .core
        .devices(&ctx.actor, id)
        .await
        .map_err(|e| fault(&e))?;
    let Some(newest) = devices.first() else {
        return Err(Fault::new(403, "Account is not registered"));
    };
    Ok(ok(BTreeMap::from([
        (
            "user_agent".to_string(),
            Value::Str(newest.user_agent.clone()),
        ),
        ("contact".into(), Value::Str(newest.contact.clone())),
        ("expires".into(), Value::Str(sippy_date(newest.expires_at))),
    ])))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn method_names_are_unique() {
        let mut names: Vec<_> = METHODS.iter().map(|m| m.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), METHODS.len());
    }
}
