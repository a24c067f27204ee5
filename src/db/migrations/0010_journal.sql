-- The replication journal (SIP2SIP's chat history): opaque entries a subscriber's devices put
-- and read back. Append-only like every migration: never edit once shipped.
CREATE TABLE journal_entries (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    subscriber_id INTEGER NOT NULL REFERENCES subscribers(id) ON DELETE CASCADE,
    uuid          TEXT NOT NULL,            -- the device that put it
    client_id     TEXT NOT NULL,            -- the device's own id for it (Blink: the message id)
    data          TEXT NOT NULL,            -- opaque, kept exactly as given
    timestamp     INTEGER NOT NULL,         -- seconds since the epoch
    ip_address    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX journal_entries_subscriber ON journal_entries(subscriber_id, id);
CREATE INDEX journal_entries_client ON journal_entries(subscriber_id, client_id);
