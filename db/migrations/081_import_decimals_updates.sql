-- Issue 15: case imports read .xlsx sheets and numbers written with either decimal mark; the job says which
-- mark it read text numbers with (NULL for JSON, where numbers are numbers).
ALTER TABLE imports DROP CONSTRAINT imports_format_check;
ALTER TABLE imports ADD CONSTRAINT imports_format_check CHECK (format IN ('json', 'csv', 'xlsx'));
ALTER TABLE imports ADD COLUMN decimal_mark text CHECK (decimal_mark IN (',', '.'));
