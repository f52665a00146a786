-- Issue 15: the forecast totals per currency and converts only with an administrator's dated exchange rates.

-- The case's currency (ISO 4217 code in data.currency); NULL when absent or malformed, which the reports read as
-- the default currency of the case's definition version (fields.properties.currency.default).
ALTER TABLE cases
  ADD COLUMN forecast_currency text GENERATED ALWAYS AS (
    CASE WHEN data ->> 'currency' ~ '^[A-Z]{3}$' THEN data ->> 'currency' END
  ) STORED;

DROP INDEX cases_forecast;
CREATE INDEX cases_forecast ON cases (case_type, expected_close)
  INCLUDE (definition_version, status, status_category, owner_id, forecast_amount, forecast_probability,
           forecast_currency);

-- The pipeline totals gain the currency in their key ('' = the definition's default currency).
DROP TRIGGER cases_pipeline_insert ON cases;
DROP TRIGGER cases_pipeline_update ON cases;
DROP TRIGGER cases_pipeline_delete ON cases;
DROP FUNCTION case_pipeline_totals_apply();
DROP TABLE case_pipeline_totals;

CREATE TABLE case_pipeline_totals (
  case_type text NOT NULL,
  definition_version integer NOT NULL,
  status text NOT NULL,
  status_category text NOT NULL,
  owner_id text NOT NULL,
  close_month text NOT NULL,
  currency text NOT NULL,
  cases bigint NOT NULL,
  amount numeric NOT NULL,
  -- sum(amount x probability) of the cases that carry their own probability
  weighted_override numeric NOT NULL,
  -- sum(amount) of the cases that use their status's default probability
  amount_default numeric NOT NULL,
  PRIMARY KEY (case_type, definition_version, status, status_category, owner_id, close_month, currency)
);
CREATE INDEX case_pipeline_totals_owner ON case_pipeline_totals (owner_id);

CREATE FUNCTION case_pipeline_totals_apply() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO case_pipeline_totals AS t
    SELECT case_type, definition_version, status, status_category, coalesce(owner_id, ''),
           coalesce(left(expected_close, 7), ''), coalesce(forecast_currency, ''), count(*),
           coalesce(sum(forecast_amount), 0),
           coalesce(sum(forecast_amount * forecast_probability), 0),
           coalesce(sum(forecast_amount) FILTER (WHERE forecast_probability IS NULL), 0)
    FROM plus GROUP BY 1, 2, 3, 4, 5, 6, 7 ORDER BY 1, 2, 3, 4, 5, 6, 7
    ON CONFLICT (case_type, definition_version, status, status_category, owner_id, close_month, currency)
    DO UPDATE SET
      cases = t.cases + EXCLUDED.cases, amount = t.amount + EXCLUDED.amount,
      weighted_override = t.weighted_override + EXCLUDED.weighted_override,
      amount_default = t.amount_default + EXCLUDED.amount_default;
  ELSIF TG_OP = 'DELETE' THEN
    UPDATE case_pipeline_totals t SET cases = t.cases - d.n, amount = t.amount - d.amount,
      weighted_override = t.weighted_override - d.weighted_override, amount_default = t.amount_default - d.amount_default
    FROM (SELECT case_type, definition_version, status, status_category, coalesce(owner_id, '') AS owner_id,
                 coalesce(left(expected_close, 7), '') AS close_month, coalesce(forecast_currency, '') AS currency,
                 count(*) AS n, coalesce(sum(forecast_amount), 0) AS amount,
                 coalesce(sum(forecast_amount * forecast_probability), 0) AS weighted_override,
                 coalesce(sum(forecast_amount) FILTER (WHERE forecast_probability IS NULL), 0) AS amount_default
          FROM minus GROUP BY 1, 2, 3, 4, 5, 6, 7) d
    WHERE (t.case_type, t.definition_version, t.status, t.status_category, t.owner_id, t.close_month, t.currency)
        = (d.case_type, d.definition_version, d.status, d.status_category, d.owner_id, d.close_month, d.currency);
  ELSE
    INSERT INTO case_pipeline_totals AS t
    SELECT case_type, definition_version, status, status_category, owner_id, close_month, currency,
           sum(sign), sum(sign * amount), sum(sign * weighted_override), sum(sign * amount_default)
    FROM (
      SELECT 1 AS sign, case_type, definition_version, status, status_category, coalesce(owner_id, '') AS owner_id,
             coalesce(left(expected_close, 7), '') AS close_month, coalesce(forecast_currency, '') AS currency,
             coalesce(forecast_amount, 0) AS amount,
             coalesce(forecast_amount * forecast_probability, 0) AS weighted_override,
             CASE WHEN forecast_probability IS NULL THEN coalesce(forecast_amount, 0) ELSE 0 END AS amount_default
      FROM plus
      UNION ALL
      SELECT -1, case_type, definition_version, status, status_category, coalesce(owner_id, ''),
             coalesce(left(expected_close, 7), ''), coalesce(forecast_currency, ''), coalesce(forecast_amount, 0),
             coalesce(forecast_amount * forecast_probability, 0),
             CASE WHEN forecast_probability IS NULL THEN coalesce(forecast_amount, 0) ELSE 0 END
      FROM minus
    ) d
    GROUP BY 1, 2, 3, 4, 5, 6, 7
    HAVING sum(sign) <> 0 OR sum(sign * amount) <> 0 OR sum(sign * weighted_override) <> 0
        OR sum(sign * amount_default) <> 0
    ORDER BY 1, 2, 3, 4, 5, 6, 7
    ON CONFLICT (case_type, definition_version, status, status_category, owner_id, close_month, currency)
    DO UPDATE SET
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

INSERT INTO case_pipeline_totals
SELECT case_type, definition_version, status, status_category, coalesce(owner_id, ''),
       coalesce(left(expected_close, 7), ''), coalesce(forecast_currency, ''), count(*),
       coalesce(sum(forecast_amount), 0),
       coalesce(sum(forecast_amount * forecast_probability), 0),
       coalesce(sum(forecast_amount) FILTER (WHERE forecast_probability IS NULL), 0)
FROM cases GROUP BY 1, 2, 3, 4, 5, 6, 7;

-- Exchange rates administrators maintain: 1 `from_currency` = `rate` `to_currency`, from `valid_from` until the
-- next rate of the pair. A report converts with the latest rate valid on its rate date, and names it.
CREATE TABLE exchange_rates (
  from_currency text NOT NULL CHECK (from_currency ~ '^[A-Z]{3}$'),
  to_currency text NOT NULL CHECK (to_currency ~ '^[A-Z]{3}$' AND to_currency <> from_currency),
  valid_from date NOT NULL,
  rate numeric NOT NULL CHECK (rate > 0),
  updated_by text,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (from_currency, to_currency, valid_from)
);
