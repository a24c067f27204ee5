-- switchyard schema, version 1. Append-only: never edit a migration that has shipped; add a new file.
-- Times are integer milliseconds since the Unix epoch (UTC). Booleans are 0/1 integers.

-- Reference data that Sippy's documented calls point at by id. Each starts with one row, id 1.
CREATE TABLE tariffs (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    currency   TEXT NOT NULL DEFAULT 'USD'
);
CREATE TABLE billing_plans (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    tariff_id  INTEGER NOT NULL REFERENCES tariffs(id)
);
CREATE TABLE routing_groups (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE
);
CREATE TABLE time_zones (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE
);
INSERT INTO tariffs (id, name, currency) VALUES (1, 'Default tariff', 'USD');
INSERT INTO billing_plans (id, name, tariff_id) VALUES (1, 'Default billing plan', 1);
INSERT INTO routing_groups (id, name) VALUES (1, 'Default routing group');
INSERT INTO time_zones (id, name) VALUES (1, 'UTC');

-- Contact details, shared by customers and subscribers (Sippy i_contact, C5 customercontacts).
CREATE TABLE contacts (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    first_name   TEXT NOT NULL DEFAULT '',
    mid_init     TEXT NOT NULL DEFAULT '',
    last_name    TEXT NOT NULL DEFAULT '',
    company_name TEXT NOT NULL DEFAULT '',
    street_addr  TEXT NOT NULL DEFAULT '',
    city         TEXT NOT NULL DEFAULT '',
    state        TEXT NOT NULL DEFAULT '',
    postal_code  TEXT NOT NULL DEFAULT '',
    country      TEXT NOT NULL DEFAULT '',
    email        TEXT NOT NULL DEFAULT '',
    phone        TEXT NOT NULL DEFAULT '',
    fax          TEXT NOT NULL DEFAULT '',
    alt_email    TEXT NOT NULL DEFAULT ''
);

-- The customer tree: root, resellers, customers, sub-customers. `path` holds the ids from the root
-- down to this node as '/1/5/9/', so "this node and everything below it" is a prefix match.
CREATE TABLE customers (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    parent_id       INTEGER REFERENCES customers(id),
    path            TEXT NOT NULL,
    name            TEXT NOT NULL UNIQUE,
    description     TEXT NOT NULL DEFAULT '',
    contact_id      INTEGER REFERENCES contacts(id),
    tariff_id       INTEGER REFERENCES tariffs(id),          -- NULL: the customer's own tariff
    routing_group_id INTEGER REFERENCES routing_groups(id),
    balance         REAL NOT NULL DEFAULT 0,                 -- Sippy's internal sign (amount owed)
    credit_limit    REAL,                                    -- NULL: unlimited
    base_currency   TEXT NOT NULL DEFAULT 'USD',
    accounts_mgmt   INTEGER NOT NULL DEFAULT 7,              -- bit0 add, bit1 edit, bit2 delete
    customers_mgmt  INTEGER NOT NULL DEFAULT 7,
    system_mgmt     INTEGER NOT NULL DEFAULT 0,
    api_permission  INTEGER NOT NULL DEFAULT 0,              -- the parent's "API" permission box
    blocked         INTEGER NOT NULL DEFAULT 0,
    created_on      INTEGER NOT NULL,
    updated_on      INTEGER NOT NULL,
    CHECK ((parent_id IS NULL) = (id = 1))
);
CREATE INDEX customers_parent ON customers(parent_id, id);
CREATE INDEX customers_path ON customers(path);

CREATE TABLE domains (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT NOT NULL UNIQUE,
    customer_id INTEGER REFERENCES customers(id),           -- reseller owning it; NULL: root's
    created_on  INTEGER NOT NULL
);

-- Subscribers (Sippy accounts, C5 subscribers, sipXconfig users, SIP2SIP accounts).
CREATE TABLE subscribers (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id          INTEGER NOT NULL REFERENCES customers(id),
    domain_id            INTEGER REFERENCES domains(id),
    contact_id           INTEGER REFERENCES contacts(id),
    username             TEXT NOT NULL,
    authname             TEXT NOT NULL DEFAULT '',
    voip_password        TEXT NOT NULL DEFAULT '',           -- SIP password; SIP digest needs it
    web_password         TEXT NOT NULL DEFAULT '',           -- self-care password (SIP2SIP digest)
    vm_password          TEXT NOT NULL DEFAULT '',
    description          TEXT NOT NULL DEFAULT '',
    billing_plan_id      INTEGER NOT NULL REFERENCES billing_plans(id),
    time_zone_id         INTEGER NOT NULL REFERENCES time_zones(id),
    routing_group_id     INTEGER REFERENCES routing_groups(id),
    balance              REAL NOT NULL DEFAULT 0,            -- Sippy's internal sign (amount owed)
    credit_limit         REAL NOT NULL DEFAULT 0,
    payment_currency     TEXT NOT NULL DEFAULT 'USD',
    blocked              INTEGER NOT NULL DEFAULT 0,
    translation_rule     TEXT NOT NULL DEFAULT '',
    cli_translation_rule TEXT NOT NULL DEFAULT '',
    cpe_number           TEXT NOT NULL DEFAULT '',
    i_lang               TEXT NOT NULL DEFAULT 'en',
    max_sessions         INTEGER NOT NULL DEFAULT -1,
    max_credit_time      INTEGER NOT NULL DEFAULT -1,
    vm_enabled           INTEGER NOT NULL DEFAULT 0,
    payment_method       INTEGER NOT NULL DEFAULT 1,
    i_export_type        INTEGER NOT NULL DEFAULT 1,
    lifetime             INTEGER NOT NULL DEFAULT -1,
    preferred_codec      INTEGER,
    reg_allowed          INTEGER NOT NULL DEFAULT 1,
    trust_cli            INTEGER NOT NULL DEFAULT 0,
    max_calls_per_second REAL,
    followme_enabled     INTEGER NOT NULL DEFAULT 0,
    dnd_enabled          INTEGER NOT NULL DEFAULT 0,
    hide_own_cli         INTEGER NOT NULL DEFAULT 0,
    call_recording       INTEGER NOT NULL DEFAULT 0,
    privacy_schemas      TEXT NOT NULL DEFAULT '[]',         -- JSON array of strings
    first_use            INTEGER,
    last_login           INTEGER,
    created_on           INTEGER NOT NULL,
    created_by           TEXT NOT NULL,
    updated_on           INTEGER NOT NULL,
    updated_by           TEXT NOT NULL
);
CREATE UNIQUE INDEX subscribers_username ON subscribers(username, ifnull(domain_id, 0));
CREATE INDEX subscribers_customer ON subscribers(customer_id, id);

