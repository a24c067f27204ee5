-- Self-care: a subscriber authenticating as itself (sipXconfig /my/..., SIP2SIP settings.phtml).
-- Append-only like every migration: never edit once shipped.

-- The sipXconfig user-portal PIN. Kept as given, like voip_password and web_password, because
-- Digest under a user name or any alias needs the secret itself; never returned or logged.
-- NULL: none set, so portal sign-in is refused.
ALTER TABLE subscribers ADD COLUMN portal_pin TEXT;

-- Finding an account by its user name within a domain.
CREATE INDEX subscribers_username_domain ON subscribers(username, domain_id);
