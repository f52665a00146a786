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
