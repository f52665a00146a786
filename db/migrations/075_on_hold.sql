-- Issue 13: a case or task on hold (POST /api/cases/:id/suspend, /api/tasks/:id/suspend).
-- A task is on hold by itself or with its case; on_hold_since is when it went on hold (null: not held),
-- so the inbox shows it without a join. The case row says who put the case on hold and when.
ALTER TABLE tasks ADD COLUMN on_hold_since timestamptz;
ALTER TABLE cases ADD COLUMN suspended_at timestamptz, ADD COLUMN suspended_by text;
