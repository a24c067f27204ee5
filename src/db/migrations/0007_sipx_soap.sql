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
