-- Task inbox, identity and live updates (issue 4).

-- Each user's secret calendar feed; only the SHA-256 of the secret is stored.
CREATE TABLE calendar_feeds (
  user_id text PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
  secret_hash text NOT NULL UNIQUE,
  created_at timestamptz NOT NULL DEFAULT now(),
  last_used_at timestamptz
);

-- First answers to requests sent with an Idempotency-Key, per user: a retry gets the same answer.
CREATE TABLE idempotent_requests (
  user_id text NOT NULL,
  key text NOT NULL,
  -- sha256 of method, path and body: reusing a key for another request is refused.
  fingerprint text NOT NULL,
  status smallint NOT NULL,
  body jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, key)
);
CREATE INDEX idempotent_requests_created ON idempotent_requests (created_at);

CREATE INDEX teams_supervisor ON teams (supervisor_id) WHERE supervisor_id IS NOT NULL;

-- Inbox access paths. Each arm of the visibility predicate (api/inbox-query.ts) has an index, so the
-- planner combines them with a BitmapOr instead of scanning the table.
CREATE INDEX tasks_assignee_closed ON tasks (assignee, completed_at) WHERE status <> 'open';
CREATE INDEX tasks_completed_by ON tasks (completed_by) WHERE completed_by IS NOT NULL;
CREATE INDEX tasks_delegated_by ON tasks (delegated_by) WHERE delegated_by IS NOT NULL;
-- Role candidates are rare: indexing only non-empty arrays keeps the planner's estimate right.
CREATE INDEX tasks_roles ON tasks USING gin (candidate_roles) WHERE candidate_roles <> '{}';
CREATE INDEX tasks_teams ON tasks USING gin (candidate_teams);
CREATE INDEX tasks_teams_open ON tasks USING gin (candidate_teams) WHERE status = 'open';
-- Administrators list all open tasks: one ordered index per sort, so a page reads only its rows.
CREATE INDEX tasks_open_due ON tasks ((COALESCE(due_at, 'infinity'::timestamptz)), id) WHERE status = 'open';
CREATE INDEX tasks_open_due_desc ON tasks ((COALESCE(due_at, '-infinity'::timestamptz)) DESC, id DESC)
  WHERE status = 'open';
CREATE INDEX tasks_open_priority ON tasks (priority_rank DESC, (COALESCE(due_at, 'infinity'::timestamptz)), id)
  WHERE status = 'open';
CREATE INDEX tasks_open_created ON tasks (created_at DESC, id DESC) WHERE status = 'open';
CREATE INDEX tasks_closed_created ON tasks (created_at DESC, id DESC) WHERE status <> 'open';
-- Text search (q): word prefixes in the title and entity name. Language-neutral ('simple'), no stemming.
CREATE INDEX tasks_text ON tasks USING gin (to_tsvector('simple', title || ' ' || COALESCE(entity_name, '')));

-- Live inbox updates: every task change is announced on channel task_changed with who it concerns.
-- The API's listener (api/task-events.ts) forwards it to the open streams of the users who can see it.
CREATE FUNCTION notify_task_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  payload text;
BEGIN
  payload := json_build_object(
    'id', NEW.id,
    'status', NEW.status,
    'assignee', NEW.assignee,
    'previousAssignee', CASE WHEN TG_OP = 'UPDATE' THEN OLD.assignee END,
    'delegatedBy', NEW.delegated_by,
    'completedBy', NEW.completed_by,
    'candidateTeams', NEW.candidate_teams,
    'candidateRoles', NEW.candidate_roles
  )::text;
  -- NOTIFY payloads are limited to 8000 bytes: a huge one is sent as the id alone and looked up.
  IF octet_length(payload) > 7900 THEN
    payload := json_build_object('id', NEW.id, 'truncated', true)::text;
  END IF;
  PERFORM pg_notify('task_changed', payload);
  RETURN NULL;
END;
$$;

CREATE TRIGGER tasks_notify_insert AFTER INSERT ON tasks
  FOR EACH ROW EXECUTE FUNCTION notify_task_changed();
CREATE TRIGGER tasks_notify_update AFTER UPDATE ON tasks
  FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION notify_task_changed();
