-- Email delivery (issue 5), continued: the outbox keeps the headers and attachments of the message as sent,
-- so a re-delivery after a crash is the same message. The send lease of 020 is not used: SMTP timeouts
-- shorter than the activity timeout keep two attempts of one message from overlapping.
ALTER TABLE email_outbox
  DROP COLUMN IF EXISTS lease_until,
  ADD COLUMN IF NOT EXISTS headers jsonb NOT NULL DEFAULT '{}',
  ADD COLUMN IF NOT EXISTS attachments jsonb NOT NULL DEFAULT '[]';
