-- Issue 15: case imports read .xlsx sheets and numbers written with either decimal mark; the job says which
-- mark it read text numbers with (NULL for JSON, where numbers are numbers).
ALTER TABLE imports DROP CONSTRAINT imports_format_check;
ALTER TABLE imports ADD CONSTRAINT imports_format_check CHECK (format IN ('json', 'csv', 'xlsx'));
ALTER TABLE imports ADD COLUMN decimal_mark text CHECK (decimal_mark IN (',', '.'));

-- A re-import updates what changed (data fields, lines, status) through the case's workflow: a row is then
-- 'updated', with the fields it changed; the job counts them.
ALTER TABLE import_rows DROP CONSTRAINT import_rows_state_check;
ALTER TABLE import_rows ADD CONSTRAINT import_rows_state_check
  CHECK (state IN ('pending', 'created', 'updated', 'unchanged', 'failed'));
ALTER TABLE import_rows ADD COLUMN changes text[];
ALTER TABLE imports ADD COLUMN updated integer NOT NULL DEFAULT 0;

-- Entity merges tell each running case of the merged entity's workflow (a relinkEntity Update), so the
-- workflow's own state carries the kept entity. Written in the merge's transaction (an outbox): a case whose
-- workflow could not be told stays pending and is retried (attempts, last_error, next_attempt_at).
CREATE TABLE entity_relinks (
  id bigserial PRIMARY KEY,
  case_id text NOT NULL,
  from_entity_id text NOT NULL,
  to_entity_id text NOT NULL,
  merge_audit_id text,
  actor text NOT NULL,
  attempts integer NOT NULL DEFAULT 0,
  last_error text,
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  created_at timestamptz NOT NULL DEFAULT now(),
  -- 'relinked' (the workflow carries the kept entity) or 'ended' (the workflow had finished: nothing to tell)
  outcome text CHECK (outcome IN ('relinked', 'ended')),
  done_at timestamptz
);
CREATE INDEX entity_relinks_pending ON entity_relinks (next_attempt_at) WHERE done_at IS NULL;
