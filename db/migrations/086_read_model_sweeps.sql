-- Issue 12: how far the workers' sweep for lost read-model writes of ended cases has got
-- (worker/read-model-repair.ts). One row per sweep name; a restarted worker goes on from here, so an end
-- written by no API process just before every worker stopped is still found.
CREATE TABLE read_model_sweeps (
  name text PRIMARY KEY,
  swept_until timestamptz NOT NULL
);
