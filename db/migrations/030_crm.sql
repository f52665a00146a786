-- CRM core (issue 6): entities with standard and company-defined fields, contacts, segments, campaigns,
-- case imports, inbound email, and the read-model columns and indexes the reports need at 1M cases.

-- Trigram indexes make "contains" searches on names, emails and phones use an index (pg_trgm is a
-- trusted extension: a database owner may create it).
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- Entities: person or company; standard fields; `custom` holds the fields declared in
-- definitions/entity.schema.json (validated by the API on every write).
ALTER TABLE entities
  ADD COLUMN entity_type text NOT NULL DEFAULT 'company' CHECK (entity_type IN ('person', 'company')),
  ADD COLUMN tax_id text,
  ADD COLUMN email varchar(320),
  ADD COLUMN phone text,
  ADD COLUMN address text,
  ADD COLUMN city text,
  ADD COLUMN postal_code text,
  ADD COLUMN country text,
  ADD COLUMN source text,
  ADD COLUMN sector text,
  ADD COLUMN zone text,
  -- Code of the customer/supplier master in the ERP; the ERP hook is idempotent by it.
  ADD COLUMN external_code text,
  ADD COLUMN custom jsonb NOT NULL DEFAULT '{}',
  ADD COLUMN created_by text;

CREATE UNIQUE INDEX entities_external_code ON entities (external_code) WHERE external_code IS NOT NULL;
CREATE INDEX entities_agent ON entities (agent_id);
CREATE INDEX entities_sector ON entities (sector);
CREATE INDEX entities_zone ON entities (zone);
CREATE INDEX entities_source ON entities (source);
CREATE INDEX entities_email ON entities (lower(email));
CREATE INDEX entities_name_trgm ON entities USING gin (name gin_trgm_ops);
CREATE INDEX entities_custom ON entities USING gin (custom jsonb_path_ops);

