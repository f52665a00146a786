-- Identity: users, teams, hashed API tokens.
CREATE TABLE users (
  id text PRIMARY KEY,
  name text NOT NULL,
  email varchar(320) NOT NULL,
  role text NOT NULL CHECK (role IN ('agent', 'supervisor', 'designer', 'admin')),
  locale text NOT NULL DEFAULT 'en',
  active boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE teams (
  id text PRIMARY KEY,
  name text NOT NULL,
  supervisor_id text REFERENCES users (id),
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE team_members (
  team_id text NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
  user_id text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  PRIMARY KEY (team_id, user_id)
);
CREATE INDEX team_members_user ON team_members (user_id);

CREATE TABLE api_tokens (
  id text PRIMARY KEY,
  user_id text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  token_hash text NOT NULL UNIQUE,
  name text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  last_used_at timestamptz,
  revoked_at timestamptz
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);

-- Published case-type definitions: each distinct content is a new immutable version.
CREATE TABLE case_type_versions (
  case_type text NOT NULL,
  version integer NOT NULL,
  label text NOT NULL,
  hash text NOT NULL,
  content jsonb NOT NULL,
  published_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (case_type, version),
  UNIQUE (case_type, hash)
);

-- CRM entities (people or companies). Extended by the CRM core.
CREATE TABLE entities (
  id text PRIMARY KEY,
  kind text NOT NULL DEFAULT 'EN' CHECK (kind IN ('EN', 'CL', 'PR')),
  code text NOT NULL,
  name text NOT NULL,
  agent_id text REFERENCES users (id),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (kind, code)
);

-- Read model of cases and tasks, written only by the case workflows (through the projection activity).
CREATE TABLE cases (
  id text PRIMARY KEY,
  case_type text NOT NULL,
  definition_version integer NOT NULL,
  title text NOT NULL,
  status text NOT NULL,
  status_category text NOT NULL,
  entity_id text REFERENCES entities (id),
  entity_name text,
  owner_id text REFERENCES users (id),
  parent_case_id text,
  data jsonb NOT NULL DEFAULT '{}',
  lines jsonb NOT NULL DEFAULT '[]',
  current_steps text[] NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  ended_at timestamptz,
  version bigint NOT NULL
);
CREATE INDEX cases_type_status ON cases (case_type, status);
CREATE INDEX cases_entity ON cases (entity_id);
CREATE INDEX cases_owner ON cases (owner_id);

CREATE TABLE tasks (
  id text PRIMARY KEY,
  case_id text NOT NULL REFERENCES cases (id),
  step text,
  action text NOT NULL,
  title text NOT NULL,
  description text,
  status text NOT NULL CHECK (status IN ('open', 'completed', 'cancelled')),
  assignee text,
  candidate_teams text[] NOT NULL DEFAULT '{}',
  candidate_roles text[] NOT NULL DEFAULT '{}',
  priority text NOT NULL,
  priority_rank smallint GENERATED ALWAYS AS (
    CASE priority WHEN 'urgent' THEN 3 WHEN 'high' THEN 2 WHEN 'normal' THEN 1 ELSE 0 END
  ) STORED,
  due_at timestamptz,
  follow_up_at timestamptz,
  created_at timestamptz NOT NULL,
  claimed_at timestamptz,
  completed_at timestamptz,
  completed_by text,
  outcome text,
  form_data jsonb,
  notes text,
  delegated_by text,
  escalation_level integer NOT NULL DEFAULT 0,
  comments jsonb NOT NULL DEFAULT '[]',
  -- Denormalized from the case so an inbox row needs no join.
  case_type text NOT NULL,
  case_title text NOT NULL,
  case_status text NOT NULL,
  entity_name text,
  version integer NOT NULL
);
CREATE INDEX tasks_case ON tasks (case_id);
CREATE INDEX tasks_assignee_open ON tasks (assignee, due_at) WHERE status = 'open';
CREATE INDEX tasks_candidates_open ON tasks USING gin (candidate_teams) WHERE status = 'open' AND assignee IS NULL;

-- Case timeline (audit): append-only, one row per interpreter timeline entry.
CREATE TABLE case_events (
  case_id text NOT NULL,
  seq integer NOT NULL,
  at timestamptz NOT NULL,
  kind text NOT NULL,
  actor text NOT NULL,
  task_id text,
  detail jsonb NOT NULL DEFAULT '{}',
  PRIMARY KEY (case_id, seq)
);
CREATE INDEX case_events_task ON case_events (task_id) WHERE task_id IS NOT NULL;

-- Email outbox: one row per (case, rule, triggering event); the unique key makes sending idempotent.
CREATE TABLE email_outbox (
  id bigserial PRIMARY KEY,
  idempotency_key text NOT NULL UNIQUE,
  case_id text,
  rule_id text NOT NULL,
  event_key text NOT NULL,
  template text NOT NULL,
  message_id text NOT NULL,
  state text NOT NULL CHECK (state IN ('queued', 'sending', 'sent', 'failed')),
  recipients jsonb NOT NULL DEFAULT '{}',
  subject text,
  attempts integer NOT NULL DEFAULT 0,
  deliveries integer NOT NULL DEFAULT 0,
  redelivered boolean NOT NULL DEFAULT false,
  smtp_response text,
  last_error text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  sent_at timestamptz
);
CREATE INDEX email_outbox_case ON email_outbox (case_id);

-- General parameters, changed by administrators.
CREATE TABLE parameters (
  key text PRIMARY KEY,
  value jsonb NOT NULL,
  description text NOT NULL DEFAULT '',
  updated_at timestamptz NOT NULL DEFAULT now(),
  updated_by text
);
INSERT INTO parameters (key, value, description) VALUES
  ('allowEditClosedTasks', 'false', 'Allow editing the form data and notes of completed tasks (every edit is audited).');
