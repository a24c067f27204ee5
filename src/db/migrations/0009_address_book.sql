-- The LDAP address book. Append-only like every migration: never edit once shipped.

-- A counter bumped by every change that can alter an address-book entry, so the server's
-- in-memory address book is rebuilt by the next search after a change from any dialect, the CLI
-- or another instance, and only then.
CREATE TABLE address_book_version (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
);
INSERT INTO address_book_version (id, version) VALUES (1, 0);

CREATE TRIGGER address_book_subscriber_added AFTER INSERT ON subscribers
BEGIN UPDATE address_book_version SET version = version + 1; END;
CREATE TRIGGER address_book_subscriber_removed AFTER DELETE ON subscribers
BEGIN UPDATE address_book_version SET version = version + 1; END;
CREATE TRIGGER address_book_subscriber_changed
AFTER UPDATE OF username, domain_id, contact_id, display_name, email, status, blocked ON subscribers
BEGIN UPDATE address_book_version SET version = version + 1; END;

CREATE TRIGGER address_book_contact_changed
AFTER UPDATE OF first_name, last_name, email, phone, mobile ON contacts
BEGIN UPDATE address_book_version SET version = version + 1; END;

CREATE TRIGGER address_book_number_added AFTER INSERT ON numbers
BEGIN UPDATE address_book_version SET version = version + 1; END;
CREATE TRIGGER address_book_number_removed AFTER DELETE ON numbers
BEGIN UPDATE address_book_version SET version = version + 1; END;
CREATE TRIGGER address_book_number_changed AFTER UPDATE ON numbers
BEGIN UPDATE address_book_version SET version = version + 1; END;

CREATE TRIGGER address_book_domain_changed AFTER UPDATE OF name ON domains
BEGIN UPDATE address_book_version SET version = version + 1; END;
CREATE TRIGGER address_book_domain_removed AFTER DELETE ON domains
BEGIN UPDATE address_book_version SET version = version + 1; END;