-- Contacts: n per entity. The columns up to `custom` are a contract other modules query (email rules).
CREATE TABLE contacts (
  id text PRIMARY KEY,
  entity_id text NOT NULL REFERENCES entities (id) ON DELETE CASCADE,
  name text NOT NULL,
  email varchar(320),
  phone text,
  roles text[] NOT NULL DEFAULT '{}',
  is_primary boolean NOT NULL DEFAULT false,
  locale text,
  custom jsonb NOT NULL DEFAULT '{}',
  job_title text,
  source text,
  -- Digits only, so "+34 600-000" and "600000" find each other.
  phone_digits text GENERATED ALWAYS AS (regexp_replace(coalesce(phone, ''), '[^0-9]', '', 'g')) STORED,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX contacts_entity ON contacts (entity_id);
-- One primary contact per entity; one contact per address within an entity (vCard re-imports match on it).
CREATE UNIQUE INDEX contacts_one_primary ON contacts (entity_id) WHERE is_primary;
CREATE UNIQUE INDEX contacts_entity_email ON contacts (entity_id, lower(email)) WHERE email IS NOT NULL;
CREATE INDEX contacts_email ON contacts (lower(email));
CREATE INDEX contacts_search_trgm ON contacts
  USING gin ((lower(name) || ' ' || lower(coalesce(email, ''))) gin_trgm_ops);
CREATE INDEX contacts_phone_trgm ON contacts USING gin (phone_digits gin_trgm_ops);

-- Forecast columns of the case read model, derived from the case data so the reports read narrow,
-- indexable values instead of parsing jsonb per row. Non-numeric or malformed values become NULL.
ALTER TABLE cases
  ADD COLUMN forecast_amount numeric GENERATED ALWAYS AS (
    CASE WHEN jsonb_typeof(data -> 'amount') = 'number' THEN (data ->> 'amount')::numeric END
  ) STORED,
  ADD COLUMN forecast_probability numeric GENERATED ALWAYS AS (
    CASE WHEN jsonb_typeof(data -> 'probability') = 'number' THEN (data ->> 'probability')::numeric END
  ) STORED,
  ADD COLUMN expected_close text GENERATED ALWAYS AS (
    CASE WHEN data ->> 'expectedCloseDate' ~ '^\d{4}-\d{2}-\d{2}$' THEN data ->> 'expectedCloseDate' END
  ) STORED,
  ADD COLUMN campaign_id text GENERATED ALWAYS AS (data ->> 'campaignId') STORED;

-- Day-precise forecast periods and segment filters scan cases: by type and close date, covering what the
-- aggregation reads (index-only scans).
CREATE INDEX cases_forecast ON cases (case_type, expected_close)
  INCLUDE (definition_version, status, status_category, owner_id, forecast_amount, forecast_probability);
-- The open-cases report lists its cases newest first, by category (default) or by chosen status.
CREATE INDEX cases_category_created ON cases (status_category, created_at DESC, id DESC);
CREATE INDEX cases_status_created ON cases (status, created_at DESC, id DESC);

-- Pipeline totals: the forecast and open-cases counts read these few thousand rows instead of aggregating a
-- million cases per request. Kept exact by statement-level triggers on `cases` (below), in the same transaction
-- as the change. '' stands for "no owner" and "no expected close date" (key columns cannot be NULL).
-- Weighted amount = (weighted_override + amount_default x status default probability) / 100, the default
-- probability being read from the case's definition version at query time.
CREATE TABLE case_pipeline_totals (
  case_type text NOT NULL,
  definition_version integer NOT NULL,
  status text NOT NULL,
  status_category text NOT NULL,
  owner_id text NOT NULL,
  close_month text NOT NULL,
  cases bigint NOT NULL,
  amount numeric NOT NULL,
  -- sum(amount x probability) of the cases that carry their own probability
  weighted_override numeric NOT NULL,
  -- sum(amount) of the cases that use their status's default probability
  amount_default numeric NOT NULL,
  PRIMARY KEY (case_type, definition_version, status, status_category, owner_id, close_month)
);
CREATE INDEX case_pipeline_totals_owner ON case_pipeline_totals (owner_id);

-- Adds the rows of the `plus` transition table and subtracts those of `minus`, grouped by key, skipping keys
-- whose delta is zero (a projection that changed only tasks touches no total), in key order so concurrent
-- transactions lock total rows in the same order.
CREATE FUNCTION case_pipeline_totals_apply() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO case_pipeline_totals AS t
    SELECT case_type, definition_version, status, status_category, coalesce(owner_id, ''),
           coalesce(left(expected_close, 7), ''), count(*), coalesce(sum(forecast_amount), 0),
           coalesce(sum(forecast_amount * forecast_probability), 0),
           coalesce(sum(forecast_amount) FILTER (WHERE forecast_probability IS NULL), 0)
    FROM plus GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 3, 4, 5, 6
    ON CONFLICT (case_type, definition_version, status, status_category, owner_id, close_month) DO UPDATE SET
      cases = t.cases + EXCLUDED.cases, amount = t.amount + EXCLUDED.amount,
      weighted_override = t.weighted_override + EXCLUDED.weighted_override,
      amount_default = t.amount_default + EXCLUDED.amount_default;
  ELSIF TG_OP = 'DELETE' THEN
    UPDATE case_pipeline_totals t SET cases = t.cases - d.n, amount = t.amount - d.amount,
      weighted_override = t.weighted_override - d.weighted_override, amount_default = t.amount_default - d.amount_default
    FROM (SELECT case_type, definition_version, status, status_category, coalesce(owner_id, '') AS owner_id,
                 coalesce(left(expected_close, 7), '') AS close_month, count(*) AS n,
                 coalesce(sum(forecast_amount), 0) AS amount,
                 coalesce(sum(forecast_amount * forecast_probability), 0) AS weighted_override,
                 coalesce(sum(forecast_amount) FILTER (WHERE forecast_probability IS NULL), 0) AS amount_default
          FROM minus GROUP BY 1, 2, 3, 4, 5, 6) d
    WHERE (t.case_type, t.definition_version, t.status, t.status_category, t.owner_id, t.close_month)
        = (d.case_type, d.definition_version, d.status, d.status_category, d.owner_id, d.close_month);
  ELSE
    INSERT INTO case_pipeline_totals AS t
    SELECT case_type, definition_version, status, status_category, owner_id, close_month,
           sum(sign), sum(sign * amount), sum(sign * weighted_override), sum(sign * amount_default)
    FROM (
      SELECT 1 AS sign, case_type, definition_version, status, status_category, coalesce(owner_id, '') AS owner_id,
             coalesce(left(expected_close, 7), '') AS close_month, coalesce(forecast_amount, 0) AS amount,
             coalesce(forecast_amount * forecast_probability, 0) AS weighted_override,
             CASE WHEN forecast_probability IS NULL THEN coalesce(forecast_amount, 0) ELSE 0 END AS amount_default
      FROM plus
      UNION ALL
      SELECT -1, case_type, definition_version, status, status_category, coalesce(owner_id, ''),
             coalesce(left(expected_close, 7), ''), coalesce(forecast_amount, 0),
             coalesce(forecast_amount * forecast_probability, 0),
             CASE WHEN forecast_probability IS NULL THEN coalesce(forecast_amount, 0) ELSE 0 END
      FROM minus
    ) d
    GROUP BY 1, 2, 3, 4, 5, 6
    HAVING sum(sign) <> 0 OR sum(sign * amount) <> 0 OR sum(sign * weighted_override) <> 0
        OR sum(sign * amount_default) <> 0
    ORDER BY 1, 2, 3, 4, 5, 6
    ON CONFLICT (case_type, definition_version, status, status_category, owner_id, close_month) DO UPDATE SET
      cases = t.cases + EXCLUDED.cases, amount = t.amount + EXCLUDED.amount,
      weighted_override = t.weighted_override + EXCLUDED.weighted_override,
      amount_default = t.amount_default + EXCLUDED.amount_default;
  END IF;
  RETURN NULL;
END
$fn$;

CREATE TRIGGER cases_pipeline_insert AFTER INSERT ON cases REFERENCING NEW TABLE AS plus
  FOR EACH STATEMENT EXECUTE FUNCTION case_pipeline_totals_apply();
CREATE TRIGGER cases_pipeline_update AFTER UPDATE ON cases REFERENCING OLD TABLE AS minus NEW TABLE AS plus
  FOR EACH STATEMENT EXECUTE FUNCTION case_pipeline_totals_apply();
CREATE TRIGGER cases_pipeline_delete AFTER DELETE ON cases REFERENCING OLD TABLE AS minus
  FOR EACH STATEMENT EXECUTE FUNCTION case_pipeline_totals_apply();

-- Cases projected before this migration.
INSERT INTO case_pipeline_totals
SELECT case_type, definition_version, status, status_category, coalesce(owner_id, ''),
       coalesce(left(expected_close, 7), ''), count(*), coalesce(sum(forecast_amount), 0),
       coalesce(sum(forecast_amount * forecast_probability), 0),
       coalesce(sum(forecast_amount) FILTER (WHERE forecast_probability IS NULL), 0)
FROM cases GROUP BY 1, 2, 3, 4, 5, 6;
CREATE INDEX cases_campaign ON cases (campaign_id) WHERE campaign_id IS NOT NULL;
CREATE INDEX cases_entity_category ON cases (entity_id, status_category) INCLUDE (case_type, forecast_amount);

-- Saved segments: a typed filter (see crm/segments.ts) stored by name and reused by campaigns and reports.
CREATE TABLE segments (
  id text PRIMARY KEY,
  name text NOT NULL UNIQUE,
  description text,
  filter jsonb NOT NULL,
  created_by text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE campaigns (
  id text PRIMARY KEY,
  name text NOT NULL,
  description text,
  starts_on date,
  ends_on date,
  goal jsonb NOT NULL DEFAULT '{}',
  budget numeric(14, 2) NOT NULL DEFAULT 0 CHECK (budget >= 0),
  actual_cost numeric(14, 2) NOT NULL DEFAULT 0 CHECK (actual_cost >= 0),
  currency text NOT NULL DEFAULT 'EUR',
  -- The case type started for each target, and the data every such case starts with.
  case_type text NOT NULL,
  -- Pinned when the campaign starts: every target's case runs this version.
  definition_version integer,
  case_data jsonb NOT NULL DEFAULT '{}',
  segment_id text REFERENCES segments (id) ON DELETE SET NULL,
  status text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'running', 'paused', 'completed')),
  batch_size integer NOT NULL DEFAULT 100 CHECK (batch_size BETWEEN 1 AND 1000),
  rate_per_second numeric NOT NULL DEFAULT 50 CHECK (rate_per_second > 0),
  started_at timestamptz,
  completed_at timestamptz,
  created_by text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CHECK (ends_on IS NULL OR starts_on IS NULL OR ends_on >= starts_on)
);

