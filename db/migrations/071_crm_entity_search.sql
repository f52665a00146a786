-- Issue 15: entity search at 1M entities (bench/crm.bench.ts; EXPLAIN ANALYZE in docs/benchmarks.md).
-- 070 folded the name in every query (crm_fold(name) LIKE ...). Two things made it slow:
-- * the search's `OR code = $q` had no index led by code (the unique one is (kind, code)), so every search
--   scanned that whole index next to the trigram one;
-- * a common word ("gomez") made the planner walk the (name, id) index and fold every name it passed
--   (unaccent per row, 125,000 rows before the first Gómez in the bench: seconds).
-- The folded name is now stored once per row; the trigram index and the (name, id) walk read it from there.
-- The walk reads the folded name, code and external code from the index itself (INCLUDE), so it is an
-- index-only scan: no table page per row it passes.
ALTER TABLE entities ADD COLUMN name_fold text GENERATED ALWAYS AS (crm_fold(name)) STORED;

DROP INDEX IF EXISTS entities_name_fold_trgm;
CREATE INDEX entities_name_fold_trgm ON entities USING gin (name_fold gin_trgm_ops);

DROP INDEX IF EXISTS entities_name_id;
CREATE INDEX entities_name_id ON entities (name, id) INCLUDE (name_fold, code, external_code);

CREATE INDEX entities_code ON entities (code);

-- The duplicate warning on a new entity compares the tax id exactly (and the folded name, through the trigram
-- index, which answers equality too).
CREATE INDEX entities_tax_id ON entities (tax_id) WHERE tax_id IS NOT NULL;
