-- Sign-in for people (issue 14): passwords, browser sessions, one-time password links, preferences.

-- A self-describing scrypt hash (lib/passwords.ts: `scrypt$N=..,r=..,p=..$<salt>$<key>`); NULL = no password
-- yet (the user signs in only after an invite or a reset, or uses API tokens).
ALTER TABLE users
  ADD COLUMN password_hash text,
  ADD COLUMN password_changed_at timestamptz,
  -- The language the user chose for the web app; NULL follows the browser. `locale` (emails) follows it.
  ADD COLUMN ui_locale text CHECK (ui_locale IN ('es', 'en')),
  -- IANA time zone for dates in the web app; NULL follows the browser.
  ADD COLUMN time_zone varchar(64);

-- Browser sessions. The cookie carries a random id; only its SHA-256 is stored, so a database leak exposes
-- no usable session. The CSRF token is derived from the id (HMAC), so nothing more is stored for it.
CREATE TABLE sessions (
  id_hash text PRIMARY KEY,
  user_id text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  created_at timestamptz NOT NULL DEFAULT now(),
  -- Touched at most once a minute by requests; the idle timeout counts from here.
  last_seen_at timestamptz NOT NULL DEFAULT now(),
  -- The absolute end, whatever the activity.
  expires_at timestamptz NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

-- One-time links to set a password (an admin's invite, or a forgotten password). Only the token's SHA-256
-- is stored; a link works once and until it expires.
CREATE TABLE password_tokens (
  token_hash text PRIMARY KEY,
  user_id text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  purpose text NOT NULL CHECK (purpose IN ('invite', 'reset')),
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  used_at timestamptz
);
CREATE INDEX password_tokens_user ON password_tokens (user_id);

-- Sign-in and forgotten-password look users up by address, case-insensitively. Not unique: existing data may
-- share an address; sign-in then refuses it rather than guess (api/sessions.ts).
CREATE INDEX users_email_lower ON users (lower(email));
