-- Issue 15: accent- and case-insensitive search of entities and contacts ("gomez" finds "Gómez").
-- unaccent ships with Postgres (contrib) and is a trusted extension. unaccent() itself is only STABLE (its
-- dictionary could change), so an IMMUTABLE wrapper with the dictionary named explicitly is what the indexes and
-- the queries share; the searches fold the text the same way with the same function.
CREATE EXTENSION IF NOT EXISTS unaccent;

CREATE FUNCTION crm_fold(text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
  AS $$ SELECT lower(public.unaccent('public.unaccent'::regdictionary, $1)) $$;

DROP INDEX IF EXISTS entities_name_trgm;
CREATE INDEX entities_name_fold_trgm ON entities USING gin (crm_fold(name) gin_trgm_ops);

DROP INDEX IF EXISTS contacts_search_trgm;
CREATE INDEX contacts_search_fold_trgm ON contacts
  USING gin ((crm_fold(name) || ' ' || lower(coalesce(email, ''))) gin_trgm_ops);

-- The entity list is ordered by (name, id) and keyset-paginated on it; an unselective search walks this index
-- and stops at the first page instead of sorting every match.
CREATE INDEX entities_name_id ON entities (name, id);
