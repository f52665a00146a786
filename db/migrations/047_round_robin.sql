-- Round-robin assignment: where each team's turn is, and each pick by the activity attempt that made it,
-- so a retried activity gets the same member instead of using up another turn.
CREATE TABLE round_robin_cursors (
  team_id text PRIMARY KEY REFERENCES teams (id) ON DELETE CASCADE,
  last_user_id text,
  picks bigint NOT NULL DEFAULT 0,
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE round_robin_picks (
  pick_key text PRIMARY KEY,
  team_id text NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
  user_id text NOT NULL,
  picked_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX round_robin_picks_age ON round_robin_picks (team_id, picked_at);