-- A campaign's targets. `case_id` is fixed when the target is added (`campaign-<campaign>-<entity>`), so
-- starting the same target twice finds the same workflow.
CREATE TABLE campaign_targets (
  campaign_id text NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
  entity_id text NOT NULL REFERENCES entities (id),
  case_id text NOT NULL UNIQUE,
  source text NOT NULL,
  state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'started', 'failed')),
  error text,
  added_at timestamptz NOT NULL DEFAULT now(),
  started_at timestamptz,
  PRIMARY KEY (campaign_id, entity_id)
);
CREATE INDEX campaign_targets_state ON campaign_targets (campaign_id, state);

-- Case imports: one job row per uploaded document, updated as its rows are processed.
CREATE TABLE imports (
  id text PRIMARY KEY,
  kind text NOT NULL DEFAULT 'cases',
  format text NOT NULL CHECK (format IN ('json', 'csv')),
  filename text,
  case_type text NOT NULL,
  definition_version integer NOT NULL,
  status text NOT NULL CHECK (status IN ('running', 'completed', 'failed')),
  total integer NOT NULL,
  processed integer NOT NULL DEFAULT 0,
  created integer NOT NULL DEFAULT 0,
  unchanged integer NOT NULL DEFAULT 0,
  failed integer NOT NULL DEFAULT 0,
  -- [{line, externalKey, pointer, message}]
  errors jsonb NOT NULL DEFAULT '[]',
  created_by text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz
);

