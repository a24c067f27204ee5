-- switchyard schema, version 2: what the Sipwise-C5-style /api/ dialect adds to the one model.
-- Resellers are nodes of the customer tree (the root is reseller 1); C5 customers are the nodes
-- below them; C5 subscribers are the same rows as Sippy accounts.

-- Billing profiles (C5 billingprofiles). Peak times are small JSON arrays checked by the core.
CREATE TABLE billing_profiles (
    id                       INTEGER PRIMARY KEY AUTOINCREMENT,
    reseller_id              INTEGER NOT NULL REFERENCES customers(id),
    handle                   TEXT NOT NULL,
    name                     TEXT NOT NULL,
    prepaid                  INTEGER NOT NULL DEFAULT 0,
    prepaid_library          TEXT NOT NULL DEFAULT 'libswrate',
    interval_charge          REAL NOT NULL DEFAULT 0,
    interval_free_time       INTEGER NOT NULL DEFAULT 0,
    interval_free_cash       REAL NOT NULL DEFAULT 0,
    interval_unit            TEXT NOT NULL DEFAULT 'month',
    interval_count           INTEGER NOT NULL DEFAULT 1,
    fraud_interval_limit     INTEGER,
    fraud_interval_lock      INTEGER,
    fraud_interval_notify    TEXT,
    fraud_daily_limit        INTEGER,
    fraud_daily_lock         INTEGER,
    fraud_daily_notify       TEXT,
    fraud_use_reseller_rates INTEGER NOT NULL DEFAULT 0,
    currency                 TEXT,
    ignore_domain            INTEGER NOT NULL DEFAULT 0,
    peaktime_weekdays        TEXT NOT NULL DEFAULT '[]',
    peaktime_special         TEXT NOT NULL DEFAULT '[]',
    status                   TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'terminated')),
    create_timestamp         INTEGER NOT NULL,
    modify_timestamp         INTEGER NOT NULL
);
CREATE UNIQUE INDEX billing_profiles_handle ON billing_profiles(reseller_id, handle)
    WHERE status <> 'terminated';
CREATE UNIQUE INDEX billing_profiles_name ON billing_profiles(reseller_id, name)
    WHERE status <> 'terminated';
-- Profile 1 needs the root customer; on a new database the first start creates both.
INSERT INTO billing_profiles (id, reseller_id, handle, name, create_timestamp, modify_timestamp)
SELECT 1, 1, 'default', 'Default Billing Profile', 0, 0
WHERE EXISTS (SELECT 1 FROM customers WHERE id = 1);

-- The customer tree in C5's terms. `reseller_id` is the nearest reseller at or above the node
-- (a reseller is its own), kept by a trigger so every dialect's inserts get it.
ALTER TABLE customers ADD COLUMN kind TEXT NOT NULL DEFAULT 'customer'
    CHECK (kind IN ('reseller', 'customer'));
ALTER TABLE customers ADD COLUMN reseller_id INTEGER REFERENCES customers(id);
ALTER TABLE customers ADD COLUMN status TEXT NOT NULL DEFAULT 'active'
    CHECK (status IN ('active', 'pending', 'locked', 'terminated'));
ALTER TABLE customers ADD COLUMN contract_type TEXT NOT NULL DEFAULT 'sipaccount'
    CHECK (contract_type IN ('sipaccount', 'pbxaccount'));
ALTER TABLE customers ADD COLUMN billing_profile_id INTEGER REFERENCES billing_profiles(id);
ALTER TABLE customers ADD COLUMN external_id TEXT;
ALTER TABLE customers ADD COLUMN max_subscribers INTEGER;
ALTER TABLE customers ADD COLUMN vat_rate REAL NOT NULL DEFAULT 0;
ALTER TABLE customers ADD COLUMN add_vat INTEGER NOT NULL DEFAULT 0;
UPDATE customers SET kind = 'reseller' WHERE id = 1;
UPDATE customers SET reseller_id = 1;
CREATE INDEX customers_reseller ON customers(reseller_id, id);
CREATE TRIGGER customers_reseller_id AFTER INSERT ON customers WHEN NEW.reseller_id IS NULL
BEGIN
    UPDATE customers SET kind = CASE WHEN NEW.parent_id IS NULL THEN 'reseller' ELSE NEW.kind END,
        reseller_id = CASE
        WHEN NEW.kind = 'reseller' OR NEW.parent_id IS NULL THEN NEW.id
        ELSE (SELECT p.reseller_id FROM customers p WHERE p.id = NEW.parent_id) END
    WHERE id = NEW.id;
