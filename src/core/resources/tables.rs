//! The static description of each collection: the fields clients write (with their columns), the
//! fields read back (columns may be SQL expressions over the table), filters and sort keys.

use super::super::attrs::{AttrDef, Kind, Presence, renamed};
use super::super::records::{Filter, Listing, Match};

use Presence::{Optional, Required};

const fn w(name: &'static str, kind: Kind, p: Presence) -> AttrDef {
    renamed(name, name, kind, p)
}

const fn col(name: &'static str, column: &'static str, kind: Kind) -> AttrDef {
    renamed(name, column, kind, Optional)
}

const fn secret(name: &'static str, column: &'static str, kind: Kind, p: Presence) -> AttrDef {
    let mut def = renamed(name, column, kind, p);
    def.secret = true;
    def
}

const fn filter(param: &'static str, column: &'static str, how: Match) -> Filter {
    Filter { param, column, how }
}

const ID: Kind = Kind::Int(1, i64::MAX);
const OPT_ID: Kind = Kind::OptInt(1, i64::MAX);
const FLAG: Kind = Kind::Flag;
const TEXT: Kind = Kind::Text(255);
const OPT_TEXT: Kind = Kind::OptText(255);

// ---- resellers -----------------------------------------------------------------------------

pub const RESELLER_STATUS: &[&str] = &["active", "locked", "terminated"];

pub const RESELLER_WRITE: &[AttrDef] = &[
    w("name", Kind::Text(127), Required),
    w("status", Kind::OneOf(RESELLER_STATUS), Required),
];

pub static RESELLERS: Listing = Listing {
    table: "customers",
    columns: RESELLER_WRITE,
    base: "customers.kind = 'reseller'",
    owner_path: "customers.path",
    sort: &[("name", "customers.name"), ("status", "customers.status")],
    filters: &[
        filter("name", "customers.name", Match::Like),
        filter("status", "customers.status", Match::In),
    ],
};

// ---- admins (logins of resellers) -------------------------------------------------------------

pub const ADMIN_WRITE: &[AttrDef] = &[
    w("login", Kind::Text(127), Required),
    secret("password", "password", Kind::Text(128), Required),
    w("reseller_id", OPT_ID, Optional),
    w("read_only", FLAG, Optional),
    w("is_active", FLAG, Optional),
    w("email", OPT_TEXT, Optional),
];

pub static ADMINS: Listing = Listing {
    table: "logins",
    columns: &[
        w("login", Kind::Text(127), Required),
        col("reseller_id", "logins.customer_id", ID),
        w("read_only", FLAG, Optional),
        w("is_active", FLAG, Optional),
        w("email", OPT_TEXT, Optional),
    ],
    base: "(SELECT c.kind FROM customers c WHERE c.id = logins.customer_id) = 'reseller'",
    owner_path: "(SELECT c.path FROM customers c WHERE c.id = logins.customer_id)",
    sort: &[("login", "logins.login")],
    filters: &[
        filter("login", "logins.login", Match::Like),
        filter("reseller_id", "logins.customer_id", Match::Eq),
    ],
};

// ---- contacts ----------------------------------------------------------------------------------

/// Contact fields as C5 names them, with the columns they share with Sippy's contact details.
pub const CONTACT_WRITE: &[AttrDef] = &[
    w("email", TEXT, Required),
    col("firstname", "first_name", Kind::Text(127)),
    col("lastname", "last_name", Kind::Text(127)),
    col("company", "company_name", Kind::Text(127)),
    col("street", "street_addr", TEXT),
    col("postcode", "postal_code", Kind::Text(31)),
    col("city", "city", Kind::Text(127)),
    col("country", "country", Kind::Text(2)),
    col("phonenumber", "phone", Kind::Text(31)),
    col("mobilenumber", "mobile", Kind::Text(31)),
    col("faxnumber", "fax", Kind::Text(31)),
    col("iban", "iban", Kind::Text(34)),
    col("bic", "bic", Kind::Text(11)),
    col("bankname", "bankname", TEXT),
    col("vatnum", "vatnum", Kind::Text(127)),
    col("comregnum", "comregnum", Kind::Text(127)),
    col("timezone", "timezone", Kind::OptText(64)),
    w("reseller_id", OPT_ID, Optional),
];

const CONTACT_SORT: &[(&str, &str)] = &[
    ("email", "contacts.email"),
    ("firstname", "contacts.first_name"),
    ("lastname", "contacts.last_name"),
];