-- The rows of an import, so an interrupted job can be resumed where it stopped.
CREATE TABLE import_rows (
  import_id text NOT NULL REFERENCES imports (id) ON DELETE CASCADE,
  line integer NOT NULL,
  external_key text NOT NULL,
  payload jsonb NOT NULL,
  state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'created', 'unchanged', 'failed')),
  case_id text,
  error text,
  PRIMARY KEY (import_id, line)
);
CREATE INDEX import_rows_pending ON import_rows (import_id, line) WHERE state = 'pending';

-- Every external key ever imported, per case type: what makes an import idempotent.
CREATE TABLE imported_cases (
  case_type text NOT NULL,
  external_key text NOT NULL,
  case_id text NOT NULL,
  content_hash text NOT NULL,
  import_id text,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (case_type, external_key)
);

-- Inbound email: which address opens which case type.
CREATE TABLE inbound_mailboxes (
  address varchar(320) PRIMARY KEY CHECK (address = lower(address)),
  case_type text NOT NULL,
  -- Kind of the entity created for an unknown sender.
  entity_kind text NOT NULL DEFAULT 'EN' CHECK (entity_kind IN ('EN', 'CL', 'PR')),
  owner_id text REFERENCES users (id),
  -- Case data every case from this address starts with (e.g. a campaign id).
  case_data jsonb NOT NULL DEFAULT '{}',
  active boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Received messages by Message-ID: a message delivered twice opens one case.
CREATE TABLE inbound_messages (
  message_id text PRIMARY KEY,
  mailbox varchar(320) NOT NULL,
  from_address varchar(320) NOT NULL,
  subject text,
  entity_id text REFERENCES entities (id),
  contact_id text REFERENCES contacts (id) ON DELETE SET NULL,
  case_id text NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now()
);

-- Files attached to cases (the raw MIME of an inbound email, ...). No FK: the case row is projected by the
-- workflow after the attachment is stored.
CREATE TABLE case_attachments (
  id text PRIMARY KEY,
  case_id text NOT NULL,
  kind text NOT NULL,
  filename text NOT NULL,
  content_type text NOT NULL,
  size_bytes integer NOT NULL,
  content bytea NOT NULL,
  message_id text,
  created_by text,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX case_attachments_case ON case_attachments (case_id);