END;

-- Contacts: system contacts have no reseller; customer contacts belong to one.
ALTER TABLE contacts ADD COLUMN kind TEXT NOT NULL DEFAULT 'customer'
    CHECK (kind IN ('system', 'customer'));
ALTER TABLE contacts ADD COLUMN reseller_id INTEGER REFERENCES customers(id);
ALTER TABLE contacts ADD COLUMN status TEXT NOT NULL DEFAULT 'active'
    CHECK (status IN ('active', 'terminated'));
ALTER TABLE contacts ADD COLUMN mobile TEXT NOT NULL DEFAULT '';
ALTER TABLE contacts ADD COLUMN iban TEXT NOT NULL DEFAULT '';
ALTER TABLE contacts ADD COLUMN bic TEXT NOT NULL DEFAULT '';
ALTER TABLE contacts ADD COLUMN bankname TEXT NOT NULL DEFAULT '';
ALTER TABLE contacts ADD COLUMN vatnum TEXT NOT NULL DEFAULT '';
ALTER TABLE contacts ADD COLUMN comregnum TEXT NOT NULL DEFAULT '';
ALTER TABLE contacts ADD COLUMN timezone TEXT;
ALTER TABLE contacts ADD COLUMN create_timestamp INTEGER NOT NULL DEFAULT 0;
ALTER TABLE contacts ADD COLUMN modify_timestamp INTEGER NOT NULL DEFAULT 0;
UPDATE contacts SET reseller_id = 1;
CREATE INDEX contacts_reseller ON contacts(reseller_id, id);
INSERT INTO contacts (kind, reseller_id, email, first_name, last_name)
VALUES ('system', NULL, 'default-system@default.invalid', 'System', 'Contact');

-- Subscribers: what C5 keeps beside Sippy's account fields.
ALTER TABLE subscribers ADD COLUMN webusername TEXT;
ALTER TABLE subscribers ADD COLUMN email TEXT;
ALTER TABLE subscribers ADD COLUMN external_id TEXT;
ALTER TABLE subscribers ADD COLUMN status TEXT NOT NULL DEFAULT 'active'
    CHECK (status IN ('active', 'locked'));
ALTER TABLE subscribers ADD COLUMN lock_level INTEGER;
ALTER TABLE subscribers ADD COLUMN display_name TEXT;
ALTER TABLE subscribers ADD COLUMN uuid TEXT;
ALTER TABLE subscribers ADD COLUMN profile_id INTEGER;
ALTER TABLE subscribers ADD COLUMN profile_set_id INTEGER;
ALTER TABLE subscribers ADD COLUMN timezone TEXT;
CREATE UNIQUE INDEX subscribers_webusername ON subscribers(webusername, ifnull(domain_id, 0))
    WHERE webusername IS NOT NULL;

-- Numbers as C5 writes them: country code, area code, subscriber number.
ALTER TABLE numbers ADD COLUMN cc TEXT NOT NULL DEFAULT '';
ALTER TABLE numbers ADD COLUMN ac TEXT NOT NULL DEFAULT '';
ALTER TABLE numbers ADD COLUMN sn TEXT NOT NULL DEFAULT '';
ALTER TABLE numbers ADD COLUMN is_devid INTEGER NOT NULL DEFAULT 0;

-- Logins: a customer's own login (role 'customer', at most one) and further admin logins of a
-- reseller (C5 admins). A read-only login may only read, in every dialect.
DROP INDEX logins_customer;
ALTER TABLE logins ADD COLUMN role TEXT NOT NULL DEFAULT 'customer'
    CHECK (role IN ('customer', 'admin'));
ALTER TABLE logins ADD COLUMN read_only INTEGER NOT NULL DEFAULT 0;
ALTER TABLE logins ADD COLUMN is_active INTEGER NOT NULL DEFAULT 1;
ALTER TABLE logins ADD COLUMN email TEXT;
CREATE UNIQUE INDEX logins_customer ON logins(customer_id)
    WHERE customer_id IS NOT NULL AND role = 'customer';

-- Client certificates issued by switchyard's own CA; the serial maps to a login.
CREATE TABLE client_certs (
    serial      TEXT PRIMARY KEY,
    login_id    INTEGER NOT NULL REFERENCES logins(id) ON DELETE CASCADE,
    not_after   INTEGER NOT NULL,
    created_on  INTEGER NOT NULL
);
