-- Issue 15: the CRM's audit trail of changes that rewrite records: merging two entities, correcting a closed
-- deal's amount. One row per change: who, when, what, why, and what it was before (`detail`).
CREATE TABLE crm_audit (
  id bigserial PRIMARY KEY,
  at timestamptz NOT NULL DEFAULT now(),
  actor text NOT NULL,
  action text NOT NULL,
  record_type text NOT NULL,
  record_id text NOT NULL,
  reason text,
  detail jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX crm_audit_record ON crm_audit (record_type, record_id, at DESC);
