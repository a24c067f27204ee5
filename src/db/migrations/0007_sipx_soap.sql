-- switchyard schema: what the sipXconfig-style SOAP dialect adds to the one model. A sipXconfig
-- user is a row of `subscribers`; its aliases are rows of `numbers`; the rest is here.

-- User groups belong to a customer node; names are unique within it.
CREATE TABLE user_groups (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    created_on  INTEGER NOT NULL,
    UNIQUE (customer_id, name)
);
CREATE TABLE user_group_members (
    group_id      INTEGER NOT NULL REFERENCES user_groups(id) ON DELETE CASCADE,
    subscriber_id INTEGER NOT NULL REFERENCES subscribers(id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, subscriber_id)
) WITHOUT ROWID;
CREATE INDEX user_group_members_subscriber ON user_group_members(subscriber_id, group_id);

-- The sipXconfig permissions a user holds (names from the core's list of known permissions).
CREATE TABLE subscriber_permissions (
    subscriber_id INTEGER NOT NULL REFERENCES subscribers(id) ON DELETE CASCADE,
    permission    TEXT NOT NULL,
    PRIMARY KEY (subscriber_id, permission)
) WITHOUT ROWID;

-- The branch (site) a user works at, by name; NULL: none.
ALTER TABLE subscribers ADD COLUMN branch_name TEXT;

-- Custom call permissions (sipXconfig PermissionService); the built-in ones are the core's list.
CREATE TABLE sipx_permissions (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id   INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    name          TEXT NOT NULL UNIQUE,
    label         TEXT NOT NULL,
    description   TEXT NOT NULL DEFAULT '',
    default_value INTEGER NOT NULL DEFAULT 0,
    created_on    INTEGER NOT NULL
);

-- Phones (provisioned devices) of a customer, their groups and lines. A line is a subscriber's
-- (subscriber_id set) or an external account on another registrar (subscriber_id NULL).
CREATE TABLE phones (
    id                    INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id           INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    serial_number         TEXT NOT NULL UNIQUE,
    model_id              TEXT NOT NULL,
    description           TEXT NOT NULL DEFAULT '',
    -- There are no real phones to talk to: generateProfiles and restart are recorded here.
    profiles_generated_on INTEGER,
    restart_requested_on  INTEGER,
    created_on            INTEGER NOT NULL,
    updated_on            INTEGER NOT NULL
);
CREATE INDEX phones_customer ON phones(customer_id, id);
CREATE TABLE phone_groups (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    UNIQUE (customer_id, name)
);
CREATE TABLE phone_group_members (
    group_id INTEGER NOT NULL REFERENCES phone_groups(id) ON DELETE CASCADE,
    phone_id INTEGER NOT NULL REFERENCES phones(id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, phone_id)
) WITHOUT ROWID;
CREATE INDEX phone_group_members_phone ON phone_group_members(phone_id, group_id);
CREATE TABLE phone_lines (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    phone_id            INTEGER NOT NULL REFERENCES phones(id) ON DELETE CASCADE,
    subscriber_id       INTEGER REFERENCES subscribers(id) ON DELETE CASCADE,
    user_id             TEXT NOT NULL,
    uri                 TEXT NOT NULL,
    display_name        TEXT NOT NULL DEFAULT '',
    password            TEXT NOT NULL DEFAULT '',   -- external lines only; never returned
    registration_server TEXT NOT NULL DEFAULT '',
    voicemail           TEXT NOT NULL DEFAULT '',
    UNIQUE (phone_id, uri)
);
CREATE INDEX phone_lines_subscriber ON phone_lines(subscriber_id) WHERE subscriber_id IS NOT NULL;

-- Call groups (hunt groups) with ordered rings to users, and park orbits. Extensions are unique
-- across both.
CREATE TABLE call_groups (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    name        TEXT NOT NULL UNIQUE,
    extension   TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    enabled     INTEGER NOT NULL DEFAULT 1,
    created_on  INTEGER NOT NULL
);
CREATE TABLE call_group_rings (
    call_group_id INTEGER NOT NULL REFERENCES call_groups(id) ON DELETE CASCADE,
    position      INTEGER NOT NULL,
    subscriber_id INTEGER NOT NULL REFERENCES subscribers(id) ON DELETE CASCADE,
    expiration    INTEGER NOT NULL,
    ring_type     TEXT NOT NULL CHECK (ring_type IN ('delayed', 'immediate')),
    PRIMARY KEY (call_group_id, position)
) WITHOUT ROWID;
CREATE INDEX call_group_rings_subscriber ON call_group_rings(subscriber_id);
CREATE TABLE park_orbits (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    name        TEXT NOT NULL UNIQUE,
    extension   TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    enabled     INTEGER NOT NULL DEFAULT 1,
    music       TEXT NOT NULL DEFAULT 'default.wav',
    created_on  INTEGER NOT NULL
);
