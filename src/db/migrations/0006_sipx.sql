-- switchyard schema, version 6: what sipXconfig's REST API adds to the one model. Forwarding
-- stays in forward_rules (a sipX call sequence is the subscriber's cft rule); these are the
-- concepts no other dialect has yet.

-- The 32-character private user key that alone authenticates /sipxconfig/rest/private/{key}/...
-- Kept as given (the subscriber is shown it), unique so a key names one subscriber.
CREATE TABLE private_user_keys (
    subscriber_id INTEGER PRIMARY KEY REFERENCES subscribers(id) ON DELETE CASCADE,
    user_key      TEXT NOT NULL UNIQUE CHECK (length(user_key) = 32)
);

-- Rings of a call sequence that are switched off: they do not ring, so they are not destinations
-- of the cft rule, but the subscriber's list keeps them at their place.
CREATE TABLE disabled_rings (
    subscriber_id INTEGER NOT NULL REFERENCES subscribers(id) ON DELETE CASCADE,
    position      INTEGER NOT NULL,
    number        TEXT NOT NULL,
    expiration    INTEGER NOT NULL,
    simultaneous  INTEGER NOT NULL CHECK (simultaneous IN (0, 1)),
    PRIMARY KEY (subscriber_id, position)
);

-- Contact details beyond the subscriber's contact row (names and e-mail live there): job,
-- addresses, numbers, IM and social names, as the JSON object the core checked.
CREATE TABLE contact_information (
    subscriber_id INTEGER PRIMARY KEY REFERENCES subscribers(id) ON DELETE CASCADE,
    details       TEXT NOT NULL,
    updated_on    INTEGER NOT NULL
);

-- Shared phonebooks, owned by a node of the customer tree: the subscribers of that node and below
-- see them.
CREATE TABLE phonebooks (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT NOT NULL UNIQUE,
    customer_id INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    created_on  INTEGER NOT NULL,
    updated_on  INTEGER NOT NULL
);
CREATE INDEX phonebooks_customer ON phonebooks(customer_id);

-- Entries of a shared phonebook, or of one subscriber's own phonebook.
CREATE TABLE phonebook_entries (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    phonebook_id  INTEGER REFERENCES phonebooks(id) ON DELETE CASCADE,
    subscriber_id INTEGER REFERENCES subscribers(id) ON DELETE CASCADE,
    first_name    TEXT NOT NULL DEFAULT '',
    last_name     TEXT NOT NULL DEFAULT '',
    number        TEXT NOT NULL DEFAULT '',
    contact       TEXT,               -- JSON object of contact-information fields, or NULL
    CHECK ((phonebook_id IS NULL) <> (subscriber_id IS NULL))
);
CREATE INDEX phonebook_entries_book ON phonebook_entries(phonebook_id, id);
CREATE INDEX phonebook_entries_owner ON phonebook_entries(subscriber_id, id);

-- Conference bridges owned by a subscriber.
CREATE TABLE conferences (
    id                     INTEGER PRIMARY KEY AUTOINCREMENT,
    subscriber_id          INTEGER NOT NULL REFERENCES subscribers(id) ON DELETE CASCADE,
    name                   TEXT NOT NULL UNIQUE,
    enabled                INTEGER NOT NULL DEFAULT 1,
    description            TEXT NOT NULL DEFAULT '',
    extension              TEXT NOT NULL DEFAULT '',
    access_code            TEXT NOT NULL DEFAULT '',
    moderator_code         TEXT NOT NULL DEFAULT '',
    autorecorded           INTEGER NOT NULL DEFAULT 0,
    quickstart             INTEGER NOT NULL DEFAULT 1,
    video                  INTEGER NOT NULL DEFAULT 0,
    send_active_video_only INTEGER NOT NULL DEFAULT 0,
    max_members            INTEGER NOT NULL DEFAULT 0,
    moh                    TEXT NOT NULL DEFAULT '',
    moderated_room         INTEGER NOT NULL DEFAULT 0,
    public_room            INTEGER NOT NULL DEFAULT 0,
    locked                 INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX conferences_owner ON conferences(subscriber_id, name);

-- Click-to-call requests and what the call controller made of them.
CREATE TABLE click_to_call_jobs (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    subscriber_id INTEGER NOT NULL REFERENCES subscribers(id) ON DELETE CASCADE,
    caller        TEXT NOT NULL,
    callee        TEXT NOT NULL,
    state         TEXT NOT NULL CHECK (state IN ('pending', 'handed_over', 'failed')),
    outcome       TEXT NOT NULL DEFAULT '',
    created_on    INTEGER NOT NULL,
    finished_on   INTEGER
);