pub static CUSTOMER_CONTACTS: Listing = Listing {
    table: "contacts",
    columns: CONTACT_WRITE,
    base: "contacts.kind = 'customer' AND contacts.reseller_id IS NOT NULL \
           AND contacts.status <> 'terminated'",
    owner_path: "(SELECT c.path FROM customers c WHERE c.id = coalesce(contacts.reseller_id, 1))",
    sort: CONTACT_SORT,
    filters: &[
        filter("email", "contacts.email", Match::Like),
        filter("reseller_id", "contacts.reseller_id", Match::Eq),
    ],
};

pub static SYSTEM_CONTACTS: Listing = Listing {
    table: "contacts",
    columns: CONTACT_WRITE,
    base: "contacts.kind = 'system' AND contacts.status <> 'terminated'",
    owner_path: "'/1/'",
    sort: CONTACT_SORT,
    filters: &[filter("email", "contacts.email", Match::Like)],
};

// ---- customers (C5 contracts) -----------------------------------------------------------------

pub const CUSTOMER_STATUS: &[&str] = &["active", "pending", "locked", "terminated"];
pub const CONTRACT_TYPES: &[&str] = &["sipaccount", "pbxaccount"];

pub const CONTRACT_WRITE: &[AttrDef] = &[
    w("contact_id", ID, Required),
    w("status", Kind::OneOf(CUSTOMER_STATUS), Required),
    col("type", "contract_type", Kind::OneOf(CONTRACT_TYPES)),
    w("billing_profile_id", ID, Required),
    w("external_id", OPT_TEXT, Optional),
    w(
        "max_subscribers",
        Kind::OptInt(0, i32::MAX as i64),
        Optional,
    ),
    w("vat_rate", Kind::Double, Optional),
    w("add_vat", FLAG, Optional),
];

pub static CONTRACTS: Listing = Listing {
    table: "customers",
    columns: &[
        w("contact_id", OPT_ID, Optional),
        w("status", Kind::OneOf(CUSTOMER_STATUS), Required),
        col("type", "contract_type", Kind::OneOf(CONTRACT_TYPES)),
        w("billing_profile_id", OPT_ID, Optional),
        w("external_id", OPT_TEXT, Optional),
        w(
            "max_subscribers",
            Kind::OptInt(0, i32::MAX as i64),
            Optional,
        ),
        w("vat_rate", Kind::Double, Optional),
        w("add_vat", FLAG, Optional),
        col(
            "all_billing_profiles",
            "CASE WHEN customers.billing_profile_id IS NULL THEN '[]' ELSE json_array(json_object(\
             'profile_id', customers.billing_profile_id, 'start', NULL, 'stop', NULL, \
             'network_id', NULL, 'effective_start_time', \
             strftime('%Y-%m-%d %H:%M:%S', customers.created_on / 1000, 'unixepoch'))) END",
            Kind::Json,
        ),
        col("create_timestamp", "customers.created_on", Kind::Time),
        col("modify_timestamp", "customers.updated_on", Kind::Time),
    ],
    base: "customers.kind = 'customer'",
    owner_path: "customers.path",
    sort: &[
        ("status", "customers.status"),
        ("external_id", "customers.external_id"),
        ("contact_id", "customers.contact_id"),
        ("create_timestamp", "customers.created_on"),
    ],
    filters: &[
        filter("status", "customers.status", Match::In),
        filter("not_status", "customers.status", Match::NotIn),
        filter("type", "customers.contract_type", Match::In),
        filter("reseller_id", "customers.reseller_id", Match::Eq),
        filter("external_id", "customers.external_id", Match::Like),
        filter("contact_id", "customers.contact_id", Match::Eq),
        filter("create_timestamp_gt", "customers.created_on", Match::After),
        filter("create_timestamp_lt", "customers.created_on", Match::Before),
        filter("modify_timestamp_gt", "customers.updated_on", Match::After),
        filter("modify_timestamp_lt", "customers.updated_on", Match::Before),
    ],
};

// ---- domains -------------------------------------------------------------------------------------

pub const DOMAIN_WRITE: &[AttrDef] = &[
    w("domain", Kind::Text(127), Required),
    w("reseller_id", OPT_ID, Optional),
];

pub static DOMAINS: Listing = Listing {
    table: "domains",
    columns: &[
        col("domain", "domains.name", Kind::Text(127)),
        col("reseller_id", "coalesce(domains.customer_id, 1)", ID),
    ],
    base: "1",
    owner_path: "(SELECT c.path FROM customers c WHERE c.id = coalesce(domains.customer_id, 1))",
    sort: &[("domain", "domains.name")],
    filters: &[
        filter("domain", "domains.name", Match::Like),
        filter("reseller_id", "coalesce(domains.customer_id, 1)", Match::Eq),
    ],
};

