-- Email delivery (issue 5): what the outbox needs beyond the foundation, opt-outs, resend audit, link secret.

-- The outbox row keeps what it sent, so a re-delivery after a crash is the same message (same Message-ID,
-- same subject, parts and recipients) and an audit can show it.
ALTER TABLE email_outbox
  DROP CONSTRAINT IF EXISTS email_outbox_state_check,
  ADD CONSTRAINT email_outbox_state_check CHECK (state IN ('queued', 'sending', 'sent', 'failed', 'skipped')),
  -- What the rule asked for (template, recipient references, flags): enough to resend it.
  ADD COLUMN request jsonb NOT NULL DEFAULT '{}',
  ADD COLUMN kind text NOT NULL DEFAULT 'rule' CHECK (kind IN ('rule', 'digest', 'resend')),
  ADD COLUMN locale text,
  ADD COLUMN body_text text,
  ADD COLUMN body_html text,
  -- While an attempt holds `sending`, another attempt (a hung one timed out by Temporal) must not send too.
  ADD COLUMN lease_until timestamptz,
  -- Attempt log: [{at, event, attempt, detail}], appended by the same statements that change the state.
  ADD COLUMN events jsonb NOT NULL DEFAULT '[]',
  ADD COLUMN resend_of bigint REFERENCES email_outbox (id),
  ADD COLUMN requested_by text;

CREATE INDEX email_outbox_listing ON email_outbox (created_at DESC, id DESC);
CREATE INDEX email_outbox_rule ON email_outbox (rule_id, created_at DESC);
CREATE INDEX email_outbox_state ON email_outbox (state, created_at DESC);
CREATE INDEX email_outbox_resend_of ON email_outbox (resend_of) WHERE resend_of IS NOT NULL;

-- Addresses that unsubscribed. Stored lower-cased; contacts are matched by address (no FK: contacts come later).
CREATE TABLE email_opt_outs (
  address varchar(320) PRIMARY KEY CHECK (address = lower(address)),
  source text NOT NULL,
  outbox_id bigint,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- Explicit actions on emails (resends), with who did them.
CREATE TABLE email_audit (
  id bigserial PRIMARY KEY,
  outbox_id bigint NOT NULL REFERENCES email_outbox (id),
  action text NOT NULL,
  actor text NOT NULL,
  detail jsonb NOT NULL DEFAULT '{}',
  at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX email_audit_outbox ON email_audit (outbox_id);

-- The key that signs unsubscribe links; generated on first use, shared by workers and API processes.
-- Delete the row to rotate it (links already sent stop working).
CREATE TABLE email_link_secret (
  id boolean PRIMARY KEY DEFAULT true CHECK (id),
  secret text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
