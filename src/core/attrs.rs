//! Typed attribute tables for the entities whose many plain fields every dialect reads and writes
//! by name (accounts, customers, contacts). Each table says, once, a field's type, bounds, whether
//! it is required on create and whether it is a secret that is never read back. Dialects map their
//! wire values into [`Field`]s; the core checks them here; the database stores them in the column
//! of the same name.

use std::collections::BTreeMap;

use super::error::CoreError;

/// A dialect-neutral value.
#[derive(Debug, Clone, PartialEq)]
pub enum Field {
    Null,
    Bool(bool),
    Int(i64),
    Double(f64),
    Str(String),
    StrList(Vec<String>),
    /// A point in time, in milliseconds since the Unix epoch (UTC).
    Time(i64),
    /// A structured value (nested objects and arrays) that the core checks with its own code.
    Json(serde_json::Value),
}

pub type Fields = BTreeMap<String, Field>;

/// What a field holds and which values are allowed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    /// Text up to this many bytes.
    Text(usize),
    /// Text up to this many bytes, or null; an empty string is stored as null.
    OptText(usize),
    /// Text of ASCII digits only, up to this many.
    Digits(usize),
    /// An ISO 4217 code: three upper-case letters.
    Currency,
    /// An integer in this inclusive range.
    Int(i64, i64),
    /// An integer in this range, or null.
    OptInt(i64, i64),
    /// A finite double.
    Double,
    /// A double or null.
    OptDouble,
    /// A yes/no switch; accepts a boolean or 0/1.
    Flag,
    /// Id of a row in a reference table; `nullable` allows null.
    Ref { table: RefTable, nullable: bool },
    /// A list of short strings.
    List,
    /// One of these words.
    OneOf(&'static [&'static str]),
    /// One of these words, or null.
    OptOneOf(&'static [&'static str]),
    /// A structured value stored as JSON text; its shape is checked by the owning module.
    Json,
    /// A point in time kept by the core (creation and change stamps); never written by clients.
    Time,
}

impl Kind {
    /// Whether nil is a valid value (it means "unset").
    pub fn accepts_null(self) -> bool {
        matches!(
            self,
            Self::OptText(_)
                | Self::OptOneOf(_)
                | Self::OptInt(..)
                | Self::OptDouble
                | Self::Ref { nullable: true, .. }
        )
    }
}

/// Reference tables a field may point into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefTable {
    BillingPlans,
    Tariffs,
    RoutingGroups,
    TimeZones,
}