// ---- billing profiles --------------------------------------------------------------------------

pub const BILLING_WRITE: &[AttrDef] = &[
    w("name", Kind::Text(31), Required),
    w("handle", Kind::Text(63), Required),
    w("reseller_id", OPT_ID, Optional),
    w("prepaid", FLAG, Optional),
    w(
        "prepaid_library",
        Kind::OneOf(&["libswrate", "libinewrate"]),
        Optional,
    ),
    w("interval_charge", Kind::Double, Optional),
    w(
        "interval_free_time",
        Kind::Int(0, i32::MAX as i64),
        Optional,
    ),
    w("interval_free_cash", Kind::Double, Optional),
    w("interval_unit", Kind::OneOf(&["week", "month"]), Optional),
    w("interval_count", Kind::Int(1, 1000), Optional),
    w("fraud_interval_limit", Kind::OptInt(0, i64::MAX), Optional),
    w("fraud_interval_lock", Kind::OptInt(0, 4), Optional),
    w("fraud_interval_notify", OPT_TEXT, Optional),
    w("fraud_daily_limit", Kind::OptInt(0, i64::MAX), Optional),
    w("fraud_daily_lock", Kind::OptInt(0, 4), Optional),
    w("fraud_daily_notify", OPT_TEXT, Optional),
    w("fraud_use_reseller_rates", FLAG, Optional),
    w("currency", Kind::OptText(31), Optional),
    w("ignore_domain", FLAG, Optional),
    w("peaktime_weekdays", Kind::Json, Optional),
    w("peaktime_special", Kind::Json, Optional),
];

pub static BILLING_PROFILES: Listing = Listing {
    table: "billing_profiles",
    columns: &[
        w("name", Kind::Text(31), Required),
        w("handle", Kind::Text(63), Required),
        w("reseller_id", ID, Optional),
        w("prepaid", FLAG, Optional),
        w("prepaid_library", TEXT, Optional),
        w("interval_charge", Kind::Double, Optional),
        w(
            "interval_free_time",
            Kind::Int(0, i32::MAX as i64),
            Optional,
        ),
        w("interval_free_cash", Kind::Double, Optional),
        w("interval_unit", TEXT, Optional),
        w("interval_count", Kind::Int(1, 1000), Optional),
        w("fraud_interval_limit", Kind::OptInt(0, i64::MAX), Optional),
        w("fraud_interval_lock", Kind::OptInt(0, 4), Optional),
        w("fraud_interval_notify", OPT_TEXT, Optional),
        w("fraud_daily_limit", Kind::OptInt(0, i64::MAX), Optional),
        w("fraud_daily_lock", Kind::OptInt(0, 4), Optional),
        w("fraud_daily_notify", OPT_TEXT, Optional),
        w("fraud_use_reseller_rates", FLAG, Optional),
        w("currency", Kind::OptText(31), Optional),
        w("ignore_domain", FLAG, Optional),
        w("peaktime_weekdays", Kind::Json, Optional),
        w("peaktime_special", Kind::Json, Optional),
        col(
            "create_timestamp",
            "billing_profiles.create_timestamp",
            Kind::Time,
        ),
        col(
            "modify_timestamp",
            "billing_profiles.modify_timestamp",
            Kind::Time,
        ),
    ],
    base: "billing_profiles.status <> 'terminated'",
    owner_path: "(SELECT c.path FROM customers c WHERE c.id = billing_profiles.reseller_id)",
    sort: &[
        ("name", "billing_profiles.name"),
        ("handle", "billing_profiles.handle"),
    ],
    filters: &[
        filter("reseller_id", "billing_profiles.reseller_id", Match::Eq),
        filter("handle", "billing_profiles.handle", Match::Like),
        filter("name", "billing_profiles.name", Match::Like),
    ],
};

// ---- subscribers -------------------------------------------------------------------------------

pub const SUBSCRIBER_STATUS: &[&str] = &["active", "locked"];