-- Numbers: a subscriber's primary number and aliases (Sippy DIDs, C5 numbers, SIP2SIP aliases).
CREATE TABLE numbers (
    id            INTEGER PRIMARY KEY,
    subscriber_id INTEGER REFERENCES subscribers(id) ON DELETE CASCADE,
    number        TEXT NOT NULL UNIQUE,
    is_primary    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX numbers_subscriber ON numbers(subscriber_id);

-- Logins: who can sign in. A login's scope is one customer (and its subtree) or one subscriber.
-- API passwords are kept only as HA1 digests for the realm they were set under.
CREATE TABLE logins (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    login             TEXT NOT NULL UNIQUE,
    customer_id       INTEGER REFERENCES customers(id) ON DELETE CASCADE,
    subscriber_id     INTEGER REFERENCES subscribers(id) ON DELETE CASCADE,
    web_password_hash TEXT,                                  -- argon2id PHC string
    api_realm         TEXT,
    api_ha1_md5       TEXT,
    api_ha1_sha256    TEXT,
    allow_api_calls   INTEGER NOT NULL DEFAULT 0,            -- "Allow API Calls"
    created_on        INTEGER NOT NULL,
    updated_on        INTEGER NOT NULL,
    CHECK ((customer_id IS NULL) <> (subscriber_id IS NULL))
);
CREATE UNIQUE INDEX logins_customer ON logins(customer_id) WHERE customer_id IS NOT NULL;

-- Authentication rules (Sippy i_authentication).
CREATE TABLE auth_rules (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    subscriber_id        INTEGER NOT NULL REFERENCES subscribers(id) ON DELETE CASCADE,
    protocol             INTEGER NOT NULL CHECK (protocol BETWEEN 1 AND 4),
    remote_ip            TEXT,
    incoming_cli         TEXT,
    incoming_cld         TEXT,
    to_domain            TEXT,
    from_domain          TEXT,
    cli_translation_rule TEXT,
    cld_translation_rule TEXT,
    tariff_id            INTEGER REFERENCES tariffs(id),
    routing_group_id     INTEGER REFERENCES routing_groups(id),
    max_sessions         INTEGER NOT NULL DEFAULT -1,
    max_cps              REAL,
    CHECK (coalesce(remote_ip, incoming_cli, incoming_cld, to_domain, from_domain) IS NOT NULL)
);
CREATE INDEX auth_rules_subscriber ON auth_rules(subscriber_id, id);

-- Money movements on accounts and customers (balance history).
CREATE TABLE balance_transactions (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    subscriber_id INTEGER REFERENCES subscribers(id) ON DELETE CASCADE,
    customer_id   INTEGER REFERENCES customers(id) ON DELETE CASCADE,
    kind          TEXT NOT NULL CHECK (kind IN ('add_funds', 'credit', 'debit')),
    amount        REAL NOT NULL,
    currency      TEXT NOT NULL,
    notes         TEXT NOT NULL DEFAULT '',
    payment_time  INTEGER NOT NULL,
    created_on    INTEGER NOT NULL
);
CREATE INDEX balance_transactions_subscriber ON balance_transactions(subscriber_id, id);

-- Hosts whose credential-less requests are trusted. `network` is a normalised CIDR.
CREATE TABLE trusted_hosts (
    id          INTEGER PRIMARY KEY,
    network     TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    created_on  INTEGER NOT NULL
);

-- Settings that live with the data (secrets the instance generates for itself).
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value BLOB NOT NULL
);

-- The audit log: append-only, enforced by triggers.
CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,
    event       INTEGER NOT NULL,           -- stable numeric code, see core::audit::Event
    outcome     TEXT NOT NULL CHECK (outcome IN ('ok', 'refused', 'failed_auth')),
    principal   TEXT NOT NULL,              -- login name, 'trusted', 'cli' or 'anonymous'
    login_id    INTEGER,
    auth_method TEXT NOT NULL,
    peer_ip     TEXT,                       -- the connection's address
    user_ip     TEXT,                       -- audit_info.user_ip, else the peer
    user_agent  TEXT,
    action_by   TEXT,
    dialect     TEXT NOT NULL,
    method      TEXT NOT NULL,
    target      TEXT NOT NULL DEFAULT '',
    detail      TEXT NOT NULL DEFAULT ''    -- JSON: what changed, or why it was refused
);
CREATE INDEX audit_log_at ON audit_log(at);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
