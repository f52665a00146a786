-- Issue 13: a case type may name a business key (`businessKey`, a string or integer field); the projection
-- keeps its value here, so messages from other systems correlate by it (POST /api/messages) and
-- GET /api/cases?businessKey= finds the case. Null for case types without one.
ALTER TABLE cases ADD COLUMN business_key text;
CREATE INDEX cases_business_key ON cases (business_key) WHERE business_key IS NOT NULL;
