-- The admin page. Append-only like every migration: never edit once shipped.

-- Signed-in admin sessions. Kept in the database, not in memory, so a session holds across a
-- restart and across instances sharing the storage, and signing out revokes it everywhere. Only
-- a SHA-256 of the cookie's token is stored: reading the table does not give a usable cookie.
CREATE TABLE admin_sessions (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash  TEXT NOT NULL UNIQUE,
    login_id    INTEGER NOT NULL REFERENCES logins(id) ON DELETE CASCADE,
    csrf_token  TEXT NOT NULL,              -- every form of the session carries it
    created_on  INTEGER NOT NULL,
    expires_on  INTEGER NOT NULL
);
CREATE INDEX admin_sessions_login ON admin_sessions(login_id);
CREATE INDEX admin_sessions_expiry ON admin_sessions(expires_on);

-- The sign-in throttle counts an address's recent failed sign-ins in the audit log itself (every
-- failure is audited anyway), so it too holds across instances. This keeps that count cheap.
CREATE INDEX audit_log_admin_failures ON audit_log(peer_ip, at)
    WHERE outcome = 'failed_auth' AND dialect = 'admin';
