-- Issue 15: sales quotas (targets) per agent or per team and period, against the forecast.
-- A period is a calendar month (2026-12) or quarter (2026-Q4); the amount is in the quota's own currency, and
-- the quota report converts deals of other currencies only with the exchange-rate table (migration 065).
CREATE TABLE sales_quotas (
  id bigserial PRIMARY KEY,
  period text NOT NULL CHECK (period ~ '^\d{4}-(0[1-9]|1[0-2]|Q[1-4])$'),
  agent_id text REFERENCES users (id) ON DELETE CASCADE,
  team_id text REFERENCES teams (id) ON DELETE CASCADE,
  amount numeric NOT NULL CHECK (amount > 0),
  currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  updated_by text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  -- A quota is an agent's or a team's, never both.
  CHECK ((agent_id IS NULL) <> (team_id IS NULL))
);
CREATE UNIQUE INDEX sales_quotas_agent ON sales_quotas (period, agent_id) WHERE agent_id IS NOT NULL;
CREATE UNIQUE INDEX sales_quotas_team ON sales_quotas (period, team_id) WHERE team_id IS NOT NULL;
CREATE INDEX sales_quotas_team_id ON sales_quotas (team_id) WHERE team_id IS NOT NULL;
CREATE INDEX sales_quotas_agent_id ON sales_quotas (agent_id) WHERE agent_id IS NOT NULL;
