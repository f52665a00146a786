-- The API caches who a bearer token belongs to (api/caller-cache.ts). Any change that alters what a
-- cached caller says (a revoked token, a deactivated user, a new role, team membership, a team's
-- supervisor) notifies 'auth_changed', and every API process drops its cache. Token use (last_used_at)
-- and unrelated user fields (locale) do not notify.
CREATE FUNCTION notify_auth_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('auth_changed', TG_TABLE_NAME);
  RETURN NULL;
END
$$;

CREATE TRIGGER api_tokens_auth_changed
  AFTER UPDATE OF revoked_at, user_id, token_hash OR DELETE OR TRUNCATE ON api_tokens
  FOR EACH STATEMENT EXECUTE FUNCTION notify_auth_changed();
CREATE TRIGGER users_auth_changed
  AFTER UPDATE OF id, name, email, role, active OR DELETE OR TRUNCATE ON users
  FOR EACH STATEMENT EXECUTE FUNCTION notify_auth_changed();
CREATE TRIGGER teams_auth_changed
  AFTER INSERT OR UPDATE OF id, supervisor_id OR DELETE OR TRUNCATE ON teams
  FOR EACH STATEMENT EXECUTE FUNCTION notify_auth_changed();
CREATE TRIGGER team_members_auth_changed
  AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON team_members
  FOR EACH STATEMENT EXECUTE FUNCTION notify_auth_changed();
