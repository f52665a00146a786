-- Issue 15: a scheduled activity is given to a person (owner_id) or to a team (owner_team), never both. It
-- shows in the owner's inbox (and the team's members') and the owner's calendar feed until it is done. The
-- inbox and the feed walk each owner's scheduled activities in (at, id) order; the id in the index keeps the
-- keyset pages index-driven.
ALTER TABLE entity_activities
  ADD COLUMN owner_team text REFERENCES teams (id) ON DELETE SET NULL,
  ADD CONSTRAINT entity_activities_one_owner CHECK (owner_id IS NULL OR owner_team IS NULL);
DROP INDEX entity_activities_owner;
CREATE INDEX entity_activities_owner ON entity_activities (owner_id, at, id) WHERE status = 'scheduled';
CREATE INDEX entity_activities_team ON entity_activities (owner_team, at, id) WHERE status = 'scheduled';
