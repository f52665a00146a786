-- API tokens may end on their own (`npm run admin -- create-token --expires-in 90d`); NULL = until revoked.
-- A token past its end authenticates nothing (api/auth.ts), like a revoked one.
ALTER TABLE api_tokens ADD COLUMN expires_at timestamptz;

-- Moving a token's end changes what a cached caller may do (api/caller-cache.ts): notify as for revocation.
DROP TRIGGER api_tokens_auth_changed ON api_tokens;
CREATE TRIGGER api_tokens_auth_changed
  AFTER UPDATE OF revoked_at, user_id, token_hash, expires_at OR DELETE OR TRUNCATE ON api_tokens
  FOR EACH STATEMENT EXECUTE FUNCTION notify_auth_changed();