impl RefTable {
    pub fn describe(self) -> &'static str {
        match self {
            Self::BillingPlans => "billing plan",
            Self::Tariffs => "tariff",
            Self::RoutingGroups => "routing group",
            Self::TimeZones => "time zone",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presence {
    Required,
    Optional,
}

/// One attribute: its wire and column name, type, whether create needs it, whether it is secret.
#[derive(Debug, Clone, Copy)]
pub struct AttrDef {
    pub name: &'static str,
    pub column: &'static str,
    pub kind: Kind,
    pub presence: Presence,
    /// Write-only: accepted, stored, never returned.
    pub secret: bool,
}

const fn attr(name: &'static str, kind: Kind, presence: Presence) -> AttrDef {
    AttrDef {
        name,
        column: name,
        kind,
        presence,
        secret: false,
    }
}

const fn secret(name: &'static str, kind: Kind, presence: Presence) -> AttrDef {
    AttrDef {
        name,
        column: name,
        kind,
        presence,
        secret: true,
    }
}

pub(crate) const fn renamed(
    name: &'static str,
    column: &'static str,
    kind: Kind,
    p: Presence,
) -> AttrDef {
    AttrDef {
        name,
        column,
        kind,
        presence: p,
        secret: false,
    }
}

/// A reference to a row of `table`, nullable or not.
pub(crate) const fn reference(table: RefTable, nullable: bool) -> Kind {
    Kind::Ref { table, nullable }
}

use Presence::{Optional, Required};

const NAME: Kind = Kind::Text(128);
const RULE: Kind = Kind::Text(1024);
const FLAG: Kind = Kind::Flag;
const ANY_INT: Kind = Kind::Int(-1, i32::MAX as i64);

/// Account (subscriber) attributes, as Sippy's createAccount names them.
pub const ACCOUNT_ATTRS: &[AttrDef] = &[
    attr("username", NAME, Required),
    secret("web_password", Kind::Text(128), Required),
    attr("authname", NAME, Required),
    secret("voip_password", Kind::Text(128), Required),
    attr("translation_rule", RULE, Required),
    attr("cli_translation_rule", RULE, Required),
    attr("cpe_number", Kind::Text(64), Required),
    secret("vm_password", Kind::Digits(32), Required),
    attr("i_lang", Kind::Text(16), Required),
    attr("payment_currency", Kind::Currency, Required),
    attr("max_sessions", ANY_INT, Required),
    attr("max_credit_time", ANY_INT, Required),
    renamed(
        "i_billing_plan",
        "billing_plan_id",
        reference(RefTable::BillingPlans, false),
        Required,
    ),
    renamed(
        "i_time_zone",
        "time_zone_id",
        reference(RefTable::TimeZones, false),
        Required,
    ),
    attr("vm_enabled", FLAG, Required),
    attr("blocked", FLAG, Required),
    attr("payment_method", Kind::Int(1, 255), Required),
    attr("i_export_type", Kind::Int(1, 255), Required),
    attr("credit_limit", Kind::Double, Required),
    attr("balance", Kind::Double, Required),
    renamed(
        "i_routing_group",
        "routing_group_id",
        reference(RefTable::RoutingGroups, true),
        Optional,
    ),
    attr("lifetime", ANY_INT, Optional),
    attr("preferred_codec", Kind::OptInt(0, 18), Optional),
    attr("reg_allowed", FLAG, Optional),
    attr("trust_cli", FLAG, Optional),
    attr("max_calls_per_second", Kind::OptDouble, Optional),
    attr("followme_enabled", FLAG, Optional),
    attr("dnd_enabled", FLAG, Optional),
    attr("hide_own_cli", FLAG, Optional),
    attr("call_recording", FLAG, Optional),
    attr("description", Kind::Text(1024), Optional),
    attr("privacy_schemas", Kind::List, Optional),
];

/// Customer attributes stored on the customer row, as Sippy's createCustomer names them. The
/// login-related ones (`web_login`, `web_password`, `api_password`, `api_access`) and the parent's
/// `api_permission` box are handled by the core itself.
pub const CUSTOMER_ATTRS: &[AttrDef] = &[
    attr("name", NAME, Required),
    renamed(
        "i_tariff",
        "tariff_id",
        reference(RefTable::Tariffs, true),
        Required,
    ),
    renamed(
        "i_routing_group",
        "routing_group_id",
        reference(RefTable::RoutingGroups, true),
        Optional,
    ),
    attr("balance", Kind::Double, Optional),
    attr("credit_limit", Kind::OptDouble, Optional),
    renamed(
        "payment_currency",
        "base_currency",
        Kind::Currency,
        Optional,
    ),
    attr("description", Kind::Text(1024), Optional),
    attr("blocked", FLAG, Optional),
];

/// Customer attributes that only the parent (or above) may set: the customer's own login may not
/// raise its own limits.
pub const CUSTOMER_PARENT_ATTRS: &[AttrDef] = &[
    attr("accounts_mgmt", Kind::Int(0, 7), Optional),
    attr("customers_mgmt", Kind::Int(0, 7), Optional),
    attr("system_mgmt", Kind::Int(0, 7), Optional),
];

/// Contact details, shared by accounts and customers.
pub const CONTACT_ATTRS: &[AttrDef] = &[
    attr("first_name", NAME, Optional),
    attr("mid_init", Kind::Text(8), Optional),
    attr("last_name", NAME, Optional),
    attr("company_name", NAME, Optional),
    attr("street_addr", Kind::Text(256), Optional),
    attr("city", NAME, Optional),
    attr("state", NAME, Optional),
    attr("postal_code", Kind::Text(32), Optional),
    attr("country", NAME, Optional),
    attr("email", Kind::Text(256), Optional),
    attr("phone", Kind::Text(64), Optional),
    attr("fax", Kind::Text(64), Optional),
    attr("alt_email", Kind::Text(256), Optional),
];

/// The value to store for `def`, after checking `value` against its kind. Flags become 0/1
/// integers, lists become their JSON text, integers given for doubles are widened.
pub fn check(def: &AttrDef, value: &Field) -> Result<Field, CoreError> {
    let bad = |expected: &str| {
        CoreError::invalid(
            def.name,
            format!("expected {expected}, got {}", describe(value)),
        )
    };
    if *value == Field::Null && def.kind.accepts_null() {
        return Ok(Field::Null);
    }
    let checked = match (def.kind, value) {
        (Kind::OptText(_), Field::Str(s)) if s.is_empty() => Field::Null,
        (Kind::Text(max) | Kind::OptText(max), Field::Str(s)) => {
            if s.len() > max {
                return Err(CoreError::invalid(
                    def.name,
                    format!("longer than {max} bytes"),
                ));
            }
            if s.chars().any(|c| c.is_control() && c != '\t') {
                return Err(CoreError::invalid(def.name, "contains control characters"));
            }
            Field::Str(s.clone())
        }
        (Kind::Text(_), _) => return Err(bad("a string")),
        (Kind::OptText(_), _) => return Err(bad("a string or nil")),
        (Kind::Digits(max), Field::Str(s)) => {
            if s.len() > max || !s.bytes().all(|b| b.is_ascii_digit()) {
                return Err(CoreError::invalid(
                    def.name,
                    format!("must be up to {max} digits"),
                ));
            }
            Field::Str(s.clone())
        }
        (Kind::Digits(_), _) => return Err(bad("a string of digits")),
        (Kind::Currency, Field::Str(s)) => {
            if s.len() != 3 || !s.bytes().all(|b| b.is_ascii_uppercase()) {
                return Err(CoreError::invalid(
                    def.name,
                    format!("'{s}' is not an ISO 4217 currency code such as USD"),
                ));
            }
            Field::Str(s.clone())
        }
        (Kind::Currency, _) => return Err(bad("a currency code string")),
        (Kind::Int(lo, hi) | Kind::OptInt(lo, hi), Field::Int(n)) => {
            if *n < lo || *n > hi {
                return Err(CoreError::invalid(
                    def.name,
                    format!("must be from {lo} to {hi}"),
                ));
            }
            Field::Int(*n)
        }
        (Kind::Int(..) | Kind::OptInt(..), _) => return Err(bad("an integer")),
        (Kind::Double | Kind::OptDouble, Field::Double(_) | Field::Int(_)) => {
            let v = match value {
                Field::Int(n) => *n as f64,
                Field::Double(d) => *d,
                _ => f64::NAN,
            };
            if !v.is_finite() {
                return Err(CoreError::invalid(def.name, "must be a finite number"));
            }
            Field::Double(v)
        }
        (Kind::Double | Kind::OptDouble, _) => return Err(bad("a double")),
        (Kind::Flag, Field::Bool(b)) => Field::Int(i64::from(*b)),
        (Kind::Flag, Field::Int(n @ (0 | 1))) => Field::Int(*n),
        (Kind::Flag, _) => return Err(bad("a boolean or 0/1")),
        (Kind::Ref { .. }, Field::Int(n)) if *n > 0 => Field::Int(*n),
        (Kind::Ref { table, nullable }, _) => {
            let null = if nullable { " or nil" } else { "" };
            return Err(bad(&format!(
                "the positive integer id of a {}{null}",
                table.describe()
            )));
        }
        (Kind::List, Field::StrList(items)) => {
            if items.len() > 64 || items.iter().any(|i| i.len() > 128) {
                return Err(CoreError::invalid(
                    def.name,
                    "at most 64 strings of 128 bytes",
                ));
            }
            Field::Str(serde_json::to_string(items).unwrap_or_else(|_| "[]".into()))
        }
        (Kind::List, _) => return Err(bad("an array of strings")),
        (Kind::OneOf(words) | Kind::OptOneOf(words), Field::Str(s)) => {
            if !words.contains(&s.as_str()) {
                return Err(CoreError::invalid(
                    def.name,
                    format!("'{s}' is not one of: {}", words.join(", ")),
                ));
            }
            Field::Str(s.clone())
        }
        (Kind::OneOf(words) | Kind::OptOneOf(words), _) => {
            return Err(bad(&format!("one of: {}", words.join(", "))));
        }
        (Kind::Json, Field::Json(v)) => Field::Str(v.to_string()),
        (Kind::Json, Field::StrList(items)) => Field::Str(serde_json::json!(items).to_string()),
        (Kind::Json, _) => return Err(bad("an array or an object")),
        (Kind::Time, _) => return Err(CoreError::invalid(def.name, "is read-only")),
    };
    Ok(checked)
}

/// A short description of a value's type, for error messages.
pub fn describe(value: &Field) -> &'static str {
    match value {
        Field::Null => "nil",
        Field::Bool(_) => "a boolean",
        Field::Int(_) => "an integer",
        Field::Double(_) => "a double",
        Field::Str(_) => "a string",
        Field::StrList(_) | Field::Json(serde_json::Value::Array(_)) => "an array",
        Field::Time(_) => "a date",
        Field::Json(_) => "an object",
    }
}

/// Checks the given fields against `defs`: every required one present when `creating`, every
/// value valid. Fields not in `defs` are left for the caller (it knows what else it accepts).
/// Returns `(column, value)` pairs ready to store.
pub fn check_all(
    defs: &[AttrDef],
    given: &Fields,
    creating: bool,
) -> Result<Vec<(&'static str, Field)>, CoreError> {
    let mut out = Vec::new();
    for def in defs {
        match given.get(def.name) {
            Some(value) => out.push((def.column, check(def, value)?)),
            None if creating && def.presence == Presence::Required => {
                return Err(CoreError::Missing(def.name.to_string()));
            }
            None => {}
        }
    }
    Ok(out)
}

/// Refuses any given field that none of `known` names.
pub fn refuse_unknown(
    given: &Fields,
    known: &[&[AttrDef]],
    extra: &[&str],
) -> Result<(), CoreError> {
    for name in given.keys() {
        let listed = known.iter().any(|defs| defs.iter().any(|d| d.name == name))
            || extra.contains(&name.as_str());
        if !listed {
            return Err(CoreError::invalid(name, "unknown parameter"));
        }
    }
    Ok(())
}
