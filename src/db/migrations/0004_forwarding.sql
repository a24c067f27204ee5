-- switchyard schema, version 4: call forwarding and subscriber preferences, one copy for every
-- dialect (C5 callforwards and subscriberpreferences now; SIP2SIP's FUNC/FBUS/FNOL/FNOA/FUNV, DND,
-- privacy and accept/reject rules and sipXconfig's forward rings later).

-- One forwarding rule per subscriber and type: when it applies (times, sources, B-numbers, stored
-- as the JSON the core checked) and where calls go (forward_destinations, in order).
CREATE TABLE forward_rules (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    subscriber_id     INTEGER NOT NULL REFERENCES subscribers(id) ON DELETE CASCADE,
    kind              TEXT NOT NULL CHECK (kind IN ('cfu', 'cfb', 'cft', 'cfna', 'cfs', 'cfr', 'cfo')),
    times             TEXT,                -- JSON array of {year, month, mday, wday, hour, minute}; NULL = always
    sources           TEXT,                -- JSON array of strings; NULL = any caller
    sources_mode      TEXT CHECK (sources_mode IN ('whitelist', 'blacklist')),
    sources_is_regex  INTEGER NOT NULL DEFAULT 0,
    bnumbers          TEXT,                -- JSON array of strings; NULL = any called number
    bnumbers_mode     TEXT CHECK (bnumbers_mode IN ('whitelist', 'blacklist')),
    bnumbers_is_regex INTEGER NOT NULL DEFAULT 0,
    UNIQUE (subscriber_id, kind)
);
CREATE TABLE forward_destinations (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    rule_id         INTEGER NOT NULL REFERENCES forward_rules(id) ON DELETE CASCADE,
    position        INTEGER NOT NULL,
    destination     TEXT NOT NULL,        -- a SIP URI or a special destination word
    priority        INTEGER NOT NULL DEFAULT 1,
    timeout         INTEGER NOT NULL DEFAULT 300,
    announcement_id INTEGER
);
CREATE INDEX forward_destinations_rule ON forward_destinations(rule_id, position);

-- Preference definitions: what each preference holds and how it is shown.
CREATE TABLE preference_defs (
    name             TEXT PRIMARY KEY,
    label            TEXT NOT NULL,
    description      TEXT NOT NULL,
    preference_group TEXT NOT NULL,
    data_type        TEXT NOT NULL CHECK (data_type IN ('boolean', 'int', 'string', 'enum')),
    max_occur        INTEGER NOT NULL DEFAULT 1,   -- 0: any number of values
    read_only        INTEGER NOT NULL DEFAULT 0,
    enum_values      TEXT NOT NULL DEFAULT '[]'    -- JSON [{label, value, default_val}]
);
INSERT INTO preference_defs (name, label, description, preference_group, data_type, max_occur, enum_values) VALUES
 ('block_in_mode', 'Block Mode for inbound calls', 'Whitelist (true) or blacklist (false) mode for block_in_list.', 'Call Blockings', 'boolean', 1, '[]'),
 ('block_in_list', 'Block List for inbound calls', 'Numbers (with * wildcards) whose calls are blocked (blacklist) or allowed (whitelist).', 'Call Blockings', 'string', 0, '[]'),
 ('block_in_clir', 'Block anonymous inbound calls', 'Reject incoming calls that suppress their number (CLIR).', 'Call Blockings', 'boolean', 1, '[]'),
 ('block_out_mode', 'Block Mode for outbound calls', 'Whitelist (true) or blacklist (false) mode for block_out_list.', 'Call Blockings', 'boolean', 1, '[]'),
 ('block_out_list', 'Block List for outbound calls', 'Numbers (with * wildcards) the subscriber may not call (blacklist) or may only call (whitelist).', 'Call Blockings', 'string', 0, '[]'),
 ('block_out_override_pin', 'PIN to bypass outbound blocks', 'A PIN that lifts the outbound block list for one call.', 'Call Blockings', 'string', 1, '[]'),
 ('clir', 'Calling line identification restriction', 'Hide the subscriber''s number on outgoing calls (privacy).', 'Number Manipulations', 'boolean', 1, '[]'),
 ('cli', 'Outbound user-provided number', 'The number presented on outgoing calls.', 'Number Manipulations', 'string', 1, '[]'),
 ('allowed_clis', 'Allowed outbound user-provided numbers', 'Numbers (with * wildcards) the subscriber may present as its own.', 'Number Manipulations', 'string', 0, '[]'),
 ('concurrent_max', 'Maximum concurrent calls', 'How many calls the subscriber may have at once.', 'Call Limits', 'int', 1, '[]'),
 ('music_on_hold', 'Music on hold', 'Play music to the other party while a call is on hold.', 'Media', 'boolean', 1, '[]'),
 ('ringtimeout', 'Ring timeout', 'Seconds a call rings before call forward on timeout (cft) applies.', 'Call Forwards', 'int', 1, '[]'),
 ('lock', 'Lock level', 'Restricts what the subscriber may do, from 0 (none) to 5 (global).', 'Access Restrictions', 'enum', 1,
  '[{"label":"none","value":"0","default_val":1},{"label":"foreign","value":"1","default_val":0},{"label":"outgoing","value":"2","default_val":0},{"label":"incoming and outgoing","value":"3","default_val":0},{"label":"global","value":"4","default_val":0},{"label":"ported","value":"5","default_val":0}]'),
 ('display_name', 'Display name', 'The name shown to the called party.', 'Number Manipulations', 'string', 1, '[]');

-- Preference values: one row per value, in order (a multi-valued preference has several).
CREATE TABLE subscriber_preferences (
    subscriber_id INTEGER NOT NULL REFERENCES subscribers(id) ON DELETE CASCADE,
    name          TEXT NOT NULL REFERENCES preference_defs(name),
    position      INTEGER NOT NULL,
    value         TEXT NOT NULL,            -- JSON scalar
    PRIMARY KEY (subscriber_id, name, position)
);

-- Narrow indexes in id order: a deep page of a long list skips its offset through these instead of
-- through the wide rows (see db::records::list).
CREATE INDEX subscribers_by_id ON subscribers(id);
CREATE INDEX customers_by_id ON customers(id);
CREATE INDEX contacts_by_id ON contacts(id);
