-- switchyard schema, version 8: what the SIP2SIP settings API reads and the feeds write. Call
-- records and registrations are fed in (switchyard is not the proxy); prepaid vouchers top up the
-- core balance (balance_transactions stays the one history of balance changes); do-not-disturb is
-- a subscriber preference that may end by itself.

-- Call detail records, one per subscriber and direction of a call. A call between two local
-- subscribers gives a 'placed' row for one and a 'received' row for the other with one call_id;
-- importing the same record again changes nothing (INSERT OR IGNORE on the unique key).
CREATE TABLE cdrs (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    call_id       TEXT NOT NULL,
    subscriber_id INTEGER NOT NULL REFERENCES subscribers(id) ON DELETE CASCADE,
    direction     TEXT NOT NULL CHECK (direction IN ('placed', 'received')),
    remote_party  TEXT NOT NULL,
    display_name  TEXT NOT NULL DEFAULT '',
    start_time    INTEGER NOT NULL,          -- ms since the epoch (UTC)
    duration      INTEGER NOT NULL CHECK (duration >= 0),  -- seconds
    status        TEXT NOT NULL,             -- SIP status code as text, e.g. '200'
    price         REAL,
    imported_on   INTEGER NOT NULL,
    UNIQUE (call_id, subscriber_id, direction)
);
CREATE INDEX cdrs_subscriber_time ON cdrs(subscriber_id, start_time);

-- SIP registrations fed by the registrar; a row lapses at expires_at (ms) and is then ignored.
CREATE TABLE registrations (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    subscriber_id  INTEGER NOT NULL REFERENCES subscribers(id) ON DELETE CASCADE,
    contact        TEXT NOT NULL,
    public_contact TEXT NOT NULL DEFAULT '',
    expires_at     INTEGER NOT NULL,
    user_agent     TEXT NOT NULL DEFAULT '',
    transport      TEXT NOT NULL DEFAULT '',
    updated_on     INTEGER NOT NULL,
    UNIQUE (subscriber_id, contact)
);

-- Prepaid vouchers: an admin creates them; a subscriber redeems one once with its id and secret
-- number (SIP2SIP add_balance). Only a SHA-256 of the number is kept.
CREATE TABLE vouchers (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    number_sha256 TEXT NOT NULL,
    value         REAL NOT NULL CHECK (value > 0),
    currency      TEXT NOT NULL,
    created_on    INTEGER NOT NULL,
    created_by    TEXT NOT NULL,
    used_by       INTEGER REFERENCES subscribers(id) ON DELETE SET NULL,
    used_on       INTEGER
);

INSERT INTO preference_defs (name, label, description, preference_group, data_type, max_occur, enum_values) VALUES
 ('dnd', 'Do not disturb', 'Reject incoming calls (SIP2SIP set_dnd_on).', 'Call Blockings', 'boolean', 1, '[]'),
 ('dnd_until', 'Do not disturb until', 'Unix time in seconds at which do not disturb ends by itself; absent: until switched off.', 'Call Blockings', 'int', 1, '[]');
