-- Issue 15: activities on an entity outside any case. A call, meeting, visit or email logged as done (outcome, notes,
-- duration), or a visit (or call, meeting) scheduled for a date-time and an owner, marked done later.
-- `at` is when it happened (done) or is planned (scheduled); the entity's list walks (entity, at, id).
-- They are notes about the entity, like its contacts: deleting the entity deletes them.
CREATE TABLE entity_activities (
  id text PRIMARY KEY,
  entity_id text NOT NULL REFERENCES entities (id) ON DELETE CASCADE,
  kind text NOT NULL CHECK (kind IN ('call', 'meeting', 'visit', 'email')),
  status text NOT NULL CHECK (status IN ('done', 'scheduled')),
  at timestamptz NOT NULL,
  scheduled_at timestamptz,
  subject text,
  outcome text,
  notes text,
  duration_minutes integer CHECK (duration_minutes BETWEEN 0 AND 1440),
  owner_id text REFERENCES users (id),
  created_by text NOT NULL,
  done_by text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CHECK (status = 'done' OR scheduled_at IS NOT NULL)
);
CREATE INDEX entity_activities_entity ON entity_activities (entity_id, at DESC, id DESC);
CREATE INDEX entity_activities_owner ON entity_activities (owner_id, at) WHERE status = 'scheduled';
