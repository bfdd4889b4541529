-- Token revocation: every bearer token carries its user's token_version, and a request is
-- served only while the two match (accounts/revocation.py). Raising the version revokes
-- every token of that user at once: log-out does it, and this trigger does it whenever
-- what a token vouches for changes (the role, the password, the account being disabled),
-- whoever makes the change: the app, or an operator in the sqlite3 shell.
ALTER TABLE users ADD COLUMN token_version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN disabled_at REAL;

CREATE TRIGGER users_revoke_tokens
AFTER UPDATE OF role, password_hash, disabled_at ON users
WHEN OLD.role IS NOT NEW.role
  OR OLD.password_hash IS NOT NEW.password_hash
  OR OLD.disabled_at IS NOT NEW.disabled_at
BEGIN
    UPDATE users SET token_version = token_version + 1 WHERE id = NEW.id;
END;