pub const SUBSCRIBER_WRITE: &[AttrDef] = &[
    w("customer_id", ID, Required),
    w("domain_id", OPT_ID, Optional),
    w("domain", Kind::OptText(127), Optional),
    w("username", Kind::Text(127), Required),
    secret("password", "voip_password", Kind::Text(128), Required),
    w("webusername", Kind::OptText(127), Optional),
    secret("webpassword", "web_password", Kind::OptText(128), Optional),
    w("email", OPT_TEXT, Optional),
    w("external_id", OPT_TEXT, Optional),
    w("status", Kind::OneOf(SUBSCRIBER_STATUS), Optional),
    col("lock", "lock_level", Kind::OptInt(0, 5)),
    w("display_name", OPT_TEXT, Optional),
    w("profile_id", OPT_ID, Optional),
    w("profile_set_id", OPT_ID, Optional),
    w("timezone", Kind::OptText(64), Optional),
    w("primary_number", Kind::Json, Optional),
    w("alias_numbers", Kind::Json, Optional),
];

pub static SUBSCRIBERS: Listing = Listing {
    table: "subscribers",
    columns: &[
        w("customer_id", ID, Required),
        w("domain_id", OPT_ID, Optional),
        col(
            "domain",
            "(SELECT d.name FROM domains d WHERE d.id = subscribers.domain_id)",
            OPT_TEXT,
        ),
        w("username", Kind::Text(127), Required),
        w("webusername", Kind::OptText(127), Optional),
        w("email", OPT_TEXT, Optional),
        w("external_id", OPT_TEXT, Optional),
        w("status", TEXT, Optional),
        col("lock", "lock_level", Kind::OptInt(0, 5)),
        w("display_name", OPT_TEXT, Optional),
        w("uuid", OPT_TEXT, Optional),
        w("profile_id", OPT_ID, Optional),
        w("profile_set_id", OPT_ID, Optional),
        w("timezone", Kind::OptText(64), Optional),
        col(
            "primary_number",
            "(SELECT json_object('cc', n.cc, 'ac', n.ac, 'sn', n.sn, 'number_id', n.id) \
             FROM numbers n WHERE n.subscriber_id = subscribers.id AND n.is_primary = 1)",
            Kind::Json,
        ),
        col(
            "alias_numbers",
            "(SELECT coalesce(json_group_array(json_object('cc', a.cc, 'ac', a.ac, 'sn', a.sn, \
             'number_id', a.id, 'is_devid', json(CASE a.is_devid WHEN 1 THEN 'true' ELSE 'false' \
             END))), '[]') FROM (SELECT * FROM numbers n WHERE n.subscriber_id = subscribers.id \
             AND n.is_primary = 0 ORDER BY n.id) a)",
            Kind::Json,
        ),
        col("create_timestamp", "subscribers.created_on", Kind::Time),
        col("modify_timestamp", "subscribers.updated_on", Kind::Time),
    ],
    base: "1",
    owner_path: "(SELECT c.path FROM customers c WHERE c.id = subscribers.customer_id)",
    sort: &[
        ("username", "subscribers.username"),
        ("create_timestamp", "subscribers.created_on"),
        ("customer_id", "subscribers.customer_id"),
        ("webusername", "subscribers.webusername"),
    ],
    filters: &[
        filter("username", "subscribers.username", Match::Like),
        filter("webusername", "subscribers.webusername", Match::Like),
        filter(
            "domain",
            "(SELECT d.name FROM domains d WHERE d.id = subscribers.domain_id)",
            Match::Like,
        ),
        filter("customer_id", "subscribers.customer_id", Match::Eq),
        filter(
            "customer_external_id",
            "(SELECT c.external_id FROM customers c WHERE c.id = subscribers.customer_id)",
            Match::Like,
        ),
        filter(
            "subscriber_external_id",
            "subscribers.external_id",
            Match::Like,
        ),
        filter(
            "reseller_id",
            "(SELECT c.reseller_id FROM customers c WHERE c.id = subscribers.customer_id)",
            Match::Eq,
        ),
        filter(
            "contact_id",
            "(SELECT c.contact_id FROM customers c WHERE c.id = subscribers.customer_id)",
            Match::Eq,
        ),
        filter("display_name", "subscribers.display_name", Match::Like),
        filter(
            "alias",
            "(SELECT group_concat(n.number) FROM numbers n WHERE n.subscriber_id = \
             subscribers.id AND n.is_primary = 0)",
            Match::Like,
        ),
        filter(
            "primary_number",
            "(SELECT n.number FROM numbers n WHERE n.subscriber_id = subscribers.id AND \
             n.is_primary = 1)",
            Match::Like,
        ),
        filter(
            "create_timestamp_gt",
            "subscribers.created_on",
            Match::After,
        ),
        filter(
            "create_timestamp_lt",
            "subscribers.created_on",
            Match::Before,
        ),
    ],
};
